package messaging

import "strconv"

// Verb identifies the kind of an internode message. Each verb is carried on
// one lane: urgent (gossip, echo) or bulk (everything else). The table below
// (verbTable) is the one place that maps verbs to their names and lanes;
// adding a verb touches only this file.
type Verb uint8

// The verbs of protocol version 1. Their numeric values are part of the wire
// format: never renumber, only append.
const (
	// VerbEcho is a liveness probe (Cassandra's ECHO); urgent lane.
	VerbEcho Verb = 1
	// VerbGossipSyn carries gossip digests (GOSSIP_DIGEST_SYN); urgent lane.
	VerbGossipSyn Verb = 2
	// VerbGossipAck answers a SYN with requests and states (GOSSIP_DIGEST_ACK); urgent lane.
	VerbGossipAck Verb = 3
	// VerbGossipAck2 completes a gossip round (GOSSIP_DIGEST_ACK2); urgent lane.
	VerbGossipAck2 Verb = 4
	// VerbGossipShutdown announces a node's shutdown (GOSSIP_SHUTDOWN); urgent lane.
	VerbGossipShutdown Verb = 5
	// VerbMutation applies a write on a replica (MUTATION); bulk lane.
	VerbMutation Verb = 6
	// VerbRead is a data read on a replica (READ); bulk lane.
	VerbRead Verb = 7
	// VerbReadDigest is a digest read on a replica; bulk lane.
	VerbReadDigest Verb = 8
	// VerbRangeRead is a token-range read (RANGE_SLICE); bulk lane.
	VerbRangeRead Verb = 9
	// VerbHint delivers a stored hint to its target replica (HINT); bulk lane.
	VerbHint Verb = 10
	// VerbSchemaPull asks a peer for its schema (MIGRATION_REQUEST); bulk lane.
	VerbSchemaPull Verb = 11
	// VerbSchemaPush pushes schema changes to a peer (DEFINITIONS_UPDATE); bulk lane.
	VerbSchemaPush Verb = 12
	// VerbTruncate truncates a table on a replica (TRUNCATE); bulk lane.
	VerbTruncate Verb = 13
	// VerbBatchStore stores a logged batch in a peer's batchlog
	// (BATCH_STORE); bulk lane.
	VerbBatchStore Verb = 14
	// VerbBatchRemove removes a completed batch from a peer's batchlog
	// (BATCH_REMOVE); bulk lane.
	VerbBatchRemove Verb = 15
	// VerbCRLPush hands a peer the cluster CA's current revocation list
	// (DER); the response is the peer's CRL number afterwards; bulk lane.
	VerbCRLPush Verb = 16
	// VerbCRLPull offers a peer our CRL number and asks for its list if
	// newer (empty response otherwise); bulk lane.
	VerbCRLPull Verb = 17
	// VerbStreamPull asks a peer for the next chunk of a token span's data
	// (streaming for bootstrap, removenode, replace and repair); the
	// response is the chunk; bulk lane.
	VerbStreamPull Verb = 18
	// VerbStreamRequest asks a peer to pull a list of spans (from the
	// sender or other members it names) and answers once they arrived:
	// decommission, removenode and repair move data to a receiver this way;
	// bulk lane.
	VerbStreamRequest Verb = 19
	// VerbRepairValidate asks a replica for its Merkle tree of one table
	// over one token range (Cassandra's VALIDATION_REQUEST); the response
	// is the tree; bulk lane.
	VerbRepairValidate Verb = 20
	// VerbPaxosPrepare asks a replica's acceptor for a promise on one
	// partition (Cassandra's PAXOS_PREPARE); the response is the promise
	// with the accepted proposal and the most recent commit; bulk lane.
	VerbPaxosPrepare Verb = 21
	// VerbPaxosPropose asks a replica's acceptor to accept a proposal
	// (PAXOS_PROPOSE); bulk lane.
	VerbPaxosPropose Verb = 22
	// VerbPaxosCommit applies a decided proposal on a replica
	// (PAXOS_COMMIT); bulk lane.
	VerbPaxosCommit Verb = 23
)

// lane is one of the two connections kept to every peer.
type lane uint8

const (
	laneUrgent lane = 0 // gossip and echo: small messages, never behind bulk traffic
	laneBulk   lane = 1 // mutations, reads, hints, schema, streaming
	numLanes        = 2
)

func (l lane) String() string {
	switch l {
	case laneUrgent:
		return "urgent"
	case laneBulk:
		return "bulk"
	}
	return "lane(" + strconv.Itoa(int(l)) + ")"
}

type verbInfo struct {
	name string
	lane lane
}

// verbTable maps every known verb to its name and lane. Unknown verbs have
// an empty name.
var verbTable = [256]verbInfo{
	VerbEcho:           {"ECHO", laneUrgent},
	VerbGossipSyn:      {"GOSSIP_SYN", laneUrgent},
	VerbGossipAck:      {"GOSSIP_ACK", laneUrgent},
	VerbGossipAck2:     {"GOSSIP_ACK2", laneUrgent},
	VerbGossipShutdown: {"GOSSIP_SHUTDOWN", laneUrgent},
	VerbMutation:       {"MUTATION", laneBulk},
	VerbRead:           {"READ", laneBulk},
	VerbReadDigest:     {"READ_DIGEST", laneBulk},
	VerbRangeRead:      {"RANGE_READ", laneBulk},
	VerbHint:           {"HINT", laneBulk},
	VerbSchemaPull:     {"SCHEMA_PULL", laneBulk},
	VerbSchemaPush:     {"SCHEMA_PUSH", laneBulk},
	VerbTruncate:       {"TRUNCATE", laneBulk},
	VerbBatchStore:     {"BATCH_STORE", laneBulk},
	VerbBatchRemove:    {"BATCH_REMOVE", laneBulk},
	VerbCRLPush:        {"CRL_PUSH", laneBulk},
	VerbCRLPull:        {"CRL_PULL", laneBulk},
	VerbStreamPull:     {"STREAM_PULL", laneBulk},
	VerbStreamRequest:  {"STREAM_REQUEST", laneBulk},
	VerbRepairValidate: {"REPAIR_VALIDATE", laneBulk},
	VerbPaxosPrepare:   {"PAXOS_PREPARE", laneBulk},
	VerbPaxosPropose:   {"PAXOS_PROPOSE", laneBulk},
	VerbPaxosCommit:    {"PAXOS_COMMIT", laneBulk},
}

// String returns the verb's name, or "Verb(n)" for an unknown verb.
func (v Verb) String() string {
	if n := verbTable[v].name; n != "" {
		return n
	}
	return "Verb(" + strconv.Itoa(int(v)) + ")"
}

// Known reports whether v is a verb of this protocol version.
func (v Verb) Known() bool { return verbTable[v].name != "" }

// Urgent reports whether v travels on the urgent lane (gossip and echo),
// which has its own connection per peer so bulk traffic cannot delay it.
func (v Verb) Urgent() bool { return v.Known() && verbTable[v].lane == laneUrgent }

func (v Verb) lane() lane { return verbTable[v].lane }
