package ring

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
)

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

// mustAdd adds a NORMAL endpoint or fails the test.
func mustAdd(tb testing.TB, tm *TokenMetadata, ep string, tokens []Token, dc, rack string) *TokenMetadata {
	tb.Helper()
	out, err := tm.WithEndpoint(addr(ep), tokens, dc, rack)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// abcRing is 0:A 100:B 200:C 300:A 400:B, all in dc1/r1.
func abcRing(tb testing.TB) *TokenMetadata {
	tm := NewTokenMetadata()
	tm = mustAdd(tb, tm, "10.0.0.1", []Token{300, 0}, "dc1", "r1")
	tm = mustAdd(tb, tm, "10.0.0.2", []Token{100, 400}, "dc1", "r1")
	tm = mustAdd(tb, tm, "10.0.0.3", []Token{200}, "dc1", "r1")
	return tm
}

var (
	epA = addr("10.0.0.1")
	epB = addr("10.0.0.2")
	epC = addr("10.0.0.3")
	epD = addr("10.0.0.4")
)

func TestTokenMetadataBasics(t *testing.T) {
	tm := abcRing(t)
	if got, want := tm.SortedTokens(), []Token{0, 100, 200, 300, 400}; !slices.Equal(got, want) {
		t.Errorf("SortedTokens = %v, want %v", got, want)
	}
	if got := tm.Endpoints(); !slices.Equal(got, []netip.Addr{epA, epB, epC}) {
		t.Errorf("Endpoints = %v", got)
	}
	if got := tm.Tokens(epA); !slices.Equal(got, []Token{0, 300}) {
		t.Errorf("Tokens(A) = %v", got)
	}
	if tm.TokenOwner(300) != epA || tm.TokenOwner(400) != epB || tm.TokenOwner(301).IsValid() {
		t.Errorf("TokenOwner wrong")
	}
	if tm.PrimaryEndpoint(301) != epB || tm.PrimaryEndpoint(401) != epA {
		t.Errorf("PrimaryEndpoint wrong")
	}
	if tm.DC(epC) != "dc1" || tm.Rack(epC) != "r1" || tm.DC(epD) != "" {
		t.Errorf("DC/Rack wrong")
	}
	if got := tm.DCs(); len(got) != 1 || len(got["dc1"]) != 3 {
		t.Errorf("DCs = %v", got)
	}

	// Snapshots are immutable: removing B leaves tm untouched.
	without := tm.WithoutEndpoint(epB)
	if got := without.SortedTokens(); !slices.Equal(got, []Token{0, 200, 300}) {
		t.Errorf("after WithoutEndpoint: %v", got)
	}
	if tm.RingSize() != 5 || !tm.IsMember(epB) || without.IsMember(epB) {
		t.Errorf("WithoutEndpoint changed the original snapshot")
	}
	if tm.WithoutEndpoint(epD) != tm {
		t.Errorf("WithoutEndpoint(unknown) should return the receiver")
	}

	// Replacing an endpoint's tokens.
	moved := mustAdd(t, tm, "10.0.0.3", []Token{250}, "dc1", "r2")
	if got := moved.SortedTokens(); !slices.Equal(got, []Token{0, 100, 250, 300, 400}) || moved.Rack(epC) != "r2" {
		t.Errorf("replace: %v %s", got, moved.Rack(epC))
	}
}

func TestTokenCollisionRejected(t *testing.T) {
	tm := abcRing(t)
	cases := []struct {
		name   string
		tokens []Token
	}{
		{"other endpoint's token", []Token{5, 200}},
		{"duplicate in list", []Token{5, 5}},
		{"no tokens", nil},
	}
	for _, c := range cases {
		if _, err := tm.WithEndpoint(epD, c.tokens, "dc1", "r1"); err == nil {
			t.Errorf("WithEndpoint %s: no error", c.name)
		}
		if _, err := tm.WithPending(epD, c.tokens, "dc1", "r1"); err == nil {
			t.Errorf("WithPending %s: no error", c.name)
		}
	}
	if _, err := tm.WithEndpoint(netip.Addr{}, []Token{1}, "dc1", "r1"); err == nil {
		t.Errorf("invalid address accepted")
	}
	// Re-adding an endpoint with its own tokens is not a collision.
	if _, err := tm.WithEndpoint(epA, []Token{0, 300, 350}, "dc1", "r1"); err != nil {
		t.Errorf("re-adding own tokens: %v", err)
	}
	// A NORMAL node may not take a pending node's token, and vice versa.
	p, err := tm.WithPending(epD, []Token{250}, "dc1", "r1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.WithEndpoint(addr("10.0.0.5"), []Token{250}, "dc1", "r1"); err == nil {
		t.Errorf("NORMAL endpoint took a pending token")
	}
	if _, err := p.WithPending(addr("10.0.0.5"), []Token{250}, "dc1", "r1"); err == nil {
		t.Errorf("two pending endpoints share a token")
	}
}

func TestFirstTokenIndex(t *testing.T) {
	tm := abcRing(t)
	cases := []struct {
		t    Token
		want int
	}{
		{MinToken, 0}, {-1, 0}, {0, 0}, {1, 1}, {100, 1}, {199, 2}, {400, 4}, {401, 0}, {MaxToken, 0},
	}
	for _, c := range cases {
		if got := tm.FirstTokenIndex(c.t); got != c.want {
			t.Errorf("FirstTokenIndex(%d) = %d, want %d", c.t, got, c.want)
		}
	}
	if got := NewTokenMetadata().FirstTokenIndex(0); got != -1 {
		t.Errorf("empty ring: %d, want -1", got)
	}
}

func TestRangeContains(t *testing.T) {
	cases := []struct {
		r    Range
		t    Token
		want bool
	}{
		{Range{10, 20}, 10, false},
		{Range{10, 20}, 11, true},
		{Range{10, 20}, 20, true},
		{Range{10, 20}, 21, false},
		{Range{20, 10}, 20, false},
		{Range{20, 10}, 21, true},
		{Range{20, 10}, MaxToken, true},
		{Range{20, 10}, MinToken, true},
		{Range{20, 10}, 10, true},
		{Range{20, 10}, 15, false},
		{Range{5, 5}, 5, true},
		{Range{5, 5}, MinToken, true},
		{Range{5, 5}, MaxToken, true},
		{Range{MinToken, 0}, MinToken, false},
		{Range{MinToken, 0}, MinToken + 1, true},
		{Range{MinToken, 0}, 0, true},
		{Range{0, MinToken}, MinToken, true},
		{Range{0, MinToken}, 0, false},
		{Range{0, MinToken}, MaxToken, true},
		{Range{MinToken, MinToken}, 0, true},
		{Range{MaxToken, MinToken}, MinToken, true},
		{Range{MaxToken, MinToken}, MaxToken, false},
		{Range{MaxToken, MinToken}, 0, false},
	}
	for _, c := range cases {
		if got := c.r.Contains(c.t); got != c.want {
			t.Errorf("%v.Contains(%d) = %v, want %v", c.r, c.t, got, c.want)
		}
	}
	if s := (Range{MinToken, 0}).Size(); s != 0.5 {
		t.Errorf("Size (Min,0] = %v", s)
	}
	if s := (Range{7, 7}).Size(); s != 1 {
		t.Errorf("Size of the whole ring = %v", s)
	}
}

func TestRanges(t *testing.T) {
	tm := abcRing(t)
	if got, want := tm.Ranges(epA), []Range{{400, 0}, {200, 300}}; !slices.Equal(got, want) {
		t.Errorf("Ranges(A) = %v, want %v", got, want)
	}
	if got := tm.Ranges(epD); got != nil {
		t.Errorf("Ranges(unknown) = %v", got)
	}
	one := mustAdd(t, NewTokenMetadata(), "10.0.0.1", []Token{MinToken}, "dc1", "r1")
	if got := one.Ranges(epA); !slices.Equal(got, []Range{{MinToken, MinToken}}) || !got[0].Contains(MinToken) || !got[0].Contains(42) {
		t.Errorf("single token ring: %v", got)
	}

	// Every token lies in exactly one endpoint's primary range, and that
	// endpoint is PrimaryEndpoint.
	rng := rand.New(rand.NewPCG(1, 2))
	tm = randomRing(t, rng, 7, 8, []string{"dc1"}, 2)
	probes := []Token{MinToken, MaxToken, 0, -1, 1}
	probes = append(probes, tm.SortedTokens()...)
	for range 500 {
		probes = append(probes, Token(rng.Uint64()))
	}
	for _, p := range probes {
		var owners []netip.Addr
		for _, ep := range tm.Endpoints() {
			for _, r := range tm.Ranges(ep) {
				if r.Contains(p) {
					owners = append(owners, ep)
				}
			}
		}
		if len(owners) != 1 || owners[0] != tm.PrimaryEndpoint(p) {
			t.Fatalf("token %d in ranges of %v, primary %v", p, owners, tm.PrimaryEndpoint(p))
		}
	}
}

// randomRing builds nodes endpoints with tokensPer random tokens each, spread
// round-robin over dcs and, within a DC, over racksPerDC racks.
func randomRing(tb testing.TB, rng *rand.Rand, nodes, tokensPer int, dcs []string, racksPerDC int) *TokenMetadata {
	tb.Helper()
	tm := NewTokenMetadata()
	used := map[Token]bool{}
	for i := range nodes {
		ep := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		var toks []Token
		for len(toks) < tokensPer {
			tok := Token(rng.Uint64())
			if !used[tok] {
				used[tok] = true
				toks = append(toks, tok)
			}
		}
		dc := dcs[i%len(dcs)]
		rack := "rack" + string(rune('a'+(i/len(dcs))%racksPerDC))
		var err error
		if tm, err = tm.WithEndpoint(ep, toks, dc, rack); err != nil {
			tb.Fatal(err)
		}
	}
	return tm
}
