package cluster

import (
	"encoding/binary"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gocql/gocql"

	"github.com/ringdb/ringdb/internal/ring"
)

// sessionOn connects gocql (token-aware) to exactly hosts: a client of
// the nodes that stay.
func sessionOn(t *testing.T, c *testCluster, cl gocql.Consistency, hosts ...string) *gocql.Session {
	t.Helper()
	gc := gocql.NewCluster(hosts...)
	gc.ProtoVersion = 4
	gc.Timeout = 20 * time.Second
	gc.Consistency = cl
	gc.Authenticator = gocql.PasswordAuthenticator{Username: "cassandra", Password: c.password()}
	gc.PoolConfig.HostSelectionPolicy = gocql.TokenAwareHostPolicy(gocql.RoundRobinHostPolicy())
	gc.HostFilter = gocql.WhiteListHostFilter(hosts...)
	var s *gocql.Session
	waitFor(t, 30*time.Second, "gocql session", func() error {
		var err error
		s, err = gc.CreateSession()
		return err
	})
	t.Cleanup(s.Close)
	return s
}

// writer inserts rows from first on at consistency cl until stop is
// closed (or limit rows), recording the rows the cluster acknowledged.
type writer struct {
	acked  sync.Map // int → true
	count  atomic.Int64
	failed atomic.Int64
	done   chan struct{}
}

func startWriter(s *gocql.Session, first, limit int, stop <-chan struct{}) *writer {
	w := &writer{done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for i := first; i < first+limit; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := s.Query("INSERT INTO ks.t (k, v) VALUES (?, ?)", i, "v"+strconv.Itoa(i)).Exec(); err != nil {
				w.failed.Add(1)
				continue
			}
			w.acked.Store(i, true)
			w.count.Add(1)
		}
	}()
	return w
}

// checkAll reads every row of rows at ALL and fails on a missing one.
func checkAll(t *testing.T, s *gocql.Session, rows []int) { checkRowsAt(t, s, gocql.All, rows) }

// checkOne reads every row of rows at ONE.
func checkOne(t *testing.T, s *gocql.Session, rows []int) { checkRowsAt(t, s, gocql.One, rows) }

func checkRowsAt(t *testing.T, s *gocql.Session, cl gocql.Consistency, rows []int) {
	t.Helper()
	parallel(t, len(rows), func(j int) error {
		i := rows[j]
		var v string
		if err := s.Query("SELECT v FROM ks.t WHERE k = ?", i).Consistency(cl).Scan(&v); err != nil {
			return fmt.Errorf("acknowledged row %d at %v: %w", i, cl, err)
		}
		if v != "v"+strconv.Itoa(i) {
			return fmt.Errorf("row %d: v = %q", i, v)
		}
		return nil
	})
}

