package storage

import (
	"bytes"
	"errors"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// gcBefore returns the unix second before which a table's tombstones are
// purgeable (now - gc_grace_seconds).
func (e *Engine) gcBefore(table TableID) int64 {
	return e.opts.Now().Unix() - int64(e.opts.GCGrace(table)/time.Second)
}

// gcOpsPerBatch bounds the operations the gc pass writes per locked batch.
const gcOpsPerBatch = 1024

// gcOp is one write of the gc pass.
type gcOp struct {
	header   bool // a partition header (else a row)
	kind     gcOpKind
	key, val []byte
	push     DeletionTime // gcDeleteRow: the deletion pushed into the row
	gcBefore int64
}

type gcOpKind uint8

const (
	gcMerge        gcOpKind = iota // blind merge of val
	gcDeleteRow                    // delete the row if, re-read, it is empty after push and purge
	gcDeleteHeader                 // delete the header if, re-read, it is empty after purge
)

// gcPass prepares everything older than gc_grace for purging. The merger can
// purge a key's own tombstones only while it merges that key, and it cannot
// see deletions stored in other keys. So for every key the pass reads
// (through the merger, at the current time):
//
//   - a partition header with a partition deletion or range tombstones
//     older than gc_grace not yet pushed down: each row they cover gets the
//     deletion merged in as a row deletion (from which the row's merger
//     purges it with the data it shadows); then the header gets the same
//     deletions merged in again marked pushed, which lets its merger purge
//     them. Header writes follow their rows' writes (in the same or a later
//     batch), so a pushed mark is never applied before its pushdown.
//   - a row still holding purgeable tombstones or expired cells (a value
//     compaction left as a plain SET, which the merger never revisits) gets
//     an empty fragment merged in, so the next compaction merges it again
//     with includesBase and purges.
//   - a key that is, or after the above would be, empty is deleted with a
//     point deletion. Deletions are not blind: they are decided again on a
//     fresh read while e.gcMu blocks Apply, so a concurrent write is never
//     lost.
func (e *Engine) gcPass() error {
	it, err := e.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixData}, UpperBound: []byte{prefixData + 1}})
	if err != nil {
		return err
	}
	err = e.gcIter(it)
	return errors.Join(err, it.Close())
}

func (e *Engine) gcIter(it *pebble.Iterator) error {
	nowSec := e.opts.Now().Unix()
	var (
		ops       []gcOp
		hdrOp     *gcOp // pending header op, written after its partition's rows
		keyBuf    []byte
		table     TableID
		haveTable bool
		gcBefore  int64
		r         partitionReader // r.hdr/r.rtIv: deletions to push down in r.part
		frag      rowFragment
	)
	flushHeader := func() {
		if hdrOp != nil {
			ops = append(ops, *hdrOp)
			hdrOp = nil
		}
	}
	for valid := it.First(); valid; valid = it.Next() {
		k := it.Key()
		dk, err := parseDataKey(k, keyBuf)
		if err != nil {
			return err
		}
		keyBuf = dk.key
		if !haveTable || dk.table != table {
			table, haveTable = dk.table, true
			gcBefore = nowSec - int64(e.opts.GCGrace(table)/time.Second)
		}
		if !bytes.Equal(k[:dk.partition], r.part) {
			flushHeader()
			if len(ops) >= gcOpsPerBatch {
				if err := e.gcApply(ops, nowSec); err != nil {
					return err
				}
				ops = ops[:0]
			}
			r.part = append(r.part[:0], k[:dk.partition]...)
			r.rowPfx = append(append(r.rowPfx[:0], r.part...), kindRow)
			r.hdr.reset()
			r.rtIv, r.rtBuf = r.rtIv[:0], r.rtBuf[:0]
		}
		if dk.kind == kindHeader {
			var h headerFragment // aliases the iterator's value until encoded below
			if err := decodeHeader(it.Value(), &h); err != nil {
				return err
			}
			// Deletions to push down: purgeable and not yet pushed.
			if !h.deletion.IsLive() && h.deletion.LocalDeletionTime < gcBefore && !h.pushed {
				r.hdr.deletion = h.deletion
			}
			for _, rt := range h.rts {
				if rt.Deletion.LocalDeletionTime < gcBefore && !rt.pushed {
					lo := appendStartKey(nil, r.rowPfx, rt.Start)
					hi := appendEndKey(nil, r.rowPfx, rt.End)
					r.rtIv = append(r.rtIv, rtInterval{lo: lo, hi: hi, del: rt.Deletion})
				}
			}
			if !markPurgeable(&h, gcBefore) && !h.isEmpty() {
				continue
			}
			op := gcOp{header: true, kind: gcMerge, key: bytes.Clone(k), gcBefore: gcBefore, val: appendHeader(nil, &h)}
			if purgeHeader(&h, gcBefore); h.isEmpty() {
				op.kind, op.val = gcDeleteHeader, nil
			}
			hdrOp = &op
			continue
		}
		push := r.deletionAt(k, dk.kind == kindStatic)
		if err := decodeRow(it.Value(), &frag); err != nil {
			return err
		}
		if push.IsLive() && !frag.isEmpty() && !rowNeedsGC(&frag, nowSec, gcBefore) {
			continue
		}
		op := gcOp{kind: gcMerge, key: bytes.Clone(k), push: push, gcBefore: gcBefore}
		if rowGC(&frag, push, nowSec, gcBefore) {
			op.kind = gcDeleteRow
		} else if push.IsLive() {
			op.val = emptyFragment
		} else {
			op.val = appendRow(nil, &rowFragment{deletion: push})
		}
		ops = append(ops, op)
	}
	if err := it.Error(); err != nil {
		return err
	}
	flushHeader()
	return e.gcApply(ops, nowSec)
}

