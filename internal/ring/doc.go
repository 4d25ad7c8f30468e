// Package ring owns token placement: Cassandra's Murmur3Partitioner token
// function (identical to Cassandra's, so token-aware drivers route to the
// right replicas), and, as it grows, token metadata, vnodes and replication
// strategies.
//
// It must never do I/O or know about CQL; it maps partition keys (their
// serialized bytes) to tokens and tokens to endpoints.
package ring
