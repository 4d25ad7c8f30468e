package repair

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/ringdb/ringdb/internal/ring"
)

const (
	minTok = math.MinInt64
	maxTok = math.MaxInt64

	minTokBits = uint64(1) << 63 // uint64(minTok)
)

func rng(s, e ring.Token) ring.Range { return ring.Range{Start: s, End: e} }

func mustTree(t testing.TB, r ring.Range, depth int) *Tree {
	t.Helper()
	tr, err := NewTree(r, depth)
	if err != nil {
		t.Fatalf("NewTree(%v, %d): %v", r, depth, err)
	}
	return tr
}

// leafSpec is the expected range of one leaf; empty marks a zero-width one.
type leafSpec struct {
	r     ring.Range
	empty bool
}

func TestLeafSplit(t *testing.T) {
	tests := []struct {
		name  string
		r     ring.Range
		depth int
		want  []leafSpec
	}{
		{"even", rng(0, 1024), 2, []leafSpec{
			{r: rng(0, 256)}, {r: rng(256, 512)}, {r: rng(512, 768)}, {r: rng(768, 1024)}}},
		{"uneven", rng(0, 10), 2, []leafSpec{
			{r: rng(0, 2)}, {r: rng(2, 5)}, {r: rng(5, 7)}, {r: rng(7, 10)}}},
		{"negative", rng(-100, -60), 1, []leafSpec{{r: rng(-100, -80)}, {r: rng(-80, -60)}}},
		{"depth0", rng(5, 9), 0, []leafSpec{{r: rng(5, 9)}}},
		{"wrapping", rng(maxTok-1, minTok+2), 2, []leafSpec{
			{r: rng(maxTok-1, maxTok)}, {r: rng(maxTok, minTok)},
			{r: rng(minTok, minTok+1)}, {r: rng(minTok+1, minTok+2)}}},
		{"wrapping wide", rng(1<<62, -(1 << 62)), 1, []leafSpec{
			{r: rng(1<<62, minTok)}, {r: rng(minTok, -(1 << 62))}}},
		{"whole ring at 0", rng(0, 0), 1, []leafSpec{{r: rng(0, minTok)}, {r: rng(minTok, 0)}}},
		{"whole ring at min", rng(minTok, minTok), 2, []leafSpec{
			{r: rng(minTok, -(1 << 62))}, {r: rng(-(1 << 62), 0)},
			{r: rng(0, 1<<62)}, {r: rng(1<<62, minTok)}}},
		{"whole ring depth0", rng(7, 7), 0, []leafSpec{{r: rng(7, 7)}}},
		{"tiny", rng(0, 3), 2, []leafSpec{
			{r: rng(0, 0), empty: true}, {r: rng(0, 1)}, {r: rng(1, 2)}, {r: rng(2, 3)}}},
		{"single token", rng(41, 42), 2, []leafSpec{
			{r: rng(41, 41), empty: true}, {r: rng(41, 41), empty: true},
			{r: rng(41, 41), empty: true}, {r: rng(41, 42)}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := mustTree(t, tc.r, tc.depth)
			if tr.Leaves() != len(tc.want) {
				t.Fatalf("Leaves() = %d, want %d", tr.Leaves(), len(tc.want))
			}
			for i, w := range tc.want {
				got, ok := tr.Leaf(i)
				if got != w.r || ok == w.empty {
					t.Errorf("Leaf(%d) = %v, %v; want %v, %v", i, got, ok, w.r, !w.empty)
				}
			}
		})
	}
}

// randRange returns a random range, often wrapping, sometimes tiny or the
// whole ring.
func randRange(r *rand.Rand) ring.Range {
	s := ring.Token(r.Uint64())
	switch r.IntN(4) {
	case 0:
		return rng(s, s)
	case 1:
		return rng(s, ring.Token(uint64(s)+1+r.Uint64N(100)))
	default:
		return rng(s, ring.Token(r.Uint64()))
	}
}

// TestLeafSplitProperties checks on random ranges that the leaves tile the
// range contiguously with widths differing by at most one, and that leafOf
// agrees with the boundaries.
func TestLeafSplitProperties(t *testing.T) {
	src := rand.New(rand.NewPCG(1, 2))
	for range 500 {
		r := randRange(src)
		tr := mustTree(t, r, src.IntN(MaxDepth+1))
		checkTiling(t, tr)
		for range 20 {
			tok := randTokenIn(src, r)
			i := tr.leafOf(tr.pos(tok))
			if leaf, ok := tr.Leaf(i); !ok || !leaf.Contains(tok) {
				t.Fatalf("%v depth %d: token %d in leaf %d = %v (ok %v)", r, tr.depth, tok, i, leaf, ok)
			}
		}
	}
}

