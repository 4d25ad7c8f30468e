package storage

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// genOpts shapes randMutations.
type genOpts struct {
	// uniqueExpiringTS gives every expiring cell a timestamp no other cell
	// has, which rules out the one reconciliation whose outcome depends on
	// when the merge runs (a timestamp tie with a version that expires).
	uniqueExpiringTS bool
	// oldDeletions spreads deletion times before t0 (for gc_grace tests).
	oldDeletions bool
}

var genClusterings = [][]byte{ck("a", "1"), ck("a", "2"), ck("b", "1"), ck("b", "2"), ck("c", "1"), ck("d", "1")}

var genBounds = []Bound{
	unb, incl(ck("a")), excl(ck("a")), incl(ck("b")), excl(ck("b")), incl(ck("b", "1")), excl(ck("b", "2")),
	incl(ck("c")), excl(ck("c", "1")), incl(ck("d")),
}

// genQueries are valid PartitionQuery slice sets (sorted, disjoint).
var genQueries = [][]Slice{
	nil,
	{},
	{{Start: incl(ck("b")), End: unb}},
	{{Start: unb, End: excl(ck("b"))}, {Start: incl(ck("c")), End: unb}},
	{{Start: excl(ck("a")), End: incl(ck("b", "1"))}},
	{{Start: incl(ck("a", "2")), End: incl(ck("a", "2"))}, {Start: excl(ck("b")), End: incl(ck("c"))}},
	{{Start: incl(ck("b")), End: excl(ck("a"))}}, // empty
}

func randQuery(rng *rand.Rand) PartitionQuery {
	return PartitionQuery{
		Slices:   genQueries[rng.IntN(len(genQueries))],
		Reversed: rng.IntN(2) == 0,
		Static:   rng.IntN(3) != 0,
		Limit:    rng.IntN(4),
	}
}

// randMutations returns random mutations of partition pk of tbl with
// timestamps from a small range, so that ties are frequent.
func randMutations(rng *rand.Rand, o genOpts) []*Mutation {
	uniq := int64(1000)
	ts := func() int64 { return rng.Int64N(6) + 1 }
	ldt := func() int64 {
		if o.oldDeletions {
			return t0Sec - rng.Int64N(12)
		}
		return t0Sec - rng.Int64N(3)
	}
	dt := func() DeletionTime { return DeletionTime{MarkedForDeleteAt: ts(), LocalDeletionTime: ldt()} }
	randCell := func() Cell {
		c := Cell{Column: uint32(rng.IntN(3)) + 1, Timestamp: ts()}
		if c.Column == 3 {
			c.Path = []byte{byte('p' + rng.IntN(3))}
		}
		switch rng.IntN(5) {
		case 0:
			c.Tombstone, c.LocalDeletionTime = true, ldt()
		case 1:
			c.Value, c.TTL, c.ExpiresAt = []byte{byte('a' + rng.IntN(3))}, 10, t0Sec+rng.Int64N(6)+1
			if o.uniqueExpiringTS {
				uniq++
				c.Timestamp = uniq
			}
		default:
			c.Value = []byte{byte('a' + rng.IntN(3))}
		}
		return c
	}
	randRow := func(static bool) RowUpdate {
		ru := RowUpdate{Static: static}
		if !static {
			ru.Clustering = genClusterings[rng.IntN(len(genClusterings))]
			if rng.IntN(3) == 0 {
				ru.Liveness = LivenessInfo{Timestamp: ts()}
				if rng.IntN(3) == 0 {
					ru.Liveness.TTL, ru.Liveness.ExpiresAt = 10, t0Sec+rng.Int64N(6)+1
				}
			}
			if rng.IntN(5) == 0 {
				ru.Deletion = dt()
			}
		}
		if rng.IntN(6) == 0 {
			ru.ComplexDeletions = []ComplexDeletion{{Column: 3, Deletion: dt()}}
		}
		for range rng.IntN(4) {
			ru.Cells = append(ru.Cells, randCell())
		}
		return ru
	}
	var ms []*Mutation
	for range 1 + rng.IntN(5) {
		m := &Mutation{Table: tbl, Token: 1, Key: pk}
		if rng.IntN(8) == 0 {
			m.PartitionDeletion = dt()
		}
		for range rng.IntN(2) {
			if rng.IntN(3) == 0 {
				m.RangeTombstones = append(m.RangeTombstones, RangeTombstone{
					Start: genBounds[rng.IntN(len(genBounds))], End: genBounds[rng.IntN(len(genBounds))], Deletion: dt()})
			}
		}
		for range rng.IntN(4) {
			m.Rows = append(m.Rows, randRow(rng.IntN(6) == 0))
		}
		ms = append(ms, m)
	}
	return ms
}

