package exposure

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"

	"github.com/ringdb/ringdb/internal/protocol/frame"
)

// Fixes of the native transport findings.
const (
	fixCQLCleartext   = "enable client_encryption_options (enabled: true, optional: false)"
	fixCQLNoAuth      = "set authenticator: PasswordAuthenticator"
	fixCQLDefaultPass = "change the default superuser password (ALTER ROLE cassandra WITH PASSWORD ...), or create another superuser and drop the cassandra role"
)

// defaultUser and defaultPassword are Cassandra's stock superuser, the
// only login the probe ever tries, once.
const (
	defaultUser     = "cassandra"
	defaultPassword = "cassandra"
	releaseQuery    = "SELECT release_version, cluster_name FROM system.local"
)

// cqlProbe is the state of one CQL port's probe.
type cqlProbe struct {
	s         *session
	port      int
	tls       bool
	cqlVer    string
	versions  []string  // per STARTUP version tried, what it answered
	sessioned bool      // the one login/query sequence has run
	findings  []Finding // the auth and query findings
}

// cql probes a native transport port with at most four connections: a TLS
// handshake (kept for the CQL exchange when TLS answers), a cleartext
// connection otherwise, and one STARTUP each at v5 and v3. OPTIONS and the
// v4 STARTUP, the login and the query share the first CQL connection.
func (s *session) cql(ctx context.Context, port int) probeResult {
	raw, err := s.dial(ctx, port)
	if err != nil {
		return probeResult{findings: []Finding{s.openFinding(port, err)}, closed: true}
	}
	t := s.tlsHandshake(ctx, raw)
	if t.alert != "" {
		return probeResult{recognized: true, findings: append([]Finding{s.finding(port, Info, "tls-refused",
			"TLS server refused the handshake", "TLS alert \""+t.alert+"\"", "")}, s.certFindings(port, t.certs)...)}
	}
	p := &cqlProbe{s: s, port: port, tls: t.conn != nil, cqlVer: "3.0.0"}
	var c net.Conn
	if t.conn != nil {
		c = t.conn
	} else {
		if c, err = s.dial(ctx, port); err != nil {
			return probeResult{findings: []Finding{s.openFinding(port, err)}}
		}
	}
	defer c.Close()
	sup, err := p.roundTrip(c, 4, frame.OpOptions, nil)
	if err != nil {
		return probeResult{findings: append([]Finding{s.finding(port, Info, "not-cql", "open, does not speak CQL",
			p.transportName()+"; OPTIONS: "+describeCQLErr(err), "")}, s.certFindings(port, t.certs)...)}
	}
	fs := p.transportFindings(t)
	fs = append(fs, p.supportedFinding(sup)...)
	p.tryVersion(c, 4)
	p.tryOtherVersion(ctx, 5)
	p.tryOtherVersion(ctx, 3)
	fs = append(fs, s.finding(port, Info, "cql-versions", "protocol versions",
		strings.Join(p.versions, "; "), ""))
	return probeResult{recognized: true, findings: append(fs, p.findings...)}
}

func (p *cqlProbe) transportName() string {
	if p.tls {
		return "TLS"
	}
	return "cleartext"
}

func (p *cqlProbe) transportFindings(t *tlsOutcome) []Finding {
	s := p.s
	if !p.tls {
		sev, detail := Medium, "clients' passwords and data cross the network unencrypted"
		switch {
		case s.public:
			sev, detail = High, detail+", and the address is public"
		case s.loopback:
			// Only this host's users reach it, and reading loopback
			// traffic takes root there.
			sev, detail = Low, "clients' passwords and data are unencrypted, on a loopback address (only this host's clients)"
		}
		return []Finding{s.finding(p.port, sev, "cql-cleartext", "native transport in cleartext", detail, fixCQLCleartext)}
	}
	asked := "no client certificate asked for"
	if t.certRequested {
		asked = "a client certificate was asked for"
	}
	fs := []Finding{s.finding(p.port, Info, "cql-tls", "native transport uses TLS", tlsVersionName(t.version)+"; "+asked, "")}
	return append(fs, s.certFindings(p.port, t.certs)...)
}

func (p *cqlProbe) supportedFinding(r cqlResponse) []Finding {
	if r.Opcode != frame.OpSupported {
		return []Finding{p.s.finding(p.port, Info, "cql-supported", "OPTIONS not answered with SUPPORTED", describeCQLResponse(r), "")}
	}
	if v := r.Supported["CQL_VERSION"]; len(v) > 0 && v[0] != "" {
		p.cqlVer = clean(v[0])
	}
	keys := make([]string, 0, len(r.Supported))
	for k := range r.Supported {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		vals := make([]string, 0, len(r.Supported[k]))
		for _, v := range r.Supported[k] {
			vals = append(vals, clean(v))
		}
		parts = append(parts, clean(k)+"="+strings.Join(vals, ","))
		if len(parts) == 8 {
			break
		}
	}
	return []Finding{p.s.finding(p.port, Info, "cql-supported", "SUPPORTED options", strings.Join(parts, "; "), "")}
}

