package pki

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestInitIssueLoadRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ca")
	ca, err := InitCA(dir, "prod east")
	if err != nil {
		t.Fatal(err)
	}
	if !validClusterID(ca.ClusterID) {
		t.Fatalf("cluster id %q is not a canonical UUID", ca.ClusterID)
	}
	if m := fileMode(t, filepath.Join(dir, CAKeyFile)); m != 0o600 {
		t.Errorf("ca.key mode %#o, want 0600", m)
	}
	c := ca.Cert
	if !c.IsCA || !c.BasicConstraintsValid || c.MaxPathLen != 0 || !c.MaxPathLenZero {
		t.Errorf("CA constraints: IsCA=%v MaxPathLen=%d zero=%v", c.IsCA, c.MaxPathLen, c.MaxPathLenZero)
	}
	// Neutral subject: no product, version or cluster name (issue 13 item 8).
	if c.Subject.CommonName != "cluster CA" || len(c.Subject.Organization) != 0 || strings.Contains(c.Subject.String(), "ringdb") || strings.Contains(c.Subject.String(), "prod") {
		t.Errorf("CA subject %v", c.Subject)
	}
	if len(c.URIs) != 1 || c.URIs[0].String() != "urn:uuid:"+ca.ClusterID {
		t.Errorf("CA URIs %v", c.URIs)
	}
	if pub, ok := c.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
		t.Errorf("CA key %T, want ECDSA P-256", c.PublicKey)
	}
	if years := time.Until(c.NotAfter).Hours() / 24 / 365; years < 9.9 || years > 10.1 {
		t.Errorf("CA validity %.2f years, want 10", years)
	}

	loaded, err := LoadCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.ClusterID != ca.ClusterID || loaded.ClusterName != "prod east" || !loaded.Cert.Equal(ca.Cert) {
		t.Fatalf("LoadCA = %+v", loaded)
	}

	out := filepath.Join(t.TempDir(), "n1")
	if err := loaded.IssueNode(netip.MustParseAddr("127.0.0.2"), out); err != nil {
		t.Fatal(err)
	}
	if m := fileMode(t, filepath.Join(out, NodeKeyFile)); m != 0o600 {
		t.Errorf("node.key mode %#o, want 0600", m)
	}
	caCopy, _ := os.ReadFile(filepath.Join(out, CACertFile))
	caOrig, _ := os.ReadFile(filepath.Join(dir, CACertFile))
	if !bytes.Equal(caCopy, caOrig) {
		t.Error("ca.crt copy differs from the CA's ca.crt")
	}
	id, err := LoadIdentity(out)
	if err != nil {
		t.Fatal(err)
	}
	if id.ClusterID != ca.ClusterID || id.Address != netip.MustParseAddr("127.0.0.2") {
		t.Fatalf("identity cluster %s address %s", id.ClusterID, id.Address)
	}
	leaf := id.Cert.Leaf
	if leaf.Subject.CommonName != "127.0.0.2" || len(leaf.Subject.Organization) != 0 {
		t.Errorf("leaf subject %v", leaf.Subject)
	}
	// Nothing a TLS peer sees names the product or the cluster.
	for _, c := range []*x509.Certificate{leaf, ca.Cert} {
		for _, field := range []string{c.Subject.String(), c.Issuer.String(), fmt.Sprint(c.URIs), fmt.Sprint(c.DNSNames)} {
			if strings.Contains(strings.ToLower(field), "ringdb") || strings.Contains(field, "prod east") {
				t.Errorf("certificate field %q names the product or the cluster", field)
			}
		}
	}
	if !slices.Equal(leaf.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}) {
		t.Errorf("leaf EKU %v", leaf.ExtKeyUsage)
	}
	if leaf.IsCA {
		t.Error("leaf is a CA")
	}
	if years := time.Until(leaf.NotAfter).Hours() / 24 / 365; years < 0.99 || years > 1.01 {
		t.Errorf("leaf validity %.2f years, want %d (DefaultNodeValidityYears)", years, DefaultNodeValidityYears)
	}
	// Every issued certificate is in the CA's index, by serial and address.
	issued, err := loaded.Issued()
	if err != nil {
		t.Fatal(err)
	}
	if len(issued) != 1 || issued[0].Serial.Cmp(leaf.SerialNumber) != 0 || issued[0].Address != id.Address ||
		!issued[0].NotAfter.Equal(leaf.NotAfter.Truncate(time.Second)) {
		t.Fatalf("index %+v, want serial %s for %s until %s", issued, leaf.SerialNumber, id.Address, leaf.NotAfter)
	}
}

