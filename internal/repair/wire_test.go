package repair

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/ringdb/ringdb/internal/ring"
)

// sampleTrees returns trees covering the interesting shapes: empty, depth
// 0, wrapping, whole ring, tiny ranges with zero-width leaves.
func sampleTrees(t testing.TB) []*Tree {
	src := rand.New(rand.NewPCG(9, 10))
	var out []*Tree
	for _, s := range []struct {
		r     ring.Range
		depth int
		n     int
	}{
		{rng(0, 100), 0, 0},
		{rng(0, 100), 3, 0},
		{rng(0, 1<<40), 4, 50},
		{rng(1<<62, -(1 << 62)), 5, 200},
		{rng(minTok, minTok), 6, 300},
		{rng(5, 5), 0, 10},
		{rng(0, 3), 3, 3},
		{rng(41, 42), 2, 1},
	} {
		out = append(out, build(t, s.r, s.depth, randParts(src, s.r, s.n)))
	}
	return out
}

func TestWireRoundTrip(t *testing.T) {
	for _, tr := range sampleTrees(t) {
		enc := tr.AppendBinary([]byte("prefix"))
		if !bytes.HasPrefix(enc, []byte("prefix")) {
			t.Fatal("AppendBinary dropped dst")
		}
		enc = enc[len("prefix"):]
		if len(enc) != EncodedLen(tr.Depth()) {
			t.Fatalf("%v: encoding is %d bytes, EncodedLen says %d", tr.Range(), len(enc), EncodedLen(tr.Depth()))
		}
		got, err := DecodeTree(enc)
		if err != nil {
			t.Fatalf("%v depth %d: DecodeTree: %v", tr.Range(), tr.Depth(), err)
		}
		if got.Range() != tr.Range() || got.Depth() != tr.Depth() || got.Count() != tr.Count() ||
			got.Root() != tr.Root() {
			t.Fatalf("%v depth %d: decoded tree differs", tr.Range(), tr.Depth())
		}
		if d, err := Diff(tr, got); err != nil || d != nil {
			t.Fatalf("%v: Diff with decoded = %v, %v", tr.Range(), d, err)
		}
		if re := got.AppendBinary(nil); !bytes.Equal(re, enc) {
			t.Fatalf("%v: re-encoding differs", tr.Range())
		}
		if err := got.Add(tr.Range().End, nil); !errors.Is(err, ErrFinished) {
			t.Fatalf("Add to a decoded tree = %v, want ErrFinished", err)
		}
	}
}

// encodeRaw builds an encoding by hand: the header and the given leaves.
func encodeRaw(version byte, r ring.Range, depth byte, hashes [][HashSize]byte, counts []uint64) []byte {
	b := []byte{version}
	b = binary.BigEndian.AppendUint64(b, uint64(r.Start))
	b = binary.BigEndian.AppendUint64(b, uint64(r.End))
	b = append(b, depth)
	for i := range hashes {
		b = append(b, hashes[i][:]...)
		b = binary.BigEndian.AppendUint64(b, counts[i])
	}
	return b
}

func TestDecodeTreeErrors(t *testing.T) {
	var zero, one [HashSize]byte
	one[0] = 1
	valid := mustTree(t, rng(0, 100), 1).AppendBinary(nil)
	deep := encodeRaw(WireVersion, rng(0, 100), MaxDepth+1, nil, nil)
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"short header", valid[:headerLen-1]},
		{"version 0", append([]byte{0}, valid[1:]...)},
		{"version 2", append([]byte{2}, valid[1:]...)},
		{"depth too large", deep},
		{"depth 255", encodeRaw(WireVersion, rng(0, 100), 255, nil, nil)},
		{"truncated leaves", valid[:len(valid)-1]},
		{"header only", valid[:headerLen]},
		{"trailing byte", append(append([]byte{}, valid...), 0)},
		{"count with zero hash", encodeRaw(WireVersion, rng(0, 100), 1,
			[][HashSize]byte{zero, zero}, []uint64{1, 0})},
		{"hash with zero count", encodeRaw(WireVersion, rng(0, 100), 1,
			[][HashSize]byte{zero, one}, []uint64{0, 0})},
		{"count above width", encodeRaw(WireVersion, rng(0, 4), 1,
			[][HashSize]byte{one, zero}, []uint64{3, 0})},
		{"count in zero-width leaf", encodeRaw(WireVersion, rng(0, 1), 1,
			[][HashSize]byte{one, zero}, []uint64{1, 0})},
		{"total overflows", encodeRaw(WireVersion, rng(0, 0), 1,
			[][HashSize]byte{one, one}, []uint64{1 << 63, 1 << 63})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tr, err := DecodeTree(tc.b); !errors.Is(err, ErrMalformed) {
				t.Fatalf("DecodeTree = %v, %v; want ErrMalformed", tr, err)
			}
		})
	}
	// Edge counts that are valid: a full leaf, and the whole ring at depth 0.
	for _, b := range [][]byte{
		encodeRaw(WireVersion, rng(0, 4), 1, [][HashSize]byte{one, zero}, []uint64{2, 0}),
		encodeRaw(WireVersion, rng(7, 7), 0, [][HashSize]byte{one}, []uint64{^uint64(0)}),
	} {
		if _, err := DecodeTree(b); err != nil {
			t.Errorf("DecodeTree(valid edge) = %v", err)
		}
	}
}

func FuzzDecodeTree(f *testing.F) {
	for _, tr := range sampleTrees(f) {
		f.Add(tr.AppendBinary(nil))
	}
	f.Add([]byte{})
	f.Add([]byte{WireVersion})
	f.Add(encodeRaw(WireVersion, rng(0, 100), MaxDepth, nil, nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		tr, err := DecodeTree(b)
		if err != nil {
			if tr != nil || !errors.Is(err, ErrMalformed) {
				t.Fatalf("DecodeTree = %v, %v", tr, err)
			}
			return
		}
		if re := tr.AppendBinary(nil); !bytes.Equal(re, b) {
			t.Fatalf("re-encoding differs:\n got %x\nwant %x", re, b)
		}
		if d, err := Diff(tr, tr); err != nil || d != nil {
			t.Fatalf("Diff(tr, tr) = %v, %v", d, err)
		}
	})
}
