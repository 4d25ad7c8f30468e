package storage

import (
	"io"
	"sync"

	"github.com/cockroachdb/pebble/v2"
)

// mergerName is stored by Pebble in the OPTIONS file; opening a store
// written with another merger fails, which is what we want.
const mergerName = "ringdb.storage.v1"

// valueMerger is the Pebble ValueMerger for data keys. It buffers the
// operands (Pebble keeps ownership of them) and folds them in Finish with
// the reconciliation rules of reconcile.go, which are order-insensitive, so
// MergeNewer and MergeOlder are the same operation.
//
// It never purges tombstones (see Finish and doc.go): the gc pass does.
//
// A valueMerger is its own io.Closer: the returned value stays valid until
// Close, which recycles the merger.
type valueMerger struct {
	e     *Engine
	kind  byte
	table TableID
	arena []byte // concatenated operands
	ends  []int  // end offset of each operand in arena

	row, tmp  rowFragment
	cells     []Cell
	hdr, htmp headerFragment
	rts       []rtEntry
	out       []byte
}

var mergerPool = sync.Pool{New: func() any { return new(valueMerger) }}

// merge is the pebble.Merge function.
func (e *Engine) merge(key, value []byte) (pebble.ValueMerger, error) {
	table, kind, err := kindOf(key)
	if err != nil {
		return nil, err
	}
	m := mergerPool.Get().(*valueMerger)
	m.e, m.kind, m.table = e, kind, table
	m.add(value)
	return m, nil
}

func (m *valueMerger) add(v []byte) {
	m.arena = append(m.arena, v...)
	m.ends = append(m.ends, len(m.arena))
}

func (m *valueMerger) operand(i int) []byte {
	start := 0
	if i > 0 {
		start = m.ends[i-1]
	}
	return m.arena[start:m.ends[i]:m.ends[i]]
}

// MergeNewer implements pebble.ValueMerger.
func (m *valueMerger) MergeNewer(value []byte) error { m.add(value); return nil }

// MergeOlder implements pebble.ValueMerger.
func (m *valueMerger) MergeOlder(value []byte) error { m.add(value); return nil }

// emptyFragment is the value of a key left with no data: format byte and
// no flags, valid as both an empty row and an empty header.
var emptyFragment = []byte{formatV1, 0}

// isEmptyValue reports whether a stored value is emptyFragment.
func isEmptyValue(v []byte) bool { return len(v) == 2 && v[0] == formatV1 && v[1] == 0 }

// Finish implements pebble.ValueMerger.
//
// A key left empty by purging is returned as emptyFragment rather than
// deleted through pebble.DeletableValueMerger: Pebble v2.1.7's compaction
// iterator breaks (assertion "skip=true, but iterator is at iterPosNext")
// when a merge that reached a SET reports deletion. The gc pass deletes
// empty keys with point deletions instead.
//
// The merger never purges tombstones, even when Pebble reports
// includesBase: a compaction may leave newer operands of the key in other
// files (a newer L0 file), and one of them may carry an older write
// timestamp than the tombstone, which purging would resurrect. Purging is
// done by the gc pass (gc.go), which reads the key's full merged view under
// the lock that blocks writes and replaces it with a SET.
func (m *valueMerger) Finish(includesBase bool) ([]byte, io.Closer, error) {
	now := m.e.opts.Now()
	nowSec := now.Unix()
	changed := len(m.ends) > 1
	if m.kind == kindHeader {
		if err := decodeHeader(m.operand(0), &m.hdr); err != nil {
			return nil, nil, err
		}
		for i := 1; i < len(m.ends); i++ {
			if err := decodeHeader(m.operand(i), &m.htmp); err != nil {
				return nil, nil, err
			}
			m.rts = mergeHeader(&m.hdr, &m.htmp, m.rts)
		}
		if !changed {
			return m.operand(0), m, nil
		}
		m.out = appendHeader(m.out[:0], &m.hdr)
		return m.out, m, nil
	}

	// Expired cells become tombstones before reconciling, so that on a
	// timestamp tie an expired cell beats a live one as in Cassandra.
	if err := decodeRow(m.operand(0), &m.row); err != nil {
		return nil, nil, err
	}
	changed = expireRow(&m.row, nowSec) || changed
	for i := 1; i < len(m.ends); i++ {
		if err := decodeRow(m.operand(i), &m.tmp); err != nil {
			return nil, nil, err
		}
		expireRow(&m.tmp, nowSec)
		m.cells = mergeRow(&m.row, &m.tmp, m.cells)
	}
	changed = shadowRow(&m.row, m.row.deletion) || changed
	if !changed {
		return m.operand(0), m, nil
	}
	m.out = appendRow(m.out[:0], &m.row)
	return m.out, m, nil
}

// maxPooledArena bounds the memory a pooled merger keeps.
const maxPooledArena = 1 << 20

// Close implements io.Closer: it recycles m.
func (m *valueMerger) Close() error {
	if cap(m.arena) > maxPooledArena || cap(m.out) > maxPooledArena {
		return nil
	}
	m.e = nil
	m.arena = m.arena[:0]
	m.ends = m.ends[:0]
	m.row.reset()
	m.tmp.reset()
	m.hdr.reset()
	m.htmp.reset()
	m.out = m.out[:0]
	mergerPool.Put(m)
	return nil
}
