// Package gossip implements Cassandra's gossip protocol and phi-accrual
// failure detector for ringdb.
//
// It owns the endpoint-state table (per endpoint a HeartBeatState and
// versioned ApplicationStates), the SYN -> ACK -> ACK2 digest/delta exchange,
// "echo before marking a node up", shutdown announcements, and the
// phi-accrual FailureDetector that convicts silent peers.
//
// The core is a pure state machine (STYLE.md 2): Gossiper and
// FailureDetector take the current time as an argument, draw randomness from
// an injected *rand.Rand, start no goroutines and touch no sockets. Inputs are
// Gossiper.Tick (once per gossip interval) and Gossiper.Handle (one received
// Message); outputs are the Messages those calls return and the Events
// drained with Gossiper.Events. Iteration over maps is always in sorted
// order, so a simulation with a fixed seed replays exactly.
//
// Runtime is the thin I/O edge: it owns the ticker goroutine, serialises all
// access to the Gossiper with a mutex, encodes messages with Message.Marshal
// and hands them to a Transport (ringdb's messaging layer), and delivers
// Events to subscribers on its own goroutine.
//
// Owner-signed state (sign.go, docs/decisions/010-owner-signed-gossip.md):
// every endpoint signs its heartbeat and each application state with its
// own key (Config.Signer) and gossips its certificate as CERT; the
// signatures travel with the values, so states still spread epidemically
// through any peer, and a receiver verifies each against its owner's
// certificate (Config.Verifier) before applying anything. Only an endpoint
// can change its own generation, STATUS, TOKENS, HOST_ID, DC, RACK or
// schema and roles versions.
//
// Invariants:
//   - an endpoint is reported alive only after it answered an EchoRequest;
//   - states from a newer generation replace the whole endpoint state; within
//     a generation, heartbeat and application states merge by version;
//   - with a Verifier, nothing is applied that its owner did not sign:
//     unsigned, forged or unverifiable states are dropped and reported as
//     EventForged carrying the sending peer (Event.From); after a forgery
//     the rest of the message is dropped;
//   - states about the local node received from peers are never applied
//     (one newer than the local node's own is reported as forged);
//   - a SYN from another cluster is ignored (EventClusterMismatch);
//   - bounded before anything is applied: endpoints not known before per
//     message (Config.MaxNewEndpoints), tokens per endpoint
//     (Config.MaxTokens), state bytes per endpoint (Config.MaxStateBytes)
//     and per message (Config.MaxMessageBytes) refuse a message whole;
//     endpoints (Config.MaxEndpoints), generations ahead of local time
//     (Config.MaxGenerationSkew, 10 minutes) or of the known generation (one
//     year, Cassandra's MAX_GENERATION_DIFFERENCE), and every count and
//     length on the wire, signatures included.
//
// The package never parses CQL, never opens connections and never
// authenticates peers: the messaging layer tells it who sent a message
// (Handle's from), and the Verifier decides whose key a state must carry.
package gossip