func TestIssueNodeIPv6(t *testing.T) {
	c := newTestCluster(t, "v6", "::1")
	if got := c.nodes["::1"].Address; got != netip.IPv6Loopback() {
		t.Fatalf("address %s", got)
	}
	// A v4-mapped address is stored as plain IPv4.
	out := t.TempDir()
	if err := c.ca.IssueNode(netip.MustParseAddr("::ffff:10.1.2.3"), out); err != nil {
		t.Fatal(err)
	}
	id, err := LoadIdentity(out)
	if err != nil {
		t.Fatal(err)
	}
	if id.Address != netip.MustParseAddr("10.1.2.3") {
		t.Fatalf("address %s", id.Address)
	}
}

func TestInitCARefusesOverwrite(t *testing.T) {
	dir := t.TempDir()
	if _, err := InitCA(dir, "a"); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, CAKeyFile))
	if _, err := InitCA(dir, "a"); err == nil || !strings.Contains(err.Error(), "refusing to overwrite") {
		t.Fatalf("second InitCA: %v", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, CAKeyFile))
	if !bytes.Equal(before, after) {
		t.Fatal("ca.key changed")
	}
	// A lone ca.key (interrupted init) is never overwritten either.
	dir2 := t.TempDir()
	os.WriteFile(filepath.Join(dir2, CAKeyFile), []byte("x"), 0o600)
	if _, err := InitCA(dir2, "a"); err == nil {
		t.Fatal("InitCA over a lone ca.key succeeded")
	}
	if _, err := InitCA(t.TempDir(), ""); err == nil {
		t.Fatal("empty cluster name accepted")
	}
	if _, err := InitCA(t.TempDir(), "bad\nname"); err == nil {
		t.Fatal("control character in cluster name accepted")
	}
}

func TestIssueNodeRefusals(t *testing.T) {
	c := newTestCluster(t, "x", "127.0.0.1")
	for _, a := range []netip.Addr{{}, netip.MustParseAddr("0.0.0.0"), netip.MustParseAddr("::"),
		netip.MustParseAddr("::ffff:0.0.0.0"), netip.MustParseAddr("224.0.0.1"),
		netip.MustParseAddr("255.255.255.255"), netip.MustParseAddr("fe80::1%eth0")} {
		if err := c.ca.IssueNode(a, t.TempDir()); err == nil {
			t.Errorf("IssueNode(%v) succeeded", a)
		}
	}
	// Never overwrites an existing node certificate.
	dir := c.dirs["127.0.0.1"]
	before, _ := os.ReadFile(filepath.Join(dir, NodeKeyFile))
	if err := c.ca.IssueNode(netip.MustParseAddr("127.0.0.1"), dir); err == nil {
		t.Fatal("IssueNode over an existing node.crt succeeded")
	}
	after, _ := os.ReadFile(filepath.Join(dir, NodeKeyFile))
	if !bytes.Equal(before, after) {
		t.Fatal("node.key changed")
	}
	// A ca.crt of another cluster in the output directory is refused.
	other := newTestCluster(t, "y", "127.0.0.9")
	out := t.TempDir()
	data, _ := os.ReadFile(other.ca.CertPath())
	os.WriteFile(filepath.Join(out, CACertFile), data, 0o644)
	if err := c.ca.IssueNode(netip.MustParseAddr("127.0.0.5"), out); err == nil {
		t.Fatal("IssueNode next to a foreign ca.crt succeeded")
	}
}

func TestLoadCARejects(t *testing.T) {
	c := newTestCluster(t, "x")
	if err := os.Chmod(c.ca.KeyPath(), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCA(c.ca.Dir); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("LoadCA with world-readable key: %v", err)
	}
	os.Chmod(c.ca.KeyPath(), 0o600)
	// Key of another CA.
	other := newTestCluster(t, "x")
	key, _ := os.ReadFile(other.ca.KeyPath())
	os.Remove(c.ca.KeyPath())
	os.WriteFile(c.ca.KeyPath(), key, 0o600)
	if _, err := LoadCA(c.ca.Dir); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("LoadCA with mismatched key: %v", err)
	}
	if _, err := LoadCA(t.TempDir()); err == nil {
		t.Fatal("LoadCA of an empty directory succeeded")
	}
}

