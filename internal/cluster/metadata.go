package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/ringdb/ringdb/internal/gossip"
	"github.com/ringdb/ringdb/internal/messaging"
	"github.com/ringdb/ringdb/internal/pki"
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

// DefaultMetadataClockSkew is Options.MetadataClockSkew when zero: how far
// beyond this member's clock a peer's schema or role timestamp may be.
const DefaultMetadataClockSkew = 10 * time.Minute

// errNotAdmitted refuses metadata to and from an endpoint that is not an
// admitted member (Admitted).
var errNotAdmitted = errors.New("not an admitted member (neither in the ring nor a seed)")

// schemaVersion is this node's schema version as gossiped.
func (c *Cluster) schemaVersion() string { return formatUUID(c.o.Schema.Current().Version) }

// announceSchema gossips the current schema version. Reading the version
// and setting it happen under announceMu, so that of two merges finishing
// together the last to gossip gossips the newest version (a stale version
// left in gossip would never be corrected: peers see no change to pull).
func (c *Cluster) announceSchema() {
	c.announceMu.Lock()
	defer c.announceMu.Unlock()
	c.gossip.SetLocalState(gossip.AppSchema, c.schemaVersion())
}

// announceRoles gossips the current roles version (as announceSchema).
func (c *Cluster) announceRoles() {
	c.announceMu.Lock()
	defer c.announceMu.Unlock()
	c.gossip.SetLocalState(gossip.AppAuthVersion, c.o.Roles.Version())
}

// rolesVersion is this node's roles version; false without role sync.
func (c *Cluster) rolesVersion() (string, bool) {
	if c.o.Roles == nil {
		return "", false
	}
	return c.o.Roles.Version(), true
}

// metadataNotAfter is the newest schema or role timestamp (µs) this member
// accepts from a peer: now plus Options.MetadataClockSkew on its clock.
func (c *Cluster) metadataNotAfter() int64 {
	return c.clock.Now().Add(c.o.MetadataClockSkew).UnixMicro()
}

// handlePull answers a peer's VerbSchemaPull: the roles (with their
// password hashes) for a roles pull, else the schema (which holds no
// role). Only admitted members are answered; any other peer is refused,
// audited, and learns nothing.
func (c *Cluster) handlePull(_ context.Context, from netip.Addr, payload []byte) ([]byte, error) {
	roles := len(payload) == 1 && payload[0] == syncRoles
	what := "schema pull"
	if roles {
		what = "roles pull"
	}
	if !c.Admitted(from) {
		return nil, c.refuse(from, what, "admission", errNotAdmitted)
	}
	if roles {
		if c.o.Roles == nil {
			return nil, fmt.Errorf("this node has no roles (AllowAllAuthenticator)")
		}
		return c.o.Roles.Export()
	}
	return c.o.Schema.Export()
}

// handlePush merges the schema or roles a peer pushed. A push from an
// endpoint that is not an admitted member, or holding a timestamp beyond
// the clock skew bound, is refused whole and audited; the refusal is the
// handler's error.
func (c *Cluster) handlePush(_ context.Context, from netip.Addr, payload []byte) ([]byte, error) {
	if len(payload) == 0 {
		return nil, fmt.Errorf("empty metadata push")
	}
	switch payload[0] {
	case syncRoles:
		return nil, c.mergeRoles(from, "push", payload[1:])
	case syncSchema:
		return nil, c.mergeSchema(from, "push", payload[1:])
	default:
		return nil, fmt.Errorf("unknown metadata kind %q", payload[0])
	}
}

// LocalSchemaChanged gossips the new schema version and pushes the
// schema to the live admitted members.
func (c *Cluster) LocalSchemaChanged() {
	c.announceSchema()
	data, err := c.o.Schema.Export()
	if err != nil {
		return
	}
	c.pushToMembers(append([]byte{syncSchema}, data...))
}

// LocalRolesChanged gossips the new roles version and pushes the roles
// (with their password hashes) to the live admitted members.
func (c *Cluster) LocalRolesChanged() {
	if c.o.Roles == nil {
		return
	}
	c.announceRoles()
	data, err := c.o.Roles.Export()
	if err != nil {
		return
	}
	c.pushToMembers(append([]byte{syncRoles}, data...))
}

