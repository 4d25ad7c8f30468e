package schema

import (
	"errors"
	"math"
	"strings"
	"testing"
)

// far is a modification time far in the future (a peer's forged clock).
const far = math.MaxInt64 - 1_000_000_000

// evilManager is a schema manager whose clock reads far.
func evilManager(t *testing.T) *Manager {
	t.Helper()
	clock := int64(far)
	return newTestManager(t, &clock)
}

// merged merges m's export into into with bound notAfter.
func merged(t *testing.T, into, from *Manager, notAfter int64) ([]Change, []*Table, error) {
	t.Helper()
	data, err := from.Export()
	if err != nil {
		t.Fatal(err)
	}
	return into.Merge(data, notAfter)
}

// A remote schema holding any timestamp beyond the bound is refused whole:
// keyspace and table definitions, keyspace and table tombstones, dropped
// columns. The local schema (content and version) is unchanged.
func TestMergeRefusesTimestampsBeyondBound(t *testing.T) {
	repl := map[string]string{"class": "SimpleStrategy", "replication_factor": "3"}
	for _, tc := range []struct {
		name string
		// evil prepares the forged schema (its clock reads far); the local
		// node already holds ks.t and ks2 as it learned them earlier.
		evil func(t *testing.T, e *Manager)
		what string
	}{
		{"keyspace", func(t *testing.T, e *Manager) {
			e.CreateKeyspace("evil", repl, true, false)
		}, "keyspace evil modified"},
		{"table", func(t *testing.T, e *Manager) {
			e.CreateTable(simpleTable("ks", "evil"), false)
		}, "table ks.evil modified"},
		{"table tombstone", func(t *testing.T, e *Manager) {
			if _, _, err := e.DropTable("ks", "t", false); err != nil {
				t.Fatal(err)
			}
		}, "table ks.t tombstone"},
		{"keyspace tombstone", func(t *testing.T, e *Manager) {
			if _, _, err := e.DropKeyspace("ks2", false); err != nil {
				t.Fatal(err)
			}
		}, "keyspace ks2 tombstone"},
		{"dropped column", func(t *testing.T, e *Manager) {
			if _, err := e.AlterTable("ks", "t", TableAlter{Drop: []string{"v"}}); err != nil {
				t.Fatal(err)
			}
		}, "table ks.t modified"}, // the ALTER stamps the table too

	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := int64(1_000_000)
			local, e := newTestManager(t, &clock), evilManager(t)
			local.CreateKeyspace("ks", repl, true, false)
			local.CreateKeyspace("ks2", repl, true, false)
			local.CreateTable(simpleTable("ks", "t"), false)
			if _, _, err := merged(t, e, local, math.MaxInt64); err != nil { // the attacker learns the schema
				t.Fatal(err)
			}
			// A harmless valid change in the same push: refused along with
			// the forged one (nothing is partially applied).
			valid := newTestManager(t, &clock)
			valid.CreateKeyspace("fresh", repl, true, false)
			if _, _, err := merged(t, e, valid, math.MaxInt64); err != nil {
				t.Fatal(err)
			}
			tc.evil(t, e)
			before := local.Current()
			notAfter := clock + 600_000_000 // now + 10 min
			changes, dropped, err := merged(t, local, e, notAfter)
			var te *TimestampError
			if !errors.As(err, &te) {
				t.Fatalf("merge of a far-future schema: %v", err)
			}
			if te.What != tc.what || te.Timestamp <= notAfter || te.NotAfter != notAfter {
				t.Fatalf("refused %q at %d (bound %d), want %q", te.What, te.Timestamp, te.NotAfter, tc.what)
			}
			if !strings.Contains(err.Error(), tc.what) || !strings.Contains(err.Error(), "nothing merged") {
				t.Fatalf("error %q", err)
			}
			if len(changes) != 0 || len(dropped) != 0 || local.Current() != before {
				t.Fatalf("refused merge changed the schema: %v %v", changes, dropped)
			}
			if local.Current().Keyspace("fresh") != nil {
				t.Fatal("valid part of a refused schema merged")
			}
		})
	}
}