func TestEnsureSelfSigned(t *testing.T) {
	certs := filepath.Join(t.TempDir(), "certs")
	addr := netip.MustParseAddr("127.0.0.1")
	created, err := EnsureSelfSigned(certs, "Test Cluster", addr)
	if err != nil || !created {
		t.Fatalf("first EnsureSelfSigned = %v, %v", created, err)
	}
	for _, p := range []string{filepath.Join(certs, "ca", CAKeyFile), filepath.Join(certs, NodeKeyFile)} {
		if m := fileMode(t, p); m != 0o600 {
			t.Errorf("%s mode %#o, want 0600", p, m)
		}
	}
	snapshot := func() map[string][]byte {
		m := map[string][]byte{}
		for _, p := range []string{"ca/ca.key", "ca/ca.crt", "node.key", "node.crt", "ca.crt"} {
			b, err := os.ReadFile(filepath.Join(certs, p))
			if err != nil {
				t.Fatal(err)
			}
			m[p] = b
		}
		return m
	}
	before := snapshot()
	id, err := LoadIdentity(certs)
	if err != nil {
		t.Fatal(err)
	}
	if id.Address != addr {
		t.Fatalf("address %s", id.Address)
	}
	created, err = EnsureSelfSigned(certs, "Test Cluster", addr)
	if err != nil || created {
		t.Fatalf("second EnsureSelfSigned = %v, %v", created, err)
	}
	after := snapshot()
	for k := range before {
		if !bytes.Equal(before[k], after[k]) {
			t.Errorf("%s changed", k)
		}
	}

	// Interrupted after the CA was created: the CA is reused.
	certs2 := t.TempDir()
	ca, err := InitCA(filepath.Join(certs2, "ca"), "Test Cluster")
	if err != nil {
		t.Fatal(err)
	}
	if created, err := EnsureSelfSigned(certs2, "Test Cluster", addr); err != nil || !created {
		t.Fatalf("EnsureSelfSigned after interrupted init = %v, %v", created, err)
	}
	if id, err := LoadIdentity(certs2); err != nil || id.ClusterID != ca.ClusterID {
		t.Fatalf("identity %v, %v; want cluster %s", id, err, ca.ClusterID)
	}

	// Incomplete operator directory: refused, not papered over.
	certs3 := t.TempDir()
	os.WriteFile(filepath.Join(certs3, CACertFile), after["ca.crt"], 0o644)
	if _, err := EnsureSelfSigned(certs3, "Test Cluster", addr); err == nil {
		t.Fatal("EnsureSelfSigned with ca.crt but no node.crt succeeded")
	}
	if _, err := EnsureSelfSigned(t.TempDir(), "Test Cluster", netip.MustParseAddr("0.0.0.0")); err == nil {
		t.Fatal("EnsureSelfSigned for 0.0.0.0 succeeded")
	}
}

func TestLoadIdentityRejects(t *testing.T) {
	c := newTestCluster(t, "x", "127.0.0.1")
	ca := c.ca
	other := newTestCluster(t, "x")

	cases := []struct {
		name string
		dir  func() string
		want string
	}{
		{"two IP SANs", func() string {
			tmpl := leafTemplate("127.0.0.1", ca.ClusterID)
			tmpl.IPAddresses = append(tmpl.IPAddresses, net.ParseIP("127.0.0.2"))
			_, der, key := signLeaf(t, tmpl, ca.Cert, ca.key)
			return writeNodeDir(t, ca.Cert, der, key)
		}, "exactly one IP address"},
		{"no IP SAN", func() string {
			tmpl := leafTemplate("127.0.0.1", ca.ClusterID)
			tmpl.IPAddresses = nil
			_, der, key := signLeaf(t, tmpl, ca.Cert, ca.key)
			return writeNodeDir(t, ca.Cert, der, key)
		}, "exactly one IP address"},
		{"missing cluster id", func() string {
			tmpl := leafTemplate("127.0.0.1", ca.ClusterID)
			tmpl.URIs = nil
			_, der, key := signLeaf(t, tmpl, ca.Cert, ca.key)
			return writeNodeDir(t, ca.Cert, der, key)
		}, "no cluster id"},
		{"other cluster id", func() string {
			_, der, key := signLeaf(t, leafTemplate("127.0.0.1", other.ca.ClusterID), ca.Cert, ca.key)
			return writeNodeDir(t, ca.Cert, der, key)
		}, "is for cluster"},
		{"two cluster ids", func() string {
			tmpl := leafTemplate("127.0.0.1", ca.ClusterID)
			tmpl.URIs = append(tmpl.URIs, ClusterURI(other.ca.ClusterID))
			_, der, key := signLeaf(t, tmpl, ca.Cert, ca.key)
			return writeNodeDir(t, ca.Cert, der, key)
		}, "more than one"},
		{"malformed cluster id", func() string {
			tmpl := leafTemplate("127.0.0.1", ca.ClusterID)
			tmpl.URIs = []*url.URL{{Scheme: "urn", Opaque: "uuid:" + ca.ClusterID + "x"}}
			_, der, key := signLeaf(t, tmpl, ca.Cert, ca.key)
			return writeNodeDir(t, ca.Cert, der, key)
		}, "malformed"},
		{"no ClientAuth", func() string {
			tmpl := leafTemplate("127.0.0.1", ca.ClusterID)
			tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
			_, der, key := signLeaf(t, tmpl, ca.Cert, ca.key)
			return writeNodeDir(t, ca.Cert, der, key)
		}, "not signed by this cluster's CA"},
		{"signed by another CA", func() string {
			_, der, key := signLeaf(t, leafTemplate("127.0.0.1", ca.ClusterID), other.ca.Cert, other.ca.key)
			return writeNodeDir(t, ca.Cert, der, key)
		}, "not signed by this cluster's CA"},
		{"forged CA with the same cluster id", func() string {
			fc, fk := forgeCA(t, "x", ca.ClusterID)
			_, der, key := signLeaf(t, leafTemplate("127.0.0.1", ca.ClusterID), fc, fk)
			return writeNodeDir(t, ca.Cert, der, key)
		}, "not signed by this cluster's CA"},
		{"expired", func() string {
			tmpl := leafTemplate("127.0.0.1", ca.ClusterID)
			tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour)
			_, der, key := signLeaf(t, tmpl, ca.Cert, ca.key)
			return writeNodeDir(t, ca.Cert, der, key)
		}, "expired"},
		{"key of another certificate", func() string {
			_, der, _ := signLeaf(t, leafTemplate("127.0.0.1", ca.ClusterID), ca.Cert, ca.key)
			_, _, key2 := signLeaf(t, leafTemplate("127.0.0.1", ca.ClusterID), ca.Cert, ca.key)
			return writeNodeDir(t, ca.Cert, der, key2)
		}, "private key does not match"},
		{"group-readable key", func() string {
			_, der, key := signLeaf(t, leafTemplate("127.0.0.1", ca.ClusterID), ca.Cert, ca.key)
			dir := writeNodeDir(t, ca.Cert, der, key)
			os.Chmod(filepath.Join(dir, NodeKeyFile), 0o640)
			return dir
		}, "chmod 600"},
		{"missing files", func() string { return t.TempDir() }, "no such file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadIdentity(tc.dir())
			if err == nil {
				t.Fatal("LoadIdentity succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
		})
	}
	// The well-formed control case passes, so the failures above are real.
	_, der, key := signLeaf(t, leafTemplate("127.0.0.1", ca.ClusterID), ca.Cert, ca.key)
	if _, err := LoadIdentity(writeNodeDir(t, ca.Cert, der, key)); err != nil {
		t.Fatalf("control: %v", err)
	}
}

