package repair

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"math/bits"

	"github.com/ringdb/ringdb/internal/ring"
)

const (
	// DefaultDepth is the depth repair uses when nothing else is asked for:
	// 4096 leaves, about 288 KiB per tree in memory (leaf hashes and counts
	// plus internal hashes) and 160 KiB encoded.
	DefaultDepth = 12

	// MaxDepth bounds a tree's depth: 2^20 leaves, about 72 MiB in memory
	// and 40 MiB encoded. NewTree and DecodeTree refuse deeper trees.
	MaxDepth = 20

	// HashSize is the size of a leaf or node hash (SHA-256).
	HashSize = sha256.Size
)

const (
	leafPrefix = 0x00 // first byte hashed into a non-empty leaf
	nodePrefix = 0x01 // first byte hashed into an internal node
)

var (
	// ErrTokenRange reports a token added outside the tree's range.
	ErrTokenRange = errors.New("token outside the tree's range")
	// ErrTokenOrder reports a token added not after the previous one in
	// ring order from the range's Start.
	ErrTokenOrder = errors.New("token not after the previous token in ring order")
	// ErrFinished reports an Add to a sealed tree.
	ErrFinished = errors.New("tree already finished")
	// ErrShape reports trees of different ranges or depths given to Diff.
	ErrShape = errors.New("trees of different shape")
)

// Tree is a Merkle tree over the partitions of one token range: see the
// package documentation for its shape and hashes. The zero Tree is not
// usable; build one with NewTree or DecodeTree.
type Tree struct {
	rng   ring.Range
	depth int
	whole bool   // rng is the whole ring (Start == End)
	width uint64 // tokens in rng; unused (0) when whole

	leafHash  [][HashSize]byte // per leaf; zero for an empty leaf
	leafCount []uint64         // partitions per leaf
	nodes     [][HashSize]byte // internal nodes in heap order (root at 1); nil until sealed
	total     uint64           // partitions in the tree

	sealed  bool
	h       hash.Hash // hasher of the open leaf; nil once sealed
	open    bool      // h holds leaf cur's partitions so far
	cur     int       // leaf of the last added token
	added   bool      // at least one token was added
	lastPos uint64    // position (see pos) of the last added token
	lastTok ring.Token
	scratch [16]byte // entry header, kept here so hashing does not allocate
}

// NewTree returns an empty tree over r with 2^depth leaves; depth must lie
// in [0, MaxDepth] (DefaultDepth when in doubt).
func NewTree(r ring.Range, depth int) (*Tree, error) {
	if depth < 0 || depth > MaxDepth {
		return nil, fmt.Errorf("repair: tree depth %d out of [0, %d]", depth, MaxDepth)
	}
	n := 1 << depth
	return &Tree{
		rng:       r,
		depth:     depth,
		whole:     r.Start == r.End,
		width:     uint64(r.End) - uint64(r.Start),
		leafHash:  make([][HashSize]byte, n),
		leafCount: make([]uint64, n),
		h:         sha256.New(),
	}, nil
}

// Range returns the token range the tree covers.
func (t *Tree) Range() ring.Range { return t.rng }

// Depth returns the tree's depth: it has 2^Depth leaves.
func (t *Tree) Depth() int { return t.depth }

// Leaves returns the number of leaves, 2^Depth.
func (t *Tree) Leaves() int { return len(t.leafHash) }

// Count returns the number of partitions added (or decoded).
func (t *Tree) Count() uint64 { return t.total }

// LeafCount returns the number of partitions in leaf i. It panics if i is
// not in [0, Leaves()).
func (t *Tree) LeafCount(i int) uint64 { return t.leafCount[i] }

// Leaf returns the token range of leaf i, and false when that leaf has zero
// width (a range narrower than 2^Depth tokens): such a leaf holds no token,
// and its returned Range{x, x} must not be read as the whole ring. It
// panics if i is not in [0, Leaves()).
func (t *Tree) Leaf(i int) (ring.Range, bool) {
	_ = t.leafHash[i] // bounds check
	lo, hi := t.bound(i), t.bound(i+1)
	return ring.Range{Start: t.token(lo), End: t.token(hi)}, t.whole || lo != hi
}

// bound returns the offset from Start of the start of leaf i, for i in
// [0, Leaves()]: floor(i*W/2^depth), modulo 2^64 (so bound(Leaves()) is 0
// for the whole ring).
func (t *Tree) bound(i int) uint64 {
	if t.whole {
		return uint64(i) << (64 - t.depth) // W = 2^64; a shift by 64 gives 0
	}
	hi, lo := bits.Mul64(uint64(i), t.width)
	return hi<<(64-t.depth) | lo>>t.depth
}

// leafHolds reports whether leaf i, of width bound(i+1)-bound(i), can hold
// c partitions (at most one per token).
func (t *Tree) leafHolds(i int, c uint64) bool {
	if t.whole && t.depth == 0 {
		return true // width 2^64 exceeds any count
	}
	return c <= t.bound(i+1)-t.bound(i)
}

// token returns the token at offset off from Start.
func (t *Tree) token(off uint64) ring.Token {
	return ring.Token(uint64(t.rng.Start) + off)
}

// pos returns the position of token in ring order from Start: 0 for
// Start+1, up to W-1 for End. The token must lie in the range.
func (t *Tree) pos(token ring.Token) uint64 {
	return uint64(token) - uint64(t.rng.Start) - 1
}

// leafOf returns the leaf holding position p: the largest i with
// bound(i) <= p, that is ceil((p+1)*2^depth/W) - 1.
func (t *Tree) leafOf(p uint64) int {
	if t.whole {
		return int(p >> (64 - t.depth))
	}
	// (p+1)*2^depth as 128 bits; p+1 <= W < 2^64, so hi < W and Div64 is safe.
	q1 := p + 1
	hi, lo := q1>>(64-t.depth), q1<<t.depth
	q, rem := bits.Div64(hi, lo, t.width)
	if rem == 0 {
		return int(q - 1)
	}
	return int(q)
}

