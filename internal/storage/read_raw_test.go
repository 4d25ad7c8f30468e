package storage

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestReadPartitionRawQueryReplicas checks, for random data with
// tombstones around gc_grace, that two replicas with the same writes but
// different histories (separate batches and flushes, versus one batch, a
// gc pass and a major compaction) return equal raw query results, that
// the result reads like the replica (through ReadMutation and once applied
// to an empty engine), and that Limit is honoured as ReadPartition does.
func TestReadPartitionRawQueryReplicas(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	const grace = 5 * time.Second
	iters := 120
	if testing.Short() {
		iters = 25
	}
	for iter := 0; iter < iters; iter++ {
		set := randMutations(rng, genOpts{uniqueExpiringTS: true, oldDeletions: true})
		// Written while nothing is purgeable yet (a tombstone purged before
		// the data it shadows arrives lets that data live, so replicas
		// would really differ), read when much is.
		clock := newClock()
		clock.Set(t0.Add(-time.Minute))
		a := openTest(t, "", clock, grace)
		b := openTest(t, "", clock, grace)
		c := openTest(t, "", clock, grace)
		// Flushes at random: background compactions may merge part of a
		// key's history. They never purge (only the gc pass does, on the
		// full view), so a tombstone can never be purged before older data
		// written after it reaches it. (An earlier version purged in
		// compactions; this test, uncapped, once caught a resurrection.)
		for _, m := range set {
			apply(t, a, m)
			if rng.IntN(3) == 0 {
				if err := a.Flush(); err != nil {
					t.Fatal(err)
				}
			}
		}
		for a.db.Metrics().Compact.NumInProgress > 0 {
			time.Sleep(time.Millisecond)
		}
		apply(t, b, concat(shuffled(rng, set)))
		now := t0.Add(time.Duration(rng.IntN(8)) * time.Second)
		clock.Set(now)
		if err := b.Compact(); err != nil {
			t.Fatal(err)
		}
		for qi := range 6 {
			q := randQuery(rng)
			ra, err := a.ReadPartitionRawQuery(tbl, 1, pk, q)
			if err != nil {
				t.Fatal(err)
			}
			rb, err := b.ReadPartitionRawQuery(tbl, 1, pk, q)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(Digest(ra), Digest(rb)) || fmt.Sprint(ra) != fmt.Sprint(rb) {
				t.Fatalf("replicas differ for q=%+v at +%v:\n%+v\n%+v\nset %s", q, now.Sub(t0), ra, rb, dumpSet(set))
			}
			want := engineRows(t, a, q)
			if got := engineRows(t, b, q); !slices.Equal(got, want) {
				t.Fatalf("engines read differently (gc pass?):\n%q\n%q", got, want)
			}
			if got := memRows(t, ra, q, now); !slices.Equal(got, want) {
				t.Fatalf("ReadMutation(raw) q=%+v at +%v:\ngot  %q\nwant %q\nraw %+v\nset %+v", q, now.Sub(t0), got, want, ra, set)
			}
			// Applied to another replica (under a key of its own), the raw
			// result reads the same.
			key := []byte(fmt.Sprint("k", qi))
			if ra != nil {
				cp := *ra
				cp.Key = key
				apply(t, c, &cp)
			}
			var got []string
			if err := c.ReadPartition(tbl, 1, key, q, func(r *Row) bool { got = append(got, fullRow(r)); return true }); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("raw applied elsewhere q=%+v:\ngot  %q\nwant %q\nraw %+v", q, got, want, ra)
			}
		}
		a.Close()
		b.Close()
		c.Close()
	}
}

func TestReadPartitionRawQueryLimit(t *testing.T) {
	e := openTest(t, "", newClock(), 0)
	apply(t, e, mut(ins(a1, 10), rowDel(a2, 10), ins(b1, 10), ins(c1, 10), static(cell(9, "s", 10))),
		rangeDel(incl(ck("d")), incl(ck("d")), 12))
	rows := func(m *Mutation) []string {
		var out []string
		if m == nil {
			return nil
		}
		for _, r := range m.Rows {
			s := renderCK(r.Clustering)
			if r.Static {
				s = "S"
			}
			if !r.Deletion.IsLive() {
				s += " del"
			}
			out = append(out, s)
		}
		return out
	}
	cases := []struct {
		q    PartitionQuery
		want []string
		rts  int
	}{
		{PartitionQuery{Limit: 2}, []string{"a:1", "a:2 del", "b:1"}, 1},
		{PartitionQuery{Limit: 2, Static: true}, []string{"S", "a:1", "a:2 del", "b:1"}, 1},
		{PartitionQuery{Limit: 1, Reversed: true}, []string{"c:1"}, 1},
		{PartitionQuery{Limit: 2, Reversed: true}, []string{"b:1", "c:1"}, 1},
		{PartitionQuery{Limit: 3, Reversed: true}, []string{"a:1", "a:2 del", "b:1", "c:1"}, 1},
		{PartitionQuery{Slices: []Slice{{Start: incl(ck("a")), End: incl(ck("b"))}}}, []string{"a:1", "a:2 del", "b:1"}, 0},
		{PartitionQuery{Slices: []Slice{{Start: incl(ck("c")), End: unb}}, Static: true}, []string{"S", "c:1"}, 1},
	}
	for _, tc := range cases {
		m, err := e.ReadPartitionRawQuery(tbl, 1, pk, tc.q)
		if err != nil {
			t.Fatal(err)
		}
		if got := rows(m); !slices.Equal(got, tc.want) || len(m.RangeTombstones) != tc.rts {
			t.Errorf("q %+v: rows %q (%d range tombstones), want %q (%d)", tc.q, got, len(m.RangeTombstones), tc.want, tc.rts)
		}
		if m.Table != tbl || m.Token != 1 || !bytes.Equal(m.Key, pk) {
			t.Errorf("identity %v %d %q", m.Table, m.Token, m.Key)
		}
	}
	// Absent partition and a partition without content in the query
	// answer nil, and both digest like an empty replica.
	m, err := e.ReadPartitionRawQuery(tbl, 1, []byte("absent"), PartitionQuery{})
	if err != nil || m != nil {
		t.Fatalf("absent partition: %+v %v", m, err)
	}
	m, err = e.ReadPartitionRawQuery(tbl, 1, pk, PartitionQuery{Slices: []Slice{{Start: incl(ck("x")), End: unb}}})
	if err != nil || m != nil {
		t.Fatalf("partition without content in the slice: %+v %v", m, err)
	}
}

