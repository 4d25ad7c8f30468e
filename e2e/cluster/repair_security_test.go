package cluster

import (
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ringdb/ringdb/internal/pki"
	"github.com/ringdb/ringdb/internal/protocol/frame"
)

// TestReadRepair: with hints off, a replica that missed writes while down
// is repaired by a QUORUM read it coordinates.
func TestReadRepair(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process cluster test")
	}
	addrs := []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"}
	requirePortsFree(t, addrs...)
	c := newCluster(t)
	for _, a := range addrs {
		c.add(a, "--seeds", "127.0.0.1", "--hinted-handoff-enabled=false")
	}
	for _, a := range addrs {
		c.start(c.nodes[a])
	}
	c.waitStatus("127.0.0.1", map[string]string{"127.0.0.1": "UN", "127.0.0.2": "UN", "127.0.0.3": "UN"}, 60*time.Second)
	n1 := c.cql("127.0.0.1")
	exec1(t, n1, frame.One, "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}")
	exec1(t, n1, frame.One, "CREATE TABLE ks.t (k int PRIMARY KEY, v text)")
	exec1(t, n1, frame.One, "CREATE TABLE ks.u (k int PRIMARY KEY, v text)")
	waitFor(t, 30*time.Second, "schema agreement", func() error {
		out, _ := c.nodetool("127.0.0.1", "describecluster")
		if strings.Count(out, ": [") != 1 {
			return fmt.Errorf("%s", out)
		}
		return nil
	})
	events := c.registerEvents("127.0.0.1")
	c.nodes["127.0.0.3"].kill()
	// Clients REGISTERed for events hear that node 3 went down.
	events.waitEvent("STATUS_CHANGE", "DOWN", "127.0.0.3", 60*time.Second)
	c.waitStatus("127.0.0.1", map[string]string{"127.0.0.3": "DN"}, 60*time.Second)
	for i := 0; i < 20; i++ {
		exec1(t, n1, frame.Quorum, fmt.Sprintf("INSERT INTO ks.t (k, v) VALUES (%d, 'while-down-%d')", i, i))
		exec1(t, n1, frame.Quorum, fmt.Sprintf("INSERT INTO ks.u (k, v) VALUES (%d, 'range-%d')", i, i))
	}
	c.start(c.nodes["127.0.0.3"])
	events.waitEvent("STATUS_CHANGE", "UP", "127.0.0.3", 60*time.Second)
	c.waitStatus("127.0.0.1", map[string]string{"127.0.0.3": "UN"}, 60*time.Second)
	n3 := c.cql("127.0.0.3")
	// Without hints node 3 really misses the rows (read at ONE, its own copy).
	missing := 0
	for i := 0; i < 20; i++ {
		r := exec1(t, n3, frame.One, fmt.Sprintf("SELECT v FROM ks.t WHERE k = %d", i))
		if len(r.Rows) == 0 {
			missing++
		}
	}
	if missing != 20 {
		t.Fatalf("node 3 should miss all 20 rows written while it was down, misses %d", missing)
	}
	// QUORUM reads coordinated by node 3 return the data and repair node 3.
	for i := 0; i < 20; i++ {
		r := exec1(t, n3, frame.Quorum, fmt.Sprintf("SELECT v FROM ks.t WHERE k = %d", i))
		if len(r.Rows) != 1 || string(r.Rows[0][0]) != fmt.Sprintf("while-down-%d", i) {
			t.Fatalf("QUORUM read k=%d: %v", i, r.Rows)
		}
	}
	for i := 0; i < 20; i++ {
		r := exec1(t, n3, frame.One, fmt.Sprintf("SELECT v FROM ks.t WHERE k = %d", i))
		if len(r.Rows) != 1 {
			t.Fatalf("k=%d not repaired on node 3", i)
		}
	}
	// A range read at QUORUM coordinated by node 3 repairs it too.
	if r := exec1(t, n3, frame.One, "SELECT k FROM ks.u"); len(r.Rows) != 0 {
		t.Fatalf("node 3 should have no ks.u rows before the range read, has %d", len(r.Rows))
	}
	if r := exec1(t, n3, frame.Quorum, "SELECT k FROM ks.u"); len(r.Rows) != 20 {
		t.Fatalf("range read at QUORUM returned %d rows", len(r.Rows))
	}
	if r := exec1(t, n3, frame.One, "SELECT k FROM ks.u"); len(r.Rows) != 20 {
		t.Fatalf("range read did not repair node 3: %d rows at ONE", len(r.Rows))
	}
}

