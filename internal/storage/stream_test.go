package storage

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// streamFixture writes partitions with live cells, TTLs, cell, row, range
// and partition tombstones at tokens spread over the whole ring.
func streamFixture(t *testing.T, e *Engine, n int) []*Mutation {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	var muts []*Mutation
	for i := 0; i < n; i++ {
		m := &Mutation{Table: tbl, Token: int64(rng.Uint64()), Key: []byte(fmt.Sprintf("k%05d\x00z", i))}
		if i%17 == 0 {
			m.Token = math.MaxInt64
		}
		if i%19 == 0 {
			m.Token = math.MinInt64 + 1
		}
		ts := int64(1000 + i)
		switch i % 5 {
		case 0:
			m.PartitionDeletion = DeletionTime{MarkedForDeleteAt: ts, LocalDeletionTime: t0Sec}
		case 1:
			m.RangeTombstones = []RangeTombstone{{Start: Bound{Prefix: ck("a"), Inclusive: true}, End: Bound{Prefix: ck("c"), Inclusive: true}, Deletion: DeletionTime{MarkedForDeleteAt: ts, LocalDeletionTime: t0Sec}}}
		}
		for r := 0; r < 3; r++ {
			ru := RowUpdate{Clustering: ck(string(rune('a' + r))), Liveness: LivenessInfo{Timestamp: ts + 1}}
			ru.Cells = []Cell{{Column: 1, Timestamp: ts + 1, Value: []byte(strings.Repeat("v", i%7))}}
			if r == 1 {
				ru.Cells = append(ru.Cells, Cell{Column: 2, Timestamp: ts + 2, TTL: 3600, ExpiresAt: t0Sec + 3600, Value: []byte("ttl")})
			}
			if r == 2 && i%3 == 0 {
				ru.Cells = []Cell{{Column: 1, Timestamp: ts + 3, Tombstone: true, LocalDeletionTime: t0Sec}}
			}
			m.Rows = append(m.Rows, ru)
		}
		muts = append(muts, m)
	}
	if err := e.Apply(muts); err != nil {
		t.Fatal(err)
	}
	return muts
}

// copySpan streams span from src to dst in chunks of maxBytes and returns
// the number of chunks.
func copySpan(t *testing.T, src, dst *Engine, span TokenSpan, maxBytes int) int {
	t.Helper()
	var after []byte
	chunks := 0
	for {
		var pairs []StreamPair
		last, more, err := src.ExportSpan(span, after, maxBytes, func(p StreamPair) error {
			pairs = append(pairs, StreamPair{Key: bytes.Clone(p.Key), Value: bytes.Clone(p.Value)})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := dst.ImportSpan(span, after, pairs); err != nil {
			t.Fatal(err)
		}
		chunks++
		if !more {
			return chunks
		}
		after = last
	}
}

func TestStreamSpansReproducePartitions(t *testing.T) {
	c := newClock()
	src, dst := openTest(t, "", c, 0), openTest(t, "", c, 0)
	muts := streamFixture(t, src, 300)
	// Two spans covering the whole ring, as a wrapping range is split.
	spans := []TokenSpan{{Table: tbl, First: math.MinInt64, Last: -1}, {Table: tbl, First: 0, Last: math.MaxInt64}}
	chunks := 0
	for _, s := range spans {
		chunks += copySpan(t, src, dst, s, 512)
	}
	if chunks < 10 {
		t.Fatalf("only %d chunks: the byte bound was not honoured", chunks)
	}
	for _, m := range muts {
		a, err := src.ReadPartitionRaw(tbl, m.Token, m.Key)
		if err != nil {
			t.Fatal(err)
		}
		b, err := dst.ReadPartitionRaw(tbl, m.Token, m.Key)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(Digest(a), Digest(b)) {
			t.Fatalf("partition %q differs after streaming", m.Key)
		}
	}
}

func TestStreamSpanOnlyItsTokens(t *testing.T) {
	c := newClock()
	src, dst := openTest(t, "", c, 0), openTest(t, "", c, 0)
	muts := streamFixture(t, src, 200)
	span := TokenSpan{Table: tbl, First: -1 << 62, Last: 1 << 62}
	copySpan(t, src, dst, span, 1<<20)
	for _, m := range muts {
		b, err := dst.ReadPartitionRaw(tbl, m.Token, m.Key)
		if err != nil {
			t.Fatal(err)
		}
		inside := m.Token >= span.First && m.Token <= span.Last
		if (b != nil) != inside {
			t.Fatalf("token %d: streamed=%v inside=%v", m.Token, b != nil, inside)
		}
	}
	if has, _ := dst.SpanHasData(TokenSpan{Table: tbl, First: span.Last + 1, Last: math.MaxInt64}); has {
		t.Fatal("data outside the span")
	}
	if err := src.DeleteSpan(span); err != nil {
		t.Fatal(err)
	}
	if has, _ := src.SpanHasData(span); has {
		t.Fatal("DeleteSpan left data")
	}
}

func TestImportSpanRefusesHostilePairs(t *testing.T) {
	c := newClock()
	src, dst := openTest(t, "", c, 0), openTest(t, "", c, 0)
	streamFixture(t, src, 50)
	span := TokenSpan{Table: tbl, First: math.MinInt64, Last: math.MaxInt64}
	var good []StreamPair
	if _, _, err := src.ExportSpan(span, nil, 1<<20, func(p StreamPair) error {
		good = append(good, StreamPair{Key: bytes.Clone(p.Key), Value: bytes.Clone(p.Value)})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	other := appendPartitionPrefix(nil, tbl2, 5, []byte("x"))
	narrow := TokenSpan{Table: tbl, First: 0, Last: 10}
	cases := map[string]struct {
		span  TokenSpan
		after []byte
		pairs []StreamPair
	}{
		"other table":    {span, nil, []StreamPair{{Key: append(other, kindRow), Value: good[0].Value}}},
		"outside span":   {narrow, nil, good[:1]},
		"out of order":   {span, nil, []StreamPair{good[1], good[0]}},
		"duplicate":      {span, nil, []StreamPair{good[0], good[0]}},
		"before resume":  {span, good[1].Key, good[:1]},
		"garbage value":  {span, nil, []StreamPair{{Key: good[0].Key, Value: []byte{9, 9, 9}}}},
		"truncated":      {span, nil, []StreamPair{{Key: good[0].Key, Value: good[0].Value[:len(good[0].Value)/2]}}},
		"malformed key":  {span, nil, []StreamPair{{Key: []byte("d0123"), Value: good[0].Value}}},
		"meta key":       {span, nil, []StreamPair{{Key: []byte("mroles"), Value: good[0].Value}}},
		"empty span":     {TokenSpan{Table: tbl, First: 5, Last: 4}, nil, good[:1]},
		"good then evil": {span, nil, []StreamPair{good[0], {Key: good[1].Key, Value: []byte{1}}}},
	}
	for name, tc := range cases {
		if err := dst.ImportSpan(tc.span, tc.after, tc.pairs); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if has, _ := dst.SpanHasData(span); has {
		t.Fatal("a refused chunk was partly applied")
	}
}

func TestExportSpanRefusesForeignResumeKey(t *testing.T) {
	e := openTest(t, "", newClock(), 0)
	span := TokenSpan{Table: tbl, First: 0, Last: 10}
	if _, _, err := e.ExportSpan(span, []byte("mzzz"), 100, func(StreamPair) error { return nil }); err == nil {
		t.Fatal("a resume key outside the span was accepted")
	}
}
