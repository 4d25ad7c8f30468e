package storage

import (
	"bytes"
	"fmt"
	"slices"
	"time"
)

// This file reconciles mutations in memory (the coordinator's side of a
// read: replica responses are merged, then read as an engine would read
// them). It reuses the merger's rules (reconcile.go) and the partition
// reader's row logic (read.go), so that memory and disk never disagree.

// memRow is one reconciled row of a memPartition.
type memRow struct {
	static     bool
	clustering []byte
	frag       rowFragment
}

// memPartition is a partition's canonical content held in memory: the
// reconciled header and the reconciled rows, sorted as stored (static row
// first, then clustering order), one per position.
type memPartition struct {
	hdr  headerFragment
	rows []memRow
}

// errStaticClustering is returned for a static row update that carries a
// clustering key (Apply rejects it too).
func errStaticClustering(c []byte) error {
	return fmt.Errorf("storage: static row update with clustering %x", c)
}

// build reconciles ms (nil entries skipped) into p. With expire set, cells
// expired at nowSec become tombstones before they are reconciled, as the
// merger does at read time. Fragments alias the mutations' byte slices;
// cells and complex deletions are copied.
func (p *memPartition) build(ms []*Mutation, expire bool, nowSec int64) error {
	// Header: the winning partition deletion and every range tombstone,
	// reconciled in one buildHeader call (equal to merging them pairwise).
	var all Mutation
	nRows := 0
	for _, m := range ms {
		if m == nil {
			continue
		}
		if m.PartitionDeletion.Supersedes(all.PartitionDeletion) {
			all.PartitionDeletion = m.PartitionDeletion
		}
		all.RangeTombstones = append(all.RangeTombstones, m.RangeTombstones...)
		nRows += len(m.Rows)
	}
	var tmp headerFragment
	buildHeader(&all, &p.hdr, &tmp, nil)

	// Rows: sort references by position, then fold each group.
	refs := make([]*RowUpdate, 0, nRows)
	for _, m := range ms {
		if m == nil {
			continue
		}
		for i := range m.Rows {
			ru := &m.Rows[i]
			if ru.Static && len(ru.Clustering) > 0 {
				return errStaticClustering(ru.Clustering)
			}
			refs = append(refs, ru)
		}
	}
	slices.SortStableFunc(refs, compareRowPos)
	var acc, f rowFragment
	var scratch []Cell
	// Cells and complex deletions of all rows go to two shared arrays;
	// rows get their sub-slices once the arrays stop growing.
	var cells []Cell
	var cx []ComplexDeletion
	type span struct{ c0, c1, x0, x1 int }
	var spans []span
	p.rows = p.rows[:0]
	for i := 0; i < len(refs); {
		ru := refs[i]
		buildRow(ru, &acc)
		if expire {
			expireRow(&acc, nowSec)
		}
		j := i + 1
		for ; j < len(refs) && compareRowPos(ru, refs[j]) == 0; j++ {
			buildRow(refs[j], &f)
			if expire {
				expireRow(&f, nowSec)
			}
			scratch = mergeRow(&acc, &f, scratch)
		}
		i = j
		shadowRow(&acc, acc.deletion)
		if acc.isEmpty() {
			continue
		}
		sp := span{c0: len(cells), x0: len(cx)}
		cells = append(cells, acc.cells...)
		cx = append(cx, acc.complex...)
		sp.c1, sp.x1 = len(cells), len(cx)
		spans = append(spans, sp)
		c := ru.Clustering
		if ru.Static || len(c) == 0 {
			c = nil
		}
		p.rows = append(p.rows, memRow{static: ru.Static, clustering: c,
			frag: rowFragment{liveness: acc.liveness, deletion: acc.deletion}})
	}
	for i := range p.rows {
		sp := spans[i]
		if sp.c1 > sp.c0 {
			p.rows[i].frag.cells = cells[sp.c0:sp.c1:sp.c1]
		}
		if sp.x1 > sp.x0 {
			p.rows[i].frag.complex = cx[sp.x0:sp.x1:sp.x1]
		}
	}
	return nil
}

// shadowAcrossRows removes from every row what the partition deletion and
// the range tombstones shadow, including row deletions they make
// redundant, and drops rows left empty (r supplies the intervals).
func (p *memPartition) shadowAcrossRows(r *partitionReader) {
	out := p.rows[:0]
	for i := range p.rows {
		mr := &p.rows[i]
		r.key = append(append(r.key[:0], r.rowPfx...), mr.clustering...)
		d := r.deletionAt(r.key, mr.static)
		f := &mr.frag
		if !f.deletion.IsLive() && !f.deletion.Supersedes(d) {
			f.deletion = DeletionTime{}
		}
		shadowRow(f, d)
		if !f.isEmpty() {
			out = append(out, *mr)
		}
	}
	clear(p.rows[len(out):])
	p.rows = out
}

// memRowPrefix is the row-key prefix of in-memory partitions: row keys
// are kindRow | clustering, so the key helpers of read.go apply unchanged.
var memRowPrefix = []byte{kindRow}

// newMemReader returns a partitionReader whose header and intervals are
// those of p.
func (p *memPartition) newMemReader() *partitionReader {
	r := readerPool.Get().(*partitionReader)
	r.rowPfx = append(r.rowPfx[:0], memRowPrefix...)
	r.hdr.reset()
	r.hdr.deletion = p.hdr.deletion
	r.hdr.rts = append(r.hdr.rts, p.hdr.rts...)
	r.buildIntervals()
	return r
}

