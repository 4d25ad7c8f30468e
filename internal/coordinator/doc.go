// Package coordinator is ringdb's StorageProxy: any node coordinates any
// request. Writes go to every replica of the partition (natural plus
// pending) and wait for the consistency level; down or timed-out replicas
// get hints, stored durably and replayed when the replica is back. Reads
// send one data request and digest requests, and on a mismatch read full
// data from every contacted replica, reconcile it, and repair the stale
// replicas before answering (blocking read repair). Range reads walk the
// token ring range by range.
//
// The package also serves the replica side of those verbs. It never parses
// CQL and never touches sockets: it talks to other nodes through the
// Messenger interface (internal/messaging) and learns the ring and liveness
// through the Topology interface (gossip + token metadata). The consistency
// bookkeeping (block-for, received, per-DC counts) is a plain type tested
// without a network.
package coordinator
