package schema

import (
	"strings"
	"testing"
	"time"
)

// TestUDTWithNonFrozenCollections: Cassandra 4.0 accepts non-frozen
// collections as UDT fields (the UDT is frozen where it is stored) and
// refuses non-frozen UDT fields, counters, and a non-frozen UDT column
// whose type has a non-frozen collection.
func TestUDTWithNonFrozenCollections(t *testing.T) {
	m, err := NewManager(memStore{}, nil, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.CreateKeyspace("ks", map[string]string{"class": "SimpleStrategy", "replication_factor": "1"}, true, false); err != nil {
		t.Fatal(err)
	}
	if _, err := m.CreateType("ks", "bag", []TypeField{{"a", "list<text>"}, {"b", "map<text, text>"}, {"c", "frozen<set<int>>"}}, false); err != nil {
		t.Fatalf("non-frozen collections in a UDT: %v", err)
	}
	var got []string
	for _, f := range m.Current().Keyspace("ks").Types["bag"].Elems {
		got = append(got, f.String())
	}
	if strings.Join(got, ",") != "list<text>,map<text, text>,frozen<set<int>>" {
		t.Fatalf("field types %q", got)
	}
	if _, err := m.CreateType("ks", "plain", []TypeField{{"x", "int"}}, false); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		fields []TypeField
		want   string
	}{
		{[]TypeField{{"p", "plain"}}, "A user type cannot contain non-frozen UDTs"},
		{[]TypeField{{"n", "counter"}}, "A user type cannot contain counters"},
		{[]TypeField{{"a", "int"}, {"a", "text"}}, "Duplicate field name 'a' in type 'bad'"},
		{[]TypeField{{"l", "list<plain>"}}, "Non-frozen UDTs are not allowed inside collections"},
	} {
		if _, err := m.CreateType("ks", "bad", tc.fields, false); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: want %q, got %v", tc.fields, tc.want, err)
		}
	}
	table := func(name, typ string) TableDef {
		return TableDef{Keyspace: "ks", Name: name, PartitionKey: []string{"k"}, Columns: []ColumnDef{{Name: "k", Type: "int"}, {Name: "v", Type: typ}}}
	}
	for _, typ := range []string{"frozen<bag>", "list<frozen<bag>>", "map<int, frozen<bag>>", "plain"} {
		if _, err := m.CreateTable(table("t_"+strings.NewReplacer("<", "", ">", "", ",", "", " ", "").Replace(typ), typ), false); err != nil {
			t.Errorf("column of type %s: %v", typ, err)
		}
	}
	if _, err := m.CreateTable(table("bad", "bag"), false); err == nil || err.Error() != "Non-frozen UDTs with nested non-frozen collections are not supported" {
		t.Errorf("non-frozen bag column: %v", err)
	}
	if _, err := m.AlterTable("ks", "t_plain", TableAlter{Add: []ColumnDef{{Name: "w", Type: "bag"}}}); err == nil || err.Error() != "Non-frozen UDTs with nested non-frozen collections are not supported" {
		t.Errorf("ALTER ADD non-frozen bag: %v", err)
	}
	// A collection field may be added to a UDT unless a table stores the
	// UDT non-frozen.
	if _, err := m.AlterType("ks", "bag", &TypeField{Name: "d", Type: "set<text>"}, nil); err != nil {
		t.Errorf("ALTER TYPE bag ADD set: %v", err)
	}
	if _, err := m.AlterType("ks", "plain", &TypeField{Name: "y", Type: "list<int>"}, nil); err == nil || !strings.Contains(err.Error(), "non-frozen UDTs with nested non-frozen collections are not supported") {
		t.Errorf("ALTER TYPE plain ADD list while t_plain stores it non-frozen: %v", err)
	}
	if _, err := m.AlterType("ks", "plain", &TypeField{Name: "y", Type: "frozen<list<int>>"}, nil); err != nil {
		t.Errorf("ALTER TYPE plain ADD frozen list: %v", err)
	}
}
