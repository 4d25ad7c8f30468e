package exposure

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// Fixes of the internode findings.
const (
	fixCassandraInternode = "enable server_encryption_options internode_encryption: all and require_client_auth: true " +
		"(or firewall the port to the cluster's nodes)"
	fixInternodeClientAuth = "require and verify client certificates against the cluster CA on the internode port " +
		"(Cassandra: server_encryption_options require_client_auth: true; ringdb does this by default)"
	fixInternodeUnknownCA = "verify client certificates against the cluster CA only (truststore with the cluster CA, " +
		"not a public or empty trust store)"
	fixPlaintextInternode = "serve only mutual TLS on the internode port, or close the port to everything but the cluster's nodes"
)

// internode probes an internode port (7000/7001) with at most two
// connections: a TLS handshake with the throwaway client certificate, and,
// when no TLS server answered, Cassandra's internode handshake.
func (s *session) internode(ctx context.Context, port int) probeResult {
	raw, err := s.dial(ctx, port)
	if err != nil {
		return probeResult{findings: []Finding{s.openFinding(port, err)}, closed: true}
	}
	t := s.tlsHandshake(ctx, raw)
	if t.isTLS() {
		return probeResult{findings: s.internodeTLS(port, t), recognized: true}
	}
	return s.internodePlain(ctx, port, t)
}

// internodeTLS judges a TLS server on an internode port.
func (s *session) internodeTLS(port int, t *tlsOutcome) []Finding {
	if t.conn != nil {
		defer t.conn.Close()
	}
	var fs []Finding
	switch {
	case t.conn == nil && t.certRequested && isCertAlert(t.alert):
		fs = append(fs, s.finding(port, Info, "internode-mtls", "mutual TLS: a client certificate from an unknown CA is refused",
			"refused during the handshake with TLS alert \""+t.alert+"\"", ""))
	case t.conn == nil:
		fs = append(fs, s.finding(port, Info, "tls-refused", "TLS server refused the handshake",
			"TLS alert \""+t.alert+"\"", ""))
	case !t.certRequested:
		// On a port without a default meaning, nothing but TLS answered:
		// say what was found, not that it is an internode port.
		title, who := "TLS without client certificates on the internode port", "anyone can connect and speak the internode protocol"
		if kindOf(port) != kindInternode {
			title, who = "TLS without client certificates", "if this is a node's internode port, anyone can connect and speak the internode protocol"
		}
		fs = append(fs, s.finding(port, High, "internode-tls-no-client-auth", title,
			tlsVersionName(t.version)+"; the server did not ask for a client certificate: "+who, fixInternodeClientAuth))
	default:
		if accepted, ev := s.clientCertVerdict(t.conn); accepted {
			fs = append(fs, s.finding(port, High, "internode-unknown-ca-accepted", "client certificate from an unknown CA accepted",
				tlsVersionName(t.version)+"; a throwaway self-signed certificate was presented and "+ev, fixInternodeUnknownCA))
		} else {
			fs = append(fs, s.finding(port, Info, "internode-mtls", "mutual TLS: a client certificate from an unknown CA is refused",
				tlsVersionName(t.version)+", client certificate required; "+ev, ""))
		}
	}
	return append(fs, s.certFindings(port, t.certs)...)
}

// internodePlain runs Cassandra's handshake on a port that did not answer
// TLS, and reports the port as plaintext either way.
func (s *session) internodePlain(ctx context.Context, port int, t *tlsOutcome) probeResult {
	got, err := s.cassandraHandshake(ctx, port)
	if errors.Is(err, errBudget) {
		return probeResult{findings: []Finding{s.openFinding(port, err)}}
	}
	if r, ok, _ := decodeCassandraReply(got); ok {
		return probeResult{recognized: true, findings: []Finding{s.finding(port, High, "internode-cassandra-plaintext",
			"Apache Cassandra internode port unencrypted",
			"answered Cassandra's internode handshake without TLS ("+r.String()+"): a stranger can join the cluster's gossip and read its messages",
			fixCassandraInternode)}}
	}
	var what string
	switch {
	case len(got) > 0:
		what = "answered the Cassandra handshake with non-TLS bytes: " + identify(got)
	case t.notTLS:
		what = "answered a TLS ClientHello with non-TLS bytes: " + identify(t.answer)
	default:
		what = "accepted a TCP connection but did not answer TLS (" + describeErr(t.err) + ")"
		if err != nil {
			what += "; Cassandra handshake: " + describeErr(err)
		}
	}
	return probeResult{findings: []Finding{s.finding(port, High, "internode-plaintext", "plaintext service on the internode port",
		what, fixPlaintextInternode)}}
}

// cassandraHandshake sends the Initiate message on a new connection and
// returns what the target answered (at most 64 bytes are kept).
func (s *session) cassandraHandshake(ctx context.Context, port int) ([]byte, error) {
	c, err := s.dial(ctx, port)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(s.deadline())
	from, _ := netip.ParseAddrPort(c.LocalAddr().String())
	if _, err := c.Write(appendCassandraInitiate(nil, from)); err != nil {
		return nil, fmt.Errorf("send Cassandra handshake: %w", err)
	}
	got, err := readReply(c, 64, func(b []byte) bool { _, _, more := decodeCassandraReply(b); return more }, s.settle())
	if len(got) > 0 {
		err = nil
	}
	return got, err
}

// settle is how long to wait for the rest of a reply whose first bytes
// have arrived.
func (s *session) settle() time.Duration { return min(s.a.o.Timeout, 300*time.Millisecond) }

// readReply reads up to max bytes: until the first read returns something
// and more(b) is false, or, once something arrived, until settle passes
// without more. The connection's deadline bounds the first byte.
func readReply(c net.Conn, max int, more func([]byte) bool, settle time.Duration) ([]byte, error) {
	buf := make([]byte, max)
	n := 0
	for n < max {
		m, err := c.Read(buf[n:])
		n += m
		if err != nil {
			return buf[:n], err
		}
		if !more(buf[:n]) {
			break
		}
		_ = c.SetReadDeadline(time.Now().Add(settle))
	}
	return buf[:n], nil
}
