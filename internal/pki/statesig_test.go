package pki

import (
	"bytes"
	"crypto/x509"
	"errors"
	"math/big"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// A node's state signatures verify against the certificate it gossips,
// for its own address only, in its own cluster only; certificates that
// this cluster's CA did not issue for that address, and revoked ones, are
// refused.
func TestStateSignatures(t *testing.T) {
	c := newTestCluster(t, "sig", "127.0.0.1", "127.0.0.2")
	a, b := c.nodes["127.0.0.1"], c.nodes["127.0.0.2"]
	ipA, ipB := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.2")
	signer, err := a.StateSigner()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(signer.Certificate(), a.Cert.Certificate[0]) {
		t.Fatal("signer's certificate is not the node certificate")
	}
	v := b.StateVerifier()
	payload := []byte("S\x04\x7f\x00\x00\x01 some state")
	sig, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	cert := signer.Certificate()
	if err := v.CheckCertificate(ipA, cert); err != nil {
		t.Fatalf("A's certificate for A: %v", err)
	}
	if !v.Verify(cert, payload, sig) {
		t.Fatal("A's signature does not verify")
	}
	if v.Verify(cert, append(bytes.Clone(payload), 'x'), sig) {
		t.Fatal("signature verifies another payload")
	}
	if v.Verify(cert, payload, nil) || v.Verify(cert, payload, sig[:len(sig)-1]) {
		t.Fatal("empty or truncated signature verifies")
	}
	// A's certificate cannot speak for B.
	if err := v.CheckCertificate(ipB, cert); err == nil || !strings.Contains(err.Error(), "is for 127.0.0.1") {
		t.Fatalf("A's certificate accepted for B: %v", err)
	}
	// B's own signature does not verify with A's certificate.
	bs, _ := b.StateSigner()
	sigB, _ := bs.Sign(payload)
	if v.Verify(cert, payload, sigB) {
		t.Fatal("B's signature verifies as A's")
	}

	// The same payload signed in another cluster (another CA, same
	// address) is refused: its certificate does not chain, and even the
	// signature alone is bound to the cluster id.
	other := newTestCluster(t, "other", "127.0.0.1")
	osg, _ := other.nodes["127.0.0.1"].StateSigner()
	osig, _ := osg.Sign(payload)
	if err := v.CheckCertificate(ipA, osg.Certificate()); err == nil {
		t.Fatal("certificate of another cluster's CA accepted")
	}
	if v.Verify(cert, payload, osig) {
		t.Fatal("another cluster's signature verifies")
	}
	if d1, d2 := stateDigest(a.ClusterID, payload), stateDigest(other.nodes["127.0.0.1"].ClusterID, payload); bytes.Equal(d1, d2) {
		t.Fatal("the digest does not depend on the cluster id")
	}

	// Self-signed, garbage, and a certificate of this CA without client
	// authentication.
	tmpl := leafTemplate("127.0.0.1", a.ClusterID)
	_, selfDER, _ := signLeaf(t, tmpl, nil, nil)
	if err := v.CheckCertificate(ipA, selfDER); err == nil {
		t.Fatal("self-signed certificate accepted")
	}
	if err := v.CheckCertificate(ipA, []byte("not a certificate")); err == nil {
		t.Fatal("garbage accepted")
	}
	caKey := c.ca.key
	serverOnly := leafTemplate("127.0.0.1", a.ClusterID)
	serverOnly.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	_, serverDER, _ := signLeaf(t, serverOnly, c.ca.Cert, caKey)
	if err := v.CheckCertificate(ipA, serverDER); err == nil {
		t.Fatal("certificate without client authentication accepted")
	}
	// An expired certificate of this CA.
	old := leafTemplate("127.0.0.1", a.ClusterID)
	old.NotBefore, old.NotAfter = time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour)
	_, oldDER, _ := signLeaf(t, old, c.ca.Cert, caKey)
	if err := v.CheckCertificate(ipA, oldDER); err == nil {
		t.Fatal("expired certificate accepted")
	}

	// Revocation takes effect on the cached certificate at once.
	res, err := c.ca.Revoke(RevokeRequest{Serials: []*big.Int{a.Serial()}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.InstallCRL(res.CRL); err != nil {
		t.Fatal(err)
	}
	if err := v.CheckCertificate(ipA, cert); !errors.Is(err, ErrRevoked) {
		t.Fatalf("revoked certificate: %v", err)
	}
}
