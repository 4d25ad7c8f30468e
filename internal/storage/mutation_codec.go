package storage

import (
	"encoding/binary"
	"fmt"
	"slices"
)

// MaxMutationSize is the largest encoded mutation DecodeMutation accepts
// (64 MiB). Senders should check len(EncodeMutation(...)) against it.
const MaxMutationSize = 64 << 20

// mutationV1 is the leading byte of a mutation encoded by EncodeMutation.
// A future encoding gets a new byte; DecodeMutation rejects unknown ones.
const mutationV1 byte = 1

// Mutation wire layout (version 1). Integers are varints unless noted;
// "ts" fields are zigzag deltas from the previous ts field, "sec" fields
// zigzag deltas from the previous sec field (both chains start at 0), so
// the timestamps a mutation repeats cost one byte each.
//
//	version (1) | table (16) | token (8, big-endian) | key (len, bytes)
//	| flags (1: partition deletion)
//	[flags&1] partition deletion: mfda ts, ldt sec
//	range tombstone count, then per range tombstone:
//	    flags (1 start inclusive, 2 end inclusive)
//	    start prefix (len, bytes) | end prefix (len, bytes) | mfda ts | ldt sec
//	row count, then per row:
//	    flags (1 static, 2 liveness, 4 deletion, 8 complex, 16 cells)
//	    clustering (len, bytes)
//	    [2] liveness: ts, ttl (uvarint), expiresAt sec
//	    [4] deletion: mfda ts, ldt sec
//	    [8] count, then column (uvarint), mfda ts, ldt sec
//	    [16] count, then per cell: column (uvarint), flags (1 path,
//	        2 tombstone, 4 ttl, 8 expiresAt, 16 ldt, 32 value),
//	        [path (len, bytes)], ts, [ttl (uvarint)], [expiresAt sec],
//	        [ldt sec], [value (len, bytes)]
//
// Every field of Mutation is carried, including those Apply ignores (a
// tombstone's Value, a live cell's LocalDeletionTime), and nil and
// non-nil empty Paths and Values are told apart, so a decoded mutation
// equals the encoded one except that empty Key, Clustering, bound
// prefixes and element slices decode as nil.
const (
	mutHasPartitionDeletion = 1 << iota
)

const (
	wireRowStatic = 1 << iota
	wireRowLiveness
	wireRowDeletion
	wireRowComplex
	wireRowCells
)

const (
	wireCellPath = 1 << iota
	wireCellTombstone
	wireCellTTL
	wireCellExpiresAt
	wireCellLDT
	wireCellValue
)

// mutEncoder carries the delta chains of one encoding.
type mutEncoder struct {
	dst     []byte
	ts, sec int64
}

func (e *mutEncoder) putTS(v int64) {
	e.dst = binary.AppendVarint(e.dst, v-e.ts)
	e.ts = v
}

func (e *mutEncoder) putSec(v int64) {
	e.dst = binary.AppendVarint(e.dst, v-e.sec)
	e.sec = v
}

func (e *mutEncoder) putBytes(b []byte) {
	e.dst = binary.AppendUvarint(e.dst, uint64(len(b)))
	e.dst = append(e.dst, b...)
}

func (e *mutEncoder) putDeletion(d DeletionTime) {
	e.putTS(d.MarkedForDeleteAt)
	e.putSec(d.LocalDeletionTime)
}

// EncodeMutation appends the wire encoding of m (replication, hints, read
// responses) to dst and returns the extended buffer. It does not retain m.
// The encoding is versioned, compact (varints, delta-encoded timestamps)
// and canonical for a given Mutation value; DecodeMutation rejects
// encodings longer than MaxMutationSize.
func EncodeMutation(dst []byte, m *Mutation) []byte {
	e := mutEncoder{dst: dst}
	e.dst = append(e.dst, mutationV1)
	e.dst = append(e.dst, m.Table[:]...)
	e.dst = binary.BigEndian.AppendUint64(e.dst, uint64(m.Token))
	e.putBytes(m.Key)
	var flags byte
	if m.PartitionDeletion != (DeletionTime{}) {
		flags |= mutHasPartitionDeletion
	}
	e.dst = append(e.dst, flags)
	if flags&mutHasPartitionDeletion != 0 {
		e.putDeletion(m.PartitionDeletion)
	}
	e.dst = binary.AppendUvarint(e.dst, uint64(len(m.RangeTombstones)))
	for i := range m.RangeTombstones {
		rt := &m.RangeTombstones[i]
		var f byte
		if rt.Start.Inclusive {
			f |= rtStartInclusive
		}
		if rt.End.Inclusive {
			f |= rtEndInclusive
		}
		e.dst = append(e.dst, f)
		e.putBytes(rt.Start.Prefix)
		e.putBytes(rt.End.Prefix)
		e.putDeletion(rt.Deletion)
	}
	e.dst = binary.AppendUvarint(e.dst, uint64(len(m.Rows)))
	for i := range m.Rows {
		e.putRow(&m.Rows[i])
	}
	return e.dst
}

