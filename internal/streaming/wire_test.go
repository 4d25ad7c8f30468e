package streaming

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/ringdb/ringdb/internal/storage"
)

func TestPullRequestRoundTrip(t *testing.T) {
	for _, r := range []pullRequest{
		{session: [16]byte{1}, span: storage.TokenSpan{Table: tbl, First: -5, Last: 9}, maxBytes: 100},
		{span: storage.TokenSpan{Table: tbl, First: 1, Last: 1}, after: []byte("dkey"), maxBytes: MaxChunkBytes},
	} {
		got, err := decodePullRequest(appendPullRequest(nil, r))
		if err != nil {
			t.Fatal(err)
		}
		if got.session != r.session || got.span != r.span || got.maxBytes != r.maxBytes || !bytes.Equal(got.after, r.after) {
			t.Fatalf("round trip: %+v != %+v", got, r)
		}
	}
}

func TestDecodePullRequestRefuses(t *testing.T) {
	good := appendPullRequest(nil, pullRequest{span: storage.TokenSpan{Table: tbl, First: 1, Last: 2}, after: []byte("k"), maxBytes: 10})
	bad := map[string][]byte{
		"empty":    nil,
		"short":    good[:20],
		"version":  append([]byte{9}, good[1:]...),
		"trailing": append(bytes.Clone(good), 0),
		"huge":     appendPullRequest(nil, pullRequest{span: storage.TokenSpan{First: 1, Last: 2}, maxBytes: MaxChunkBytes + 1}),
		"zero":     appendPullRequest(nil, pullRequest{span: storage.TokenSpan{First: 1, Last: 2}}),
		"reversed": appendPullRequest(nil, pullRequest{span: storage.TokenSpan{First: 3, Last: 2}, maxBytes: 1}),
	}
	for name, b := range bad {
		if _, err := decodePullRequest(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func encodeChunk(pairs []storage.StreamPair, more bool) []byte {
	e := newChunkEncoder(nil)
	for _, p := range pairs {
		e.add(p)
	}
	return e.finish(more)
}

func TestChunkRoundTripAndChecksum(t *testing.T) {
	pairs := []storage.StreamPair{{Key: []byte("a"), Value: []byte("1")}, {Key: []byte("b"), Value: nil}}
	b := encodeChunk(pairs, true)
	c, err := decodeChunk(b)
	if err != nil || !c.more || len(c.pairs) != 2 || string(c.pairs[0].Key) != "a" || len(c.pairs[1].Value) != 0 {
		t.Fatalf("decode: %+v %v", c, err)
	}
	for i := 10; i < len(b); i++ {
		x := bytes.Clone(b)
		x[i] ^= 1
		if _, err := decodeChunk(x); err == nil {
			t.Fatalf("flipped byte %d accepted", i)
		}
	}
	// A count far beyond the body is refused before allocating.
	x := bytes.Clone(b)
	x[2], x[3] = 0xFF, 0xFF
	if _, err := decodeChunk(x); err == nil {
		t.Fatal("huge count accepted")
	}
}

func FuzzDecodeChunk(f *testing.F) {
	f.Add(encodeChunk([]storage.StreamPair{{Key: []byte("k"), Value: []byte("v")}}, true))
	f.Add(encodeChunk(nil, false))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := decodeChunk(b)
		if err != nil {
			return
		}
		if got := encodeChunk(c.pairs, c.more); !bytes.Equal(got, b) {
			t.Fatalf("re-encoding differs")
		}
	})
}

func FuzzDecodePullRequest(f *testing.F) {
	f.Add(appendPullRequest(nil, pullRequest{span: storage.TokenSpan{Table: tbl, First: 1, Last: 2}, after: []byte("k"), maxBytes: 10}))
	f.Add(appendPullRequest(nil, pullRequest{span: storage.TokenSpan{First: -1, Last: 2}, maxBytes: 1}))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodePullRequest(b)
		if err != nil {
			return
		}
		if got := appendPullRequest(nil, r); !bytes.Equal(got, b) {
			t.Fatalf("re-encoding differs")
		}
	})
}

func FuzzDecodeStreamRequest(f *testing.F) {
	f.Add(appendStreamRequest(nil, "Repair", []Transfer{{Peer: srcAddr, Span: storage.TokenSpan{Table: tbl, First: 1, Last: 2}}}))
	f.Add(appendStreamRequest(nil, "", []Transfer{{Peer: netip.MustParseAddr("::1"), Span: storage.TokenSpan{First: -5, Last: -5}}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		desc, ts, err := decodeStreamRequest(b)
		if err != nil {
			return
		}
		if got := appendStreamRequest(nil, desc, ts); !bytes.Equal(got, b) {
			t.Fatalf("re-encoding differs")
		}
	})
}
