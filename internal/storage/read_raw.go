package storage

import (
	"bytes"
	"errors"
	"slices"

	"github.com/cockroachdb/pebble/v2"
)

// This file holds the replica side of coordinator reads: a partition's raw
// content (tombstones included) restricted to a query, normalized so that
// replicas holding the same data answer with equal mutations and digests.

// byteArena copies byte slices into large chunks it never reallocates, so
// a mutation built from many small slices costs a few allocations.
type byteArena struct{ buf []byte }

const arenaChunk = 4 << 10

// copy returns a copy of b in the arena; nil stays nil and an empty
// non-nil slice stays non-nil (a collection cell's empty path).
func (a *byteArena) copy(b []byte) []byte {
	if b == nil {
		return nil
	}
	if len(b) == 0 {
		return []byte{}
	}
	if cap(a.buf)-len(a.buf) < len(b) {
		a.buf = make([]byte, 0, max(arenaChunk, len(b)))
	}
	n := len(a.buf)
	a.buf = append(a.buf, b...)
	return a.buf[n:len(a.buf):len(a.buf)]
}

// rawBuilder accumulates a Mutation's rows, copying every byte slice, with
// the cells and complex deletions of all rows in one array each.
type rawBuilder struct {
	m     *Mutation
	arena byteArena
	cells []Cell
	cx    []ComplexDeletion
	spans []rawSpan
	// sizeHint is the expected number of rows (0: unknown).
	sizeHint int
}

type rawSpan struct{ c0, c1, x0, x1 int }

func (b *rawBuilder) addRow(static bool, clustering []byte, f *rowFragment) {
	if b.m == nil {
		b.m = new(Mutation)
		if b.sizeHint > 0 {
			b.m.Rows = make([]RowUpdate, 0, b.sizeHint)
			b.spans = make([]rawSpan, 0, b.sizeHint)
		}
	}
	if cap(b.cells)-len(b.cells) < len(f.cells) {
		b.cells = slices.Grow(b.cells, len(f.cells)*max(b.sizeHint, 4))
	}
	sp := rawSpan{c0: len(b.cells), x0: len(b.cx)}
	for _, c := range f.cells {
		c.Path = b.arena.copy(c.Path)
		c.Value = b.arena.copy(c.Value)
		b.cells = append(b.cells, c)
	}
	b.cx = append(b.cx, f.complex...)
	sp.c1, sp.x1 = len(b.cells), len(b.cx)
	b.spans = append(b.spans, sp)
	ru := RowUpdate{Static: static, Liveness: f.liveness, Deletion: f.deletion}
	if !static {
		ru.Clustering = b.arena.copy(clustering)
	}
	b.m.Rows = append(b.m.Rows, ru)
}

// finish attaches cells and complex deletions to their rows.
func (b *rawBuilder) finish() {
	if b.m == nil {
		return
	}
	for i, sp := range b.spans {
		ru := &b.m.Rows[i]
		if sp.c1 > sp.c0 {
			ru.Cells = b.cells[sp.c0:sp.c1:sp.c1]
		}
		if sp.x1 > sp.x0 {
			ru.ComplexDeletions = b.cx[sp.x0:sp.x1:sp.x1]
		}
	}
}

// normalizeRaw turns f, a row's merged value under the outer deletion d
// (the strongest partition deletion or range tombstone covering it, purged
// or not), into what a replica returns: expired cells become tombstones,
// everything d or the row's own deletion shadows is removed, the row
// deletion is dropped when d supersedes it, and tombstones purgeable at
// gcBefore are dropped.
//
// Dropping the row deletion when d supersedes it (not merely when d's
// timestamp covers it) makes the result independent of the gc pass: that
// pass merges purgeable partition and range deletions into the rows they
// cover, where the winner of the two row deletions is kept, and then
// purges the header copy.
func normalizeRaw(f *rowFragment, d DeletionTime, nowSec, gcBefore int64) {
	expireRow(f, nowSec)
	shadowRow(f, f.deletion)
	if !f.deletion.IsLive() && !f.deletion.Supersedes(d) {
		f.deletion = DeletionTime{}
	}
	shadowRow(f, d)
	purgeRow(f, nowSec, gcBefore)
}

