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
// Invariants:
//   - an endpoint is reported alive only after it answered an EchoRequest;
//   - states from a newer generation replace the whole endpoint state; within
//     a generation, heartbeat and application states merge by version;
//   - states about the local node received from peers are never applied;
//   - a SYN from another cluster is ignored (EventClusterMismatch);
//   - bounded: endpoints (Config.MaxEndpoints), state bytes per endpoint
//     (Config.MaxStateBytes), generation skew (one year, Cassandra's
//     MAX_GENERATION_DIFFERENCE), and every count and length on the wire.
//
// The package never parses CQL, never opens connections and never
// authenticates peers: the messaging layer tells it who sent a message.
package gossip
