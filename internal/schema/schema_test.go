package schema

import (
	"math"
	"strings"
	"testing"
	"time"
)

type memStore map[string][]byte

func (m memStore) SetMeta(k string, v []byte) error { m[k] = append([]byte(nil), v...); return nil }
func (m memStore) GetMeta(k string) ([]byte, bool, error) {
	v, ok := m[k]
	return v, ok, nil
}

func TestSystemKeyspacesBuild(t *testing.T) {
	ks := SystemKeyspaces()
	found := map[string]bool{}
	for _, k := range ks {
		for name, tb := range k.Tables {
			found[k.Name+"."+name] = true
			if !tb.Virtual || len(tb.PartitionKey) == 0 {
				t.Fatalf("%s.%s: bad definition", k.Name, name)
			}
		}
	}
	for _, want := range []string{"system.local", "system.peers", "system.peers_v2", "system_schema.columns", "system_auth.roles"} {
		if !found[want] {
			t.Errorf("missing %s", want)
		}
	}
	tb := findTable(ks, "system_schema", "tables")
	if c := tb.Column("caching"); c == nil || c.Type.String() != "frozen<map<text, text>>" {
		t.Fatalf("caching column: %+v", c)
	}
}

func findTable(ks []*Keyspace, k, t string) *Table {
	for _, x := range ks {
		if x.Name == k {
			return x.Tables[t]
		}
	}
	return nil
}

