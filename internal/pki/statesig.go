package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"
)

// Owner-signed gossip state (docs/decisions/009-owner-signed-gossip.md).
//
// Every node signs the gossip values it publishes about itself with the key
// of its node certificate (StateSigner), and publishes the certificate
// itself as a gossip state. A receiver accepts a value about endpoint X
// only if it is signed by the key of a certificate that this cluster's CA
// issued for X's address, valid now and not revoked (StateVerifier), so no
// other certificate holder can change X's membership state, even though
// states are relayed by every peer.
//
// A signature is ECDSA P-256 (ASN.1) over
//
//	SHA-256("ringdb gossip state v1" 0x00 clusterID 0x00 payload)
//
// where payload is gossip's canonical encoding of the signed tuple
// (gossip.HeartBeatPayload, gossip.StatePayload). The cluster id binds a
// signature to this cluster.

// stateSigContext is the domain separation prefix of state signatures.
const stateSigContext = "ringdb gossip state v1\x00"

// stateDigest is what a state signature signs.
func stateDigest(clusterID string, payload []byte) []byte {
	h := sha256.New()
	h.Write([]byte(stateSigContext))
	h.Write([]byte(clusterID))
	h.Write([]byte{0})
	h.Write(payload)
	return h.Sum(nil)
}

// StateSigner signs this node's gossip states with its node certificate's
// key (it implements gossip.Signer).
type StateSigner struct {
	key       *ecdsa.PrivateKey
	cert      []byte
	clusterID string
}

// StateSigner returns the signer of this node's gossip states. The node
// key must be ECDSA P-256, as IssueNode makes it.
func (id *Identity) StateSigner() (*StateSigner, error) {
	key, ok := id.Cert.PrivateKey.(*ecdsa.PrivateKey)
	if !ok || key.Curve != elliptic.P256() {
		return nil, errors.New("pki: gossip state signing needs an ECDSA P-256 node key")
	}
	if len(id.Cert.Certificate) == 0 {
		return nil, errors.New("pki: no node certificate")
	}
	return &StateSigner{key: key, cert: id.Cert.Certificate[0], clusterID: id.ClusterID}, nil
}

// Sign signs payload (a gossip.HeartBeatPayload or gossip.StatePayload of
// this node).
func (s *StateSigner) Sign(payload []byte) ([]byte, error) {
	return ecdsa.SignASN1(rand.Reader, s.key, stateDigest(s.clusterID, payload))
}

// Certificate returns the node certificate (DER) whose key signs.
func (s *StateSigner) Certificate() []byte { return s.cert }

// StateVerifier verifies gossip states against the certificates their
// owners gossip (it implements gossip.Verifier). Certificates are checked
// against this identity's CA once and cached by content; validity period
// and the installed CRL are checked on every use, so a revocation takes
// effect at once.
type StateVerifier struct {
	id *Identity

	mu    sync.Mutex
	cache map[[sha256.Size]byte]*stateCert
}

// stateCert is a cached certificate check: the parsed leaf with its
// address and key, or why it was refused (err, retried after
// stateCertRetry).
type stateCert struct {
	leaf    *x509.Certificate
	addr    netip.Addr
	key     *ecdsa.PublicKey
	err     error
	checked time.Time
}

const (
	// maxStateCerts bounds the verifier's cache; when full it is emptied.
	maxStateCerts = 4096
	// stateCertRetry is how long a refused certificate stays refused
	// without being checked again.
	stateCertRetry = time.Minute
)

// StateVerifier returns a verifier of gossip states against this cluster's
// CA and revocation list.
func (id *Identity) StateVerifier() *StateVerifier {
	return &StateVerifier{id: id, cache: map[[sha256.Size]byte]*stateCert{}}
}

// CheckCertificate reports whether der is a certificate this cluster's CA
// issued to a node at address ep: it chains to the CA, carries this
// cluster's id and ep as its single IP SAN, allows both server and client
// authentication (as every node certificate does), has an ECDSA P-256
// key, is valid now and is not revoked.
func (v *StateVerifier) CheckCertificate(ep netip.Addr, der []byte) error {
	c, err := v.cert(der)
	if err != nil {
		return err
	}
	if c.addr != ep.Unmap() {
		return fmt.Errorf("pki: certificate (serial %s) is for %s, not %s", c.leaf.SerialNumber, c.addr, ep)
	}
	if now := v.id.now(); now.Before(c.leaf.NotBefore) || now.After(c.leaf.NotAfter) {
		return fmt.Errorf("pki: certificate (serial %s) of %s is not valid now", c.leaf.SerialNumber, ep)
	}
	if v.id.Revoked(c.leaf) {
		return &RevokedError{Serial: c.leaf.SerialNumber, Address: c.addr}
	}
	return nil
}

// Verify reports whether sig is the signature of payload by the key of
// certificate der (which should have passed CheckCertificate).
func (v *StateVerifier) Verify(der, payload, sig []byte) bool {
	c, err := v.cert(der)
	if err != nil {
		return false
	}
	return ecdsa.VerifyASN1(c.key, stateDigest(v.id.ClusterID, payload), sig)
}

// cert returns the cached check of der, checking it first if needed.
func (v *StateVerifier) cert(der []byte) (*stateCert, error) {
	sum := sha256.Sum256(der)
	now := v.id.now()
	v.mu.Lock()
	c, ok := v.cache[sum]
	v.mu.Unlock()
	if ok && (c.err == nil || now.Sub(c.checked) < stateCertRetry) {
		return c, c.err
	}
	c = v.check(der)
	c.checked = now
	v.mu.Lock()
	if len(v.cache) >= maxStateCerts {
		clear(v.cache)
	}
	v.cache[sum] = c
	v.mu.Unlock()
	return c, c.err
}

// check verifies der as a node certificate of this cluster (not the
// revocation list, which CheckCertificate consults on every use).
func (v *StateVerifier) check(der []byte) *stateCert {
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return &stateCert{err: fmt.Errorf("pki: gossiped certificate does not parse: %w", err)}
	}
	for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		// Revocation is not cached: CheckCertificate asks on every use.
		var rev *RevokedError
		if _, err := v.id.verifyLeaf(leaf, usage); err != nil && !errors.As(err, &rev) {
			return &stateCert{err: fmt.Errorf("pki: gossiped certificate (serial %s) refused: %w", leaf.SerialNumber, err)}
		}
	}
	addr, err := leafAddress(leaf)
	if err != nil {
		return &stateCert{err: fmt.Errorf("pki: gossiped certificate (serial %s) refused: %w", leaf.SerialNumber, err)}
	}
	key, ok := leaf.PublicKey.(*ecdsa.PublicKey)
	if !ok || key.Curve != elliptic.P256() {
		return &stateCert{err: fmt.Errorf("pki: gossiped certificate (serial %s) has no ECDSA P-256 key", leaf.SerialNumber)}
	}
	return &stateCert{leaf: leaf, addr: addr, key: key}
}
