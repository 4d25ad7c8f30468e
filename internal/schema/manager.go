package schema

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ringdb/ringdb/internal/cqlerr"
	"github.com/ringdb/ringdb/internal/types"
)

// MetaStore is where the schema persists itself (the storage engine's
// metadata store). SetMeta must be durable when it returns.
type MetaStore interface {
	SetMeta(key string, value []byte) error
	GetMeta(key string) ([]byte, bool, error)
}

// ChangeType is CREATED, UPDATED or DROPPED, as schema change events say.
type ChangeType string

// Schema change types.
const (
	Created ChangeType = "CREATED"
	Updated ChangeType = "UPDATED"
	Dropped ChangeType = "DROPPED"
)

// Change describes one applied schema change, for SCHEMA_CHANGE results
// and events. Target is KEYSPACE, TABLE or TYPE.
type Change struct {
	Type     ChangeType
	Target   string
	Keyspace string
	Name     string
}

const metaKey = "schema/v1"

// Manager owns the current schema and applies DDL.
type Manager struct {
	mu    sync.Mutex // serialises DDL
	cur   atomic.Pointer[Schema]
	store MetaStore
	now   func() time.Time
	sys   map[string]*Keyspace
	dcs   atomic.Pointer[func() []string]
}

// NewManager loads the persisted schema (if any) and adds the given system
// keyspaces, which are never persisted.
func NewManager(store MetaStore, system []*Keyspace, now func() time.Time) (*Manager, error) {
	if now == nil {
		now = time.Now
	}
	m := &Manager{store: store, now: now, sys: map[string]*Keyspace{}}
	for _, k := range system {
		k.System = true
		m.sys[k.Name] = k
	}
	s := &Schema{Keyspaces: map[string]*Keyspace{}}
	maps.Copy(s.Keyspaces, m.sys)
	data, ok, err := store.GetMeta(metaKey)
	if err != nil {
		return nil, fmt.Errorf("schema: load: %w", err)
	}
	s.DroppedKeyspaces = map[string]int64{}
	if ok {
		user, dropped, err := decodeSchemaFull(data)
		if err != nil {
			return nil, fmt.Errorf("schema: decode persisted schema: %w", err)
		}
		for _, k := range user {
			s.Keyspaces[k.Name] = k
		}
		maps.Copy(s.DroppedKeyspaces, dropped)
	}
	s.Version = m.version(s)
	m.cur.Store(s)
	return m, nil
}

// Current returns the current schema snapshot.
func (m *Manager) Current() *Schema { return m.cur.Load() }

// update runs fn on a copy of the schema and publishes the result if fn
// reports a change.
func (m *Manager) update(fn func(s *Schema) (bool, error)) (bool, error) {
	return m.apply(true, fn)
}

// apply runs fn on a copy of the schema and publishes the result if fn
// reports a change. With stamp, definitions fn changed get the current
// time as their modification time (local DDL); merges keep the remote's.
func (m *Manager) apply(stamp bool, fn func(s *Schema) (bool, error)) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	old := m.cur.Load()
	next := &Schema{Keyspaces: maps.Clone(old.Keyspaces), DroppedKeyspaces: maps.Clone(old.DroppedKeyspaces)}
	if next.DroppedKeyspaces == nil {
		next.DroppedKeyspaces = map[string]int64{}
	}
	changed, err := fn(next)
	if err != nil || !changed {
		return false, err
	}
	if stamp {
		stampChanges(old, next, m.now().UnixMicro())
	}
	data, err := encodeSchema(next)
	if err != nil {
		return false, err
	}
	if err := m.store.SetMeta(metaKey, data); err != nil {
		return false, fmt.Errorf("schema: persist: %w", err)
	}
	next.Version = m.version(next)
	m.cur.Store(next)
	return true, nil
}

// version is a name-based UUID (v3-shaped, SHA-256 truncated) of the
// canonical encoding of the user keyspaces.
func (m *Manager) version(s *Schema) [16]byte {
	data, _ := encodeSchema(s)
	sum := sha256.Sum256(data)
	var u [16]byte
	copy(u[:], sum[:16])
	u[6] = (u[6] & 0x0f) | 0x30
	u[8] = (u[8] & 0x3f) | 0x80
	return u
}

func cloneKeyspace(k *Keyspace) *Keyspace {
	c := *k
	c.Tables = maps.Clone(k.Tables)
	c.Types = maps.Clone(k.Types)
	c.TypeOrder = slices.Clone(k.TypeOrder)
	c.Replication = maps.Clone(k.Replication)
	c.DroppedTables = maps.Clone(k.DroppedTables)
	if c.DroppedTables == nil {
		c.DroppedTables = map[string]int64{}
	}
	return &c
}

