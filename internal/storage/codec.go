package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// formatV1 is the leading byte of every stored value (row fragments and
// partition headers). A future format gets a new byte; decoders reject
// unknown ones.
const formatV1 byte = 1

// rowFragment is the decoded form of a row value: a full row or a part of
// one written by a single mutation. Cells are sorted by (Column, Path) and
// unique; Path and Value alias the decoded buffer.
type rowFragment struct {
	liveness LivenessInfo
	deletion DeletionTime
	complex  []ComplexDeletion // sorted by Column, unique
	cells    []Cell
}

func (f *rowFragment) reset() {
	f.liveness = LivenessInfo{}
	f.deletion = DeletionTime{}
	f.complex = f.complex[:0]
	f.cells = f.cells[:0]
}

func (f *rowFragment) isEmpty() bool {
	return f.liveness.IsEmpty() && f.deletion.IsLive() && len(f.complex) == 0 && len(f.cells) == 0
}

// rtEntry is a stored range tombstone. pushed records that the GC pass has
// copied the deletion into every row it covers, after which compaction may
// purge it once it is older than gc_grace.
type rtEntry struct {
	RangeTombstone
	pushed bool
}

// headerFragment is the decoded form of a partition header value.
type headerFragment struct {
	deletion DeletionTime
	pushed   bool      // see rtEntry.pushed
	rts      []rtEntry // sorted by compareRT, unique bounds
}

func (h *headerFragment) reset() {
	h.deletion = DeletionTime{}
	h.pushed = false
	h.rts = h.rts[:0]
}

func (h *headerFragment) isEmpty() bool { return h.deletion.IsLive() && len(h.rts) == 0 }

// Row value layout (format 1), integers are varints unless noted:
//
//	format byte (1) | flags byte
//	[flags&1] liveness: ts, ttl (uvarint), expiresAt
//	[flags&2] deletion: markedForDeleteAt, localDeletionTime
//	[flags&4] complex deletions: count (uvarint), then column (uvarint), mfda, ldt
//	[flags&8] cells: count (uvarint), then per cell:
//	    column (uvarint) | cell flags byte (1 path, 2 tombstone, 4 expiring)
//	    [path: len (uvarint), bytes] | timestamp
//	    [expiring: ttl (uvarint), expiresAt] | [tombstone: ldt] | [live: len (uvarint), value]
const (
	rowHasLiveness = 1 << iota
	rowHasDeletion
	rowHasComplex
	rowHasCells
)

const (
	cellHasPath = 1 << iota
	cellTombstone
	cellExpiring
)

// appendRow encodes f. Cells must be sorted and unique.
func appendRow(dst []byte, f *rowFragment) []byte {
	var flags byte
	if !f.liveness.IsEmpty() {
		flags |= rowHasLiveness
	}
	if !f.deletion.IsLive() {
		flags |= rowHasDeletion
	}
	if len(f.complex) > 0 {
		flags |= rowHasComplex
	}
	if len(f.cells) > 0 {
		flags |= rowHasCells
	}
	dst = append(dst, formatV1, flags)
	if flags&rowHasLiveness != 0 {
		dst = binary.AppendVarint(dst, f.liveness.Timestamp)
		dst = binary.AppendUvarint(dst, uint64(uint32(f.liveness.TTL)))
		dst = binary.AppendVarint(dst, f.liveness.ExpiresAt)
	}
	if flags&rowHasDeletion != 0 {
		dst = appendDeletion(dst, f.deletion)
	}
	if flags&rowHasComplex != 0 {
		dst = binary.AppendUvarint(dst, uint64(len(f.complex)))
		for _, c := range f.complex {
			dst = binary.AppendUvarint(dst, uint64(c.Column))
			dst = appendDeletion(dst, c.Deletion)
		}
	}
	if flags&rowHasCells != 0 {
		dst = binary.AppendUvarint(dst, uint64(len(f.cells)))
		for i := range f.cells {
			dst = appendCell(dst, &f.cells[i])
		}
	}
	return dst
}

func appendDeletion(dst []byte, d DeletionTime) []byte {
	dst = binary.AppendVarint(dst, d.MarkedForDeleteAt)
	return binary.AppendVarint(dst, d.LocalDeletionTime)
}

