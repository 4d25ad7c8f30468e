package cluster

import (
	"cmp"
	"errors"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ringdb/ringdb/internal/gossip"
	"github.com/ringdb/ringdb/internal/query"
)

// A member with saved tokens announces itself NORMAL at once with every
// local state, and gossips its load every loadInterval until Stop.
func TestStartWithSavedTokens(t *testing.T) {
	h, n := startedUnit(t)
	g := n.g
	want := map[gossip.ApplicationState]string{
		gossip.AppHostID: formatUUID(hostID(1)), gossip.AppDC: "dc1", gossip.AppRack: "r1",
		gossip.AppReleaseVersion: query.ReleaseVersion, gossip.AppNativeAddressAndPort: "127.0.0.1:9042",
		gossip.AppSchema: n.schemaVersion(), gossip.AppTokens: formatTokens(tokensOf(1)),
		gossip.AppStatus: gossip.NormalStatus(tokensOf(1)[0]),
	}
	for k, v := range want {
		if got := g.local(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if _, err := strconv.ParseUint(g.local(gossip.AppLoad), 10, 64); err != nil {
		t.Errorf("LOAD %q", g.local(gossip.AppLoad))
	}
	if got := g.localHistory(gossip.AppStatus); len(got) != 1 {
		t.Errorf("STATUS went through %q; a known member does not BOOT", got)
	}
	if _, ok := want[gossip.AppAuthVersion]; ok || g.local(gossip.AppAuthVersion) != "" {
		t.Error("AUTH_VERSION without role sync")
	}
	if len(n.saved) != 0 {
		t.Error("saved tokens it already had")
	}
	if !g.started {
		t.Error("gossip not started")
	}
	if tm := n.c.Ring(); !slices.Equal(tm.Tokens(n.addr), tokensOf(1)) {
		t.Errorf("ring tokens %v", tm.Tokens(n.addr))
	}

	loads := len(g.localHistory(gossip.AppLoad))
	h.clk.Advance(loadInterval)
	waitFor(t, 10*time.Second, "the load refresh", func() bool { return len(g.localHistory(gossip.AppLoad)) == loads+1 })
	n.c.Stop()
	if !g.shutdown || !g.stopped {
		t.Fatal("Stop did not announce shutdown and stop gossip")
	}
	h.clk.Advance(10 * loadInterval)
	if got := len(g.localHistory(gossip.AppLoad)); got != loads+1 {
		t.Fatalf("load refreshed after Stop (%d)", got)
	}
	n.c.Stop() // again: harmless
}

// Stop before Start, and Start's error when the tokens cannot be saved.
func TestStopBeforeStartAndSaveError(t *testing.T) {
	h := newHarness(t)
	n := h.add(1, true)
	n.c.Stop()
	boom := errors.New("disk full")
	m := h.add(2, true, func(o *Options) { o.SaveTokens = func([]int64) error { return boom } })
	if err := m.c.Start(); !errors.Is(err, boom) {
		t.Fatalf("Start: %v, want %v", err, boom)
	}
}

// A first start through another seed waits for the ring, chooses tokens
// that balance against it, saves them, goes BOOT for two rounds, then
// NORMAL, and catches up on the peers' schema and roles.
func TestFirstStartJoinsThroughSeeds(t *testing.T) {
	h := newHarness(t)
	peer := h.add(2, true, withTokens(tokensOf(2)), withRoles(newFakeRoles("dave")))
	peer.start(t)
	peer.createTable(t, "ks", "t")
	n := h.add(1, true, withSeeds(addr(2)), withRoles(newFakeRoles()))
	done := make(chan error, 1)
	go func() { done <- n.c.Start() }()
	returned := func() bool {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			return true
		default:
			return false
		}
	}
	// No ring member yet: Start waits.
	drive(t, h.clk, ringPoll, 10*time.Second, "two seconds of waiting", func() bool { return !h.clk.Now().Before(t0.Add(2 * time.Second)) })
	if returned() {
		t.Fatal("Start returned before it learned the ring")
	}
	seen := h.clk.Now()
	n.g.put(peer.addr, peerState(2, true, "", peer.schemaVersion()))
	n.g.set(peer.addr, gossip.AppAuthVersion, "roles:dave")
	// The peer learns that n joins (BOOT): it answers the pulls of ring
	// members only.
	peer.g.put(n.addr, peerState(1, true, gossip.BootStatus(tokensOf(1)[0]), ""))
	peer.c.rebuildRing()
	drive(t, h.clk, ringPoll, 30*time.Second, "Start to return", returned)
	if took := h.clk.Now().Sub(seen); took < 3*time.Second {
		t.Fatalf("Start returned %s after the ring appeared; want one more round and two BOOT rounds", took)
	}
	if len(n.saved) != 1 || len(n.saved[0]) != 4 {
		t.Fatalf("saved tokens %v", n.saved)
	}
	for _, tok := range n.saved[0] {
		if slices.Contains(tokensOf(2), tok) {
			t.Fatalf("chose the peer's token %d", tok)
		}
	}
	status := n.g.localHistory(gossip.AppStatus)
	want := []string{gossip.BootStatus(n.saved[0][0]), gossip.NormalStatus(n.saved[0][0])}
	if !slices.Equal(status, want) {
		t.Fatalf("STATUS went through %q, want %q", status, want)
	}
	if !n.hasTable("ks", "t") || !n.c.o.Roles.(*fakeRoles).has("dave") {
		t.Fatal("did not catch up on the peer's schema and roles")
	}
	if tm := n.c.Ring(); !tm.IsMember(n.addr) || !tm.IsMember(peer.addr) {
		t.Fatal("ring lacks a member")
	}
}

// With nobody reachable, a seed's first start listens three rounds, then
// starts alone: BOOT for two rounds, then NORMAL.
func TestFirstStartAlone(t *testing.T) {
	for _, tc := range []struct {
		name  string
		seeds []netip.Addr
		wait  time.Duration
	}{
		{"seed listens three rounds", []netip.Addr{addr(1), addr(9)}, 3 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			n := h.add(1, true, withSeeds(tc.seeds...), func(o *Options) { o.JoinTimeout = 5 * time.Second })
			done := make(chan error, 1)
			go func() { done <- n.c.Start() }()
			if err := startResult(t, h, done); err != nil {
				t.Fatal(err)
			}
			if took, want := h.clk.Now().Sub(t0), tc.wait+2*time.Second; took != want {
				t.Fatalf("Start took %s on the clock, want %s", took, want)
			}
			if len(n.saved) != 1 || len(n.saved[0]) != 4 || !slices.Equal(n.c.Ring().Tokens(n.addr), n.saved[0]) {
				t.Fatalf("saved %v, ring %v", n.saved, n.c.Ring().Tokens(n.addr))
			}
			if got := n.g.localHistory(gossip.AppStatus); len(got) != 2 || !strings.HasPrefix(got[0], "BOOT,") || !strings.HasPrefix(got[1], "NORMAL,") {
				t.Fatalf("STATUS went through %q", got)
			}
		})
	}
}

