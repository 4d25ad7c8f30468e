package exposure

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"syscall"

	"github.com/ringdb/ringdb/internal/protocol/frame"
)

// Fixes of the native transport findings.
const (
	fixCQLCleartext   = "enable client_encryption_options (enabled: true, optional: false)"
	fixCQLTLSOptional = "set client_encryption_options: optional: false once every client connects with TLS"
	fixCQLNoAuth      = "set authenticator: PasswordAuthenticator"
	fixCQLDefaultPass = "change the default superuser password (ALTER ROLE cassandra WITH PASSWORD ...), or create another superuser and drop the cassandra role"
	fixCQLLoginRetry  = "run the audit again later or with a longer --timeout"
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
	tls       bool // the CQL exchange runs inside TLS
	cqlVer    string
	versions  []string  // per STARTUP version tried, what it answered
	sessioned bool      // the one login/query sequence has run
	findings  []Finding // the auth and query findings
}

// cql probes a native transport port with at most four connections, one
// open at a time: a TLS handshake (kept for the CQL exchange when TLS
// answers), a cleartext connection (the CQL exchange when no TLS server
// answered; on a TLS port, one OPTIONS that tells whether cleartext
// clients are served too), and one STARTUP each at v5 and v3. OPTIONS and
// the v4 STARTUP, the login and the query share the first CQL connection.
func (s *session) cql(ctx context.Context, port int) probeResult {
	raw, err := s.dial(ctx, port)
	if err != nil {
		return probeResult{findings: []Finding{s.openFinding(port, err)}, closed: true}
	}
	t := s.tlsHandshake(ctx, raw)
	p := &cqlProbe{s: s, port: port, cqlVer: "3.0.0"}
	if t.conn != nil {
		sup, err := p.roundTrip(t.conn, 4, frame.OpOptions, nil)
		switch {
		case err == nil:
			p.tls = true
			return p.run(ctx, t.conn, sup, func() []Finding { return p.tlsFindings(ctx, t) })
		case t.certRequested && certRefusal(err):
			// A TLS 1.3 server's verdict on the client certificate
			// arrives after the client's side of the handshake is done.
			_ = t.conn.Close()
			return p.tlsRefused(ctx, t, tlsVersionName(t.version)+", client certificate required; "+describeRefusal(err))
		}
		_ = t.conn.Close()
		return probeResult{findings: append([]Finding{s.finding(port, Info, "not-cql", "open, does not speak CQL",
			"TLS; OPTIONS: "+describeCQLErr(err), "")}, s.certFindings(port, t.certs)...)}
	}
	if t.alert != "" {
		return p.tlsRefused(ctx, t, "refused during the handshake with TLS alert \""+t.alert+"\"")
	}
	c, err := s.dial(ctx, port)
	if err != nil {
		return probeResult{findings: []Finding{s.openFinding(port, err)}}
	}
	sup, err := p.roundTrip(c, 4, frame.OpOptions, nil)
	if err != nil {
		_ = c.Close()
		return probeResult{findings: []Finding{s.finding(port, Info, "not-cql", "open, does not speak CQL",
			"cleartext; OPTIONS: "+describeCQLErr(err), "")}}
	}
	return p.run(ctx, c, sup, func() []Finding { return []Finding{p.cleartextFinding()} })
}

// run goes on from an OPTIONS answered on c (inside TLS when p.tls):
// SUPPORTED, the v4 STARTUP and the session on c, which it then closes;
// the transport findings (transport runs once c is closed, so that a
// probe it makes is still the only connection open); the v5 and v3
// STARTUPs.
func (p *cqlProbe) run(ctx context.Context, c net.Conn, sup cqlResponse, transport func() []Finding) probeResult {
	s := p.s
	supported := p.supportedFinding(sup)
	p.tryVersion(c, 4)
	_ = c.Close()
	fs := append(transport(), supported...)
	p.tryOtherVersion(ctx, 5)
	p.tryOtherVersion(ctx, 3)
	fs = append(fs, s.finding(p.port, Info, "cql-versions", "protocol versions",
		strings.Join(p.versions, "; "), ""))
	return probeResult{recognized: true, findings: append(fs, p.findings...)}
}

// tlsRefused reports a TLS server that refused the throwaway client
// certificate (or the handshake), then tries cleartext CQL on the same
// port: a server that answers it is probed further in cleartext.
func (p *cqlProbe) tlsRefused(ctx context.Context, t *tlsOutcome, how string) probeResult {
	s := p.s
	mtls := t.certRequested && (t.alert == "" || isCertAlert(t.alert))
	c, sup, note := p.cleartextOptions(ctx)
	var refused Finding
	switch {
	case !mtls:
		refused = s.finding(p.port, Info, "tls-refused", "TLS server refused the handshake", "TLS alert \""+t.alert+"\"", "")
	case c != nil || kindOf(p.port) == kindCQL:
		refused = s.finding(p.port, Info, "cql-mtls", "CQL over mutual TLS: a client certificate from an unknown CA is refused", how, "")
	default:
		refused = s.finding(p.port, Info, "cql-mtls", "mutual TLS: a client certificate from an unknown CA is refused", how, "")
	}
	if c == nil {
		refused.Detail += "; " + note
		// Behind a refused TLS handshake nothing shows which protocol
		// the port speaks: on a port without a default meaning the other
		// probes get to name a mutual TLS server.
		return probeResult{recognized: !mtls || kindOf(p.port) == kindCQL,
			findings: append([]Finding{refused}, s.certFindings(p.port, t.certs)...)}
	}
	return p.run(ctx, c, sup, func() []Finding {
		return append([]Finding{refused, p.tlsOptionalFinding(mtls)}, s.certFindings(p.port, t.certs)...)
	})
}

