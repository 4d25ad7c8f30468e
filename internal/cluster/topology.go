package cluster

import (
	"net/netip"
	"slices"
	"time"

	"github.com/ringdb/ringdb/internal/gossip"
	"github.com/ringdb/ringdb/internal/query"
	"github.com/ringdb/ringdb/internal/ring"
)

// Ring returns the current token metadata.
func (c *Cluster) Ring() *ring.TokenMetadata { return c.ring.Load() }

// IsAlive reports whether ep is up (self always is).
func (c *Cluster) IsAlive(ep netip.Addr) bool { return ep == c.o.Self || c.gossip.IsAlive(ep) }

// DownSince returns when ep was marked down; an endpoint that is not up
// and was never seen going down has been down since this member started.
func (c *Cluster) DownSince(ep netip.Addr) (time.Time, bool) {
	if c.IsAlive(ep) {
		return time.Time{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.downSince[ep]
	if !ok {
		return c.start, true
	}
	return t, true
}

// markDown remembers when ep went down (the first time since it was
// last up).
func (c *Cluster) markDown(ep netip.Addr) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.downSince[ep]; !ok {
		c.downSince[ep] = c.clock.Now()
	}
}

// markUp forgets when ep went down.
func (c *Cluster) markUp(ep netip.Addr) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.downSince, ep)
}

// DC returns ep's data center: its ring entry's, else what it gossips.
func (c *Cluster) DC(ep netip.Addr) string {
	if ep == c.o.Self {
		return c.o.DC
	}
	if dc := c.ring.Load().DC(ep); dc != "" {
		return dc
	}
	if st, ok := c.stateOf(ep); ok {
		v, _ := st.Get(gossip.AppDC)
		return v
	}
	return ""
}

// HostID returns ep's host id.
func (c *Cluster) HostID(ep netip.Addr) ([16]byte, bool) {
	if ep == c.o.Self {
		return c.o.HostID, true
	}
	st, ok := c.stateOf(ep)
	if !ok {
		return [16]byte{}, false
	}
	return hostIDOf(&st)
}

// EndpointOf returns the endpoint with a host id.
func (c *Cluster) EndpointOf(id [16]byte) (netip.Addr, bool) {
	if id == c.o.HostID {
		return c.o.Self, true
	}
	snap := c.gossip.Snapshot()
	for _, ep := range sortedEndpoints(snap) {
		st := snap[ep]
		if got, ok := hostIDOf(&st); ok && got == id {
			return ep, true
		}
	}
	return netip.Addr{}, false
}

// Peers lists the other ring members (NORMAL or joining) for
// system.peers, in address order.
func (c *Cluster) Peers() []query.PeerInfo {
	return peersOf(c.ring.Load(), c.gossip.Snapshot(), c.o.Self, c.o.StoragePort, c.o.NativeAddress.Port())
}

// peersOf builds the system.peers rows of the ring members of tm other
// than self from their gossiped states. storagePort is every node's
// internode port; nativePort is assumed for a peer that does not gossip
// its native address.
func peersOf(tm *ring.TokenMetadata, snap map[netip.Addr]gossip.EndpointState, self netip.Addr, storagePort int, nativePort uint16) []query.PeerInfo {
	var out []query.PeerInfo
	for _, ep := range sortedEndpoints(snap) {
		if ep == self || !(tm.IsMember(ep) || tm.IsPending(ep)) {
			continue
		}
		st := snap[ep]
		p := query.PeerInfo{Address: ep, Port: storagePort, Tokens: tm.Tokens(ep), DC: tm.DC(ep), Rack: tm.Rack(ep)}
		p.HostID, _ = hostIDOf(&st)
		v, _ := st.Get(gossip.AppSchema)
		p.SchemaVersion, _ = parseUUID(v)
		p.Release, _ = st.Get(gossip.AppReleaseVersion)
		na := nativeAddress(ep, &st, nativePort)
		p.NativeAddress, p.NativePort = na.Addr(), int(na.Port())
		out = append(out, p)
	}
	return out
}

// hostIDOf returns the host id st gossips.
func hostIDOf(st *gossip.EndpointState) ([16]byte, bool) {
	v, _ := st.Get(gossip.AppHostID)
	return parseUUID(v)
}

// nativeAddress is ep's CQL address: the one st gossips, else ep at
// port defaultPort (this node's native port). st may be the zero state
// of an endpoint gossip does not know.
func nativeAddress(ep netip.Addr, st *gossip.EndpointState, defaultPort uint16) netip.AddrPort {
	if v, _ := st.Get(gossip.AppNativeAddressAndPort); v != "" {
		if ap, err := netip.ParseAddrPort(v); err == nil {
			return ap
		}
	}
	return netip.AddrPortFrom(ep, defaultPort)
}

// stateOf returns what gossip knows about ep.
func (c *Cluster) stateOf(ep netip.Addr) (gossip.EndpointState, bool) {
	st, ok := c.gossip.Snapshot()[ep]
	return st, ok
}

// livePeers returns the endpoints other than self that gossip reports
// up, in address order.
func (c *Cluster) livePeers() []netip.Addr {
	snap := c.gossip.Snapshot()
	return slices.DeleteFunc(sortedEndpoints(snap), func(ep netip.Addr) bool {
		return ep == c.o.Self || !snap[ep].Alive
	})
}