// stampChanges sets modification times on what a local DDL changed:
// new or replaced table definitions, keyspaces whose own definition
// changed, and tombstones for dropped tables and keyspaces. Published
// definitions are never modified: only objects new in next are stamped
// (copies are made where needed).
//
// A stamp is now, or just after the newest timestamp it must beat if that
// is later (a definition merged from a peer whose clock runs ahead, within
// the accepted skew): a drop's tombstone is newer than the dropped
// definition, a re-created table or keyspace is newer than its tombstone
// and a changed definition is newer than the one it replaces. So a local
// change always wins the merge over what it replaced, everywhere, and a
// replayed older push cannot bring a dropped definition back.
func stampChanges(old, next *Schema, now int64) {
	for name, ok := range old.Keyspaces {
		if ok.System {
			continue
		}
		if next.Keyspaces[name] == nil {
			next.DroppedKeyspaces[name] = after(now, newestIn(ok))
		}
	}
	for name, nk := range next.Keyspaces {
		if nk.System {
			continue
		}
		ok := old.Keyspaces[name]
		if ok == nil {
			nk.Modified = after(now, next.DroppedKeyspaces[name])
			for tn, t := range nk.Tables {
				t.Modified = after(nk.Modified, nk.DroppedTables[tn])
			}
			continue
		}
		if ok == nk {
			continue
		}
		// nk is a fresh clone made by this update.
		if nk.DroppedTables == nil {
			nk.DroppedTables = map[string]int64{}
		}
		if !maps.Equal(ok.Replication, nk.Replication) || ok.DurableWrites != nk.DurableWrites ||
			!slices.Equal(ok.TypeOrder, nk.TypeOrder) || !sameTypes(ok.Types, nk.Types) {
			nk.Modified = after(now, ok.Modified)
		}
		for tn, t := range nk.Tables {
			if ot := ok.Tables[tn]; ot != t {
				prev := nk.DroppedTables[tn]
				if ot != nil {
					prev = max(prev, ot.Modified)
				}
				t.Modified = after(now, prev)
			}
		}
		for tn, ot := range ok.Tables {
			if nk.Tables[tn] == nil {
				nk.DroppedTables[tn] = after(now, ot.Modified)
			}
		}
	}
}

// after is now, or just after prev if prev is not older than now.
func after(now, prev int64) int64 {
	if prev >= now && prev < math.MaxInt64 {
		return prev + 1
	}
	return max(now, prev)
}

func sameTypes(a, b map[string]*types.Type) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// SetDataCenters tells the manager how to list the cluster's data centers,
// for NetworkTopologyStrategy's replication_factor shorthand.
func (m *Manager) SetDataCenters(fn func() []string) { m.dcs.Store(&fn) }

// expandRF turns NetworkTopologyStrategy's {'replication_factor': N} into
// one entry per known data center, as Cassandra 4 does; explicit DC entries
// win.
func (m *Manager) expandRF(repl map[string]string) map[string]string {
	rf, ok := repl["replication_factor"]
	if !ok || strings.TrimPrefix(repl["class"], "org.apache.cassandra.locator.") != "NetworkTopologyStrategy" {
		return repl
	}
	out := map[string]string{}
	for k, v := range repl {
		if k != "replication_factor" {
			out[k] = v
		}
	}
	var dcs []string
	if fn := m.dcs.Load(); fn != nil {
		dcs = (*fn)()
	}
	for _, dc := range dcs {
		if _, explicit := out[dc]; !explicit {
			out[dc] = rf
		}
	}
	return out
}

// ValidateReplication checks and normalises a replication map the way
// Cassandra does, returning the map system_schema shows.
func ValidateReplication(repl map[string]string) (map[string]string, error) {
	class := repl["class"]
	if class == "" {
		return nil, cqlerr.ConfigErrorf("Missing mandatory option 'class'")
	}
	short := strings.TrimPrefix(class, "org.apache.cassandra.locator.")
	out := map[string]string{"class": "org.apache.cassandra.locator." + short}
	checkRF := func(key, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return cqlerr.ConfigErrorf("Replication factor must be non-negative integer; found %s", v)
		}
		return nil
	}
	switch short {
	case "SimpleStrategy":
		rf, ok := repl["replication_factor"]
		if !ok {
			return nil, cqlerr.ConfigErrorf("SimpleStrategy requires a replication_factor strategy option.")
		}
		if err := checkRF("replication_factor", rf); err != nil {
			return nil, err
		}
		for k := range repl {
			if k != "class" && k != "replication_factor" {
				return nil, cqlerr.ConfigErrorf("Unrecognized strategy option {%s} passed to SimpleStrategy for keyspace", k)
			}
		}
		out["replication_factor"] = rf
	case "NetworkTopologyStrategy":
		for k, v := range repl {
			if k == "class" || k == "replication_factor" {
				continue
			}
			if err := checkRF(k, v); err != nil {
				return nil, err
			}
			out[k] = v
		}
	case "LocalStrategy", "EverywhereStrategy":
		return nil, cqlerr.ConfigErrorf("Unable to use given strategy class: %s is reserved for internal use.", class)
	default:
		return nil, cqlerr.ConfigErrorf("Unable to find replication strategy class '%s'", class)
	}
	return out, nil
}