// fullRow renders everything ReadPartition returns of a row.
func fullRow(r *Row) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%v %x %+v", r.Static, r.Clustering, r.Liveness)
	for _, c := range r.Cells {
		fmt.Fprintf(&sb, " {%d %q %d %d %d %v %q}", c.Column, c.Path, c.Timestamp, c.TTL, c.ExpiresAt, c.Tombstone, c.Value)
	}
	return sb.String()
}

func engineRows(t testing.TB, e *Engine, q PartitionQuery) []string {
	t.Helper()
	var out []string
	if err := e.ReadPartition(tbl, 1, pk, q, func(r *Row) bool { out = append(out, fullRow(r)); return true }); err != nil {
		t.Fatal(err)
	}
	return out
}

func memRows(t testing.TB, m *Mutation, q PartitionQuery, now time.Time) []string {
	t.Helper()
	var out []string
	if err := ReadMutation(m, q, now, func(r *Row) bool { out = append(out, fullRow(r)); return true }); err != nil {
		t.Fatal(err)
	}
	return out
}

// concat puts all of ms in one mutation (rows of one position stay
// separate updates, as separate Apply calls leave them separate operands).
func concat(ms []*Mutation) *Mutation {
	out := &Mutation{Table: tbl, Token: 1, Key: pk}
	for _, m := range ms {
		if m.PartitionDeletion.Supersedes(out.PartitionDeletion) {
			out.PartitionDeletion = m.PartitionDeletion
		}
		out.RangeTombstones = append(out.RangeTombstones, m.RangeTombstones...)
		out.Rows = append(out.Rows, m.Rows...)
	}
	return out
}

func shuffled(rng *rand.Rand, ms []*Mutation) []*Mutation {
	c := slices.Clone(ms)
	rng.Shuffle(len(c), func(i, j int) { c[i], c[j] = c[j], c[i] })
	return c
}

