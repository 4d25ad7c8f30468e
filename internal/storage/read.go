package storage

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"slices"
	"sync"

	"github.com/cockroachdb/pebble/v2"
)

// rtInterval is a range tombstone translated to row keys: it covers row
// keys k with lo <= k < hi.
type rtInterval struct {
	lo, hi []byte
	del    DeletionTime
}

// partitionReader holds the reusable state of one partition read.
type partitionReader struct {
	part   []byte // partition prefix
	lo, hi []byte // iterator bounds
	rowPfx []byte // partition prefix | kindRow
	key    []byte // scratch key
	sLo    []byte
	sHi    []byte
	hdrBuf []byte
	hdr    headerFragment
	rtBuf  []byte
	rtIv   []rtInterval
	frag   rowFragment
	row    Row
}

var readerPool = sync.Pool{New: func() any { return new(partitionReader) }}

// open builds the partition's keys and opens an iterator over it.
func (r *partitionReader) open(db *pebble.DB, table TableID, token int64, key []byte) (*pebble.Iterator, error) {
	r.part = appendPartitionPrefix(r.part[:0], table, token, key)
	r.lo = append(append(r.lo[:0], r.part...), kindHeader)
	r.hi = append(append(r.hi[:0], r.part...), kindEnd)
	r.rowPfx = append(append(r.rowPfx[:0], r.part...), kindRow)
	r.hdr.reset()
	r.rtIv = r.rtIv[:0]
	return db.NewIter(&pebble.IterOptions{LowerBound: r.lo, UpperBound: r.hi})
}

// readHeader positions it at the partition's first key and, if that is the
// header, decodes it (copying it out of the iterator) and translates its
// range tombstones into row-key intervals. It returns the iterator's
// validity.
func (r *partitionReader) readHeader(it *pebble.Iterator) (bool, error) {
	if !it.First() {
		return false, it.Error()
	}
	if k := it.Key(); len(k) != len(r.part)+1 || k[len(r.part)] != kindHeader {
		return true, nil
	}
	r.hdrBuf = append(r.hdrBuf[:0], it.Value()...)
	if err := decodeHeader(r.hdrBuf, &r.hdr); err != nil {
		return false, err
	}
	r.buildIntervals()
	return it.Next(), it.Error()
}

// buildIntervals translates r.hdr's range tombstones into row-key
// intervals (r.rtIv) under r.rowPfx.
func (r *partitionReader) buildIntervals() {
	r.rtIv = r.rtIv[:0]
	if len(r.hdr.rts) == 0 {
		return
	}
	r.rtBuf = r.rtBuf[:0]
	offs := make([]int, 0, 2*len(r.hdr.rts)) // small; only when there are RTs
	for i := range r.hdr.rts {
		r.rtBuf = appendStartKey(r.rtBuf, r.rowPfx, r.hdr.rts[i].Start)
		offs = append(offs, len(r.rtBuf))
		r.rtBuf = appendEndKey(r.rtBuf, r.rowPfx, r.hdr.rts[i].End)
		offs = append(offs, len(r.rtBuf))
	}
	start := 0
	for i := range r.hdr.rts {
		lo := r.rtBuf[start:offs[2*i]:offs[2*i]]
		hi := r.rtBuf[offs[2*i]:offs[2*i+1]:offs[2*i+1]]
		start = offs[2*i+1]
		r.rtIv = append(r.rtIv, rtInterval{lo: lo, hi: hi, del: r.hdr.rts[i].Deletion})
	}
}

// deletionAt returns the strongest partition-level deletion covering the
// row key k (the partition deletion and every covering range tombstone).
func (r *partitionReader) deletionAt(k []byte, static bool) DeletionTime {
	d := r.hdr.deletion
	if static {
		return d
	}
	for i := range r.rtIv {
		iv := &r.rtIv[i]
		if iv.del.Supersedes(d) && bytes.Compare(k, iv.lo) >= 0 && bytes.Compare(k, iv.hi) < 0 {
			d = iv.del
		}
	}
	return d
}

// liveRow fills r.row with the live content of f under the outer deletion
// d at nowSec and reports whether the row is live (a live marker or at
// least one live cell).
func (r *partitionReader) liveRow(f *rowFragment, d DeletionTime, nowSec int64) bool {
	row := &r.row
	if f.deletion.Supersedes(d) {
		d = f.deletion
	}
	row.Liveness = LivenessInfo{}
	row.Cells = row.Cells[:0]
	if l := f.liveness; !l.IsEmpty() && !d.Deletes(l.Timestamp) && !isExpired(l.ExpiresAt, nowSec) {
		row.Liveness = l
	}
	for i := range f.cells {
		c := &f.cells[i]
		if c.Tombstone || d.Deletes(c.Timestamp) || isExpired(c.ExpiresAt, nowSec) {
			continue
		}
		if c.Path != nil && len(f.complex) > 0 && complexDeletionFor(f.complex, c.Column).Deletes(c.Timestamp) {
			continue
		}
		row.Cells = append(row.Cells, *c)
	}
	return !row.Liveness.IsEmpty() || len(row.Cells) > 0
}