// CreateKeyspace creates a keyspace. It reports whether anything changed
// (false for IF NOT EXISTS on an existing keyspace).
func (m *Manager) CreateKeyspace(name string, repl map[string]string, durable bool, ifNotExists bool) (bool, error) {
	if err := validName("keyspace", name); err != nil {
		return false, err
	}
	r, err := ValidateReplication(m.expandRF(repl))
	if err != nil {
		return false, err
	}
	return m.update(func(s *Schema) (bool, error) {
		if s.Keyspaces[name] != nil {
			if ifNotExists {
				return false, nil
			}
			return false, cqlerr.KeyspaceExists(name)
		}
		s.Keyspaces[name] = &Keyspace{Name: name, Replication: r, DurableWrites: durable,
			Tables: map[string]*Table{}, Types: map[string]*types.Type{}}
		return true, nil
	})
}

// AlterKeyspace changes replication and/or durable_writes (nil = keep).
func (m *Manager) AlterKeyspace(name string, repl map[string]string, durable *bool) (bool, error) {
	var r map[string]string
	if repl != nil {
		var err error
		if r, err = ValidateReplication(m.expandRF(repl)); err != nil {
			return false, err
		}
	}
	return m.update(func(s *Schema) (bool, error) {
		k := s.Keyspaces[name]
		if k == nil {
			return false, cqlerr.ConfigErrorf("Keyspace '%s' doesn't exist", name)
		}
		if k.System {
			return false, cqlerr.Unauthorizedf("Cannot alter system keyspace %s", name)
		}
		k = cloneKeyspace(k)
		if r != nil {
			k.Replication = r
		}
		if durable != nil {
			k.DurableWrites = *durable
		}
		s.Keyspaces[name] = k
		return true, nil
	})
}

// DropKeyspace drops a keyspace and returns the tables it held (their data
// must be removed by the caller).
func (m *Manager) DropKeyspace(name string, ifExists bool) (bool, []*Table, error) {
	var dropped []*Table
	changed, err := m.update(func(s *Schema) (bool, error) {
		k := s.Keyspaces[name]
		if k == nil {
			if ifExists {
				return false, nil
			}
			return false, cqlerr.ConfigErrorf("Cannot drop non existing keyspace '%s'.", name)
		}
		if k.System {
			return false, cqlerr.Unauthorizedf("Cannot DROP <keyspace %s>", name)
		}
		for _, t := range k.Tables {
			dropped = append(dropped, t)
		}
		delete(s.Keyspaces, name)
		return true, nil
	})
	return changed, dropped, err
}

// ColumnDef is a column as CREATE TABLE declares it.
type ColumnDef struct {
	Name   string
	Type   string // CQL type text, parsed against the keyspace's UDTs
	Static bool
}

// TableDef is a CREATE TABLE statement after parsing.
type TableDef struct {
	Keyspace, Name  string
	Columns         []ColumnDef
	PartitionKey    []string
	Clustering      []string
	Desc            map[string]bool // clustering column -> DESC
	Options         map[string]OptionValue
	OptionOrder     []string
	CompactStorage  bool
	ClusteringOrder []string // columns named in CLUSTERING ORDER BY, in order
}

func validName(what, name string) error {
	if name == "" || len(name) > 48 {
		return cqlerr.Invalidf("%s names shouldn't be more than 48 characters long (got \"%s\")", what, name)
	}
	for _, r := range name {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return cqlerr.Invalidf("%s name must not be empty, more than 48 characters long, or contain non-alphanumeric-underscore characters (got \"%s\")", what, name)
		}
	}
	return nil
}

func newTableID() [16]byte {
	var u [16]byte
	_, _ = rand.Read(u[:])
	u[6] = (u[6] & 0x0f) | 0x40
	u[8] = (u[8] & 0x3f) | 0x80
	return u
}

func resolver(k *Keyspace) types.UDTResolver {
	return func(ks, name string) (*types.Type, bool) {
		if ks != "" && ks != k.Name {
			return nil, false
		}
		t, ok := k.Types[name]
		return t, ok
	}
}