// Seeds of a new cluster list each other and start together: a seed with
// auto_bootstrap and a streamer does not bootstrap on its first start (as
// in Cassandra), so it does not wait for the other seeds to be NORMAL
// first (each waited JoinTimeout for the others, and the non-seeds gave up
// meanwhile). It starts as a lone seed does: three rounds, then BOOT and
// NORMAL.
func TestSeedDoesNotBootstrap(t *testing.T) {
	h := newHarness(t)
	st := &fakeStreamer{}
	n := h.add(1, true, withSeeds(addr(1), addr(9)), func(o *Options) {
		o.JoinTimeout = time.Hour
		o.Streamer = st
		o.AutoBootstrap = true
	})
	done := make(chan error, 1)
	go func() { done <- n.c.Start() }()
	if err := startResult(t, h, done); err != nil {
		t.Fatal(err)
	}
	if took, max := h.clk.Now().Sub(t0), time.Minute; took > max {
		t.Fatalf("Start took %s on the clock (JoinTimeout is an hour), want at most %s", took, max)
	}
	if got := n.g.localHistory(gossip.AppStatus); len(got) != 2 || !strings.HasPrefix(got[1], "NORMAL,") {
		t.Fatalf("STATUS went through %q", got)
	}
}

// Two seeds of a new cluster starting together choose tokens in turn: the
// higher-addressed one, hearing the lower alive but without tokens yet,
// waits; once the lower is in the ring (BOOT with its tokens), it
// allocates against it and the two own about half each (alone, each
// spaced its tokens from a random offset: a run gave 7.9% and 46%).
func TestSeedsStartingTogetherTakeTurns(t *testing.T) {
	h := newHarness(t)
	n := h.add(2, true, withSeeds(addr(1), addr(2)), func(o *Options) { o.JoinTimeout = time.Hour })
	n.g.put(addr(1), endpointState(true, map[gossip.ApplicationState]string{
		gossip.AppDC: "dc1", gossip.AppRack: "r1", gossip.AppHostID: formatUUID(hostID(1))}))
	done := make(chan error, 1)
	go func() { done <- n.c.Start() }()
	driveTimers(t, h.clk, 30*time.Second, "a minute on the clock", func() bool { return h.clk.Now().Sub(t0) > time.Minute })
	select {
	case err := <-done:
		t.Fatalf("Start returned (%v) while the lower seed had no tokens", err)
	default:
	}
	n.g.put(addr(1), peerState(1, true, gossip.BootStatus(tokensOf(1)[0]), ""))
	if err := startResult(t, h, done); err != nil {
		t.Fatal(err)
	}
	if own := primaryShare(n.c.Ring().Tokens(n.addr), tokensOf(1)); own < 0.4 || own > 0.6 {
		t.Fatalf("the second seed owns %.1f%% next to the first's tokens, want about half", 100*own)
	}
}