// cleartextOptions sends one cleartext OPTIONS on a new connection of a
// port that answered TLS. When it is answered SUPPORTED, the connection is
// returned (the caller closes it) with the answer; otherwise note says
// what happened.
func (p *cqlProbe) cleartextOptions(ctx context.Context) (net.Conn, cqlResponse, string) {
	c, err := p.s.dial(ctx, p.port)
	if err != nil {
		return nil, cqlResponse{}, "cleartext CQL not tried (" + describeErr(err) + ")"
	}
	r, err := p.roundTrip(c, 4, frame.OpOptions, nil)
	switch {
	case err != nil:
		_ = c.Close()
		return nil, cqlResponse{}, "a cleartext OPTIONS got no CQL answer (" + describeCQLErr(err) + ")"
	case r.Opcode != frame.OpSupported:
		_ = c.Close()
		return nil, cqlResponse{}, "a cleartext OPTIONS was refused (" + describeCQLResponse(r) + ")"
	}
	return c, r, ""
}

// certRefusal reports whether err, the first read after a handshake in
// which a client certificate was presented, is the server refusing it: a
// certificate alert, or a close without any CQL answer.
func certRefusal(err error) bool {
	if a, ok := remoteAlert(err); ok {
		return isCertAlert(a)
	}
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// describeRefusal says how the server refused the client certificate.
func describeRefusal(err error) string {
	if a, ok := remoteAlert(err); ok {
		return "refused with TLS alert \"" + a + "\""
	}
	return "the server closed the connection after the handshake (" + describeErr(err) + ")"
}

// cleartextSeverity rates clients' traffic crossing the network
// unencrypted: LOW on a loopback address (only this host's clients, and
// reading loopback traffic takes root there), MEDIUM on a private one,
// HIGH on a public one.
func (p *cqlProbe) cleartextSeverity() (Severity, string) {
	switch {
	case p.s.public:
		return High, ", and the address is public"
	case p.s.loopback:
		return Low, ", on a loopback address (only this host's clients)"
	}
	return Medium, ""
}

func (p *cqlProbe) cleartextFinding() Finding {
	sev, where := p.cleartextSeverity()
	detail := "clients' passwords and data cross the network unencrypted" + where
	if sev == Low {
		detail = "clients' passwords and data are unencrypted" + where
	}
	return p.s.finding(p.port, sev, "cql-cleartext", "native transport in cleartext", detail, fixCQLCleartext)
}

// tlsOptionalFinding reports a TLS port that serves cleartext CQL too;
// mtls is whether TLS clients need a certificate, which cleartext ones
// then do without.
func (p *cqlProbe) tlsOptionalFinding(mtls bool) Finding {
	sev, where := p.cleartextSeverity()
	detail := "a cleartext OPTIONS on a new connection was answered SUPPORTED: clients can still log in with " +
		"their passwords and send data unencrypted"
	if mtls {
		detail += ", and without the client certificate TLS clients need"
	}
	return p.s.finding(p.port, sev, "cql-tls-optional", "TLS is optional on the native transport: cleartext clients are accepted too",
		detail+where, fixCQLTLSOptional)
}

// tlsFindings are the findings of a port that answered CQL inside TLS,
// after trying one cleartext OPTIONS on it.
func (p *cqlProbe) tlsFindings(ctx context.Context, t *tlsOutcome) []Finding {
	s := p.s
	asked := "no client certificate asked for"
	if t.certRequested {
		asked = "a client certificate was asked for and the throwaway one from an unknown CA was accepted"
	}
	tlsF := s.finding(p.port, Info, "cql-tls", "native transport uses TLS", tlsVersionName(t.version)+"; "+asked, "")
	fs := []Finding{tlsF}
	if c, _, note := p.cleartextOptions(ctx); c != nil {
		_ = c.Close()
		fs = append(fs, p.tlsOptionalFinding(false))
	} else {
		fs[0].Detail += "; " + note
	}
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
		p.findings = append(p.findings, p.loginUnanswered(err))
	case a.Opcode == frame.OpAuthSuccess:
		p.findings = append(p.findings, s.finding(p.port, High, "cql-default-credentials", "default superuser credentials accepted",
			"logged in as cassandra/cassandra", fixCQLDefaultPass))
		p.query(c, v)
	default:
		p.findings = append(p.findings, s.finding(p.port, Info, "cql-default-credentials-refused",
			"default credentials cassandra/cassandra refused", describeCQLResponse(a), ""))
	}
}

// loginUnanswered reports the one login that got no answer: whether the
// default credentials work is unknown, which is not a clean result. A
// node that throttles logins (ringdb delays a login from a source with
// recent failed ones, up to 5 s) can hold the answer past the timeout.
func (p *cqlProbe) loginUnanswered(err error) Finding {
	if isTimeout(err) {
		return p.s.finding(p.port, Low, "cql-login-unanswered",
			"default credentials cassandra/cassandra not answered within the timeout",
			"waited "+p.s.a.o.Timeout.String()+" (the node may be throttling logins from this host after failed attempts); "+
				"not known whether they are accepted", fixCQLLoginRetry)
	}
	return p.s.finding(p.port, Low, "cql-login-unanswered", "default credentials cassandra/cassandra not answered",
		describeCQLErr(err)+"; not known whether they are accepted", "run the audit again later")
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