// ReadPartitionRawQuery returns the raw content of a partition restricted
// to q, as a replica answers a coordinator's data read (and, through
// Digest, a digest read), or nil (not an error) when there is none. The
// result can be applied on another replica (read repair) and read with
// ReadMutation.
//
// It contains the static row if q.Static, and the rows of q.Slices, read in
// q's order (Reversed matters with a Limit) until q.Limit live rows (the
// rows ReadPartition would return) have been read; every row read up to
// that point is included with its tombstones and dead cells. It also
// contains the partition deletion and every range tombstone overlapping a
// slice of q (unclipped). Rows are in clustering order whatever q.Reversed
// (static row first).
//
// The content is normalized as in ReadPartitionRaw and more: expired cells
// are tombstones, shadowed data and redundant row deletions are removed,
// and every tombstone purgeable under gc_grace (partition, range, row,
// complex, cell) is dropped, whether or not the gc pass or a compaction
// has already purged it. So replicas holding the same data return equal
// mutations and equal Digests for the same query, whatever their flush,
// compaction and gc history. The result owns its memory.
func (e *Engine) ReadPartitionRawQuery(table TableID, token int64, key []byte, q PartitionQuery) (*Mutation, error) {
	r := readerPool.Get().(*partitionReader)
	defer readerPool.Put(r)
	it, err := r.open(e.db, table, token, key)
	if err != nil {
		return nil, err
	}
	m, err := r.readRawQuery(it, q, e.opts.Now().Unix(), e.gcBefore(table))
	if err = errors.Join(err, it.Close()); err != nil {
		return nil, err
	}
	if m != nil {
		m.Table, m.Token, m.Key = table, token, bytes.Clone(key)
	}
	return m, nil
}

// readRawQuery implements ReadPartitionRawQuery on an iterator bounded to
// the partition r was opened (or set) on. The result lacks its identity
// (table, token, key).
func (r *partitionReader) readRawQuery(it *pebble.Iterator, q PartitionQuery, nowSec, gcBefore int64) (*Mutation, error) {
	valid, err := r.readHeader(it)
	if err != nil || !valid {
		return nil, err
	}
	var b rawBuilder
	if q.Limit > 0 {
		b.sizeHint = min(q.Limit, 64) + 1 // + the static row
	}
	if q.Static {
		r.key = append(append(r.key[:0], r.part...), kindStatic)
		if it.SeekGE(r.key) && bytes.Equal(it.Key(), r.key) {
			if err := decodeRow(it.Value(), &r.frag); err != nil {
				return nil, err
			}
			normalizeRaw(&r.frag, r.hdr.deletion, nowSec, gcBefore)
			if !r.frag.isEmpty() {
				b.addRow(true, nil, &r.frag)
			}
		}
		if err := it.Error(); err != nil {
			return nil, err
		}
	}
	firstRow := 0
	if b.m != nil {
		firstRow = 1
	}
	// rtUsed marks the range tombstones overlapping a slice of q.
	var rtUsedBuf [8]bool
	var rtUsed []bool
	if len(r.rtIv) > len(rtUsedBuf) {
		rtUsed = make([]bool, len(r.rtIv))
	} else {
		rtUsed = rtUsedBuf[:len(r.rtIv)]
	}
	count := 0
	visit := func(k []byte, frag *rowFragment) bool {
		d := r.deletionAt(k, false)
		live := r.liveRow(frag, d, nowSec)
		normalizeRaw(frag, d, nowSec, gcBefore)
		if !frag.isEmpty() {
			b.addRow(false, k[len(r.rowPfx):], frag)
		}
		if live {
			count++
		}
		return q.Limit <= 0 || count < q.Limit
	}
	more := true
	for i := range sliceCount(&q) {
		if !r.sliceBounds(&q, i) {
			continue
		}
		for j := range r.rtIv {
			iv := &r.rtIv[j]
			if bytes.Compare(iv.lo, r.sHi) < 0 && bytes.Compare(r.sLo, iv.hi) < 0 {
				rtUsed[j] = true // the range tombstone overlaps a slice of q
			}
		}
		if more {
			if more, err = (pebbleRows{it}).rows(r, r.sLo, r.sHi, q.Reversed, visit); err != nil {
				return nil, err
			}
		}
	}
	b.finish()
	m := b.m
	if m != nil && q.Reversed {
		slices.Reverse(m.Rows[firstRow:])
	}
	// Header: deletions are output unless purgeable. Rows were shadowed by
	// all of them above, so purged ones leave nothing they shadowed.
	pd := r.hdr.deletion
	if !pd.IsLive() && pd.LocalDeletionTime < gcBefore {
		pd = DeletionTime{}
	}
	for j, used := range rtUsed {
		rt := &r.hdr.rts[j]
		if !used || rt.Deletion.LocalDeletionTime < gcBefore {
			continue
		}
		if m == nil {
			m = new(Mutation)
		}
		rt2 := rt.RangeTombstone
		rt2.Start.Prefix = b.arena.copy(rt2.Start.Prefix)
		rt2.End.Prefix = b.arena.copy(rt2.End.Prefix)
		m.RangeTombstones = append(m.RangeTombstones, rt2)
	}
	if !pd.IsLive() {
		if m == nil {
			m = new(Mutation)
		}
		m.PartitionDeletion = pd
	}
	return m, nil
}

