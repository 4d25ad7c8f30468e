package storage

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/sstable/block"
)

func TestScanPartitions(t *testing.T) {
	e := openTest(t, "", nil, 0)
	type part struct {
		token int64
		key   string
	}
	parts := []part{
		{math.MinInt64, "min"}, {-5, "n"}, {0, "z"}, {0, "a"}, {0, "a\x00b"}, {0, "a\x00"}, {7, "x"}, {math.MaxInt64, "max"},
	}
	for _, p := range parts {
		apply(t, e, &Mutation{Table: tbl, Token: p.token, Key: []byte(p.key), Rows: []RowUpdate{ins(a1, 1)}})
	}
	// Data of another table and a partition with only a deletion.
	apply(t, e, &Mutation{Table: tbl2, Token: 3, Key: []byte("other"), Rows: []RowUpdate{ins(a1, 1)}})
	apply(t, e, &Mutation{Table: tbl, Token: 3, Key: []byte("dead"), PartitionDeletion: del(5)})

	scan := func(start PartitionPos, end int64, limit int) []string {
		var out []string
		err := e.ScanPartitions(tbl, start, end, func(tok int64, key []byte) bool {
			out = append(out, fmt.Sprintf("%d/%q", tok, key))
			return limit == 0 || len(out) < limit
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	all := scan(PartitionPos{Token: math.MinInt64, Inclusive: true}, math.MaxInt64, 0)
	want := []string{
		`-9223372036854775808/"min"`, `-5/"n"`, `0/"a"`, `0/"a\x00"`, `0/"a\x00b"`, `0/"z"`, `3/"dead"`, `7/"x"`, `9223372036854775807/"max"`,
	}
	if !slices.Equal(all, want) {
		t.Fatalf("full scan\ngot  %q\nwant %q", all, want)
	}

	// Resumption in pages of 2 from the last key (exclusive) returns the same.
	var paged []string
	pos := PartitionPos{Token: math.MinInt64, Inclusive: true}
	for {
		var page []string
		var lastTok int64
		var lastKey []byte
		err := e.ScanPartitions(tbl, pos, math.MaxInt64, func(tok int64, key []byte) bool {
			page = append(page, fmt.Sprintf("%d/%q", tok, key))
			lastTok, lastKey = tok, bytes.Clone(key)
			return len(page) < 2
		})
		if err != nil {
			t.Fatal(err)
		}
		paged = append(paged, page...)
		if len(page) < 2 {
			break
		}
		pos = PartitionPos{Token: lastTok, Key: lastKey}
	}
	if !slices.Equal(paged, want) {
		t.Fatalf("paged scan\ngot  %q\nwant %q", paged, want)
	}

	cases := []struct {
		name  string
		start PartitionPos
		end   int64
		want  []string
	}{
		{"token range (-5, 0]", PartitionPos{Token: -5}, 0, want[2:6]},
		{"token range [0, 3]", PartitionPos{Token: 0, Inclusive: true}, 3, want[2:7]},
		{"inclusive key", PartitionPos{Token: 0, Key: []byte("a\x00"), Inclusive: true}, 0, want[3:6]},
		{"exclusive key", PartitionPos{Token: 0, Key: []byte("a\x00")}, 0, want[4:6]},
		{"after max token", PartitionPos{Token: math.MaxInt64}, math.MaxInt64, nil},
		{"empty range", PartitionPos{Token: 8, Inclusive: true}, 7, nil},
	}
	for _, c := range cases {
		if got := scan(c.start, c.end, 0); !slices.Equal(got, c.want) {
			t.Errorf("%s: got %q want %q", c.name, got, c.want)
		}
	}
}

// buildRich writes a partition exercising every kind of data.
func buildRich(t *testing.T, e *Engine, key []byte) {
	m := func(rows ...RowUpdate) *Mutation {
		return &Mutation{Table: tbl, Token: 1, Key: key, Rows: rows}
	}
	apply(t, e,
		m(ins(a1, 10, cell(1, "a1", 10), pcell(5, "k1", "v1", 10), pcell(5, "k2", "v2", 12)),
			ins(a2, 10, ttlCell(1, "ttl", 10, 1000, t0Sec+1000)),
			ins(b1, 10, cell(1, "b1", 10)), ins(c1, 30, cell(2, "c", 30)), ins(d1, 10),
			static(cell(9, "s", 10))),
		m(upd(a1, tomb(1, 11)), RowUpdate{Clustering: a1, ComplexDeletions: []ComplexDeletion{{Column: 5, Deletion: del(11)}}}),
		&Mutation{Table: tbl, Token: 1, Key: key, PartitionDeletion: del(5),
			RangeTombstones: []RangeTombstone{{Start: incl(ck("b")), End: incl(ck("c")), Deletion: del(20)}}},
		m(rowDel(d1, 15)),
	)
}

func TestReadPartitionRawRoundTrip(t *testing.T) {
	clock := newClock()
	src := openTest(t, "", clock, 0)
	dst := openTest(t, "", clock, 0)
	buildRich(t, src, pk)
	raw, err := src.ReadPartitionRaw(tbl, 1, pk)
	if err != nil {
		t.Fatal(err)
	}
	if raw == nil || raw.PartitionDeletion != del(5) || len(raw.RangeTombstones) != 1 {
		t.Fatalf("raw mutation lacks tombstones: %+v", raw)
	}
	// The row deletion of d:1 and the range-deleted b:1 must be carried
	// (as a tombstone, respectively not at all since shadowed).
	var sawD bool
	for _, r := range raw.Rows {
		if bytes.Equal(r.Clustering, d1) && r.Deletion == del(15) {
			sawD = true
		}
		if bytes.Equal(r.Clustering, b1) {
			t.Errorf("raw contains row b:1 shadowed by a range tombstone: %+v", r)
		}
	}
	if !sawD {
		t.Errorf("raw lacks the row deletion of d:1: %+v", raw.Rows)
	}
	apply(t, dst, raw)

	queries := []PartitionQuery{
		{Static: true},
		{Reversed: true, Static: true},
		{Slices: []Slice{{Start: incl(ck("b")), End: unb}}},
	}
	for _, q := range queries {
		a, b := readRows(t, src, tbl, pk, q), readRows(t, dst, tbl, pk, q)
		if !slices.Equal(a, b) {
			t.Errorf("query %+v: source %q, copy %q", q, a, b)
		}
	}
	want := []string{"S 9=s", "a:1 * 5[k2]=v2", "a:2 * 1=ttl", "c:1 * 2=c"}
	if got := readRows(t, dst, tbl, pk, PartitionQuery{Static: true}); !slices.Equal(got, want) {
		t.Errorf("copy reads %q, want %q", got, want)
	}
	raw2, err := dst.ReadPartitionRaw(tbl, 1, pk)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(Digest(raw), Digest(raw2)) {
		t.Errorf("digests differ:\n%+v\n%+v", raw, raw2)
	}

	// A different write changes the digest; re-applying the same does not.
	apply(t, dst, raw)
	raw3, _ := dst.ReadPartitionRaw(tbl, 1, pk)
	if !bytes.Equal(Digest(raw), Digest(raw3)) {
		t.Error("re-applying the raw mutation changed the digest")
	}
	apply(t, dst, mut(upd(c1, cell(2, "c", 31))))
	raw4, _ := dst.ReadPartitionRaw(tbl, 1, pk)
	if bytes.Equal(Digest(raw), Digest(raw4)) {
		t.Error("digest unchanged after a newer write")
	}

	// Digest ignores the order of rows and cells.
	shuffled := *raw
	shuffled.Rows = slices.Clone(raw.Rows)
	slices.Reverse(shuffled.Rows)
	for i := range shuffled.Rows {
		shuffled.Rows[i].Cells = slices.Clone(shuffled.Rows[i].Cells)
		slices.Reverse(shuffled.Rows[i].Cells)
	}
	if !bytes.Equal(Digest(raw), Digest(&shuffled)) {
		t.Error("digest depends on row or cell order")
	}

	if m, err := src.ReadPartitionRaw(tbl, 1, []byte("absent")); err != nil || m != nil {
		t.Errorf("absent partition: %+v, %v", m, err)
	}
}

// TestMergeOrderIndependent checks that folding random fragments in any
// order yields identical bytes (the merger relies on it).
func TestMergeOrderIndependent(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	randRow := func() RowUpdate {
		var ru RowUpdate
		if rng.IntN(3) == 0 {
			ru.Liveness = LivenessInfo{Timestamp: rng.Int64N(5) + 1}
			if rng.IntN(2) == 0 {
				ru.Liveness.TTL, ru.Liveness.ExpiresAt = 10, t0Sec+rng.Int64N(3)
			}
		}
		if rng.IntN(4) == 0 {
			ru.Deletion = DeletionTime{MarkedForDeleteAt: rng.Int64N(5) + 1, LocalDeletionTime: rng.Int64N(3)}
		}
		if rng.IntN(4) == 0 {
			ru.ComplexDeletions = []ComplexDeletion{{Column: 5, Deletion: DeletionTime{MarkedForDeleteAt: rng.Int64N(5) + 1, LocalDeletionTime: rng.Int64N(3)}}}
		}
		for range rng.IntN(4) {
			c := Cell{Column: uint32(rng.IntN(3)) + 4, Timestamp: rng.Int64N(5) + 1}
			if c.Column == 5 {
				c.Path = []byte{byte('a' + rng.IntN(3))}
			}
			switch rng.IntN(4) {
			case 0:
				c.Tombstone, c.LocalDeletionTime = true, rng.Int64N(3)
			case 1:
				c.Value, c.TTL, c.ExpiresAt = []byte{byte(rng.IntN(3))}, 7, t0Sec+rng.Int64N(3)
			default:
				c.Value = []byte{byte(rng.IntN(3))}
			}
			ru.Cells = append(ru.Cells, c)
		}
		return ru
	}
	fold := func(rows []RowUpdate) []byte {
		var acc, tmp rowFragment
		var scratch []Cell
		for i, ru := range rows {
			buildRow(&ru, &tmp)
			// Round-trip through the codec like the merger does.
			if err := decodeRow(appendRow(nil, &tmp), &tmp); err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				buildRow(&ru, &acc)
				continue
			}
			scratch = mergeRow(&acc, &tmp, scratch)
		}
		shadowRow(&acc, acc.deletion)
		return appendRow(nil, &acc)
	}
	for iter := 0; iter < 2000; iter++ {
		rows := make([]RowUpdate, 2+rng.IntN(4))
		for i := range rows {
			rows[i] = randRow()
		}
		want := fold(rows)
		for range 3 {
			rng.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
			if got := fold(rows); !bytes.Equal(got, want) {
				t.Fatalf("fold depends on order:\nrows %+v\n%x\n%x", rows, got, want)
			}
		}
	}
}

func TestDropTable(t *testing.T) {
	e := openTest(t, "", nil, 0)
	apply(t, e, mut(ins(a1, 1)), &Mutation{Table: tbl2, Token: 1, Key: pk, Rows: []RowUpdate{ins(a1, 1)}})
	if err := e.DropTable(tbl); err != nil {
		t.Fatal(err)
	}
	if got := readRows(t, e, tbl, pk, PartitionQuery{}); got != nil {
		t.Fatalf("dropped table still has %q", got)
	}
	if got := readRows(t, e, tbl2, pk, PartitionQuery{}); len(got) != 1 {
		t.Fatalf("other table lost data: %q", got)
	}
	// Writes after the drop are visible (TRUNCATE then INSERT).
	apply(t, e, mut(ins(b1, 1)))
	if got := readRows(t, e, tbl, pk, PartitionQuery{}); !slices.Equal(got, []string{"b:1 *"}) {
		t.Fatalf("after re-insert: %q", got)
	}
}

func TestMeta(t *testing.T) {
	dir := t.TempDir()
	e := openTest(t, dir, nil, 0)
	for _, k := range []string{"schema/ks/t1", "schema/ks/t2", "roles/cassandra", "schema/other"} {
		if err := e.SetMeta(k, []byte("v:"+k)); err != nil {
			t.Fatal(err)
		}
	}
	if v, ok, err := e.GetMeta("roles/cassandra"); err != nil || !ok || string(v) != "v:roles/cassandra" {
		t.Fatalf("GetMeta = %q %v %v", v, ok, err)
	}
	if _, ok, err := e.GetMeta("missing"); err != nil || ok {
		t.Fatalf("GetMeta(missing) = %v %v", ok, err)
	}
	if err := e.DeleteMeta("schema/ks/t2"); err != nil {
		t.Fatal(err)
	}
	// Metadata survives reopening and is not data: a data scan ignores it.
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	e = openTest(t, dir, nil, 0)
	var keys []string
	if err := e.ListMeta("schema/", func(k string, v []byte) bool {
		keys = append(keys, k+"="+string(v))
		return true
	}); err != nil {
		t.Fatal(err)
	}
	want := []string{"schema/ks/t1=v:schema/ks/t1", "schema/other=v:schema/other"}
	if !slices.Equal(keys, want) {
		t.Fatalf("ListMeta = %q, want %q", keys, want)
	}
	if err := e.Compact(); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := e.GetMeta("schema/ks/t1"); !ok {
		t.Fatal("meta lost by Compact")
	}
}

// storedValues returns the partition's keys as physically stored (one
// internal key per user key, values not merged), rendered for matching.
func storedValues(t *testing.T, e *Engine, key []byte) map[string]string {
	t.Helper()
	part := appendPartitionPrefix(nil, tbl, 1, key)
	out := map[string]string{}
	err := e.db.ScanInternal(t.Context(), block.CategoryUnknown, part, append(bytes.Clone(part), kindEnd),
		func(k *pebble.InternalKey, v pebble.LazyValue, _ pebble.IteratorLevel) error {
			val, _, err := v.Value(nil)
			if err != nil {
				return err
			}
			desc := k.Kind().String() + ":"
			if k.UserKey[len(part)] == kindHeader {
				var h headerFragment
				if err := decodeHeader(val, &h); err != nil {
					return err
				}
				desc += fmt.Sprintf("%+v", h)
			} else {
				var f rowFragment
				if err := decodeRow(val, &f); err != nil {
					return err
				}
				desc += fmt.Sprintf("%+v", f)
			}
			out[renderCK(k.UserKey[len(part)+1:])+string('0'+k.UserKey[len(part)])] = desc
			return nil
		}, nil, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestGCGracePurge(t *testing.T) {
	const grace = time.Hour
	clock := newClock()
	e := openTest(t, "", clock, grace)
	old := []byte("old")

	// Old tombstones (local deletion time t0) in partition pk.
	apply(t, e,
		mut(ins(a1, 10, cell(1, "x", 10), cell(2, "keep", 10)), ins(a2, 10, cell(1, "y", 10))),
		mut(upd(a1, tomb(1, 11)), rowDel(a2, 11)),
		mut(ins(b1, 10, cell(1, "b", 10))),
		rangeDel(incl(ck("b")), incl(ck("b")), 11),
	)
	// Partition "old": everything under an old partition deletion.
	apply(t, e,
		&Mutation{Table: tbl, Token: 1, Key: old, Rows: []RowUpdate{ins(a1, 10, cell(1, "z", 10))}},
		&Mutation{Table: tbl, Token: 1, Key: old, PartitionDeletion: del(11)},
	)
	// Compact before gc_grace passes, from two overlapping sstables (so the
	// compaction rewrites rather than moves them): the values become plain
	// SETs that the merger will not revisit on its own. Nothing may be
	// purged yet.
	if err := e.Flush(); err != nil {
		t.Fatal(err)
	}
	apply(t, e, mut(ins(a1, 9)), mut(ins(d1, 9)))
	if err := e.Compact(); err != nil {
		t.Fatal(err)
	}
	before := storedValues(t, e, pk)
	for _, k := range []string{"a:12", "a:22", "0"} {
		if !strings.HasPrefix(before[k], "SET:") {
			t.Fatalf("precondition: %s stored as %q, want a SET", k, before[k])
		}
	}
	if !strings.Contains(before["a:12"], "Tombstone:true") {
		t.Fatalf("precondition: a:1 lost its tombstone before gc_grace: %s", before["a:12"])
	}
	raw, _ := e.ReadPartitionRaw(tbl, 1, pk)
	if len(raw.RangeTombstones) != 1 {
		t.Fatalf("range tombstone purged before gc_grace: %+v", raw)
	}

	// Two hours later: young tombstones (deleted now) over c:1.
	clock.Set(t0.Add(2 * grace))
	young := DeletionTime{MarkedForDeleteAt: 21, LocalDeletionTime: t0Sec + int64(2*grace/time.Second)}
	apply(t, e,
		mut(ins(c1, 20, cell(1, "c", 20)), ins(d1, 20, cell(1, "d", 20))),
		&Mutation{Table: tbl, Token: 1, Key: pk, RangeTombstones: []RangeTombstone{{Start: incl(ck("c")), End: incl(ck("c")), Deletion: young}}},
		mut(RowUpdate{Clustering: d1, Cells: []Cell{{Column: 1, Timestamp: 21, Tombstone: true, LocalDeletionTime: young.LocalDeletionTime}}}),
	)
	if err := e.Compact(); err != nil {
		t.Fatal(err)
	}

	raw, err := e.ReadPartitionRaw(tbl, 1, pk)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw.RangeTombstones) != 1 || raw.RangeTombstones[0].Deletion != young {
		t.Errorf("range tombstones after purge: %+v, want only the young one", raw.RangeTombstones)
	}
	rows := map[string]RowUpdate{}
	for _, r := range raw.Rows {
		rows[renderCK(r.Clustering)] = r
	}
	if r, ok := rows["a:1"]; !ok || len(r.Cells) != 1 || string(r.Cells[0].Value) != "keep" {
		t.Errorf("a:1 after purge: %+v, want only cell 2=keep (old cell tombstone purged)", r)
	}
	if r, ok := rows["a:2"]; ok {
		t.Errorf("a:2 survived its purged row deletion: %+v", r)
	}
	if r, ok := rows["b:1"]; ok {
		t.Errorf("b:1 survived its purged range tombstone: %+v", r)
	}
	if r, ok := rows["d:1"]; !ok || len(r.Cells) != 1 || !r.Cells[0].Tombstone {
		t.Errorf("d:1: young cell tombstone missing: %+v", r)
	}
	// Young tombstones still shadow.
	if got := readRows(t, e, tbl, pk, PartitionQuery{}); !slices.Equal(got, []string{"a:1 * 2=keep", "d:1 *"}) {
		t.Errorf("reads after purge: %q", got)
	}
	// Physically: the purged keys and tombstones are gone from the sstables.
	stored := storedValues(t, e, pk)
	for k, v := range stored {
		if strings.HasPrefix(k, "a:2") || strings.HasPrefix(k, "b:1") {
			t.Errorf("purged key %s still stored: %s", k, v)
		}
		if strings.HasPrefix(k, "a:1") && strings.Contains(v, "Tombstone:true") {
			t.Errorf("a:1 still stores a cell tombstone: %s", v)
		}
	}
	if !strings.Contains(stored["0"], "MarkedForDeleteAt:21") || strings.Contains(stored["0"], "MarkedForDeleteAt:11") {
		t.Errorf("stored header = %s, want only the young range tombstone", stored["0"])
	}
	if got := storedValues(t, e, old); len(got) != 0 {
		t.Errorf("partition under a purged partition deletion still stored: %v", got)
	}
	if m, _ := e.ReadPartitionRaw(tbl, 1, old); m != nil {
		t.Errorf("purged partition still readable raw: %+v", m)
	}
}

func TestPeriodicSyncAndReopen(t *testing.T) {
	dir := t.TempDir()
	e, err := Open(dir, Options{SyncPeriod: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	apply(t, e, mut(ins(a1, 1, cell(1, "v", 1))))
	// Let the sync loop run at least once; the assertion does not depend on it.
	time.Sleep(20 * time.Millisecond)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	e = openTest(t, dir, nil, 0)
	if got := readRows(t, e, tbl, pk, PartitionQuery{}); !slices.Equal(got, []string{"a:1 * 1=v"}) {
		t.Fatalf("after reopen: %q", got)
	}
	if e.DiskUsage() == 0 {
		t.Error("DiskUsage = 0")
	}
}

func TestOptionsValidation(t *testing.T) {
	_, err := Open(t.TempDir(), Options{SyncMode: 7, SyncPeriod: -1, CacheSize: -1})
	if err == nil {
		t.Fatal("invalid options accepted")
	}
	for _, want := range []string{"commitlog_sync", "commitlog_sync_period", "cache size"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

// TestCompactConcurrentWrites races the gc pass's point deletions of
// emptied rows against writes reviving the same rows: no write may be lost.
func TestCompactConcurrentWrites(t *testing.T) {
	const grace = time.Hour
	const n = 300
	clock := newClock()
	e := openTest(t, "", clock, grace)
	key := func(i int) []byte { return ck(fmt.Sprintf("%05d", i)) }
	for i := 0; i < n; i++ {
		apply(t, e, mut(ins(key(i), 10, cell(1, "old", 10)), rowDel(key(i), 11)))
	}
	if err := e.Flush(); err != nil {
		t.Fatal(err)
	}
	clock.Set(t0.Add(2 * grace))
	done := make(chan error, 1)
	go func() {
		for i := 0; i < n; i++ {
			if err := e.Apply([]*Mutation{mut(ins(key(i), 20, cell(1, "new", 20)))}); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	if err := e.Compact(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := e.Compact(); err != nil {
		t.Fatal(err)
	}
	got := readRows(t, e, tbl, pk, PartitionQuery{})
	if len(got) != n {
		t.Fatalf("%d rows after concurrent compaction, want %d", len(got), n)
	}
	for _, r := range got {
		if !strings.HasSuffix(r, " * 1=new") {
			t.Fatalf("row %q", r)
		}
	}
}