// BuildTable validates a table definition against a keyspace and returns
// the table (used by CreateTable and to define system tables).
func BuildTable(k *Keyspace, d TableDef) (*Table, error) {
	if err := validName("Table", d.Name); err != nil {
		return nil, err
	}
	t := &Table{Keyspace: k.Name, Name: d.Name, ID: newTableID(), Options: DefaultOptions(),
		Dropped: map[string]DroppedColumn{}, CompactStorage: d.CompactStorage}
	defs := map[string]*ColumnDef{}
	for i := range d.Columns {
		c := &d.Columns[i]
		if defs[c.Name] != nil {
			return nil, cqlerr.Invalidf("Duplicate column '%s' declaration for table %s.%s", c.Name, k.Name, d.Name)
		}
		defs[c.Name] = c
	}
	if len(d.PartitionKey) == 0 {
		return nil, cqlerr.Invalidf("No PRIMARY KEY specifed for table '%s' (exactly one required)", d.Name)
	}
	used := map[string]bool{}
	mk := func(name string, kind ColumnKind, pos int) (*Column, error) {
		def := defs[name]
		if def == nil {
			return nil, cqlerr.Invalidf("Unknown definition %s referenced in PRIMARY KEY", name)
		}
		if used[name] {
			return nil, cqlerr.Invalidf("Duplicate definition for %s in PRIMARY KEY", name)
		}
		used[name] = true
		typ, err := types.Parse(def.Type, k.Name, resolver(k))
		if err != nil {
			return nil, cqlerr.Invalidf("%v", err)
		}
		if err := checkNonFrozenUDT(typ); err != nil {
			return nil, err
		}
		if kind != Regular && kind != Static {
			if def.Static {
				return nil, cqlerr.Invalidf("Static column %s cannot be part of the PRIMARY KEY", name)
			}
			if typ.IsMultiCell() {
				return nil, cqlerr.Invalidf("Invalid non-frozen collection type %s for PRIMARY KEY component %s", def.Type, name)
			}
			if typ.Kind == types.Counter {
				return nil, cqlerr.Invalidf("counter type is not supported for PRIMARY KEY column '%s'", name)
			}
		}
		if typ.Kind == types.Counter {
			return nil, cqlerr.Invalidf("Counter columns are not supported yet (column %s)", name)
		}
		if typ.Kind == types.Duration && kind != Regular && kind != Static {
			return nil, cqlerr.Invalidf("duration type is not supported for PRIMARY KEY column '%s'", name)
		}
		c := &Column{Name: name, Type: typ, Kind: kind, Position: pos, ID: t.NextColumnID}
		t.NextColumnID++
		return c, nil
	}
	for i, n := range d.PartitionKey {
		c, err := mk(n, PartitionKey, i)
		if err != nil {
			return nil, err
		}
		t.PartitionKey = append(t.PartitionKey, c)
	}
	for i, n := range d.Clustering {
		c, err := mk(n, Clustering, i)
		if err != nil {
			return nil, err
		}
		c.Desc = d.Desc[n]
		t.Clustering = append(t.Clustering, c)
	}
	// CLUSTERING ORDER BY must name clustering columns in order.
	for i, n := range d.ClusteringOrder {
		if i >= len(d.Clustering) || d.Clustering[i] != n {
			if !slices.Contains(d.Clustering, n) {
				return nil, cqlerr.Invalidf("Only clustering key columns can be defined in CLUSTERING ORDER directive")
			}
			return nil, cqlerr.Invalidf("The order of columns in the CLUSTERING ORDER directive must be the one of the clustering key (%s must appear before %s)", d.Clustering[i], n)
		}
	}
	for _, def := range d.Columns {
		if used[def.Name] {
			continue
		}
		kind := Regular
		if def.Static {
			if len(d.Clustering) == 0 {
				return nil, cqlerr.Invalidf("Static column %s cannot be defined in a table without clustering columns", def.Name)
			}
			kind = Static
		}
		c, err := mk(def.Name, kind, -1)
		if err != nil {
			return nil, err
		}
		t.Others = append(t.Others, c)
	}
	for _, name := range d.OptionOrder {
		if err := t.Options.Set(name, d.Options[name]); err != nil {
			return nil, err
		}
	}
	t.index()
	return t, nil
}

// CreateTable creates a table.
func (m *Manager) CreateTable(d TableDef, ifNotExists bool) (bool, error) {
	return m.update(func(s *Schema) (bool, error) {
		k := s.Keyspaces[d.Keyspace]
		if k == nil {
			return false, cqlerr.Invalidf("Keyspace '%s' does not exist", d.Keyspace)
		}
		if k.System {
			return false, cqlerr.Unauthorizedf("Cannot CREATE <table %s.%s> in system keyspace", d.Keyspace, d.Name)
		}
		if k.Tables[d.Name] != nil {
			if ifNotExists {
				return false, nil
			}
			return false, cqlerr.TableExists(d.Keyspace, d.Name)
		}
		t, err := BuildTable(k, d)
		if err != nil {
			return false, err
		}
		k = cloneKeyspace(k)
		k.Tables[d.Name] = t
		s.Keyspaces[k.Name] = k
		return true, nil
	})
}