// TestReadMutationSemantics runs the engine's semantics cases through
// ReadMutation: all of a case's mutations in one, read at the case's time.
func TestReadMutationSemantics(t *testing.T) {
	for _, tc := range semanticsCases {
		var got []string
		err := ReadMutation(concat(tc.muts), tc.q, t0.Add(tc.at), func(r *Row) bool {
			got = append(got, renderRow(r))
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
	if err := ReadMutation(mut(RowUpdate{Static: true, Clustering: a1}), PartitionQuery{}, t0, func(*Row) bool { return true }); err == nil {
		t.Error("ReadMutation accepted a static row with clustering")
	}
	if err := ReadMutation(nil, PartitionQuery{}, t0, func(*Row) bool { t.Error("row from nil"); return true }); err != nil {
		t.Error(err)
	}
}

// TestMergeMutationsMatchesEngine is the property test: for random sets of
// mutations, what ReadMutation makes of MergeMutations(set) is what the
// engine returns after applying the set, for random queries and clocks.
func TestMergeMutationsMatchesEngine(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	iters := 150
	if testing.Short() {
		iters = 30
	}
	for iter := 0; iter < iters; iter++ {
		// Memtable and flushed engines, merging at read time: exact for
		// every set when ReadMutation gets the unmerged set, and for
		// MergeMutations when no expiring cell ties.
		for _, uniq := range []bool{true, false} {
			set := randMutations(rng, genOpts{uniqueExpiringTS: uniq})
			clock := newClock()
			e := openTest(t, "", clock, 0)
			for _, m := range set {
				apply(t, e, m)
				if uniq && rng.IntN(3) == 0 {
					if err := e.Flush(); err != nil {
						t.Fatal(err)
					}
				}
			}
			merged := MergeMutations(shuffled(rng, set)...)
			for _, now := range readTimes(rng) {
				clock.Set(now)
				q := randQuery(rng)
				want := engineRows(t, e, q)
				if got := memRows(t, concat(set), q, now); !slices.Equal(got, want) {
					t.Fatalf("ReadMutation(set) q=%+v at +%v:\ngot  %q\nwant %q\nset %+v", q, now.Sub(t0), got, want, set)
				}
				if !uniq {
					continue
				}
				if got := memRows(t, merged, q, now); !slices.Equal(got, want) {
					t.Fatalf("ReadMutation(MergeMutations(set)) q=%+v at +%v:\ngot  %q\nwant %q\nset %+v\nmerged %+v", q, now.Sub(t0), got, want, set, merged)
				}
			}
			e.Close()
		}
		// Any set, merged by a compaction before anything expires: the
		// history MergeMutations documents.
		set := randMutations(rng, genOpts{})
		clock := newClock()
		e := openTest(t, "", clock, 0)
		for _, m := range set {
			apply(t, e, m)
		}
		if err := e.Compact(); err != nil {
			t.Fatal(err)
		}
		merged := MergeMutations(shuffled(rng, set)...)
		for _, now := range readTimes(rng) {
			clock.Set(now)
			q := randQuery(rng)
			want := engineRows(t, e, q)
			if got := memRows(t, merged, q, now); !slices.Equal(got, want) {
				t.Fatalf("compacted: q=%+v at +%v:\ngot  %q\nwant %q\nset %+v\nmerged %+v", q, now.Sub(t0), got, want, set, merged)
			}
		}
		e.Close()
	}
}

// TestMergeMutationsOrderIndependent checks that Digest(MergeMutations(..))
// depends neither on the order nor on the grouping of the inputs, and that
// merging is idempotent.
func TestMergeMutationsOrderIndependent(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for iter := 0; iter < 2000; iter++ {
		set := randMutations(rng, genOpts{})
		want := Digest(MergeMutations(set...))
		if got := Digest(MergeMutations(shuffled(rng, set)...)); !bytes.Equal(got, want) {
			t.Fatalf("order dependent: %+v", set)
		}
		k := rng.IntN(len(set) + 1)
		a, b := MergeMutations(set[:k]...), MergeMutations(set[k:]...)
		if got := Digest(MergeMutations(b, a)); !bytes.Equal(got, want) {
			t.Fatalf("grouping dependent: %+v", set)
		}
		m := MergeMutations(set...)
		if got := Digest(MergeMutations(m, m)); !bytes.Equal(got, want) {
			t.Fatalf("not idempotent: %+v", set)
		}
		// Canonical: merging the result again changes nothing at all.
		if again := MergeMutations(m); fmt.Sprint(again) != fmt.Sprint(m) {
			t.Fatalf("not canonical:\n%+v\n%+v", m, again)
		}
		// A wire round trip keeps the digest.
		dm, err := DecodeMutation(EncodeMutation(nil, m))
		if err != nil || !bytes.Equal(Digest(dm), want) {
			t.Fatalf("wire round trip changed the digest: %v", err)
		}
	}
	if MergeMutations() != nil || MergeMutations(nil, nil) != nil {
		t.Error("MergeMutations of nothing is not nil")
	}
	if !bytes.Equal(Digest(nil), Digest(&Mutation{Table: tbl, Key: pk})) {
		t.Error("Digest of nil and of an empty mutation differ")
	}
}

// readTimes returns six read times from t0 to t0+7s in increasing order:
// the clock never goes back, since a background compaction may already
// have turned what expired into tombstones.
func readTimes(rng *rand.Rand) []time.Time {
	ts := make([]time.Time, 6)
	for i := range ts {
		ts[i] = t0.Add(time.Duration(rng.IntN(8)) * time.Second)
	}
	slices.SortFunc(ts, time.Time.Compare)
	return ts
}
