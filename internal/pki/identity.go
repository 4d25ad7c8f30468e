package pki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"net/netip"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// Identity is a node's internode TLS identity loaded from its certificates
// directory.
type Identity struct {
	// Cert is the node's certificate (node.crt) and key (node.key).
	Cert tls.Certificate
	// CAPool holds only the cluster CA certificate (ca.crt).
	CAPool *x509.CertPool
	// ClusterID is the cluster id carried by the CA and the node certificate.
	ClusterID string
	// Address is the node certificate's single IP SAN.
	Address netip.Addr

	now    func() time.Time
	caCert *x509.Certificate

	// crlMu serialises InstallCRL; crl is read lock-free by every
	// handshake.
	crlMu     sync.Mutex
	crl       atomic.Pointer[CRL]
	onRevoked atomic.Pointer[func(RevokedPeer)]
}

// LoadIdentity loads certsDir/{node.crt,node.key,ca.crt} with default Options.
func LoadIdentity(certsDir string) (*Identity, error) {
	return LoadIdentityWithOptions(certsDir, Options{})
}

// LoadIdentityWithOptions loads a node identity and checks that node.key
// matches node.crt and is private (no group/other access), that ca.crt is a
// CA certificate with a cluster id, and that node.crt is valid now, chains
// to ca.crt for both server and client authentication, carries the CA's
// cluster id and exactly one IP SAN. Options.Now is also the clock used by
// the TLS configurations made from the identity.
func LoadIdentityWithOptions(certsDir string, o Options) (*Identity, error) {
	id, err := loadIdentity(certsDir, o)
	if err != nil {
		return nil, fmt.Errorf("pki: load identity from %s: %w", certsDir, err)
	}
	return id, nil
}

func loadIdentity(certsDir string, o Options) (*Identity, error) {
	o.EnsureDefaults()
	caCert, _, err := readCert(filepath.Join(certsDir, CACertFile))
	if err != nil {
		return nil, err
	}
	if !caCert.IsCA || !caCert.BasicConstraintsValid {
		return nil, fmt.Errorf("%s is not a CA certificate", filepath.Join(certsDir, CACertFile))
	}
	clusterID, err := clusterIDOf(caCert)
	if err != nil {
		return nil, fmt.Errorf("CA certificate: %w", err)
	}
	keyPath := filepath.Join(certsDir, NodeKeyFile)
	_, keyPEM, err := readKey(keyPath)
	if err != nil {
		return nil, err
	}
	_, certPEM, err := readCert(filepath.Join(certsDir, NodeCrtFile))
	if err != nil {
		return nil, err
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%s and %s: %w", NodeCrtFile, NodeKeyFile, err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	id := &Identity{Cert: pair, CAPool: pool, ClusterID: clusterID, now: o.Now, caCert: caCert}
	for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		addr, err := id.verifyLeaf(pair.Leaf, usage)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", NodeCrtFile, err)
		}
		id.Address = addr
	}
	return id, nil
}

// verifyLeaf checks leaf against this cluster: it chains directly to the CA
// (no intermediates are accepted), is valid now, allows usage, carries this
// cluster's id and exactly one IP SAN, which it returns, and is not on the
// installed CRL (a *RevokedError, matching ErrRevoked).
func (id *Identity) verifyLeaf(leaf *x509.Certificate, usage x509.ExtKeyUsage) (netip.Addr, error) {
	if leaf == nil {
		return netip.Addr{}, errors.New("no certificate")
	}
	if _, err := leaf.Verify(x509.VerifyOptions{
		Roots:       id.CAPool,
		CurrentTime: id.now(),
		KeyUsages:   []x509.ExtKeyUsage{usage},
	}); err != nil {
		return netip.Addr{}, fmt.Errorf("not signed by this cluster's CA: %w", err)
	}
	cid, err := clusterIDOf(leaf)
	if err != nil {
		return netip.Addr{}, err
	}
	if cid != id.ClusterID {
		return netip.Addr{}, fmt.Errorf("certificate is for cluster %s, this is cluster %s", cid, id.ClusterID)
	}
	addr, err := leafAddress(leaf)
	if err != nil {
		return netip.Addr{}, err
	}
	if crl := id.crl.Load(); crl.Contains(leaf.SerialNumber) {
		return netip.Addr{}, &RevokedError{Serial: leaf.SerialNumber, Address: addr, CRLNumber: crl.Number}
	}
	return addr, nil
}

