package ring

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync"
	"testing"
)

func addrs(ss ...string) []netip.Addr {
	out := make([]netip.Addr, len(ss))
	for i, s := range ss {
		out[i] = addr(s)
	}
	return out
}

func TestSimpleStrategy(t *testing.T) {
	tm := abcRing(t) // 0:A 100:B 200:C 300:A 400:B
	const a, b, c = "10.0.0.1", "10.0.0.2", "10.0.0.3"
	cases := []struct {
		rf   int
		t    Token
		want []netip.Addr
	}{
		{1, 50, addrs(b)},
		{2, 50, addrs(b, c)},
		{2, 100, addrs(b, c)},
		{2, 101, addrs(c, a)},
		{2, 250, addrs(a, b)},
		{2, 350, addrs(b, a)},       // wraps past 400 to 0
		{3, 350, addrs(b, a, c)},    // 400:B 0:A 100:B(seen) 200:C
		{2, 401, addrs(a, b)},       // after the last token: wraps
		{2, MaxToken, addrs(a, b)},  // wraps
		{2, MinToken, addrs(a, b)},  // first range
		{3, 0, addrs(a, b, c)},      // exactly a ring token
		{5, 150, addrs(c, a, b)},    // RF > endpoints: all of them
		{0, 150, nil},               // RF 0: no replica
		{3, 300, addrs(a, b, c)},    // 300:A 400:B 0:A(seen) 100:B(seen) 200:C
		{2, 299, addrs(a, b)},       // 300:A 400:B
		{2, 199, addrs(c, a)},       // 200:C 300:A
		{3, 199, addrs(c, a, b)},    // 200:C 300:A 400:B
		{1, MinToken + 1, addrs(a)}, // (400, 0]
	}
	for _, tc := range cases {
		s := NewSimpleStrategy(tc.rf)
		if got := s.NaturalEndpoints(tm, tc.t); !slices.Equal(got, tc.want) {
			t.Errorf("RF %d token %d: %v, want %v", tc.rf, tc.t, got, tc.want)
		}
	}
	if got := NewSimpleStrategy(3).NaturalEndpoints(NewTokenMetadata(), 0); len(got) != 0 {
		t.Errorf("empty ring: %v", got)
	}
}

// ntsRing: one token per node.
//
//	10 a1 dc1/r1   20 b1 dc2/x1   30 a2 dc1/r1   40 b2 dc2/x1
//	50 a3 dc1/r2   60 b3 dc2/x2   70 a4 dc1/r3
func ntsRing(tb testing.TB) *TokenMetadata {
	tm := NewTokenMetadata()
	for _, n := range []struct {
		ep       string
		tok      Token
		dc, rack string
	}{
		{"10.1.0.1", 10, "dc1", "r1"},
		{"10.2.0.1", 20, "dc2", "x1"},
		{"10.1.0.2", 30, "dc1", "r1"},
		{"10.2.0.2", 40, "dc2", "x1"},
		{"10.1.0.3", 50, "dc1", "r2"},
		{"10.2.0.3", 60, "dc2", "x2"},
		{"10.1.0.4", 70, "dc1", "r3"},
	} {
		tm = mustAdd(tb, tm, n.ep, []Token{n.tok}, n.dc, n.rack)
	}
	return tm
}