// TestInternodeSecurity: a plaintext client, a node with another
// cluster's CA, and a holder of a valid certificate for another address
// get no gossip state, are refused and audited; the cluster keeps serving.
func TestInternodeSecurity(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process cluster test")
	}
	addrs := []string{"127.0.0.1", "127.0.0.2"}
	requirePortsFree(t, append(addrs, "127.0.0.4")...)
	c := newCluster(t)
	for _, a := range addrs {
		c.add(a, "--seeds", "127.0.0.1")
	}
	for _, a := range addrs {
		c.start(c.nodes[a])
	}
	c.waitStatus("127.0.0.1", map[string]string{"127.0.0.1": "UN", "127.0.0.2": "UN"}, 60*time.Second)

	// 1. Plaintext: the server never sends a byte of cluster data.
	conn, err := net.DialTimeout("tcp", "127.0.0.1:7000", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = conn.SetDeadline(time.Now().Add(15 * time.Second))
	_, _ = conn.Write([]byte("RNGD\x00\x01\x00\x01 plaintext gossip please\n"))
	got, _ := io.ReadAll(conn)
	conn.Close()
	if len(got) > 0 && (strings.Contains(string(got), "127.0.0.2") || strings.Contains(string(got), "NORMAL")) {
		t.Fatalf("plaintext client received cluster data: %q", got)
	}

	// 2. A node whose certificate comes from another cluster's CA.
	rogueCA := filepath.Join(c.dir, "rogue-ca")
	c.run("cert", "init", "--dir", rogueCA, "--cluster-name", "ringdb-test")
	rogueDir := filepath.Join(c.dir, "rogue")
	c.run("cert", "node", "--dir", rogueCA, "--address", "127.0.0.4", "--out", filepath.Join(rogueDir, "certs"))
	logf, _ := os.Create(filepath.Join(c.dir, "rogue.log"))
	rogue := exec.Command(ringdbBinary(t), "server", "--data-dir", rogueDir, "--listen-address", "127.0.0.4",
		"--certs-dir", filepath.Join(rogueDir, "certs"), "--seeds", "127.0.0.1", "--cluster-name", "ringdb-test")
	rogue.Stdout, rogue.Stderr = logf, logf
	if err := rogue.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rogue.Process.Kill(); _ = rogue.Wait() }()
	// Refused handshakes are noise: counted per source and minute in the
	// noise log, written when the (wall-clock) minute is over.
	noisePath := filepath.Join(c.nodes["127.0.0.1"].dir, "membership-audit.noise.log")
	waitFor(t, 100*time.Second, "the rogue node's connection refused and audited", func() error {
		b, _ := os.ReadFile(noisePath)
		if !strings.Contains(string(b), `"peer":"127.0.0.4"`) || !strings.Contains(string(b), "handshake_refused") {
			return fmt.Errorf("noise log:\n%s", b)
		}
		return nil
	})

	// 3. A valid certificate of this cluster for 127.0.0.5, used from
	// 127.0.0.6: TLS succeeds, the handshake is refused on the address.
	ca, err := pki.LoadCA(c.ca)
	if err != nil {
		t.Fatal(err)
	}
	stolen := filepath.Join(c.dir, "stolen")
	if err := ca.IssueNode(netip.MustParseAddr("127.0.0.5"), stolen); err != nil {
		t.Fatal(err)
	}
	id, err := pki.LoadIdentity(stolen)
	if err != nil {
		t.Fatal(err)
	}
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.6")}, Timeout: 5 * time.Second}
	tc, err := tls.DialWithDialer(&d, "tcp", "127.0.0.1:7000", id.ClientConfig())
	if err != nil {
		t.Fatalf("TLS with a valid certificate should complete: %v", err)
	}
	hello := []byte("RNGD")
	hello = binary.BigEndian.AppendUint16(hello, 1)
	hello = binary.BigEndian.AppendUint16(hello, 1)
	hello = binary.BigEndian.AppendUint16(hello, uint16(len(id.ClusterID)))
	hello = append(hello, id.ClusterID...)
	a16 := netip.MustParseAddr("127.0.0.5").As16()
	hello = append(hello, a16[:]...)
	hello = append(hello, 0)
	_ = tc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := tc.Write(hello); err != nil {
		t.Fatal(err)
	}
	resp, _ := io.ReadAll(tc)
	tc.Close()
	if len(resp) != 1 || resp[0] != 4 {
		t.Fatalf("address-mismatch handshake: want the single reject byte 4, got %v", resp)
	}

	// The cluster is unchanged and still serves.
	out, _ := c.nodetool("127.0.0.1", "status")
	if strings.Contains(out, "127.0.0.4") || strings.Contains(out, "127.0.0.5") || strings.Contains(out, "127.0.0.6") {
		t.Fatalf("a rogue endpoint is in the ring:\n%s", out)
	}
	c.waitStatus("127.0.0.1", map[string]string{"127.0.0.1": "UN", "127.0.0.2": "UN"}, 10*time.Second)
	n1 := c.cql("127.0.0.1")
	exec1(t, n1, frame.One, "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 2}")
	waitFor(t, 100*time.Second, "the address mismatch audited", func() error {
		b, _ := os.ReadFile(noisePath)
		if !strings.Contains(string(b), `"peer":"127.0.0.6"`) {
			return fmt.Errorf("noise log:\n%s", b)
		}
		return nil
	})
	gi, _ := c.nodetool("127.0.0.1", "gossipinfo")
	if strings.Contains(gi, "127.0.0.4") {
		t.Fatalf("rogue node in gossip state:\n%s", gi)
	}
}