// primaryShare is the fraction of the ring whose ranges end at a token
// of mine, on the ring of mine and other.
func primaryShare(mine, other []int64) float64 {
	type tok struct {
		t    int64
		mine bool
	}
	var all []tok
	for _, t := range mine {
		all = append(all, tok{t, true})
	}
	for _, t := range other {
		all = append(all, tok{t, false})
	}
	slices.SortFunc(all, func(a, b tok) int { return cmp.Compare(a.t, b.t) })
	var share float64
	for i, x := range all {
		if x.mine {
			prev := all[(i-1+len(all))%len(all)].t
			share += float64(uint64(x.t)-uint64(prev)) / math.Exp2(64)
		}
	}
	return share
}

// A node that is not a seed and reaches no seed on its first start does
// not start alone (it would own ranges it has no data for once it reaches
// the cluster): after JoinTimeout, Start fails naming the seeds, and no
// tokens are chosen or saved.
func TestNonSeedRefusesToStartAlone(t *testing.T) {
	h := newHarness(t)
	n := h.add(1, true, withSeeds(addr(9)), func(o *Options) { o.JoinTimeout = 5 * time.Second })
	done := make(chan error, 1)
	go func() { done <- n.c.Start() }()
	err := startResult(t, h, done)
	if err == nil || !strings.Contains(err.Error(), "unable to gossip with any seed ("+addr(9).String()+")") {
		t.Fatalf("Start: %v", err)
	}
	if took := h.clk.Now().Sub(t0); took != 5*time.Second {
		t.Fatalf("gave up after %s on the clock, want the JoinTimeout", took)
	}
	if len(n.saved) != 0 || len(n.c.Ring().Tokens(n.addr)) != 0 {
		t.Fatalf("tokens chosen alone: saved %v", n.saved)
	}
}

// Stop ends a first start's wait for the ring at once.
func TestStopEndsJoinWait(t *testing.T) {
	h := newHarness(t)
	n := h.add(1, true, withSeeds(addr(9)), func(o *Options) { o.JoinTimeout = time.Hour })
	done := make(chan error, 1)
	go func() { done <- n.c.Start() }()
	waitFor(t, 10*time.Second, "Start to wait", func() bool { return h.clk.timersArmed() > 0 })
	n.c.Stop()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "stopped") {
			t.Fatalf("Start after Stop: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Start still waiting after Stop")
	}
	if !h.clk.Now().Equal(t0) {
		t.Fatal("the clock moved")
	}
}

// startResult advances the fake clock until the Start running on done
// returns, and returns its error.
func startResult(t *testing.T, h *harness, done <-chan error) error {
	t.Helper()
	var err error
	driveTimers(t, h.clk, 30*time.Second, "Start", func() bool {
		select {
		case err = <-done:
			return true
		default:
			return false
		}
	})
	return err
}
