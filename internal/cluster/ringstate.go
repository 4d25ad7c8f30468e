package cluster

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/ringdb/ringdb/internal/gossip"
	"github.com/ringdb/ringdb/internal/pki"
	"github.com/ringdb/ringdb/internal/ring"
)

// refusedTokens is an endpoint whose gossiped tokens could not join the
// ring (a token another endpoint already owns, a duplicate token, too
// many tokens). takeover is set when the token's owner is an incumbent:
// the endpoint tried to take over a member's tokens.
type refusedTokens struct {
	ep       netip.Addr
	err      error
	takeover bool
}

// buildRing returns the token metadata that gossip's endpoint states
// describe. An endpoint takes part when it gossips a parsable STATUS and
// TOKENS: NORMAL, LEAVING and shutdown endpoints are ring members (LEAVING
// ones leaving), BOOT endpoints are pending; LEFT, removing, removed, hibernating and unknown
// statuses leave it out. DC and RACK come from the same states.
//
// Incumbents (incumbent reports them: in ringdb the members of the
// previous ring, this node and the members saved on the previous run) are
// added first, in address order, then the other endpoints. An endpoint
// claiming a token that an endpoint added before it owns (or joins with)
// is refused whole: an incumbent keeps its tokens whatever a newcomer
// claims, whatever their addresses, and is never displaced by a token
// takeover. Between two newcomers (or two incumbents) the lower address
// keeps the token. An endpoint gossiping more than maxTokens tokens (0: no
// bound) is refused. incumbent may be nil (no incumbents).
func buildRing(states map[netip.Addr]gossip.EndpointState, incumbent func(netip.Addr) bool, maxTokens int) (*ring.TokenMetadata, []refusedTokens) {
	eps := sortedEndpoints(states)
	if incumbent != nil {
		slices.SortStableFunc(eps, func(a, b netip.Addr) int {
			ia, ib := incumbent(a), incumbent(b)
			switch {
			case ia && !ib:
				return -1
			case ib && !ia:
				return 1
			}
			return 0
		})
	}
	tm := ring.NewTokenMetadata()
	owners := map[int64]netip.Addr{}
	var refused []refusedTokens
	for _, ep := range eps {
		st := states[ep]
		toks, ok := ringTokens(&st)
		if !ok {
			continue
		}
		if maxTokens > 0 && len(toks) > maxTokens {
			refused = append(refused, refusedTokens{ep: ep, err: fmt.Errorf("%d tokens exceed the bound of %d", len(toks), maxTokens)})
			continue
		}
		if owner, tok, taken := claimed(owners, toks); taken {
			r := refusedTokens{ep: ep, takeover: incumbent != nil && incumbent(owner) && !incumbent(ep)}
			if r.takeover {
				r.err = fmt.Errorf("token takeover refused: claims token %d of ring member %s, which keeps it", tok, owner)
			} else {
				r.err = fmt.Errorf("token %d is already owned by %s", tok, owner)
			}
			refused = append(refused, r)
			continue
		}
		next, err := withEndpointState(tm, ep, &st)
		if err != nil {
			refused = append(refused, refusedTokens{ep: ep, err: err})
			continue
		}
		if next != tm {
			for _, t := range toks {
				owners[t] = ep
			}
		}
		tm = next
	}
	for _, ep := range eps {
		st := states[ep]
		if status, ok := st.Status(); ok && status.Kind == gossip.StatusBootReplace {
			next, err := withReplacement(tm, states, ep, &st, status)
			if err != nil {
				refused = append(refused, refusedTokens{ep: ep, err: err, takeover: true})
				continue
			}
			tm = next
		}
	}
	return tm, refused
}

// withReplacement returns tm with ep (gossiping st, STATUS BOOT_REPLACE)
// bootstrapping in place of the member it names, or why it may not: the
// replaced endpoint must be a member that this node sees down, and ep must
// claim exactly its tokens.
func withReplacement(tm *ring.TokenMetadata, states map[netip.Addr]gossip.EndpointState, ep netip.Addr, st *gossip.EndpointState, status gossip.Status) (*ring.TokenMetadata, error) {
	x, err := netip.ParseAddr(status.Replaces)
	switch {
	case err != nil:
		return nil, fmt.Errorf("replacement of %q refused: not an address", status.Replaces)
	case !tm.IsMember(x.Unmap()):
		return nil, fmt.Errorf("replacement of %s refused: not a ring member", x)
	case states[x.Unmap()].Alive:
		return nil, fmt.Errorf("replacement of %s refused: it is alive", x)
	}
	x = x.Unmap()
	tv, _ := st.Get(gossip.AppTokens)
	toks := parseTokens(tv)
	slices.Sort(toks)
	if !slices.Equal(toks, tm.Tokens(x)) {
		return nil, fmt.Errorf("replacement of %s refused: it must claim exactly the replaced node's tokens", x)
	}
	dc, _ := st.Get(gossip.AppDC)
	rack, _ := st.Get(gossip.AppRack)
	return tm.WithReplacing(ep, x, dc, rack)
}

