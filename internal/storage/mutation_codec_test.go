package storage

import (
	"bytes"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
)

// randWireMutation returns a mutation exercising every field of the wire
// encoding, including values Apply would ignore or normalize.
func randWireMutation(rng *rand.Rand) *Mutation {
	bs := func(max int) []byte {
		if rng.IntN(4) == 0 {
			return nil
		}
		b := make([]byte, rng.IntN(max+1))
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		return b
	}
	i64 := func() int64 {
		switch rng.IntN(4) {
		case 0:
			return 0
		case 1:
			return rng.Int64()
		case 2:
			return -rng.Int64N(1000)
		}
		return 1_700_000_000_000_000 + rng.Int64N(1000)
	}
	del := func() DeletionTime {
		if rng.IntN(3) == 0 {
			return DeletionTime{}
		}
		return DeletionTime{MarkedForDeleteAt: i64(), LocalDeletionTime: i64()}
	}
	m := &Mutation{Token: rng.Int64(), Key: bs(20), PartitionDeletion: del()}
	if rng.IntN(2) == 0 {
		m.Token = []int64{math.MinInt64, math.MaxInt64, 0, -1}[rng.IntN(4)]
	}
	for i := range m.Table {
		m.Table[i] = byte(rng.IntN(256))
	}
	for range rng.IntN(3) {
		m.RangeTombstones = append(m.RangeTombstones, RangeTombstone{
			Start: Bound{Prefix: bs(8), Inclusive: rng.IntN(2) == 0},
			End:   Bound{Prefix: bs(8), Inclusive: rng.IntN(2) == 0}, Deletion: del()})
	}
	for range rng.IntN(5) {
		ru := RowUpdate{Static: rng.IntN(5) == 0, Deletion: del()}
		if !ru.Static {
			ru.Clustering = bs(10)
		}
		if rng.IntN(2) == 0 {
			ru.Liveness = LivenessInfo{Timestamp: i64(), TTL: int32(rng.Uint32()), ExpiresAt: i64()}
		}
		for range rng.IntN(3) {
			ru.ComplexDeletions = append(ru.ComplexDeletions, ComplexDeletion{Column: rng.Uint32(), Deletion: del()})
		}
		for range rng.IntN(6) {
			c := Cell{Column: uint32(rng.IntN(10)), Path: bs(4), Timestamp: i64(), Tombstone: rng.IntN(3) == 0, Value: bs(30)}
			if rng.IntN(2) == 0 {
				c.TTL, c.ExpiresAt = int32(rng.Uint32()), i64()
			}
			if rng.IntN(3) == 0 {
				c.LocalDeletionTime = i64()
			}
			ru.Cells = append(ru.Cells, c)
		}
		m.Rows = append(m.Rows, ru)
	}
	return m
}

// wireNormal returns m as DecodeMutation returns it: empty keys, prefixes
// and element slices are nil.
func wireNormal(m *Mutation) *Mutation {
	c := *m
	c.Key = nonEmpty(c.Key)
	c.RangeTombstones = nil
	for _, rt := range m.RangeTombstones {
		rt.Start.Prefix, rt.End.Prefix = nonEmpty(rt.Start.Prefix), nonEmpty(rt.End.Prefix)
		c.RangeTombstones = append(c.RangeTombstones, rt)
	}
	c.Rows = nil
	for _, ru := range m.Rows {
		ru.Clustering = nonEmpty(ru.Clustering)
		if len(ru.Cells) == 0 {
			ru.Cells = nil
		}
		if len(ru.ComplexDeletions) == 0 {
			ru.ComplexDeletions = nil
		}
		c.Rows = append(c.Rows, ru)
	}
	return &c
}

func TestMutationCodecRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for i := 0; i < 3000; i++ {
		m := randWireMutation(rng)
		prefix := []byte("prefix")
		enc := EncodeMutation(prefix, m)
		if !bytes.HasPrefix(enc, []byte("prefix")) {
			t.Fatal("EncodeMutation lost dst's content")
		}
		enc = enc[len(prefix):]
		got, err := DecodeMutation(enc)
		if err != nil {
			t.Fatalf("decode %+v: %v", m, err)
		}
		if want := wireNormal(m); !reflect.DeepEqual(got, want) {
			t.Fatalf("round trip:\ngot  %+v\nwant %+v", got, want)
		}
		if !bytes.Equal(EncodeMutation(nil, got), enc) {
			t.Fatal("re-encoding differs")
		}
		// Every strict prefix is rejected, without panicking.
		for n := 0; n < len(enc); n += 1 + n/8 {
			if _, err := DecodeMutation(enc[:n]); err == nil {
				t.Fatalf("truncated encoding (%d of %d bytes) accepted", n, len(enc))
			}
		}
		if _, err := DecodeMutation(append(bytes.Clone(enc), 0)); err == nil {
			t.Fatal("trailing byte accepted")
		}
	}
}

