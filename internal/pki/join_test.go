package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
)

func TestCSRAddress(t *testing.T) {
	key, err := NewNodeKey()
	if err != nil {
		t.Fatal(err)
	}
	der, err := NodeCSR(key, netip.MustParseAddr("10.0.0.5"))
	if err != nil {
		t.Fatal(err)
	}
	addr, pub, err := CSRAddress(der)
	if err != nil || addr != netip.MustParseAddr("10.0.0.5") || !pub.Equal(&key.PublicKey) {
		t.Fatalf("CSRAddress: %v %v %v", addr, pub, err)
	}
	if _, err := NodeCSR(key, netip.MustParseAddr("0.0.0.0")); err == nil {
		t.Fatal("CSR for the unspecified address")
	}

	csr := func(signer any, tmpl *x509.CertificateRequest) []byte {
		t.Helper()
		b, err := x509.CreateCertificateRequest(rand.Reader, tmpl, signer)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	ip := []net.IP{net.ParseIP("10.0.0.5")}
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	tampered := append([]byte(nil), der...)
	tampered[len(tampered)-5] ^= 1
	for name, b := range map[string][]byte{
		"empty":        nil,
		"garbage":      []byte("not a CSR"),
		"tampered":     tampered,
		"dns name":     csr(key, &x509.CertificateRequest{IPAddresses: ip, DNSNames: []string{"evil"}}),
		"two IPs":      csr(key, &x509.CertificateRequest{IPAddresses: append(ip, net.ParseIP("10.0.0.6"))}),
		"no IP":        csr(key, &x509.CertificateRequest{}),
		"RSA key":      csr(rsaKey, &x509.CertificateRequest{IPAddresses: ip}),
		"P-384 key":    csr(p384, &x509.CertificateRequest{IPAddresses: ip}),
		"multicast IP": csr(key, &x509.CertificateRequest{IPAddresses: []net.IP{net.ParseIP("224.0.0.1")}}),
		"too large":    make([]byte, MaxCSRBytes+1),
	} {
		if _, _, err := CSRAddress(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// IssueCSR certificates are node certificates like IssueNode's: a node
// identity loads from them, and they are in the CA's index.
func TestIssueCSRAndJoinTLS(t *testing.T) {
	c := newTestCluster(t, "join", "127.0.0.1")
	key, _ := NewNodeKey()
	addr := netip.MustParseAddr("127.0.0.5")
	der, issued, err := c.ca.IssueCSR(addr, &key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if live, err := c.ca.LiveCertificates(addr); err != nil || len(live) != 1 || live[0].Serial.Cmp(issued.Serial) != 0 {
		t.Fatalf("live certificates: %+v, %v", live, err)
	}
	dir := filepath.Join(t.TempDir(), "joined")
	fp := c.ca.CAFingerprint()
	if err := WriteJoinedIdentity(dir, key, der, c.ca.CertDER(), sha256.Sum256([]byte("other")), addr); err == nil {
		t.Fatal("wrote an identity whose CA is not the pinned one")
	}
	other, _ := NewNodeKey()
	if err := WriteJoinedIdentity(dir, other, der, c.ca.CertDER(), fp, addr); err == nil {
		t.Fatal("wrote a certificate with another node's key")
	}
	if err := WriteJoinedIdentity(dir, key, der, c.ca.CertDER(), fp, netip.MustParseAddr("127.0.0.6")); err == nil {
		t.Fatal("wrote a certificate for another address")
	}
	if err := WriteJoinedIdentity(dir, key, der, c.ca.CertDER(), fp, addr); err != nil {
		t.Fatal(err)
	}
	id, err := LoadIdentity(dir)
	if err != nil || id.Address != addr {
		t.Fatalf("joined identity: %v, %v", id, err)
	}
	if err := WriteJoinedIdentity(dir, key, der, c.ca.CertDER(), fp, addr); err == nil {
		t.Fatal("overwrote a certificates directory")
	}
	if _, err := c.ca.Revoke(RevokeRequest{Addresses: []netip.Addr{addr}}); err != nil {
		t.Fatal(err)
	}
	if live, _ := c.ca.LiveCertificates(addr); len(live) != 0 {
		t.Fatalf("revoked certificate still live: %+v", live)
	}

	// Join TLS: the joiner accepts the issuer only through the pinned CA.
	issuer := c.nodes["127.0.0.1"]
	handshake := func(client *tls.Config) (tls.ConnectionState, error) {
		a, b := net.Pipe()
		defer a.Close()
		defer b.Close()
		srv := tls.Server(a, issuer.JoinServerConfig())
		go srv.Handshake()
		cl := tls.Client(b, client)
		err := cl.Handshake()
		return cl.ConnectionState(), err
	}
	st, err := handshake(JoinClientConfig(fp, issuer.Address))
	if err != nil {
		t.Fatalf("pinned join handshake: %v", err)
	}
	if ca, err := JoinServerCA(st, fp, issuer.Address); err != nil || ca.Raw == nil {
		t.Fatalf("JoinServerCA: %v", err)
	}
	if _, err := handshake(JoinClientConfig(sha256.Sum256([]byte("x")), issuer.Address)); err == nil ||
		!strings.Contains(err.Error(), "fingerprint") {
		t.Fatalf("wrong pin: %v", err)
	}
	if _, err := handshake(JoinClientConfig(fp, netip.MustParseAddr("127.0.0.9"))); err == nil ||
		!strings.Contains(err.Error(), "dialed 127.0.0.9") {
		t.Fatalf("wrong issuer address: %v", err)
	}
	noALPN := JoinClientConfig(fp, issuer.Address)
	noALPN.NextProtos = []string{"h2"}
	if _, err := handshake(noALPN); err == nil {
		t.Fatal("the join configuration served another protocol")
	}
}
