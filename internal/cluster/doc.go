// Package cluster joins the node's parts into a cluster member.
//
// What it owns, by file:
//
//   - lifecycle.go: New, Stop and the goroutines the member owns (the
//     load refresh loop, metadata pulls); the gossip runtime it drives
//     over the messaging service (gossip verbs and echo).
//   - join.go: Start: the local application states, the tokens (saved
//     ones, or allocated against the ring learned from the seeds on a
//     first start), BOOT then NORMAL, and catching up on schema and roles
//     after a join.
//   - settle.go: WaitSettled, which tells a (re)starting node when gossip
//     has marked its peers up so that it serves clients only then; the
//     ring members are saved in storage for that purpose.
//   - ringstate.go: the token ring (TokenMetadata), a pure function of
//     gossip's endpoint states (STATUS, TOKENS, DC, RACK) and of who was
//     in the ring before (incumbents keep their tokens: a token takeover
//     is refused and audited).
//   - revoked.go: Revoked, a node whose certificate was revoked leaving
//     the ring (excluded from the ring built from gossip, dropped from
//     gossip, REMOVED_NODE, audited); removenode re-replicates its data.
//   - decommission.go, removal.go, replace.go, cleanup.go: the range
//     movements an operator starts (nodetool decommission, removenode,
//     assassinate, --replace-address, cleanup), with the plans of what
//     streams where as pure functions; bootstrap.go and join.go the join.
//   - bindings.go: the identity binding (address ↔ host id ↔
//     certificate) checked on verified gossip (gossip.Binder) and saved
//     with the ring members.
//   - topology.go: the coordinator's Topology answers (Ring, IsAlive,
//     DownSince, DC, HostID, EndpointOf) and system.peers (Peers).
//   - events.go, membership.go: gossip events turned into client EVENTs
//     (STATUS_CHANGE, TOPOLOGY_CHANGE), membership audit records (refused
//     and forged gossip audited with the peer that sent it), hint replay
//     notices and metadata pulls; the mapping is a pure function
//     (reactionTo), membership.go carries it out on the member's event
//     loop.
//   - metadata.go: schema and roles sync: the gossiped versions, a push
//     to live peers on a local change, a pull from a peer whose version
//     differs, and the merge.
//   - views.go: the admin API's view of the cluster (nodetool status,
//     gossipinfo, describecluster, info), pure functions of gossip states.
//   - format.go: the TOKENS and UUID encodings gossip carries.
//   - options.go, clock.go: the configuration and the two interfaces the
//     member depends on besides storage and schema: Messenger (in
//     production *messaging.Service) and Clock (SystemClock).
//
// What it never does: it owns no sockets (messaging does), never parses
// CQL, never reads or writes table data (it only removes the data of a
// table a schema merge dropped), and never blocks gossip on a client:
// client events go through the callbacks in Options, which must not
// block.
//
// Invariants:
//
//   - Every goroutine the member starts is owned: Stop refuses new ones,
//     cancels the pulls in flight, stops gossip (whose goroutine delivers
//     the events) and waits for all of them. Verb handlers run on
//     messaging's goroutines.
//   - Every wait (join, BOOT announcement, settle, load refresh, pull
//     timeout) is measured on Options.Clock and ends early at Stop.
//   - The published ring is rebuilt whole from one gossip snapshot and
//     replaced atomically (copy-on-write TokenMetadata); rebuilds are
//     serialised, so the last one published saw the newest snapshot.
//   - Gossip's goroutine never waits for a reaction: it hands each batch
//     of events to the member's event loop (a goroutine New starts and
//     Stop ends, woken through a one-slot channel so wake-ups coalesce),
//     which rebuilds the ring at most once per batch, then reacts to each
//     event. No gossip message can stall heartbeats with ring rebuilds.
//   - Gossip states are signed by their owner and verified (Options
//     StateSigner and StateVerifier, required): no member can change
//     another's membership state.
//   - At most one schema pull per peer is under way at a time.
//   - Schema and roles converge: a local change is gossiped (version) and
//     pushed; a peer that gossips a different version is pulled from;
//     merges are commutative and idempotent (schema.Manager.Merge).
package cluster
