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
	// EventRejected: state about Endpoint was refused, or a whole message
	// from From (Endpoint is then From); Reason says why (generation skew,
	// endpoint, token, size limits). Audit-worthy.
	EventRejected
	// EventForged: state about Endpoint sent by From was unsigned, its
	// signature did not verify, or the certificate it was to be verified
	// with is not Endpoint's (Config.Verifier); it was dropped before
	// anything of it was applied. Audit-worthy: From is the sender.
	EventForged
)

var eventNames = map[EventKind]string{
	EventJoined: "joined", EventRestarted: "restarted", EventAlive: "alive", EventDead: "dead",
	EventStateChanged: "state-changed", EventRemoved: "removed",
	EventClusterMismatch: "cluster-mismatch", EventRejected: "rejected", EventForged: "forged",
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
	// Reason explains EventRejected and EventForged.
	Reason string
	// From is the peer whose message caused the event (the authenticated
	// sender given to Gossiper.Handle, not necessarily Endpoint); invalid
	// for events of the local node's own making (Tick, SetLocalState,
	// RemoveEndpoint).
	From netip.Addr
}

// String formats the event for logs.
func (e Event) String() string {
	switch e.Kind {
	case EventStateChanged:
		return fmt.Sprintf("%s %s %s=%q", e.Kind, e.Endpoint, e.Key, e.Value)
	case EventClusterMismatch:
		return fmt.Sprintf("%s %s cluster=%q", e.Kind, e.Endpoint, e.Value)
	case EventRejected, EventForged:
		if e.From.IsValid() && e.From != e.Endpoint {
			return fmt.Sprintf("%s %s from %s: %s", e.Kind, e.Endpoint, e.From, e.Reason)
		}
		return fmt.Sprintf("%s %s: %s", e.Kind, e.Endpoint, e.Reason)
	}
	return fmt.Sprintf("%s %s", e.Kind, e.Endpoint)
}
