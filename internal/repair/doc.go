// Package repair owns anti-entropy repair, `nodetool repair` (the ideas of
// Cassandra's MerkleTree, Validator, RepairSession and SyncTask, in our own
// code): a Tree summarises the partitions one replica holds in one token
// range, two replicas' trees are compared with Diff to find the sub-ranges
// whose data differs, trees travel between replicas in a versioned binary
// encoding (AppendBinary, DecodeTree), and the Service builds trees for its
// peers (verb REPAIR_VALIDATE) and coordinates repairs: for every range and
// table, every replica's tree, then the differing sub-ranges streamed both
// ways between each pair of replicas that differ.
//
// # Shape
//
// A Tree covers one ring.Range (Start, End] (wrapping when Start >= End,
// the whole ring when Start == End) and has a fixed depth d: 2^d leaves
// split the range's tokens, counted from Start in ring order, into 2^d
// contiguous sub-ranges whose widths differ by at most one token. Leaf i
// holds the tokens at offsets (floor(i*W/2^d), floor((i+1)*W/2^d)] from
// Start, where W is the range's width (2^64 for the whole ring), computed
// with unsigned 64-bit (and 128-bit intermediate) arithmetic. A range
// narrower than 2^d tokens is valid: some of its leaves then hold no token
// (zero width); they stay empty and never appear in a Diff.
//
// # Hashes
//
// A replica scans the range in ring order starting after Start and calls
// Add once per partition with its token and a content digest. A leaf's
// hash is SHA-256 over the byte 0x00 followed by, for each of its
// partitions in order, the token (8 bytes big-endian), the digest's length
// (8 bytes big-endian) and the digest; a leaf with no partition has the
// all-zero hash. A leaf also counts its partitions. An internal node's hash
// is SHA-256 over the byte 0x01 and its two children's hashes. Two leaves
// are equal when both their hashes and their counts are equal.
//
// # Invariants
//
//   - Tokens are added strictly increasing in ring order from Start; a
//     token outside the range or not after the previous one is refused, so
//     a tree's content depends only on the partitions, never on the scan.
//     Partitions sharing a token (distinct keys whose tokens collide) must
//     be folded into one digest by the caller.
//   - A tree is sealed by Finish (or by Root, Diff or AppendBinary, which
//     call it): the internal hashes are computed once and no Add follows.
//     A Tree is not safe for concurrent use until it is sealed; a sealed
//     tree's methods may then be called from several goroutines.
//   - The depth is bounded by MaxDepth, so a tree, its encoding and a
//     decoded tree never exceed a known size (see EncodedLen).
//   - DecodeTree faces the network: it checks the version and the depth
//     bound before allocating, requires the exact length, validates every
//     leaf (a count never exceeds its leaf's width, a hash is zero exactly
//     when its count is zero) and never panics (fuzzed). A tree that
//     decodes re-encodes to the same bytes.
//
// # Layers
//
// The core is pure: the tree (merkle.go, wire.go), the plan of a repair
// command (plan.go: which keyspaces, tables, ranges and replicas, with -pr
// only the ranges this node is the primary replica of) and the comparison
// of a range's trees (sync.go: which pairs stream which sub-ranges) do no
// I/O, start no goroutine and read no clock. The edge (service.go,
// validate.go, coordinator.go) scans storage, sends REPAIR_VALIDATE and
// drives the streaming service; its goroutines all end before the call
// that started them returns.
//
// # Repair invariants
//
//   - A validation scans the range in bounded batches (storage.ScanRaw):
//     memory holds the tree and one partition, never the range's data. At
//     most Options.MaxValidations run at once on a node, so repair cannot
//     starve it; only admitted members may ask, and only for tables of the
//     node's schema.
//   - Repair only streams: the storage engine's raw pairs are merged on the
//     receiver (newest cell wins, tombstones carried with their timestamps),
//     so streaming the same range twice, or more than needed, is harmless,
//     and a deleted row is never resurrected: the tombstone travels, and gc
//     purges it only after gc_grace_seconds. Concurrent writes are safe:
//     trees built at different moments only cause extra streaming.
//   - A range with a replica down fails with "repair: replica X is down",
//     as Cassandra refuses; the other ranges are repaired and the command
//     fails at the end.
package repair