// pushToMembers sends a metadata push to every live peer that is an
// admitted member (best effort: a peer that misses it pulls when it sees
// the gossiped version). An endpoint gossip reports alive but that is not
// admitted gets nothing: role pushes carry password hashes.
func (c *Cluster) pushToMembers(payload []byte) {
	for _, ep := range c.livePeers() {
		if !c.Admitted(ep) {
			continue
		}
		if err := c.o.Messaging.Send(ep, messaging.VerbSchemaPush, payload); err != nil {
			c.log.Debug("metadata push failed", "endpoint", ep.String(), "err", err)
		}
	}
}

// pullRoles fetches an admitted member's roles and merges them; an
// endpoint that is not admitted is not asked, and nothing is asked before
// this node is in the ring itself (see mayPull).
func (c *Cluster) pullRoles(ep netip.Addr) {
	if !c.mayPull(ep, "roles") {
		return
	}
	ctx, cancel := c.withTimeout(c.ctx, pullTimeout)
	defer cancel()
	data, err := c.o.Messaging.Request(ctx, ep, messaging.VerbSchemaPull, []byte{syncRoles})
	if err != nil {
		c.log.Debug("roles pull failed", "endpoint", ep.String(), "err", err)
		return
	}
	_ = c.mergeRoles(ep, "pull", data)
}

// mergeRoles folds a peer's roles (received by push or pull, said via)
// into ours and gossips our new roles version if that changed anything.
// It returns the refusal, audited, of roles from an endpoint that is not
// an admitted member or holding a timestamp beyond the clock skew bound
// (nothing of them is applied); roles that do not decode are logged and
// ignored.
func (c *Cluster) mergeRoles(from netip.Addr, via string, data []byte) error {
	what := "roles " + via
	if !c.Admitted(from) {
		return c.refuse(from, what, "admission", errNotAdmitted)
	}
	if c.o.Roles == nil {
		return nil
	}
	changed, err := c.o.Roles.Merge(data, c.metadataNotAfter())
	if isFutureTimestamp(err) {
		return c.refuse(from, what, "timestamp", err)
	}
	if err != nil {
		c.log.Warn("roles merge failed", "from", from.String(), "err", err)
		return nil
	}
	if changed {
		c.log.Info("roles merged from peer", "from", from.String())
		c.announceRoles()
	}
	return nil
}

// pullSchemaFromLive pulls the schema of every live peer, one after the
// other.
func (c *Cluster) pullSchemaFromLive() {
	for _, ep := range c.livePeers() {
		c.pullSchema(ep)
	}
}

// pullSchemaOnce pulls the schema from the live peers until one answers;
// it reports whether one did.
func (c *Cluster) pullSchemaOnce() bool {
	for _, ep := range c.livePeers() {
		if c.pullSchemaFrom(ep) {
			return true
		}
	}
	return false
}

// pullSchema fetches an admitted member's schema and merges it (one pull
// per peer at a time: a pull from a peer already being pulled from
// returns at once); an endpoint that is not admitted is not asked, and
// nothing is asked before this node is in the ring itself (see mayPull).
func (c *Cluster) pullSchema(ep netip.Addr) { c.pullSchemaFrom(ep) }

// pullSchemaFrom is pullSchema reporting whether ep answered and its
// schema merged.
func (c *Cluster) pullSchemaFrom(ep netip.Addr) bool {
	if !c.mayPull(ep, "schema") {
		return false
	}
	if !c.beginPull(ep) {
		return false
	}
	defer c.endPull(ep)
	ctx, cancel := c.withTimeout(c.ctx, pullTimeout)
	defer cancel()
	data, err := c.o.Messaging.Request(ctx, ep, messaging.VerbSchemaPull, nil)
	if err != nil {
		c.log.Debug("schema pull failed", "endpoint", ep.String(), "err", err)
		return false
	}
	return c.mergeSchema(ep, "pull", data) == nil
}

