package storage

import (
	"encoding/binary"
	"testing"
)

func benchKey(i int) []byte {
	return binary.BigEndian.AppendUint64(nil, uint64(i))
}

// BenchmarkApply measures single-row mutations (3 cells) in periodic sync
// mode, each to a new row of a few partitions.
func BenchmarkApply(b *testing.B) {
	e := openTest(b, "", nil, 0)
	m := &Mutation{Table: tbl, Token: 1, Key: pk, Rows: []RowUpdate{{
		Liveness: LivenessInfo{Timestamp: 1},
		Cells:    []Cell{cell(1, "value-one", 1), cell(2, "value-two", 1), cell(3, "value-three", 1)},
	}}}
	muts := []*Mutation{m}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.Token = int64(i % 16)
		m.Rows[0].Clustering = benchKey(i)
		if err := e.Apply(muts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadPartition reads a 10-row slice of a 1000-row partition,
// with the data in sstables and a few fresh overwrites in the memtable.
func BenchmarkReadPartition(b *testing.B) {
	e := openTest(b, "", nil, 0)
	var rows []RowUpdate
	for i := 0; i < 1000; i++ {
		rows = append(rows, ins(benchKey(i), 1, cell(1, "value-one", 1), cell(2, "value-two", 1)))
	}
	apply(b, e, &Mutation{Table: tbl, Token: 1, Key: pk, Rows: rows})
	if err := e.Flush(); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 1000; i += 50 {
		apply(b, e, mut(upd(benchKey(i), cell(2, "newer", 2))))
	}
	q := PartitionQuery{Slices: []Slice{{Start: incl(benchKey(500)), End: unb}}, Limit: 10}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := 0
		if err := e.ReadPartition(tbl, 1, pk, q, func(*Row) bool { n++; return true }); err != nil {
			b.Fatal(err)
		}
		if n != 10 {
			b.Fatalf("read %d rows", n)
		}
	}
}
