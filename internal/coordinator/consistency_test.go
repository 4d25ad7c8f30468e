package coordinator

import (
	"net/netip"
	"testing"

	"github.com/ringdb/ringdb/internal/consistency"
	"github.com/ringdb/ringdb/internal/cqlerr"
	"github.com/ringdb/ringdb/internal/storage"
)

var (
	a1 = netip.MustParseAddr("10.0.0.1")
	a2 = netip.MustParseAddr("10.0.0.2")
	a3 = netip.MustParseAddr("10.0.0.3")
	b1 = netip.MustParseAddr("10.1.0.1")
	b2 = netip.MustParseAddr("10.1.0.2")
)

func dcOf(ep netip.Addr) string {
	if ep.As4()[1] == 0 {
		return "dc1"
	}
	return "dc2"
}

func TestBlockFor(t *testing.T) {
	nts := map[string]int{"dc1": 3, "dc2": 2}
	simple := map[string]int{"": 3}
	cases := []struct {
		cl   consistency.Level
		rf   map[string]int
		want int
	}{
		{consistency.One, simple, 1}, {consistency.Two, simple, 2}, {consistency.Three, simple, 3}, {consistency.Quorum, simple, 2},
		{consistency.All, simple, 3}, {consistency.LocalQuorum, simple, 2}, {consistency.Any, simple, 1},
		{consistency.Quorum, nts, 3}, {consistency.All, nts, 5}, {consistency.LocalQuorum, nts, 2}, {consistency.LocalOne, nts, 1},
		{consistency.EachQuorum, nts, 4},
	}
	for _, c := range cases {
		got, _, err := blockFor(c.cl, c.rf, "dc1")
		if err != nil || got != c.want {
			t.Errorf("%s %v: got %d (%v), want %d", c.cl, c.rf, got, err, c.want)
		}
	}
}

func TestTrackerLocalAndEachQuorum(t *testing.T) {
	rf := map[string]int{"dc1": 3, "dc2": 2}
	block, per, _ := blockFor(consistency.LocalQuorum, rf, "dc1")
	tr := newTracker(consistency.LocalQuorum, block, per, "dc1", dcOf)
	// Remote-DC answers do not count for LOCAL_QUORUM.
	tr.ack(b1)
	tr.ack(b2)
	tr.ack(a1)
	if tr.done() {
		t.Fatal("LOCAL_QUORUM done with one local answer")
	}
	tr.ack(a2)
	if !tr.done() || tr.received != 2 {
		t.Fatalf("LOCAL_QUORUM: done=%v received=%d", tr.done(), tr.received)
	}
	// Availability counts only local live replicas.
	if err := tr.available([]netip.Addr{a1, b1, b2}); err == nil {
		t.Fatal("LOCAL_QUORUM available with one local replica")
	} else if e := err.(*cqlerr.Error); e.Code != cqlerr.Unavailable || e.Required != 2 || e.Alive != 1 {
		t.Fatalf("unavailable fields: %+v", e)
	}
	block, per, _ = blockFor(consistency.EachQuorum, rf, "dc1")
	tr = newTracker(consistency.EachQuorum, block, per, "dc1", dcOf)
	if err := tr.available([]netip.Addr{a1, a2, a3, b1}); err == nil {
		t.Fatal("EACH_QUORUM available with one dc2 replica (needs 2)")
	}
	for _, ep := range []netip.Addr{a1, a2, a3, b1} {
		tr.ack(ep)
	}
	if tr.done() {
		t.Fatal("EACH_QUORUM done without dc2 quorum")
	}
	tr.ack(b2)
	if !tr.done() {
		t.Fatal("EACH_QUORUM not done with both quorums")
	}
}

func TestMergeListsLimit(t *testing.T) {
	// Covered through the cluster tests; here the ordering/limit rule.
	if posLess(mut(5, "b"), mut(5, "a")) || !posLess(mut(4, "z"), mut(5, "a")) {
		t.Fatal("posLess order")
	}
	out := mergeLists([][]*storageMutation{{mut(1, "a"), mut(3, "c")}, {mut(1, "a"), mut(2, "b"), mut(9, "z")}}, mut(3, "c"))
	if len(out) != 3 || out[0].Token != 1 || out[1].Token != 2 || out[2].Token != 3 {
		t.Fatalf("merged %d partitions", len(out))
	}
}

type storageMutation = storage.Mutation

func mut(tok int64, key string) *storage.Mutation {
	return &storage.Mutation{Token: tok, Key: []byte(key)}
}
