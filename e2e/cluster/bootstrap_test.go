package cluster

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gocql/gocql"

	"github.com/ringdb/ringdb/internal/ring"
)

// bootstrapRows is the number of rows the bootstrap test writes.
const bootstrapRows = 50_000

// gocqlSession connects gocql (token-aware) to hosts.
func gocqlSession(t *testing.T, c *testCluster, cl gocql.Consistency, hosts ...string) *gocql.Session {
	t.Helper()
	gc := gocql.NewCluster(hosts...)
	gc.ProtoVersion = 4
	gc.Timeout = 20 * time.Second
	gc.Consistency = cl
	gc.Authenticator = gocql.PasswordAuthenticator{Username: "cassandra", Password: c.password()}
	gc.PoolConfig.HostSelectionPolicy = gocql.TokenAwareHostPolicy(gocql.RoundRobinHostPolicy())
	if len(hosts) == 1 {
		gc.HostFilter = gocql.WhiteListHostFilter(hosts...)
		gc.DisableInitialHostLookup = true
	}
	var s *gocql.Session
	waitFor(t, 30*time.Second, "gocql session", func() error {
		var err error
		s, err = gc.CreateSession()
		return err
	})
	t.Cleanup(s.Close)
	return s
}

// parallel runs fn(i) for i in [0, n) on 16 workers and fails on the first
// error.
func parallel(t *testing.T, n int, fn func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	next := make(chan int)
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(i); err != nil {
					mu.Lock()
					if first == nil {
						first = fmt.Errorf("row %d: %w", i, err)
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	if first != nil {
		t.Fatal(first)
	}
}

// ownerOf returns the RF=1 SimpleStrategy owner of token tok: the owner of
// the first ring token >= tok, wrapping.
func ownerOf(tokens []int64, owners map[int64]string, tok int64) string {
	i, _ := slices.BinarySearch(tokens, tok)
	if i == len(tokens) {
		i = 0
	}
	return owners[tokens[i]]
}

// TestBootstrapStreamsData: 3 nodes at RF=1 hold 50,000 rows (and
// deletions); a 4th node bootstraps, streaming the ranges it takes over.
// Every row is readable at ONE afterwards (and after nodetool cleanup on
// the old nodes), deleted rows stay deleted, the new node owns about a
// quarter of the ring and holds its rows itself (read through it alone with
// the other three killed).
func TestBootstrapStreamsData(t *testing.T) {
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
	s := gocqlSession(t, c, gocql.One, "127.0.0.1")
	for _, q := range []string{
		"CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
		"CREATE TABLE ks.t (k int PRIMARY KEY, v text)",
	} {
		if err := s.Query(q).Exec(); err != nil {
			t.Fatal(err)
		}
	}
	parallel(t, bootstrapRows, func(i int) error {
		return s.Query("INSERT INTO ks.t (k, v) VALUES (?, ?)", i, "v"+strconv.Itoa(i)).Exec()
	})
	deleted := func(i int) bool { return i%100 == 7 }
	parallel(t, bootstrapRows, func(i int) error {
		if !deleted(i) {
			return nil
		}
		return s.Query("DELETE FROM ks.t WHERE k = ?", i).Exec()
	})

	c.start(c.nodes["127.0.0.4"])
	c.waitStatus("127.0.0.1", map[string]string{"127.0.0.1": "UN", "127.0.0.2": "UN", "127.0.0.3": "UN", "127.0.0.4": "UN"}, 120*time.Second)
	log4, _ := os.ReadFile(filepath.Join(c.dir, "127.0.0.4.log"))
	if !strings.Contains(string(log4), "bootstrap: complete") {
		t.Fatalf("node 4 did not report a completed bootstrap:\n%s", log4)
	}

	// Every row at ONE through a token-aware client of all four nodes.
	all := gocqlSession(t, c, gocql.One, "127.0.0.1")
	waitFor(t, 30*time.Second, "gocql to see node 4", func() error {
		var peer string
		iter := all.Query("SELECT peer FROM system.peers").Iter()
		n := 0
		for iter.Scan(&peer) {
			n++
		}
		if err := iter.Close(); err != nil || n != 3 {
			return fmt.Errorf("%d peers (%v)", n, err)
		}
		return nil
	})
	checkRows := func(s *gocql.Session, want func(i int) bool) {
		t.Helper()
		parallel(t, bootstrapRows, func(i int) error {
			if !want(i) {
				return nil
			}
			var v string
			err := s.Query("SELECT v FROM ks.t WHERE k = ?", i).Scan(&v)
			switch {
			case deleted(i) && err == gocql.ErrNotFound:
				return nil
			case deleted(i):
				return fmt.Errorf("deleted row came back: %q %v", v, err)
			case err != nil:
				return err
			case v != "v"+strconv.Itoa(i):
				return fmt.Errorf("v = %q", v)
			}
			return nil
		})
	}
	checkRows(all, func(int) bool { return true })
	// The old nodes drop what node 4 took over; nothing they own goes.
	for _, a := range addrs[:3] {
		if out, err := c.nodetool(a, "cleanup"); err != nil || !strings.Contains(out, "cleaned up ks.t") {
			t.Fatalf("nodetool cleanup on %s: %v\n%s", a, err, out)
		}
	}
	checkRows(all, func(int) bool { return true })

	// Ownership from each node's own tokens (system.local).
	var tokens []int64
	owners := map[int64]string{}
	for _, a := range addrs {
		one := gocqlSession(t, c, gocql.One, a)
		var toks []string
		if err := one.Query("SELECT tokens FROM system.local").Scan(&toks); err != nil {
			t.Fatal(err)
		}
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
	mine := map[int]bool{}
	for i := 0; i < bootstrapRows; i++ {
		if ownerOf(tokens, owners, ring.Murmur3Token(binary.BigEndian.AppendUint32(nil, uint32(int32(i))))) == "127.0.0.4" {
			mine[i] = true
		}
	}
	share := float64(len(mine)) / bootstrapRows
	t.Logf("node 4 owns %d of %d rows (%.1f%%)", len(mine), bootstrapRows, 100*share)
	if share < 0.10 || share > 0.40 {
		t.Fatalf("node 4 owns %.1f%% of the rows, not about a quarter", 100*share)
	}

	// Node 4 alone serves its rows: the only copy is its own.
	four := gocqlSession(t, c, gocql.One, "127.0.0.4")
	for _, a := range addrs[:3] {
		c.nodes[a].kill()
	}
	checkRows(four, func(i int) bool { return mine[i] })
}
