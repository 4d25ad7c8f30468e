package cluster

import (
	"log/slog"
	"net/netip"

	"github.com/ringdb/ringdb/internal/gossip"
	"github.com/ringdb/ringdb/internal/pki"
)

// Client event changes (the native protocol's STATUS_CHANGE and
// TOPOLOGY_CHANGE).
const (
	changeUp      = "UP"
	changeDown    = "DOWN"
	changeNewNode = "NEW_NODE"
	changeRemoved = "REMOVED_NODE"
)

// clientEvent is a change drivers are told about: a STATUS_CHANGE (UP,
// DOWN) unless topology, then a TOPOLOGY_CHANGE (NEW_NODE, REMOVED_NODE).
type clientEvent struct {
	topology bool
	change   string
}

// auditRecord is a membership audit record about the event's endpoint,
// or, for a refusal (sender), about the peer that sent the refused state
// (the event's From).
type auditRecord struct {
	kind    pki.AuditKind
	reason  string
	outcome string
	sender  bool
}

// logLine is a log record about the event's endpoint.
type logLine struct {
	level slog.Level
	msg   string
	args  []any // besides the endpoint
}

// reaction is what one gossip event makes this member do, in this
// order: note the endpoint up or down, log, audit, tell clients, tell
// OnUp, and pull the endpoint's schema or roles.
type reaction struct {
	markUp, markDown bool
	log              *logLine
	audit            *auditRecord
	client           *clientEvent
	notifyUp         bool
	pullSchema       bool
	pullRoles        bool
}

// eventContext is what reactionTo needs besides the event: this node,
// whether the endpoint was a ring member before the event and is one
// after it, the endpoint's gossiped metadata versions, and this node's
// own (functions: the roles version hashes every role, so it is computed
// only for the events that compare it; ok is false without role sync).
type eventContext struct {
	self                netip.Addr
	wasMember, isMember bool
	peerSchema          string
	peerRoles           string
	localSchema         func() string
	localRoles          func() (v string, ok bool)
}

// rebuildsRing reports whether e can change the ring, so the ring is
// recomputed before reacting to it. An endpoint going down can: a removal
// announced while it was still alive here applies once it is down.
func rebuildsRing(e gossip.Event) bool {
	switch e.Kind {
	case gossip.EventStateChanged:
		return ringState(e.Key)
	case gossip.EventAlive, gossip.EventDead, gossip.EventRemoved, gossip.EventJoined, gossip.EventRestarted:
		return true
	}
	return false
}

// ringState reports whether k is one of the states the ring is built
// from.
func ringState(k gossip.ApplicationState) bool {
	switch k {
	case gossip.AppStatus, gossip.AppTokens, gossip.AppDC, gossip.AppRack, gossip.AppRemovals:
		return true
	}
	return false
}

// reactionTo maps a gossip event to what this member does about it.
func reactionTo(e gossip.Event, x eventContext) reaction {
	switch e.Kind {
	case gossip.EventStateChanged:
		return stateChanged(e, x)
	case gossip.EventAlive:
		return reaction{markUp: true, log: info("node is up"), client: &clientEvent{change: changeUp}, notifyUp: true,
			pullSchema: x.peerSchema != "" && x.peerSchema != x.localSchema(),
			pullRoles:  x.peerRoles != "" && rolesDiffer(x, x.peerRoles)}
	case gossip.EventDead:
		return reaction{markDown: true, log: warn("node is down"), audit: &auditRecord{kind: pki.AuditStatus, reason: "DOWN"},
			client: &clientEvent{change: changeDown}}
	case gossip.EventRemoved:
		return reaction{audit: &auditRecord{kind: pki.AuditRemove, reason: "removed from gossip"},
			client: &clientEvent{topology: true, change: changeRemoved}}
	case gossip.EventClusterMismatch:
		return reaction{log: warn("ignored gossip from another cluster", "cluster", e.Value),
			audit: &auditRecord{kind: pki.AuditRefused, reason: "cluster name mismatch: " + e.Value, outcome: "refused", sender: true}}
	case gossip.EventRejected:
		if e.Endpoint == x.self && !e.From.IsValid() {
			// The local node's own value (signing, size): not a peer's doing.
			return reaction{log: warn("local gossip state refused", "reason", e.Reason)}
		}
		return reaction{log: warn("rejected gossip state", "reason", e.Reason),
			audit: &auditRecord{kind: pki.AuditRefused, reason: "gossip state rejected: " + e.Reason, outcome: "refused", sender: true}}
	case gossip.EventForged:
		return reaction{log: warn("refused a forged or unverifiable gossip state", "reason", e.Reason),
			audit: &auditRecord{kind: pki.AuditForged, reason: "gossip state refused: " + e.Reason, outcome: "refused", sender: true}}
	}
	return reaction{}
}

// stateChanged is reactionTo for a peer's changed application state: a
// peer that entered the ring is a NEW_NODE; a schema or roles version
// other than ours is pulled.
func stateChanged(e gossip.Event, x eventContext) reaction {
	if e.Endpoint == x.self {
		return reaction{}
	}
	switch {
	case ringState(e.Key) && !x.wasMember && x.isMember:
		return reaction{log: info("node joined the ring"), audit: &auditRecord{kind: pki.AuditJoin, reason: "NORMAL"},
			client: &clientEvent{topology: true, change: changeNewNode}}
	case e.Key == gossip.AppSchema:
		return reaction{pullSchema: e.Value != x.localSchema()}
	case e.Key == gossip.AppAuthVersion:
		return reaction{pullRoles: rolesDiffer(x, e.Value)}
	}
	return reaction{}
}

// rolesDiffer reports whether this node syncs roles and peer's roles
// version differs from its own.
func rolesDiffer(x eventContext, peer string) bool {
	local, ok := x.localRoles()
	return ok && peer != local
}

func info(msg string, args ...any) *logLine { return &logLine{slog.LevelInfo, msg, args} }
func warn(msg string, args ...any) *logLine { return &logLine{slog.LevelWarn, msg, args} }