// ReadPartition calls fn for each live row of a partition selected by q, in
// clustering order (reverse clustering order if q.Reversed; the static row,
// when requested and live, comes first), after applying every tombstone and
// expiring TTLs at Options.Now. fn returns false to stop.
//
// The *Row and every byte slice in it are only valid during the call to fn:
// they are reused for the next row. Copy what must be kept.
func (e *Engine) ReadPartition(table TableID, token int64, key []byte, q PartitionQuery, fn func(*Row) bool) error {
	r := readerPool.Get().(*partitionReader)
	defer readerPool.Put(r)
	it, err := r.open(e.db, table, token, key)
	if err != nil {
		return err
	}
	err = r.read(it, q, e.opts.Now().Unix(), fn)
	return errors.Join(err, it.Close())
}

func (r *partitionReader) read(it *pebble.Iterator, q PartitionQuery, nowSec int64, fn func(*Row) bool) error {
	valid, err := r.readHeader(it)
	if err != nil || !valid {
		return err
	}
	if q.Static {
		r.key = append(append(r.key[:0], r.part...), kindStatic)
		if it.SeekGE(r.key) && bytes.Equal(it.Key(), r.key) {
			if err := decodeRow(it.Value(), &r.frag); err != nil {
				return err
			}
			if r.liveRow(&r.frag, r.hdr.deletion, nowSec) {
				r.row.Static = true
				r.row.Clustering = nil
				if !fn(&r.row) {
					return nil
				}
			}
		}
	}
	r.row.Static = false
	count := 0
	visit := func(k []byte, frag *rowFragment) bool { return r.emitLive(k, frag, nowSec, q.Limit, &count, fn) }
	for i := range sliceCount(&q) {
		if !r.sliceBounds(&q, i) {
			continue
		}
		if more, err := (pebbleRows{it}).rows(r, r.sLo, r.sHi, q.Reversed, visit); err != nil || !more {
			return err
		}
	}
	return nil
}

// ScanPartitions calls fn with the token and key of each partition of the
// table that has any stored data (live or not), from start up to and
// including endToken, in (token, key bytes) order, until fn returns false.
// The key is only valid during the call. Wrapping token ranges must be
// split by the caller.
func (e *Engine) ScanPartitions(table TableID, start PartitionPos, endToken int64, fn func(token int64, key []byte) bool) error {
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
	var keyBuf, seek []byte
	for valid := it.First(); valid; {
		if isEmptyValue(it.Value()) {
			// Emptied by purging, awaiting the gc pass's deletion: no data.
			valid = it.Next()
			continue
		}
		dk, err := parseDataKey(it.Key(), keyBuf)
		if err != nil {
			return errors.Join(err, it.Close())
		}
		keyBuf = dk.key
		if !fn(dk.token, dk.key) {
			break
		}
		seek = append(append(seek[:0], it.Key()[:dk.partition]...), kindEnd)
		valid = it.SeekGE(seek)
	}
	return errors.Join(it.Error(), it.Close())
}

// ReadPartitionRaw returns the partition's reconciled content including
// tombstones, as a Mutation that can be applied on another replica (read
// repair, streaming), or nil if nothing is stored. The content is
// normalized: expired cells are tombstones, data shadowed by partition or
// range deletions is omitted and tombstones already purgeable are dropped,
// so replicas with equal content produce equal mutations and Digests. The
// result owns its memory.
func (e *Engine) ReadPartitionRaw(table TableID, token int64, key []byte) (*Mutation, error) {
	r := readerPool.Get().(*partitionReader)
	defer readerPool.Put(r)
	it, err := r.open(e.db, table, token, key)
	if err != nil {
		return nil, err
	}
	m, err := r.readRaw(it, e.opts.Now().Unix(), e.gcBefore(table))
	if err = errors.Join(err, it.Close()); err != nil {
		return nil, err
	}
	if m != nil {
		m.Table, m.Token, m.Key = table, token, bytes.Clone(key)
	}
	return m, nil
}

