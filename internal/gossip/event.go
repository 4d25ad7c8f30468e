package gossip

import (
	"fmt"
	"net/netip"
)

// EventKind says what an Event reports.
type EventKind uint8

// Event kinds.
const (
	// EventJoined: an endpoint was seen for the first time (not yet alive).
	EventJoined EventKind = iota + 1
	// EventRestarted: a known endpoint came back with a newer generation;
	// it is not alive until it answers an echo.
	EventRestarted
	// EventAlive: an endpoint answered an echo and is now up.
	EventAlive
	// EventDead: an endpoint was convicted by the failure detector or
	// announced its shutdown.
	EventDead
	// EventStateChanged: application state Key of Endpoint changed to Value.
	EventStateChanged
	// EventRemoved: an endpoint was removed (RemoveEndpoint, or its LEFT or
	// removed status expired) and is quarantined.
	EventRemoved
	// EventClusterMismatch: a SYN from Endpoint named cluster Value; it was
	// ignored. Audit-worthy.
	EventClusterMismatch
	// EventRejected: state about Endpoint was refused; Reason says why
	// (generation skew, endpoint limit, state size). Audit-worthy.
	EventRejected
)

var eventNames = map[EventKind]string{
	EventJoined: "joined", EventRestarted: "restarted", EventAlive: "alive", EventDead: "dead",
	EventStateChanged: "state-changed", EventRemoved: "removed",
	EventClusterMismatch: "cluster-mismatch", EventRejected: "rejected",
}

// String returns a lower-case name such as "alive".
func (k EventKind) String() string {
	if s, ok := eventNames[k]; ok {
		return s
	}
	return fmt.Sprintf("event(%d)", uint8(k))
}

// Event is a membership change the runtime hands to subscribers (ring,
// coordinator, audit log).
type Event struct {
	Kind     EventKind
	Endpoint netip.Addr
	// Key and Value are set for EventStateChanged; Value holds the foreign
	// cluster name for EventClusterMismatch.
	Key   ApplicationState
	Value string
	// Reason explains EventRejected.
	Reason string
}

// String formats the event for logs.
func (e Event) String() string {
	switch e.Kind {
	case EventStateChanged:
		return fmt.Sprintf("%s %s %s=%q", e.Kind, e.Endpoint, e.Key, e.Value)
	case EventClusterMismatch:
		return fmt.Sprintf("%s %s cluster=%q", e.Kind, e.Endpoint, e.Value)
	case EventRejected:
		return fmt.Sprintf("%s %s: %s", e.Kind, e.Endpoint, e.Reason)
	}
	return fmt.Sprintf("%s %s", e.Kind, e.Endpoint)
}