func appendCell(dst []byte, c *Cell) []byte {
	dst = binary.AppendUvarint(dst, uint64(c.Column))
	var flags byte
	if c.Path != nil {
		flags |= cellHasPath
	}
	if c.Tombstone {
		flags |= cellTombstone
	} else if c.ExpiresAt != 0 {
		flags |= cellExpiring
	}
	dst = append(dst, flags)
	if c.Path != nil {
		dst = binary.AppendUvarint(dst, uint64(len(c.Path)))
		dst = append(dst, c.Path...)
	}
	dst = binary.AppendVarint(dst, c.Timestamp)
	switch {
	case c.Tombstone:
		dst = binary.AppendVarint(dst, c.LocalDeletionTime)
	default:
		if flags&cellExpiring != 0 {
			dst = binary.AppendUvarint(dst, uint64(uint32(c.TTL)))
			dst = binary.AppendVarint(dst, c.ExpiresAt)
		}
		dst = binary.AppendUvarint(dst, uint64(len(c.Value)))
		dst = append(dst, c.Value...)
	}
	return dst
}

// decoder reads a value; the first error sticks and later reads return zero.
type decoder struct {
	b   []byte
	err error
}

var errCorrupt = errors.New("storage: corrupt value")

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: bad %s", errCorrupt, what)
	}
}

