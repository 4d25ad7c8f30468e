package cluster

import (
	"context"
	"math/big"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringdb/ringdb/internal/gossip"
	"github.com/ringdb/ringdb/internal/ring"
)

// removalNode is member 1 on a fake gossip with NORMAL peers 2..5 (4
// down), a table replicated 3 times, recording the host ids it persists.
func removalNode(t *testing.T, h *harness, st *fakeStreamer, saved *[][16]byte) *node {
	t.Helper()
	st.self = addr(1)
	n := h.add(1, true, withTokens(tokensOf(1)), withSeeds(addr(1)), func(o *Options) {
		o.Streamer = st
		o.SaveRemoved = func(id [16]byte) error { *saved = append(*saved, id); return nil }
	})
	for i := 2; i <= 5; i++ {
		n.g.put(addr(i), peerState(i, i != 4, "", ""))
	}
	n.createTable(t, "ks", "t")
	n.start(t)
	return n
}

func TestRemoveNodeReReplicatesFromSurvivors(t *testing.T) {
	h := newHarness(t)
	st := &fakeStreamer{}
	var saved [][16]byte
	n := removalNode(t, h, st, &saved)
	before := n.c.Ring()
	if !before.IsMember(addr(4)) {
		t.Fatal("4 not in the ring")
	}
	var lines []string
	var mu sync.Mutex
	report := func(l string) { mu.Lock(); lines = append(lines, l); mu.Unlock() }
	if err := runDriven(t, h, "removenode", func() error { return n.c.RemoveNode(context.Background(), hostID(4), true, report) }); err != nil {
		t.Fatal(err)
	}
	// Every range 4 replicated reaches the replica that gains it, from a
	// live replica other than 4.
	strat := ring.NewSimpleStrategy(3)
	after := before.WithLeaving(addr(4)).Departure(addr(4))
	want := map[netip.Addr]int{}
	for _, r := range before.AllRanges() {
		cur := strat.NaturalEndpoints(before, r.End)
		for _, ep := range strat.NaturalEndpoints(after, r.End) {
			if !slices.Contains(cur, ep) {
				want[ep]++
			}
		}
	}
	if len(st.requests) != len(want) || len(want) == 0 {
		t.Fatalf("requests to %v, want receivers %v", keys(st.requests), keys(want))
	}
	for ep, ts := range st.requests {
		if _, ok := want[ep]; !ok {
			t.Errorf("%s streams but gains nothing", ep)
		}
		for _, tr := range ts {
			if tr.Peer == addr(4) || tr.Peer == ep {
				t.Errorf("%s streams from %s", ep, tr.Peer)
			}
		}
	}
	if n.c.Ring().IsMember(addr(4)) || len(saved) != 1 || saved[0] != hostID(4) {
		t.Fatalf("after removal: member %v, saved %v", n.c.Ring().IsMember(addr(4)), saved)
	}
	v := n.g.history[gossip.AppRemovals]
	if len(v) < 2 || !strings.HasPrefix(v[0], "removing,") || !strings.HasPrefix(v[len(v)-1], "removed,"+formatUUID(hostID(4))+",") {
		t.Fatalf("REMOVALS history %q", v)
	}
	if !slices.ContainsFunc(n.auditRecords(t), func(r string) bool { return strings.HasPrefix(r, "remove 127.0.0.4 ") }) {
		t.Error("removal not audited")
	}
	// The removed node stays out even when gossip hears it again.
	n.g.put(addr(4), peerState(4, true, "", ""))
	if n.c.rebuildRing().IsMember(addr(4)) {
		t.Fatal("a removed node came back into the ring")
	}
	if got := n.c.RemovalStatus(); !strings.Contains(got, "No removals in process") {
		t.Errorf("status after: %q", got)
	}
}

