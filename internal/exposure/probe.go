package exposure

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"strings"
)

// probeResult is what one probe of one port found.
type probeResult struct {
	findings []Finding
	// recognized is true when the probe's protocol answered.
	recognized bool
	// closed is true when the first connection could not be opened.
	closed bool
}

type portKind int

const (
	kindUnknown portKind = iota
	kindInternode
	kindCQL
	kindManagement
)

// kindOf is what a default port is expected to speak.
func kindOf(port int) portKind {
	switch port {
	case 7000, 7001:
		return kindInternode
	case 9042:
		return kindCQL
	case 7199:
		return kindManagement
	}
	return kindUnknown
}

// probePort probes one port with the probe its number suggests; a port
// without a default meaning is tried with the CQL, management and
// internode probes in turn until one recognises what it speaks.
func (s *session) probePort(ctx context.Context, port int) []Finding {
	s.a.o.Logger.Debug("probe", "target", s.addr, "port", port)
	switch kindOf(port) {
	case kindInternode:
		return s.internode(ctx, port).findings
	case kindCQL:
		return s.cql(ctx, port).findings
	case kindManagement:
		return s.management(ctx, port).findings
	}
	for _, probe := range []func(context.Context, int) probeResult{s.cql, s.management, s.internode} {
		r := probe(ctx, port)
		if r.recognized || r.closed {
			return r.findings
		}
	}
	return []Finding{s.finding(port, Info, "unrecognized", "open, unrecognized service",
		"answers none of the CQL, HTTP, Java RMI, TLS or Cassandra internode probes", "")}
}

// identify names what a reply looks like, for the report.
func identify(b []byte) string {
	switch {
	case len(b) == 0:
		return "nothing"
	case len(b) >= 5 && b[0]&0x80 != 0 && b[0]&0x7f >= 1 && b[0]&0x7f <= 5 && (b[1]&^0x1f == 0):
		return fmt.Sprintf("a CQL native protocol v%d response", b[0]&0x7f)
	case bytes.HasPrefix(b, []byte("HTTP/")):
		return "an HTTP response"
	case b[0] == rmiProtocolAck || b[0] == rmiProtocolNotSupported:
		return "a Java RMI transport reply"
	case len(b) >= 3 && b[0] == 0x15 && b[1] == 3:
		return "a TLS alert"
	case printable(b):
		return fmt.Sprintf("text %q", clean(string(b)))
	}
	n := min(len(b), 16)
	return "bytes " + hex.EncodeToString(b[:n]) + map[bool]string{true: "...", false: ""}[len(b) > n]
}

func printable(b []byte) bool {
	s := strings.TrimRight(string(b), "\r\n")
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c < 0x20 && c != '\t' && c != '\r' && c != '\n' || c >= 0x7f {
			return false
		}
	}
	return true
}
