// Package coordinator is ringdb's StorageProxy: any node coordinates any
// request. Writes go to every replica of the partition (natural plus
// pending) and wait for the consistency level; down or timed-out replicas
// get hints, stored durably and replayed when the replica is back. Reads
// send one data request and digest requests, and on a mismatch read full
// data from every contacted replica, reconcile it, and repair the stale
// replicas before answering (blocking read repair). Range reads walk the
// token ring range by range.
//
// Files: write.go (the write path and hints for failed replicas),
// read.go (single-partition reads, digests, read repair), range.go (range
// scans page by page with range read repair), batchlog.go, hints.go
// (replay), truncate.go, replica.go (the replica side of every verb),
// consistency.go (block-for and the response tracker), lifecycle.go
// (request admission, owned goroutines, timeouts, Stop).
//
// Invariants: a client request's context flows to every replica request
// it makes, so a client that goes away cancels the reads it started (a
// write already sent is not withdrawn: it completes or is hinted within
// the write timeout). Every goroutine is started through goOwned and every
// request is admitted through begin, so Stop — which cancels them — returns
// only when none is left and the engine can be closed. Every timeout is
// measured on Options.Clock.
//
// The package also serves the replica side of those verbs. It never parses
// CQL and never touches sockets: it talks to other nodes through the
// Messenger interface (internal/messaging) and learns the ring and liveness
// through the Topology interface (gossip + token metadata). The consistency
// bookkeeping (block-for, received, per-DC counts) is a plain type tested
// without a network.
package coordinator
