// Package ring owns token placement: Cassandra's Murmur3Partitioner token
// function (identical to Cassandra's, so token-aware drivers route to the
// right replicas), token metadata (TokenMetadata: NORMAL and bootstrapping
// endpoints with their tokens, datacenters and racks), token allocation for
// joining nodes (AllocateTokens), and replication strategies
// (SimpleStrategy, NetworkTopologyStrategy, LocalStrategy) with pending
// replicas and ownership.
//
// It must never do I/O or know about CQL; it maps partition keys (their
// serialized bytes) to tokens and tokens to endpoints.
//
// Invariants:
//   - A TokenMetadata is an immutable snapshot; changes return a new one, so
//     readers never lock. A token belongs to at most one endpoint, NORMAL or
//     pending.
//   - A Range is (Start, End], wrapping when Start >= End; Start == End is
//     the whole ring.
//   - Replica placement depends only on a token's ring position (the first
//     ring token >= t, wrapping), so strategies cache one replica list per
//     ring token and snapshot; slices returned by NaturalEndpoints are shared
//     and must not be modified.
package ring