// mayPull reports whether this node may pull metadata (what) from ep now:
// ep must be an admitted member, and this node must be in its own ring
// (NORMAL or joining). Before that, its peers would not answer it either
// (they do not know it as a member yet) and would audit the refusal; a
// joining node catches up once it has announced itself (catchUp).
func (c *Cluster) mayPull(ep netip.Addr, what string) bool {
	if !c.Admitted(ep) {
		c.log.Debug("not pulling "+what+" from an endpoint that is not an admitted member", "endpoint", ep.String())
		return false
	}
	if tm := c.Ring(); !tm.IsMember(c.o.Self) && !tm.IsPending(c.o.Self) {
		c.log.Debug("not pulling "+what+" before this node is in the ring", "endpoint", ep.String())
		return false
	}
	return true
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

// mergeSchema folds a peer's schema (received by push or pull, said via)
// into ours: it removes the data of tables the merge dropped, tells
// OnSchema of every change and gossips our new schema version if it
// changed. It returns the refusal, audited, of a schema from an endpoint
// that is not an admitted member or holding a timestamp beyond the clock
// skew bound (nothing of it is applied); a schema that does not decode is
// logged and ignored.
func (c *Cluster) mergeSchema(from netip.Addr, via string, data []byte) error {
	what := "schema " + via
	if !c.Admitted(from) {
		return c.refuse(from, what, "admission", errNotAdmitted)
	}
	before := c.o.Schema.Current().Version
	changes, dropped, err := c.o.Schema.Merge(data, c.metadataNotAfter())
	if isFutureTimestamp(err) {
		return c.refuse(from, what, "timestamp", err)
	}
	if err != nil {
		c.log.Warn("schema merge failed", "from", from.String(), "err", err)
		return nil
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
		c.announceSchema()
	}
	return nil
}

// isFutureTimestamp reports whether err is a store's refusal of data
// holding a timestamp beyond the bound it was given
// (schema.TimestampError, auth.TimestampError).
func isFutureTimestamp(err error) bool {
	var f interface{ FutureTimestamp() bool }
	return errors.As(err, &f) && f.FutureTimestamp()
}

// refuse logs and audits the refusal of a metadata exchange (what: "roles
// push", "schema pull"…) with peer from, for cause ("admission" or
// "timestamp"), and returns the error the exchange fails with. The audit
// record (kind refused, outcome refused) names the peer and what was
// refused; it and the WARN line are rate-limited (refusalAudit).
func (c *Cluster) refuse(from netip.Addr, what, cause string, err error) error {
	reason := what + " refused: " + err.Error()
	ok, left := c.refusals.admit(from.String()+" "+what+" "+cause, c.clock.Now())
	if !ok {
		c.log.Debug("metadata refused", "from", from.String(), "reason", reason)
		return errors.New(reason)
	}
	record := reason
	if left > 0 {
		record += fmt.Sprintf(" (and %d more such refusals of this peer since the previous record)", left)
	}
	c.log.Warn("metadata refused", "from", from.String(), "reason", record)
	if c.o.Audit != nil {
		host := ""
		if id, ok := c.HostID(from); ok {
			host = formatUUID(id)
		}
		if err := c.o.Audit.Record(pki.AuditEvent{Kind: pki.AuditRefused, Peer: from.String(), HostID: host,
			Outcome: "refused", Reason: record}); err != nil {
			c.log.Error("membership audit log write failed", "err", err)
		}
	}
	return errors.New(reason)
}

// refusalAuditInterval is the least time between two audit records of the
// same metadata refusal (peer, exchange and cause).
const refusalAuditInterval = time.Minute

// maxRefusalKeys bounds the refusals refusalAudit tracks at once.
const maxRefusalKeys = 4096

// refusalAudit limits the membership audit records of metadata refusals
// to one per peer, exchange and cause per refusalAuditInterval on the
// member's clock; the next record counts the ones left out. A certificate
// holder refused over and over cannot flood the fsynced log or rotate
// older evidence away. The zero value is ready to use.
type refusalAudit struct {
	mu   sync.Mutex
	last map[string]*refusalWindow
}

// refusalWindow is one refusal's last record and the refusals left out
// since.
type refusalWindow struct {
	at   time.Time
	left int
}

// admit reports whether the refusal key at now is recorded, and how many
// refusals of key were left out since its previous record.
func (r *refusalAudit) admit(key string, now time.Time) (ok bool, left int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.last == nil {
		r.last = map[string]*refusalWindow{}
	}
	w := r.last[key]
	if w != nil && now.Sub(w.at) < refusalAuditInterval {
		w.left++
		return false, 0
	}
	if w == nil && len(r.last) >= maxRefusalKeys {
		for k, o := range r.last {
			if now.Sub(o.at) >= refusalAuditInterval {
				delete(r.last, k)
			}
		}
		if len(r.last) >= maxRefusalKeys {
			return true, 0 // too many refused peers to track: record them all
		}
	}
	if w == nil {
		w = &refusalWindow{}
		r.last[key] = w
	}
	left, w.at, w.left = w.left, now, 0
	return true, left
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
