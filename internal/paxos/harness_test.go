package paxos

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// call is one Transport call a testCluster saw.
type call struct {
	op     string // "prepare", "propose", "commit"
	to     netip.Addr
	ballot Ballot // the prepared ballot, or the proposal's
	update string
}

func (c call) String() string { return fmt.Sprintf("%s %v %v %q", c.op, c.to, c.ballot, c.update) }

// testCluster is a Transport over real in-memory Acceptors. Hooks can fail,
// block or alter calls; every call is recorded, and the number of calls
// still running is tracked to prove none outlives CAS.
type testCluster struct {
	addrs  []netip.Addr
	accs   map[netip.Addr]*Acceptor
	stores map[netip.Addr]*memStore
	logs   map[netip.Addr]*applyLog

	mu    sync.Mutex
	calls []call
	// before, when set, runs before a call is delivered; an error fails
	// the call without delivering it.
	before func(ctx context.Context, c call) error
	// after, when set, runs after delivery; an error replaces the answer
	// (the replica did act on the request).
	after func(ctx context.Context, c call) error

	inflight atomic.Int64
}

func newTestCluster(t *testing.T, n int) *testCluster {
	t.Helper()
	tc := &testCluster{accs: map[netip.Addr]*Acceptor{}, stores: map[netip.Addr]*memStore{}, logs: map[netip.Addr]*applyLog{}}
	for i := range n {
		a := netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)})
		store, log := newMemStore(), &applyLog{}
		acc, err := NewAcceptor(AcceptorOptions{Store: store, Apply: log.apply})
		if err != nil {
			t.Fatal(err)
		}
		tc.addrs = append(tc.addrs, a)
		tc.accs[a], tc.stores[a], tc.logs[a] = acc, store, log
	}
	return tc
}

func (tc *testCluster) setHooks(before, after func(ctx context.Context, c call) error) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	tc.before, tc.after = before, after
}

// enter records c and runs the before hook.
func (tc *testCluster) enter(ctx context.Context, c call) (after func(context.Context, call) error, err error) {
	tc.mu.Lock()
	tc.calls = append(tc.calls, c)
	before, after := tc.before, tc.after
	tc.mu.Unlock()
	if before != nil {
		err = before(ctx, c)
	}
	return after, err
}

func (tc *testCluster) Prepare(ctx context.Context, to netip.Addr, key string, b Ballot) (PrepareResponse, error) {
	tc.inflight.Add(1)
	defer tc.inflight.Add(-1)
	after, err := tc.enter(ctx, call{op: "prepare", to: to, ballot: b})
	if err != nil {
		return PrepareResponse{}, err
	}
	r, err := tc.accs[to].Prepare(key, b)
	if err == nil && after != nil {
		err = after(ctx, call{op: "prepare", to: to, ballot: b})
	}
	return r, err
}

func (tc *testCluster) Propose(ctx context.Context, to netip.Addr, key string, p Proposal) (ProposeResponse, error) {
	tc.inflight.Add(1)
	defer tc.inflight.Add(-1)
	c := call{op: "propose", to: to, ballot: p.Ballot, update: string(p.Update)}
	after, err := tc.enter(ctx, c)
	if err != nil {
		return ProposeResponse{}, err
	}
	ok, promised, err := tc.accs[to].Propose(key, p)
	if err == nil && after != nil {
		err = after(ctx, c)
	}
	return ProposeResponse{Accepted: ok, Promised: promised}, err
}

func (tc *testCluster) Commit(ctx context.Context, to netip.Addr, key string, p Proposal) error {
	tc.inflight.Add(1)
	defer tc.inflight.Add(-1)
	c := call{op: "commit", to: to, ballot: p.Ballot, update: string(p.Update)}
	after, err := tc.enter(ctx, c)
	if err != nil {
		return err
	}
	err = tc.accs[to].Commit(key, p)
	if err == nil && after != nil {
		err = after(ctx, c)
	}
	return err
}

// callsOf returns the recorded calls with op (all when op is "").
func (tc *testCluster) callsOf(op string) []call {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	var out []call
	for _, c := range tc.calls {
		if op == "" || c.op == op {
			out = append(out, c)
		}
	}
	return out
}

// setState stores st as the state of key on replica i.
func (tc *testCluster) setState(t *testing.T, i int, key string, st AcceptorState) {
	t.Helper()
	if err := tc.stores[tc.addrs[i]].Save(key, st); err != nil {
		t.Fatal(err)
	}
}

func (tc *testCluster) state(i int, key string) AcceptorState {
	return tc.stores[tc.addrs[i]].state(key)
}

// fakeClock advances only when slept on; it records the sleeps.
type fakeClock struct {
	mu     sync.Mutex
	t      time.Time
	sleeps []time.Duration
}

var testEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func newFakeClock() *fakeClock { return &fakeClock{t: testEpoch} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.t = c.t.Add(d)
	return nil
}

func (c *fakeClock) slept() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.sleeps)
}

// maxSource makes every rand draw its maximum, so each backoff equals its
// bound.
type maxSource struct{}

func (maxSource) Uint64() uint64 { return ^uint64(0) }

// testProposer returns a proposer over tc with a fake clock whose backoffs
// are their bounds.
func testProposer(t *testing.T, tc *testCluster, tweak ...func(*ProposerOptions)) (*Proposer, *fakeClock) {
	t.Helper()
	clk := newFakeClock()
	o := ProposerOptions{
		Transport: tc,
		Ballots:   NewBallotGenerator(clk.Now, 5),
		Clock:     clk,
		Rand:      rand.New(maxSource{}),
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	for _, f := range tweak {
		f(&o)
	}
	p, err := NewProposer(o)
	if err != nil {
		t.Fatal(err)
	}
	return p, clk
}

// checkFn is a CheckFunc that records its calls and applies update
// (stamped with the ballot) unless update is "".
type checkFn struct {
	mu      sync.Mutex
	ballots []Ballot
	update  string
	err     error
	// during, when set, runs inside the check.
	during func(b Ballot)
}

func (f *checkFn) fn(_ context.Context, b Ballot) ([]byte, bool, error) {
	f.mu.Lock()
	f.ballots = append(f.ballots, b)
	during := f.during
	f.mu.Unlock()
	if during != nil {
		during(b)
	}
	if f.err != nil || f.update == "" {
		return nil, false, f.err
	}
	return []byte(f.update), true, nil
}

func (f *checkFn) calls() []Ballot {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.ballots)
}

// runCAS runs CAS with key "k" over all of tc's replicas and checks that no
// Transport call is still running when it returns.
func runCAS(t *testing.T, ctx context.Context, p *Proposer, tc *testCluster, quorum, commitAcks int, f *checkFn) (Outcome, error) {
	t.Helper()
	out, err := p.CAS(ctx, "k", tc.addrs, quorum, commitAcks, f.fn)
	if n := tc.inflight.Load(); n != 0 {
		t.Errorf("%d transport calls still running after CAS returned", n)
	}
	return out, err
}