// TestBootstrapAndDecommissionUnderQuorumWrites: 3 nodes at RF=3; while
// a client keeps writing at QUORUM, node 4 bootstraps: it then holds, alone
// (the others killed), every acknowledged row it replicates. Then, writes
// still going, node 4 is decommissioned: nodetool shows it UL, it streams
// its ranges, leaves the ring and stops. Every acknowledged row (before,
// during the bootstrap and during the decommission) is then read from a
// remaining node alone at ONE and at ALL, and the departed node refuses to
// start again on its data.
func TestBootstrapAndDecommissionUnderQuorumWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process cluster test")
	}
	addrs := []string{"127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"}
	requirePortsFree(t, addrs...)
	c := newCluster(t)
	for _, a := range addrs {
		c.add(a, "--seeds", "127.0.0.1", "--stream-throughput-outbound", "0")
	}
	for _, a := range addrs[:3] {
		c.start(c.nodes[a])
	}
	c.waitStatus("127.0.0.1", map[string]string{"127.0.0.1": "UN", "127.0.0.2": "UN", "127.0.0.3": "UN"}, 60*time.Second)
	s := sessionOn(t, c, gocql.Quorum, "127.0.0.1", "127.0.0.2", "127.0.0.3")
	for _, q := range []string{
		"CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}",
		"CREATE TABLE ks.t (k int PRIMARY KEY, v text)",
	} {
		if err := s.Query(q).Exec(); err != nil {
			t.Fatal(err)
		}
	}
	const before = 5000
	parallel(t, before, func(i int) error {
		return s.Query("INSERT INTO ks.t (k, v) VALUES (?, ?)", i, "v"+strconv.Itoa(i)).Exec()
	})

	// Bootstrap under writes.
	boot := make(chan struct{})
	wb := startWriter(s, 2_000_000, 1_000_000, boot)
	c.start(c.nodes["127.0.0.4"])
	c.waitStatus("127.0.0.1", map[string]string{"127.0.0.4": "UN"}, 120*time.Second)
	close(boot)
	<-wb.done
	t.Logf("%d rows acknowledged during the bootstrap (%d failed)", wb.count.Load(), wb.failed.Load())
	acked := func(w *writer) []int {
		var out []int
		w.acked.Range(func(k, _ any) bool { out = append(out, k.(int)); return true })
		return out
	}
	rows := make([]int, 0, before)
	for i := 0; i < before; i++ {
		rows = append(rows, i)
	}
	rows = append(rows, acked(wb)...)
	tokens, owners := ringOf(t, c, addrs)
	var mine []int
	for _, i := range rows {
		if slices.Contains(replicasOf(tokens, owners, intToken(i), 3), "127.0.0.4") {
			mine = append(mine, i)
		}
	}
	t.Logf("node 4 replicates %d of %d rows", len(mine), len(rows))
	four := gocqlSession(t, c, gocql.One, "127.0.0.4")
	for _, a := range addrs[:3] {
		c.nodes[a].kill()
	}
	checkOne(t, four, mine)
	four.Close()
	for _, a := range addrs[:3] {
		c.start(c.nodes[a])
	}
	c.waitStatus("127.0.0.4", map[string]string{"127.0.0.1": "UN", "127.0.0.2": "UN", "127.0.0.3": "UN", "127.0.0.4": "UN"}, 60*time.Second)
	c.waitStatus("127.0.0.1", map[string]string{"127.0.0.1": "UN", "127.0.0.2": "UN", "127.0.0.3": "UN", "127.0.0.4": "UN"}, 60*time.Second)

	// Decommission under writes.
	stop := make(chan struct{})
	w := startWriter(s, before, 1_000_000, stop)
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		<-w.done
	}()
	// Watch node 1's view while node 4 leaves.
	sawLeaving := make(chan bool, 1)
	watchDone := make(chan struct{})
	go func() {
		seen := false
		defer func() { sawLeaving <- seen }()
		for {
			select {
			case <-watchDone:
				return
			default:
			}
			out, _ := c.nodetool("127.0.0.1", "status")
			for _, line := range strings.Split(out, "\n") {
				if f := strings.Fields(line); len(f) >= 2 && f[0] == "UL" && f[1] == "127.0.0.4" {
					seen = true
				}
			}
			time.Sleep(200 * time.Millisecond)
		}
	}()
	exited := make(chan error, 1)
	go func() { exited <- c.nodes["127.0.0.4"].cmd.Wait() }()
	out, err := c.nodetool("127.0.0.4", "decommission")
	close(watchDone)
	if err != nil {
		t.Fatalf("nodetool decommission: %v\n%s", err, out)
	}
	t.Logf("nodetool decommission:\n%s", out)
	for _, want := range []string{"LEAVING", "streaming", "DECOMMISSIONED"} {
		if !strings.Contains(out, want) {
			t.Fatalf("decommission output lacks %q:\n%s", want, out)
		}
	}
	if !<-sawLeaving {
		t.Error("nodetool status on 127.0.0.1 never showed 127.0.0.4 as UL")
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("decommissioned node exited with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the decommissioned node did not stop within 30 s")
	}
	// Keep writing a little after the departure, then stop.
	target := w.count.Load() + 200
	waitFor(t, 60*time.Second, "writes after the departure", func() error {
		if n := w.count.Load(); n < target {
			return fmt.Errorf("%d acknowledged", n)
		}
		return nil
	})
	close(stop)
	<-w.done
	t.Logf("%d rows acknowledged during and after the decommission (%d failed)", w.count.Load(), w.failed.Load())
	if w.count.Load() < 200 {
		t.Fatal("the writer made no progress")
	}

	c.waitStatus("127.0.0.1", map[string]string{"127.0.0.1": "UN", "127.0.0.2": "UN", "127.0.0.3": "UN"}, 30*time.Second)
	waitFor(t, 30*time.Second, "127.0.0.4 gone from nodetool status", func() error {
		out, err := c.nodetool("127.0.0.2", "status")
		if err != nil || strings.Contains(out, "127.0.0.4") {
			return fmt.Errorf("%v:\n%s", err, out)
		}
		return nil
	})
	rows = append(rows, acked(w)...)
	// Node 3 alone holds every row (RF=3 on three nodes): what it did not
	// replicate before came by streaming or as a pending replica's write.
	// Checked before any read at ALL could repair it.
	three := gocqlSession(t, c, gocql.One, "127.0.0.3")
	c.nodes["127.0.0.1"].kill()
	c.nodes["127.0.0.2"].kill()
	checkOne(t, three, rows)
	c.start(c.nodes["127.0.0.1"])
	c.start(c.nodes["127.0.0.2"])
	c.waitStatus("127.0.0.3", map[string]string{"127.0.0.1": "UN", "127.0.0.2": "UN", "127.0.0.3": "UN"}, 60*time.Second)
	checkAll(t, s, rows)

	// The departed node does not come back on its data.
	n4 := c.nodes["127.0.0.4"]
	cmd := exec.Command(ringdbBinary(t), n4.args...)
	b, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(b), "decommissioned") {
		t.Fatalf("restart of the decommissioned node: %v\n%s", err, b)
	}
}

// ringOf returns the ring's tokens and their owners, from each node's
// system.local.
func ringOf(t *testing.T, c *testCluster, addrs []string) ([]int64, map[int64]string) {
	t.Helper()
	var tokens []int64
	owners := map[int64]string{}
	for _, a := range addrs {
		one := gocqlSession(t, c, gocql.One, a)
		var toks []string
		if err := one.Query("SELECT tokens FROM system.local").Scan(&toks); err != nil {
			t.Fatal(err)
		}
		one.Close()
		for _, s := range toks {
			v, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			tokens = append(tokens, v)
			owners[v] = a
		}
	}
	slices.Sort(tokens)
	return tokens, owners
}

// replicasOf returns SimpleStrategy's rf replicas of token tok: the owners
// of the ring tokens from the first one >= tok on, wrapping, distinct.
func replicasOf(tokens []int64, owners map[int64]string, tok int64, rf int) []string {
	i, _ := slices.BinarySearch(tokens, tok)
	var out []string
	for j := 0; j < len(tokens) && len(out) < rf; j++ {
		o := owners[tokens[(i+j)%len(tokens)]]
		if !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	return out
}

// intToken is the Murmur3 token of an int partition key.
func intToken(i int) int64 {
	return ring.Murmur3Token(binary.BigEndian.AppendUint32(nil, uint32(int32(i))))
}
