package cluster

import (
	"strings"
	"testing"
	"time"

	"github.com/ringdb/ringdb/internal/gossip"
	"github.com/ringdb/ringdb/internal/messaging"
)

// A node that shuts down while joining (its bootstrap failed or was
// refused) takes no part in the ring: it was pending, and its shutdown
// STATUS must not make it a member owning ranges it has no data for (an
// outside tester saw such a node own 22.5% and RF=1 reads fail with
// Unavailable). Rebuilds keep it out at that generation; a restart (a new
// generation) may join again.
func TestFailedJoinIsNoMember(t *testing.T) {
	h := newHarness(t)
	n := h.add(1, true, withTokens(tokensOf(1)), withSeeds(addr(1)))
	n.g.put(addr(2), peerState(2, true, "", ""))
	n.start(t)
	n.g.put(addr(3), peerState(3, true, gossip.BootStatus(tokensOf(3)[0]), ""))
	if !n.c.rebuildRing().IsPending(addr(3)) {
		t.Fatal("joining node 3 not pending")
	}
	n.g.put(addr(3), peerState(3, false, gossip.ShutdownStatus(), ""))
	for range 3 {
		if tm := n.c.rebuildRing(); tm.IsMember(addr(3)) || tm.IsPending(addr(3)) {
			t.Fatal("a node that shut down while joining is in the ring")
		}
	}
	// A member that shuts down stays a member (it is down, not gone).
	n.g.put(addr(2), peerState(2, false, gossip.ShutdownStatus(), ""))
	if !n.c.rebuildRing().IsMember(addr(2)) {
		t.Fatal("a member that shut down left the ring")
	}
	// Node 3 restarts (new generation) and joins.
	st := peerState(3, true, gossip.BootStatus(tokensOf(3)[0]), "")
	st.HeartBeat.Generation++
	n.g.put(addr(3), st)
	if !n.c.rebuildRing().IsPending(addr(3)) {
		t.Fatal("node 3 restarted and joining is not pending")
	}
}

// A joining node that no member answers a schema pull (the cluster
// refuses it) fails its join instead of streaming nothing and going
// NORMAL with no schema (an outside tester saw such a node announce
// "bootstrap: complete spans=0" and serve CQL with no tables or roles).
func TestJoinRefusedWithoutSchema(t *testing.T) {
	h := newHarness(t)
	peer := h.add(2, true, withTokens(tokensOf(2)), withSeeds(addr(2)))
	peer.start(t)
	peer.createTable(t, "ks", "t")
	h.net.drop(messaging.VerbSchemaPull, true) // the members refuse this node
	st := &fakeStreamer{}
	n := h.add(1, true, withSeeds(addr(2)), func(o *Options) {
		o.Streamer = st
		o.AutoBootstrap = true
		o.JoinTimeout = time.Minute
	})
	n.g.put(addr(2), peerState(2, true, "", ""))
	done := make(chan error, 1)
	go func() { done <- n.c.Start() }()
	err := startResult(t, h, done)
	if err == nil || !strings.Contains(err.Error(), "no member answered this node's schema pull") {
		t.Fatalf("Start: %v", err)
	}
	if got := n.g.localHistory(gossip.AppStatus); len(got) == 0 || strings.HasPrefix(got[len(got)-1], "NORMAL") {
		t.Fatalf("STATUS went through %q", got)
	}
}
