package exposure

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"strings"
	"time"
)

// throwawayCert makes the self-signed client certificate a run presents to
// TLS servers: a fresh key, valid for a day around now, signed by itself,
// so that no server's CA can have issued it.
func throwawayCert(now time.Time) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("throwaway client key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("throwaway client serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "exposure audit probe (unknown CA)"},
		NotBefore:    now.Add(-12 * time.Hour),
		NotAfter:     now.Add(12 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("throwaway client certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// tlsOutcome is what one TLS handshake attempt showed.
type tlsOutcome struct {
	conn          *tls.Conn // set when the handshake completed; the caller closes it
	version       uint16
	certs         []*x509.Certificate // the server's chain, leaf first
	certRequested bool                // the server sent a CertificateRequest
	alert         string              // the server refused the handshake with this alert
	notTLS        bool                // the server answered bytes that are not TLS
	answer        []byte              // those bytes (the first 5)
	err           error               // the handshake error, if any
}

// isTLS reports whether a TLS server answered (a completed handshake or
// a TLS alert).
func (t *tlsOutcome) isTLS() bool { return t.conn != nil || t.alert != "" }

// tlsHandshake runs a client handshake on raw, presenting the throwaway
// certificate when asked for one and accepting any server certificate (the
// point is to read it, not to trust it). On failure raw is closed.
func (s *session) tlsHandshake(ctx context.Context, raw net.Conn) *tlsOutcome {
	out := &tlsOutcome{}
	cfg := &tls.Config{
		InsecureSkipVerify: true, // auditing: the certificate is reported, not trusted
		MinVersion:         tls.VersionTLS10,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			out.certRequested = true
			return &s.a.cert, nil
		},
		VerifyPeerCertificate: func(rawCerts [][]byte, _ [][]*x509.Certificate) error {
			out.certs = parseCerts(rawCerts)
			return nil
		},
	}
	tc := tls.Client(raw, cfg)
	hctx, cancel := context.WithTimeout(ctx, s.a.o.Timeout)
	defer cancel()
	err := tc.HandshakeContext(hctx)
	if err == nil {
		out.conn, out.version = tc, tc.ConnectionState().Version
		return out
	}
	_ = raw.Close()
	out.err = err
	var rhe tls.RecordHeaderError
	if errors.As(err, &rhe) {
		out.notTLS, out.answer = true, rhe.RecordHeader[:]
	}
	out.alert, _ = remoteAlert(err)
	return out
}

func parseCerts(raw [][]byte) []*x509.Certificate {
	var certs []*x509.Certificate
	for _, der := range raw {
		if c, err := x509.ParseCertificate(der); err == nil {
			certs = append(certs, c)
		}
	}
	return certs
}

// remoteAlert returns the text of the TLS alert the peer sent, if err is one.
func remoteAlert(err error) (string, bool) {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "remote error" && oe.Err != nil {
		return strings.TrimPrefix(oe.Err.Error(), "tls: "), true
	}
	return "", false
}

// isCertAlert reports whether an alert refuses the client's certificate.
func isCertAlert(a string) bool {
	return strings.Contains(a, "certificate") || a == "access denied"
}

// clientCertVerdict reads once from a completed TLS connection to learn
// whether the server kept the throwaway certificate: TLS 1.3 servers send
// their refusal as an alert after the handshake. It returns "refused" (an
// alert, or a close without one) or "accepted" (data, or the server kept
// the connection open and waited), with the evidence.
func (s *session) clientCertVerdict(tc *tls.Conn) (accepted bool, evidence string) {
	_ = tc.SetReadDeadline(s.deadline())
	var b [512]byte
	n, err := tc.Read(b[:])
	switch {
	case n > 0:
		return true, "the server sent application data after the handshake"
	case err == nil:
		return true, "the server kept the connection open"
	case isTimeout(err):
		return true, "the server kept the connection open for " + s.a.o.Timeout.String() + " after the handshake"
	}
	if a, ok := remoteAlert(err); ok {
		return false, "refused with TLS alert \"" + a + "\""
	}
	return false, "the server closed the connection after the handshake (" + describeErr(err) + ")"
}

// tlsVersionName names a TLS version.
func tlsVersionName(v uint16) string {
	switch v {
	case tls.VersionTLS13:
		return "TLS 1.3"
	case tls.VersionTLS12:
		return "TLS 1.2"
	case tls.VersionTLS11:
		return "TLS 1.1"
	case tls.VersionTLS10:
		return "TLS 1.0"
	}
	return fmt.Sprintf("TLS 0x%04x", v)
}

// certFindings describes the server's leaf certificate: INFO with its
// fields, LOW when it names an organization or DNS names (who runs it,
// which product or cluster), MEDIUM when it has expired.
func (s *session) certFindings(port int, certs []*x509.Certificate) []Finding {
	if len(certs) == 0 {
		return nil
	}
	leaf := certs[0]
	detail := describeCert(leaf)
	sev, title := Info, "server certificate"
	fix := ""
	if len(leaf.Subject.Organization)+len(leaf.Subject.OrganizationalUnit)+len(leaf.Issuer.Organization)+
		len(leaf.Issuer.OrganizationalUnit)+len(leaf.DNSNames) > 0 {
		sev, title = Low, "server certificate reveals names"
		fix = "issue certificates with neutral subject, issuer and names (no organization, product or cluster names)"
	}
	fs := []Finding{s.finding(port, sev, "tls-certificate", title, detail, fix)}
	if now := s.a.o.Now(); now.After(leaf.NotAfter) {
		fs = append(fs, s.finding(port, Medium, "tls-certificate-expired", "server certificate expired",
			"expired "+leaf.NotAfter.UTC().Format(time.DateOnly), "renew the node's certificate"))
	}
	return fs
}

func describeCert(c *x509.Certificate) string {
	parts := []string{
		"subject " + nameString(c.Subject),
		"issuer " + nameString(c.Issuer),
	}
	if sans := sanList(c); len(sans) > 0 {
		parts = append(parts, "SANs "+strings.Join(sans, ", "))
	}
	parts = append(parts, "expires "+c.NotAfter.UTC().Format(time.DateOnly))
	if selfSigned(c) {
		parts = append(parts, "self-signed")
	}
	return strings.Join(parts, "; ")
}

func nameString(n pkix.Name) string {
	var parts []string
	if n.CommonName != "" {
		parts = append(parts, "CN="+clean(n.CommonName))
	}
	for _, o := range n.Organization {
		parts = append(parts, "O="+clean(o))
	}
	for _, o := range n.OrganizationalUnit {
		parts = append(parts, "OU="+clean(o))
	}
	if len(parts) == 0 {
		return "(empty)"
	}
	return strings.Join(parts, ", ")
}

func sanList(c *x509.Certificate) []string {
	var out []string
	for _, d := range c.DNSNames {
		out = append(out, "DNS:"+clean(d))
	}
	for _, ip := range c.IPAddresses {
		out = append(out, "IP:"+ip.String())
	}
	for _, u := range c.URIs {
		out = append(out, "URI:"+clean(u.String()))
	}
	for _, e := range c.EmailAddresses {
		out = append(out, "email:"+clean(e))
	}
	const maxSANs = 8
	if len(out) > maxSANs {
		out = append(out[:maxSANs], fmt.Sprintf("(%d more)", len(out)-maxSANs))
	}
	return out
}

func selfSigned(c *x509.Certificate) bool {
	return string(c.RawIssuer) == string(c.RawSubject) &&
		c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}