// DropTable drops a table and returns it (its data must be removed by the
// caller).
func (m *Manager) DropTable(ks, name string, ifExists bool) (bool, *Table, error) {
	var dropped *Table
	changed, err := m.update(func(s *Schema) (bool, error) {
		k := s.Keyspaces[ks]
		if k == nil || k.Tables[name] == nil {
			if ifExists && k != nil {
				return false, nil
			}
			if k == nil {
				if ifExists {
					return false, nil
				}
				return false, cqlerr.Invalidf("Keyspace '%s' does not exist", ks)
			}
			return false, cqlerr.Invalidf("Table '%s.%s' doesn't exist", ks, name)
		}
		if k.System {
			return false, cqlerr.Unauthorizedf("Cannot DROP <table %s.%s>", ks, name)
		}
		dropped = k.Tables[name]
		k = cloneKeyspace(k)
		delete(k.Tables, name)
		s.Keyspaces[ks] = k
		return true, nil
	})
	return changed, dropped, err
}

// TableAlter is one ALTER TABLE operation; exactly one group is set.
type TableAlter struct {
	Add         []ColumnDef
	Drop        []string
	Rename      [][2]string // from, to (primary key columns only)
	Options     map[string]OptionValue
	OptionOrder []string
	// AlterType changes a column's type (only to a compatible type).
	AlterColumn, AlterType string
}

// AlterTable applies an ALTER TABLE.
func (m *Manager) AlterTable(ks, name string, a TableAlter) (bool, error) {
	return m.update(func(s *Schema) (bool, error) {
		k := s.Keyspaces[ks]
		if k == nil {
			return false, cqlerr.Invalidf("Keyspace '%s' does not exist", ks)
		}
		old := k.Tables[name]
		if old == nil {
			return false, cqlerr.Invalidf("Table '%s.%s' doesn't exist", ks, name)
		}
		if k.System {
			return false, cqlerr.Unauthorizedf("Cannot ALTER <table %s.%s>", ks, name)
		}
		t := *old
		t.PartitionKey = cloneCols(old.PartitionKey)
		t.Clustering = cloneCols(old.Clustering)
		t.Others = cloneCols(old.Others)
		t.Options = old.Options.clone()
		t.Dropped = maps.Clone(old.Dropped)
		t.All = nil
		switch {
		case len(a.Add) > 0:
			for _, def := range a.Add {
				if old.Column(def.Name) != nil {
					return false, cqlerr.Invalidf("Column with name '%s' already exists", def.Name)
				}
				typ, err := types.Parse(def.Type, ks, resolver(k))
				if err != nil {
					return false, cqlerr.Invalidf("%v", err)
				}
				if err := checkNonFrozenUDT(typ); err != nil {
					return false, err
				}
				kind := Regular
				if def.Static {
					if len(t.Clustering) == 0 {
						return false, cqlerr.Invalidf("Static columns are not allowed in COMPACT STORAGE tables or tables without clustering columns")
					}
					kind = Static
				}
				if typ.Kind == types.Counter {
					return false, cqlerr.Invalidf("Counter columns are not supported yet (column %s)", def.Name)
				}
				t.Others = append(t.Others, &Column{Name: def.Name, Type: typ, Kind: kind, Position: -1, ID: t.NextColumnID})
				t.NextColumnID++
			}
		case len(a.Drop) > 0:
			for _, n := range a.Drop {
				c := old.Column(n)
				if c == nil {
					return false, cqlerr.Invalidf("Column %s was not found in table %s", n, name)
				}
				if c.IsPrimaryKey() {
					return false, cqlerr.Invalidf("Cannot drop PRIMARY KEY column %s", n)
				}
				t.Others = slices.DeleteFunc(t.Others, func(x *Column) bool { return x.Name == n })
				t.Dropped[n] = DroppedColumn{Name: n, Type: c.Type.String(), Kind: c.Kind, DroppedTime: m.now().UnixMicro()}
			}
		case len(a.Rename) > 0:
			for _, r := range a.Rename {
				c := t.findCol(r[0])
				if c == nil {
					return false, cqlerr.Invalidf("Column %s was not found in table %s.%s", r[0], ks, name)
				}
				if !c.IsPrimaryKey() {
					return false, cqlerr.Invalidf("Cannot rename non PRIMARY KEY column %s", r[0])
				}
				if t.findCol(r[1]) != nil {
					return false, cqlerr.Invalidf("Cannot rename column %s to %s in table '%s'; another column with that name already exists", r[0], r[1], name)
				}
				c.Name = r[1]
			}
		case a.AlterColumn != "":
			return false, cqlerr.Invalidf("Altering column types is no longer supported")
		case len(a.OptionOrder) > 0:
			for _, n := range a.OptionOrder {
				if err := t.Options.Set(n, a.Options[n]); err != nil {
					return false, err
				}
			}
		default:
			return false, nil
		}
		t.index()
		k = cloneKeyspace(k)
		k.Tables[name] = &t
		s.Keyspaces[ks] = k
		return true, nil
	})
}

