// Package repair owns the Merkle tree bookkeeping of anti-entropy repair
// (the ideas of Cassandra's MerkleTree and Validator, in our own code): a
// Tree summarises the partitions one replica holds in one token range, two
// replicas' trees are compared with Diff to find the sub-ranges whose data
// differs, and trees travel between replicas in a versioned binary encoding
// (AppendBinary, DecodeTree).
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
// The package never does I/O, storage or networking, starts no goroutine
// and reads no clock: the storage layer supplies the digests, the repair
// coordinator ships the encodings and streams the differing ranges.
package repair