// Add adds one partition, its token and its content digest. Tokens must
// lie in the range and arrive strictly increasing in ring order from the
// range's Start; otherwise Add returns an error wrapping ErrTokenRange or
// ErrTokenOrder and the tree is unchanged. Add on a sealed tree returns an
// error wrapping ErrFinished.
func (t *Tree) Add(token ring.Token, digest []byte) error {
	if t.sealed {
		return fmt.Errorf("repair: add token %d: %w", token, ErrFinished)
	}
	if !t.rng.Contains(token) {
		return fmt.Errorf("repair: add token %d to range %v: %w", token, t.rng, ErrTokenRange)
	}
	p := t.pos(token)
	if t.added && p <= t.lastPos {
		return fmt.Errorf("repair: add token %d after token %d in range %v: %w",
			token, t.lastTok, t.rng, ErrTokenOrder)
	}
	i := t.leafOf(p)
	if !t.open || i != t.cur {
		t.closeLeaf()
		t.h.Reset()
		t.scratch[0] = leafPrefix
		t.h.Write(t.scratch[:1])
		t.cur, t.open = i, true
	}
	binary.BigEndian.PutUint64(t.scratch[:8], uint64(token))
	binary.BigEndian.PutUint64(t.scratch[8:], uint64(len(digest)))
	t.h.Write(t.scratch[:])
	t.h.Write(digest)
	t.leafCount[i]++
	t.total++
	t.added, t.lastPos, t.lastTok = true, p, token
	return nil
}

// closeLeaf stores the open leaf's hash, if a leaf is open.
func (t *Tree) closeLeaf() {
	if t.open {
		t.h.Sum(t.leafHash[t.cur][:0])
		t.open = false
	}
}

// Finish seals the tree: it computes the internal hashes, after which Add
// fails. Finish is idempotent; Root, Diff and AppendBinary call it.
func (t *Tree) Finish() {
	if t.sealed {
		return
	}
	t.closeLeaf()
	t.h = nil
	t.computeNodes()
	t.sealed = true
}

// computeNodes fills t.nodes bottom-up from the leaf hashes.
func (t *Tree) computeNodes() {
	n := len(t.leafHash)
	t.nodes = make([][HashSize]byte, n)
	h := sha256.New()
	prefix := []byte{nodePrefix}
	for i := n - 1; i >= 1; i-- {
		h.Reset()
		h.Write(prefix)
		l, r := t.nodeHash(2*i), t.nodeHash(2*i+1)
		h.Write(l[:])
		h.Write(r[:])
		h.Sum(t.nodes[i][:0])
	}
}

// nodeHash returns the hash of heap node j: internal for j < Leaves(),
// leaf j-Leaves() otherwise.
func (t *Tree) nodeHash(j int) *[HashSize]byte {
	if n := len(t.leafHash); j >= n {
		return &t.leafHash[j-n]
	}
	return &t.nodes[j]
}

// Root seals the tree (see Finish) and returns its root hash.
func (t *Tree) Root() [HashSize]byte {
	t.Finish()
	return *t.nodeHash(1)
}

// SizeBytes returns the memory the tree holds, in bytes: its hashes and
// counts (internal hashes once sealed) plus fixed overhead.
func (t *Tree) SizeBytes() int {
	const treeOverhead = 256 // struct and, while building, the open hasher
	return treeOverhead + (len(t.leafHash)+len(t.nodes))*HashSize + len(t.leafCount)*8
}

// Diff returns the sub-ranges of the common range where trees a and b
// differ, in ring order from the range's Start, adjacent differing leaves
// merged into one range. It descends from the root only into differing
// subtrees; leaves differ when their hashes or counts differ. The trees
// must have the same range and depth (else an error wrapping ErrShape).
// Diff seals both trees. Identical trees give an empty (nil) result.
func Diff(a, b *Tree) ([]ring.Range, error) {
	if a == nil || b == nil {
		return nil, fmt.Errorf("repair: diff of a nil tree: %w", ErrShape)
	}
	if a.rng != b.rng || a.depth != b.depth {
		return nil, fmt.Errorf("repair: diff of range %v depth %d with range %v depth %d: %w",
			a.rng, a.depth, b.rng, b.depth, ErrShape)
	}
	a.Finish()
	b.Finish()
	return a.mergeLeaves(a.diffNode(b, 1, nil)), nil
}

// diffNode appends to out, in ascending order, the leaves under heap node
// j that differ between t and o.
func (t *Tree) diffNode(o *Tree, j int, out []int) []int {
	if *t.nodeHash(j) == *o.nodeHash(j) {
		if n := len(t.leafHash); j < n || t.leafCount[j-n] == o.leafCount[j-n] {
			return out
		}
	}
	if n := len(t.leafHash); j >= n {
		return append(out, j-n)
	}
	out = t.diffNode(o, 2*j, out)
	return t.diffNode(o, 2*j+1, out)
}

// mergeLeaves turns ascending leaf indices into ranges, merging runs of
// adjacent leaves.
func (t *Tree) mergeLeaves(leaves []int) []ring.Range {
	var out []ring.Range
	for k := 0; k < len(leaves); {
		first, last := leaves[k], leaves[k]
		for k++; k < len(leaves) && leaves[k] == last+1; k++ {
			last = leaves[k]
		}
		out = append(out, ring.Range{Start: t.token(t.bound(first)), End: t.token(t.bound(last + 1))})
	}
	return out
}
