package repair

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"

	"github.com/ringdb/ringdb/internal/ring"
)

// WireVersion is the version byte that starts a tree's encoding.
const WireVersion = 1

// Encoding layout (all integers big-endian):
//
//	version  1 byte   WireVersion
//	start    8 bytes  range Start (int64)
//	end      8 bytes  range End (int64)
//	depth    1 byte   in [0, MaxDepth]
//	leaves   2^depth times: hash (HashSize bytes), count (8 bytes)
//
// Internal hashes are not sent: the decoder recomputes them.
const (
	headerLen  = 1 + 8 + 8 + 1
	leafLen    = HashSize + 8
	depthIndex = headerLen - 1
)

// ErrMalformed reports an encoding DecodeTree refuses.
var ErrMalformed = errors.New("malformed tree encoding")

// EncodedLen returns the length of the encoding of a tree of the given
// depth, in [0, MaxDepth].
func EncodedLen(depth int) int { return headerLen + leafLen<<depth }

// AppendBinary seals the tree (see Finish) and appends its encoding to dst.
func (t *Tree) AppendBinary(dst []byte) []byte {
	t.Finish()
	dst = append(dst, WireVersion)
	dst = binary.BigEndian.AppendUint64(dst, uint64(t.rng.Start))
	dst = binary.BigEndian.AppendUint64(dst, uint64(t.rng.End))
	dst = append(dst, byte(t.depth))
	for i := range t.leafHash {
		dst = append(dst, t.leafHash[i][:]...)
		dst = binary.BigEndian.AppendUint64(dst, t.leafCount[i])
	}
	return dst
}

// DecodeTree decodes a tree encoded by AppendBinary, sealed. It validates
// the version, the depth bound (before allocating anything), the exact
// length and every leaf; a refused encoding gives an error wrapping
// ErrMalformed. It never panics and allocates only for the declared,
// bounded depth.
func DecodeTree(b []byte) (*Tree, error) {
	if len(b) < headerLen {
		return nil, malformed("%d bytes, shorter than the %d-byte header", len(b), headerLen)
	}
	if b[0] != WireVersion {
		return nil, malformed("version %d, want %d", b[0], WireVersion)
	}
	depth := int(b[depthIndex])
	if depth > MaxDepth {
		return nil, malformed("depth %d exceeds %d", depth, MaxDepth)
	}
	if want := EncodedLen(depth); len(b) != want {
		return nil, malformed("%d bytes for depth %d, want exactly %d", len(b), depth, want)
	}
	r := ring.Range{
		Start: ring.Token(binary.BigEndian.Uint64(b[1:9])),
		End:   ring.Token(binary.BigEndian.Uint64(b[9:17])),
	}
	t, err := NewTree(r, depth)
	if err != nil {
		return nil, fmt.Errorf("repair: decode tree: %w", err)
	}
	if err := t.decodeLeaves(b[headerLen:]); err != nil {
		return nil, err
	}
	t.h, t.open = nil, false
	t.computeNodes()
	t.sealed = true
	return t, nil
}

// decodeLeaves fills the leaves from b, exactly Leaves()*leafLen bytes,
// checking each leaf and the total count.
func (t *Tree) decodeLeaves(b []byte) error {
	var zero [HashSize]byte
	for i := range t.leafHash {
		rec := b[i*leafLen : (i+1)*leafLen]
		copy(t.leafHash[i][:], rec[:HashSize])
		c := binary.BigEndian.Uint64(rec[HashSize:])
		if (c == 0) != (t.leafHash[i] == zero) {
			return malformed("leaf %d: count %d with a hash that is %s", i, c, zeroWord(c == 0))
		}
		if !t.leafHolds(i, c) {
			return malformed("leaf %d: count %d exceeds its width", i, c)
		}
		var carry uint64
		t.total, carry = bits.Add64(t.total, c, 0)
		if carry != 0 {
			return malformed("leaf %d: total count overflows", i)
		}
		t.leafCount[i] = c
	}
	return nil
}

// zeroWord describes a hash that contradicts a count: nonzero for an empty
// leaf, zero for a non-empty one.
func zeroWord(emptyLeaf bool) string {
	if emptyLeaf {
		return "nonzero"
	}
	return "zero"
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("repair: decode tree: %s: %w", fmt.Sprintf(format, args...), ErrMalformed)
}
