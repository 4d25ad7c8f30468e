package cluster

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gocql/gocql"
)

// TestReplaceDeadNode: 3 nodes at RF=3 hold rows; node 3 is killed, more
// rows are written, and a new node 4 starts with --replace-address
// 127.0.0.3. It takes node 3's tokens, streams its ranges from the other
// replicas and joins; node 3 is gone from the ring, and node 4 alone
// (the others killed) serves every row at ONE. A replacement of a live
// node is refused.
func TestReplaceDeadNode(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process cluster test")
	}
	addrs := []string{"127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"}
	requirePortsFree(t, addrs...)
	c := newCluster(t)
	for _, a := range addrs[:3] {
		c.add(a, "--seeds", "127.0.0.1", "--stream-throughput-outbound", "0")
	}
	for _, a := range addrs[:3] {
		c.start(c.nodes[a])
	}
	c.waitStatus("127.0.0.1", map[string]string{"127.0.0.1": "UN", "127.0.0.2": "UN", "127.0.0.3": "UN"}, 60*time.Second)
	s := sessionOn(t, c, gocql.Quorum, "127.0.0.1", "127.0.0.2")
	for _, q := range []string{
		"CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}",
		"CREATE TABLE ks.t (k int PRIMARY KEY, v text)",
	} {
		if err := s.Query(q).Exec(); err != nil {
			t.Fatal(err)
		}
	}
	const rows = 4000
	insert := func(i int) error {
		return s.Query("INSERT INTO ks.t (k, v) VALUES (?, ?)", i, "v"+strconv.Itoa(i)).Exec()
	}
	parallel(t, rows/2, insert)

	// A live node cannot be replaced.
	c.add("127.0.0.5", "--seeds", "127.0.0.1", "--replace-address", "127.0.0.2")
	n5 := c.nodes["127.0.0.5"]
	if out, err := runToExit(t, n5.args, 90*time.Second); err == nil || !strings.Contains(out, "is alive") {
		t.Fatalf("replacing a live node: %v\n%s", err, out)
	}

	id3 := hostIDIn(t, c, "127.0.0.1", "127.0.0.3")
	c.nodes["127.0.0.3"].kill()
	c.waitStatus("127.0.0.1", map[string]string{"127.0.0.3": "DN"}, 60*time.Second)
	c.waitStatus("127.0.0.2", map[string]string{"127.0.0.3": "DN"}, 60*time.Second)
	parallel(t, rows/2, func(i int) error { return insert(rows/2 + i) })

	c.add("127.0.0.4", "--seeds", "127.0.0.1", "--stream-throughput-outbound", "0", "--replace-address", "127.0.0.3")
	c.start(c.nodes["127.0.0.4"])
	c.waitStatus("127.0.0.1", map[string]string{"127.0.0.1": "UN", "127.0.0.2": "UN", "127.0.0.4": "UN"}, 120*time.Second)
	for _, a := range []string{"127.0.0.1", "127.0.0.2", "127.0.0.4"} {
		waitFor(t, 30*time.Second, "127.0.0.3 gone from nodetool status on "+a, func() error {
			out, err := c.nodetool(a, "status")
			if err != nil || strings.Contains(out, "127.0.0.3") {
				return fmt.Errorf("%v:\n%s", err, out)
			}
			return nil
		})
	}
	log4, _ := os.ReadFile(filepath.Join(c.dir, "127.0.0.4.log"))
	if !strings.Contains(string(log4), "replace: complete") {
		t.Fatalf("node 4 did not report a completed replacement:\n%s", log4)
	}
	if strings.Contains(hostIDIn(t, c, "127.0.0.1", "127.0.0.4"), id3) {
		t.Error("the replacement reuses the dead node's host id")
	}

	all := make([]int, rows)
	for i := range all {
		all[i] = i
	}
	four := gocqlSession(t, c, gocql.One, "127.0.0.4")
	c.nodes["127.0.0.1"].kill()
	c.nodes["127.0.0.2"].kill()
	checkOne(t, four, all)
}

// runToExit runs ringdb with args until it exits (bounded) and returns its
// output.
func runToExit(t *testing.T, args []string, within time.Duration) (string, error) {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "run.log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := execRingdb(t, args...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(within):
		_ = cmd.Process.Kill()
		<-done
		err = fmt.Errorf("still running after %v", within)
	}
	b, _ := os.ReadFile(logPath)
	return string(b), err
}
