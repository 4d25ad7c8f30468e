package cluster

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/ringdb/ringdb/internal/gossip"
	"github.com/ringdb/ringdb/internal/messaging"
	"github.com/ringdb/ringdb/internal/storage"
)

// Kinds of metadata exchanged with VerbSchemaPull/VerbSchemaPush (first
// payload byte of a push; the whole payload of a roles pull, a schema
// pull has none).
const (
	syncSchema byte = 'S'
	syncRoles  byte = 'A'
)

// pullTimeout bounds one metadata pull.
const pullTimeout = 10 * time.Second

// schemaVersion is this node's schema version as gossiped.
func (c *Cluster) schemaVersion() string { return formatUUID(c.o.Schema.Current().Version) }

// rolesVersion is this node's roles version; false without role sync.
func (c *Cluster) rolesVersion() (string, bool) {
	if c.o.Roles == nil {
		return "", false
	}
	return c.o.Roles.Version(), true
}

// handlePull answers a peer's VerbSchemaPull: the roles for a roles
// pull, else the schema.
func (c *Cluster) handlePull(_ context.Context, _ netip.Addr, payload []byte) ([]byte, error) {
	if len(payload) == 1 && payload[0] == syncRoles {
		if c.o.Roles == nil {
			return nil, fmt.Errorf("this node has no roles (AllowAllAuthenticator)")
		}
		return c.o.Roles.Export()
	}
	return c.o.Schema.Export()
}

// handlePush merges the schema or roles a peer pushed.
func (c *Cluster) handlePush(_ context.Context, from netip.Addr, payload []byte) ([]byte, error) {
	if len(payload) == 0 {
		return nil, fmt.Errorf("empty metadata push")
	}
	switch payload[0] {
	case syncRoles:
		c.mergeRoles(from, payload[1:])
	case syncSchema:
		c.mergeSchema(from, payload[1:])
	default:
		return nil, fmt.Errorf("unknown metadata kind %q", payload[0])
	}
	return nil, nil
}

// LocalSchemaChanged gossips the new schema version and pushes the
// schema to live peers.
func (c *Cluster) LocalSchemaChanged() {
	c.gossip.SetLocalState(gossip.AppSchema, c.schemaVersion())
	data, err := c.o.Schema.Export()
	if err != nil {
		return
	}
	c.pushToLive(append([]byte{syncSchema}, data...))
}

// LocalRolesChanged gossips the new roles version and pushes the roles to
// live peers.
func (c *Cluster) LocalRolesChanged() {
	if c.o.Roles == nil {
		return
	}
	c.gossip.SetLocalState(gossip.AppAuthVersion, c.o.Roles.Version())
	data, err := c.o.Roles.Export()
	if err != nil {
		return
	}
	c.pushToLive(append([]byte{syncRoles}, data...))
}

// pushToLive sends a metadata push to every live peer (best effort: a
// peer that misses it pulls when it sees the gossiped version).
func (c *Cluster) pushToLive(payload []byte) {
	for _, ep := range c.livePeers() {
		if err := c.o.Messaging.Send(ep, messaging.VerbSchemaPush, payload); err != nil {
			c.log.Debug("metadata push failed", "endpoint", ep.String(), "err", err)
		}
	}
}

// pullRoles fetches a peer's roles and merges them.
func (c *Cluster) pullRoles(ep netip.Addr) {
	ctx, cancel := c.withTimeout(c.ctx, pullTimeout)
	defer cancel()
	data, err := c.o.Messaging.Request(ctx, ep, messaging.VerbSchemaPull, []byte{syncRoles})
	if err != nil {
		c.log.Debug("roles pull failed", "endpoint", ep.String(), "err", err)
		return
	}
	c.mergeRoles(ep, data)
}

// mergeRoles folds a peer's roles into ours and gossips our new roles
// version if that changed anything.
func (c *Cluster) mergeRoles(from netip.Addr, data []byte) {
	if c.o.Roles == nil {
		return
	}
	changed, err := c.o.Roles.Merge(data)
	if err != nil {
		c.log.Warn("roles merge failed", "from", from.String(), "err", err)
		return
	}
	if changed {
		c.log.Info("roles merged from peer", "from", from.String())
		c.gossip.SetLocalState(gossip.AppAuthVersion, c.o.Roles.Version())
	}
}

// pullSchemaFromLive pulls the schema of every live peer, one after the
// other.
func (c *Cluster) pullSchemaFromLive() {
	for _, ep := range c.livePeers() {
		c.pullSchema(ep)
	}
}

// pullSchema fetches a peer's schema and merges it (one pull per peer at
// a time: a pull from a peer already being pulled from returns at once).
func (c *Cluster) pullSchema(ep netip.Addr) {
	if !c.beginPull(ep) {
		return
	}
	defer c.endPull(ep)
	ctx, cancel := c.withTimeout(c.ctx, pullTimeout)
	defer cancel()
	data, err := c.o.Messaging.Request(ctx, ep, messaging.VerbSchemaPull, nil)
	if err != nil {
		c.log.Debug("schema pull failed", "endpoint", ep.String(), "err", err)
		return
	}
	c.mergeSchema(ep, data)
}

// beginPull claims the schema pull from ep; false if one is under way.
func (c *Cluster) beginPull(ep netip.Addr) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pulling[ep] {
		return false
	}
	c.pulling[ep] = true
	return true
}

// endPull releases the claim of beginPull.
func (c *Cluster) endPull(ep netip.Addr) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.pulling, ep)
}

// mergeSchema folds a peer's schema into ours: it removes the data of
// tables the merge dropped, tells OnSchema of every change and gossips
// our new schema version if it changed.
func (c *Cluster) mergeSchema(from netip.Addr, data []byte) {
	before := c.o.Schema.Current().Version
	changes, dropped, err := c.o.Schema.Merge(data)
	if err != nil {
		c.log.Warn("schema merge failed", "from", from.String(), "err", err)
		return
	}
	for _, t := range dropped {
		if err := c.o.Engine.DropTable(storage.TableID(t.ID)); err != nil {
			c.log.Error("removing dropped table data failed", "table", t.Keyspace+"."+t.Name, "err", err)
		}
	}
	for _, ch := range changes {
		if c.o.OnSchema != nil {
			c.o.OnSchema(ch)
		}
	}
	if after := c.o.Schema.Current().Version; after != before {
		c.log.Info("schema merged from peer", "from", from.String(), "changes", len(changes), "version", formatUUID(after))
		c.gossip.SetLocalState(gossip.AppSchema, formatUUID(after))
	}
}

// hasUserTables reports whether a non-system keyspace holds a table.
func (c *Cluster) hasUserTables() bool {
	for _, k := range c.o.Schema.Current().Keyspaces {
		if !k.System && len(k.Tables) > 0 {
			return true
		}
	}
	return false
}