func checkTiling(t *testing.T, tr *Tree) {
	t.Helper()
	n := tr.Leaves()
	minW, maxW := uint64(math.MaxUint64), uint64(0)
	for i := range n {
		leaf, _ := tr.Leaf(i)
		if i == 0 && leaf.Start != tr.rng.Start || i == n-1 && leaf.End != tr.rng.End {
			t.Fatalf("%v depth %d: leaf %d = %v does not reach the range's end", tr.rng, tr.depth, i, leaf)
		}
		w := tr.bound(i+1) - tr.bound(i)
		minW, maxW = min(minW, w), max(maxW, w)
		if i == n-1 {
			break
		}
		if next, _ := tr.Leaf(i + 1); leaf.End != next.Start {
			t.Fatalf("%v depth %d: leaf %d = %v, leaf %d = %v not contiguous", tr.rng, tr.depth, i, leaf, i+1, next)
		}
	}
	if !(tr.whole && tr.depth == 0) && maxW-minW > 1 {
		t.Fatalf("%v depth %d: leaf widths in [%d, %d]", tr.rng, tr.depth, minW, maxW)
	}
}

func randTokenIn(src *rand.Rand, r ring.Range) ring.Token {
	w := uint64(r.End) - uint64(r.Start)
	var off uint64
	if w == 0 {
		off = src.Uint64()
	} else {
		off = src.Uint64N(w)
	}
	return ring.Token(uint64(r.Start) + off + 1)
}

func TestNewTreeDepth(t *testing.T) {
	for _, d := range []int{-1, MaxDepth + 1, 64} {
		if _, err := NewTree(rng(0, 10), d); err == nil {
			t.Errorf("NewTree depth %d: no error", d)
		}
	}
	for _, d := range []int{0, DefaultDepth, MaxDepth} {
		tr := mustTree(t, rng(0, 10), d)
		if tr.Leaves() != 1<<d || tr.Depth() != d {
			t.Errorf("depth %d: Leaves() = %d, Depth() = %d", d, tr.Leaves(), tr.Depth())
		}
	}
}

func TestAddErrors(t *testing.T) {
	d := []byte("digest")
	tests := []struct {
		name   string
		r      ring.Range
		ok     []ring.Token
		bad    ring.Token
		target error
	}{
		{"below range", rng(0, 100), nil, 0, ErrTokenRange},
		{"above range", rng(0, 100), nil, 101, ErrTokenRange},
		{"outside wrapping", rng(100, -100), nil, 0, ErrTokenRange},
		{"equal", rng(0, 100), []ring.Token{5}, 5, ErrTokenOrder},
		{"decreasing", rng(0, 100), []ring.Token{5, 50}, 49, ErrTokenOrder},
		{"wrapping back", rng(100, -100), []ring.Token{200, minTok, -150}, maxTok, ErrTokenOrder},
		{"whole ring start last", rng(3, 3), []ring.Token{4, maxTok, minTok, 3}, 2, ErrTokenOrder},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := buildTree(t, tc.r, 3, tc.ok, d).Root()
			tr2 := buildTree(t, tc.r, 3, tc.ok, d)
			if err := tr2.Add(tc.bad, d); !errors.Is(err, tc.target) {
				t.Fatalf("Add(%d) = %v, want %v", tc.bad, err, tc.target)
			}
			if tr2.Count() != uint64(len(tc.ok)) || tr2.Root() != before {
				t.Fatalf("a refused Add changed the tree")
			}
		})
	}
}

func TestAddAfterFinish(t *testing.T) {
	tr := mustTree(t, rng(0, 100), 2)
	tr.Finish()
	tr.Finish()
	if err := tr.Add(1, nil); !errors.Is(err, ErrFinished) {
		t.Fatalf("Add after Finish = %v, want ErrFinished", err)
	}
}

// buildTree adds tokens (in ring order) with one digest to a new tree.
func buildTree(t testing.TB, r ring.Range, depth int, toks []ring.Token, digest []byte) *Tree {
	t.Helper()
	tr := mustTree(t, r, depth)
	for _, tok := range toks {
		if err := tr.Add(tok, digest); err != nil {
			t.Fatalf("Add(%d): %v", tok, err)
		}
	}
	return tr
}

