package cluster

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ringdb/ringdb/internal/protocol/frame"
)

// TestTwoDCsLocalQuorum: five nodes in two data centers (3 + 2) with
// NetworkTopologyStrategy; LOCAL_QUORUM keeps working in dc1 with dc2
// down, EACH_QUORUM does not.
func TestTwoDCsLocalQuorum(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process cluster test")
	}
	dcs := map[string]string{"127.0.0.1": "dc1", "127.0.0.2": "dc1", "127.0.0.3": "dc1", "127.0.0.4": "dc2", "127.0.0.5": "dc2"}
	addrs := []string{"127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"}
	requirePortsFree(t, addrs...)
	c := newCluster(t)
	for _, a := range addrs {
		rack := "r1"
		if a == "127.0.0.2" || a == "127.0.0.5" {
			rack = "r2"
		}
		c.add(a, "--seeds", "127.0.0.1,127.0.0.4", "--dc", dcs[a], "--rack", rack)
	}
	for _, a := range addrs {
		c.start(c.nodes[a])
	}
	want := map[string]string{}
	for _, a := range addrs {
		want[a] = "UN"
	}
	c.waitStatus("127.0.0.1", want, 90*time.Second)
	out, _ := c.nodetool("127.0.0.1", "status")
	if !strings.Contains(out, "Datacenter: dc1") || !strings.Contains(out, "Datacenter: dc2") {
		t.Fatalf("nodetool status lacks the DCs:\n%s", out)
	}
	n1 := c.cql("127.0.0.1")
	exec1(t, n1, frame.One, "CREATE KEYSPACE ks WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 3, 'dc2': 2}")
	exec1(t, n1, frame.One, "CREATE TABLE ks.t (k int PRIMARY KEY, v text)")
	waitFor(t, 30*time.Second, "schema agreement", func() error {
		out, _ := c.nodetool("127.0.0.1", "describecluster")
		if strings.Count(out, ": [") != 1 {
			return fmt.Errorf("%s", out)
		}
		return nil
	})
	for i := 0; i < 30; i++ {
		exec1(t, n1, frame.EachQuorum, fmt.Sprintf("INSERT INTO ks.t (k, v) VALUES (%d, 'v%d')", i, i))
	}
	// Effective ownership of the keyspace: 3 replicas in dc1 of 3 nodes.
	out, _ = c.nodetool("127.0.0.1", "status", "ks")
	if !strings.Contains(out, "Owns (effective)") || !strings.Contains(out, "100.0%") {
		t.Fatalf("effective ownership:\n%s", out)
	}
	// dc2 goes away entirely.
	c.nodes["127.0.0.4"].kill()
	c.nodes["127.0.0.5"].kill()
	c.waitStatus("127.0.0.1", map[string]string{"127.0.0.4": "DN", "127.0.0.5": "DN"}, 60*time.Second)
	for i := 30; i < 50; i++ {
		exec1(t, n1, frame.LocalQuorum, fmt.Sprintf("INSERT INTO ks.t (k, v) VALUES (%d, 'v%d')", i, i))
	}
	for i := 0; i < 50; i += 7 {
		r := exec1(t, n1, frame.LocalQuorum, fmt.Sprintf("SELECT v FROM ks.t WHERE k = %d", i))
		if len(r.Rows) != 1 {
			t.Fatalf("LOCAL_QUORUM read k=%d", i)
		}
	}
	_, err := n1.QueryCL("INSERT INTO ks.t (k, v) VALUES (99, 'x')", frame.EachQuorum, 0, nil)
	if codeOf(err) != 0x1000 {
		t.Fatalf("EACH_QUORUM with dc2 down: want Unavailable, got %v", err)
	}
	_, err = n1.QueryCL("SELECT * FROM ks.t WHERE k = 1", frame.All, 0, nil)
	if codeOf(err) != 0x1000 {
		t.Fatalf("ALL with dc2 down: want Unavailable, got %v", err)
	}
	// One more dc1 node down: LOCAL_QUORUM (2 of 3) still works, then not.
	c.nodes["127.0.0.3"].kill()
	c.waitStatus("127.0.0.1", map[string]string{"127.0.0.3": "DN"}, 60*time.Second)
	exec1(t, n1, frame.LocalQuorum, "INSERT INTO ks.t (k, v) VALUES (60, 'x')")
	c.nodes["127.0.0.2"].kill()
	c.waitStatus("127.0.0.1", map[string]string{"127.0.0.2": "DN"}, 60*time.Second)
	_, err = n1.QueryCL("INSERT INTO ks.t (k, v) VALUES (61, 'x')", frame.LocalQuorum, 0, nil)
	if codeOf(err) != 0x1000 {
		t.Fatalf("LOCAL_QUORUM with 1 of 3 dc1 replicas: want Unavailable, got %v", err)
	}
	exec1(t, n1, frame.LocalOne, "INSERT INTO ks.t (k, v) VALUES (62, 'x')")
}