func (r *partitionReader) readRaw(it *pebble.Iterator, nowSec, gcBefore int64) (*Mutation, error) {
	valid, err := r.readHeader(it)
	if err != nil {
		return nil, err
	}
	purgeHeader(&r.hdr, gcBefore)
	m := &Mutation{PartitionDeletion: r.hdr.deletion}
	for _, rt := range r.hdr.rts {
		rt.Start.Prefix = bytes.Clone(rt.Start.Prefix)
		rt.End.Prefix = bytes.Clone(rt.End.Prefix)
		m.RangeTombstones = append(m.RangeTombstones, rt.RangeTombstone)
	}
	for ; valid; valid = it.Next() {
		k := it.Key()
		static := k[len(r.part)] == kindStatic
		if err := decodeRow(it.Value(), &r.frag); err != nil {
			return nil, err
		}
		f := &r.frag
		expireRow(f, nowSec)
		shadowRow(f, f.deletion)
		purgeRow(f, nowSec, gcBefore)
		d := r.deletionAt(k, static)
		if !f.deletion.IsLive() && d.Deletes(f.deletion.MarkedForDeleteAt) {
			f.deletion = DeletionTime{}
		}
		shadowRow(f, d)
		if f.isEmpty() {
			continue
		}
		ru := RowUpdate{
			Static:           static,
			Liveness:         f.liveness,
			Deletion:         f.deletion,
			ComplexDeletions: slices.Clone(f.complex),
			Cells:            slices.Clone(f.cells),
		}
		if !static {
			ru.Clustering = bytes.Clone(k[len(r.rowPfx):])
		}
		for i := range ru.Cells {
			c := &ru.Cells[i]
			if c.Path != nil {
				c.Path = bytes.Clone(c.Path)
			}
			if c.Value != nil {
				c.Value = bytes.Clone(c.Value)
			}
		}
		m.Rows = append(m.Rows, ru)
	}
	if err := it.Error(); err != nil {
		return nil, err
	}
	if m.PartitionDeletion.IsLive() && len(m.RangeTombstones) == 0 && len(m.Rows) == 0 {
		return nil, nil
	}
	return m, nil
}

// Digest returns a digest of a mutation's content that is independent of
// the order of its range tombstones, rows and cells. Mutations returned by
// ReadPartitionRaw for replicas with equal content have equal digests.
//
// A nil mutation and a mutation without content (no deletion, no range
// tombstone, no non-empty row) all have the same digest, whatever their
// partition: ReadPartitionRawQuery returns nil for a partition with no
// content in the query, and an absent partition must match it.
func Digest(m *Mutation) []byte {
	if m == nil {
		return emptyDigest()
	}
	h := sha256.New()
	var buf []byte
	buf = append(buf, m.Table[:]...)
	buf = binary.BigEndian.AppendUint64(buf, uint64(m.Token))
	buf = binary.AppendUvarint(buf, uint64(len(m.Key)))
	buf = append(buf, m.Key...)
	var hdr, tmp headerFragment
	buildHeader(m, &hdr, &tmp, nil)
	buf = appendHeader(buf, &hdr)
	h.Write(buf)
	empty := hdr.isEmpty()

	order := make([]int, len(m.Rows))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return compareRowPos(&m.Rows[a], &m.Rows[b]) })
	var f, g rowFragment
	var scratch []Cell
	for i := 0; i < len(order); {
		ru := &m.Rows[order[i]]
		buildRow(ru, &f)
		j := i + 1
		for ; j < len(order) && compareRowPos(ru, &m.Rows[order[j]]) == 0; j++ {
			buildRow(&m.Rows[order[j]], &g)
			scratch = mergeRow(&f, &g, scratch)
		}
		shadowRow(&f, f.deletion)
		i = j
		if f.isEmpty() {
			continue
		}
		buf = buf[:0]
		if ru.Static {
			buf = append(buf, kindStatic)
		} else {
			buf = append(buf, kindRow)
		}
		buf = binary.AppendUvarint(buf, uint64(len(ru.Clustering)))
		buf = append(buf, ru.Clustering...)
		buf = appendRow(buf, &f)
		h.Write(buf)
		empty = false
	}
	if empty {
		return emptyDigest()
	}
	sum := h.Sum(nil)
	return sum[:16]
}

// emptyDigest is the Digest of no content.
func emptyDigest() []byte {
	sum := sha256.Sum256(nil)
	return sum[:16]
}

// compareRowPos orders rows as stored: the static row first, then by
// clustering.
func compareRowPos(a, b *RowUpdate) int {
	if a.Static != b.Static {
		if a.Static {
			return -1
		}
		return 1
	}
	return bytes.Compare(a.Clustering, b.Clustering)
}
