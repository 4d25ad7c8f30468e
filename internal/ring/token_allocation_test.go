package ring

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
)

// ratio returns max/min of the values of m.
func ratio(m map[netip.Addr]float64) float64 {
	lo, hi := 2.0, 0.0
	for _, v := range m {
		lo, hi = min(lo, v), max(hi, v)
	}
	return hi / lo
}

// dcOwnership is primary ownership measured on dc's own ring.
func dcOwnership(tb testing.TB, tm *TokenMetadata, dc string) map[netip.Addr]float64 {
	sub := NewTokenMetadata()
	for _, ep := range tm.DCs()[dc] {
		var err error
		if sub, err = sub.WithEndpoint(ep, tm.Tokens(ep), dc, tm.Rack(ep)); err != nil {
			tb.Fatal(err)
		}
	}
	return Ownership(sub, nil)
}

// growRing joins n nodes one by one with numTokens tokens each, choosing
// tokens with alloc, and returns the worst max/min primary ownership ratio
// seen after each join (from 2 nodes on) and the final ring.
func growRing(tb testing.TB, n, numTokens int, seed uint64, alloc func(*TokenMetadata, *rand.Rand) []Token) (float64, *TokenMetadata) {
	rng := rand.New(rand.NewPCG(seed, 99))
	tm := NewTokenMetadata()
	worst := 1.0
	for i := range n {
		ep := netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)})
		toks := alloc(tm, rng)
		if len(toks) != numTokens {
			tb.Fatalf("got %d tokens, want %d", len(toks), numTokens)
		}
		var err error
		if tm, err = tm.WithEndpoint(ep, toks, "dc1", "r1"); err != nil {
			tb.Fatalf("node %d: %v", i, err)
		}
		if i > 0 {
			worst = max(worst, ratio(Ownership(tm, nil)))
		}
	}
	return worst, tm
}

func randomTokens(numTokens int) func(*TokenMetadata, *rand.Rand) []Token {
	return func(_ *TokenMetadata, rng *rand.Rand) []Token {
		out := make([]Token, numTokens)
		for i := range out {
			out[i] = Token(rng.Uint64())
		}
		return out
	}
}

// maxAllocatedRatio bounds max/min primary ownership for rings of up to 10
// nodes built with AllocateTokens, 16 tokens each. Measured over 20 seeds
// (TestAllocateTokensBalance logs it): 1.0000 for 3, 5 and 10 nodes, since
// while the DC has at most numTokens+1 endpoints every donor gets a token
// and gives exactly its excess; the only error is rounding fractions to
// integer tokens (about 2^-64 per split). Random tokens give 2.1, 2.8 and 6.1
// on the same rings. 1.01 leaves room for float rounding only: anything
// above it is a regression of the algorithm, not noise.
const maxAllocatedRatio = 1.01

func TestAllocateTokensBalance(t *testing.T) {
	const numTokens = 16
	for _, n := range []int{3, 5, 10} {
		worstAlloc, worstRandom := 1.0, 1.0
		for seed := range uint64(20) {
			w, tm := growRing(t, n, numTokens, seed, func(tm *TokenMetadata, rng *rand.Rand) []Token {
				return AllocateTokens(tm, numTokens, "dc1", rng)
			})
			worstAlloc = max(worstAlloc, w)
			if got := len(tm.SortedTokens()); got != n*numTokens {
				t.Fatalf("ring has %d tokens, want %d", got, n*numTokens)
			}
			r, _ := growRing(t, n, numTokens, seed, randomTokens(numTokens))
			worstRandom = max(worstRandom, r)
		}
		_, tm := growRing(t, n, numTokens, 0, func(tm *TokenMetadata, rng *rand.Rand) []Token {
			return AllocateTokens(tm, numTokens, "dc1", rng)
		})
		t.Logf("%2d nodes x %d tokens: worst max/min ownership over 20 seeds: allocated %.4f, random %.4f; effective RF 3 (seed 0, not optimised): %.4f",
			n, numTokens, worstAlloc, worstRandom, ratio(Ownership(tm, NewSimpleStrategy(3))))
		if worstAlloc > maxAllocatedRatio {
			t.Errorf("%d nodes: max/min ownership %.4f > %.2f", n, worstAlloc, maxAllocatedRatio)
		}
	}
}

