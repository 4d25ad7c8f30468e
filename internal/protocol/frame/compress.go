package frame

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/golang/snappy"
	"github.com/pierrec/lz4/v4"
)

// Compression is a frame-body compression algorithm, negotiated by the
// STARTUP option "COMPRESSION".
type Compression uint8

// Compression algorithms.
const (
	// NoCompression leaves bodies as they are.
	NoCompression Compression = iota
	// LZ4 is Cassandra's lz4 framing: a 4-byte big-endian uncompressed
	// length, then one LZ4 block.
	LZ4
	// Snappy is one snappy block (the block format, not the framed stream).
	Snappy
)

// String returns the STARTUP option value ("lz4", "snappy") or "" for
// NoCompression.
func (c Compression) String() string {
	switch c {
	case LZ4:
		return "lz4"
	case Snappy:
		return "snappy"
	}
	return ""
}

// ParseCompression maps a STARTUP "COMPRESSION" option value to an
// algorithm. The empty string is NoCompression. Matching is
// case-insensitive, as Cassandra's is.
func ParseCompression(name string) (Compression, bool) {
	switch {
	case name == "":
		return NoCompression, true
	case equalFold(name, "lz4"):
		return LZ4, true
	case equalFold(name, "snappy"):
		return Snappy, true
	}
	return NoCompression, false
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// SupportedCompressions lists the algorithms for the SUPPORTED message's
// "COMPRESSION" key, in Cassandra's order.
var SupportedCompressions = []string{"snappy", "lz4"}

// ErrDecompress is wrapped by every decompression failure: corrupt input,
// or a decompressed size over the caller's bound. The server answers a
// PROTOCOL error.
var ErrDecompress = errors.New("frame body decompression failed")

var lz4Pool = sync.Pool{New: func() any { return new(lz4.Compressor) }}

// Compress appends the compressed form of src to dst. With NoCompression it
// appends src unchanged.
func Compress(c Compression, dst, src []byte) ([]byte, error) {
	switch c {
	case NoCompression:
		return append(dst, src...), nil
	case LZ4:
		start := len(dst)
		bound := lz4.CompressBlockBound(len(src))
		dst = grow(dst, 4+bound)
		binary.BigEndian.PutUint32(dst[start:], uint32(len(src)))
		if len(src) == 0 {
			// An empty block is a single token byte with no literals.
			dst[start+4] = 0
			return dst[:start+5], nil
		}
		comp := lz4Pool.Get().(*lz4.Compressor)
		n, err := comp.CompressBlock(src, dst[start+4:start+4+bound])
		lz4Pool.Put(comp)
		if err != nil {
			return dst[:start], fmt.Errorf("lz4: %w", err)
		}
		return dst[:start+4+n], nil
	case Snappy:
		start := len(dst)
		dst = grow(dst, snappy.MaxEncodedLen(len(src)))
		out := snappy.Encode(dst[start:cap(dst)], src)
		return dst[:start+len(out)], nil
	}
	return dst, fmt.Errorf("unknown compression %d", c)
}

// grow returns dst extended by n bytes (reallocating if needed); the new
// bytes are to be overwritten by the caller.
func grow(dst []byte, n int) []byte {
	if cap(dst)-len(dst) < n {
		nb := make([]byte, len(dst), len(dst)+n)
		copy(nb, dst)
		dst = nb
	}
	return dst[:len(dst)+n]
}

// DecompressedLen returns the size src declares it decompresses to under
// c (the length itself for NoCompression), without decompressing it.
func DecompressedLen(c Compression, src []byte) (int, error) {
	switch c {
	case NoCompression:
		return len(src), nil
	case LZ4:
		if len(src) < 4 {
			return 0, fmt.Errorf("%w: lz4 body shorter than its length prefix", ErrDecompress)
		}
		n := binary.BigEndian.Uint32(src)
		if n > math.MaxInt32 {
			return 0, fmt.Errorf("%w: lz4 body declares %d bytes", ErrDecompress, n)
		}
		return int(n), nil
	case Snappy:
		n, err := snappy.DecodedLen(src)
		if err != nil {
			return 0, fmt.Errorf("%w: snappy: %v", ErrDecompress, err)
		}
		return n, nil
	}
	return 0, fmt.Errorf("%w: unknown compression %d", ErrDecompress, c)
}

// Decompress appends the decompressed form of src to dst. It fails, wrapping
// ErrDecompress, on corrupt input and when the decompressed size would
// exceed max, which is checked from the input's declared size before any
// memory is allocated for it.
func Decompress(c Compression, dst, src []byte, max int) ([]byte, error) {
	switch c {
	case NoCompression:
		if len(src) > max {
			return dst, fmt.Errorf("%w: %d bytes exceed the limit of %d", ErrDecompress, len(src), max)
		}
		return append(dst, src...), nil
	case LZ4:
		if len(src) < 4 {
			return dst, fmt.Errorf("%w: lz4 body shorter than its length prefix", ErrDecompress)
		}
		n := int64(binary.BigEndian.Uint32(src))
		if n > int64(max) {
			return dst, fmt.Errorf("%w: lz4 body declares %d bytes, over the limit of %d", ErrDecompress, n, max)
		}
		// An LZ4 block expands at most ~255x; refusing impossible sizes keeps
		// a 5-byte body from reserving max bytes.
		if n > 255*int64(len(src)-4)+16 {
			return dst, fmt.Errorf("%w: lz4 body of %d bytes cannot expand to %d", ErrDecompress, len(src)-4, n)
		}
		start := len(dst)
		if n == 0 {
			return dst, nil
		}
		dst = grow(dst, int(n))
		m, err := lz4.UncompressBlock(src[4:], dst[start:])
		if err != nil {
			return dst[:start], fmt.Errorf("%w: lz4: %v", ErrDecompress, err)
		}
		if int64(m) != n {
			return dst[:start], fmt.Errorf("%w: lz4 body declares %d bytes but holds %d", ErrDecompress, n, m)
		}
		return dst, nil
	case Snappy:
		n, err := snappy.DecodedLen(src)
		if err != nil {
			return dst, fmt.Errorf("%w: snappy: %v", ErrDecompress, err)
		}
		if n > max {
			return dst, fmt.Errorf("%w: snappy body declares %d bytes, over the limit of %d", ErrDecompress, n, max)
		}
		// Snappy copies expand at most 64 bytes per 2 input bytes (well under
		// 64x overall); anything claiming more is corrupt.
		if int64(n) > 64*int64(len(src))+16 {
			return dst, fmt.Errorf("%w: snappy body of %d bytes cannot expand to %d", ErrDecompress, len(src), n)
		}
		start := len(dst)
		dst = grow(dst, n)
		out, err := snappy.Decode(dst[start:], src)
		if err != nil {
			return dst[:start], fmt.Errorf("%w: snappy: %v", ErrDecompress, err)
		}
		if len(out) != n || (n > 0 && &out[0] != &dst[start]) {
			return dst[:start], fmt.Errorf("%w: snappy: unexpected decoded length", ErrDecompress)
		}
		return dst, nil
	}
	return dst, fmt.Errorf("%w: unknown compression %d", ErrDecompress, c)
}
