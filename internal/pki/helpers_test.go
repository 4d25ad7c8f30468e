package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// testCluster is a CA plus node identities issued by it.
type testCluster struct {
	ca    *CA
	nodes map[string]*Identity // by address
	dirs  map[string]string
}

func newTestCluster(t *testing.T, name string, addrs ...string) *testCluster {
	t.Helper()
	base := t.TempDir()
	ca, err := InitCA(filepath.Join(base, "ca"), name)
	if err != nil {
		t.Fatalf("InitCA: %v", err)
	}
	c := &testCluster{ca: ca, nodes: map[string]*Identity{}, dirs: map[string]string{}}
	for _, a := range addrs {
		dir := filepath.Join(base, "node-"+a)
		if err := ca.IssueNode(netip.MustParseAddr(a), dir); err != nil {
			t.Fatalf("IssueNode(%s): %v", a, err)
		}
		id, err := LoadIdentity(dir)
		if err != nil {
			t.Fatalf("LoadIdentity(%s): %v", a, err)
		}
		c.nodes[a], c.dirs[a] = id, dir
	}
	return c
}

// leafTemplate is what IssueNode would sign for addr in clusterID.
func leafTemplate(addr string, clusterID string) *x509.Certificate {
	now := time.Now()
	return &x509.Certificate{
		SerialNumber: big1(),
		Subject:      pkix.Name{CommonName: addr},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses:  []net.IP{net.ParseIP(addr)},
		URIs:         []*url.URL{ClusterURI(clusterID)},
	}
}

func big1() *big.Int { n, _ := randomSerial(); return n }

// signLeaf signs tmpl with parent/parentKey (self-signed if parent is nil)
// for a fresh key and returns the TLS certificate and its DER.
func signLeaf(t *testing.T, tmpl, parent *x509.Certificate, parentKey crypto.Signer) (tls.Certificate, []byte, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		t.Fatalf("CreateCertificate: %v", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, der, key
}

// forgeCA makes a CA certificate like InitCA's, with any name and cluster id.
func forgeCA(t *testing.T, name, clusterID string) (*x509.Certificate, crypto.Signer) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big1(),
		Subject:               pkix.Name{CommonName: caCN},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
		URIs:                  []*url.URL{ClusterURI(clusterID)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// writeNodeDir writes a certificates directory from raw parts.
func writeNodeDir(t *testing.T, caCert *x509.Certificate, leafDER []byte, key crypto.Signer) string {
	t.Helper()
	dir := t.TempDir()
	keyPEM, err := encodeKey(key)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		CACertFile:  encodeCert(caCert.Raw),
		NodeCrtFile: encodeCert(leafDER),
		NodeKeyFile: keyPEM,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

type handshakeResult struct {
	serverErr, clientErr error
	server, client       tls.ConnectionState
}

// handshake runs one TLS handshake over loopback TCP. After a successful
// server handshake the server writes one byte, which the client reads: in
// TLS 1.3 the client's Handshake returns before the server has verified the
// client certificate, so a refusal shows up on that read.
func handshake(t *testing.T, srv, cli *tls.Config) handshakeResult {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type res struct {
		err error
		cs  tls.ConnectionState
	}
	ch := make(chan res, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			ch <- res{err: err}
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		tc := tls.Server(c, srv)
		if err := tc.Handshake(); err != nil {
			ch <- res{err: err}
			return
		}
		_, err = tc.Write([]byte{42})
		ch <- res{err: err, cs: tc.ConnectionState()}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	tc := tls.Client(c, cli)
	var r handshakeResult
	r.clientErr = tc.Handshake()
	if r.clientErr == nil {
		var b [1]byte
		if _, err := io.ReadFull(tc, b[:]); err != nil {
			r.clientErr = err
		} else if b[0] != 42 {
			t.Fatalf("client read %d, want 42", b[0])
		}
		r.client = tc.ConnectionState()
	}
	tc.Close()
	sr := <-ch
	r.serverErr, r.server = sr.err, sr.cs
	return r
}

func fileMode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}
