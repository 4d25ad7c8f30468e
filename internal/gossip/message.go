package gossip

import (
	"fmt"
	"net/netip"
)

// MessageKind is the verb of a gossip Message.
type MessageKind uint8

// Message kinds. The numeric values are part of the wire format.
const (
	// KindSyn is GOSSIP_DIGEST_SYN: the sender's digests.
	KindSyn MessageKind = iota + 1
	// KindAck is GOSSIP_DIGEST_ACK: digests requested plus newer states.
	KindAck
	// KindAck2 is GOSSIP_DIGEST_ACK2: the states the ACK requested.
	KindAck2
	// KindEchoRequest asks the receiver to prove it is up.
	KindEchoRequest
	// KindEchoResponse answers an EchoRequest.
	KindEchoResponse
	// KindShutdown is GOSSIP_SHUTDOWN: the sender is shutting down; it
	// carries the sender's own signed state (STATUS shutdown).
	KindShutdown
)

// String returns the kind's name, e.g. "SYN".
func (k MessageKind) String() string {
	switch k {
	case KindSyn:
		return "SYN"
	case KindAck:
		return "ACK"
	case KindAck2:
		return "ACK2"
	case KindEchoRequest:
		return "ECHO_REQ"
	case KindEchoResponse:
		return "ECHO_RSP"
	case KindShutdown:
		return "SHUTDOWN"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Message is one gossip message. To is the destination (not encoded; the
// transport addresses it); exactly the body matching Kind is set.
type Message struct {
	To       netip.Addr
	Kind     MessageKind
	Syn      *Syn
	Ack      *Ack
	Ack2     *Ack2
	Shutdown *Shutdown
}

// Syn opens a gossip round (Cassandra's GossipDigestSyn).
type Syn struct {
	ClusterName string
	Digests     []GossipDigest
}

// Ack answers a Syn (Cassandra's GossipDigestAck): Digests are the states
// the responder wants (send everything newer than MaxVersion), States are
// the states the responder has newer than the Syn's digests.
type Ack struct {
	Digests []GossipDigest
	States  []GossipState
}

// Ack2 completes a round (Cassandra's GossipDigestAck2) with the states the
// Ack requested.
type Ack2 struct {
	States []GossipState
}

// Shutdown announces the sender's shutdown with its own state (signed
// STATUS shutdown,true at its newest version), so that receivers apply and
// relay it like any other state of the sender.
type Shutdown struct {
	States []GossipState
}

// GossipState is one endpoint's state (or the part newer than some version)
// as it travels: only HeartBeat and States are meaningful.
type GossipState struct {
	Endpoint netip.Addr
	State    EndpointState
}
