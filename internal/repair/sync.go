package repair

import (
	"fmt"
	"net/netip"

	"github.com/ringdb/ringdb/internal/ring"
	"github.com/ringdb/ringdb/internal/storage"
	"github.com/ringdb/ringdb/internal/streaming"
)

// Difference is what Compare finds between two replicas' trees of one
// range.
type Difference struct {
	// Ranges are the sub-ranges to stream, in ring order from the range's
	// Start: the differing leaves, a run of them merged into one range
	// when only leaves that are empty on both sides lie between them (no
	// data there, so streaming the gap costs nothing).
	Ranges []ring.Range
	// PartitionsA and PartitionsB count the partitions each tree holds in
	// the differing leaves.
	PartitionsA, PartitionsB uint64
}

// Compare returns the sub-ranges of the common range where trees a and b
// differ (see Difference) and the partitions each holds there. The trees
// must have the same range and depth (else an error wrapping ErrShape); it
// seals both. Identical trees give a zero Difference.
func Compare(a, b *Tree) (Difference, error) {
	if a == nil || b == nil || a.rng != b.rng || a.depth != b.depth {
		_, err := Diff(a, b) // names the mismatch
		return Difference{}, err
	}
	a.Finish()
	b.Finish()
	var d Difference
	leaves := a.diffNode(b, 1, nil)
	for k := 0; k < len(leaves); {
		first, last := leaves[k], leaves[k]
		d.PartitionsA += a.leafCount[last]
		d.PartitionsB += b.leafCount[last]
		for k++; k < len(leaves) && a.emptyBetween(last, leaves[k]); k++ {
			last = leaves[k]
			d.PartitionsA += a.leafCount[last]
			d.PartitionsB += b.leafCount[last]
		}
		d.Ranges = append(d.Ranges, ring.Range{Start: a.token(a.bound(first)), End: a.token(a.bound(last + 1))})
	}
	return d, nil
}

// emptyBetween reports whether every leaf strictly between leaves i and j
// (i < j) holds no partition. The caller knows those leaves are equal in
// both trees, so one tree's counts answer for both.
func (t *Tree) emptyBetween(i, j int) bool {
	for k := i + 1; k < j; k++ {
		if t.leafCount[k] != 0 {
			return false
		}
	}
	return true
}

// Sync is one pair of replicas whose trees of a range differ, and what they
// exchange: A pulls the differing sub-ranges from B and B pulls them from
// A, so both hold the union afterwards (Cassandra's SyncTask).
type Sync struct {
	// A and B are the two replicas, in the order of the session's
	// replicas.
	A, B netip.Addr
	Difference
}

// Syncs compares the trees of one range, trees[i] being replicas[i]'s,
// pairwise and returns a Sync for every pair that differs, in the order of
// the replicas (pair (0,1), (0,2), ..., (1,2), ...). Pairs with equal trees
// stream nothing.
func Syncs(replicas []netip.Addr, trees []*Tree) ([]Sync, error) {
	if len(replicas) != len(trees) {
		return nil, fmt.Errorf("repair: %d trees for %d replicas", len(trees), len(replicas))
	}
	var out []Sync
	for i := range replicas {
		for j := i + 1; j < len(replicas); j++ {
			d, err := Compare(trees[i], trees[j])
			if err != nil {
				return nil, fmt.Errorf("repair: trees of %s and %s: %w", replicas[i], replicas[j], err)
			}
			if len(d.Ranges) > 0 {
				out = append(out, Sync{A: replicas[i], B: replicas[j], Difference: d})
			}
		}
	}
	return out, nil
}

// Transfers returns the streaming transfers that pull ranges rs of table
// from replica from: the token spans of each range (two for a range that
// wraps), in order.
func Transfers(table storage.TableID, from netip.Addr, rs []ring.Range) []streaming.Transfer {
	var out []streaming.Transfer
	for _, r := range rs {
		for _, sp := range streaming.Spans(table, r) {
			out = append(out, streaming.Transfer{Peer: from, Span: sp})
		}
	}
	return out
}
