package cluster

import (
	"net/netip"
	"testing"

	"github.com/ringdb/ringdb/internal/gossip"
)

// Admitted: this node, the ring's members (NORMAL, LEAVING, shut down)
// and joining endpoints (BOOT), and the seeds; not an endpoint gossip
// knows without a ring status, one that LEFT, or one nobody knows.
func TestAdmitted(t *testing.T) {
	h := newHarness(t)
	n := h.add(1, true, withTokens(tokensOf(1)), withSeeds(addr(1), addr(9)))
	states := map[int]string{
		2: "",                                   // NORMAL
		3: gossip.BootStatus(tokensOf(3)[0]),    // joining
		4: gossip.LeavingStatus(tokensOf(4)[0]), // leaving
		5: gossip.ShutdownStatus(),              // shut down
		6: gossip.LeftStatus(tokensOf(6)[0], 0), // left
		7: "hibernate,true",                     // replacing: not in the ring
	}
	for i, status := range states {
		n.g.put(addr(i), peerState(i, true, status, ""))
	}
	n.g.put(addr(8), endpointState(true, map[gossip.ApplicationState]string{gossip.AppSchema: "x"})) // no STATUS
	n.start(t)
	for _, tc := range []struct {
		ep   netip.Addr
		want bool
	}{
		{addr(1), true}, {addr(2), true}, {addr(3), true}, {addr(4), true}, {addr(5), true},
		{addr(6), false}, {addr(7), false}, {addr(8), false},
		{addr(9), true}, // a seed nobody has heard of
		{addr(159), false},
		{netip.AddrFrom16(addr(2).As16()), true}, // IPv4-mapped form of a member
	} {
		if got := n.c.Admitted(tc.ep); got != tc.want {
			t.Errorf("Admitted(%s) = %v, want %v", tc.ep, got, tc.want)
		}
	}
}

func TestReservedSlotsAreForMembers(t *testing.T) {
	h := newHarness(t)
	n := h.add(1, true, withTokens(tokensOf(1)), withSeeds(addr(1), addr(9)))
	n.g.put(addr(2), peerState(2, true, "", ""))
	n.g.put(addr(3), peerState(3, true, gossip.BootStatus(tokensOf(3)[0]), ""))
	n.start(t)
	for ep, want := range map[netip.Addr]bool{addr(1): true, addr(2): true, addr(9): true, addr(3): false, addr(159): false} {
		if got := n.c.Reserved(ep); got != want {
			t.Errorf("Reserved(%s) = %v, want %v", ep, got, want)
		}
	}
}