// markPurgeable marks every deletion of h older than gcBefore pushed and
// reports whether there was any.
func markPurgeable(h *headerFragment, gcBefore int64) bool {
	any := false
	if !h.deletion.IsLive() && h.deletion.LocalDeletionTime < gcBefore {
		h.pushed, any = true, true
	}
	for i := range h.rts {
		if h.rts[i].Deletion.LocalDeletionTime < gcBefore {
			h.rts[i].pushed, any = true, true
		}
	}
	return any
}

// rowGC applies to f what the merger will do once push is merged in and
// the key is compacted with includesBase, and reports whether nothing is
// left.
func rowGC(f *rowFragment, push DeletionTime, nowSec, gcBefore int64) bool {
	expireRow(f, nowSec)
	if push.Supersedes(f.deletion) {
		f.deletion = push
	}
	shadowRow(f, f.deletion)
	purgeRow(f, nowSec, gcBefore)
	return f.isEmpty()
}

// gcApply rewrites the keys of ops in one batch while holding e.gcMu, so
// that no concurrent Apply can slip between the read and the write: each
// key is read through all levels (its full merged history), the pushed-down
// deletions are applied and everything older than gc_grace is purged, and
// the result replaces the key with a SET (or a point deletion when nothing
// is left). A SET shadows every older operand of the key, so compactions
// then drop them; writes after the lock merge on top as usual.
func (e *Engine) gcApply(ops []gcOp, nowSec int64) error {
	if len(ops) == 0 {
		return nil
	}
	e.gcMu.Lock()
	defer e.gcMu.Unlock()
	b := e.db.NewBatch()
	defer b.Close()
	var frag rowFragment
	var h headerFragment
	for i := range ops {
		op := &ops[i]
		v, closer, err := e.db.Get(op.key)
		if errors.Is(err, pebble.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		var empty bool
		var val []byte
		if op.header {
			err = decodeHeader(v, &h)
			if err == nil {
				markPurgeable(&h, op.gcBefore)
				purgeHeader(&h, op.gcBefore)
				if empty = h.isEmpty(); !empty {
					val = appendHeader(nil, &h)
				}
			}
		} else {
			err = decodeRow(v, &frag)
			if err == nil {
				if empty = rowGC(&frag, op.push, nowSec, op.gcBefore); !empty {
					val = appendRow(nil, &frag)
				}
			}
		}
		err = errors.Join(err, closer.Close())
		if err != nil {
			return err
		}
		if empty {
			err = b.Delete(op.key, nil)
		} else {
			err = b.Set(op.key, val, nil)
		}
		if err != nil {
			return err
		}
	}
	return b.Commit(pebble.NoSync)
}