// roundTrip sends one request and reads its response under one deadline.
func (p *cqlProbe) roundTrip(c net.Conn, v byte, op frame.Opcode, body []byte) (cqlResponse, error) {
	_ = c.SetDeadline(p.s.deadline())
	if _, err := c.Write(appendRequest(nil, v, 0, op, body)); err != nil {
		return cqlResponse{}, fmt.Errorf("send %s: %w", op, err)
	}
	return readResponse(c, int(p.s.a.o.MaxRead))
}

// tryOtherVersion sends STARTUP at version v on a connection of its own.
func (p *cqlProbe) tryOtherVersion(ctx context.Context, v byte) {
	c, err := p.s.dial(ctx, p.port)
	if err == nil && p.tls {
		if t := p.s.tlsHandshake(ctx, c); t.conn != nil {
			c = t.conn
		} else {
			err = fmt.Errorf("TLS handshake: %w", t.err)
		}
	}
	if err != nil {
		p.versions = append(p.versions, fmt.Sprintf("v%d: not tried (%s)", v, describeErr(err)))
		return
	}
	defer c.Close()
	p.tryVersion(c, v)
}

// tryVersion sends STARTUP at version v on c and notes the answer; the
// first accepted v3 or v4 STARTUP goes on to the login and the query.
func (p *cqlProbe) tryVersion(c net.Conn, v byte) {
	r, err := p.roundTrip(c, v, frame.OpStartup, startupBody(p.cqlVer))
	if err != nil {
		p.versions = append(p.versions, fmt.Sprintf("v%d: %s", v, describeCQLErr(err)))
		return
	}
	switch r.Opcode {
	case frame.OpReady, frame.OpAuthenticate:
		p.versions = append(p.versions, fmt.Sprintf("v%d: accepted (%s)", v, r.Opcode))
		if !p.sessioned && v != 5 {
			p.sessioned = true
			p.session(c, v, r)
		}
	default:
		p.versions = append(p.versions, fmt.Sprintf("v%d: refused (%s)", v, describeCQLResponse(r)))
	}
}

// session runs the authentication step and, when a session is open, the
// release version query.
func (p *cqlProbe) session(c net.Conn, v byte, r cqlResponse) {
	s := p.s
	if r.Opcode == frame.OpReady {
		p.findings = append(p.findings, s.finding(p.port, High, "cql-no-auth", "queries without authentication",
			"STARTUP was answered READY without AUTHENTICATE: anyone who reaches the port can read and write data", fixCQLNoAuth))
		p.query(c, v)
		return
	}
	p.findings = append(p.findings, s.finding(p.port, Info, "cql-auth-required", "authentication required",
		"authenticator "+clean(r.Authenticator), ""))
	a, err := p.roundTrip(c, v, frame.OpAuthResponse, plainAuthBody(defaultUser, defaultPassword))
	switch {
	case err != nil:
		p.findings = append(p.findings, s.finding(p.port, Info, "cql-login-unanswered", "default credentials: no answer", describeCQLErr(err), ""))
	case a.Opcode == frame.OpAuthSuccess:
		p.findings = append(p.findings, s.finding(p.port, High, "cql-default-credentials", "default superuser credentials accepted",
			"logged in as cassandra/cassandra", fixCQLDefaultPass))
		p.query(c, v)
	default:
		p.findings = append(p.findings, s.finding(p.port, Info, "cql-default-credentials-refused",
			"default credentials cassandra/cassandra refused", describeCQLResponse(a), ""))
	}
}

func (p *cqlProbe) query(c net.Conn, v byte) {
	r, err := p.roundTrip(c, v, frame.OpQuery, queryBody(releaseQuery))
	switch {
	case err != nil:
		p.findings = append(p.findings, p.s.finding(p.port, Info, "cql-release", "release version unknown", describeCQLErr(err), ""))
	case r.Row != nil:
		p.findings = append(p.findings, p.s.finding(p.port, Info, "cql-release", "server version",
			fmt.Sprintf("release_version %s, cluster_name %s", clean(r.Row["release_version"]), clean(r.Row["cluster_name"])), ""))
	default:
		p.findings = append(p.findings, p.s.finding(p.port, Info, "cql-release", "release version unknown", describeCQLResponse(r), ""))
	}
}

func describeCQLResponse(r cqlResponse) string {
	if r.Opcode == frame.OpError {
		return fmt.Sprintf("%s: %s", frame.ErrorCode(r.ErrCode), clean(r.ErrMsg))
	}
	return r.Opcode.String()
}

func describeCQLErr(err error) string {
	if err == nil {
		return ""
	}
	if errors.Is(err, errNotCQL) {
		return "the reply is not a CQL frame"
	}
	return describeErr(err)
}