func TestNetworkTopologyStrategy(t *testing.T) {
	tm := ntsRing(t)
	const (
		a1, a2, a3, a4 = "10.1.0.1", "10.1.0.2", "10.1.0.3", "10.1.0.4"
		b1, b2, b3     = "10.2.0.1", "10.2.0.2", "10.2.0.3"
	)
	cases := []struct {
		name string
		dcs  map[string]int
		t    Token
		want []netip.Addr
	}{
		// dc1 has 3 racks for RF 3: a2 (rack r1 again) is never taken. dc2
		// has 2 racks for RF 3: one rack repeat is allowed, and Cassandra
		// 3.0+ takes the first one met (b2) where it is met, before b3.
		{"2dc rf3 from a1", map[string]int{"dc1": 3, "dc2": 3}, 5, addrs(a1, b1, b2, a3, b3, a4)},
		{"2dc rf3 from b2", map[string]int{"dc1": 3, "dc2": 3}, 35, addrs(b2, a3, b3, a4, a1, b1)},
		{"2dc rf3 from a4 wraps", map[string]int{"dc1": 3, "dc2": 3}, 65, addrs(a4, a1, b1, b2, a3, b3)},
		{"2dc rf3 after last token", map[string]int{"dc1": 3, "dc2": 3}, 71, addrs(a1, b1, b2, a3, b3, a4)},
		{"2dc rf3 MinToken", map[string]int{"dc1": 3, "dc2": 3}, MinToken, addrs(a1, b1, b2, a3, b3, a4)},
		{"2dc rf3 on a token", map[string]int{"dc1": 3, "dc2": 3}, 50, addrs(a3, b3, a4, a1, b1, b2)},
		{"2dc rf2/1", map[string]int{"dc1": 2, "dc2": 1}, 25, addrs(a2, b2, a3)},
		// rf < racks: distinct racks only, a2 skipped.
		{"dc1 rf2", map[string]int{"dc1": 2}, 5, addrs(a1, a3)},
		// rf 4 = nodes with 3 racks: one repeat, taken where met.
		{"dc1 rf4", map[string]int{"dc1": 4}, 5, addrs(a1, a2, a3, a4)},
		{"dc1 rf4 from a3", map[string]int{"dc1": 4}, 45, addrs(a3, a4, a1, a2)},
		// rf > nodes: capped at the DC's node count.
		{"dc1 rf5", map[string]int{"dc1": 5}, 5, addrs(a1, a2, a3, a4)},
		{"dc2 rf5", map[string]int{"dc2": 5}, 5, addrs(b1, b2, b3)},
		// A DC without RF, with RF 0, or unknown to the ring.
		{"dc2 rf0", map[string]int{"dc1": 1, "dc2": 0}, 15, addrs(a2)},
		{"unknown dc", map[string]int{"dc3": 3, "dc2": 1}, 5, addrs(b1)},
		{"no dc", map[string]int{}, 5, addrs()},
	}
	for _, tc := range cases {
		s := NewNetworkTopologyStrategy(tc.dcs)
		got := s.NaturalEndpoints(tm, tc.t)
		if !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
		if ref := referenceNTS(tm, tc.dcs, tc.t); !slices.Equal(got, ref) {
			t.Errorf("%s: %v, reference %v", tc.name, got, ref)
		}
	}
}