func TestDDLPersistsAndVersionChanges(t *testing.T) {
	store := memStore{}
	m, err := NewManager(store, SystemKeyspaces(), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	v0 := m.Current().Version
	if _, err := m.CreateKeyspace("ks", map[string]string{"class": "SimpleStrategy", "replication_factor": "1"}, true, false); err != nil {
		t.Fatal(err)
	}
	v1 := m.Current().Version
	if v1 == v0 {
		t.Fatal("version did not change")
	}
	if changed, err := m.CreateKeyspace("ks", map[string]string{"class": "SimpleStrategy", "replication_factor": "1"}, true, true); err != nil || changed {
		t.Fatalf("IF NOT EXISTS: changed=%v err=%v", changed, err)
	}
	if _, err := m.CreateKeyspace("ks", map[string]string{"class": "SimpleStrategy", "replication_factor": "1"}, true, false); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("want already exists, got %v", err)
	}
	if _, err := m.CreateType("ks", "addr", []TypeField{{"street", "text"}, {"zip", "int"}}, false); err != nil {
		t.Fatal(err)
	}
	d := TableDef{Keyspace: "ks", Name: "t", PartitionKey: []string{"a", "b"}, Clustering: []string{"c"},
		Desc: map[string]bool{"c": true}, ClusteringOrder: []string{"c"},
		Columns: []ColumnDef{{Name: "a", Type: "int"}, {Name: "b", Type: "text"}, {Name: "c", Type: "timestamp"},
			{Name: "s", Type: "text", Static: true}, {Name: "v", Type: "map<text, frozen<addr>>"}},
		Options:     map[string]OptionValue{"gc_grace_seconds": {Text: "100", IsText: true}},
		OptionOrder: []string{"gc_grace_seconds"}}
	if _, err := m.CreateTable(d, false); err != nil {
		t.Fatal(err)
	}
	if _, err := m.AlterTable("ks", "t", TableAlter{Add: []ColumnDef{{Name: "w", Type: "list<int>"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.AlterTable("ks", "t", TableAlter{Drop: []string{"w"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.AlterTable("ks", "t", TableAlter{Add: []ColumnDef{{Name: "w", Type: "int"}}}); err != nil {
		t.Fatal(err)
	}
	cur := m.Current()
	tb := cur.Table("ks", "t")
	if tb.Column("w").ID != 6 {
		t.Fatalf("re-added column must get a fresh id, got %d", tb.Column("w").ID)
	}
	// Reload from the store: same schema, same version.
	m2, err := NewManager(store, SystemKeyspaces(), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if m2.Current().Version != cur.Version {
		t.Fatal("version differs after reload")
	}
	t2 := m2.Current().Table("ks", "t")
	var names []string
	for _, c := range t2.All {
		names = append(names, c.Name+":"+c.Type.String()+":"+c.Kind.String())
	}
	want := "a:int:partition_key b:text:partition_key c:timestamp:clustering s:text:static v:map<text, frozen<addr>>:regular w:int:regular"
	if got := strings.Join(names, " "); got != want {
		t.Fatalf("reloaded columns\n got %s\nwant %s", got, want)
	}
	if !t2.Column("c").Desc || t2.Options.GCGraceSeconds != 100 || t2.ID != tb.ID {
		t.Fatal("reloaded table lost order, options or id")
	}
	if _, err := m2.DropType("ks", "addr", false); err == nil {
		t.Fatal("dropping a used type must fail")
	}
	if _, dropped, err := m2.DropKeyspace("ks", false); err != nil || len(dropped) != 1 {
		t.Fatalf("drop keyspace: %v %d", err, len(dropped))
	}
}

func TestTableValidation(t *testing.T) {
	m, _ := NewManager(memStore{}, nil, time.Now)
	m.CreateKeyspace("ks", map[string]string{"class": "SimpleStrategy", "replication_factor": "1"}, true, false)
	cases := []struct {
		d    TableDef
		want string
	}{
		{TableDef{Keyspace: "ks", Name: "t", PartitionKey: []string{"x"}, Columns: []ColumnDef{{Name: "a", Type: "int"}}}, "Unknown definition x"},
		{TableDef{Keyspace: "ks", Name: "t", PartitionKey: []string{"a"}, Columns: []ColumnDef{{Name: "a", Type: "list<int>"}}}, "non-frozen collection"},
		{TableDef{Keyspace: "ks", Name: "t", PartitionKey: []string{"a"}, Columns: []ColumnDef{{Name: "a", Type: "int"}, {Name: "s", Type: "int", Static: true}}}, "without clustering"},
		{TableDef{Keyspace: "nope", Name: "t", PartitionKey: []string{"a"}, Columns: []ColumnDef{{Name: "a", Type: "int"}}}, "does not exist"},
	}
	for _, c := range cases {
		_, err := m.CreateTable(c.d, false)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("want %q, got %v", c.want, err)
		}
	}
	if _, err := ValidateReplication(map[string]string{"class": "SimpleStrategy"}); err == nil {
		t.Error("SimpleStrategy without rf must fail")
	}
}

func newTestManager(t *testing.T, clock *int64) *Manager {
	t.Helper()
	m, err := NewManager(memStore{}, SystemKeyspaces(), func() time.Time { *clock += 1000; return time.UnixMicro(*clock) })
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func simpleTable(ks, name string) TableDef {
	return TableDef{Keyspace: ks, Name: name, PartitionKey: []string{"k"}, Columns: []ColumnDef{{Name: "k", Type: "int"}, {Name: "v", Type: "text"}}}
}

func exchange(t *testing.T, a, b *Manager) {
	t.Helper()
	for i := 0; i < 2; i++ {
		ea, _ := a.Export()
		eb, _ := b.Export()
		if _, _, err := b.Merge(ea, math.MaxInt64); err != nil {
			t.Fatal(err)
		}
		if _, _, err := a.Merge(eb, math.MaxInt64); err != nil {
			t.Fatal(err)
		}
	}
}

// TestMergeConverges: concurrent DDL on two nodes merges to the same
// schema and version; drops win over older definitions.
func TestMergeConverges(t *testing.T) {
	var clock int64 = 1_000_000
	a, b := newTestManager(t, &clock), newTestManager(t, &clock)
	repl := map[string]string{"class": "SimpleStrategy", "replication_factor": "3"}
	if _, err := a.CreateKeyspace("ks", repl, true, false); err != nil {
		t.Fatal(err)
	}
	exchange(t, a, b)
	if b.Current().Keyspace("ks") == nil || a.Current().Version != b.Current().Version {
		t.Fatal("keyspace did not propagate")
	}
	// Concurrent table creation on both sides, same keyspace.
	a.CreateTable(simpleTable("ks", "ta"), false)
	b.CreateTable(simpleTable("ks", "tb"), false)
	exchange(t, a, b)
	for _, m := range []*Manager{a, b} {
		if m.Current().Table("ks", "ta") == nil || m.Current().Table("ks", "tb") == nil {
			t.Fatal("concurrent tables not both present")
		}
	}
	if a.Current().Version != b.Current().Version {
		t.Fatal("versions differ after exchange")
	}
	if a.Current().Table("ks", "ta").ID != b.Current().Table("ks", "ta").ID {
		t.Fatal("table id not shared")
	}
	// Drop on one side, alter on the other earlier: the drop wins.
	b.AlterTable("ks", "tb", TableAlter{Add: []ColumnDef{{Name: "x", Type: "int"}}})
	_, _, err := a.DropTable("ks", "tb", false)
	if err != nil {
		t.Fatal(err)
	}
	exchange(t, a, b)
	if a.Current().Table("ks", "tb") != nil || b.Current().Table("ks", "tb") != nil {
		t.Fatal("dropped table came back")
	}
	// Keyspace drop propagates and reports the tables to clean up.
	a.DropKeyspace("ks", false)
	ea, _ := a.Export()
	changes, dropped, err := b.Merge(ea, math.MaxInt64)
	if err != nil || b.Current().Keyspace("ks") != nil || len(dropped) != 1 || len(changes) == 0 {
		t.Fatalf("keyspace drop: %v %d %v", err, len(dropped), changes)
	}
	exchange(t, a, b)
	if a.Current().Version != b.Current().Version {
		t.Fatal("versions differ after drop")
	}
	// Re-creating a dropped keyspace later works.
	a.CreateKeyspace("ks", repl, true, false)
	exchange(t, a, b)
	if b.Current().Keyspace("ks") == nil {
		t.Fatal("re-created keyspace did not propagate")
	}
}

func TestNTSReplicationFactorShorthand(t *testing.T) {
	m, _ := NewManager(memStore{}, nil, time.Now)
	m.SetDataCenters(func() []string { return []string{"dc1", "dc2"} })
	if _, err := m.CreateKeyspace("ks", map[string]string{"class": "NetworkTopologyStrategy", "replication_factor": "3", "dc2": "1"}, true, false); err != nil {
		t.Fatal(err)
	}
	r := m.Current().Keyspace("ks").Replication
	if r["dc1"] != "3" || r["dc2"] != "1" || r["replication_factor"] != "" {
		t.Fatalf("expanded replication: %v", r)
	}
}
