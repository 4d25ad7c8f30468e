package storage

import (
	"bytes"
	"math"
)

// This file holds Cassandra's reconciliation rules. Every rule is
// commutative, associative and deterministic (ties are broken down to the
// last field), so fragments can be merged in any order and grouping and
// replicas that saw the same writes converge to identical bytes.

// compareCellKey orders cells by (Column, Path); simple cells (nil Path)
// sort before collection cells of the same column.
func compareCellKey(a, b *Cell) int {
	if a.Column != b.Column {
		if a.Column < b.Column {
			return -1
		}
		return 1
	}
	if (a.Path == nil) != (b.Path == nil) {
		if a.Path == nil {
			return -1
		}
		return 1
	}
	return bytes.Compare(a.Path, b.Path)
}

// expiry returns a live cell's expiry for comparisons, never-expiring last.
func expiry(at int64) int64 {
	if at == 0 {
		return math.MaxInt64
	}
	return at
}

// cellWins reports whether a wins over b (two versions of the same cell):
// higher timestamp; on a tie a tombstone beats a live cell, two tombstones
// compare deletion times; two live cells compare values bytewise (greater
// wins), then expiry (later wins, never-expiring latest), then TTL.
func cellWins(a, b *Cell) bool {
	if a.Timestamp != b.Timestamp {
		return a.Timestamp > b.Timestamp
	}
	if a.Tombstone != b.Tombstone {
		return a.Tombstone
	}
	if a.Tombstone {
		return a.LocalDeletionTime >= b.LocalDeletionTime
	}
	if c := bytes.Compare(a.Value, b.Value); c != 0 {
		return c > 0
	}
	if ea, eb := expiry(a.ExpiresAt), expiry(b.ExpiresAt); ea != eb {
		return ea > eb
	}
	return a.TTL >= b.TTL
}

// livenessWins reports whether row marker a wins over b: higher timestamp;
// on a tie an expiring marker beats a non-expiring one (as in Cassandra),
// then the later expiry, then the larger TTL.
func livenessWins(a, b LivenessInfo) bool {
	if a.IsEmpty() || b.IsEmpty() {
		return !a.IsEmpty()
	}
	if a.Timestamp != b.Timestamp {
		return a.Timestamp > b.Timestamp
	}
	if (a.ExpiresAt != 0) != (b.ExpiresAt != 0) {
		return a.ExpiresAt != 0
	}
	if a.ExpiresAt != b.ExpiresAt {
		return a.ExpiresAt > b.ExpiresAt
	}
	return a.TTL >= b.TTL
}

// cellDeletionTime is the local deletion time an expired cell or marker is
// given when it turns into a tombstone: its write time (ExpiresAt - TTL), as
// Cassandra does, so gc_grace counts from when the data was written. Without
// a TTL it is ExpiresAt.
func cellDeletionTime(ttl int32, expiresAt int64) int64 {
	if ttl > 0 {
		return expiresAt - int64(ttl)
	}
	return expiresAt
}

// isExpired reports whether something expiring at expiresAt is dead at
// nowSec.
func isExpired(expiresAt, nowSec int64) bool {
	return expiresAt != 0 && nowSec >= expiresAt
}

// mergeRow merges src into dst with last-write-wins per cell and returns a
// scratch slice for the next call. Shadowed data is not removed; call
// shadowRow when done merging.
func mergeRow(dst, src *rowFragment, scratch []Cell) []Cell {
	if livenessWins(src.liveness, dst.liveness) {
		dst.liveness = src.liveness
	}
	if src.deletion.Supersedes(dst.deletion) {
		dst.deletion = src.deletion
	}
	for _, c := range src.complex {
		dst.complex = mergeComplex(dst.complex, c)
	}
	if len(src.cells) == 0 {
		return scratch
	}
	if len(dst.cells) == 0 {
		dst.cells = append(dst.cells, src.cells...)
		return scratch
	}
	out := scratch[:0]
	a, b := dst.cells, src.cells
	for len(a) > 0 && len(b) > 0 {
		switch c := compareCellKey(&a[0], &b[0]); {
		case c < 0:
			out = append(out, a[0])
			a = a[1:]
		case c > 0:
			out = append(out, b[0])
			b = b[1:]
		default:
			if cellWins(&a[0], &b[0]) {
				out = append(out, a[0])
			} else {
				out = append(out, b[0])
			}
			a, b = a[1:], b[1:]
		}
	}
	out = append(out, a...)
	out = append(out, b...)
	scratch = dst.cells[:0]
	dst.cells = out
	return scratch
}

