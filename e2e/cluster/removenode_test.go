package cluster

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gocql/gocql"
)

// hostIDIn returns the host id nodetool status on addr shows for ep.
func hostIDIn(t *testing.T, c *testCluster, addr, ep string) string {
	t.Helper()
	out, err := c.nodetool(addr, "status")
	if err != nil {
		t.Fatalf("nodetool status: %v\n%s", err, out)
	}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) >= 8 && f[1] == ep {
			return f[len(f)-2]
		}
	}
	t.Fatalf("%s not in nodetool status:\n%s", ep, out)
	return ""
}

// TestRemoveNodeAfterKill: 4 nodes at RF=3 hold rows (some written while
// node 4 was already dead); node 4 is killed with SIGKILL and removed with
// nodetool removenode. Its ranges are re-replicated from the survivors:
// a node left holds every row alone (read at ONE with the other two
// killed, before any read at ALL could repair), and every row reads at
// ALL. A removal of a live node is refused.
func TestRemoveNodeAfterKill(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process cluster test")
	}
	addrs := []string{"127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"}
	requirePortsFree(t, addrs...)
	c := newCluster(t)
	for _, a := range addrs {
		c.add(a, "--seeds", "127.0.0.1", "--stream-throughput-outbound", "0")
	}
	for _, a := range addrs {
		c.start(c.nodes[a])
	}
	c.waitStatus("127.0.0.1", map[string]string{"127.0.0.1": "UN", "127.0.0.2": "UN", "127.0.0.3": "UN", "127.0.0.4": "UN"}, 60*time.Second)
	s := sessionOn(t, c, gocql.Quorum, "127.0.0.1", "127.0.0.2", "127.0.0.3")
	for _, q := range []string{
		"CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}",
		"CREATE TABLE ks.t (k int PRIMARY KEY, v text)",
	} {
		if err := s.Query(q).Exec(); err != nil {
			t.Fatal(err)
		}
	}
	const rows = 6000
	insert := func(i int) error {
		return s.Query("INSERT INTO ks.t (k, v) VALUES (?, ?)", i, "v"+strconv.Itoa(i)).Exec()
	}
	parallel(t, 5000, insert)

	id4 := hostIDIn(t, c, "127.0.0.1", "127.0.0.4")
	if out, err := c.nodetool("127.0.0.1", "removenode", id4); err == nil || !strings.Contains(out, "is alive") {
		t.Fatalf("removenode of a live node: %v\n%s", err, out)
	}
	c.nodes["127.0.0.4"].kill()
	c.waitStatus("127.0.0.1", map[string]string{"127.0.0.4": "DN"}, 60*time.Second)
	parallel(t, rows-5000, func(i int) error { return insert(5000 + i) })

	out, err := c.nodetool("127.0.0.1", "removenode", id4)
	t.Logf("nodetool removenode:\n%s", out)
	if err != nil || !strings.Contains(out, "removed 127.0.0.4") {
		t.Fatalf("removenode: %v\n%s", err, out)
	}
	if out, err := c.nodetool("127.0.0.1", "removenode", "status"); err != nil || !strings.Contains(out, "No removals in process") {
		t.Fatalf("removenode status: %v\n%s", err, out)
	}
	for _, a := range addrs[:3] {
		waitFor(t, 30*time.Second, "127.0.0.4 gone from nodetool status on "+a, func() error {
			out, err := c.nodetool(a, "status")
			if err != nil || strings.Contains(out, "127.0.0.4") {
				return fmt.Errorf("%v:\n%s", err, out)
			}
			return nil
		})
	}
	all := make([]int, rows)
	for i := range all {
		all[i] = i
	}
	// A survivor alone holds every row (each gained ranges of node 4;
	// one is checked to keep the test short).
	for _, a := range addrs[2:3] {
		alone := gocqlSession(t, c, gocql.One, a)
		var others []string
		for _, b := range addrs[:3] {
			if b != a {
				others = append(others, b)
				c.nodes[b].kill()
			}
		}
		checkOne(t, alone, all)
		alone.Close()
		for _, b := range others {
			c.start(c.nodes[b])
		}
		c.waitStatus(a, map[string]string{"127.0.0.1": "UN", "127.0.0.2": "UN", "127.0.0.3": "UN"}, 60*time.Second)
	}
	checkAll(t, s, all)
}
