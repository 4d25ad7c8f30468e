package exposure

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
)

// The management port (7199): JMX over Java RMI for Cassandra, ringdb's
// admin HTTP endpoint for ringdb.
//
// Java RMI's transport (JRMP) opens with the client's header: the magic
// "JRMI" (0x4a524d49), version 0x0002 and a protocol byte, 0x4b for the
// stream protocol. The server answers 0x4e (ProtocolAck) followed by the
// client's endpoint as it sees it (a 2-byte length, the host name, a
// 4-byte port), or 0x4f (ProtocolNotSupported).
const (
	rmiProtocolAck          = 0x4e
	rmiProtocolNotSupported = 0x4f
	rmiStreamProtocol       = 0x4b
	// maxRMIHost bounds the endpoint host name taken from an ack.
	maxRMIHost = 255
	// adminProbePath is the admin endpoint path the one unauthenticated
	// GET asks for (ringdb answers 401 without the token).
	adminProbePath = "/v1/info"
)

// rmiHeader is the JRMP client header of the stream protocol.
var rmiHeader = []byte{'J', 'R', 'M', 'I', 0x00, 0x02, rmiStreamProtocol}

// Fixes of the management findings.
const (
	fixJMX = "bind JMX to localhost (LOCAL_JMX=yes in cassandra-env.sh) and enable JMX authentication " +
		"(com.sun.management.jmxremote.authenticate=true)"
	fixLocalJMX     = "enable JMX authentication (com.sun.management.jmxremote.authenticate=true)"
	fixAdminNoToken = "require the admin token on every admin request and bind the admin endpoint to a loopback address"
	fixAdminExposed = "bind admin_address to a loopback address"
)

// rmiAck is a decoded JRMP server reply.
type rmiAck struct {
	Supported bool   // ProtocolAck, not ProtocolNotSupported
	Host      string // the client's host as the server saw it, if sent
	Port      int32
}

// decodeRMIAck recognises a JRMP reply in b.
func decodeRMIAck(b []byte) (rmiAck, bool) {
	if len(b) == 0 {
		return rmiAck{}, false
	}
	switch b[0] {
	case rmiProtocolNotSupported:
		return rmiAck{}, len(b) == 1
	case rmiProtocolAck:
	default:
		return rmiAck{}, false
	}
	ack := rmiAck{Supported: true}
	if len(b) < 3 {
		return ack, len(b) == 1
	}
	n := int(binary.BigEndian.Uint16(b[1:3]))
	if n > maxRMIHost || len(b) < 3+n {
		return ack, false
	}
	ack.Host = clean(string(b[3 : 3+n]))
	if len(b) >= 3+n+4 {
		ack.Port = int32(binary.BigEndian.Uint32(b[3+n:]))
	}
	return ack, true
}

// httpReply is the status of an HTTP response and whether its body reads
// like ringdb's admin endpoint (its 401 names the admin token, its
// /v1/info is the node's JSON info).
type httpReply struct {
	Status int
	Ringdb bool
}

// decodeHTTPReply parses the HTTP response in b (at most len(b) bytes are
// looked at).
func decodeHTTPReply(b []byte) (httpReply, bool) {
	if !bytes.HasPrefix(b, []byte("HTTP/")) {
		return httpReply{}, false
	}
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(b)), nil)
	if err != nil {
		return httpReply{}, false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	ringdb := bytes.Contains(body, []byte("admin token")) ||
		bytes.Contains(body, []byte(`"host_id"`)) && bytes.Contains(body, []byte(`"native_transport_active"`))
	return httpReply{Status: resp.StatusCode, Ringdb: ringdb}, true
}