// withoutFailedJoins drops from states the endpoints that shut down
// while joining (pending in prev, or recorded so before at the same
// generation): a node whose bootstrap failed or was refused never owned
// anything, and its shutdown STATUS would otherwise make it a member
// owning ranges it has no data for. A restart (a new generation) may join
// again. c.ringMu is held.
func (c *Cluster) withoutFailedJoins(states map[netip.Addr]gossip.EndpointState, prev *ring.TokenMetadata) {
	for ep, st := range states {
		status, ok := st.Status()
		if ep == c.o.Self || !ok || status.Kind != gossip.StatusShutdown {
			if gen, failed := c.failedJoins[ep]; failed && st.HeartBeat.Generation != gen {
				delete(c.failedJoins, ep)
			}
			continue
		}
		gen, failed := c.failedJoins[ep]
		switch {
		case failed && gen == st.HeartBeat.Generation:
		case prev.IsPending(ep) && !prev.IsMember(ep):
			c.failedJoins[ep] = st.HeartBeat.Generation
			c.log.Info("node shut down while joining: it takes no part in the ring", "endpoint", ep.String())
		default:
			continue
		}
		delete(states, ep)
	}
}

// ringTokens returns the tokens st gossips when its STATUS puts the
// endpoint in the ring (as a member or pending).
func ringTokens(st *gossip.EndpointState) ([]int64, bool) {
	status, ok := st.Status()
	if !ok {
		return nil, false
	}
	switch status.Kind {
	case gossip.StatusNormal, gossip.StatusShutdown, gossip.StatusLeaving, gossip.StatusBoot:
	default:
		return nil, false
	}
	tv, _ := st.Get(gossip.AppTokens)
	toks := parseTokens(tv)
	return toks, len(toks) > 0
}

// claimed returns the first of toks that owners holds, and its owner.
func claimed(owners map[int64]netip.Addr, toks []int64) (owner netip.Addr, tok int64, ok bool) {
	for _, t := range toks {
		if o, ok := owners[t]; ok {
			return o, t, true
		}
	}
	return netip.Addr{}, 0, false
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
	case gossip.StatusNormal, gossip.StatusShutdown:
		return tm.WithEndpoint(ep, toks, dc, rack)
	case gossip.StatusLeaving:
		next, err := tm.WithEndpoint(ep, toks, dc, rack)
		if err != nil {
			return nil, err
		}
		return next.WithLeaving(ep), nil
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
// saves the ring members (once saving has started) and returns it. The
// incumbents are this node, the members (and joining endpoints) of the
// ring it replaces and the members saved on the previous run. An endpoint
// newly kept out of the ring is logged, and audited when it tried to take
// over a member's tokens.
func (c *Cluster) rebuildRing() *ring.TokenMetadata {
	c.ringMu.Lock()
	prev := c.ring.Load()
	saved := make(map[netip.Addr]bool, len(c.savedPeers))
	for _, ep := range c.savedPeers {
		saved[ep] = true
	}
	incumbent := func(ep netip.Addr) bool {
		return ep == c.o.Self || prev.IsMember(ep) || prev.IsPending(ep) || saved[ep]
	}
	snap := c.gossip.Snapshot()
	c.withoutRevoked(snap) // as if LEFT
	c.withoutFailedJoins(snap, prev)
	leaving := c.applyRemovals(snap, prev)
	tm, refused := buildRing(snap, incumbent, c.maxTokens())
	for _, ep := range leaving {
		tm = tm.WithLeaving(ep)
	}
	c.ring.Store(tm)
	c.rebuilds.Add(1)
	newly := c.noteRefused(refused)
	c.ringMu.Unlock()
	for _, r := range newly {
		if r.ep == c.o.Self && c.replaces() {
			// A replacement between removing the replaced node and its
			// NORMAL: its BOOT_REPLACE names a node no longer in the ring.
			continue
		}
		c.log.Warn("ignoring endpoint's tokens", "endpoint", r.ep.String(), "err", r.err)
		if r.takeover && c.o.Audit != nil {
			st := snap[r.ep]
			ev := pki.AuditEvent{Kind: pki.AuditRefused, Peer: r.ep.String(), Outcome: "refused", Reason: r.err.Error()}
			if id, ok := hostIDOf(&st); ok {
				ev.HostID = formatUUID(id)
			}
			if der, ok := st.Get(gossip.AppCert); ok {
				ev.Serial, ev.Fingerprint = certIdentity(der)
			}
			c.record(ev)
		}
	}
	c.savePeers()
	return tm
}

// noteRefused records the endpoints a rebuild kept out of the ring and
// returns those that were not already refused for the same reason (so
// each refusal is logged and audited once, not at every rebuild). The
// caller holds ringMu.
func (c *Cluster) noteRefused(refused []refusedTokens) []refusedTokens {
	now := make(map[netip.Addr]string, len(refused))
	var newly []refusedTokens
	for _, r := range refused {
		msg := r.err.Error()
		now[r.ep] = msg
		if c.refusedRing[r.ep] != msg {
			newly = append(newly, r)
		}
	}
	c.refusedRing = now
	return newly
}
