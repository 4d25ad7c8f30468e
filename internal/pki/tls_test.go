package pki

import (
	"crypto/tls"
	"crypto/x509"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestHandshakeSameCluster(t *testing.T) {
	c := newTestCluster(t, "Test Cluster", "127.0.0.1", "127.0.0.2")
	srv, cli := c.nodes["127.0.0.1"], c.nodes["127.0.0.2"]
	r := handshake(t, srv.ServerConfig(), cli.ClientConfig())
	if r.serverErr != nil || r.clientErr != nil {
		t.Fatalf("handshake: server %v, client %v", r.serverErr, r.clientErr)
	}
	if r.server.Version != tls.VersionTLS13 || r.client.Version != tls.VersionTLS13 {
		t.Fatalf("versions %x %x", r.server.Version, r.client.Version)
	}
	if r.server.DidResume || r.client.DidResume {
		t.Fatal("session resumed")
	}
	got, err := PeerAddress(r.server)
	if err != nil || got != netip.MustParseAddr("127.0.0.2") {
		t.Fatalf("server sees peer %s, %v; want 127.0.0.2", got, err)
	}
	got, err = PeerAddress(r.client)
	if err != nil || got != netip.MustParseAddr("127.0.0.1") {
		t.Fatalf("client sees peer %s, %v; want 127.0.0.1", got, err)
	}

	// ClientConfigFor pins the dialed address.
	if r := handshake(t, srv.ServerConfig(), cli.ClientConfigFor(netip.MustParseAddr("127.0.0.1"))); r.clientErr != nil || r.serverErr != nil {
		t.Fatalf("ClientConfigFor(right address): server %v, client %v", r.serverErr, r.clientErr)
	}
	r = handshake(t, srv.ServerConfig(), cli.ClientConfigFor(netip.MustParseAddr("127.0.0.3")))
	if r.clientErr == nil || !strings.Contains(r.clientErr.Error(), "dialed 127.0.0.3") {
		t.Fatalf("ClientConfigFor(wrong address): client %v", r.clientErr)
	}
}

func TestConfigShape(t *testing.T) {
	id := newTestCluster(t, "x", "127.0.0.1").nodes["127.0.0.1"]
	s, c := id.ServerConfig(), id.ClientConfig()
	for _, cfg := range []*tls.Config{s, c} {
		if cfg.MinVersion != tls.VersionTLS13 || cfg.MaxVersion != tls.VersionTLS13 || cfg.VerifyConnection == nil {
			t.Fatalf("config %+v", cfg)
		}
	}
	if s.ClientAuth != tls.RequireAndVerifyClientCert || s.ClientCAs != id.CAPool || !s.SessionTicketsDisabled {
		t.Fatal("server config does not require verified client certificates")
	}
	if !c.InsecureSkipVerify || c.ClientSessionCache != nil {
		t.Fatal("client config: expected verification in VerifyConnection and no session cache")
	}
	if _, err := PeerAddress(tls.ConnectionState{}); err == nil {
		t.Fatal("PeerAddress of an incomplete handshake succeeded")
	}
}

// TestServerRefusesClients: the server must refuse every one of these
// clients, each of which trusts the server (so only the server can refuse).
func TestServerRefusesClients(t *testing.T) {
	c := newTestCluster(t, "Test Cluster", "127.0.0.1", "127.0.0.2")
	srv := c.nodes["127.0.0.1"]
	good := c.nodes["127.0.0.2"]
	ca := c.ca
	otherCluster := newTestCluster(t, "Other", "127.0.0.2")
	sameName := newTestCluster(t, "Test Cluster", "127.0.0.2")

	// clientWith presents cert to the server (whatever CAs the server asks
	// for, as an attacker would) but trusts the server properly.
	clientWith := func(cert *tls.Certificate) *tls.Config {
		cfg := good.ClientConfig()
		cfg.Certificates = nil
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			if cert == nil {
				return &tls.Certificate{}, nil
			}
			return cert, nil
		}
		return cfg
	}
	signedByUs := func(mod func(*x509.Certificate)) *tls.Config {
		tmpl := leafTemplate("127.0.0.2", ca.ClusterID)
		mod(tmpl)
		cert, _, _ := signLeaf(t, tmpl, ca.Cert, ca.key)
		return clientWith(&cert)
	}

	cases := []struct {
		name string
		cfg  func() *tls.Config
		want string // substring of the server's error
	}{
		{"no client certificate", func() *tls.Config { return clientWith(nil) }, "didn't provide a certificate"},
		{"self-signed client certificate with our cluster id", func() *tls.Config {
			tmpl := leafTemplate("127.0.0.2", ca.ClusterID)
			tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
			tmpl.KeyUsage |= x509.KeyUsageCertSign
			cert, _, _ := signLeaf(t, tmpl, nil, nil)
			return clientWith(&cert)
		}, "unknown authority"},
		{"another cluster's CA", func() *tls.Config {
			return clientWith(&otherCluster.nodes["127.0.0.2"].Cert)
		}, "unknown authority"},
		{"CA with the same name but another key", func() *tls.Config {
			return clientWith(&sameName.nodes["127.0.0.2"].Cert)
		}, "unknown authority"},
		{"forged CA with the same name and cluster id", func() *tls.Config {
			fc, fk := forgeCA(t, "Test Cluster", ca.ClusterID)
			cert, _, _ := signLeaf(t, leafTemplate("127.0.0.2", ca.ClusterID), fc, fk)
			return clientWith(&cert)
		}, "unknown authority"},
		{"TLS 1.2 only", func() *tls.Config {
			cfg := good.ClientConfig()
			cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS12, tls.VersionTLS12
			return cfg
		}, "version"},
		{"our CA, another cluster id", func() *tls.Config {
			return signedByUs(func(c *x509.Certificate) { c.URIs[0] = ClusterURI(otherCluster.ca.ClusterID) })
		}, "is for cluster"},
		{"our CA, no cluster id", func() *tls.Config {
			return signedByUs(func(c *x509.Certificate) { c.URIs = nil })
		}, "no cluster id"},
		{"our CA, no IP address", func() *tls.Config {
			return signedByUs(func(c *x509.Certificate) { c.IPAddresses = nil })
		}, "exactly one IP"},
		{"our CA, server-only usage", func() *tls.Config {
			return signedByUs(func(c *x509.Certificate) { c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth} })
		}, "incompatible key usage"},
		{"our CA, expired", func() *tls.Config {
			return signedByUs(func(c *x509.Certificate) {
				c.NotBefore, c.NotAfter = time.Now().Add(-48*time.Hour), time.Now().Add(-time.Hour)
			})
		}, "expired"},
		{"the CA certificate itself", func() *tls.Config {
			cert := tls.Certificate{Certificate: [][]byte{ca.Cert.Raw}, PrivateKey: ca.key, Leaf: ca.Cert}
			return clientWith(&cert)
		}, "exactly one IP"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := handshake(t, srv.ServerConfig(), tc.cfg())
			t.Logf("server: %v; client: %v", r.serverErr, r.clientErr)
			if r.serverErr == nil {
				t.Fatal("server accepted the connection")
			}
			if r.clientErr == nil {
				t.Fatal("client saw a working connection")
			}
			if !strings.Contains(r.serverErr.Error(), tc.want) {
				t.Fatalf("server error %q does not mention %q", r.serverErr, tc.want)
			}
		})
	}
	// Control: the same helper with our node's certificate works.
	if r := handshake(t, srv.ServerConfig(), clientWith(&good.Cert)); r.serverErr != nil || r.clientErr != nil {
		t.Fatalf("control: server %v, client %v", r.serverErr, r.clientErr)
	}
}