// ScanRaw calls fn with the raw content, restricted by q as in
// ReadPartitionRawQuery (q.Limit applies per partition), of each partition
// of the table from start up to and including endToken, in (token, key)
// order, for range reads through the coordinator. Partitions without
// content in q are skipped; at most maxPartitions partitions are passed to
// fn (0 or less: no limit). fn returns false to stop; it owns the
// mutations. Wrapping token ranges must be split by the caller.
func (e *Engine) ScanRaw(table TableID, start PartitionPos, endToken int64, q PartitionQuery, maxPartitions int, fn func(*Mutation) bool) error {
	lo, ok := scanStartKey(table, start)
	if !ok {
		return nil
	}
	hi := scanEndKey(table, endToken)
	if bytes.Compare(lo, hi) >= 0 {
		return nil
	}
	it, err := e.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return err
	}
	r := readerPool.Get().(*partitionReader)
	defer readerPool.Put(r)
	nowSec, gcBefore := e.opts.Now().Unix(), e.gcBefore(table)
	n := 0
	var keyBuf []byte
	for valid := it.First(); valid; {
		dk, err := parseDataKey(it.Key(), keyBuf)
		if err != nil {
			return errors.Join(err, it.Close())
		}
		keyBuf = dk.key
		// Restrict the iterator to this partition and read it. The
		// iterator keeps the bound slices until the next SetBounds.
		r.part = append(r.part[:0], it.Key()[:dk.partition]...)
		r.lo = append(append(r.lo[:0], r.part...), kindHeader)
		r.hi = append(append(r.hi[:0], r.part...), kindEnd)
		r.rowPfx = append(append(r.rowPfx[:0], r.part...), kindRow)
		r.hdr.reset()
		r.rtIv = r.rtIv[:0]
		it.SetBounds(r.lo, r.hi)
		m, err := r.readRawQuery(it, q, nowSec, gcBefore)
		if err != nil {
			return errors.Join(err, it.Close())
		}
		if m != nil {
			m.Table, m.Token, m.Key = table, dk.token, bytes.Clone(dk.key)
			n++
			if !fn(m) || (maxPartitions > 0 && n >= maxPartitions) {
				break
			}
		}
		it.SetBounds(bytes.Clone(r.hi), hi)
		valid = it.First()
	}
	return errors.Join(it.Error(), it.Close())
}
