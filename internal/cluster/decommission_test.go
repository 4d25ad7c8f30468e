package cluster

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringdb/ringdb/internal/gossip"
	"github.com/ringdb/ringdb/internal/ring"
	"github.com/ringdb/ringdb/internal/streaming"
)

// fakeStreamer records stream requests (and pulls, as requests to self);
// fail, if set, fails a request; block makes requests wait for their
// context.
type fakeStreamer struct {
	self     netip.Addr
	block    bool
	mu       sync.Mutex
	requests map[netip.Addr][]streaming.Transfer
	fail     func(peer netip.Addr) error
}

func (f *fakeStreamer) Pull(ctx context.Context, desc string, ts []streaming.Transfer) error {
	return f.Request(ctx, f.self, desc, ts)
}

func (f *fakeStreamer) Request(ctx context.Context, peer netip.Addr, _ string, ts []streaming.Transfer) error {
	if f.block {
		<-ctx.Done()
		return ctx.Err()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		if err := f.fail(peer); err != nil {
			return err
		}
	}
	if f.requests == nil {
		f.requests = map[netip.Addr][]streaming.Transfer{}
	}
	f.requests[peer] = append(f.requests[peer], ts...)
	return nil
}

// decommissionNode is member 1 on a fake gossip with NORMAL peers 2..n
// and a table replicated 3 times.
func decommissionNode(t *testing.T, h *harness, peers int, st *fakeStreamer) *node {
	t.Helper()
	n := h.add(1, true, withTokens(tokensOf(1)), withSeeds(addr(1)), func(o *Options) { o.Streamer = st })
	for i := 2; i <= peers+1; i++ {
		n.g.put(addr(i), peerState(i, true, "", ""))
	}
	n.createTable(t, "ks", "t")
	n.start(t)
	return n
}

// runDriven runs fn on its own goroutine, advancing the fake clock until
// it returns.
func runDriven(t *testing.T, h *harness, what string, fn func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	var err error
	drive(t, h.clk, 100*time.Millisecond, 30*time.Second, what, func() bool {
		select {
		case err = <-done:
			return true
		default:
			return false
		}
	})
	return err
}

func TestDecommissionStreamsToTheGainingReplicasThenLeaves(t *testing.T) {
	h := newHarness(t)
	st := &fakeStreamer{}
	n := decommissionNode(t, h, 3, st)
	before := n.c.Ring()
	var lines []string
	var mu sync.Mutex
	report := func(l string) { mu.Lock(); lines = append(lines, l); mu.Unlock() }
	if err := runDriven(t, h, "decommission", func() error { return n.c.Decommission(context.Background(), report) }); err != nil {
		t.Fatal(err)
	}
	statuses := n.g.history[gossip.AppStatus]
	if len(statuses) < 3 || !strings.HasPrefix(statuses[len(statuses)-2], gossip.StatusLeaving+",") || !strings.HasPrefix(statuses[len(statuses)-1], gossip.StatusLeft+",") {
		t.Fatalf("STATUS history %q: want ... LEAVING, LEFT", statuses)
	}
	if n.c.Mode() != "DECOMMISSIONED" || n.c.Ring().IsMember(addr(1)) {
		t.Fatalf("mode %s, still a member: %v", n.c.Mode(), n.c.Ring().IsMember(addr(1)))
	}
	// Every range replicated by 1 reaches the endpoint that replicates it
	// once 1 is gone, streamed from 1.
	strat := ring.NewSimpleStrategy(3)
	leaving := before.WithLeaving(addr(1))
	after := leaving.Departure(addr(1))
	want := map[netip.Addr]int{}
	for _, r := range before.AllRanges() {
		cur := strat.NaturalEndpoints(before, r.End)
		if !slices.Contains(cur, addr(1)) {
			continue
		}
		for _, ep := range strat.NaturalEndpoints(after, r.End) {
			if !slices.Contains(cur, ep) {
				want[ep] += len(streaming.Spans([16]byte{}, r))
			}
		}
	}
	if len(want) == 0 {
		t.Fatal("test ring gains nothing")
	}
	for ep, spans := range want {
		got := st.requests[ep]
		if len(got) != spans {
			t.Errorf("%s got %d spans, want %d", ep, len(got), spans)
		}
		for _, tr := range got {
			if tr.Peer != addr(1) {
				t.Errorf("%s streams from %s, not the leaving node", ep, tr.Peer)
			}
		}
	}
	if len(st.requests) != len(want) {
		t.Errorf("requests to %d nodes, want %d", len(st.requests), len(want))
	}
	if !slices.ContainsFunc(lines, func(l string) bool { return l == "DECOMMISSIONED" }) {
		t.Errorf("progress %q", lines)
	}
	n.c.Stop()
	if n.g.shutdown {
		t.Error("a departed node announced shutdown over its LEFT state")
	}
	if err := n.c.Decommission(context.Background(), report); err == nil {
		t.Error("decommissioned twice")
	}
}

func TestDecommissionRefusals(t *testing.T) {
	h := newHarness(t)
	// RF 3 on three nodes: a departure would leave two replicas.
	n := decommissionNode(t, h, 2, &fakeStreamer{})
	err := n.c.Decommission(context.Background(), func(string) {})
	if err == nil || !strings.Contains(err.Error(), "not enough nodes to keep the replication factor of keyspace ks") {
		t.Fatalf("err = %v", err)
	}
	if got := n.g.history[gossip.AppStatus]; strings.HasPrefix(got[len(got)-1], gossip.StatusLeaving) {
		t.Fatal("a refused decommission announced LEAVING")
	}
	// Another node joining: one movement at a time.
	n.g.put(addr(7), peerState(7, true, gossip.BootStatus(tokensOf(7)[0]), ""))
	n.g.put(addr(8), peerState(8, true, "", ""))
	n.c.rebuildRing()
	if err := n.c.Decommission(context.Background(), func(string) {}); err == nil || !strings.Contains(err.Error(), "one range movement at a time") {
		t.Fatalf("with a joining node: %v", err)
	}
}

func TestDecommissionStreamFailureGoesBackToNormal(t *testing.T) {
	h := newHarness(t)
	st := &fakeStreamer{fail: func(peer netip.Addr) error {
		if peer == addr(3) {
			return errors.New("receiver killed")
		}
		return nil
	}}
	n := decommissionNode(t, h, 4, st)
	err := runDriven(t, h, "decommission", func() error { return n.c.Decommission(context.Background(), func(string) {}) })
	if err == nil || !strings.Contains(err.Error(), "receiver killed") || !strings.Contains(err.Error(), "run decommission again") {
		t.Fatalf("err = %v", err)
	}
	statuses := n.g.history[gossip.AppStatus]
	if !strings.HasPrefix(statuses[len(statuses)-1], gossip.StatusNormal+",") || n.c.Mode() != "NORMAL" {
		t.Fatalf("after a failed decommission: STATUS %q, mode %s", statuses, n.c.Mode())
	}
	st.fail = nil
	if err := runDriven(t, h, "decommission again", func() error { return n.c.Decommission(context.Background(), func(string) {}) }); err != nil {
		t.Fatalf("second run: %v", err)
	}
}

func TestDecommissionedNodeDoesNotRestart(t *testing.T) {
	h := newHarness(t)
	n := h.add(1, true, withTokens(tokensOf(1)), func(o *Options) { o.Decommissioned = true })
	if err := n.c.Start(); !errors.Is(err, ErrDecommissioned) {
		t.Fatalf("Start = %v", err)
	}
}