func (t *Table) findCol(name string) *Column {
	for _, group := range [][]*Column{t.PartitionKey, t.Clustering, t.Others} {
		for _, c := range group {
			if c.Name == name {
				return c
			}
		}
	}
	return nil
}

func cloneCols(cs []*Column) []*Column {
	out := make([]*Column, len(cs))
	for i, c := range cs {
		cc := *c
		out[i] = &cc
	}
	return out
}

// TypeField is one field of a user-defined type.
type TypeField struct {
	Name string
	Type string
}

// CreateType creates a user-defined type.
func (m *Manager) CreateType(ks, name string, fields []TypeField, ifNotExists bool) (bool, error) {
	return m.update(func(s *Schema) (bool, error) {
		k := s.Keyspaces[ks]
		if k == nil {
			return false, cqlerr.Invalidf("Keyspace '%s' does not exist", ks)
		}
		if k.Types[name] != nil {
			if ifNotExists {
				return false, nil
			}
			return false, &cqlerr.Error{Code: cqlerr.AlreadyExists, Message: fmt.Sprintf("A user type with name '%s' already exists", name), Keyspace: ks, Table: name}
		}
		if len(fields) == 0 {
			return false, cqlerr.Invalidf("A user type must have at least one field")
		}
		t := &types.Type{Kind: types.UDT, Keyspace: ks, Name: name}
		seen := map[string]bool{}
		for _, f := range fields {
			if seen[f.Name] {
				return false, cqlerr.Invalidf("Duplicate field name '%s' in type '%s'", f.Name, name)
			}
			seen[f.Name] = true
		}
		for _, f := range fields {
			ft, err := types.Parse(f.Type, ks, resolver(k))
			if err != nil {
				return false, cqlerr.Invalidf("%v", err)
			}
			if ft.Kind == types.UDT && ft.Name == name {
				return false, cqlerr.Invalidf("Type %s cannot refer to itself", name)
			}
			if err := checkFieldType(ft); err != nil {
				return false, err
			}
			t.FieldNames = append(t.FieldNames, f.Name)
			t.Elems = append(t.Elems, ft)
		}
		k = cloneKeyspace(k)
		k.Types[name] = t
		k.TypeOrder = append(k.TypeOrder, name)
		s.Keyspaces[ks] = k
		return true, nil
	})
}

// checkFieldType refuses the field types Cassandra 4.0 refuses in a user
// type: counters and non-frozen UDTs. Non-frozen collections are allowed:
// the UDT is frozen (with its fields) wherever it is stored, and a table
// may not use it non-frozen (see checkNonFrozenUDT).
func checkFieldType(ft *types.Type) error {
	if ft.Kind == types.Counter {
		return cqlerr.Invalidf("A user type cannot contain counters")
	}
	if ft.Kind == types.UDT && ft.IsMultiCell() {
		return cqlerr.Invalidf("A user type cannot contain non-frozen UDTs")
	}
	return nil
}

// checkNonFrozenUDT refuses a non-frozen UDT column whose type has a
// non-frozen collection field, as Cassandra does.
func checkNonFrozenUDT(t *types.Type) error {
	if t.Kind != types.UDT || !t.IsMultiCell() {
		return nil
	}
	for _, f := range t.Elems {
		if f.IsMultiCell() {
			return cqlerr.Invalidf("Non-frozen UDTs with nested non-frozen collections are not supported")
		}
	}
	return nil
}

// nonFrozenUser returns the name of a table of k with a non-frozen column
// of user type name ("" when there is none).
func nonFrozenUser(k *Keyspace, name string) string {
	for _, tn := range k.TableNames() {
		for _, c := range k.Tables[tn].All {
			if c.Type.Kind == types.UDT && c.Type.IsMultiCell() && c.Type.Name == name {
				return tn
			}
		}
	}
	return ""
}

// DropType drops a user-defined type that no table or type uses.
func (m *Manager) DropType(ks, name string, ifExists bool) (bool, error) {
	return m.update(func(s *Schema) (bool, error) {
		k := s.Keyspaces[ks]
		if k == nil || k.Types[name] == nil {
			if ifExists {
				return false, nil
			}
			return false, cqlerr.Invalidf("No user type named %s exists.", name)
		}
		for _, t := range k.Tables {
			for _, c := range t.All {
				if usesTypeSelf(c.Type, name) {
					return false, cqlerr.Invalidf("Cannot drop user type %s.%s as it is still used by table %s.%s", ks, name, ks, t.Name)
				}
			}
		}
		for _, tn := range k.TypeOrder {
			if tn != name && usesType(k.Types[tn], name) {
				return false, cqlerr.Invalidf("Cannot drop user type %s.%s as it is still used by user type %s", ks, name, tn)
			}
		}
		k = cloneKeyspace(k)
		delete(k.Types, name)
		k.TypeOrder = slices.DeleteFunc(k.TypeOrder, func(s string) bool { return s == name })
		s.Keyspaces[ks] = k
		return true, nil
	})
}