func TestDecodeMutationRejects(t *testing.T) {
	good := EncodeMutation(nil, mut(ins(a1, 1, cell(1, "v", 1))))
	bad := bytes.Clone(good)
	bad[0] = 2
	if _, err := DecodeMutation(bad); err == nil {
		t.Error("unknown version accepted")
	}
	if _, err := DecodeMutation(make([]byte, MaxMutationSize+1)); err == nil {
		t.Error("oversized input accepted")
	}
	// A huge row count in a short input must fail before allocating.
	b := EncodeMutation(nil, &Mutation{})
	b = b[:len(b)-1]
	b = append(b, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F)
	if _, err := DecodeMutation(b); err == nil {
		t.Error("impossible row count accepted")
	}
	// A static row with a clustering is rejected (Apply would reject it).
	s := EncodeMutation(nil, mut(RowUpdate{Static: true, Clustering: a1}))
	if _, err := DecodeMutation(s); err == nil {
		t.Error("static row with clustering accepted")
	}
}

// TestDecodedMutationAliasing checks that slices of a decoded mutation do
// not overlap: appending to one row's cells must not clobber the next.
func TestDecodedMutationAliasing(t *testing.T) {
	m := mut(upd(a1, cell(1, "x", 1)), upd(a2, cell(2, "y", 1)))
	got, err := DecodeMutation(EncodeMutation(nil, m))
	if err != nil {
		t.Fatal(err)
	}
	_ = append(got.Rows[0].Cells, cell(9, "z", 1))
	if got.Rows[1].Cells[0].Column != 2 {
		t.Fatal("append to a decoded row's cells overwrote the next row's")
	}
}

// FuzzDecodeMutation checks that DecodeMutation never panics and that
// whatever it accepts re-encodes stably and can be applied and merged.
func FuzzDecodeMutation(f *testing.F) {
	rng := rand.New(rand.NewPCG(1, 1))
	for range 8 {
		f.Add(EncodeMutation(nil, randWireMutation(rng)))
	}
	f.Add(EncodeMutation(nil, &Mutation{}))
	f.Add([]byte{mutationV1})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeMutation(b)
		if err != nil {
			if m != nil {
				t.Fatal("non-nil mutation with an error")
			}
			return
		}
		enc := EncodeMutation(nil, m)
		m2, err := DecodeMutation(enc)
		if err != nil {
			t.Fatalf("re-encoding does not decode: %v", err)
		}
		if !reflect.DeepEqual(m, m2) {
			t.Fatalf("unstable:\n%+v\n%+v", m, m2)
		}
		if enc2 := EncodeMutation(nil, m2); !bytes.Equal(enc, enc2) {
			t.Fatal("encoding not stable")
		}
		// Whatever decodes is a valid mutation for the in-memory paths.
		Digest(m)
		MergeMutations(m, m)
		if err := ReadMutation(m, PartitionQuery{Static: true}, t0, func(*Row) bool { return true }); err != nil {
			t.Fatalf("ReadMutation of a decoded mutation: %v", err)
		}
	})
}

// BenchmarkEncodeDecodeMutation encodes and decodes a typical replicated
// write: 10 rows of 3 cells with one timestamp.
func BenchmarkEncodeDecodeMutation(b *testing.B) {
	var rows []RowUpdate
	for i := 0; i < 10; i++ {
		ts := int64(1_700_000_000_000_000)
		rows = append(rows, ins(benchKey(i), ts, cell(1, "value-one", ts), cell(2, "value-two", ts), cell(3, "value-three", ts)))
	}
	m := &Mutation{Table: tbl, Token: 1, Key: pk, Rows: rows}
	var buf []byte
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		buf = EncodeMutation(buf[:0], m)
		if _, err := DecodeMutation(buf); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(buf)), "bytes/op-encoded")
}