func (e *mutEncoder) putRow(ru *RowUpdate) {
	var f byte
	if ru.Static {
		f |= wireRowStatic
	}
	if ru.Liveness != (LivenessInfo{}) {
		f |= wireRowLiveness
	}
	if ru.Deletion != (DeletionTime{}) {
		f |= wireRowDeletion
	}
	if len(ru.ComplexDeletions) > 0 {
		f |= wireRowComplex
	}
	if len(ru.Cells) > 0 {
		f |= wireRowCells
	}
	e.dst = append(e.dst, f)
	e.putBytes(ru.Clustering)
	if f&wireRowLiveness != 0 {
		e.putTS(ru.Liveness.Timestamp)
		e.dst = binary.AppendUvarint(e.dst, uint64(uint32(ru.Liveness.TTL)))
		e.putSec(ru.Liveness.ExpiresAt)
	}
	if f&wireRowDeletion != 0 {
		e.putDeletion(ru.Deletion)
	}
	if f&wireRowComplex != 0 {
		e.dst = binary.AppendUvarint(e.dst, uint64(len(ru.ComplexDeletions)))
		for _, c := range ru.ComplexDeletions {
			e.dst = binary.AppendUvarint(e.dst, uint64(c.Column))
			e.putDeletion(c.Deletion)
		}
	}
	if f&wireRowCells != 0 {
		e.dst = binary.AppendUvarint(e.dst, uint64(len(ru.Cells)))
		for i := range ru.Cells {
			e.putCell(&ru.Cells[i])
		}
	}
}

func (e *mutEncoder) putCell(c *Cell) {
	e.dst = binary.AppendUvarint(e.dst, uint64(c.Column))
	var f byte
	if c.Path != nil {
		f |= wireCellPath
	}
	if c.Tombstone {
		f |= wireCellTombstone
	}
	if c.TTL != 0 {
		f |= wireCellTTL
	}
	if c.ExpiresAt != 0 {
		f |= wireCellExpiresAt
	}
	if c.LocalDeletionTime != 0 {
		f |= wireCellLDT
	}
	if c.Value != nil {
		f |= wireCellValue
	}
	e.dst = append(e.dst, f)
	if f&wireCellPath != 0 {
		e.putBytes(c.Path)
	}
	e.putTS(c.Timestamp)
	if f&wireCellTTL != 0 {
		e.dst = binary.AppendUvarint(e.dst, uint64(uint32(c.TTL)))
	}
	if f&wireCellExpiresAt != 0 {
		e.putSec(c.ExpiresAt)
	}
	if f&wireCellLDT != 0 {
		e.putSec(c.LocalDeletionTime)
	}
	if f&wireCellValue != 0 {
		e.putBytes(c.Value)
	}
}

// mutDecoder extends decoder with the delta chains.
type mutDecoder struct {
	decoder
	ts, sec int64
}

func (d *mutDecoder) getTS(what string) int64 {
	d.ts += d.varint(what)
	return d.ts
}

func (d *mutDecoder) getSec(what string) int64 {
	d.sec += d.varint(what)
	return d.sec
}

func (d *mutDecoder) getDeletion(what string) DeletionTime {
	return DeletionTime{MarkedForDeleteAt: d.getTS(what), LocalDeletionTime: d.getSec(what)}
}

