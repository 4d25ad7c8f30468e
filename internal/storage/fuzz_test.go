package storage

import (
	"bytes"
	"testing"
)

func fuzzSeeds(f *testing.F) {
	var fr rowFragment
	ru := RowUpdate{Liveness: LivenessInfo{Timestamp: 5, TTL: 3, ExpiresAt: 9},
		Deletion:         del(4),
		ComplexDeletions: []ComplexDeletion{{Column: 2, Deletion: del(3)}},
		Cells:            []Cell{cell(1, "v", 6), pcell(2, "p", "w", 7), tomb(3, 8), ttlCell(4, "t", 9, 10, 100)}}
	buildRow(&ru, &fr)
	f.Add(appendRow(nil, &fr))
	f.Add(appendRow(nil, &rowFragment{}))
	var h, tmp headerFragment
	buildHeader(&Mutation{PartitionDeletion: del(3), RangeTombstones: []RangeTombstone{
		{Start: incl(ck("a")), End: excl(ck("b")), Deletion: del(4)}, {Start: unb, End: unb, Deletion: del(5)}}}, &h, &tmp, nil)
	f.Add(appendHeader(nil, &h))
	f.Add([]byte{formatV1, 0xFF})
	f.Add([]byte{})
}

// FuzzDecodeRow checks that the row decoder never panics on arbitrary bytes
// and that whatever it accepts has a stable encoding and survives the
// merger.
func FuzzDecodeRow(f *testing.F) {
	fuzzSeeds(f)
	e := &Engine{}
	e.opts, _ = Options{}.withDefaults()
	f.Fuzz(func(t *testing.T, b []byte) {
		var fr rowFragment
		if err := decodeRow(b, &fr); err != nil {
			return
		}
		// The input may be non-canonical (overlong varints); its encoding
		// must decode and re-encode to itself.
		enc := appendRow(nil, &fr)
		var fr2 rowFragment
		if err := decodeRow(enc, &fr2); err != nil {
			t.Fatalf("re-encoding of %x does not decode: %v", b, err)
		}
		if enc2 := appendRow(nil, &fr2); !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding not stable:\n%x\n%x", enc, enc2)
		}
		key := append(appendPartitionPrefix(nil, tbl, 1, pk), kindRow)
		m, err := e.merge(key, b)
		if err != nil {
			t.Fatal(err)
		}
		m.MergeOlder(b)
		v, c, err := m.Finish(true)
		if err != nil {
			t.Fatalf("merging a valid row with itself: %v", err)
		}
		if err := decodeRow(v, &fr); err != nil {
			t.Fatalf("merger produced an undecodable row: %v", err)
		}
		c.Close()
	})
}

// FuzzDecodeHeader is FuzzDecodeRow for partition headers.
func FuzzDecodeHeader(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		var h headerFragment
		if err := decodeHeader(b, &h); err != nil {
			return
		}
		enc := appendHeader(nil, &h)
		var h2 headerFragment
		if err := decodeHeader(enc, &h2); err != nil {
			t.Fatalf("re-encoding of %x does not decode: %v", b, err)
		}
		if enc2 := appendHeader(nil, &h2); !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding not stable:\n%x\n%x", enc, enc2)
		}
	})
}

// FuzzParseDataKey checks the key parser against arbitrary bytes and the
// encoder.
func FuzzParseDataKey(f *testing.F) {
	f.Add([]byte("pk"), int64(-3), []byte("ck"))
	f.Add([]byte{0, 0xFF, 0, 1}, int64(0), []byte{})
	f.Fuzz(func(t *testing.T, key []byte, token int64, clustering []byte) {
		k := append(appendPartitionPrefix(nil, tbl, token, key), kindRow)
		k = append(k, clustering...)
		dk, err := parseDataKey(k, nil)
		if err != nil || dk.token != token || !bytes.Equal(dk.key, key) || !bytes.Equal(dk.clustering, clustering) || dk.kind != kindRow {
			t.Fatalf("round trip: %+v %v", dk, err)
		}
		parseDataKey(key, nil) // arbitrary bytes: must not panic
		kindOf(key)
	})
}
