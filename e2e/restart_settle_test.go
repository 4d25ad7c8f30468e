package e2e

import (
	"context"
	"fmt"
	"github.com/ringdb/ringdb/internal/testnet"
	"net/netip"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/ringdb/ringdb/internal/client"
	"github.com/ringdb/ringdb/internal/config"
	"github.com/ringdb/ringdb/internal/pki"
	"github.com/ringdb/ringdb/internal/protocol/frame"
	"github.com/ringdb/ringdb/internal/server"
)

// TestRestartedMemberServesQuorumAtOnce restarts members of a healthy
// three-node RF=3 cluster (in this process, so `go test -race` sees Start
// and Close running while gossip calls back into the node) and checks that
// the first QUORUM write and read through the restarted member succeed as
// soon as its native port accepts connections: it opens the port only
// once gossip has marked its peers up. It used to answer Unavailable for
// up to two seconds, believing its peers down.
//
// Node 3 is restarted first (it has node 1 as its seed); then node 1, the
// seed, whose only seed is itself: it knows its peers only from the ring
// members it saved on its previous run.
func TestRestartedMemberServesQuorumAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a three-node cluster")
	}
	dir := t.TempDir()
	ca, err := pki.InitCA(filepath.Join(dir, "ca"), "settle")
	if err != nil {
		t.Fatal(err)
	}
	storagePort, nativePort := testnet.FreePort(t), testnet.FreePort(t)
	addrs := []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"}
	cfgs := make([]config.Config, len(addrs))
	nodes := make([]*server.Node, len(addrs))
	t.Cleanup(func() {
		for _, n := range nodes {
			if n != nil {
				n.Close()
			}
		}
	})
	start := func(i int) {
		t.Helper()
		n, err := server.Start(cfgs[i], quietLogger())
		if err != nil {
			t.Fatalf("start %s: %v", addrs[i], err)
		}
		nodes[i] = n
	}
	for i, a := range addrs {
		certs := filepath.Join(dir, a, "certs")
		if err := ca.IssueNode(netip.MustParseAddr(a), certs); err != nil {
			t.Fatal(err)
		}
		cfgs[i] = config.Config{DataDir: filepath.Join(dir, a), ListenAddress: a, StoragePort: storagePort, NativePort: nativePort,
			AdminAddress: a + ":" + strconv.Itoa(testnet.FreePort(t)), CertsDir: certs, Seeds: []string{"127.0.0.1"},
			ClusterName: "settle", CommitlogSync: "periodic", WriteTimeout: 10 * time.Second, ReadTimeout: 10 * time.Second}
		cfgs[i].EnsureDefaults()
		start(i)
	}
	pw := readPassword(t, filepath.Join(dir, "127.0.0.1"))
	dial := func(i int) (*client.Client, error) {
		return client.Dial(context.Background(), addrs[i]+":"+strconv.Itoa(nativePort), client.Options{Username: "cassandra", Password: pw})
	}

	// Form the cluster: the table exists everywhere and every node sees
	// the other two up (ALL succeeds through each).
	c1 := retryDial(t, dial, 0)
	for _, q := range []string{
		"CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}",
		"CREATE TABLE ks.t (k int PRIMARY KEY, v int)",
	} {
		if _, err := c1.QueryCL(q, frame.One, 0, nil); err != nil {
			t.Fatal(err)
		}
	}
	c1.Close()
	for i := range addrs {
		c := retryDial(t, dial, i)
		waitUntil(t, 60*time.Second, "write at ALL through "+addrs[i], func() error {
			_, err := c.QueryCL("INSERT INTO ks.t (k, v) VALUES (0, 0)", frame.All, 0, nil)
			return err
		})
		c.Close()
	}

	for _, i := range []int{2, 0} {
		t.Logf("restarting %s", addrs[i])
		if err := nodes[i].Close(); err != nil {
			t.Fatalf("close %s: %v", addrs[i], err)
		}
		nodes[i] = nil
		start(i) // returns once the native port accepts connections
		c, err := dial(i)
		if err != nil {
			t.Fatalf("connect to restarted %s: %v", addrs[i], err)
		}
		k := 100 + i
		if _, err := c.QueryCL(fmt.Sprintf("INSERT INTO ks.t (k, v) VALUES (%d, %d)", k, k), frame.Quorum, 0, nil); err != nil {
			t.Fatalf("first QUORUM write through restarted %s: %v", addrs[i], err)
		}
		r, err := c.QueryCL(fmt.Sprintf("SELECT v FROM ks.t WHERE k = %d", k), frame.Quorum, 0, nil)
		if err != nil {
			t.Fatalf("first QUORUM read through restarted %s: %v", addrs[i], err)
		}
		if len(r.Rows) != 1 {
			t.Fatalf("QUORUM read through restarted %s: %d rows, want 1", addrs[i], len(r.Rows))
		}
		c.Close()
	}
}

// retryDial connects to node i, retrying for up to 30 s (a fresh cluster
// may still be syncing roles).
func retryDial(t *testing.T, dial func(int) (*client.Client, error), i int) *client.Client {
	t.Helper()
	var c *client.Client
	waitUntil(t, 30*time.Second, "login on node "+strconv.Itoa(i+1), func() error {
		var err error
		c, err = dial(i)
		return err
	})
	return c
}

// waitUntil polls cond until it returns nil or within passes.
func waitUntil(t *testing.T, within time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s: %v", within, what, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
