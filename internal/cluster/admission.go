package cluster

import (
	"net/netip"
	"slices"
)

// Admitted reports whether ep is an admitted member of this node's
// cluster: this node, an endpoint of the ring as gossip describes it (a
// ring member: NORMAL, LEAVING or shut down; or joining: BOOT), or one of
// the configured seeds. A certificate the cluster CA signed for an address
// that never joined is not admitted.
//
// Only admitted members are served the schema and the roles (with their
// password hashes), are pushed them, and have their pushes and pull
// answers merged (metadata.go). This is the one definition of admission:
// binding it to join tokens replaces this function, not its callers.
// Ring membership comes from gossip, so admission is as trustworthy as the
// gossiped states it is built from.
func (c *Cluster) Admitted(ep netip.Addr) bool {
	ep = ep.Unmap()
	if ep == c.o.Self || slices.Contains(c.o.Seeds, ep) {
		return true
	}
	tm := c.Ring()
	return tm.IsMember(ep) || tm.IsPending(ep)
}

// Reserved reports whether ep holds a reserved internode slot (messaging
// Options.Reserved): this node, a seed or a ring member (NORMAL, leaving
// or shut down). Joining endpoints are admitted but not reserved: a flood
// of BOOT announcements cannot claim member slots. It only reads the
// current ring, so it is fast enough for the accept path.
func (c *Cluster) Reserved(ep netip.Addr) bool {
	ep = ep.Unmap()
	return ep == c.o.Self || slices.Contains(c.o.Seeds, ep) || c.Ring().IsMember(ep)
}
