package storage

import (
	"bytes"
	"sort"

	"github.com/cockroachdb/pebble/v2"
)

// The engine's reads (ReadPartition, ReadPartitionRawQuery) and
// ReadMutation share one slice walk: sliceCount and sliceBounds give each
// slice of a query in read order, pebbleRows and memRowSource yield the
// stored rows inside one slice's bounds. They are concrete types (no
// interface, nothing stored) so the per-row callbacks stay on the stack.

// sliceCount is how many slices q reads (one, the whole partition, when
// q.Slices is nil).
func sliceCount(q *PartitionQuery) int { return max(len(q.Slices), 1) }

// sliceBounds sets r.sLo and r.sHi to the key bounds [lo, hi) of the i-th
// slice of q in read order (slices in order, or in reverse order when
// q.Reversed) and reports whether the slice can hold any row.
func (r *partitionReader) sliceBounds(q *PartitionQuery, i int) bool {
	s := Slice{Start: Bound{Inclusive: true}, End: Bound{Inclusive: true}}
	if len(q.Slices) > 0 {
		if q.Reversed {
			i = len(q.Slices) - 1 - i
		}
		s = q.Slices[i]
	}
	r.sLo = appendStartKey(r.sLo[:0], r.rowPfx, s.Start)
	r.sHi = appendEndKey(r.sHi[:0], r.rowPfx, s.End)
	return bytes.Compare(r.sLo, r.sHi) < 0
}

// pebbleRows yields the stored rows of the partition an iterator is
// bounded to.
type pebbleRows struct{ it *pebble.Iterator }

// rows calls fn with the key and decoded fragment of each row whose key
// is in [lo, hi), ascending or (reversed) descending, until fn returns
// false. Both are only valid during the call.
func (p pebbleRows) rows(r *partitionReader, lo, hi []byte, reversed bool, fn func([]byte, *rowFragment) bool) (bool, error) {
	it := p.it
	var ok bool
	if reversed {
		ok = it.SeekLT(hi)
	} else {
		ok = it.SeekGE(lo)
	}
	for ok {
		k := it.Key()
		if reversed {
			if bytes.Compare(k, lo) < 0 {
				break
			}
		} else if bytes.Compare(k, hi) >= 0 {
			break
		}
		if err := decodeRow(it.Value(), &r.frag); err != nil {
			return false, err
		}
		if !fn(k, &r.frag) {
			return false, nil
		}
		if reversed {
			ok = it.Prev()
		} else {
			ok = it.Next()
		}
	}
	return true, it.Error()
}

// memRowSource yields an in-memory partition's rows (sorted by
// clustering, without the static row).
type memRowSource []memRow

// rows is pebbleRows.rows over the in-memory rows.
func (m memRowSource) rows(r *partitionReader, lo, hi []byte, reversed bool, fn func([]byte, *rowFragment) bool) bool {
	first := sort.Search(len(m), func(j int) bool { return !rowBefore(m[j].clustering, lo) })
	end := sort.Search(len(m), func(j int) bool { return !rowBefore(m[j].clustering, hi) })
	for n := first; n < end; n++ {
		j := n
		if reversed {
			j = end - 1 - (n - first)
		}
		mr := &m[j]
		r.key = append(append(r.key[:0], r.rowPfx...), mr.clustering...)
		if !fn(r.key, &mr.frag) {
			return false
		}
	}
	return true
}

// emitLive passes the row at key k to fn if it is live at nowSec, counting
// it; it reports whether the read goes on (fn wants more and the count is
// below limit, 0 meaning no limit).
func (r *partitionReader) emitLive(k []byte, frag *rowFragment, nowSec int64, limit int, count *int, fn func(*Row) bool) bool {
	if !r.liveRow(frag, r.deletionAt(k, false), nowSec) {
		return true
	}
	r.row.Clustering = k[len(r.rowPfx):]
	*count++
	return fn(&r.row) && (limit <= 0 || *count < limit)
}
