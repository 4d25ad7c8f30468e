package cluster

import (
	"strings"
	"testing"

	"github.com/ringdb/ringdb/internal/gossip"
)

func TestReplacementInTheRing(t *testing.T) {
	h := newHarness(t)
	n := h.add(1, true, withTokens(tokensOf(1)), withSeeds(addr(1)))
	for i := 2; i <= 4; i++ {
		n.g.put(addr(i), peerState(i, i != 3, "", ""))
	}
	n.start(t)
	// Node 5 claims dead node 3's tokens as its replacement.
	replacing := func(status string, tokens []int64) {
		st := peerState(5, true, status, "")
		st.States[gossip.AppTokens] = gossip.VersionedValue{Value: formatTokens(tokens), Version: 2}
		n.g.put(addr(5), st)
	}
	replacing(gossip.BootReplaceStatus(addr(3).String()), tokensOf(3))
	tm := n.c.rebuildRing()
	if tm.Replaces(addr(5)) != addr(3) || !tm.IsMember(addr(3)) || tm.IsMember(addr(5)) {
		t.Fatalf("replacement not pending: replaces %v", tm.Replaces(addr(5)))
	}
	// Other tokens than the replaced node's: refused.
	replacing(gossip.BootReplaceStatus(addr(3).String()), tokensOf(6))
	if n.c.rebuildRing().IsPending(addr(5)) {
		t.Fatal("a replacement with other tokens was accepted")
	}
	// A live node cannot be replaced: refused and audited as a takeover.
	replacing(gossip.BootReplaceStatus(addr(2).String()), tokensOf(2))
	if n.c.rebuildRing().IsPending(addr(5)) {
		t.Fatal("a live node was replaced")
	}
	audited := false
	for _, r := range n.auditRecords(t) {
		if strings.Contains(r, "replacement of 127.0.0.2 refused: it is alive") {
			audited = true
		}
	}
	if !audited {
		t.Errorf("refused replacement not audited: %q", n.auditRecords(t))
	}
	// Done: NORMAL with node 3's tokens and 3 removed on its own state.
	st := peerState(5, true, gossip.NormalStatus(tokensOf(3)[0]), "")
	st.States[gossip.AppTokens] = gossip.VersionedValue{Value: formatTokens(tokensOf(3)), Version: 2}
	st.States[gossip.AppRemovals] = gossip.VersionedValue{Value: gossip.RemovedStatus(formatUUID(hostID(3)), 0), Version: 3}
	n.g.put(addr(5), st)
	tm = n.c.rebuildRing()
	if tm.IsMember(addr(3)) || !tm.IsMember(addr(5)) {
		t.Fatalf("after the replacement: 3 member %v, 5 member %v", tm.IsMember(addr(3)), tm.IsMember(addr(5)))
	}
	// A newcomer cannot remove a node whose tokens it does not claim.
	st = peerState(6, true, gossip.BootStatus(tokensOf(6)[0]), "")
	st.States[gossip.AppRemovals] = gossip.VersionedValue{Value: gossip.RemovedStatus(formatUUID(hostID(4)), 0), Version: 3}
	n.g.put(addr(4), peerState(4, false, "", ""))
	n.g.put(addr(6), st)
	if !n.c.rebuildRing().IsMember(addr(4)) {
		t.Fatal("a joining node removed a member it does not replace")
	}
}