// management probes a management port with at most two connections: one
// unauthenticated HTTP GET, then, when no HTTP server answered, the RMI
// transport header.
func (s *session) management(ctx context.Context, port int) probeResult {
	get := "GET " + adminProbePath + " HTTP/1.1\r\nHost: " + s.addr.String() +
		"\r\nUser-Agent: ringdb-audit\r\nConnection: close\r\n\r\n"
	got, dialed, err := s.exchange(ctx, port, []byte(get), func([]byte) bool { return true })
	if !dialed {
		return probeResult{findings: []Finding{s.openFinding(port, err)}, closed: true}
	}
	if h, ok := decodeHTTPReply(got); ok {
		return probeResult{recognized: true, findings: []Finding{s.httpFinding(port, h)}}
	}
	got, _, err = s.exchange(ctx, port, rmiHeader, func(b []byte) bool { _, ok := decodeRMIAck(b); return !ok })
	if ack, ok := decodeRMIAck(got); ok {
		return probeResult{recognized: true, findings: []Finding{s.rmiFinding(port, ack)}}
	}
	detail := "no HTTP or Java RMI answer"
	if len(got) > 0 {
		detail += "; answered " + identify(got)
	} else if err != nil {
		detail += " (" + describeErr(err) + ")"
	}
	return probeResult{findings: []Finding{s.finding(port, Info, "unrecognized", "open, unrecognized service", detail, "")}}
}

// exchange dials port, writes msg and reads the reply (see readReply);
// dialed is false when no connection could be opened.
func (s *session) exchange(ctx context.Context, port int, msg []byte, more func([]byte) bool) (got []byte, dialed bool, err error) {
	c, err := s.dial(ctx, port)
	if err != nil {
		return nil, false, err
	}
	defer c.Close()
	_ = c.SetDeadline(s.deadline())
	if _, err := c.Write(msg); err != nil {
		return nil, true, fmt.Errorf("send probe: %w", err)
	}
	got, err = readReply(c, 4<<10, more, s.settle())
	return got, true, err
}

// rmiFinding rates a reachable RMI endpoint. Whether JMX asks for a
// password cannot be seen without logging in: off loopback a stranger can
// try (HIGH); on loopback, Cassandra's default (LOCAL_JMX=yes), only this
// host's users can (LOW).
func (s *session) rmiFinding(port int, ack rmiAck) Finding {
	sev, where, fix := Low, "on a loopback address: only this host's users can attach", fixLocalJMX
	if !s.loopback {
		sev, where, fix = High, "from the network", fixJMX
	}
	detail := "answered the RMI transport header with ProtocolAck (0x4e) " + where +
		"; whether JMX authentication is on cannot be seen without logging in, which the audit does not try"
	if !ack.Supported {
		detail = "answered the RMI transport header with ProtocolNotSupported (0x4f) " + where
	}
	return s.finding(port, sev, "jmx-rmi", "JMX/RMI registry reachable", detail, fix)
}

// httpFinding rates an HTTP answer to the unauthenticated GET. On the
// management port, or when the answer reads like ringdb's admin endpoint,
// it is judged as an admin API; any other HTTP server on a port without a
// default meaning is reported as what it is, an HTTP service.
func (s *session) httpFinding(port int, h httpReply) Finding {
	name := "HTTP endpoint"
	if h.Ringdb {
		name = "ringdb admin endpoint"
	}
	refused := h.Status == http.StatusUnauthorized || h.Status == http.StatusForbidden
	switch {
	case !h.Ringdb && kindOf(port) != kindManagement:
		return s.finding(port, Info, "http-service", "HTTP service",
			fmt.Sprintf("GET %s without credentials returned %d; not recognisably ringdb's admin endpoint", adminProbePath, h.Status), "")
	case h.Status >= 200 && h.Status < 300:
		return s.finding(port, High, "admin-no-token", name+" answers without a token",
			fmt.Sprintf("GET %s without credentials returned %d", adminProbePath, h.Status), fixAdminNoToken)
	case refused && s.loopback:
		return s.finding(port, Info, "admin-token-required", name+", token required",
			fmt.Sprintf("GET %s without credentials refused with %d", adminProbePath, h.Status), "")
	case refused:
		return s.finding(port, Medium, "admin-exposed", name+" reachable from the network, token required",
			fmt.Sprintf("GET %s without credentials refused with %d", adminProbePath, h.Status), fixAdminExposed)
	}
	title := "HTTP service on the management port"
	if kindOf(port) != kindManagement {
		title = name
	}
	return s.finding(port, Info, "http-service", title, fmt.Sprintf("GET %s returned %d", adminProbePath, h.Status), "")
}
