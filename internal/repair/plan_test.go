package repair

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/ringdb/ringdb/internal/ring"
	"github.com/ringdb/ringdb/internal/schema"
)

func addr(i int) netip.Addr { return netip.AddrFrom4([4]byte{127, 0, 0, byte(i)}) }

// testRing returns a ring of nodes 1..n with tokens of node i at
// i*1000 + k*100_000 for k in [0, perNode).
func testRing(t testing.TB, n, perNode int) *ring.TokenMetadata {
	t.Helper()
	tm := ring.NewTokenMetadata()
	for i := 1; i <= n; i++ {
		var toks []ring.Token
		for k := range perNode {
			toks = append(toks, ring.Token(i*1000+k*100_000))
		}
		var err error
		if tm, err = tm.WithEndpoint(addr(i), toks, "dc1", "r1"); err != nil {
			t.Fatal(err)
		}
	}
	return tm
}

// testSchema returns a schema with keyspace ks at SimpleStrategy rf
// holding tables, plus a system keyspace and an empty user keyspace.
func testSchema(rf int, tables ...string) *schema.Schema {
	ks := &schema.Keyspace{Name: "ks", Tables: map[string]*schema.Table{},
		Replication: map[string]string{"class": "SimpleStrategy", "replication_factor": fmt.Sprint(rf)}}
	for i, name := range tables {
		ks.Tables[name] = &schema.Table{Keyspace: "ks", Name: name, ID: [16]byte{byte(i + 1), 0xaa}}
	}
	sys := &schema.Keyspace{Name: "system", System: true, Replication: map[string]string{"class": "LocalStrategy"},
		Tables: map[string]*schema.Table{"local": {Keyspace: "system", Name: "local", ID: [16]byte{0xff}}}}
	empty := &schema.Keyspace{Name: "empty", Tables: map[string]*schema.Table{},
		Replication: map[string]string{"class": "SimpleStrategy", "replication_factor": "3"}}
	return &schema.Schema{Keyspaces: map[string]*schema.Keyspace{"ks": ks, "system": sys, "empty": empty}}
}

func TestPlanReplicatedRanges(t *testing.T) {
	tm := testRing(t, 5, 4)
	sch := testSchema(3, "b", "a")
	strat := ring.NewSimpleStrategy(3)
	plans, err := Plan(sch, tm, addr(2), Command{})
	if err != nil {
		t.Fatal(err)
	}
	if len(plans) != 1 || plans[0].Keyspace != "ks" || plans[0].Skipped != "" {
		t.Fatalf("plans = %+v; want ks only (no system, no empty keyspace)", plans)
	}
	kp := plans[0]
	if got := tableNames(kp.Tables); got != "a, b" {
		t.Fatalf("tables = %s", got)
	}
	var want []ring.Range
	for _, r := range tm.AllRanges() {
		if slices.Contains(strat.NaturalEndpoints(tm, r.End), addr(2)) {
			want = append(want, r)
		}
	}
	if len(kp.Sessions) != len(want) || len(want) != 12 { // 3 of 5 nodes replicate each of 20 ranges: 12 each
		t.Fatalf("%d sessions, want %d (12)", len(kp.Sessions), len(want))
	}
	for i, s := range kp.Sessions {
		if s.Range != want[i] {
			t.Fatalf("session %d: range %v, want %v", i, s.Range, want[i])
		}
		if !slices.Equal(s.Replicas, strat.NaturalEndpoints(tm, s.Range.End)) || !slices.Contains(s.Replicas, addr(2)) {
			t.Fatalf("session %d: replicas %v", i, s.Replicas)
		}
	}
}

// TestPlanPrimaryRange: -pr is TokenMetadata.Ranges(self) for
// SimpleStrategy, and -pr on every node covers every range exactly once.
func TestPlanPrimaryRange(t *testing.T) {
	tm := testRing(t, 4, 8)
	sch := testSchema(3, "t")
	seen := map[ring.Range]int{}
	for i := 1; i <= 4; i++ {
		plans, err := Plan(sch, tm, addr(i), Command{Keyspace: "ks", PrimaryRange: true})
		if err != nil {
			t.Fatal(err)
		}
		var got []ring.Range
		for _, s := range plans[0].Sessions {
			got = append(got, s.Range)
			seen[s.Range]++
			if s.Replicas[0] != addr(i) || len(s.Replicas) != 3 {
				t.Fatalf("node %d: session %v replicas %v", i, s.Range, s.Replicas)
			}
		}
		if !slices.Equal(got, tm.Ranges(addr(i))) {
			t.Fatalf("node %d: -pr ranges %v, want Ranges(self) %v", i, got, tm.Ranges(addr(i)))
		}
	}
	if len(seen) != len(tm.AllRanges()) {
		t.Fatalf("-pr on every node covers %d of %d ranges", len(seen), len(tm.AllRanges()))
	}
	for r, n := range seen {
		if n != 1 {
			t.Fatalf("range %v repaired %d times", r, n)
		}
	}
}

func TestPlanTablesAndSkips(t *testing.T) {
	tm := testRing(t, 3, 2)
	plans, err := Plan(testSchema(3, "a", "b", "c"), tm, addr(1), Command{Keyspace: "ks", Tables: []string{"c", "a"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := tableNames(plans[0].Tables); got != "a, c" {
		t.Fatalf("tables = %s", got)
	}
	if n := len(plans[0].Sessions); n != 6 {
		t.Fatalf("%d sessions, want all 6 ranges at RF 3 of 3", n)
	}
	plans, err = Plan(testSchema(1, "t"), tm, addr(1), Command{Keyspace: "ks"})
	if err != nil || len(plans[0].Sessions) != 0 || !strings.Contains(plans[0].Skipped, "replication factor 1") {
		t.Fatalf("RF 1: %+v, %v", plans, err)
	}
	plans, err = Plan(testSchema(3, "t"), tm, addr(1), Command{Keyspace: "empty"})
	if err != nil || !strings.Contains(plans[0].Skipped, "no table") {
		t.Fatalf("empty keyspace: %+v, %v", plans, err)
	}
}

func TestPlanErrors(t *testing.T) {
	tm := testRing(t, 3, 2)
	sch := testSchema(3, "t")
	for _, tc := range []struct {
		self netip.Addr
		cmd  Command
		want string
	}{
		{addr(1), Command{Keyspace: "nope"}, "keyspace nope does not exist"},
		{addr(1), Command{Keyspace: "system"}, "system keyspace"},
		{addr(1), Command{Keyspace: "ks", Tables: []string{"t", "u"}}, "table ks.u does not exist"},
		{addr(1), Command{Tables: []string{"t"}}, "without their keyspace"},
		{addr(9), Command{}, "not a NORMAL ring member"},
	} {
		if _, err := Plan(sch, tm, tc.self, tc.cmd); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Plan(%+v) = %v, want %q", tc.cmd, err, tc.want)
		}
	}
}