// Every timestamp is checked, dropped column times included; the first
// offender in name order is named and the others counted.
func TestCheckTimestamps(t *testing.T) {
	tab := &Table{Name: "t", Modified: 10, Dropped: map[string]DroppedColumn{"v": {Name: "v", DroppedTime: far}}}
	k := &Keyspace{Name: "ks", Modified: 10, Tables: map[string]*Table{"t": tab}, DroppedTables: map[string]int64{"u": 10}}
	err := checkTimestamps([]*Keyspace{k}, map[string]int64{"old": 10}, 100)
	var te *TimestampError
	if !errors.As(err, &te) || te.What != "column ks.t.v dropped" || te.Count != 1 {
		t.Fatalf("%v", err)
	}
	k.DroppedTables["u"], k.Modified = far, far
	err = checkTimestamps([]*Keyspace{k}, map[string]int64{"old": far}, 100)
	if !errors.As(err, &te) || te.What != "keyspace old tombstone" || te.Count != 4 || !strings.Contains(err.Error(), "(and 3 more)") {
		t.Fatalf("%v", err)
	}
	if err := checkTimestamps([]*Keyspace{{Name: "ks", Modified: 100}}, nil, 100); err != nil {
		t.Fatal(err)
	}
}

// A timestamp exactly at the bound is accepted; one microsecond beyond is
// not.
func TestMergeBoundIsInclusive(t *testing.T) {
	clock := int64(5_000_000)
	a := newTestManager(t, &clock)
	a.CreateKeyspace("ks", map[string]string{"class": "SimpleStrategy", "replication_factor": "1"}, true, false)
	ts := a.Current().Keyspace("ks").Modified
	b := newTestManager(t, new(int64))
	if _, _, err := merged(t, b, a, ts-1); err == nil {
		t.Fatal("timestamp beyond the bound accepted")
	}
	if _, _, err := merged(t, b, a, ts); err != nil || b.Current().Keyspace("ks") == nil {
		t.Fatalf("timestamp at the bound refused: %v", err)
	}
}

// A dropped table stays dropped: a replay of a push from before the drop
// does not bring it back, even when the table was defined by a peer whose
// clock runs ahead of the node that drops it (within the accepted skew):
// the tombstone is stamped after the definition it removes. A table
// re-created later is stamped after the tombstone and reaches the peers.
func TestDroppedTableStaysDropped(t *testing.T) {
	repl := map[string]string{"class": "SimpleStrategy", "replication_factor": "3"}
	behind, ahead := int64(1_000_000), int64(1_000_000+300_000_000) // ahead by 5 minutes
	a, b := newTestManager(t, &behind), newTestManager(t, &ahead)
	b.CreateKeyspace("ks", repl, true, false)
	b.CreateTable(simpleTable("ks", "t"), false)
	old, _ := b.Export() // the push an attacker records
	exchange(t, a, b)
	if a.Current().Table("ks", "t") == nil {
		t.Fatal("a lacks ks.t")
	}
	tableTime := a.Current().Table("ks", "t").Modified
	if _, _, err := a.DropTable("ks", "t", false); err != nil { // a's clock is behind the table's time
		t.Fatal(err)
	}
	if ts := a.Current().Keyspace("ks").DroppedTables["t"]; ts <= tableTime {
		t.Fatalf("tombstone %d not after the definition %d", ts, tableTime)
	}
	exchange(t, a, b)
	for _, m := range []*Manager{a, b} {
		changes, dropped, err := m.Merge(old, math.MaxInt64)
		if err != nil || len(changes) != 0 || len(dropped) != 0 {
			t.Fatalf("replay: %v %v %v", changes, dropped, err)
		}
		if m.Current().Table("ks", "t") != nil {
			t.Fatal("replayed push resurrected a dropped table")
		}
	}
	if a.Current().Version != b.Current().Version {
		t.Fatal("versions differ")
	}
	// Re-creation on the node whose clock is behind the tombstone.
	if _, err := a.CreateTable(simpleTable("ks", "t"), false); err != nil {
		t.Fatal(err)
	}
	if got, ts := a.Current().Table("ks", "t").Modified, a.Current().Keyspace("ks").DroppedTables["t"]; got <= ts {
		t.Fatalf("re-created table stamped %d, tombstone %d", got, ts)
	}
	exchange(t, a, b)
	if b.Current().Table("ks", "t") == nil {
		t.Fatal("re-created table did not reach b")
	}
	// The same for a whole keyspace.
	if _, _, err := a.DropKeyspace("ks", false); err != nil {
		t.Fatal(err)
	}
	exchange(t, a, b)
	for _, m := range []*Manager{a, b} {
		if _, _, err := m.Merge(old, math.MaxInt64); err != nil {
			t.Fatal(err)
		}
		if m.Current().Keyspace("ks") != nil {
			t.Fatal("replayed push resurrected a dropped keyspace")
		}
	}
	if _, err := a.CreateKeyspace("ks", repl, true, false); err != nil {
		t.Fatal(err)
	}
	exchange(t, a, b)
	if b.Current().Keyspace("ks") == nil {
		t.Fatal("re-created keyspace did not reach b")
	}
}
