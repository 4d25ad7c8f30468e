package cluster

import (
	"net/netip"
	"slices"

	"github.com/ringdb/ringdb/internal/gossip"
	"github.com/ringdb/ringdb/internal/ring"
)

// refusedTokens is an endpoint whose gossiped tokens could not join the
// ring (a token another endpoint already owns, a duplicate token).
type refusedTokens struct {
	ep  netip.Addr
	err error
}

// buildRing returns the token metadata that gossip's endpoint states
// describe. An endpoint takes part when it gossips a parsable STATUS and
// TOKENS: NORMAL, LEAVING and shutdown endpoints are ring members, BOOT
// endpoints are pending; LEFT, removing, removed, hibernating and unknown
// statuses leave it out. DC and RACK come from the same states.
// Endpoints are added in address order, so when two claim a token the
// lower address keeps it and the other is refused.
func buildRing(states map[netip.Addr]gossip.EndpointState) (*ring.TokenMetadata, []refusedTokens) {
	tm := ring.NewTokenMetadata()
	var refused []refusedTokens
	for _, ep := range sortedEndpoints(states) {
		st := states[ep]
		next, err := withEndpointState(tm, ep, &st)
		if err != nil {
			refused = append(refused, refusedTokens{ep, err})
			continue
		}
		tm = next
	}
	return tm, refused
}

// withEndpointState returns tm with ep added as its state says (tm
// itself when the state puts ep outside the ring).
func withEndpointState(tm *ring.TokenMetadata, ep netip.Addr, st *gossip.EndpointState) (*ring.TokenMetadata, error) {
	status, ok := st.Status()
	if !ok {
		return tm, nil
	}
	tv, _ := st.Get(gossip.AppTokens)
	toks := parseTokens(tv)
	if len(toks) == 0 {
		return tm, nil
	}
	dc, _ := st.Get(gossip.AppDC)
	rack, _ := st.Get(gossip.AppRack)
	switch status.Kind {
	case gossip.StatusNormal, gossip.StatusShutdown, gossip.StatusLeaving:
		return tm.WithEndpoint(ep, toks, dc, rack)
	case gossip.StatusBoot:
		return tm.WithPending(ep, toks, dc, rack)
	}
	return tm, nil
}

// sortedEndpoints returns the endpoints of states in address order.
func sortedEndpoints(states map[netip.Addr]gossip.EndpointState) []netip.Addr {
	eps := make([]netip.Addr, 0, len(states))
	for ep := range states {
		eps = append(eps, ep)
	}
	slices.SortFunc(eps, netip.Addr.Compare)
	return eps
}

// rebuildRing recomputes the token metadata from gossip, publishes it,
// saves the ring members (once saving has started) and returns it.
func (c *Cluster) rebuildRing() *ring.TokenMetadata {
	c.ringMu.Lock()
	tm, refused := buildRing(c.gossip.Snapshot())
	c.ring.Store(tm)
	c.ringMu.Unlock()
	for _, r := range refused {
		c.log.Warn("ignoring endpoint's tokens", "endpoint", r.ep.String(), "err", r.err)
	}
	c.savePeers()
	return tm
}
