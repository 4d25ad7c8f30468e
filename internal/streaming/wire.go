package streaming

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/ringdb/ringdb/internal/storage"
)

// wireVersion is the version byte of every streaming message.
const wireVersion = 1

// Bounds every decoder checks before allocating.
const (
	// MaxChunkBytes is the largest chunk a request may ask for (keys and
	// values); the frame carrying it stays well under the bulk lane's
	// 16 MiB frame limit.
	MaxChunkBytes = 8 << 20
	// maxResumeKey bounds a resume key (a storage data key).
	maxResumeKey = 1 << 20
	// maxPairs bounds the pairs of one chunk.
	maxPairs = 1 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errShort is returned for a message that ends early.
var errShort = errors.New("streaming: message truncated")

// pullRequest asks the source for the next chunk of one span.
type pullRequest struct {
	session  [16]byte // the receiver's session id (for the source's netstats)
	span     storage.TokenSpan
	after    []byte // resume key: the chunk starts strictly after it (nil: from the start)
	maxBytes uint32
}

func appendPullRequest(b []byte, r pullRequest) []byte {
	b = append(b, wireVersion)
	b = append(b, r.session[:]...)
	b = append(b, r.span.Table[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(r.span.First))
	b = binary.BigEndian.AppendUint64(b, uint64(r.span.Last))
	b = binary.BigEndian.AppendUint32(b, r.maxBytes)
	if r.after == nil {
		return append(b, 0)
	}
	b = append(b, 1)
	b = binary.AppendUvarint(b, uint64(len(r.after)))
	return append(b, r.after...)
}

func decodePullRequest(b []byte) (pullRequest, error) {
	var r pullRequest
	const fixed = 1 + 16 + 16 + 8 + 8 + 4 + 1
	if len(b) < fixed {
		return r, errShort
	}
	if b[0] != wireVersion {
		return r, fmt.Errorf("streaming: unknown request version %d", b[0])
	}
	copy(r.session[:], b[1:17])
	copy(r.span.Table[:], b[17:33])
	r.span.First = int64(binary.BigEndian.Uint64(b[33:]))
	r.span.Last = int64(binary.BigEndian.Uint64(b[41:]))
	r.maxBytes = binary.BigEndian.Uint32(b[49:])
	if r.span.First > r.span.Last {
		return r, fmt.Errorf("streaming: empty span [%d, %d]", r.span.First, r.span.Last)
	}
	if r.maxBytes == 0 || r.maxBytes > MaxChunkBytes {
		return r, fmt.Errorf("streaming: chunk size %d outside (0, %d]", r.maxBytes, MaxChunkBytes)
	}
	rest := b[fixed:]
	switch b[fixed-1] {
	case 0:
		if len(rest) != 0 {
			return r, errors.New("streaming: trailing bytes after request")
		}
		return r, nil
	case 1:
	default:
		return r, fmt.Errorf("streaming: bad resume flag %d", b[fixed-1])
	}
	n, k := binary.Uvarint(rest)
	if k <= 0 || n == 0 || n > maxResumeKey || uint64(len(rest)-k) != n {
		return r, errors.New("streaming: bad resume key length")
	}
	r.after = rest[k:]
	return r, nil
}

// chunk is the source's answer: pairs in key order, whether more follow,
// and a CRC-32C of the pairs as encoded.
type chunk struct {
	pairs []storage.StreamPair
	more  bool
}

// chunkEncoder builds a chunk's encoding while the source exports pairs.
type chunkEncoder struct {
	b      []byte
	n      uint32
	bodyAt int
}

func newChunkEncoder(dst []byte) *chunkEncoder {
	dst = append(dst, wireVersion, 0)         // version, more flag (set by finish)
	dst = append(dst, 0, 0, 0, 0, 0, 0, 0, 0) // pair count, crc (set by finish)
	return &chunkEncoder{b: dst, bodyAt: len(dst)}
}

func (e *chunkEncoder) add(p storage.StreamPair) {
	e.b = binary.AppendUvarint(e.b, uint64(len(p.Key)))
	e.b = append(e.b, p.Key...)
	e.b = binary.AppendUvarint(e.b, uint64(len(p.Value)))
	e.b = append(e.b, p.Value...)
	e.n++
}

func (e *chunkEncoder) finish(more bool) []byte {
	if more {
		e.b[1] = 1
	}
	binary.BigEndian.PutUint32(e.b[2:], e.n)
	binary.BigEndian.PutUint32(e.b[6:], crc32.Checksum(e.b[e.bodyAt:], castagnoli))
	return e.b
}

// decodeChunk decodes and checks a chunk; the pairs alias b.
func decodeChunk(b []byte) (chunk, error) {
	var c chunk
	const hdr = 10
	if len(b) < hdr {
		return c, errShort
	}
	if b[0] != wireVersion {
		return c, fmt.Errorf("streaming: unknown chunk version %d", b[0])
	}
	switch b[1] {
	case 0:
	case 1:
		c.more = true
	default:
		return c, fmt.Errorf("streaming: bad more flag %d", b[1])
	}
	n := binary.BigEndian.Uint32(b[2:])
	body := b[hdr:]
	if crc32.Checksum(body, castagnoli) != binary.BigEndian.Uint32(b[6:]) {
		return c, errors.New("streaming: chunk checksum mismatch")
	}
	// Each pair takes at least two length bytes: bound the count by the
	// body before allocating.
	if n > maxPairs || uint64(n)*2 > uint64(len(body)) {
		return c, fmt.Errorf("streaming: %d pairs cannot fit in %d bytes", n, len(body))
	}
	if c.more && n == 0 {
		return c, errors.New("streaming: empty chunk announces more")
	}
	c.pairs = make([]storage.StreamPair, 0, n)
	for i := uint32(0); i < n; i++ {
		var k, v []byte
		var err error
		if k, body, err = lengthPrefixed(body); err != nil {
			return c, err
		}
		if v, body, err = lengthPrefixed(body); err != nil {
			return c, err
		}
		c.pairs = append(c.pairs, storage.StreamPair{Key: k, Value: v})
	}
	if len(body) != 0 {
		return c, errors.New("streaming: trailing bytes after chunk")
	}
	return c, nil
}

func lengthPrefixed(b []byte) (v, rest []byte, err error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return nil, nil, errShort
	}
	return b[k : k+int(n)], b[k+int(n):], nil
}