func usesType(t *types.Type, name string) bool {
	if t == nil {
		return false
	}
	for _, e := range t.Elems {
		if e.Kind == types.UDT && e.Name == name || usesType(e, name) {
			return true
		}
	}
	return false
}

// ---- persistence ----

type jsonSchema struct {
	Keyspaces        []jsonKeyspace   `json:"keyspaces"`
	DroppedKeyspaces map[string]int64 `json:"dropped_keyspaces,omitempty"`
}

type jsonKeyspace struct {
	Name          string            `json:"name"`
	Replication   map[string]string `json:"replication"`
	DurableWrites bool              `json:"durable_writes"`
	Types         []jsonType        `json:"types,omitempty"`
	Tables        []jsonTable       `json:"tables,omitempty"`
	Modified      int64             `json:"modified"`
	DroppedTables map[string]int64  `json:"dropped_tables,omitempty"`
}

type jsonType struct {
	Name   string   `json:"name"`
	Fields []string `json:"fields"`
	Types  []string `json:"types"`
}

type jsonColumn struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Kind     uint8  `json:"kind"`
	Position int    `json:"position"`
	Desc     bool   `json:"desc,omitempty"`
	ID       uint32 `json:"id"`
}

type jsonTable struct {
	Name           string                   `json:"name"`
	ID             [16]byte                 `json:"id"`
	Columns        []jsonColumn             `json:"columns"`
	Options        Options                  `json:"options"`
	Dropped        map[string]DroppedColumn `json:"dropped,omitempty"`
	NextColumnID   uint32                   `json:"next_column_id"`
	CompactStorage bool                     `json:"compact_storage,omitempty"`
	Modified       int64                    `json:"modified"`
}

func encodeSchema(s *Schema) ([]byte, error) {
	js := jsonSchema{DroppedKeyspaces: s.DroppedKeyspaces}
	for _, name := range s.KeyspaceNames() {
		k := s.Keyspaces[name]
		if k.System {
			continue
		}
		jk := jsonKeyspace{Name: k.Name, Replication: k.Replication, DurableWrites: k.DurableWrites, Modified: k.Modified, DroppedTables: k.DroppedTables}
		for _, tn := range k.TypeOrder {
			t := k.Types[tn]
			jt := jsonType{Name: tn, Fields: t.FieldNames}
			for _, e := range t.Elems {
				jt.Types = append(jt.Types, e.String())
			}
			jk.Types = append(jk.Types, jt)
		}
		for _, tn := range k.TableNames() {
			t := k.Tables[tn]
			jt := jsonTable{Name: t.Name, ID: t.ID, Options: t.Options, Dropped: t.Dropped,
				NextColumnID: t.NextColumnID, CompactStorage: t.CompactStorage, Modified: t.Modified}
			for _, c := range t.All {
				jt.Columns = append(jt.Columns, jsonColumn{Name: c.Name, Type: c.Type.String(), Kind: uint8(c.Kind), Position: c.Position, Desc: c.Desc, ID: c.ID})
			}
			jk.Tables = append(jk.Tables, jt)
		}
		js.Keyspaces = append(js.Keyspaces, jk)
	}
	return json.Marshal(js)
}

func decodeSchemaFull(data []byte) ([]*Keyspace, map[string]int64, error) {
	var js jsonSchema
	if err := json.Unmarshal(data, &js); err != nil {
		return nil, nil, err
	}
	var out []*Keyspace
	for _, jk := range js.Keyspaces {
		if err := validName("keyspace", jk.Name); err != nil || IsSystemKeyspace(jk.Name) {
			return nil, nil, fmt.Errorf("bad keyspace name %q", jk.Name)
		}
		k := &Keyspace{Name: jk.Name, Replication: jk.Replication, DurableWrites: jk.DurableWrites,
			Tables: map[string]*Table{}, Types: map[string]*types.Type{}, Modified: jk.Modified, DroppedTables: jk.DroppedTables}
		if k.DroppedTables == nil {
			k.DroppedTables = map[string]int64{}
		}
		for _, jt := range jk.Types {
			t := &types.Type{Kind: types.UDT, Keyspace: k.Name, Name: jt.Name, FieldNames: jt.Fields}
			for _, ts := range jt.Types {
				ft, err := types.Parse(ts, k.Name, resolver(k))
				if err != nil {
					return nil, nil, fmt.Errorf("type %s.%s: %w", k.Name, jt.Name, err)
				}
				t.Elems = append(t.Elems, ft)
			}
			k.Types[jt.Name] = t
			k.TypeOrder = append(k.TypeOrder, jt.Name)
		}
		for _, jt := range jk.Tables {
			t := &Table{Keyspace: k.Name, Name: jt.Name, ID: jt.ID, Options: jt.Options, Dropped: jt.Dropped,
				NextColumnID: jt.NextColumnID, CompactStorage: jt.CompactStorage, Modified: jt.Modified}
			if t.Dropped == nil {
				t.Dropped = map[string]DroppedColumn{}
			}
			for _, jc := range jt.Columns {
				typ, err := types.Parse(jc.Type, k.Name, resolver(k))
				if err != nil {
					return nil, nil, fmt.Errorf("table %s.%s column %s: %w", k.Name, jt.Name, jc.Name, err)
				}
				c := &Column{Name: jc.Name, Type: typ, Kind: ColumnKind(jc.Kind), Position: jc.Position, Desc: jc.Desc, ID: jc.ID}
				switch c.Kind {
				case PartitionKey:
					t.PartitionKey = append(t.PartitionKey, c)
				case Clustering:
					t.Clustering = append(t.Clustering, c)
				default:
					t.Others = append(t.Others, c)
				}
			}
			slices.SortFunc(t.PartitionKey, func(a, b *Column) int { return a.Position - b.Position })
			slices.SortFunc(t.Clustering, func(a, b *Column) int { return a.Position - b.Position })
			t.index()
			k.Tables[t.Name] = t
		}
		out = append(out, k)
	}
	return out, js.DroppedKeyspaces, nil
}