func TestLoadIdentityExpiresWithClock(t *testing.T) {
	past := time.Now().AddDate(-3, 0, 0)
	dir := t.TempDir()
	ca, err := InitCAWithOptions(filepath.Join(dir, "ca"), "x", Options{Now: func() time.Time { return past }})
	if err != nil {
		t.Fatal(err)
	}
	if err := ca.IssueNode(netip.MustParseAddr("127.0.0.1"), filepath.Join(dir, "n")); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadIdentity(filepath.Join(dir, "n")); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("LoadIdentity of a 1-year certificate issued 3 years ago: %v", err)
	}
	if _, err := LoadIdentityWithOptions(filepath.Join(dir, "n"), Options{Now: func() time.Time { return past }}); err != nil {
		t.Fatalf("LoadIdentity at issue time: %v", err)
	}
}

func TestClusterIDOf(t *testing.T) {
	id := "0f8fad5b-d9cb-469f-a165-70867728950e"
	for _, tc := range []struct {
		uris []string
		ok   bool
	}{
		{[]string{"urn:uuid:" + id}, true},
		{[]string{"https://example.com/", "urn:uuid:" + id}, true},
		{[]string{"urn:uuid:" + strings.ToUpper(id)}, false},
		{[]string{"urn:uuid:" + id + "x"}, false},
		{[]string{"urn:uuid:" + id + "?x=1"}, false},
		{[]string{"URN:UUID:" + id}, false},
		{[]string{"urn:uuid:" + id, "ringdb://cluster/" + id}, false},
		{[]string{"urn:isbn:0451450523", "urn:uuid:" + id}, true},
		// Certificates made before the neutral URN carry ringdb://.
		{[]string{"ringdb://cluster/" + id}, true},
		{nil, false},
		{[]string{"ringdb://cluster/" + strings.ToUpper(id)}, false},
		{[]string{"ringdb://other/" + id}, false},
		{[]string{"ringdb://cluster/" + id + "?x=1"}, false},
		{[]string{"ringdb://cluster/" + id + "/more"}, false},
		{[]string{"ringdb://cluster/" + id, "ringdb://cluster/" + id}, false},
	} {
		cert := &x509.Certificate{}
		for _, s := range tc.uris {
			u, err := url.Parse(s)
			if err != nil {
				t.Fatal(err)
			}
			cert.URIs = append(cert.URIs, u)
		}
		got, err := ClusterIDOf(cert)
		if (err == nil) != tc.ok || (tc.ok && got != id) {
			t.Errorf("ClusterIDOf(%v) = %q, %v", tc.uris, got, err)
		}
	}
}
