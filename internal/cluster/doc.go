// Package cluster joins the node's parts into a cluster member: it runs
// gossip over the messaging service, keeps the token ring (TokenMetadata)
// in step with gossiped STATUS/TOKENS/DC/RACK, answers the coordinator's
// Topology questions (ring, liveness, DC, host ids), propagates schema
// (gossiped version, push on change, pull on mismatch, merge), lists peers
// for system.peers, turns membership changes into client EVENTs and
// membership audit records, and implements the admin API's view of the
// cluster (nodetool). WaitSettled tells a (re)starting node when gossip has
// marked its peers up, so that it serves clients only then; the ring
// members are saved in storage for that purpose.
//
// It owns no sockets itself (messaging does) and never parses CQL.
package cluster