// AlterType adds a field to a user-defined type or renames fields. Values
// written before an ADD read the new field as null.
func (m *Manager) AlterType(ks, name string, add *TypeField, renames [][2]string) (bool, error) {
	return m.update(func(s *Schema) (bool, error) {
		k := s.Keyspaces[ks]
		if k == nil || k.Types[name] == nil {
			return false, cqlerr.Invalidf("No user type named %s exists.", name)
		}
		old := k.Types[name]
		t := *old
		t.FieldNames = slices.Clone(old.FieldNames)
		t.Elems = slices.Clone(old.Elems)
		if add != nil {
			if slices.Contains(t.FieldNames, add.Name) {
				return false, cqlerr.Invalidf("Cannot add new field %s to type %s.%s: a field of the same name already exists", add.Name, ks, name)
			}
			ft, err := types.Parse(add.Type, ks, resolver(k))
			if err != nil {
				return false, cqlerr.Invalidf("%v", err)
			}
			if err := checkFieldType(ft); err != nil {
				return false, err
			}
			if ft.IsMultiCell() {
				if tn := nonFrozenUser(k, name); tn != "" {
					return false, cqlerr.Invalidf("Cannot add non-frozen field %s of type %s to user type %s.%s: table %s.%s uses it as a non-frozen type, and non-frozen UDTs with nested non-frozen collections are not supported", add.Name, ft, ks, name, ks, tn)
				}
			}
			t.FieldNames = append(t.FieldNames, add.Name)
			t.Elems = append(t.Elems, ft)
		}
		for _, r := range renames {
			i := slices.Index(t.FieldNames, r[0])
			if i < 0 {
				return false, cqlerr.Invalidf("Unknown field %s in user type %s", r[0], name)
			}
			if slices.Contains(t.FieldNames, r[1]) {
				return false, cqlerr.Invalidf("Duplicate field name %s in type %s", r[1], name)
			}
			t.FieldNames[i] = r[1]
		}
		k = cloneKeyspace(k)
		k.Types[name] = &t
		// Tables and types holding the old definition must see the new one:
		// re-resolve their column types.
		for tn, tb := range k.Tables {
			k.Tables[tn] = retypeTable(tb, &t)
		}
		s.Keyspaces[ks] = k
		return true, nil
	})
}

// retypeTable returns tb with every occurrence of the UDT u replaced.
func retypeTable(tb *Table, u *types.Type) *Table {
	changed := false
	for _, c := range tb.All {
		if usesTypeSelf(c.Type, u.Name) {
			changed = true
		}
	}
	if !changed {
		return tb
	}
	t := *tb
	t.PartitionKey, t.Clustering, t.Others = cloneCols(tb.PartitionKey), cloneCols(tb.Clustering), cloneCols(tb.Others)
	for _, group := range [][]*Column{t.PartitionKey, t.Clustering, t.Others} {
		for _, c := range group {
			c.Type = replaceUDT(c.Type, u)
		}
	}
	t.All = nil
	t.index()
	return &t
}

func usesTypeSelf(t *types.Type, name string) bool {
	return t.Kind == types.UDT && t.Name == name || usesType(t, name)
}

func replaceUDT(t *types.Type, u *types.Type) *types.Type {
	if t.Kind == types.UDT && t.Name == u.Name {
		nt := *u
		nt.Frozen = t.Frozen
		return &nt
	}
	if len(t.Elems) == 0 {
		return t
	}
	nt := *t
	nt.Elems = make([]*types.Type, len(t.Elems))
	for i, e := range t.Elems {
		nt.Elems[i] = replaceUDT(e, u)
	}
	return &nt
}