// nonEmpty returns b, or nil when it is empty.
func nonEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// DecodeMutation decodes a mutation encoded by EncodeMutation. It validates
// everything (version, flags, counts and lengths against the remaining
// input, no trailing bytes, a static row has no clustering) and returns an
// error, never panics, on malformed input; inputs longer than
// MaxMutationSize are rejected.
//
// The returned mutation's byte slices (Key, clustering keys, bound
// prefixes, paths, values) alias b: b must not be modified while the
// mutation is in use. Its Cells and ComplexDeletions slices are
// sub-slices of shared backing arrays with capacity clipped to their
// length, so appending to one never overwrites another.
func DecodeMutation(b []byte) (*Mutation, error) {
	if len(b) > MaxMutationSize {
		return nil, fmt.Errorf("%w: mutation of %d bytes exceeds %d", errCorrupt, len(b), MaxMutationSize)
	}
	d := mutDecoder{decoder: decoder{b: b}}
	if v := d.byte("mutation version"); d.err == nil && v != mutationV1 {
		return nil, fmt.Errorf("%w: unknown mutation version %d", errCorrupt, v)
	}
	if d.err != nil {
		return nil, d.err
	}
	m := new(Mutation)
	if len(d.b) < 16+8 {
		return nil, fmt.Errorf("%w: bad mutation header", errCorrupt)
	}
	copy(m.Table[:], d.b)
	m.Token = int64(binary.BigEndian.Uint64(d.b[16:]))
	d.b = d.b[24:]
	m.Key = nonEmpty(d.bytes("partition key"))
	flags := d.byte("mutation flags")
	if flags&^mutHasPartitionDeletion != 0 {
		d.fail("mutation flags")
	}
	if flags&mutHasPartitionDeletion != 0 {
		m.PartitionDeletion = d.getDeletion("partition deletion")
	}
	if n := d.count("range tombstones", 5); n > 0 {
		m.RangeTombstones = make([]RangeTombstone, n)
		for i := 0; i < n && d.err == nil; i++ {
			rt := &m.RangeTombstones[i]
			f := d.byte("range tombstone flags")
			if f&^(rtStartInclusive|rtEndInclusive) != 0 {
				d.fail("range tombstone flags")
			}
			rt.Start = Bound{Prefix: nonEmpty(d.bytes("range tombstone start")), Inclusive: f&rtStartInclusive != 0}
			rt.End = Bound{Prefix: nonEmpty(d.bytes("range tombstone end")), Inclusive: f&rtEndInclusive != 0}
			rt.Deletion = d.getDeletion("range tombstone deletion")
		}
	}
	if n := d.count("rows", 2); n > 0 && d.err == nil {
		m.Rows = make([]RowUpdate, n)
		// Cells and complex deletions of all rows share one backing array
		// each; rows record offsets until the arrays stop growing.
		var cells []Cell
		var cx []ComplexDeletion
		type span struct{ c0, c1, x0, x1 int }
		spans := make([]span, n)
		for i := 0; i < n && d.err == nil; i++ {
			ru := &m.Rows[i]
			sp := &spans[i]
			f := d.byte("row flags")
			if f&^(wireRowStatic|wireRowLiveness|wireRowDeletion|wireRowComplex|wireRowCells) != 0 {
				d.fail("row flags")
			}
			ru.Static = f&wireRowStatic != 0
			ru.Clustering = nonEmpty(d.bytes("clustering"))
			if ru.Static && ru.Clustering != nil {
				d.fail("static row clustering")
			}
			if f&wireRowLiveness != 0 {
				ru.Liveness.Timestamp = d.getTS("liveness")
				ru.Liveness.TTL = int32(d.uint32("liveness ttl"))
				ru.Liveness.ExpiresAt = d.getSec("liveness expiry")
			}
			if f&wireRowDeletion != 0 {
				ru.Deletion = d.getDeletion("row deletion")
			}
			sp.x0 = len(cx)
			if f&wireRowComplex != 0 {
				k := d.count("complex deletions", 3)
				if k == 0 {
					d.fail("complex deletions")
				}
				for j := 0; j < k && d.err == nil; j++ {
					cx = append(cx, ComplexDeletion{Column: d.uint32("complex column"), Deletion: d.getDeletion("complex deletion")})
				}
			}
			sp.x1 = len(cx)
			sp.c0 = len(cells)
			if f&wireRowCells != 0 {
				k := d.count("cells", 3)
				if k == 0 {
					d.fail("cells")
				}
				if cap(cells)-len(cells) < k {
					// Rows of one mutation tend to look alike: make room
					// for this row's count in every remaining row, within
					// what the remaining input can hold.
					cells = slices.Grow(cells, min(k*(n-i), len(d.b)/3+k))
				}
				for j := 0; j < k && d.err == nil; j++ {
					cells = append(cells, Cell{})
					d.getCell(&cells[len(cells)-1])
				}
			}
			sp.c1 = len(cells)
		}
		if d.err == nil {
			for i := range m.Rows {
				sp := spans[i]
				if sp.c1 > sp.c0 {
					m.Rows[i].Cells = cells[sp.c0:sp.c1:sp.c1]
				}
				if sp.x1 > sp.x0 {
					m.Rows[i].ComplexDeletions = cx[sp.x0:sp.x1:sp.x1]
				}
			}
		}
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("trailing bytes")
	}
	if d.err != nil {
		return nil, d.err
	}
	return m, nil
}

func (d *mutDecoder) getCell(c *Cell) {
	c.Column = d.uint32("cell column")
	f := d.byte("cell flags")
	if f&^(wireCellPath|wireCellTombstone|wireCellTTL|wireCellExpiresAt|wireCellLDT|wireCellValue) != 0 {
		d.fail("cell flags")
	}
	if f&wireCellPath != 0 {
		c.Path = d.bytes("cell path")
		if c.Path == nil && d.err == nil {
			c.Path = []byte{}
		}
	}
	c.Timestamp = d.getTS("cell timestamp")
	c.Tombstone = f&wireCellTombstone != 0
	if f&wireCellTTL != 0 {
		c.TTL = int32(d.uint32("cell ttl"))
		if c.TTL == 0 {
			d.fail("cell ttl")
		}
	}
	if f&wireCellExpiresAt != 0 {
		c.ExpiresAt = d.getSec("cell expiry")
		if c.ExpiresAt == 0 {
			d.fail("cell expiry")
		}
	}
	if f&wireCellLDT != 0 {
		c.LocalDeletionTime = d.getSec("cell deletion time")
		if c.LocalDeletionTime == 0 {
			d.fail("cell deletion time")
		}
	}
	if f&wireCellValue != 0 {
		c.Value = d.bytes("cell value")
		if c.Value == nil && d.err == nil {
			c.Value = []byte{}
		}
	}
}
