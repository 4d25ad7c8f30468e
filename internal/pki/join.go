package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
)

// Admission by join token (docs/decisions/011-admission-and-join-tokens.md).
//
// A new node without a certificate generates its key (NewNodeKey), sends a
// certificate signing request for its listen address (NodeCSR) to a member
// that holds the CA (an issuer) over a TLS connection on port 7000 that
// carries no client certificate and negotiates the JoinALPN protocol. The
// joiner trusts nothing but the CA fingerprint in its token
// (JoinClientConfig); the issuer presents its node certificate and the CA
// certificate (JoinServerConfig). The issuer's CA signs the request
// (CA.IssueCSR, indexed in issued.jsonl like IssueNode) and the joiner
// writes what it received (WriteJoinedIdentity).

// JoinALPN is the TLS application protocol of the join exchange on port
// 7000: a connection without a client certificate is accepted only when it
// negotiates it, and then it can only perform the join exchange. The name
// is neutral on purpose (no product name for a prober to confirm).
const JoinALPN = "join/1"

// MaxCSRBytes bounds a certificate signing request in the join exchange.
const MaxCSRBytes = 2048

// Fingerprint returns the SHA-256 of a certificate's DER encoding, as the
// audit log shows it (lowercase hex).
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// CAFingerprint returns the SHA-256 of the CA certificate's DER encoding:
// what a join token pins.
func (ca *CA) CAFingerprint() [sha256.Size]byte { return sha256.Sum256(ca.Cert.Raw) }

// CertDER returns the CA certificate's DER encoding (shared: do not modify).
func (ca *CA) CertDER() []byte { return ca.Cert.Raw }

// NewNodeKey generates a node key: ECDSA P-256, as IssueNode makes them.
func NewNodeKey() (*ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("pki: generate node key: %w", err)
	}
	return key, nil
}

// NodeCSR returns a DER certificate signing request by key for a node
// certificate of addr (its single IP SAN).
func NodeCSR(key *ecdsa.PrivateKey, addr netip.Addr) ([]byte, error) {
	addr = addr.Unmap()
	if err := validateNodeAddr(addr); err != nil {
		return nil, fmt.Errorf("pki: certificate request: %w", err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject:     pkix.Name{CommonName: addr.String()},
		IPAddresses: []net.IP{net.IP(addr.AsSlice())},
	}, key)
	if err != nil {
		return nil, fmt.Errorf("pki: certificate request: %w", err)
	}
	return der, nil
}

// CSRAddress parses a certificate signing request, checks its signature
// (the requester holds the key) and that its key is ECDSA P-256, and
// returns its single IP SAN and public key. Requests with DNS names, email
// addresses or URIs are refused: a node certificate names one address and
// nothing the requester chose besides. der may come from a stranger; the
// function is safe for any input.
func CSRAddress(der []byte) (netip.Addr, *ecdsa.PublicKey, error) {
	if len(der) == 0 || len(der) > MaxCSRBytes {
		return netip.Addr{}, nil, fmt.Errorf("pki: certificate request of %d bytes (1..%d)", len(der), MaxCSRBytes)
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return netip.Addr{}, nil, fmt.Errorf("pki: certificate request does not parse: %w", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return netip.Addr{}, nil, fmt.Errorf("pki: certificate request signature: %w", err)
	}
	pub, ok := csr.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return netip.Addr{}, nil, errors.New("pki: certificate request key is not ECDSA P-256")
	}
	if len(csr.DNSNames)+len(csr.EmailAddresses)+len(csr.URIs) != 0 || len(csr.IPAddresses) != 1 {
		return netip.Addr{}, nil, errors.New("pki: certificate request must name exactly one IP address and nothing else")
	}
	addr, ok := netip.AddrFromSlice(csr.IPAddresses[0])
	if !ok {
		return netip.Addr{}, nil, errors.New("pki: certificate request carries a malformed IP address")
	}
	addr = addr.Unmap()
	if err := validateNodeAddr(addr); err != nil {
		return netip.Addr{}, nil, fmt.Errorf("pki: certificate request: %w", err)
	}
	return addr, pub, nil
}

// IssueCSR signs a node certificate for addr with the public key pub (from
// a request checked by CSRAddress), with the same template as IssueNode
// (IP SAN addr, cluster id URI SAN, ServerAuth and ClientAuth,
// Options.NodeValidity, never beyond the CA), and appends it to the CA's
// index (issued.jsonl) before returning it, so that every certificate that
// leaves the CA can be revoked by address. It returns the certificate's
// DER and its index entry.
func (ca *CA) IssueCSR(addr netip.Addr, pub *ecdsa.PublicKey) ([]byte, IssuedCert, error) {
	der, c, err := ca.issueCSR(addr, pub)
	if err != nil {
		return nil, IssuedCert{}, fmt.Errorf("pki: issue node certificate for %s: %w", addr, err)
	}
	return der, c, nil
}

