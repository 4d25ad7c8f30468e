package storage

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	tbl  = TableID{1}
	tbl2 = TableID{2}
	pk   = []byte("pk")
)

// t0 is the test clock's start; deletions made "now" use t0Sec.
var t0 = time.Unix(1_700_000_000, 0)

const t0Sec = 1_700_000_000

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *testClock { return &testClock{t: t0} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func openTest(t testing.TB, dir string, c *testClock, grace time.Duration) *Engine {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	opts := Options{CacheSize: 8 << 20}
	if c != nil {
		opts.Now = c.Now
	}
	if grace != 0 {
		opts.GCGrace = func(TableID) time.Duration { return grace }
	}
	e, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// ck builds an order-encoded clustering from string components, each
// terminated by 0x00 (prefix-free as long as components contain no 0x00).
func ck(parts ...string) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
		b = append(b, 0)
	}
	return b
}

func renderCK(b []byte) string {
	return strings.Join(strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00"), ":")
}

func renderRow(r *Row) string {
	var sb strings.Builder
	if r.Static {
		sb.WriteString("S")
	} else {
		sb.WriteString(renderCK(r.Clustering))
	}
	if !r.Liveness.IsEmpty() {
		sb.WriteString(" *")
	}
	for _, c := range r.Cells {
		if c.Path != nil {
			fmt.Fprintf(&sb, " %d[%s]=%s", c.Column, c.Path, c.Value)
		} else {
			fmt.Fprintf(&sb, " %d=%s", c.Column, c.Value)
		}
	}
	return sb.String()
}

func readRows(t testing.TB, e *Engine, table TableID, key []byte, q PartitionQuery) []string {
	t.Helper()
	var out []string
	err := e.ReadPartition(table, 1, key, q, func(r *Row) bool {
		out = append(out, renderRow(r))
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func apply(t testing.TB, e *Engine, muts ...*Mutation) {
	t.Helper()
	if err := e.Apply(muts); err != nil {
		t.Fatal(err)
	}
}

// Builders. All mutations target partition pk (token 1) of tbl unless
// changed by the caller.

func cell(col uint32, v string, ts int64) Cell {
	return Cell{Column: col, Timestamp: ts, Value: []byte(v)}
}

func pcell(col uint32, path, v string, ts int64) Cell {
	return Cell{Column: col, Path: []byte(path), Timestamp: ts, Value: []byte(v)}
}

func ttlCell(col uint32, v string, ts int64, ttl int32, expiresAt int64) Cell {
	return Cell{Column: col, Timestamp: ts, Value: []byte(v), TTL: ttl, ExpiresAt: expiresAt}
}

func tomb(col uint32, ts int64) Cell {
	return Cell{Column: col, Timestamp: ts, Tombstone: true, LocalDeletionTime: t0Sec}
}

func del(ts int64) DeletionTime { return DeletionTime{MarkedForDeleteAt: ts, LocalDeletionTime: t0Sec} }

func upd(c []byte, cells ...Cell) RowUpdate { return RowUpdate{Clustering: c, Cells: cells} }

func ins(c []byte, ts int64, cells ...Cell) RowUpdate {
	return RowUpdate{Clustering: c, Liveness: LivenessInfo{Timestamp: ts}, Cells: cells}
}

func static(cells ...Cell) RowUpdate { return RowUpdate{Static: true, Cells: cells} }

func rowDel(c []byte, ts int64) RowUpdate { return RowUpdate{Clustering: c, Deletion: del(ts)} }

func mut(rows ...RowUpdate) *Mutation {
	return &Mutation{Table: tbl, Token: 1, Key: pk, Rows: rows}
}

func partDel(ts int64) *Mutation {
	return &Mutation{Table: tbl, Token: 1, Key: pk, PartitionDeletion: del(ts)}
}

func incl(p []byte) Bound { return Bound{Prefix: p, Inclusive: true} }
func excl(p []byte) Bound { return Bound{Prefix: p} }

var unb = Bound{}

func rangeDel(start, end Bound, ts int64) *Mutation {
	return &Mutation{Table: tbl, Token: 1, Key: pk, RangeTombstones: []RangeTombstone{{Start: start, End: end, Deletion: del(ts)}}}
}
