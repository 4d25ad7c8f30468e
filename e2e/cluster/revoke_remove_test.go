package cluster

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gocql/gocql"
)

// TestRevokedNodeRemoved: 4 nodes at RF=3; node 4's certificate is
// revoked while it keeps running (as a compromised node would). Every
// member drops it from the ring; nodetool removenode of its host id then
// re-replicates its ranges from the survivors although gossip forgot it:
// a survivor alone holds every row, every row reads at ALL, and the
// membership log of the removing node records the removal.
func TestRevokedNodeRemoved(t *testing.T) {
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
	const rows = 3000
	parallel(t, rows, func(i int) error {
		return s.Query("INSERT INTO ks.t (k, v) VALUES (?, ?)", i, "v"+strconv.Itoa(i)).Exec()
	})
	id4 := hostIDIn(t, c, "127.0.0.1", "127.0.0.4")

	c.run("cert", "revoke", "--dir", c.ca, "--address", "127.0.0.4")
	if out, err := c.nodetool("127.0.0.1", "revoke", filepath.Join(c.ca, "crl.pem")); err != nil {
		t.Fatalf("nodetool revoke: %v\n%s", err, out)
	}
	for _, a := range addrs[:3] {
		waitFor(t, 60*time.Second, "the revoked node out of the ring on "+a, func() error {
			out, err := c.nodetool(a, "status")
			if err != nil || strings.Contains(out, "127.0.0.4") {
				return fmt.Errorf("%v:\n%s", err, out)
			}
			return nil
		})
	}
	out, err := c.nodetool("127.0.0.1", "removenode", id4)
	t.Logf("nodetool removenode:\n%s", out)
	if err != nil || !strings.Contains(out, "removed 127.0.0.4") || !strings.Contains(out, "streaming") {
		t.Fatalf("removenode of the revoked node: %v\n%s", err, out)
	}
	log, err := c.nodetool("127.0.0.1", "membership-log")
	if err != nil || !strings.Contains(log, "remove") || !strings.Contains(log, id4) {
		t.Fatalf("membership log lacks the removal: %v\n%s", err, log)
	}

	all := make([]int, rows)
	for i := range all {
		all[i] = i
	}
	three := gocqlSession(t, c, gocql.One, "127.0.0.3")
	for _, a := range []string{"127.0.0.1", "127.0.0.2", "127.0.0.4"} {
		c.nodes[a].kill()
	}
	checkOne(t, three, all)
	for _, a := range addrs[:2] {
		c.start(c.nodes[a])
	}
	c.waitStatus("127.0.0.3", map[string]string{"127.0.0.1": "UN", "127.0.0.2": "UN", "127.0.0.3": "UN"}, 60*time.Second)
	checkAll(t, s, all)
}
