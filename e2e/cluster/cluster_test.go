package cluster

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gocql/gocql"

	"github.com/ringdb/ringdb/internal/protocol/frame"
	"github.com/ringdb/ringdb/internal/types"
)

// TestThreeNodes: three processes on 127.0.0.1-3 with certificates from
// `ringdb cert`; RF=3; QUORUM reads and writes; a SIGKILLed node is seen
// down, QUORUM and ONE keep working, ALL is Unavailable; after a restart
// hints are replayed and the node has every row; schema is everywhere.
func TestThreeNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process cluster test")
	}
	addrs := []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"}
	requirePortsFree(t, addrs...)
	c := newCluster(t)
	for _, a := range addrs {
		c.add(a, "--seeds", "127.0.0.1")
	}
	for _, a := range addrs {
		c.start(c.nodes[a])
	}
	c.waitStatus("127.0.0.1", map[string]string{"127.0.0.1": "UN", "127.0.0.2": "UN", "127.0.0.3": "UN"}, 60*time.Second)
	c.waitStatus("127.0.0.3", map[string]string{"127.0.0.1": "UN", "127.0.0.2": "UN", "127.0.0.3": "UN"}, 60*time.Second)

	// Roles are cluster-wide: node1's superuser logs in on every node.
	n1, n2, n3 := c.cql("127.0.0.1"), c.cql("127.0.0.2"), c.cql("127.0.0.3")

	// Schema created on node 2 reaches every node.
	exec1(t, n2, frame.One, "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}")
	exec1(t, n2, frame.One, "CREATE TABLE ks.t (k int PRIMARY KEY, v text)")
	for addr, conn := range map[string]*clientT{"127.0.0.1": n1, "127.0.0.3": n3} {
		waitFor(t, 30*time.Second, "table ks.t on "+addr, func() error {
			_, err := conn.QueryCL("SELECT * FROM ks.t LIMIT 1", frame.One, 0, nil)
			return err
		})
	}
	out, _ := c.nodetool("127.0.0.1", "describecluster")
	waitFor(t, 30*time.Second, "schema agreement", func() error {
		out, _ = c.nodetool("127.0.0.1", "describecluster")
		if strings.Count(out, ": [") != 1 {
			return fmt.Errorf("several schema versions:\n%s", out)
		}
		return nil
	})

	// Concurrent DDL on two nodes: both tables end up everywhere.
	errs := make(chan error, 2)
	go func() { _, err := n1.QueryCL("CREATE TABLE ks.a (k int PRIMARY KEY)", frame.One, 0, nil); errs <- err }()
	go func() { _, err := n3.QueryCL("CREATE TABLE ks.b (k int PRIMARY KEY)", frame.One, 0, nil); errs <- err }()
	for i := 0; i < 2; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for addr, conn := range map[string]*clientT{"127.0.0.1": n1, "127.0.0.2": n2, "127.0.0.3": n3} {
		waitFor(t, 30*time.Second, "tables a and b on "+addr, func() error {
			for _, tb := range []string{"a", "b"} {
				if _, err := conn.QueryCL("SELECT * FROM ks."+tb+" LIMIT 1", frame.One, 0, nil); err != nil {
					return err
				}
			}
			return nil
		})
	}

	// Writes and reads at QUORUM through every coordinator.
	conns := []*clientT{n1, n2, n3}
	for i := 0; i < 60; i++ {
		exec1(t, conns[i%3], frame.Quorum, fmt.Sprintf("INSERT INTO ks.t (k, v) VALUES (%d, 'v%d')", i, i))
	}
	for i := 0; i < 60; i++ {
		r := exec1(t, conns[(i+1)%3], frame.Quorum, fmt.Sprintf("SELECT v FROM ks.t WHERE k = %d", i))
		if len(r.Rows) != 1 || string(r.Rows[0][0]) != fmt.Sprintf("v%d", i) {
			t.Fatalf("QUORUM read of k=%d: %v", i, r.Rows)
		}
	}
	r := exec1(t, n3, frame.Quorum, "SELECT count(*) FROM ks.t")
	if n, _ := types.DecodeBigint(r.Rows[0][0]); n != 60 {
		t.Fatalf("count(*) at QUORUM = %d", n)
	}

	// gocql with its token-aware policy discovers the three nodes through
	// system.peers and routes by token.
	gc := gocql.NewCluster("127.0.0.1")
	gc.ProtoVersion = 4
	gc.Timeout = 10 * time.Second
	gc.Consistency = gocql.Quorum
	gc.Authenticator = gocql.PasswordAuthenticator{Username: "cassandra", Password: c.password()}
	gc.PoolConfig.HostSelectionPolicy = gocql.TokenAwareHostPolicy(gocql.RoundRobinHostPolicy())
	gs, err := gc.CreateSession()
	if err != nil {
		t.Fatal(err)
	}
	defer gs.Close()
	waitFor(t, 30*time.Second, "gocql to see 3 hosts", func() error {
		var n int
		iter := gs.Query("SELECT peer FROM system.peers").Iter()
		var peer string
		for iter.Scan(&peer) {
			n++
		}
		if err := iter.Close(); err != nil {
			return err
		}
		if n != 2 {
			return fmt.Errorf("%d peers", n)
		}
		return nil
	})
	for i := 1000; i < 1100; i++ {
		if err := gs.Query("INSERT INTO ks.t (k, v) VALUES (?, ?)", i, fmt.Sprint("g", i)).Exec(); err != nil {
			t.Fatalf("gocql QUORUM write: %v", err)
		}
	}
	var gv string
	for i := 1000; i < 1100; i += 9 {
		if err := gs.Query("SELECT v FROM ks.t WHERE k = ?", i).Scan(&gv); err != nil || gv != fmt.Sprint("g", i) {
			t.Fatalf("gocql QUORUM read k=%d: %q %v", i, gv, err)
		}
	}

	// SIGKILL node 3: the failure detector marks it down.
	c.nodes["127.0.0.3"].kill()
	c.waitStatus("127.0.0.1", map[string]string{"127.0.0.3": "DN", "127.0.0.2": "UN"}, 60*time.Second)
	c.waitStatus("127.0.0.2", map[string]string{"127.0.0.3": "DN"}, 60*time.Second)
	for i := 100; i < 140; i++ {
		exec1(t, conns[i%2], frame.Quorum, fmt.Sprintf("INSERT INTO ks.t (k, v) VALUES (%d, 'down%d')", i, i))
	}
	exec1(t, n1, frame.One, "INSERT INTO ks.t (k, v) VALUES (200, 'one')")
	_, err = n1.QueryCL("INSERT INTO ks.t (k, v) VALUES (201, 'all')", frame.All, 0, nil)
	if codeOf(err) != 0x1000 {
		t.Fatalf("ALL with a node down: want Unavailable (0x1000), got %v", err)
	}
	_, err = n2.QueryCL("SELECT * FROM ks.t WHERE k = 1", frame.All, 0, nil)
	if codeOf(err) != 0x1000 {
		t.Fatalf("read at ALL with a node down: want Unavailable, got %v", err)
	}
	r = exec1(t, n2, frame.Quorum, "SELECT v FROM ks.t WHERE k = 120")
	if len(r.Rows) != 1 {
		t.Fatal("QUORUM read with a node down failed")
	}

	// Restart node 3: hints are replayed; at ONE, node 3 alone has it all.
	// The driver keeps working through the two live nodes.
	for i := 1100; i < 1120; i++ {
		if err := gs.Query("INSERT INTO ks.t (k, v) VALUES (?, ?)", i, "gdown").Exec(); err != nil {
			t.Fatalf("gocql QUORUM write with a node down: %v", err)
		}
	}
	c.start(c.nodes["127.0.0.3"])
	c.waitStatus("127.0.0.1", map[string]string{"127.0.0.3": "UN"}, 60*time.Second)
	n3b := c.cql("127.0.0.3")
	waitFor(t, 60*time.Second, "hints replayed to node 3", func() error {
		for _, k := range []int{100, 120, 139, 200, 1100, 1119} {
			r, err := n3b.QueryCL(fmt.Sprintf("SELECT v FROM ks.t WHERE k = %d", k), frame.One, 0, nil)
			if err != nil {
				return err
			}
			if len(r.Rows) != 1 {
				return fmt.Errorf("k=%d missing on node 3", k)
			}
		}
		return nil
	})
	// Every row is on node 3 (local reads at ONE: node 3 is a replica of all).
	for i := 100; i < 140; i++ {
		r := exec1(t, n3b, frame.One, fmt.Sprintf("SELECT v FROM ks.t WHERE k = %d", i))
		if len(r.Rows) != 1 || string(r.Rows[0][0]) != fmt.Sprintf("down%d", i) {
			t.Fatalf("k=%d on node 3 after hint replay: %v", i, r.Rows)
		}
	}
	// system.peers lists the two others with tokens and host ids.
	r = exec1(t, n1, frame.One, "SELECT peer, host_id, tokens, data_center FROM system.peers")
	if len(r.Rows) != 2 {
		t.Fatalf("system.peers on node 1: %d rows", len(r.Rows))
	}
	out, _ = c.nodetool("127.0.0.1", "ring")
	if !strings.Contains(out, "127.0.0.2") || strings.Count(out, "Up") < 48 {
		t.Fatalf("nodetool ring:\n%s", out)
	}
}

type clientT = clientAlias
