package cluster

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/ringdb/ringdb/internal/ring"
	"github.com/ringdb/ringdb/internal/storage"
)

func TestUnownedSpansComplementTheOwnedRanges(t *testing.T) {
	tm := ring.NewTokenMetadata()
	var err error
	for i := 1; i <= 5; i++ {
		if tm, err = tm.WithEndpoint(addr(i), tokensOf(i), "dc1", "r1"); err != nil {
			t.Fatal(err)
		}
	}
	strat := ring.NewSimpleStrategy(2)
	table := storage.TableID{9}
	spans := unownedSpans(strat, tm, addr(1), table)
	if len(spans) == 0 {
		t.Fatal("node 1 owns everything at RF 2 of 5")
	}
	for i := 1; i < len(spans); i++ {
		if spans[i].First <= spans[i-1].Last {
			t.Fatalf("spans overlap or are unordered: %v", spans)
		}
	}
	inSpans := func(tok int64) bool {
		return slices.ContainsFunc(spans, func(s storage.TokenSpan) bool { return s.First <= tok && tok <= s.Last })
	}
	r := rand.New(rand.NewPCG(1, 2))
	probes := []int64{math.MinInt64, math.MaxInt64, 0}
	for _, tok := range tm.SortedTokens() {
		probes = append(probes, tok, tok+1, tok-1)
	}
	for range 2000 {
		probes = append(probes, int64(r.Uint64()))
	}
	for _, tok := range probes {
		owns := slices.Contains(strat.NaturalEndpoints(tm, tok), addr(1))
		if inSpans(tok) == owns {
			t.Fatalf("token %d: owned %v, in the cleanup spans %v", tok, owns, inSpans(tok))
		}
	}
	// A node that replicates everything deletes nothing.
	if got := unownedSpans(ring.NewSimpleStrategy(5), tm, addr(1), table); len(got) != 0 {
		t.Fatalf("RF = nodes: %v", got)
	}
}

func TestCleanupRefusedDuringMovements(t *testing.T) {
	h := newHarness(t)
	n := decommissionNode(t, h, 3, &fakeStreamer{})
	if err := n.c.Cleanup(context.Background(), "nope", nil, func(string) {}); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("unknown keyspace: %v", err)
	}
	// Rows in every range of the ring: cleanup keeps those node 1
	// replicates.
	tbl := storage.TableID(n.sm.Current().Table("ks", "t").ID)
	var muts []*storage.Mutation
	for i, r := range n.c.Ring().AllRanges() {
		k := []byte(fmt.Sprintf("key-%d", i))
		muts = append(muts, &storage.Mutation{Table: tbl, Token: r.End - 1, Key: k,
			Rows: []storage.RowUpdate{{Liveness: storage.LivenessInfo{Timestamp: 10}, Cells: []storage.Cell{{Column: 1, Timestamp: 10, Value: []byte("v")}}}}})
	}
	if err := n.eng.Apply(muts); err != nil {
		t.Fatal(err)
	}
	var lines []string
	if err := n.c.Cleanup(context.Background(), "", nil, func(l string) { lines = append(lines, l) }); err != nil {
		t.Fatal(err)
	}
	if len(lines) != 1 || !strings.Contains(lines[0], "cleaned up ks.t") {
		t.Errorf("progress %q", lines)
	}
	strat, tm := ring.NewSimpleStrategy(3), n.c.Ring()
	kept, gone := 0, 0
	for _, m := range muts {
		p, err := n.eng.ReadPartitionRaw(tbl, m.Token, m.Key)
		if err != nil {
			t.Fatal(err)
		}
		has := p != nil && len(p.Rows) > 0
		if owns := slices.Contains(strat.NaturalEndpoints(tm, m.Token), addr(1)); has != owns {
			t.Fatalf("%s: owned %v, kept %v", m.Key, owns, has)
		}
		if has {
			kept++
		} else {
			gone++
		}
	}
	if kept == 0 || gone == 0 {
		t.Fatalf("kept %d, deleted %d: the test ring should have both", kept, gone)
	}
	n.g.put(addr(7), peerState(7, true, "BOOT,7000", ""))
	n.c.rebuildRing()
	if err := n.c.Cleanup(context.Background(), "", nil, func(string) {}); err == nil || !strings.Contains(err.Error(), "not safe") {
		t.Fatalf("during a bootstrap: %v", err)
	}
}