// TestNTSTwoDCsThreeRacksVnodes checks exact replica order for 2 DCs of 3
// racks each with RF 3, on a ring where endpoints have several tokens.
func TestNTSTwoDCsThreeRacksVnodes(t *testing.T) {
	tm := NewTokenMetadata()
	//           token: ep        dc   rack
	// 100 e1 dc1 r1 | 200 f1 dc2 s1 | 300 e2 dc1 r1 | 400 e1 (again)
	// 500 f2 dc2 s1 | 600 e3 dc1 r2 | 700 f3 dc2 s2 | 800 e4 dc1 r3
	// 900 f4 dc2 s3 | 1000 e2 (again)
	tm = mustAdd(t, tm, "10.1.0.1", []Token{100, 400}, "dc1", "r1")
	tm = mustAdd(t, tm, "10.1.0.2", []Token{300, 1000}, "dc1", "r1")
	tm = mustAdd(t, tm, "10.1.0.3", []Token{600}, "dc1", "r2")
	tm = mustAdd(t, tm, "10.1.0.4", []Token{800}, "dc1", "r3")
	tm = mustAdd(t, tm, "10.2.0.1", []Token{200}, "dc2", "s1")
	tm = mustAdd(t, tm, "10.2.0.2", []Token{500}, "dc2", "s1")
	tm = mustAdd(t, tm, "10.2.0.3", []Token{700}, "dc2", "s2")
	tm = mustAdd(t, tm, "10.2.0.4", []Token{900}, "dc2", "s3")
	s := NewNetworkTopologyStrategy(map[string]int{"dc1": 3, "dc2": 3})
	cases := []struct {
		t    Token
		want []netip.Addr
	}{
		{50, addrs("10.1.0.1", "10.2.0.1", "10.1.0.3", "10.2.0.3", "10.1.0.4", "10.2.0.4")},
		{250, addrs("10.1.0.2", "10.2.0.2", "10.1.0.3", "10.2.0.3", "10.1.0.4", "10.2.0.4")},
		{650, addrs("10.2.0.3", "10.1.0.4", "10.2.0.4", "10.1.0.2", "10.2.0.1", "10.1.0.3")},
		{950, addrs("10.1.0.2", "10.2.0.1", "10.1.0.3", "10.2.0.3", "10.1.0.4", "10.2.0.4")},
	}
	for _, tc := range cases {
		if got := s.NaturalEndpoints(tm, tc.t); !slices.Equal(got, tc.want) {
			t.Errorf("token %d: %v, want %v", tc.t, got, tc.want)
		}
	}
}

// referenceNTS is a direct, uncached transcription of the placement rule,
// with maps and strings, to cross-check the indexed implementation.
func referenceNTS(tm *TokenMetadata, dcs map[string]int, t Token) []netip.Addr {
	nodes := map[string]int{}
	racks := map[string]map[string]bool{}
	for _, ep := range tm.Endpoints() {
		dc := tm.DC(ep)
		nodes[dc]++
		if racks[dc] == nil {
			racks[dc] = map[string]bool{}
		}
		racks[dc][tm.Rack(ep)] = true
	}
	rfLeft := map[string]int{}
	repeats := map[string]int{}
	toFill := 0
	for dc, rf := range dcs {
		if rf <= 0 || nodes[dc] == 0 {
			continue
		}
		rfLeft[dc] = min(rf, nodes[dc])
		repeats[dc] = rf - len(racks[dc])
		toFill++
	}
	var out []netip.Addr
	seenRack := map[[2]string]bool{}
	tokens := tm.SortedTokens()
	start := tm.FirstTokenIndex(t)
	if start < 0 {
		return nil
	}
	for k := 0; k < len(tokens) && toFill > 0; k++ {
		ep := tm.TokenOwner(tokens[(start+k)%len(tokens)])
		dc := tm.DC(ep)
		if rfLeft[dc] == 0 || slices.Contains(out, ep) {
			continue
		}
		loc := [2]string{dc, tm.Rack(ep)}
		if !seenRack[loc] {
			seenRack[loc] = true
		} else if repeats[dc] > 0 {
			repeats[dc]--
		} else {
			continue
		}
		out = append(out, ep)
		if rfLeft[dc]--; rfLeft[dc] == 0 {
			toFill--
		}
	}
	return out
}

func TestNTSMatchesReferenceOnRandomRings(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for iter := range 30 {
		nodes := 1 + rng.IntN(20)
		tm := randomRing(t, rng, nodes, 1+rng.IntN(8), []string{"dc1", "dc2", "dc3"}[:1+rng.IntN(3)], 1+rng.IntN(4))
		dcs := map[string]int{"dc1": rng.IntN(5), "dc2": rng.IntN(5), "dc3": rng.IntN(3)}
		s := NewNetworkTopologyStrategy(dcs)
		for range 200 {
			tok := Token(rng.Uint64())
			// Twice: the second call is served from the cache.
			for range 2 {
				if got, ref := s.NaturalEndpoints(tm, tok), referenceNTS(tm, dcs, tok); !slices.Equal(got, ref) {
					t.Fatalf("iter %d token %d: %v, reference %v", iter, tok, got, ref)
				}
			}
		}
	}
}