// TestClientRefusesServers: our dialing node must refuse servers that are
// not members of its cluster, even though the servers accept it.
func TestClientRefusesServers(t *testing.T) {
	c := newTestCluster(t, "Test Cluster", "127.0.0.1", "127.0.0.2")
	cli := c.nodes["127.0.0.2"]
	ca := c.ca
	otherCluster := newTestCluster(t, "Other", "127.0.0.1")
	sameName := newTestCluster(t, "Test Cluster", "127.0.0.1")

	serverWith := func(cert tls.Certificate) *tls.Config {
		return &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequestClientCert}
	}
	fc, fk := forgeCA(t, "Test Cluster", ca.ClusterID)
	forged, _, _ := signLeaf(t, leafTemplate("127.0.0.1", ca.ClusterID), fc, fk)
	selfTmpl := leafTemplate("127.0.0.1", ca.ClusterID)
	selfSigned, _, _ := signLeaf(t, selfTmpl, nil, nil)
	wrongID, _, _ := signLeaf(t, leafTemplate("127.0.0.1", otherCluster.ca.ClusterID), ca.Cert, ca.key)
	clientOnly := leafTemplate("127.0.0.1", ca.ClusterID)
	clientOnly.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	clientOnlyCert, _, _ := signLeaf(t, clientOnly, ca.Cert, ca.key)

	cases := []struct {
		name string
		srv  *tls.Config
		want string
	}{
		{"another cluster's CA", serverWith(otherCluster.nodes["127.0.0.1"].Cert), "not signed by this cluster's CA"},
		{"CA with the same name but another key", serverWith(sameName.nodes["127.0.0.1"].Cert), "not signed by this cluster's CA"},
		{"forged CA with the same cluster id", serverWith(forged), "not signed by this cluster's CA"},
		{"self-signed with our cluster id", serverWith(selfSigned), "not signed by this cluster's CA"},
		{"our CA, another cluster id", serverWith(wrongID), "is for cluster"},
		{"our CA, client-only usage", serverWith(clientOnlyCert), "not signed by this cluster's CA"},
		{"TLS 1.2 server", func() *tls.Config {
			cfg := c.nodes["127.0.0.1"].ServerConfig()
			cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS12, tls.VersionTLS12
			return cfg
		}(), "version"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := handshake(t, tc.srv, cli.ClientConfig())
			t.Logf("client: %v", r.clientErr)
			if r.clientErr == nil {
				t.Fatal("client accepted the server")
			}
			if !strings.Contains(r.clientErr.Error(), tc.want) {
				t.Fatalf("client error %q does not mention %q", r.clientErr, tc.want)
			}
		})
	}
	// Control.
	if r := handshake(t, serverWith(c.nodes["127.0.0.1"].Cert), cli.ClientConfig()); r.clientErr != nil {
		t.Fatalf("control: %v", r.clientErr)
	}
}

// TestEnsureSelfSignedNodesAreSeparateClusters: two single-node defaults
// never talk to each other.
func TestEnsureSelfSignedNodesAreSeparateClusters(t *testing.T) {
	var ids []*Identity
	for _, a := range []string{"127.0.0.1", "127.0.0.2"} {
		dir := filepath.Join(t.TempDir(), "certs")
		if _, err := EnsureSelfSigned(dir, "Test Cluster", netip.MustParseAddr(a)); err != nil {
			t.Fatal(err)
		}
		id, err := LoadIdentity(dir)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	r := handshake(t, ids[0].ServerConfig(), ids[1].ClientConfig())
	if r.clientErr == nil && r.serverErr == nil {
		t.Fatal("two self-signed single nodes connected")
	}
}
