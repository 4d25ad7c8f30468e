package storage

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
	"time"
)

func TestHints(t *testing.T) {
	dir := t.TempDir()
	e := openTest(t, dir, nil, 0)
	h1, h2 := [16]byte{1}, [16]byte{2, 0xFF}
	m := func(v string) *Mutation { return mut(ins(a1, 5, cell(1, v, 5))) }
	// Stored out of creation order; two with the same creation time.
	for _, h := range []struct {
		target [16]byte
		at     time.Duration
		v      string
	}{{h1, 3, "c"}, {h1, 1, "a"}, {h2, 2, "x"}, {h1, 2, "b1"}, {h1, 2, "b2"}} {
		if err := e.StoreHint(h.target, t0.Add(h.at*time.Second), m(h.v)); err != nil {
			t.Fatal(err)
		}
	}
	// Hints never show in table reads or scans.
	if rows := readRows(t, e, tbl, pk, PartitionQuery{}); len(rows) != 0 {
		t.Fatalf("hint visible in a table read: %q", rows)
	}
	n := 0
	e.ScanPartitions(tbl, PartitionPos{Token: -1 << 63, Inclusive: true}, 1<<63-1, func(int64, []byte) bool { n++; return true })
	if n != 0 {
		t.Fatalf("hint visible in a scan")
	}

	list := func(target [16]byte) (vals []string, ids [][]byte) {
		t.Helper()
		err := e.Hints(target, func(id []byte, created time.Time, m *Mutation) bool {
			vals = append(vals, fmt.Sprintf("%d:%s", created.Sub(t0)/time.Second, m.Rows[0].Cells[0].Value))
			ids = append(ids, id)
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
		return vals, ids
	}
	vals, ids := list(h1)
	if want := []string{"1:a", "2:b1", "2:b2", "3:c"}; !slices.Equal(vals, want) {
		t.Fatalf("hints %q, want %q", vals, want)
	}
	for i := 1; i < len(ids); i++ {
		if bytes.Compare(ids[i-1], ids[i]) >= 0 {
			t.Fatalf("ids not increasing: %x", ids)
		}
	}
	targets, err := e.HintTargets()
	if err != nil || !slices.Equal(targets, [][16]byte{h1, h2}) {
		t.Fatalf("targets %x, %v", targets, err)
	}

	if err := e.DeleteHint(h1, ids[1]); err != nil {
		t.Fatal(err)
	}
	if err := e.DeleteHint(h1, []byte("short")); err == nil {
		t.Error("DeleteHint accepted a malformed id")
	}
	if vals, _ := list(h1); !slices.Equal(vals, []string{"1:a", "2:b2", "3:c"}) {
		t.Fatalf("after delete: %q", vals)
	}

	// Durable across reopen, and new ids stay unique and after old ones
	// with the same creation time.
	e.Close()
	e = openTest(t, dir, nil, 0)
	if err := e.StoreHint(h1, t0.Add(2*time.Second), m("b3")); err != nil {
		t.Fatal(err)
	}
	if vals, _ := list(h1); !slices.Equal(vals, []string{"1:a", "2:b2", "2:b3", "3:c"}) {
		t.Fatalf("after reopen: %q", vals)
	}

	// Expiry across targets.
	n, err = e.DeleteHintsOlderThan(t0.Add(2500 * time.Millisecond))
	if err != nil || n != 4 {
		t.Fatalf("DeleteHintsOlderThan: %d, %v; want 4", n, err)
	}
	if vals, _ := list(h1); !slices.Equal(vals, []string{"3:c"}) {
		t.Fatalf("after expiry: %q", vals)
	}
	targets, err = e.HintTargets()
	if err != nil || !slices.Equal(targets, [][16]byte{h1}) {
		t.Fatalf("targets after expiry %x, %v", targets, err)
	}
	// Compact and DropTable leave hints alone.
	if err := e.DropTable(tbl); err != nil {
		t.Fatal(err)
	}
	if err := e.Compact(); err != nil {
		t.Fatal(err)
	}
	if vals, _ := list(h1); !slices.Equal(vals, []string{"3:c"}) {
		t.Fatalf("after compact: %q", vals)
	}
}

func TestTruncateTable(t *testing.T) {
	e := openTest(t, "", nil, 0)
	apply(t, e, mut(ins(a1, 5)))
	if _, ok, err := e.TruncatedAt(tbl); ok || err != nil {
		t.Fatalf("truncation record before any: %v %v", ok, err)
	}
	if err := e.TruncateTable(tbl, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if rows := readRows(t, e, tbl, pk, PartitionQuery{}); len(rows) != 0 {
		t.Fatalf("data left after truncate: %q", rows)
	}
	// An older truncation does not move the record back.
	if err := e.TruncateTable(tbl, t0); err != nil {
		t.Fatal(err)
	}
	at, ok, err := e.TruncatedAt(tbl)
	if err != nil || !ok || !at.Equal(t0.Add(time.Second)) {
		t.Fatalf("TruncatedAt = %v %v %v", at, ok, err)
	}
	if _, ok, _ := e.TruncatedAt(tbl2); ok {
		t.Fatal("another table has a truncation record")
	}
}
