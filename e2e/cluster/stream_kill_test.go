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

// TestBootstrapSourceKilledMidStream: a 4th node bootstraps from three
// RF=1 nodes that stream at 1 MiB/s; one source is killed while its data
// flows. The bootstrap fails with an error naming the source, the node
// never became NORMAL, and once the source is back a restart of the
// joining node bootstraps again to completion: every row is readable.
func TestBootstrapSourceKilledMidStream(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process cluster test")
	}
	addrs := []string{"127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"}
	requirePortsFree(t, addrs...)
	c := newCluster(t)
	for _, a := range addrs[:3] {
		c.add(a, "--seeds", "127.0.0.1", "--stream-throughput-outbound", "1")
	}
	c.add("127.0.0.4", "--seeds", "127.0.0.1")
	for _, a := range addrs[:3] {
		c.start(c.nodes[a])
	}
	c.waitStatus("127.0.0.1", map[string]string{"127.0.0.1": "UN", "127.0.0.2": "UN", "127.0.0.3": "UN"}, 60*time.Second)
	s := gocqlSession(t, c, gocql.One, "127.0.0.1")
	for _, q := range []string{
		"CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
		"CREATE TABLE ks.t (k int PRIMARY KEY, v text)",
	} {
		if err := s.Query(q).Exec(); err != nil {
			t.Fatal(err)
		}
	}
	const rows = 16_000
	pad := strings.Repeat("x", 1000)
	value := func(i int) string { return strconv.Itoa(i) + pad }
	parallel(t, rows, func(i int) error {
		return s.Query("INSERT INTO ks.t (k, v) VALUES (?, ?)", i, value(i)).Exec()
	})

	n4 := c.nodes["127.0.0.4"]
	logf, err := os.OpenFile(n4.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	n4.cmd = execRingdb(t, n4.args...)
	n4.cmd.Stdout, n4.cmd.Stderr = logf, logf
	if err := n4.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logf.Close()
	exited := make(chan error, 1)
	go func() { exited <- n4.cmd.Wait() }()
	// Kill node 2 once it streams to node 4.
	waitFor(t, 90*time.Second, "node 2 streaming to node 4", func() error {
		out, err := c.nodetool("127.0.0.2", "netstats")
		if err != nil || !strings.Contains(out, "127.0.0.4") {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	})
	c.nodes["127.0.0.2"].kill()
	select {
	case err := <-exited:
		if err == nil {
			t.Fatal("the bootstrap survived the loss of a source")
		}
	case <-time.After(120 * time.Second):
		t.Fatal("the joining node neither failed nor finished")
	}
	log4, _ := os.ReadFile(filepath.Join(c.dir, "127.0.0.4.log"))
	if !strings.Contains(string(log4), "bootstrap failed") || !strings.Contains(string(log4), "127.0.0.2") || strings.Contains(string(log4), "bootstrap: complete") {
		t.Fatalf("node 4's log does not tell the failed bootstrap and its source:\n%s", log4)
	}
	if out, _ := c.nodetool("127.0.0.1", "status"); strings.Contains(out, "UN  127.0.0.4") {
		t.Fatalf("a node with a failed bootstrap shows NORMAL:\n%s", out)
	}

	c.start(c.nodes["127.0.0.2"])
	c.start(n4)
	c.waitStatus("127.0.0.1", map[string]string{"127.0.0.1": "UN", "127.0.0.2": "UN", "127.0.0.3": "UN", "127.0.0.4": "UN"}, 180*time.Second)
	log4, _ = os.ReadFile(filepath.Join(c.dir, "127.0.0.4.log"))
	if !strings.Contains(string(log4), "bootstrap: complete") {
		t.Fatalf("the second bootstrap did not complete:\n%s", log4)
	}
	all := gocqlSession(t, c, gocql.One, "127.0.0.1")
	parallel(t, rows, func(i int) error {
		var v string
		if err := all.Query("SELECT v FROM ks.t WHERE k = ?", i).Scan(&v); err != nil {
			return err
		}
		if v != value(i) {
			return fmt.Errorf("v = %.20q", v)
		}
		return nil
	})
}