// part is one partition: a token and its digest.
type part struct {
	tok    ring.Token
	digest []byte
}

func build(t testing.TB, r ring.Range, depth int, parts []part) *Tree {
	t.Helper()
	tr := mustTree(t, r, depth)
	for _, p := range parts {
		if err := tr.Add(p.tok, p.digest); err != nil {
			t.Fatalf("Add(%d): %v", p.tok, err)
		}
	}
	return tr
}

// randParts returns up to n partitions (fewer in a narrow range) with
// distinct random tokens of r, in ring order from r.Start.
func randParts(src *rand.Rand, r ring.Range, n int) []part {
	seen := map[ring.Token]bool{}
	var parts []part
	for try := 0; len(parts) < n && try < 4*n; try++ {
		tok := randTokenIn(src, r)
		if !seen[tok] {
			seen[tok] = true
			parts = append(parts, part{tok, fmt.Appendf(nil, "d%d", src.Uint64())})
		}
	}
	return sortRing(r, parts)
}

func TestIdenticalTrees(t *testing.T) {
	src := rand.New(rand.NewPCG(3, 4))
	for _, r := range []ring.Range{rng(0, 1<<40), rng(1<<62, -(1 << 62)), rng(9, 9), rng(0, 5)} {
		parts := randParts(src, r, 300)
		a, b := build(t, r, 8, parts), build(t, r, 8, parts)
		if a.Root() != b.Root() {
			t.Errorf("%v: equal data, different roots", r)
		}
		if d, err := Diff(a, b); err != nil || d != nil {
			t.Errorf("%v: Diff = %v, %v; want nil, nil", r, d, err)
		}
		if a.Count() != uint64(len(parts)) {
			t.Errorf("%v: Count() = %d, want %d", r, a.Count(), len(parts))
		}
	}
	e1, e2 := mustTree(t, rng(0, 5), 3), mustTree(t, rng(0, 5), 3)
	if e1.Root() != e2.Root() {
		t.Error("empty trees: different roots")
	}
}

// TestSingleDifference changes, adds or removes one partition and expects
// exactly the leaf holding it.
func TestSingleDifference(t *testing.T) {
	src := rand.New(rand.NewPCG(5, 6))
	for _, r := range []ring.Range{rng(-1000, 1<<50), rng(1<<62, -(1 << 62)), rng(0, 0)} {
		parts := randParts(src, r, 200)
		k := src.IntN(len(parts))
		changed := slices.Clone(parts)
		changed[k].digest = []byte("other")
		removed := slices.Delete(slices.Clone(parts), k, k+1)
		for name, other := range map[string][]part{"changed": changed, "removed": removed} {
			checkOneLeaf(t, r, parts, other, parts[k].tok, name)
			checkOneLeaf(t, r, other, parts, parts[k].tok, name+" reversed")
		}
	}
}

func checkOneLeaf(t *testing.T, r ring.Range, a, b []part, tok ring.Token, name string) {
	t.Helper()
	ta, tb := build(t, r, 10, a), build(t, r, 10, b)
	got, err := Diff(ta, tb)
	if err != nil {
		t.Fatalf("%v %s: %v", r, name, err)
	}
	want, _ := ta.Leaf(ta.leafOf(ta.pos(tok)))
	if len(got) != 1 || got[0] != want {
		t.Errorf("%v %s: Diff = %v, want [%v]", r, name, got, want)
	}
}

func TestDigestFraming(t *testing.T) {
	// Same concatenated bytes, split differently across partitions.
	a := build(t, rng(0, 100), 0, []part{{1, []byte("ab")}, {2, []byte("c")}})
	b := build(t, rng(0, 100), 0, []part{{1, []byte("a")}, {2, []byte("bc")}})
	if a.Root() == b.Root() {
		t.Error("different digests gave equal roots")
	}
}

func TestDiffMergesAdjacentLeaves(t *testing.T) {
	r := rng(0, 800)
	a := build(t, r, 3, nil) // leaves of width 100
	b := build(t, r, 3, []part{{150, []byte("x")}, {250, []byte("x")}, {550, []byte("x")}, {800, []byte("x")}})
	got, err := Diff(a, b)
	want := []ring.Range{rng(100, 300), rng(500, 600), rng(700, 800)}
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("Diff = %v, %v; want %v", got, err, want)
	}
	all := build(t, r, 3, []part{{1, nil}, {101, nil}, {201, nil}, {301, nil}, {401, nil}, {501, nil}, {601, nil}, {701, nil}})
	if got, _ := Diff(a, all); !slices.Equal(got, []ring.Range{r}) {
		t.Fatalf("Diff all = %v, want [%v]", got, r)
	}
	whole := rng(0, 0)
	if got, _ := Diff(build(t, whole, 1, []part{{1, nil}, {-1, nil}}), build(t, whole, 1, nil)); !slices.Equal(got, []ring.Range{whole}) {
		t.Fatalf("Diff whole ring = %v, want [%v]", got, whole)
	}
}