func TestNewStrategy(t *testing.T) {
	local := addr("127.0.0.1")
	good := []struct {
		opts map[string]string
		name string
		rf   map[string]int
	}{
		{map[string]string{"class": "SimpleStrategy", "replication_factor": "3"}, SimpleStrategyClass, map[string]int{"": 3, "dc1": 3}},
		{map[string]string{"class": "org.apache.cassandra.locator.SimpleStrategy", "replication_factor": "1"}, SimpleStrategyClass, map[string]int{"x": 1}},
		{map[string]string{"class": "NetworkTopologyStrategy", "dc1": "3", "dc2": "2"}, NetworkTopologyStrategyClass, map[string]int{"dc1": 3, "dc2": 2, "dc3": 0}},
		{map[string]string{"class": "org.apache.cassandra.locator.NetworkTopologyStrategy"}, NetworkTopologyStrategyClass, map[string]int{"dc1": 0}},
		{map[string]string{"class": "LocalStrategy"}, LocalStrategyClass, map[string]int{"": 1}},
	}
	for _, g := range good {
		s, err := NewStrategy(g.opts, local)
		if err != nil {
			t.Errorf("%v: %v", g.opts, err)
			continue
		}
		if s.Name() != g.name {
			t.Errorf("%v: Name %q", g.opts, s.Name())
		}
		for dc, want := range g.rf {
			if got := s.ReplicationFactor(dc); got != want {
				t.Errorf("%v: ReplicationFactor(%q) = %d, want %d", g.opts, dc, got, want)
			}
		}
	}
	bad := []map[string]string{
		{},
		{"replication_factor": "3"},
		{"class": "SimpleStrategy"},
		{"class": "SimpleStrategy", "replication_factor": "x"},
		{"class": "SimpleStrategy", "replication_factor": "-1"},
		{"class": "SimpleStrategy", "replication_factor": "3/1"},
		{"class": "SimpleStrategy", "replication_factor": "3", "dc1": "3"},
		{"class": "NetworkTopologyStrategy", "replication_factor": "3"},
		{"class": "NetworkTopologyStrategy", "dc1": "three"},
		{"class": "LocalStrategy", "replication_factor": "1"},
		{"class": "EverywhereStrategy"},
		{"class": "org.apache.cassandra.locator.OldNetworkTopologyStrategy"},
	}
	for _, opts := range bad {
		if _, err := NewStrategy(opts, local); err == nil {
			t.Errorf("%v: no error", opts)
		}
	}
	s, _ := NewStrategy(map[string]string{"class": "LocalStrategy"}, local)
	if got := s.NaturalEndpoints(abcRing(t), 5); !slices.Equal(got, []netip.Addr{local}) {
		t.Errorf("LocalStrategy: %v", got)
	}
	if got := s.NaturalEndpoints(NewTokenMetadata(), 5); !slices.Equal(got, []netip.Addr{local}) {
		t.Errorf("LocalStrategy on an empty ring: %v", got)
	}
}