// CACert returns the cluster CA certificate (ca.crt).
func (id *Identity) CACert() *x509.Certificate { return id.caCert }

// Serial returns the serial number of this node's certificate.
func (id *Identity) Serial() *big.Int { return id.Cert.Leaf.SerialNumber }

// VerifyCRL decodes data (PEM or DER) and verifies it as ParseCRL does
// against this cluster's CA, and that it has not expired (NextUpdate is not
// past). It installs nothing.
func (id *Identity) VerifyCRL(data []byte) (*CRL, error) {
	c, err := ParseCRL(data, id.caCert)
	if err != nil {
		return nil, err
	}
	if now := id.now(); c.Expired(now) {
		return nil, fmt.Errorf("pki: CRL refused: number %s expired at %s", c.Number, c.NextUpdate.UTC().Format(time.RFC3339))
	}
	return c, nil
}

// InstallCRL makes c the revocation list every later handshake of this
// identity is checked against, if c was verified against this cluster's CA
// and its number is greater than the installed one (else ErrCRLNotNewer,
// and nothing changes). It returns the entries c revokes that the previous
// list did not. Connections already open are not affected: the messaging
// layer closes them (messaging.Service.CloseRevoked with Revoked).
func (id *Identity) InstallCRL(c *CRL) ([]RevokedCert, error) {
	if c == nil || string(c.authority) != string(id.caCert.Raw) {
		return nil, errors.New("pki: CRL was not verified against this cluster's CA")
	}
	id.crlMu.Lock()
	defer id.crlMu.Unlock()
	prev := id.crl.Load()
	if prev != nil && c.Number.Cmp(prev.Number) <= 0 {
		return nil, fmt.Errorf("%w (offered %s, installed %s)", ErrCRLNotNewer, c.Number, prev.Number)
	}
	id.crl.Store(c)
	var newly []RevokedCert
	for _, e := range c.Revoked {
		if !prev.Contains(e.Serial) {
			newly = append(newly, e)
		}
	}
	return newly, nil
}

// CRL returns the installed revocation list, or nil.
func (id *Identity) CRL() *CRL { return id.crl.Load() }

// Revoked reports whether cert was issued by this cluster's CA and is on the
// installed CRL. It is what the messaging layer checks open connections'
// peer certificates with.
func (id *Identity) Revoked(cert *x509.Certificate) bool {
	if cert == nil || string(cert.RawIssuer) != string(id.caCert.RawSubject) {
		return false
	}
	return id.crl.Load().Contains(cert.SerialNumber)
}

// RevokedPeer is a TLS peer refused because its certificate is on the
// installed CRL.
//
// The refusal happens in VerifyConnection, which crypto/tls runs before the
// peer has proved that it holds the certificate's key (CertificateVerify).
// Certificates are public: anyone who can reach the port can present a
// revoked one as a client, so an inbound refusal says nothing about who
// holds it. An outbound refusal is the server at an address this node
// dialed presenting it.
type RevokedPeer struct {
	// Address is the revoked certificate's IP SAN.
	Address netip.Addr
	// Serial is its serial number.
	Serial *big.Int
	// CRLNumber is the number of the installed CRL that lists it.
	CRLNumber *big.Int
	// Inbound is true when the peer dialed this node (we were the TLS
	// server), false when this node dialed it.
	Inbound bool
}

// SetOnRevokedPeer sets the function called when a TLS handshake (as server
// or client) refuses a peer because its certificate is revoked. It runs on
// the handshake's goroutine and must not block. nil removes it.
func (id *Identity) SetOnRevokedPeer(f func(RevokedPeer)) {
	if f == nil {
		id.onRevoked.Store(nil)
		return
	}
	id.onRevoked.Store(&f)
}

// leafAddress returns the single IP SAN of a node certificate.
func leafAddress(leaf *x509.Certificate) (netip.Addr, error) {
	if n := len(leaf.IPAddresses); n != 1 {
		return netip.Addr{}, fmt.Errorf("node certificate must carry exactly one IP address, has %d", n)
	}
	addr, ok := netip.AddrFromSlice(leaf.IPAddresses[0])
	if !ok {
		return netip.Addr{}, errors.New("node certificate carries a malformed IP address")
	}
	addr = addr.Unmap()
	if err := validateNodeAddr(addr); err != nil {
		return netip.Addr{}, err
	}
	return addr, nil
}