func (ca *CA) issueCSR(addr netip.Addr, pub *ecdsa.PublicKey) ([]byte, IssuedCert, error) {
	if err := validateNodeAddr(addr); err != nil {
		return nil, IssuedCert{}, err
	}
	addr = addr.Unmap()
	if pub == nil || pub.Curve != elliptic.P256() {
		return nil, IssuedCert{}, errors.New("node key must be ECDSA P-256")
	}
	now := ca.opts.Now()
	notAfter := ca.opts.nodeNotAfter(now)
	if notAfter.After(ca.Cert.NotAfter) {
		notAfter = ca.Cert.NotAfter
	}
	der, err := ca.sign(&x509.Certificate{
		Subject:     pkix.Name{CommonName: addr.String()},
		NotBefore:   now.Add(-clockSkew),
		NotAfter:    notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses: []net.IP{net.IP(addr.AsSlice())},
		URIs:        []*url.URL{ClusterURI(ca.ClusterID)},
	}, pub)
	if err != nil {
		return nil, IssuedCert{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, IssuedCert{}, fmt.Errorf("parse new node certificate: %w", err)
	}
	c := IssuedCert{Serial: leaf.SerialNumber, Address: addr, NotAfter: leaf.NotAfter, IssuedAt: now}
	if err := ca.recordIssued(c); err != nil {
		return nil, IssuedCert{}, err
	}
	return der, c, nil
}

// LiveCertificates returns the certificates of the CA's index for addr
// that are neither expired nor on the CA's current CRL (crl.pem).
func (ca *CA) LiveCertificates(addr netip.Addr) ([]IssuedCert, error) {
	issued, err := ca.Issued()
	if err != nil {
		return nil, err
	}
	var crl *CRL
	if data, err := os.ReadFile(ca.CRLPath()); err == nil {
		if crl, err = ParseCRL(data, ca.Cert); err != nil {
			return nil, fmt.Errorf("pki: %s: %w", ca.CRLPath(), err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("pki: read CRL: %w", err)
	}
	now := ca.opts.Now()
	addr = addr.Unmap()
	var out []IssuedCert
	for _, c := range issued {
		if c.Address == addr && now.Before(c.NotAfter) && !crl.Contains(c.Serial) {
			out = append(out, c)
		}
	}
	return out, nil
}

// JoinServerConfig returns the TLS configuration of the join exchange on
// the accepting side: TLS 1.3, no client certificate requested, only the
// JoinALPN protocol, and the node certificate presented together with the
// CA certificate, so that a joiner holding only the CA's fingerprint can
// verify the chain. It must only ever serve the join exchange (the
// messaging layer selects it for ClientHellos that offer JoinALPN).
func (id *Identity) JoinServerConfig() *tls.Config {
	cert := id.Cert
	cert.Certificate = append(append([][]byte(nil), id.Cert.Certificate...), id.caCert.Raw)
	return &tls.Config{
		MinVersion:             tls.VersionTLS13,
		MaxVersion:             tls.VersionTLS13,
		Certificates:           []tls.Certificate{cert},
		ClientAuth:             tls.NoClientCert,
		NextProtos:             []string{JoinALPN},
		SessionTicketsDisabled: true,
		Time:                   id.now,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if cs.Version != tls.VersionTLS13 || cs.NegotiatedProtocol != JoinALPN {
				return errors.New("pki: the join configuration serves only the join protocol over TLS 1.3")
			}
			return nil
		},
	}
}

// JoinClientConfig returns the TLS configuration of a joiner dialing
// issuer: TLS 1.3, no client certificate, only the JoinALPN protocol.
//
// SECURITY: InsecureSkipVerify is true ONLY to replace crypto/tls's
// verification (against system roots, by name) with the pinned one: the
// joiner has no CA yet, only caFingerprint from its token. VerifyConnection
// requires that the server sent, after its leaf, a CA certificate whose
// SHA-256 is caFingerprint, that the leaf chains to that CA alone, is valid
// now, allows ServerAuth, carries the CA's cluster id and exactly one IP
// SAN equal to issuer, and that JoinALPN was negotiated. A failure aborts
// the handshake before the joiner sends its token.
func JoinClientConfig(caFingerprint [sha256.Size]byte, issuer netip.Addr) *tls.Config {
	issuer = issuer.Unmap()
	return &tls.Config{
		MinVersion:         tls.VersionTLS13,
		MaxVersion:         tls.VersionTLS13,
		NextProtos:         []string{JoinALPN},
		ServerName:         issuer.String(),
		InsecureSkipVerify: true, //nolint:gosec // pinned verification in VerifyConnection
		VerifyConnection: func(cs tls.ConnectionState) error {
			_, err := verifyJoinServer(cs, caFingerprint, issuer)
			return err
		},
	}
}

// JoinServerCA returns the CA certificate the server of a completed join
// handshake presented (verified by JoinClientConfig's VerifyConnection).
func JoinServerCA(cs tls.ConnectionState, caFingerprint [sha256.Size]byte, issuer netip.Addr) (*x509.Certificate, error) {
	return verifyJoinServer(cs, caFingerprint, issuer.Unmap())
}

func verifyJoinServer(cs tls.ConnectionState, fp [sha256.Size]byte, issuer netip.Addr) (*x509.Certificate, error) {
	if cs.Version != tls.VersionTLS13 {
		return nil, errors.New("pki: join requires TLS 1.3")
	}
	if cs.NegotiatedProtocol != JoinALPN {
		return nil, fmt.Errorf("pki: the server at %s does not accept joins (no %q protocol)", issuer, JoinALPN)
	}
	if len(cs.PeerCertificates) < 2 {
		return nil, fmt.Errorf("pki: the server at %s sent no CA certificate", issuer)
	}
	var ca *x509.Certificate
	for _, c := range cs.PeerCertificates[1:] {
		if sha256.Sum256(c.Raw) == fp {
			ca = c
			break
		}
	}
	if ca == nil {
		return nil, fmt.Errorf("pki: the server at %s is not of the cluster the join token names (CA fingerprint differs)", issuer)
	}
	if !ca.IsCA || !ca.BasicConstraintsValid {
		return nil, errors.New("pki: the pinned certificate is not a CA certificate")
	}
	clusterID, err := clusterIDOf(ca)
	if err != nil {
		return nil, fmt.Errorf("pki: pinned CA: %w", err)
	}
	leaf := cs.PeerCertificates[0]
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		return nil, fmt.Errorf("pki: the server at %s has no certificate of the pinned CA: %w", issuer, err)
	}
	if cid, err := clusterIDOf(leaf); err != nil || cid != clusterID {
		return nil, fmt.Errorf("pki: the server at %s has a certificate of another cluster", issuer)
	}
	addr, err := leafAddress(leaf)
	if err != nil {
		return nil, fmt.Errorf("pki: server certificate: %w", err)
	}
	if addr != issuer {
		return nil, fmt.Errorf("pki: the server certificate is for %s, dialed %s", addr, issuer)
	}
	return ca, nil
}

// WriteJoinedIdentity writes a node certificates directory from a join:
// node.key (0600), ca.crt and node.crt (last: its presence means the
// directory is complete), refusing to overwrite any of them. It first
// checks that cert is a node certificate of ca for addr whose key is key's,
// and that ca is the CA certificate with caFingerprint.
func WriteJoinedIdentity(dir string, key *ecdsa.PrivateKey, certDER, caDER []byte, caFingerprint [sha256.Size]byte, addr netip.Addr) error {
	if err := writeJoinedIdentity(dir, key, certDER, caDER, caFingerprint, addr.Unmap()); err != nil {
		return fmt.Errorf("pki: write the joined node's certificates to %s: %w", dir, err)
	}
	return nil
}

func writeJoinedIdentity(dir string, key *ecdsa.PrivateKey, certDER, caDER []byte, fp [sha256.Size]byte, addr netip.Addr) error {
	if sha256.Sum256(caDER) != fp {
		return errors.New("the CA certificate received is not the one the token pins")
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return fmt.Errorf("CA certificate: %w", err)
	}
	clusterID, err := clusterIDOf(caCert)
	if err != nil {
		return fmt.Errorf("CA certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(certDER)
	if err != nil {
		return fmt.Errorf("node certificate: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
			return fmt.Errorf("node certificate: %w", err)
		}
	}
	if cid, err := clusterIDOf(leaf); err != nil || cid != clusterID {
		return errors.New("node certificate is not of the CA's cluster")
	}
	if got, err := leafAddress(leaf); err != nil || got != addr {
		return fmt.Errorf("node certificate is not for %s", addr)
	}
	if pub, ok := leaf.PublicKey.(*ecdsa.PublicKey); !ok || !pub.Equal(&key.PublicKey) {
		return errors.New("node certificate is not for this node's key")
	}
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return fmt.Errorf("create node certificate directory: %w", err)
	}
	for _, name := range []string{NodeKeyFile, NodeCrtFile, CACertFile} {
		p := filepath.Join(dir, name)
		ok, err := exists(p)
		if err != nil {
			return err
		}
		if ok {
			return fmt.Errorf("refusing to overwrite %s", p)
		}
	}
	keyPEM, err := encodeKey(key)
	if err != nil {
		return err
	}
	if err := writeNew(filepath.Join(dir, NodeKeyFile), keyPEM, keyMode); err != nil {
		return err
	}
	if err := writeNew(filepath.Join(dir, CACertFile), encodeCert(caDER), certMode); err != nil {
		return err
	}
	return writeNew(filepath.Join(dir, NodeCrtFile), encodeCert(certDER), certMode)
}