func TestDiffShape(t *testing.T) {
	a := mustTree(t, rng(0, 100), 3)
	for _, b := range []*Tree{nil, mustTree(t, rng(0, 101), 3), mustTree(t, rng(0, 100), 4)} {
		if _, err := Diff(a, b); !errors.Is(err, ErrShape) {
			t.Errorf("Diff with %v: err = %v, want ErrShape", b, err)
		}
	}
	if _, err := Diff(mustTree(t, rng(1, 1), 2), mustTree(t, rng(2, 2), 2)); !errors.Is(err, ErrShape) {
		t.Errorf("whole rings with different starts: err = %v, want ErrShape", err)
	}
}

// TestDiffRandom compares Diff with a brute-force leaf-by-leaf comparison
// on random data with random differences.
func TestDiffRandom(t *testing.T) {
	src := rand.New(rand.NewPCG(7, 8))
	for iter := range 300 {
		r := randRange(src)
		depth := src.IntN(9)
		base := randParts(src, r, src.IntN(400))
		a, b := build(t, r, depth, base), build(t, r, depth, mutate(src, r, base))
		got, err := Diff(a, b)
		if err != nil {
			t.Fatal(err)
		}
		if want := bruteDiff(a, b); !slices.Equal(got, want) {
			t.Fatalf("iter %d %v depth %d: Diff = %v, want %v", iter, r, depth, got, want)
		}
	}
}

// mutate returns a copy of parts with random partitions changed, removed
// and added.
func mutate(src *rand.Rand, r ring.Range, parts []part) []part {
	var out []part
	for _, p := range parts {
		switch src.IntN(20) {
		case 0:
			continue
		case 1:
			p.digest = []byte("changed")
		}
		out = append(out, p)
	}
	added := randParts(src, r, src.IntN(5))
	for _, p := range added {
		if !slices.ContainsFunc(out, func(q part) bool { return q.tok == p.tok }) {
			out = append(out, p)
		}
	}
	return sortRing(r, out)
}

// sortRing sorts parts in ring order from r.Start.
func sortRing(r ring.Range, parts []part) []part {
	slices.SortFunc(parts, func(a, b part) int {
		pa, pb := uint64(a.tok)-uint64(r.Start)-1, uint64(b.tok)-uint64(r.Start)-1
		return cmp.Compare(pa, pb)
	})
	return parts
}

func bruteDiff(a, b *Tree) []ring.Range {
	var leaves []int
	for i := range a.Leaves() {
		if a.leafHash[i] != b.leafHash[i] || a.leafCount[i] != b.leafCount[i] {
			leaves = append(leaves, i)
		}
	}
	return a.mergeLeaves(leaves)
}

func TestSizeBytes(t *testing.T) {
	tr := mustTree(t, rng(0, 0), 10)
	before := tr.SizeBytes()
	tr.Finish()
	after := tr.SizeBytes()
	if before < 1024*40 || after != before+1024*HashSize {
		t.Errorf("SizeBytes = %d before Finish, %d after", before, after)
	}
}

func BenchmarkTreeAdd(b *testing.B) {
	tr := mustTree(b, rng(minTok, minTok), 15)
	step := uint64(math.MaxUint64)/uint64(b.N+1) + 1
	digest := make([]byte, 16)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		tok := ring.Token(minTokBits + uint64(i+1)*step)
		if err := tr.Add(tok, digest); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTreeBuild builds a depth-15 tree of one million partitions and
// reports its memory.
func BenchmarkTreeBuild(b *testing.B) {
	const parts = 1 << 20
	step := uint64(1) << (64 - 20)
	digest := make([]byte, 16)
	var size int
	for range b.N {
		tr := mustTree(b, rng(minTok, minTok), 15)
		for i := range parts {
			if err := tr.Add(ring.Token(minTokBits+uint64(i)*step+1), digest); err != nil {
				b.Fatal(err)
			}
		}
		tr.Finish()
		size = tr.SizeBytes()
	}
	b.ReportMetric(float64(size), "tree-bytes")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*parts), "ns/partition")
}
