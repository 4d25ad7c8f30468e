package schema

import (
	"sort"
	"strings"

	"github.com/ringdb/ringdb/internal/types"
)

// ColumnKind says what role a column plays in its table.
type ColumnKind uint8

// Column kinds, in the order Cassandra lists them.
const (
	PartitionKey ColumnKind = iota
	Clustering
	Static
	Regular
)

// String returns the kind as system_schema.columns.kind shows it.
func (k ColumnKind) String() string {
	switch k {
	case PartitionKey:
		return "partition_key"
	case Clustering:
		return "clustering"
	case Static:
		return "static"
	default:
		return "regular"
	}
}

// Column is one column of a table.
type Column struct {
	Name string
	Type *types.Type
	Kind ColumnKind
	// Position within the partition key or clustering key; -1 otherwise.
	Position int
	// Desc is true for a clustering column in descending order.
	Desc bool
	// ID identifies the column's cells in storage; never reused.
	ID uint32
}

// IsPrimaryKey reports whether the column is part of the primary key.
func (c *Column) IsPrimaryKey() bool { return c.Kind == PartitionKey || c.Kind == Clustering }

// ClusteringOrder returns "asc", "desc" or "none" as system_schema shows it.
func (c *Column) ClusteringOrder() string {
	if c.Kind != Clustering {
		return "none"
	}
	if c.Desc {
		return "desc"
	}
	return "asc"
}

// DroppedColumn records a dropped column (system_schema.dropped_columns).
type DroppedColumn struct {
	Name        string
	Type        string
	Kind        ColumnKind
	DroppedTime int64 // micros
}

// Table is an immutable table definition.
type Table struct {
	Keyspace string
	Name     string
	ID       [16]byte

	PartitionKey []*Column
	Clustering   []*Column
	// Others holds the static columns then the regular columns, each
	// sorted by name.
	Others []*Column
	// All is every column in Cassandra's SELECT * order: partition key,
	// clustering, static columns, then regular columns (each by name).
	All     []*Column
	columns map[string]*Column
	byID    map[uint32]*Column
	slots   []int // column id -> index in All, -1 for unused ids

	Options Options
	Dropped map[string]DroppedColumn
	// NextColumnID is the id the next added column gets.
	NextColumnID uint32
	// Virtual tables (system keyspaces) have their rows produced in memory.
	Virtual bool
	// HasStatic is true when the table has a static column.
	HasStatic bool
	// CompactStorage records WITH COMPACT STORAGE of a table created
	// before ringdb refused it (kept so old schemas still load).
	CompactStorage bool
	// Modified is when the definition last changed (micros), for schema
	// merges between nodes: the newer definition wins.
	Modified int64
}

// Column returns the named column or nil.
func (t *Table) Column(name string) *Column { return t.columns[name] }

// Slot returns the index in All of the column with storage id id, or -1
// (a dropped or unknown column).
func (t *Table) Slot(id uint32) int {
	if int(id) < len(t.slots) {
		return t.slots[id]
	}
	return -1
}

// ColumnByID returns the column with the given storage id or nil.
func (t *Table) ColumnByID(id uint32) *Column { return t.byID[id] }

// index (re)builds the derived fields from PartitionKey, Clustering, Others.
func (t *Table) index() {
	// Cassandra's SELECT * order: static columns, then regular columns,
	// each by name.
	sort.Slice(t.Others, func(i, j int) bool {
		a, b := t.Others[i], t.Others[j]
		if (a.Kind == Static) != (b.Kind == Static) {
			return a.Kind == Static
		}
		return a.Name < b.Name
	})
	t.All = t.All[:0]
	t.All = append(t.All, t.PartitionKey...)
	t.All = append(t.All, t.Clustering...)
	t.All = append(t.All, t.Others...)
	t.columns = make(map[string]*Column, len(t.All))
	t.byID = make(map[uint32]*Column, len(t.All))
	maxID := uint32(0)
	for _, c := range t.All {
		maxID = max(maxID, c.ID)
	}
	t.slots = make([]int, maxID+1)
	for i := range t.slots {
		t.slots[i] = -1
	}
	for i, c := range t.All {
		t.slots[c.ID] = i
	}
	t.HasStatic = false
	for _, c := range t.All {
		t.columns[c.Name] = c
		t.byID[c.ID] = c
		if c.Kind == Static {
			t.HasStatic = true
		}
	}
}

// Keyspace is an immutable keyspace definition.
type Keyspace struct {
	Name          string
	Replication   map[string]string
	DurableWrites bool
	Tables        map[string]*Table
	// Types are the user-defined types by name; TypeOrder lists them in
	// creation order (a type may only use types created before it).
	Types     map[string]*types.Type
	TypeOrder []string
	// System keyspaces cannot be altered or dropped by users.
	System bool
	// Modified is when the keyspace's own definition (replication,
	// durable_writes, types) last changed (micros).
	Modified int64
	// DroppedTables records when tables were dropped (micros), so a merge
	// does not bring them back.
	DroppedTables map[string]int64
}

// ReplicationClass returns the short strategy name (SimpleStrategy,
// NetworkTopologyStrategy, LocalStrategy).
func (k *Keyspace) ReplicationClass() string {
	c := k.Replication["class"]
	return strings.TrimPrefix(c, "org.apache.cassandra.locator.")
}

// Schema is an immutable snapshot of every keyspace.
type Schema struct {
	Keyspaces map[string]*Keyspace
	Version   [16]byte
	// DroppedKeyspaces records when keyspaces were dropped (micros).
	DroppedKeyspaces map[string]int64
}

// Keyspace returns the named keyspace or nil.
func (s *Schema) Keyspace(name string) *Keyspace { return s.Keyspaces[name] }

// Table returns the named table or nil.
func (s *Schema) Table(ks, name string) *Table {
	k := s.Keyspaces[ks]
	if k == nil {
		return nil
	}
	return k.Tables[name]
}

// KeyspaceNames returns the keyspace names sorted.
func (s *Schema) KeyspaceNames() []string {
	names := make([]string, 0, len(s.Keyspaces))
	for n := range s.Keyspaces {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// TableNames returns a keyspace's table names sorted.
func (k *Keyspace) TableNames() []string {
	names := make([]string, 0, len(k.Tables))
	for n := range k.Tables {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// IsSystemKeyspace reports whether name is one of the keyspaces ringdb
// manages itself.
func IsSystemKeyspace(name string) bool {
	switch name {
	case "system", "system_schema", "system_auth", "system_distributed", "system_traces", "system_virtual_schema", "system_views":
		return true
	}
	return false
}