// MergeMutations reconciles mutations of one partition (same table, token
// and key; the result carries the first non-nil one's) into one canonical
// mutation, with the merger's rules: per cell the higher timestamp wins,
// then a tombstone, then the greater value, then the later expiry; the
// winning row marker, row deletion, complex deletions and partition
// deletion; the union of range tombstones (the winning deletion for equal
// bounds). Everything shadowed by a deletion in the result (its own row's,
// a range tombstone's or the partition's) is removed, including row
// deletions they make redundant and range tombstones the partition
// deletion shadows, and so are empty rows.
//
// The result is order independent: any order of the same inputs gives an
// equal mutation and Digest. Rows come in stored order (static row first,
// then clustering order), cells sorted by (Column, Path). Nil inputs are
// skipped; with none left the result is nil. Static row updates carrying
// a clustering key (which Apply rejects) are dropped.
//
// Expiry is not applied: MergeMutations has no clock. The result is what
// the merger makes of the inputs if it merges them before any of their
// TTLs expires. (When two live versions of a cell tie on timestamp and the
// losing one expires first, an engine that merges them only after that
// expiry lets the expired version, then a tombstone, win; Cassandra has
// the same dependence on merge time.) ReadMutation applies expiry.
//
// The result's byte slices alias the inputs'; its other slices are new.
func MergeMutations(ms ...*Mutation) *Mutation {
	var first *Mutation
	valid := make([]*Mutation, 0, len(ms))
	for _, m := range ms {
		if m == nil {
			continue
		}
		if first == nil {
			first = m
		}
		ok := true
		for i := range m.Rows {
			if m.Rows[i].Static && len(m.Rows[i].Clustering) > 0 {
				ok = false
				break
			}
		}
		if !ok {
			// Drop only the invalid rows.
			c := *m
			c.Rows = slices.DeleteFunc(slices.Clone(m.Rows), func(ru RowUpdate) bool { return ru.Static && len(ru.Clustering) > 0 })
			m = &c
		}
		valid = append(valid, m)
	}
	if first == nil {
		return nil
	}
	var p memPartition
	if err := p.build(valid, false, 0); err != nil {
		return nil // unreachable: invalid rows were dropped
	}
	r := p.newMemReader()
	p.shadowAcrossRows(r)
	readerPool.Put(r)

	out := &Mutation{Table: first.Table, Token: first.Token, Key: first.Key}
	if !p.hdr.deletion.IsLive() {
		out.PartitionDeletion = p.hdr.deletion
	}
	if len(p.hdr.rts) > 0 {
		out.RangeTombstones = make([]RangeTombstone, len(p.hdr.rts))
		for i := range p.hdr.rts {
			out.RangeTombstones[i] = p.hdr.rts[i].RangeTombstone
		}
	}
	if len(p.rows) > 0 {
		out.Rows = make([]RowUpdate, len(p.rows))
		for i := range p.rows {
			mr := &p.rows[i]
			out.Rows[i] = RowUpdate{
				Clustering:       mr.clustering,
				Static:           mr.static,
				Liveness:         mr.frag.liveness,
				Deletion:         mr.frag.deletion,
				ComplexDeletions: mr.frag.complex,
				Cells:            mr.frag.cells,
			}
		}
	}
	return out
}

// ReadMutation calls fn for each live row of m selected by q, exactly as
// ReadPartition would had m been applied to an empty engine whose clock
// reads now: the same liveness rules (a live marker or a live cell), TTL
// expiry at now, shadowing by cell, complex, row, range and partition
// deletions, slices, Reversed, Static and Limit. m may be any mutation
// (several updates of a row, cells in any order); it is not modified. fn
// returns false to stop. A nil m has no rows.
//
// The *Row and its Cells are only valid during the call to fn; byte
// slices alias m's. It returns an error, before calling fn, for a static
// row update with a clustering key (which Apply rejects).
func ReadMutation(m *Mutation, q PartitionQuery, now time.Time, fn func(*Row) bool) error {
	if m == nil {
		return nil
	}
	var p memPartition
	nowSec := now.Unix()
	if err := p.build([]*Mutation{m}, true, nowSec); err != nil {
		return err
	}
	r := p.newMemReader()
	defer readerPool.Put(r)
	p.read(r, q, nowSec, fn)
	return nil
}

// rowBefore reports whether row key memRowPrefix|c sorts before key k
// (a key built by appendStartKey/appendEndKey under memRowPrefix).
func rowBefore(c, k []byte) bool {
	if k[0] != kindRow {
		return kindRow < k[0]
	}
	return bytes.Compare(c, k[1:]) < 0
}

// read is partitionReader.read over an in-memory partition.
func (p *memPartition) read(r *partitionReader, q PartitionQuery, nowSec int64, fn func(*Row) bool) {
	rows := p.rows
	if len(rows) > 0 && rows[0].static {
		if q.Static && r.liveRow(&rows[0].frag, r.hdr.deletion, nowSec) {
			r.row.Static = true
			r.row.Clustering = nil
			if !fn(&r.row) {
				return
			}
		}
		rows = rows[1:]
	}
	r.row.Static = false
	count := 0
	visit := func(k []byte, frag *rowFragment) bool { return r.emitLive(k, frag, nowSec, q.Limit, &count, fn) }
	for i := range sliceCount(&q) {
		if r.sliceBounds(&q, i) && !memRowSource(rows).rows(r, r.sLo, r.sHi, q.Reversed, visit) {
			return
		}
	}
}