// TestScanRaw checks ScanRaw against ReadPartitionRawQuery per partition.
func TestScanRaw(t *testing.T) {
	clock := newClock()
	e := openTest(t, "", clock, 5*time.Second)
	keys := []struct {
		token int64
		key   string
	}{{-9, "m"}, {-9, "n"}, {0, "x"}, {3, "y"}, {7, "z"}, {8, "old"}}
	for i, k := range keys[:5] {
		m := mut(ins(a1, 10, cell(1, fmt.Sprint(i), 10)), ins(c1, 10))
		m.Token, m.Key = k.token, []byte(k.key)
		apply(t, e, m)
	}
	// Only a purgeable partition deletion: no content, skipped.
	old := &Mutation{Table: tbl, Token: 8, Key: []byte("old"), PartitionDeletion: DeletionTime{MarkedForDeleteAt: 5, LocalDeletionTime: t0Sec - 100}}
	apply(t, e, old)
	// Another table's data is never seen.
	apply(t, e, &Mutation{Table: tbl2, Token: 0, Key: []byte("other"), Rows: []RowUpdate{ins(a1, 1)}})
	q := PartitionQuery{Slices: []Slice{{Start: incl(ck("b")), End: unb}}, Limit: 1}
	var got []string
	err := e.ScanRaw(tbl, PartitionPos{Token: -9, Inclusive: true}, 100, q, 0, func(m *Mutation) bool {
		want, err := e.ReadPartitionRawQuery(tbl, m.Token, m.Key, q)
		if err != nil || fmt.Sprint(want) != fmt.Sprint(m) {
			t.Errorf("ScanRaw %+v, ReadPartitionRawQuery %+v (%v)", m, want, err)
		}
		got = append(got, fmt.Sprintf("%d:%s:%d", m.Token, m.Key, len(m.Rows)))
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"-9:m:1", "-9:n:1", "0:x:1", "3:y:1", "7:z:1"}; !slices.Equal(got, want) {
		t.Errorf("scan %q, want %q", got, want)
	}
	got = got[:0]
	err = e.ScanRaw(tbl, PartitionPos{Token: -9, Key: []byte("m")}, 3, PartitionQuery{}, 2, func(m *Mutation) bool {
		got = append(got, fmt.Sprintf("%d:%s:%d", m.Token, m.Key, len(m.Rows)))
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"-9:n:2", "0:x:2"}; !slices.Equal(got, want) {
		t.Errorf("scan with start key and maxPartitions %q, want %q", got, want)
	}
	n := 0
	if err := e.ScanRaw(tbl, PartitionPos{Token: -100, Inclusive: true}, 100, PartitionQuery{}, 0, func(*Mutation) bool { n++; return false }); err != nil || n != 1 {
		t.Errorf("stop: %d calls, %v", n, err)
	}
}

// BenchmarkReadPartitionRawQuery reads a 10-row slice of a 1000-row
// partition raw, as a replica answering a data read.
func BenchmarkReadPartitionRawQuery(b *testing.B) {
	e := openTest(b, "", nil, 0)
	var rows []RowUpdate
	for i := 0; i < 1000; i++ {
		rows = append(rows, ins(benchKey(i), 1, cell(1, "value-one", 1), cell(2, "value-two", 1)))
	}
	apply(b, e, &Mutation{Table: tbl, Token: 1, Key: pk, Rows: rows})
	if err := e.Flush(); err != nil {
		b.Fatal(err)
	}
	q := PartitionQuery{Slices: []Slice{{Start: incl(benchKey(500)), End: unb}}, Limit: 10}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m, err := e.ReadPartitionRawQuery(tbl, 1, pk, q)
		if err != nil || len(m.Rows) != 10 {
			b.Fatal(err)
		}
	}
}

func dumpSet(set []*Mutation) string {
	var sb strings.Builder
	for _, m := range set {
		fmt.Fprintf(&sb, "\n  pd=%+v rts=%+v", m.PartitionDeletion, m.RangeTombstones)
		for _, r := range m.Rows {
			fmt.Fprintf(&sb, "\n    %+v", r)
		}
	}
	return sb.String()
}
