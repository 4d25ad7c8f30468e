package messaging

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

const testCluster = "test-cluster"

// testCA is a self-made cluster CA for tests.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

var serial = struct {
	sync.Mutex
	n int64
}{n: 1}

func nextSerial() *big.Int {
	serial.Lock()
	defer serial.Unlock()
	serial.n++
	return big.NewInt(serial.n)
}

func clusterURI(id string) *url.URL {
	return &url.URL{Scheme: "ringdb", Host: "cluster", Path: "/" + id}
}

func newTestCA(t testing.TB, clusterID string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          nextSerial(),
		Subject:               pkix.Name{CommonName: "ringdb test CA " + clusterID},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
		URIs:                  []*url.URL{clusterURI(clusterID)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// leaf issues a node certificate for ip signed by ca (or self-signed if ca
// is nil).
func (ca *testCA) leaf(t testing.TB, ip string, clusterID string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: nextSerial(),
		Subject:      pkix.Name{CommonName: ip},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses:  []net.IP{net.ParseIP(ip)},
		URIs:         []*url.URL{clusterURI(clusterID)},
	}
	parent, signer := tmpl, any(key)
	if ca != nil {
		parent, signer = ca.cert, ca.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

func serverConfig(ca *testCA, cert tls.Certificate) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		ClientCAs:    ca.pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
	}
}

func clientConfig(ca *testCA, cert tls.Certificate) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		RootCAs:      ca.pool,
	}
}

// testPeerAddress is the single IP SAN of the verified leaf.
func testPeerAddress(st tls.ConnectionState) (netip.Addr, error) {
	if len(st.PeerCertificates) == 0 {
		return netip.Addr{}, errors.New("no peer certificate")
	}
	ips := st.PeerCertificates[0].IPAddresses
	if len(ips) != 1 {
		return netip.Addr{}, fmt.Errorf("want exactly one IP SAN, got %d", len(ips))
	}
	a, ok := netip.AddrFromSlice(ips[0])
	if !ok {
		return netip.Addr{}, errors.New("bad IP SAN")
	}
	return a.Unmap(), nil
}

// refusals records OnRefused calls.
type refusals struct {
	mu   sync.Mutex
	list []string // "ip: reason"
}

func (r *refusals) add(remote netip.AddrPort, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.list = append(r.list, remote.Addr().String()+": "+reason)
}

// waitFor waits until a refusal from ip containing substr is recorded.
func (r *refusals) waitFor(t testing.TB, ip, substr string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		for _, s := range r.list {
			if strings.HasPrefix(s, ip+": ") && strings.Contains(s, substr) {
				r.mu.Unlock()
				return
			}
		}
		r.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	t.Fatalf("no refusal of %s containing %q; got %q", ip, substr, r.list)
}

type testNode struct {
	*Service
	addr     netip.Addr
	refusals *refusals
}

// newTestNode builds (not starts) a Service on ip:port with a leaf from ca.
func newTestNode(t testing.TB, ca *testCA, ip string, port int, edit func(*Options)) *testNode {
	t.Helper()
	cert := ca.leaf(t, ip, testCluster)
	r := &refusals{}
	o := Options{
		Self:             netip.MustParseAddr(ip),
		Port:             port,
		ClusterID:        testCluster,
		ServerTLS:        serverConfig(ca, cert),
		ClientTLS:        clientConfig(ca, cert),
		PeerAddress:      testPeerAddress,
		HandshakeTimeout: 3 * time.Second,
		OnRefused:        r.add,
	}
	if testing.Verbose() {
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if edit != nil {
		edit(&o)
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return &testNode{Service: s, addr: o.Self, refusals: r}
}

func (n *testNode) start(t testing.TB) *testNode {
	t.Helper()
	if err := n.Start(); err != nil {
		t.Fatal(err)
	}
	return n
}
