package coordinator

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/ringdb/ringdb/internal/storage"
)

// Payload formats of the coordinator's verbs. Every decoder bounds counts
// and lengths by the remaining input and returns errors, never panics.

const wireVersion = 1

// maxSlices bounds the slices of one read command.
const maxSlices = 10000

// readCommand is a single-partition read (data or digest).
type readCommand struct {
	table  storage.TableID
	token  int64
	key    []byte
	q      storage.PartitionQuery
	digest bool
}

// rangeCommand is a token-range read.
type rangeCommand struct {
	table         storage.TableID
	start         storage.PartitionPos
	endToken      int64
	q             storage.PartitionQuery
	maxPartitions int
}

var errShort = errors.New("coordinator: truncated message")

type reader struct {
	b   []byte
	err error
}

func (r *reader) byte() byte {
	if r.err != nil || len(r.b) < 1 {
		r.err = errShort
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) uvarint(max uint64) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 || v > max {
		r.err = fmt.Errorf("coordinator: bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) int64() int64 {
	if r.err != nil || len(r.b) < 8 {
		r.err = errShort
		return 0
	}
	v := int64(binary.BigEndian.Uint64(r.b))
	r.b = r.b[8:]
	return v
}

func (r *reader) bytes() []byte {
	n := r.uvarint(uint64(len(r.b)))
	if r.err != nil {
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) table() (t storage.TableID) {
	if r.err != nil || len(r.b) < 16 {
		r.err = errShort
		return t
	}
	copy(t[:], r.b)
	r.b = r.b[16:]
	return t
}

func appendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

func appendBound(dst []byte, b storage.Bound) []byte {
	dst = appendBytes(dst, b.Prefix)
	if b.Inclusive {
		return append(dst, 1)
	}
	return append(dst, 0)
}

func (r *reader) bound() storage.Bound {
	p := r.bytes()
	inc := r.byte()
	if len(p) == 0 {
		p = nil
	}
	return storage.Bound{Prefix: p, Inclusive: inc == 1}
}

func appendQuery(dst []byte, q storage.PartitionQuery, digest bool) []byte {
	var flags byte
	if q.Reversed {
		flags |= 1
	}
	if q.Static {
		flags |= 2
	}
	if digest {
		flags |= 4
	}
	dst = append(dst, flags)
	dst = binary.AppendUvarint(dst, uint64(q.Limit))
	if q.Slices == nil {
		return append(dst, 0)
	}
	dst = append(dst, 1)
	dst = binary.AppendUvarint(dst, uint64(len(q.Slices)))
	for _, s := range q.Slices {
		dst = appendBound(dst, s.Start)
		dst = appendBound(dst, s.End)
	}
	return dst
}

func (r *reader) query() (storage.PartitionQuery, bool) {
	var q storage.PartitionQuery
	flags := r.byte()
	q.Reversed, q.Static = flags&1 != 0, flags&2 != 0
	q.Limit = int(r.uvarint(1 << 31))
	if r.byte() == 1 {
		n := r.uvarint(maxSlices)
		if n > uint64(len(r.b))/4 {
			r.err = errShort
			return q, false
		}
		q.Slices = make([]storage.Slice, 0, n)
		for i := uint64(0); i < n && r.err == nil; i++ {
			q.Slices = append(q.Slices, storage.Slice{Start: r.bound(), End: r.bound()})
		}
	}
	return q, flags&4 != 0
}

func encodeRead(c *readCommand) []byte {
	b := []byte{wireVersion}
	b = append(b, c.table[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(c.token))
	b = appendBytes(b, c.key)
	return appendQuery(b, c.q, c.digest)
}

func decodeRead(b []byte) (*readCommand, error) {
	r := &reader{b: b}
	if r.byte() != wireVersion {
		return nil, fmt.Errorf("coordinator: unsupported read command version")
	}
	c := &readCommand{table: r.table(), token: r.int64(), key: r.bytes()}
	c.q, c.digest = r.query()
	if r.err != nil {
		return nil, r.err
	}
	return c, nil
}

func encodeRange(c *rangeCommand) []byte {
	b := []byte{wireVersion}
	b = append(b, c.table[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(c.start.Token))
	var flags byte
	if c.start.Key != nil {
		flags |= 1
	}
	if c.start.Inclusive {
		flags |= 2
	}
	b = append(b, flags)
	b = appendBytes(b, c.start.Key)
	b = binary.BigEndian.AppendUint64(b, uint64(c.endToken))
	b = binary.AppendUvarint(b, uint64(c.maxPartitions))
	return appendQuery(b, c.q, false)
}

func decodeRange(b []byte) (*rangeCommand, error) {
	r := &reader{b: b}
	if r.byte() != wireVersion {
		return nil, fmt.Errorf("coordinator: unsupported range command version")
	}
	c := &rangeCommand{table: r.table()}
	c.start.Token = r.int64()
	flags := r.byte()
	key := r.bytes()
	if flags&1 != 0 {
		if key == nil {
			key = []byte{}
		}
		c.start.Key = key
	}
	c.start.Inclusive = flags&2 != 0
	c.endToken = r.int64()
	c.maxPartitions = int(r.uvarint(100000))
	c.q, _ = r.query()
	if r.err != nil {
		return nil, r.err
	}
	return c, nil
}

// encodeMutations encodes a list of mutations (a MUTATION message, a
// range read response).
func encodeMutations(ms []*storage.Mutation) []byte {
	b := []byte{wireVersion}
	b = binary.AppendUvarint(b, uint64(len(ms)))
	var tmp []byte
	for _, m := range ms {
		tmp = storage.EncodeMutation(tmp[:0], m)
		b = appendBytes(b, tmp)
	}
	return b
}

func decodeMutations(b []byte) ([]*storage.Mutation, error) {
	r := &reader{b: b}
	if r.byte() != wireVersion {
		return nil, fmt.Errorf("coordinator: unsupported mutation list version")
	}
	n := r.uvarint(uint64(len(r.b)))
	out := make([]*storage.Mutation, 0, min(n, 1024))
	for i := uint64(0); i < n && r.err == nil; i++ {
		mb := r.bytes()
		if r.err != nil {
			break
		}
		m, err := storage.DecodeMutation(mb)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	if r.err != nil {
		return nil, r.err
	}
	return out, nil
}
