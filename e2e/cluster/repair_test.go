package cluster

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gocql/gocql"
)

// Rows of the repair test: early rows written at ALL (every tenth later
// deleted at QUORUM while node 3 is down), then late rows written at
// QUORUM while it is down.
const (
	repairEarlyRows = 1_000
	repairLateRows  = 10_000
)

// repairDeleted reports whether early row k is deleted while node 3 is down.
func repairDeleted(k int) bool { return k < repairEarlyRows && k%10 == 0 }

// TestRepair: 3 nodes at RF=3 with hinted handoff off. Node 3 is stopped;
// 10,000 rows are written and 100 earlier rows deleted at QUORUM. While it
// is down, nodetool repair fails naming it. Once it is back, node 3 alone
// (reading at ONE, its own copy) misses the new rows and still has the
// deleted ones; after `nodetool repair ks` on node 1 every node alone
// returns exactly the same rows — all of them, none of the deleted — and a
// second repair finds nothing to stream.
func TestRepair(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process cluster test")
	}
	addrs := []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"}
	requirePortsFree(t, addrs...)
	began := time.Now()
	phase := func(what string) { t.Logf("%6.1fs %s", time.Since(began).Seconds(), what) }
	c := newCluster(t)
	for _, a := range addrs {
		c.add(a, "--seeds", "127.0.0.1", "--hinted-handoff-enabled=false", "--stream-throughput-outbound", "0")
	}
	for _, a := range addrs {
		c.start(c.nodes[a])
	}
	c.waitStatus("127.0.0.1", map[string]string{"127.0.0.1": "UN", "127.0.0.2": "UN", "127.0.0.3": "UN"}, 60*time.Second)
	phase("3 nodes up")
	s := gocqlSession(t, c, gocql.All, "127.0.0.1")
	for _, q := range []string{
		"CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}",
		"CREATE TABLE ks.t (k int PRIMARY KEY, v text)",
	} {
		if err := s.Query(q).Exec(); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 30*time.Second, "schema agreement", func() error {
		out, _ := c.nodetool("127.0.0.1", "describecluster")
		if strings.Count(out, ": [") != 1 {
			return fmt.Errorf("%s", out)
		}
		return nil
	})
	parallel(t, repairEarlyRows, func(i int) error {
		return s.Query("INSERT INTO ks.t (k, v) VALUES (?, ?)", i, "early"+strconv.Itoa(i)).Exec()
	})
	phase("early rows written at ALL")

	stopNode(t, c.nodes["127.0.0.3"]) // announces its shutdown: the others see it down at once
	q := gocqlSession(t, c, gocql.Quorum, "127.0.0.1")
	parallel(t, repairLateRows, func(i int) error {
		k := repairEarlyRows + i
		return q.Query("INSERT INTO ks.t (k, v) VALUES (?, ?)", k, "late"+strconv.Itoa(k)).Exec()
	})
	parallel(t, repairEarlyRows, func(k int) error {
		if !repairDeleted(k) {
			return nil
		}
		return q.Query("DELETE FROM ks.t WHERE k = ?", k).Exec()
	})
	phase("late rows written and early rows deleted at QUORUM, node 3 down")
	c.waitStatus("127.0.0.1", map[string]string{"127.0.0.3": "DN"}, 60*time.Second)
	phase("node 3 seen down")

	// With a replica down, repair refuses its ranges and says why.
	out, err := c.nodetool("127.0.0.1", "repair", "ks")
	if err == nil || !strings.Contains(out, "repair: replica 127.0.0.3 is down") {
		t.Fatalf("repair with node 3 down: %v\n%s", err, out)
	}
	phase("repair refused")

	c.start(c.nodes["127.0.0.3"])
	for _, a := range addrs {
		c.waitStatus(a, map[string]string{"127.0.0.1": "UN", "127.0.0.2": "UN", "127.0.0.3": "UN"}, 60*time.Second)
	}
	phase("node 3 back")
	want := map[int]string{}
	for k := 0; k < repairEarlyRows+repairLateRows; k++ {
		switch {
		case repairDeleted(k):
		case k < repairEarlyRows:
			want[k] = "early" + strconv.Itoa(k)
		default:
			want[k] = "late" + strconv.Itoa(k)
		}
	}
	// Before repair node 3 holds what it had when it stopped: the early
	// rows, the deleted ones included, and none of the late rows.
	before := readAlone(t, c, "127.0.0.3")
	stale := 0
	for k := range before {
		if k >= repairEarlyRows {
			t.Fatalf("node 3 alone returns late row %d before repair", k)
		}
		if repairDeleted(k) {
			stale++
		}
	}
	if len(before) != repairEarlyRows || stale != repairEarlyRows/10 {
		t.Fatalf("node 3 alone returns %d rows (%d deleted ones) before repair, want the %d early rows (%d deleted)",
			len(before), stale, repairEarlyRows, repairEarlyRows/10)
	}
	phase("node 3 alone checked")

	out, err = c.nodetool("127.0.0.1", "repair", "ks")
	if err != nil || !strings.Contains(out, "finished in") || strings.Contains(out, "failed: ") {
		t.Fatalf("nodetool repair ks: %v\n%s", err, out)
	}
	phase("repaired: " + lastLine(out))
	for _, a := range addrs {
		checkSameRows(t, a, readAlone(t, c, a), want)
	}
	phase("every node alone checked")
	// The replicas agree now: a second repair streams nothing.
	out, err = c.nodetool("127.0.0.2", "repair", "ks", "t", "--full")
	if err != nil || !strings.Contains(out, ", 0 with differences") {
		t.Fatalf("second repair: %v\n%s", err, out)
	}
}

// stopNode stops a node as `kill` does (SIGTERM): it leaves gossip with a
// shutdown announcement, so its peers mark it down without waiting for the
// failure detector, and it misses every write from then on.
func stopNode(t *testing.T, n *node) {
	t.Helper()
	if err := n.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("stop %s: %v", n.addr, err)
	}
	done := make(chan error, 1)
	go func() { done <- n.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		n.kill()
		t.Fatalf("%s did not stop within 30s of SIGTERM", n.addr)
	}
}

// readAlone returns every row of ks.t as node addr alone serves it: a
// session that only talks to addr, reading at ONE (the node's own copy:
// it is a replica of every range at RF=3 of 3).
func readAlone(t *testing.T, c *testCluster, addr string) map[int]string {
	t.Helper()
	s := gocqlSession(t, c, gocql.One, addr)
	got := map[int]string{}
	iter := s.Query("SELECT k, v FROM ks.t").PageSize(5000).Iter()
	var k int
	var v string
	for iter.Scan(&k, &v) {
		got[k] = v
	}
	if err := iter.Close(); err != nil {
		t.Fatalf("read all rows through %s: %v", addr, err)
	}
	return got
}

// checkSameRows fails unless got is exactly want.
func checkSameRows(t *testing.T, addr string, got, want map[int]string) {
	t.Helper()
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Fatalf("%s alone after repair: row %d = %q (present %v), want %q", addr, k, g, ok, v)
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			t.Fatalf("%s alone after repair returns row %d = %q, which was deleted", addr, k, v)
		}
	}
}

// lastLine returns the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
