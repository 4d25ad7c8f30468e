package repair

import (
	"errors"
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/ringdb/ringdb/internal/ring"
	"github.com/ringdb/ringdb/internal/storage"
	"github.com/ringdb/ringdb/internal/streaming"
)

// TestCompareCoalescesEmptyGaps: differing leaves separated only by leaves
// empty on both sides are one range; an equal non-empty leaf splits them.
func TestCompareCoalescesEmptyGaps(t *testing.T) {
	r := rng(0, 1000) // depth 3: leaves of 125 tokens
	shared := []part{{500, []byte("same")}}
	a := build(t, r, 3, shared)
	b := build(t, r, 3, sortRing(r, append(slices.Clone(shared), []part{
		{10, []byte("x")}, {260, []byte("y")}, // leaves 0 and 2, leaf 1 empty: one range
		{640, []byte("z")}, // leaf 5, beyond the equal leaf 3: another range
	}...)))
	d, err := Compare(a, b)
	if err != nil {
		t.Fatal(err)
	}
	want := []ring.Range{rng(0, 375), rng(625, 750)}
	if !slices.Equal(d.Ranges, want) || d.PartitionsA != 0 || d.PartitionsB != 3 {
		t.Fatalf("Compare = %+v, want ranges %v with 0/3 partitions", d, want)
	}
	// Diff, leaf by leaf, reports the gap leaf apart.
	if raw, _ := Diff(a, b); len(raw) != 3 {
		t.Fatalf("Diff = %v, want 3 ranges", raw)
	}
	if d, err := Compare(a, a); err != nil || d.Ranges != nil {
		t.Fatalf("Compare(a, a) = %+v, %v", d, err)
	}
	if _, err := Compare(a, mustTree(t, r, 4)); !errors.Is(err, ErrShape) {
		t.Fatalf("Compare of different depths: %v", err)
	}
}

// TestCompareCoversEveryDifference checks on random data that every
// partition present on one side only, or with different digests, lies in
// a returned range, and that the ranges never cover a partition present
// identically on both sides unless its leaf differs.
func TestCompareCoversEveryDifference(t *testing.T) {
	src := rand.New(rand.NewPCG(11, 12))
	for iter := range 200 {
		r := randRange(src)
		depth := src.IntN(9)
		base := randParts(src, r, src.IntN(300))
		other := mutate(src, r, base)
		a, b := build(t, r, depth, base), build(t, r, depth, other)
		d, err := Compare(a, b)
		if err != nil {
			t.Fatal(err)
		}
		in := func(tok ring.Token) bool {
			return slices.ContainsFunc(d.Ranges, func(x ring.Range) bool { return x.Contains(tok) })
		}
		digests := map[ring.Token]string{}
		for _, p := range base {
			digests[p.tok] = string(p.digest)
		}
		for _, p := range other {
			if dg, ok := digests[p.tok]; !ok || dg != string(p.digest) {
				if !in(p.tok) {
					t.Fatalf("iter %d: changed token %d outside %v", iter, p.tok, d.Ranges)
				}
			}
		}
		var wantA, wantB uint64
		for _, p := range base {
			if in(p.tok) {
				wantA++
			}
		}
		for _, p := range other {
			if in(p.tok) {
				wantB++
			}
		}
		if d.PartitionsA != wantA || d.PartitionsB != wantB {
			t.Fatalf("iter %d: partitions %d/%d, want %d/%d", iter, d.PartitionsA, d.PartitionsB, wantA, wantB)
		}
		// Coalescing never merges across an equal non-empty leaf: the
		// ranges cover exactly the differing leaves plus empty ones.
		raw, _ := Diff(a, b)
		for _, x := range raw {
			if !slices.ContainsFunc(d.Ranges, func(y ring.Range) bool { return y.Contains(x.End) }) {
				t.Fatalf("iter %d: Diff range %v not covered by %v", iter, x, d.Ranges)
			}
		}
	}
}

func TestSyncsPairs(t *testing.T) {
	r := rng(0, 1000)
	base := []part{{100, []byte("a")}, {600, []byte("b")}}
	ta, tb := build(t, r, 4, base), build(t, r, 4, base)
	tc := build(t, r, 4, base[:1]) // misses token 600
	reps := []netip.Addr{addr(1), addr(2), addr(3)}
	syncs, err := Syncs(reps, []*Tree{ta, tb, tc})
	if err != nil {
		t.Fatal(err)
	}
	if len(syncs) != 2 || syncs[0].A != addr(1) || syncs[0].B != addr(3) || syncs[1].A != addr(2) || syncs[1].B != addr(3) {
		t.Fatalf("syncs = %+v, want (1,3) and (2,3)", syncs)
	}
	leaf, _ := ta.Leaf(ta.leafOf(ta.pos(600)))
	for _, s := range syncs {
		if !slices.Equal(s.Ranges, []ring.Range{leaf}) || s.PartitionsA != 1 || s.PartitionsB != 0 {
			t.Fatalf("sync %+v, want range %v with 1/0 partitions", s, leaf)
		}
	}
	if s, err := Syncs(reps, []*Tree{ta, tb, build(t, r, 4, base)}); err != nil || s != nil {
		t.Fatalf("equal trees: %+v, %v", s, err)
	}
	if _, err := Syncs(reps, []*Tree{ta, tb}); err == nil {
		t.Fatal("Syncs with a missing tree succeeded")
	}
}

func TestTransfersSplitWrappingRanges(t *testing.T) {
	tbl := storage.TableID{3}
	got := Transfers(tbl, addr(2), []ring.Range{rng(10, 20), rng(100, -100)})
	want := []streaming.Transfer{
		{Peer: addr(2), Span: storage.TokenSpan{Table: tbl, First: 11, Last: 20}},
		{Peer: addr(2), Span: storage.TokenSpan{Table: tbl, First: 101, Last: math.MaxInt64}},
		{Peer: addr(2), Span: storage.TokenSpan{Table: tbl, First: math.MinInt64, Last: -100}},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("Transfers = %v, want %v", got, want)
	}
}