// mergeComplex adds c to a Column-sorted list, keeping the winning deletion.
func mergeComplex(list []ComplexDeletion, c ComplexDeletion) []ComplexDeletion {
	i := 0
	for i < len(list) && list[i].Column < c.Column {
		i++
	}
	if i < len(list) && list[i].Column == c.Column {
		if c.Deletion.Supersedes(list[i].Deletion) {
			list[i].Deletion = c.Deletion
		}
		return list
	}
	list = append(list, ComplexDeletion{})
	copy(list[i+1:], list[i:])
	list[i] = c
	return list
}

// complexDeletionFor returns the complex deletion of column col, if any.
func complexDeletionFor(list []ComplexDeletion, col uint32) DeletionTime {
	for _, c := range list {
		if c.Column == col {
			return c.Deletion
		}
		if c.Column > col {
			break
		}
	}
	return DeletionTime{}
}

// shadowRow removes everything in f shadowed by deletion d (the row's own
// deletion or a wider one): the marker, cells and complex deletions with
// timestamps <= d, and collection cells shadowed by their complex deletion.
// It never removes f.deletion itself. It reports whether anything was
// removed.
func shadowRow(f *rowFragment, d DeletionTime) bool {
	changed := false
	if !f.liveness.IsEmpty() && d.Deletes(f.liveness.Timestamp) {
		f.liveness = LivenessInfo{}
		changed = true
	}
	cx := f.complex[:0]
	for _, c := range f.complex {
		if d.Deletes(c.Deletion.MarkedForDeleteAt) {
			changed = true
			continue
		}
		cx = append(cx, c)
	}
	f.complex = cx
	out := f.cells[:0]
	for i := range f.cells {
		c := &f.cells[i]
		if d.Deletes(c.Timestamp) {
			changed = true
			continue
		}
		if c.Path != nil && len(f.complex) > 0 && complexDeletionFor(f.complex, c.Column).Deletes(c.Timestamp) {
			changed = true
			continue
		}
		out = append(out, *c)
	}
	f.cells = out
	return changed
}

// expireRow turns cells expired at nowSec into tombstones (dropping their
// values). It reports whether anything changed.
func expireRow(f *rowFragment, nowSec int64) bool {
	changed := false
	for i := range f.cells {
		c := &f.cells[i]
		if !c.Tombstone && isExpired(c.ExpiresAt, nowSec) {
			*c = Cell{
				Column:            c.Column,
				Path:              c.Path,
				Timestamp:         c.Timestamp,
				Tombstone:         true,
				LocalDeletionTime: cellDeletionTime(c.TTL, c.ExpiresAt),
			}
			changed = true
		}
	}
	return changed
}

// purgeRow drops tombstones (row, complex, cell) and expired markers whose
// local deletion time is before gcBefore. It may only be applied to a
// fragment holding all of a key's data (Pebble's includesBase), after
// shadowRow. It reports whether anything was dropped.
func purgeRow(f *rowFragment, nowSec, gcBefore int64) bool {
	changed := false
	if !f.deletion.IsLive() && f.deletion.LocalDeletionTime < gcBefore {
		f.deletion = DeletionTime{}
		changed = true
	}
	if l := f.liveness; isExpired(l.ExpiresAt, nowSec) && cellDeletionTime(l.TTL, l.ExpiresAt) < gcBefore {
		f.liveness = LivenessInfo{}
		changed = true
	}
	cx := f.complex[:0]
	for _, c := range f.complex {
		if c.Deletion.LocalDeletionTime < gcBefore {
			changed = true
			continue
		}
		cx = append(cx, c)
	}
	f.complex = cx
	out := f.cells[:0]
	for i := range f.cells {
		if f.cells[i].Tombstone && f.cells[i].LocalDeletionTime < gcBefore {
			changed = true
			continue
		}
		out = append(out, f.cells[i])
	}
	f.cells = out
	return changed
}

// rowNeedsGC reports whether f holds anything purgeRow or expireRow would
// remove or rewrite at (nowSec, gcBefore).
func rowNeedsGC(f *rowFragment, nowSec, gcBefore int64) bool {
	if !f.deletion.IsLive() && f.deletion.LocalDeletionTime < gcBefore {
		return true
	}
	if l := f.liveness; isExpired(l.ExpiresAt, nowSec) && cellDeletionTime(l.TTL, l.ExpiresAt) < gcBefore {
		return true
	}
	for _, c := range f.complex {
		if c.Deletion.LocalDeletionTime < gcBefore {
			return true
		}
	}
	for i := range f.cells {
		c := &f.cells[i]
		if c.Tombstone && c.LocalDeletionTime < gcBefore {
			return true
		}
		if !c.Tombstone && isExpired(c.ExpiresAt, nowSec) {
			return true
		}
	}
	return false
}

