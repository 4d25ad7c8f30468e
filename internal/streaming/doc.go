// Package streaming moves the data of token spans between replicas over
// the bulk lane of port 7000: what bootstrap, removenode, replace and
// repair are built on (Cassandra's streaming).
//
// # Protocol
//
// Streaming is pulled by the receiver, one chunk at a time (verb
// STREAM_PULL): the request names a span (table and inclusive tokens), the
// resume key (the last key received, nil at the start) and the chunk size;
// the source answers with the next stored pairs after the resume key, at
// most about that many bytes, whether more follow, and a CRC-32C of the
// pairs. The receiver checks the checksum, validates every pair
// (storage.ImportSpan: the key lies in the span, in order, the value
// decodes) and applies the chunk atomically before asking for the next.
//
// # Invariants
//
//   - Memory does not grow with the data: one chunk per stream is in
//     flight, bounded by MaxChunkBytes, and the source sends only when
//     asked (back-pressure is the request itself).
//   - Data keeps its write timestamps, TTLs and tombstones: pairs are the
//     storage engine's own reconciled fragments, applied as merges, so a
//     streamed pair can only lose to newer data, never overwrite it.
//   - A failure is restartable: applied chunks stay applied and are
//     idempotent, a failed chunk is asked for again from the same resume
//     key, and an operation that gave up can simply be run again.
//   - The source throttles what it sends to all receivers together to
//     stream_throughput_outbound, and serves only admitted members.
//   - Decoders never panic, check every length before allocating, and
//     refuse trailing bytes (fuzzed).
//
// The package never decides what to stream: the cluster layer plans the
// transfers (which spans, from which replica) from the ring.
package streaming