func TestAllocateTokensLargerRings(t *testing.T) {
	// Beyond numTokens+1 nodes a joining node cannot take a share from
	// every over-loaded node; report how the balance degrades.
	for _, n := range []int{20, 50} {
		w, tm := growRing(t, n, 16, 1, func(tm *TokenMetadata, rng *rand.Rand) []Token {
			return AllocateTokens(tm, 16, "dc1", rng)
		})
		r, _ := growRing(t, n, 16, 1, randomTokens(16))
		final := ratio(Ownership(tm, nil))
		t.Logf("%2d nodes x 16 tokens: worst max/min while growing %.4f (final %.4f), random %.4f", n, w, final, r)
		// Measured: 1.10 (20 nodes) and 1.13 (50 nodes) with seed 1.
		if w > 1.25 {
			t.Errorf("%d nodes: max/min %.4f", n, w)
		}
	}
}

func TestAllocateTokensEmptyRingAndCollisions(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	toks := AllocateTokens(NewTokenMetadata(), 4, "dc1", rng)
	if len(toks) != 4 || !slices.IsSorted(toks) {
		t.Fatalf("empty ring: %v", toks)
	}
	tm := mustAdd(t, NewTokenMetadata(), "10.0.0.1", toks, "dc1", "r1")
	for _, w := range Ownership(tm, nil) {
		if w < 0.999 {
			t.Errorf("single node owns %v", w)
		}
	}
	for _, r := range tm.Ranges(epA) {
		if s := r.Size(); s < 0.2499 || s > 0.2501 {
			t.Errorf("evenly spaced: range %v has size %v", r, s)
		}
	}
	if got := AllocateTokens(tm, 0, "dc1", rng); got != nil {
		t.Errorf("0 tokens: %v", got)
	}

	// A second DC starts evenly spaced too, and never reuses a token of the
	// first DC or of a pending node.
	p, err := tm.WithPending(epB, []Token{toks[0] + 1}, "dc1", "r1")
	if err != nil {
		t.Fatal(err)
	}
	for range 50 {
		for _, dc := range []string{"dc1", "dc2"} {
			got := AllocateTokens(p, 8, dc, rng)
			if _, err := p.WithEndpoint(epC, got, dc, "r1"); err != nil {
				t.Fatalf("%s: allocated tokens collide: %v", dc, err)
			}
		}
	}

	// A tiny ring (ranges of one token) still yields distinct free tokens.
	tiny := mustAdd(t, NewTokenMetadata(), "10.0.0.1", []Token{0, 1, 2}, "dc1", "r1")
	got := AllocateTokens(tiny, 4, "dc1", rng)
	if _, err := tiny.WithEndpoint(epB, got, "dc1", "r1"); err != nil {
		t.Errorf("tiny ring: %v (%v)", err, got)
	}

	// More tokens than the DC has ranges: the extra tokens split the new
	// endpoint's own ranges, and its share is still exact.
	one := mustAdd(t, NewTokenMetadata(), "10.0.0.1", []Token{12345}, "dc1", "r1")
	got = AllocateTokens(one, 16, "dc1", rng)
	two, err := one.WithEndpoint(epB, got, "dc1", "r1")
	if err != nil || len(got) != 16 {
		t.Fatalf("one-token ring: %v (%v)", err, got)
	}
	if o := Ownership(two, nil); o[epA] < 0.4999 || o[epB] < 0.4999 {
		t.Errorf("one-token ring: ownership %v", o)
	}
	sizes := map[float64]int{}
	for _, r := range two.Ranges(epB) {
		sizes[r.Size()]++
	}
	t.Logf("one-token ring: new endpoint's range sizes %v", sizes)

	// Deterministic for a given source.
	a := AllocateTokens(tm, 16, "dc1", rand.New(rand.NewPCG(9, 9)))
	b := AllocateTokens(tm, 16, "dc1", rand.New(rand.NewPCG(9, 9)))
	if !slices.Equal(a, b) {
		t.Errorf("not deterministic")
	}
}

func TestAllocateTokensPerDC(t *testing.T) {
	// Two DCs grow interleaved; each DC's own ring stays balanced.
	rng := rand.New(rand.NewPCG(4, 2))
	tm := NewTokenMetadata()
	for i := range 12 {
		dc := []string{"dc1", "dc2"}[i%2]
		ep := netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)})
		tm = mustAdd(t, tm, ep.String(), AllocateTokens(tm, 16, dc, rng), dc, "r1")
	}
	for _, dc := range []string{"dc1", "dc2"} {
		r := ratio(dcOwnership(t, tm, dc))
		t.Logf("%s (6 nodes): max/min DC ownership %.4f", dc, r)
		if r > maxAllocatedRatio {
			t.Errorf("%s: %.4f", dc, r)
		}
	}
}