func TestNaturalEndpointsConcurrentSnapshots(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	tms := []*TokenMetadata{
		randomRing(t, rng, 12, 16, []string{"dc1", "dc2"}, 3),
		randomRing(t, rng, 9, 16, []string{"dc1", "dc2"}, 2),
	}
	dcs := map[string]int{"dc1": 3, "dc2": 2}
	s := NewNetworkTopologyStrategy(dcs)
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for range 2000 {
				tm := tms[r.IntN(len(tms))]
				tok := Token(r.Uint64())
				if got, ref := s.NaturalEndpoints(tm, tok), referenceNTS(tm, dcs, tok); !slices.Equal(got, ref) {
					errs <- fmt.Sprintf("token %d: %v, reference %v", tok, got, ref)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestPendingEndpoints(t *testing.T) {
	tm := abcRing(t) // 0:A 100:B 200:C 300:A 400:B
	p, err := tm.WithPending(epD, []Token{250}, "dc1", "r1")
	if err != nil {
		t.Fatal(err)
	}
	s := NewSimpleStrategy(2)
	// With D joined: 0:A 100:B 200:C 250:D 300:A 400:B. D replicates
	// (100,200] (C, D) and (200,250] (D, A).
	cases := []struct {
		t    Token
		want []netip.Addr
	}{
		{50, nil},
		{100, nil},
		{101, []netip.Addr{epD}},
		{200, []netip.Addr{epD}},
		{250, []netip.Addr{epD}},
		{251, nil},
		{MaxToken, nil},
	}
	for _, tc := range cases {
		if got := PendingEndpoints(s, p, tc.t); !slices.Equal(got, tc.want) {
			t.Errorf("token %d: pending %v, want %v", tc.t, got, tc.want)
		}
		// Natural endpoints ignore the pending node.
		if got, want := s.NaturalEndpoints(p, tc.t), s.NaturalEndpoints(tm, tc.t); !slices.Equal(got, want) {
			t.Errorf("token %d: natural %v, want %v", tc.t, got, want)
		}
	}
	if got, want := PendingRanges(s, p, epD), []Range{{100, 200}, {200, 250}}; !slices.Equal(got, want) {
		t.Errorf("PendingRanges = %v, want %v", got, want)
	}
	if p.IsMember(epD) || !p.IsPending(epD) || p.RingSize() != 5 || !slices.Equal(p.Tokens(epD), []Token{250}) {
		t.Errorf("pending node leaked into the ring")
	}
	if got := PendingEndpoints(s, tm, 150); got != nil {
		t.Errorf("no pending node: %v", got)
	}
	if got := PendingEndpoints(NewLocalStrategy(epA), p, 150); got != nil {
		t.Errorf("LocalStrategy: %v", got)
	}

	// Two bootstraps at once are considered one by one.
	p2, err := p.WithPending(addr("10.0.0.5"), []Token{220}, "dc1", "r1")
	if err != nil {
		t.Fatal(err)
	}
	if got := PendingEndpoints(s, p2, 210); !slices.Equal(got, addrs("10.0.0.4", "10.0.0.5")) {
		t.Errorf("two pending: %v", got)
	}

	// Completing the bootstrap moves D into the ring.
	done := mustAdd(t, p, "10.0.0.4", []Token{250}, "dc1", "r1")
	if done.IsPending(epD) || !done.IsMember(epD) || PendingEndpoints(s, done, 150) != nil {
		t.Errorf("bootstrap completion")
	}
	if got := s.NaturalEndpoints(done, 150); !slices.Equal(got, []netip.Addr{epC, epD}) {
		t.Errorf("after join: %v", got)
	}
	// Aborting it removes D.
	if aborted := p.WithoutEndpoint(epD); aborted.IsPending(epD) || PendingEndpoints(s, aborted, 150) != nil {
		t.Errorf("bootstrap abort")
	}

	// NTS: a pending node in dc2 is pending only for dc2's replicas.
	nts := NewNetworkTopologyStrategy(map[string]int{"dc1": 1, "dc2": 1})
	q, err := tm.WithPending(epD, []Token{150}, "dc2", "z")
	if err != nil {
		t.Fatal(err)
	}
	// dc2 has only D once it joins: D replicates every token.
	for _, tok := range []Token{MinToken, 0, 150, 151, MaxToken} {
		if got := PendingEndpoints(nts, q, tok); !slices.Equal(got, []netip.Addr{epD}) {
			t.Errorf("nts token %d: %v", tok, got)
		}
	}
}

func TestOwnership(t *testing.T) {
	q := Token(1) << 62
	tm := NewTokenMetadata()
	tm = mustAdd(t, tm, "10.0.0.1", []Token{MinToken}, "dc1", "r1")
	tm = mustAdd(t, tm, "10.0.0.2", []Token{-q}, "dc1", "r1")
	tm = mustAdd(t, tm, "10.0.0.3", []Token{0, q}, "dc1", "r1")
	primary := Ownership(tm, nil)
	want := map[netip.Addr]float64{epA: 0.25, epB: 0.25, epC: 0.5}
	for ep, w := range want {
		if primary[ep] != w {
			t.Errorf("primary %v = %v, want %v", ep, primary[ep], w)
		}
	}
	eff := Ownership(tm, NewSimpleStrategy(2))
	// (q, Min]: A,B  (Min,-q]: B,C  (-q,0]: C,A  (0,q]: C,A
	want = map[netip.Addr]float64{epA: 0.75, epB: 0.5, epC: 0.75}
	for ep, w := range want {
		if eff[ep] != w {
			t.Errorf("RF2 %v = %v, want %v", ep, eff[ep], w)
		}
	}
	if got := Ownership(mustAdd(t, NewTokenMetadata(), "10.0.0.1", []Token{5}, "dc1", "r1"), nil); got[epA] != 1 {
		t.Errorf("single token: %v", got)
	}
	if got := Ownership(NewTokenMetadata(), nil); len(got) != 0 {
		t.Errorf("empty ring: %v", got)
	}

	rng := rand.New(rand.NewPCG(5, 6))
	for iter := range 20 {
		nodes := 1 + rng.IntN(15)
		tm := randomRing(t, rng, nodes, 1+rng.IntN(16), []string{"dc1", "dc2"}, 1+rng.IntN(3))
		sum := func(m map[netip.Addr]float64) float64 {
			s := 0.0
			for _, v := range m {
				s += v
			}
			return s
		}
		check := func(what string, got, want float64) {
			if d := got - want; d > 1e-9 || d < -1e-9 {
				t.Errorf("iter %d %s: sum %v, want %v", iter, what, got, want)
			}
		}
		check("primary", sum(Ownership(tm, nil)), 1)
		check("simple rf3", sum(Ownership(tm, NewSimpleStrategy(3))), float64(min(3, nodes)))
		dcs := tm.DCs()
		nts := NewNetworkTopologyStrategy(map[string]int{"dc1": 3, "dc2": 2})
		own := Ownership(tm, nts)
		check("nts", sum(own), float64(min(3, len(dcs["dc1"]))+min(2, len(dcs["dc2"]))))
		for dc, rf := range map[string]int{"dc1": 3, "dc2": 2} {
			s := 0.0
			for _, ep := range dcs[dc] {
				s += own[ep]
			}
			check("nts "+dc, s, float64(min(rf, len(dcs[dc]))))
		}
	}
}

func TestPendingEndpointsOfALeavingEndpoint(t *testing.T) {
	tm := abcRing(t) // 0:A 100:B 200:C 300:A 400:B
	s := NewSimpleStrategy(2)
	l := tm.WithLeaving(epC)
	if !l.IsLeaving(epC) || !l.IsMember(epC) || tm.IsLeaving(epC) || !slices.Equal(l.LeavingEndpoints(), []netip.Addr{epC}) {
		t.Fatalf("leaving state: %v %v", l.IsLeaving(epC), l.LeavingEndpoints())
	}
	// Without C: 0:A 100:B 300:A 400:B.
	cases := []struct {
		t    Token
		want []netip.Addr
	}{
		{50, []netip.Addr{epA}},  // (0,100]: B, C → B, A
		{150, []netip.Addr{epB}}, // (100,200]: C, A → A, B
		{250, nil},               // (200,300]: A, B either way
		{350, nil},
	}
	for _, tc := range cases {
		if got := PendingEndpoints(s, l, tc.t); !slices.Equal(got, tc.want) {
			t.Errorf("token %d: pending %v, want %v", tc.t, got, tc.want)
		}
		// The leaving endpoint stays a natural replica until it is gone.
		if got, want := s.NaturalEndpoints(l, tc.t), s.NaturalEndpoints(tm, tc.t); !slices.Equal(got, want) {
			t.Errorf("token %d: natural %v, want %v", tc.t, got, want)
		}
	}
	gained := GainedReplicas(s, l, epC)
	want := map[Range][]netip.Addr{{0, 100}: {epA}, {100, 200}: {epB}}
	if len(gained) != len(want) {
		t.Fatalf("gained %v, want %v", gained, want)
	}
	for r, eps := range want {
		if !slices.Equal(gained[r], eps) {
			t.Errorf("range %v gained by %v, want %v", r, gained[r], eps)
		}
	}
	if GainedReplicas(s, tm, epC) != nil || tm.Departure(epC) != nil {
		t.Error("a member that is not leaving gains nobody anything")
	}
	if d := l.Departure(epC); d.IsMember(epC) || d.RingSize() != 4 {
		t.Errorf("departure ring %v", d.Endpoints())
	}
	// The flag survives other changes to the ring, and is cleared when the
	// endpoint is NORMAL again.
	p, err := l.WithPending(epD, []Token{450}, "dc1", "r1")
	if err != nil || !p.IsLeaving(epC) {
		t.Fatalf("leaving lost by WithPending: %v", err)
	}
	back := mustAdd(t, l, "10.0.0.3", []Token{200}, "dc1", "r1")
	if back.IsLeaving(epC) || PendingEndpoints(s, back, 150) != nil {
		t.Error("NORMAL again: still leaving")
	}
	if l.WithLeaving(epD) != l {
		t.Error("an unknown endpoint cannot leave")
	}
}

func TestReplacementIsPendingForTheReplacedRanges(t *testing.T) {
	tm := abcRing(t) // 0:A 100:B 200:C 300:A 400:B
	s := NewSimpleStrategy(2)
	r, err := tm.WithReplacing(epD, epC, "dc1", "r1")
	if err != nil {
		t.Fatal(err)
	}
	if !r.IsPending(epD) || r.IsMember(epD) || r.Replaces(epD) != epC || !slices.Equal(r.Tokens(epD), []Token{200}) {
		t.Fatalf("replacement state: pending %v replaces %v tokens %v", r.IsPending(epD), r.Replaces(epD), r.Tokens(epD))
	}
	if !slices.Contains(r.PendingEndpointList(), epD) {
		t.Error("replacement not listed as pending")
	}
	for _, tok := range []Token{50, 150, 250, 350} {
		natural := s.NaturalEndpoints(r, tok)
		want := slices.Contains(natural, epC)
		if got := slices.Contains(PendingEndpoints(s, r, tok), epD); got != want {
			t.Errorf("token %d: D pending %v, C natural %v", tok, got, want)
		}
		if slices.Contains(natural, epD) {
			t.Errorf("token %d: a replacement is read from before it is NORMAL", tok)
		}
	}
	// C replicates (0,100] (B, C) and (100,200] (C, A).
	if got, want := PendingRanges(s, r, epD), []Range{{0, 100}, {100, 200}}; !slices.Equal(got, want) {
		t.Errorf("PendingRanges = %v, want %v", got, want)
	}
	if l := r.WithLeaving(epA); l.Replaces(epD) != epC {
		t.Error("WithLeaving dropped the replacement")
	}
	for _, bad := range [][2]netip.Addr{{epD, epD}, {epA, epB}, {addr("10.0.0.9"), addr("10.0.0.8")}} {
		if _, err := tm.WithReplacing(bad[0], bad[1], "dc1", "r1"); err == nil {
			t.Errorf("WithReplacing(%s, %s) accepted", bad[0], bad[1])
		}
	}
	if _, err := r.WithReplacing(addr("10.0.0.9"), epC, "dc1", "r1"); err == nil {
		t.Error("two replacements of one endpoint")
	}
}