func keys[V any](m map[netip.Addr]V) []netip.Addr {
	var out []netip.Addr
	for k := range m {
		out = append(out, k)
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return out
}

func TestRemoveNodeRefusals(t *testing.T) {
	h := newHarness(t)
	var saved [][16]byte
	n := removalNode(t, h, &fakeStreamer{}, &saved)
	for _, tc := range []struct {
		id   [16]byte
		want string
	}{
		{hostID(2), "is alive"},
		{hostID(1), "cannot remove this node itself"},
		{hostID(77), "not known"},
	} {
		if err := n.c.RemoveNode(context.Background(), tc.id, true, func(string) {}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("remove %s: %v, want %q", formatUUID(tc.id), err, tc.want)
		}
	}
	if len(n.g.history[gossip.AppRemovals]) != 0 {
		t.Error("a refused removal was announced")
	}
}

func TestRemovalsAnnouncedByOthers(t *testing.T) {
	h := newHarness(t)
	var saved [][16]byte
	n := removalNode(t, h, &fakeStreamer{}, &saved)
	announce := func(by int, v string) {
		st := peerState(by, true, "", "")
		st.States[gossip.AppRemovals] = gossip.VersionedValue{Value: v, Version: 99}
		n.g.put(addr(by), st)
	}
	// A member removing a node that is down here: 4 is leaving, writes
	// for its ranges also go to the replicas that gain them.
	announce(2, gossip.RemovingStatus(formatUUID(hostID(4))))
	tm := n.c.rebuildRing()
	if !tm.IsLeaving(addr(4)) {
		t.Fatal("4 not leaving during its removal")
	}
	// A member removing a node alive here: refused and audited, once.
	announce(3, gossip.RemovingStatus(formatUUID(hostID(5))))
	n.c.rebuildRing()
	n.c.rebuildRing()
	if n.c.Ring().IsLeaving(addr(5)) {
		t.Fatal("a live node was put out by another's announcement")
	}
	refusals := 0
	for _, r := range n.auditRecords(t) {
		if strings.Contains(r, "removal of 127.0.0.5 refused") {
			refusals++
		}
	}
	if refusals != 1 {
		t.Errorf("%d refusal records, want 1", refusals)
	}
	// Once 5 is down here too, the announcement applies.
	n.g.put(addr(5), peerState(5, false, "", ""))
	if !n.c.rebuildRing().IsLeaving(addr(5)) {
		t.Fatal("the removal of a node that went down did not apply")
	}
	announce(3, "")
	// A non-member's announcement counts for nothing.
	st := peerState(9, true, gossip.LeftStatus(tokensOf(9)[0], 0), "")
	st.States[gossip.AppRemovals] = gossip.VersionedValue{Value: gossip.RemovedStatus(formatUUID(hostID(2)), 0), Version: 5}
	n.g.put(addr(9), st)
	if !n.c.rebuildRing().IsMember(addr(2)) {
		t.Fatal("a non-member removed a node")
	}
	// Removed: out of the ring for good, persisted.
	announce(2, gossip.RemovedStatus(formatUUID(hostID(4)), time.Now().Add(time.Hour).UnixMilli()))
	if n.c.rebuildRing().IsMember(addr(4)) || len(saved) != 1 {
		t.Fatalf("after removed: member %v, saved %d", n.c.Ring().IsMember(addr(4)), len(saved))
	}
	// A restart remembers it.
	h2 := newHarness(t)
	m := h2.add(1, true, withTokens(tokensOf(1)), withSeeds(addr(1)), func(o *Options) { o.RemovedHostIDs = saved })
	m.g.put(addr(4), peerState(4, false, "", ""))
	m.start(t)
	if m.c.Ring().IsMember(addr(4)) {
		t.Fatal("a removed host id is back in the ring after a restart")
	}
}

func TestRemoveNodeForce(t *testing.T) {
	h := newHarness(t)
	st := &fakeStreamer{block: true}
	var saved [][16]byte
	n := removalNode(t, h, st, &saved)
	done := make(chan error, 1)
	go func() { done <- n.c.RemoveNode(context.Background(), hostID(4), true, func(string) {}) }()
	drive(t, h.clk, 100*time.Millisecond, 30*time.Second, "streams under way", func() bool {
		return strings.Contains(n.c.RemovalStatus(), "Waiting for replication confirmation")
	})
	if err := n.c.ForceRemoval(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("forced removal: %v", err)
	}
	if n.c.Ring().IsMember(addr(4)) {
		t.Fatal("forced removal left the node in the ring")
	}
	if err := n.c.ForceRemoval(); err == nil {
		t.Error("force with no removal in process")
	}
}

// A revoked node left the ring without its data being re-replicated:
// removenode of its host id streams its ranges to the replicas that gained
// them, although gossip forgot the node.
func TestRemoveNodeOfARevokedNode(t *testing.T) {
	h := newHarness(t)
	st := &fakeStreamer{}
	var saved [][16]byte
	n := removalNode(t, h, st, &saved)
	n.g.put(addr(4), peerState(4, true, "", "")) // alive until revoked
	n.c.rebuildRing()
	if !n.c.Revoked(addr(4), big.NewInt(44)) {
		t.Fatal("not revoked")
	}
	if n.c.rebuildRing().IsMember(addr(4)) {
		t.Fatal("revoked node still in the ring")
	}
	if err := runDriven(t, h, "removenode", func() error { return n.c.RemoveNode(context.Background(), hostID(4), true, func(string) {}) }); err != nil {
		t.Fatal(err)
	}
	if len(st.requests) == 0 {
		t.Fatal("nothing re-replicated for the revoked node")
	}
	for ep, ts := range st.requests {
		for _, tr := range ts {
			if tr.Peer == addr(4) || tr.Peer == ep {
				t.Errorf("%s streams from %s", ep, tr.Peer)
			}
		}
	}
	if len(saved) != 1 || saved[0] != hostID(4) {
		t.Fatalf("saved %v", saved)
	}
}
