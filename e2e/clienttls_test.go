package e2e

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gocql/gocql"

	"github.com/ringdb/ringdb/internal/config"
	"github.com/ringdb/ringdb/internal/testcert"
)

// startTLSNode starts a node whose native port requires TLS with
// throwaway certificates; requireCert also requires client certificates.
func startTLSNode(t *testing.T, requireCert bool) (*testNode, testcert.Files) {
	t.Helper()
	f := testcert.Write(t, t.TempDir(), "e2e native CA", "127.0.0.1")
	n := startNode(t, "", func(c *config.Config) {
		c.ClientEncryption = config.ClientEncryption{Enabled: true, Certificate: f.ServerCert, PrivateKey: f.ServerKey}
		if requireCert {
			c.ClientEncryption.RequireClientAuth = true
			c.ClientEncryption.Truststore = f.CA
		}
	})
	return n, f
}

// TestClientTLSWithGocql: gocql with SslOptions (host verification on)
// runs queries, including paged ones; gocql without TLS is refused with
// the server's explanation; a wrong CA fails verification.
func TestClientTLSWithGocql(t *testing.T) {
	n, f := startTLSNode(t, false)
	c := n.cluster()
	c.SslOpts = &gocql.SslOptions{CaPath: f.CA, EnableHostVerification: true}
	s, err := c.CreateSession()
	if err != nil {
		t.Fatalf("TLS session: %v", err)
	}
	defer s.Close()
	mustExec(t, s, "CREATE KEYSPACE tls WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
	mustExec(t, s, "CREATE TABLE tls.t (k int PRIMARY KEY, v text)")
	for i := range 25 {
		mustExec(t, s, "INSERT INTO tls.t (k, v) VALUES (?, ?)", i, strings.Repeat("x", i))
	}
	iter := s.Query("SELECT k FROM tls.t").PageSize(7).Iter()
	seen := map[int]bool{}
	var k int
	for iter.Scan(&k) {
		if seen[k] {
			t.Fatalf("row %d twice", k)
		}
		seen[k] = true
	}
	if err := iter.Close(); err != nil || len(seen) != 25 {
		t.Fatalf("paged scan over TLS: %d rows, %v", len(seen), err)
	}

	plain := n.cluster()
	plain.ReconnectInterval = 0
	if s, err := plain.CreateSession(); err == nil {
		s.Close()
		t.Fatal("a cleartext gocql session was served by a TLS-only node")
	}

	other := testcert.Write(t, t.TempDir(), "other CA", "127.0.0.1")
	wrong := n.cluster()
	wrong.SslOpts = &gocql.SslOptions{CaPath: other.CA, EnableHostVerification: true}
	if s, err := wrong.CreateSession(); err == nil {
		s.Close()
		t.Fatal("gocql accepted a server certificate from a CA it does not trust")
	}
}

// TestClientTLSRequireClientAuth: with require_client_auth, gocql needs
// a certificate from the truststore's CA.
func TestClientTLSRequireClientAuth(t *testing.T) {
	n, f := startTLSNode(t, true)
	noCert := n.cluster()
	noCert.SslOpts = &gocql.SslOptions{CaPath: f.CA, EnableHostVerification: true}
	noCert.ReconnectInterval = 0
	if s, err := noCert.CreateSession(); err == nil {
		s.Close()
		t.Fatal("a client without a certificate was served")
	}
	withCert := n.cluster()
	withCert.SslOpts = &gocql.SslOptions{CaPath: f.CA, CertPath: f.ClientCert, KeyPath: f.ClientKey, EnableHostVerification: true}
	s, err := withCert.CreateSession()
	if err != nil {
		t.Fatalf("client with a certificate: %v", err)
	}
	defer s.Close()
	var v string
	if err := s.Query("SELECT release_version FROM system.local").Scan(&v); err != nil {
		t.Fatal(err)
	}
}

// TestCqlshSSL: `ringdb cqlsh --ssl --cafile` talks to a TLS node;
// without --ssl it gets the server's "requires TLS" error.
func TestCqlshSSL(t *testing.T) {
	n, f := startTLSNode(t, false)
	bin := ringdbBinary(t)
	addr := "127.0.0.1:" + strconv.Itoa(n.port)
	pwFile := filepath.Join(n.cfg.DataDir, "superuser.password")
	out, err := exec.Command(bin, "cqlsh", addr, "-u", "cassandra", "--password-file", pwFile, "--ssl", "--cafile", f.CA,
		"-e", "SELECT cluster_name FROM system.local").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "(1 rows)") {
		t.Fatalf("cqlsh --ssl: %v\n%s", err, out)
	}
	out, err = exec.Command(bin, "cqlsh", addr, "-u", "cassandra", "--password-file", pwFile,
		"-e", "SELECT cluster_name FROM system.local").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "requires TLS") {
		t.Fatalf("cqlsh without --ssl: %v\n%s", err, out)
	}
	other := testcert.Write(t, t.TempDir(), "other CA", "127.0.0.1")
	out, err = exec.Command(bin, "cqlsh", addr, "-u", "cassandra", "--password-file", pwFile, "--ssl", "--cafile", other.CA,
		"-e", "SELECT cluster_name FROM system.local").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "certificate") {
		t.Fatalf("cqlsh --ssl with the wrong CA: %v\n%s", err, out)
	}
}