// isNormalBound reports whether b is in canonical form: an unbounded
// (empty) prefix is always stored as inclusive.
func isNormalBound(b Bound) bool { return len(b.Prefix) > 0 || b.Inclusive }

// normalizeBound returns b in canonical form.
func normalizeBound(b Bound) Bound {
	if len(b.Prefix) == 0 {
		return Bound{Prefix: nil, Inclusive: true}
	}
	return b
}

func compareBound(a, b Bound) int {
	if c := bytes.Compare(a.Prefix, b.Prefix); c != 0 {
		return c
	}
	switch {
	case a.Inclusive == b.Inclusive:
		return 0
	case a.Inclusive:
		return -1
	default:
		return 1
	}
}

// compareRT orders range tombstones by their bounds only.
func compareRT(a, b *RangeTombstone) int {
	if c := compareBound(a.Start, b.Start); c != 0 {
		return c
	}
	return compareBound(a.End, b.End)
}

// mergeHeader merges src into dst: the winning partition deletion, the union
// of range tombstones (the winning deletion for equal bounds), minus range
// tombstones shadowed by the partition deletion. scratch is returned for
// reuse.
func mergeHeader(dst, src *headerFragment, scratch []rtEntry) []rtEntry {
	switch {
	case src.deletion.Supersedes(dst.deletion):
		dst.deletion, dst.pushed = src.deletion, src.pushed
	case src.deletion == dst.deletion:
		dst.pushed = dst.pushed || src.pushed
	}
	if len(src.rts) > 0 {
		out := scratch[:0]
		a, b := dst.rts, src.rts
		for len(a) > 0 && len(b) > 0 {
			switch c := compareRT(&a[0].RangeTombstone, &b[0].RangeTombstone); {
			case c < 0:
				out = append(out, a[0])
				a = a[1:]
			case c > 0:
				out = append(out, b[0])
				b = b[1:]
			default:
				w := a[0]
				switch {
				case b[0].Deletion.Supersedes(w.Deletion):
					w = b[0]
				case b[0].Deletion == w.Deletion:
					w.pushed = w.pushed || b[0].pushed
				}
				out = append(out, w)
				a, b = a[1:], b[1:]
			}
		}
		out = append(out, a...)
		out = append(out, b...)
		scratch = dst.rts[:0]
		dst.rts = out
	}
	if !dst.deletion.IsLive() {
		out := dst.rts[:0]
		for _, rt := range dst.rts {
			if !dst.deletion.Deletes(rt.Deletion.MarkedForDeleteAt) {
				out = append(out, rt)
			}
		}
		dst.rts = out
	}
	return scratch
}

// purgeHeader drops pushed-down deletions older than gcBefore (see
// rtEntry.pushed). It reports whether anything was dropped.
func purgeHeader(h *headerFragment, gcBefore int64) bool {
	changed := false
	if !h.deletion.IsLive() && h.pushed && h.deletion.LocalDeletionTime < gcBefore {
		h.deletion, h.pushed = DeletionTime{}, false
		changed = true
	}
	out := h.rts[:0]
	for _, rt := range h.rts {
		if rt.pushed && rt.Deletion.LocalDeletionTime < gcBefore {
			changed = true
			continue
		}
		out = append(out, rt)
	}
	h.rts = out
	return changed
}

// appendStartKey appends the first row key of a slice or range tombstone
// starting at b, given the partition's row prefix (partition prefix |
// kindRow). An exclusive start on an all-0xFF prefix carries into the kind
// byte and yields the partition's end, which is the intended empty range.
func appendStartKey(dst, rowPrefix []byte, b Bound) []byte {
	dst = append(dst, rowPrefix...)
	if len(b.Prefix) == 0 {
		return dst
	}
	dst = append(dst, b.Prefix...)
	if b.Inclusive {
		return dst
	}
	s, _ := appendPrefixSuccessor(dst[:0], dst) // in place: successor is never longer
	return s
}

// appendEndKey appends the exclusive upper row key of a range ending at b.
func appendEndKey(dst, rowPrefix []byte, b Bound) []byte {
	dst = append(dst, rowPrefix...)
	if len(b.Prefix) == 0 {
		dst[len(dst)-1] = kindEnd
		return dst
	}
	dst = append(dst, b.Prefix...)
	if !b.Inclusive {
		return dst
	}
	s, _ := appendPrefixSuccessor(dst[:0], dst)
	return s
}