func (d *decoder) varint(what string) int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail(what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail(what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) uint32(what string) uint32 {
	v := d.uvarint(what)
	if v > 0xFFFFFFFF {
		d.fail(what)
		return 0
	}
	return uint32(v)
}

func (d *decoder) byte(what string) byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.fail(what)
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

// bytes returns a length-prefixed byte string aliasing the input.
func (d *decoder) bytes(what string) []byte {
	n := d.uvarint(what)
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.fail(what)
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

// count reads an element count, rejecting counts that cannot fit in the
// remaining input (each element takes at least min bytes).
func (d *decoder) count(what string, min int) int {
	n := d.uvarint(what)
	if d.err != nil {
		return 0
	}
	if n > uint64(len(d.b)/min) {
		d.fail(what)
		return 0
	}
	return int(n)
}

func (d *decoder) deletion(what string) DeletionTime {
	return DeletionTime{MarkedForDeleteAt: d.varint(what), LocalDeletionTime: d.varint(what)}
}

// decodeRow decodes a row value into f (reusing its slices). The result
// aliases b. It validates cell order, so a decoded fragment can be merged.
func decodeRow(b []byte, f *rowFragment) error {
	f.reset()
	d := decoder{b: b}
	if v := d.byte("format"); d.err == nil && v != formatV1 {
		return fmt.Errorf("%w: unknown row format %d", errCorrupt, v)
	}
	flags := d.byte("row flags")
	if flags&^(rowHasLiveness|rowHasDeletion|rowHasComplex|rowHasCells) != 0 {
		d.fail("row flags")
	}
	if flags&rowHasLiveness != 0 {
		f.liveness.Timestamp = d.varint("liveness")
		f.liveness.TTL = int32(d.uint32("liveness ttl"))
		f.liveness.ExpiresAt = d.varint("liveness")
		if d.err == nil && f.liveness.IsEmpty() {
			d.fail("liveness")
		}
	}
	if flags&rowHasDeletion != 0 {
		f.deletion = d.deletion("row deletion")
		if d.err == nil && f.deletion.IsLive() {
			d.fail("row deletion")
		}
	}
	if flags&rowHasComplex != 0 {
		n := d.count("complex deletions", 3)
		for i := 0; i < n && d.err == nil; i++ {
			c := ComplexDeletion{Column: d.uint32("complex column"), Deletion: d.deletion("complex deletion")}
			if i > 0 && c.Column <= f.complex[i-1].Column {
				d.fail("complex deletion order")
			}
			f.complex = append(f.complex, c)
		}
	}
	if flags&rowHasCells != 0 {
		n := d.count("cells", 3)
		for i := 0; i < n && d.err == nil; i++ {
			f.cells = append(f.cells, Cell{})
			c := &f.cells[len(f.cells)-1]
			c.Column = d.uint32("cell column")
			cf := d.byte("cell flags")
			if cf&^(cellHasPath|cellTombstone|cellExpiring) != 0 || cf&(cellTombstone|cellExpiring) == cellTombstone|cellExpiring {
				d.fail("cell flags")
			}
			if cf&cellHasPath != 0 {
				c.Path = d.bytes("cell path")
				if c.Path == nil && d.err == nil {
					c.Path = []byte{}
				}
			}
			c.Timestamp = d.varint("cell timestamp")
			if cf&cellTombstone != 0 {
				c.Tombstone = true
				c.LocalDeletionTime = d.varint("cell deletion time")
			} else {
				if cf&cellExpiring != 0 {
					c.TTL = int32(d.uint32("cell ttl"))
					c.ExpiresAt = d.varint("cell expiry")
					if c.ExpiresAt == 0 && d.err == nil {
						d.fail("cell expiry")
					}
				}
				c.Value = d.bytes("cell value")
			}
			if i > 0 && d.err == nil && compareCellKey(&f.cells[i-1], c) >= 0 {
				d.fail("cell order")
			}
		}
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("trailing bytes")
	}
	return d.err
}

// Header value layout (format 1):
//
//	format byte (1) | flags byte (1 partition deletion, 2 pushed, 4 range tombstones)
//	[flags&1] partition deletion: mfda, ldt
//	[flags&4] count (uvarint), then per range tombstone:
//	    flags byte (1 start inclusive, 2 end inclusive, 4 pushed)
//	    start prefix (len, bytes) | end prefix (len, bytes) | mfda | ldt
const (
	hdrHasDeletion = 1 << iota
	hdrPushed
	hdrHasRTs
)

const (
	rtStartInclusive = 1 << iota
	rtEndInclusive
	rtPushed
)

// appendHeader encodes h. Range tombstones must be normalized and sorted.
func appendHeader(dst []byte, h *headerFragment) []byte {
	var flags byte
	if !h.deletion.IsLive() {
		flags |= hdrHasDeletion
		if h.pushed {
			flags |= hdrPushed
		}
	}
	if len(h.rts) > 0 {
		flags |= hdrHasRTs
	}
	dst = append(dst, formatV1, flags)
	if flags&hdrHasDeletion != 0 {
		dst = appendDeletion(dst, h.deletion)
	}
	if flags&hdrHasRTs != 0 {
		dst = binary.AppendUvarint(dst, uint64(len(h.rts)))
		for i := range h.rts {
			rt := &h.rts[i]
			var f byte
			if rt.Start.Inclusive {
				f |= rtStartInclusive
			}
			if rt.End.Inclusive {
				f |= rtEndInclusive
			}
			if rt.pushed {
				f |= rtPushed
			}
			dst = append(dst, f)
			dst = binary.AppendUvarint(dst, uint64(len(rt.Start.Prefix)))
			dst = append(dst, rt.Start.Prefix...)
			dst = binary.AppendUvarint(dst, uint64(len(rt.End.Prefix)))
			dst = append(dst, rt.End.Prefix...)
			dst = appendDeletion(dst, rt.Deletion)
		}
	}
	return dst
}

// decodeHeader decodes a partition header value into h (reusing its slices);
// the result aliases b.
func decodeHeader(b []byte, h *headerFragment) error {
	h.reset()
	d := decoder{b: b}
	if v := d.byte("format"); d.err == nil && v != formatV1 {
		return fmt.Errorf("%w: unknown header format %d", errCorrupt, v)
	}
	flags := d.byte("header flags")
	if flags&^(hdrHasDeletion|hdrPushed|hdrHasRTs) != 0 || flags&(hdrHasDeletion|hdrPushed) == hdrPushed {
		d.fail("header flags")
	}
	if flags&hdrHasDeletion != 0 {
		h.deletion = d.deletion("partition deletion")
		h.pushed = flags&hdrPushed != 0
		if d.err == nil && h.deletion.IsLive() {
			d.fail("partition deletion")
		}
	}
	if flags&hdrHasRTs != 0 {
		n := d.count("range tombstones", 5)
		for i := 0; i < n && d.err == nil; i++ {
			f := d.byte("range tombstone flags")
			if f&^(rtStartInclusive|rtEndInclusive|rtPushed) != 0 {
				d.fail("range tombstone flags")
			}
			var rt rtEntry
			rt.Start.Prefix = d.bytes("range tombstone start")
			rt.End.Prefix = d.bytes("range tombstone end")
			rt.Start.Inclusive = f&rtStartInclusive != 0
			rt.End.Inclusive = f&rtEndInclusive != 0
			rt.pushed = f&rtPushed != 0
			rt.Deletion = d.deletion("range tombstone deletion")
			if d.err == nil && (rt.Deletion.IsLive() || !isNormalBound(rt.Start) || !isNormalBound(rt.End)) {
				d.fail("range tombstone")
			}
			if i > 0 && d.err == nil && compareRT(&h.rts[i-1].RangeTombstone, &rt.RangeTombstone) >= 0 {
				d.fail("range tombstone order")
			}
			h.rts = append(h.rts, rt)
		}
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("trailing bytes")
	}
	return d.err
}
