package cluster

import (
	"context"
	"net/netip"

	"github.com/ringdb/ringdb/internal/gossip"
	"github.com/ringdb/ringdb/internal/pki"
)

// onEvent reacts to a gossip event (on the gossip runtime's goroutine):
// it recomputes the ring when the event can change it, then does what
// reactionTo says.
func (c *Cluster) onEvent(e gossip.Event) {
	before := c.ring.Load()
	after := before
	if rebuildsRing(e) {
		after = c.rebuildRing()
	}
	st, _ := c.stateOf(e.Endpoint)
	peerSchema, _ := st.Get(gossip.AppSchema)
	peerRoles, _ := st.Get(gossip.AppAuthVersion)
	c.react(e.Endpoint, reactionTo(e, eventContext{self: c.o.Self,
		wasMember: before.IsMember(e.Endpoint), isMember: after.IsMember(e.Endpoint),
		peerSchema: peerSchema, peerRoles: peerRoles,
		localSchema: c.schemaVersion, localRoles: c.rolesVersion}))
}

// react carries out r about endpoint ep.
func (c *Cluster) react(ep netip.Addr, r reaction) {
	if r.markUp {
		c.markUp(ep)
	}
	if r.markDown {
		c.markDown(ep)
	}
	if r.log != nil {
		c.log.Log(context.Background(), r.log.level, r.log.msg, append([]any{"endpoint", ep.String()}, r.log.args...)...)
	}
	if r.audit != nil {
		c.audit(r.audit.kind, ep, r.audit.reason)
	}
	if r.client != nil {
		c.tellClients(ep, *r.client)
	}
	if r.notifyUp && c.o.OnUp != nil {
		c.o.OnUp(ep)
	}
	if r.pullSchema {
		c.spawn(func() { c.pullSchema(ep) })
	}
	if r.pullRoles {
		c.spawn(func() { c.pullRoles(ep) })
	}
}

// tellClients hands a client event about ep to OnStatus or OnTopology.
func (c *Cluster) tellClients(ep netip.Addr, e clientEvent) {
	switch {
	case e.topology && c.o.OnTopology != nil:
		c.o.OnTopology(e.change, c.nativeOf(ep))
	case !e.topology && c.o.OnStatus != nil:
		c.o.OnStatus(e.change == changeUp, c.nativeOf(ep))
	}
}

// audit writes a membership audit record about ep (with its host id
// when known), if there is an audit log.
func (c *Cluster) audit(kind pki.AuditKind, ep netip.Addr, reason string) {
	if c.o.Audit == nil {
		return
	}
	host := ""
	if id, ok := c.HostID(ep); ok {
		host = formatUUID(id)
	}
	if err := c.o.Audit.Record(pki.AuditEvent{Kind: kind, Peer: ep.String(), HostID: host, Reason: reason}); err != nil {
		c.log.Error("membership audit log write failed", "err", err)
	}
}
