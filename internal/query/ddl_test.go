package query

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ringdb/ringdb/internal/cql"
	"github.com/ringdb/ringdb/internal/cqlerr"
	"github.com/ringdb/ringdb/internal/schema"
)

// TestTableMetadataStrings: system_schema shows compression, custom types
// and UDT field types as Cassandra 4.0 does.
func TestTableMetadataStrings(t *testing.T) {
	tp := newTestProc(t, Options{})
	tp.exec("CREATE TABLE plain (k int PRIMARY KEY)")
	tp.exec("CREATE TABLE off (k int PRIMARY KEY) WITH compression = {'enabled': 'false'}")
	tp.exec("CREATE TABLE empty (k int PRIMARY KEY) WITH compression = {}")
	tp.exec("CREATE TABLE snappy (k int PRIMARY KEY) WITH compression = {'class': 'SnappyCompressor'}")
	tp.exec("ALTER TABLE plain WITH compression = {'class': 'LZ4Compressor', 'chunk_length_in_kb': 64}")
	wantRows(t, tp.rows("SELECT table_name, compression FROM system_schema.tables WHERE keyspace_name = 'ks'"),
		"table_name | compression",
		"empty | {'enabled': 'false'}",
		"off | {'enabled': 'false'}",
		"plain | {'chunk_length_in_kb': '64', 'class': 'org.apache.cassandra.io.compress.LZ4Compressor'}",
		"snappy | {'chunk_length_in_kb': '16', 'class': 'org.apache.cassandra.io.compress.SnappyCompressor'}")
	_, err := tp.query("ALTER TABLE plain WITH compression = {'chunk_length_in_kb': 32}")
	wantErr(t, err, cqlerr.ConfigError, "Missing sub-option 'class' for the 'compression' option.")

	tp.exec("CREATE TABLE cu (k int PRIMARY KEY, a 'XType', b 'org.apache.cassandra.db.marshal.YType', c 'Int32Type', d 'com.example.Z')")
	wantRows(t, tp.rows("SELECT column_name, type FROM system_schema.columns WHERE keyspace_name = 'ks' AND table_name = 'cu'"),
		"column_name | type",
		"a | 'org.apache.cassandra.db.marshal.XType'",
		"b | 'org.apache.cassandra.db.marshal.YType'",
		"c | int",
		"d | 'com.example.Z'",
		"k | int")
	res := tp.exec("SELECT a FROM cu")
	if got := res.Rows.Columns[0].Type.CustomClass; got != "org.apache.cassandra.db.marshal.XType" {
		t.Fatalf("result metadata custom class %q", got)
	}
}

// TestCompactStorageRefused: WITH COMPACT STORAGE is refused, not dropped.
func TestCompactStorageRefused(t *testing.T) {
	tp := newTestProc(t, Options{})
	_, err := tp.query("CREATE TABLE c (k int, c int, v int, PRIMARY KEY (k, c)) WITH COMPACT STORAGE")
	wantErr(t, err, cqlerr.Invalid, "COMPACT STORAGE tables are not supported by ringdb: create the table without WITH COMPACT STORAGE")
	_, err = tp.query("SELECT * FROM c")
	wantErr(t, err, cqlerr.Invalid, "unconfigured table c")
}

// TestUDTWithCollectionsRoundTrip: a UDT with non-frozen collection
// fields stores and returns its values, frozen and inside a collection,
// and system_schema.types shows the fields as declared.
func TestUDTWithCollectionsRoundTrip(t *testing.T) {
	tp := newTestProc(t, Options{})
	tp.exec("CREATE TYPE bag (a list<text>, b map<text, text>, c set<int>)")
	tp.exec("CREATE TABLE t (k int PRIMARY KEY, f frozen<bag>, l list<frozen<bag>>)")
	tp.exec("INSERT INTO t (k, f, l) VALUES (1, {a: ['x', 'y'], b: {'k': 'v'}, c: {3, 1}}, [{a: ['z']}, {b: {'q': 'r'}}])")
	wantRows(t, tp.rows("SELECT f, l FROM t WHERE k = 1"), "f | l",
		"{a: ['x', 'y'], b: {'k': 'v'}, c: {1, 3}} | [{a: ['z'], b: null, c: null}, {a: null, b: {'q': 'r'}, c: null}]")
	wantRows(t, tp.rows("SELECT f.a, f.b FROM t WHERE k = 1"), "f.a | f.b", "['x', 'y'] | {'k': 'v'}")
	wantRows(t, tp.rows("SELECT type_name, field_names, field_types FROM system_schema.types WHERE keyspace_name = 'ks'"),
		"type_name | field_names | field_types", "bag | ['a', 'b', 'c'] | ['list<text>', 'map<text, text>', 'set<int>']")
	_, err := tp.query("CREATE TABLE bad (k int PRIMARY KEY, f bag)")
	wantErr(t, err, cqlerr.Invalid, "Non-frozen UDTs with nested non-frozen collections are not supported")
}

// TestDDLStatements runs schema statements in order, each giving a schema
// change, nothing (void: IF [NOT] EXISTS with nothing to do) or
// Cassandra's error; every change is also reported to OnSchemaChange.
func TestDDLStatements(t *testing.T) {
	var changes []string
	fmtChange := func(c schema.Change) string {
		s := string(c.Type) + " " + c.Target + " " + c.Keyspace
		if c.Name != "" {
			s += "." + c.Name
		}
		return s
	}
	tp := newTestProc(t, Options{OnSchemaChange: func(c schema.Change) { changes = append(changes, fmtChange(c)) }})
	const noKS = "No keyspace has been specified. USE a keyspace, or explicitly specify keyspace.tablename"
	for _, tc := range []struct {
		ks, q, want string
	}{
		// Keyspaces.
		{"", "CREATE KEYSPACE k2 WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1} AND durable_writes = false", "CREATED KEYSPACE k2"},
		{"", "CREATE KEYSPACE IF NOT EXISTS k2 WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}", "void"},
		{"", "CREATE KEYSPACE k2 WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}", "0x2400 Keyspace k2 already exists"},
		{"", "CREATE KEYSPACE k3 WITH durable_writes = true", "0x2300 Missing mandatory option 'replication'"},
		{"", "CREATE KEYSPACE k3 WITH replication = 'x'", "0x2300 Invalid value for property 'replication'"},
		{"", "CREATE KEYSPACE k3 WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1} AND durable_writes = 'maybe'", "0x2300 Invalid boolean value maybe for 'durable_writes'"},
		{"", "CREATE KEYSPACE k3 WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1} AND speed = 'fast'", "0x2300 Unknown property 'speed'"},
		{"", "ALTER KEYSPACE k2 WITH durable_writes = true", "UPDATED KEYSPACE k2"},
		{"", "ALTER KEYSPACE IF EXISTS nope WITH durable_writes = true", "void"},
		{"", "ALTER KEYSPACE k2 WITH replication = 'x'", "0x2300 Invalid value for property 'replication'"},
		// Tables.
		{"", "CREATE TABLE t (k int PRIMARY KEY)", "0x2200 " + noKS},
		{"", "CREATE TABLE k2.t (k int PRIMARY KEY, c int, v int, w int) WITH comment = 'c' AND compaction = {'class': 'LeveledCompactionStrategy'}", "CREATED TABLE k2.t"},
		{"k2", "CREATE TABLE IF NOT EXISTS t (k int PRIMARY KEY)", "void"},
		{"k2", "CREATE TABLE t2 (k int PRIMARY KEY, v int PRIMARY KEY)", "0x2200 Multiple PRIMARY KEYs specified (exactly one required)"},
		{"k2", "CREATE TABLE t2 (k int PRIMARY KEY) WITH caching = {'keys': [1]}", "0x2000 Invalid value for property 'caching': map entries must be constants"},
		{"k2", "ALTER TABLE t ADD x int", "UPDATED TABLE k2.t"},
		{"k2", "ALTER TABLE t ADD IF NOT EXISTS x int", "void"},
		{"k2", "ALTER TABLE t DROP w", "UPDATED TABLE k2.t"},
		{"k2", "ALTER TABLE t DROP IF EXISTS w", "void"},
		{"k2", "ALTER TABLE t WITH comment = 'd' AND gc_grace_seconds = 10", "UPDATED TABLE k2.t"},
		{"k2", "ALTER TABLE t DROP COMPACT STORAGE", "0x2200 DROP COMPACT STORAGE is not supported by ringdb"},
		{"k2", "ALTER TABLE IF EXISTS nope ADD x int", "void"},
		{"", "ALTER TABLE t ADD y int", "0x2200 " + noKS},
		{"", "DROP TABLE t", "0x2200 " + noKS},
		{"k2", "DROP TABLE IF EXISTS nope", "void"},
		{"k2", "DROP TABLE nope", "0x2200 Table 'k2.nope' doesn't exist"},
		{"k2", "ALTER TABLE nope ADD x int", "0x2200 Table 'k2.nope' doesn't exist"},
		{"", "ALTER KEYSPACE nope WITH durable_writes = true", "0x2300 Keyspace 'nope' doesn't exist"},
		{"k2", "ALTER TYPE nope ADD x int", "0x2200 No user type named nope exists."},
		{"k2", "CREATE TABLE t (k int PRIMARY KEY)", "0x2400 Object k2.t already exists"},
		// Types.
		{"k2", "CREATE TYPE addr (street text)", "CREATED TYPE k2.addr"},
		{"k2", "CREATE TYPE IF NOT EXISTS addr (street text)", "void"},
		{"", "CREATE TYPE addr (street text)", "0x2200 " + noKS},
		{"k2", "ALTER TYPE addr ADD zip int", "UPDATED TYPE k2.addr"},
		{"k2", "ALTER TYPE addr RENAME zip TO code AND street TO road", "UPDATED TYPE k2.addr"},
		{"k2", "ALTER TYPE addr ALTER code TYPE bigint", "0x2200 Altering field types is no longer supported"},
		{"k2", "ALTER TYPE IF EXISTS nope ADD x int", "void"},
		{"", "ALTER TYPE IF EXISTS nope.nope ADD x int", "void"},
		{"", "ALTER TYPE addr ADD x int", "0x2200 " + noKS},
		{"k2", "DROP TYPE addr", "DROPPED TYPE k2.addr"},
		{"k2", "DROP TYPE IF EXISTS addr", "void"},
		{"", "DROP TYPE addr", "0x2200 " + noKS},
		// Indexes.
		{"k2", "CREATE INDEX ON t (v)", "0x2200 Secondary indexes are not supported by ringdb yet"},
		{"k2", "DROP INDEX t_v_idx", "0x2200 Secondary indexes are not supported by ringdb yet"},
		// Dropping.
		{"", "DROP TABLE k2.t", "DROPPED TABLE k2.t"},
		{"", "DROP KEYSPACE k2", "DROPPED KEYSPACE k2"},
		{"", "DROP KEYSPACE IF EXISTS k2", "void"},
	} {
		before := len(changes)
		tp.s.Keyspace = tc.ks
		res, err := tp.query(tc.q)
		var got string
		switch {
		case err != nil:
			var ce *cqlerr.Error
			if !errors.As(err, &ce) {
				t.Fatalf("%s: %v", tc.q, err)
			}
			got = fmt.Sprintf("%#x %s", ce.Code, ce.Message)
		case res.Kind == ResultVoid:
			got = "void"
		case res.Kind == ResultSchemaChange:
			got = fmtChange(res.Change)
			if len(changes) != before+1 || changes[before] != got {
				t.Errorf("%s: OnSchemaChange saw %q", tc.q, changes[before:])
			}
		default:
			t.Fatalf("%s: result kind %d", tc.q, res.Kind)
		}
		if got != tc.want {
			t.Errorf("%s:\n got: %s\nwant: %s", tc.q, got, tc.want)
		}
		if got != "" && !strings.HasPrefix(got, "CREATED") && !strings.HasPrefix(got, "UPDATED") && !strings.HasPrefix(got, "DROPPED") && len(changes) != before {
			t.Errorf("%s: OnSchemaChange called without a change", tc.q)
		}
	}
}

// TestDDLEffects: what the statements leave in the schema and the data.
func TestDDLEffects(t *testing.T) {
	tp := newTestProc(t, Options{})
	tp.exec("CREATE KEYSPACE k2 WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1} AND durable_writes = false")
	wantRows(t, tp.rows("SELECT durable_writes, replication FROM system_schema.keyspaces WHERE keyspace_name = 'k2'"),
		"durable_writes | replication", "False | {'class': 'org.apache.cassandra.locator.SimpleStrategy', 'replication_factor': '1'}")
	tp.exec("ALTER KEYSPACE k2 WITH durable_writes = true")
	wantRows(t, tp.rows("SELECT durable_writes FROM system_schema.keyspaces WHERE keyspace_name = 'k2'"), "durable_writes", "True")

	tp.exec("CREATE TABLE k2.t (k int, c int, v int, w int, PRIMARY KEY (k, c)) WITH CLUSTERING ORDER BY (c DESC) AND comment = 'hello'")
	tp.exec("INSERT INTO k2.t (k, c, v, w) VALUES (1, 2, 3, 4)")
	tp.exec("ALTER TABLE k2.t ADD (x int, s int static)")
	tp.exec("ALTER TABLE k2.t DROP w")
	tp.exec("ALTER TABLE k2.t RENAME c TO cc")
	tp.exec("ALTER TABLE k2.t WITH comment = 'bye'")
	wantRows(t, tp.rows("SELECT column_name, clustering_order, kind, type FROM system_schema.columns WHERE keyspace_name = 'k2' AND table_name = 't'"),
		"column_name | clustering_order | kind | type",
		"cc | desc | clustering | int",
		"k | none | partition_key | int",
		"s | none | static | int",
		"v | none | regular | int",
		"x | none | regular | int")
	wantRows(t, tp.rows("SELECT comment FROM system_schema.tables WHERE keyspace_name = 'k2' AND table_name = 't'"), "comment", "bye")
	wantRows(t, tp.rows("SELECT * FROM k2.t"), "k | cc | s | v | x", "1 | 2 | null | 3 | null")

	// A dropped table's data goes with it: the same name is empty again.
	tp.exec("DROP TABLE k2.t")
	tp.exec("CREATE TABLE k2.t (k int, c int, v int, PRIMARY KEY (k, c))")
	wantRows(t, tp.rows("SELECT * FROM k2.t"), "k | c | v")
	tp.exec("INSERT INTO k2.t (k, c, v) VALUES (1, 1, 1)")

	tp.exec("CREATE TYPE k2.addr (street text, city text)")
	tp.exec("ALTER TYPE k2.addr ADD zip int")
	tp.exec("ALTER TYPE k2.addr RENAME street TO road")
	wantRows(t, tp.rows("SELECT field_names, field_types FROM system_schema.types WHERE keyspace_name = 'k2'"),
		"field_names | field_types", "['road', 'city', 'zip'] | ['text', 'text', 'int']")

	// Dropping the keyspace drops its tables and their data.
	tp.exec("DROP KEYSPACE k2")
	wantRows(t, tp.rows("SELECT table_name FROM system_schema.tables WHERE keyspace_name = 'k2'"), "table_name")
	tp.exec("CREATE KEYSPACE k2 WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
	tp.exec("CREATE TABLE k2.t (k int, c int, v int, PRIMARY KEY (k, c))")
	wantRows(t, tp.rows("SELECT * FROM k2.t"), "k | c | v")
}

// TestOptionValue: WITH option values the parser hands over: constants,
// maps of constants and {}; anything else is refused.
func TestOptionValue(t *testing.T) {
	str := func(s string) *cql.Constant { return &cql.Constant{Kind: cql.ConstString, Text: s} }
	for _, tc := range []struct {
		v    cql.Expr
		want string
	}{
		{str("x"), "text x"},
		{&cql.MapLiteral{Entries: []cql.MapEntry{{Key: str("a"), Value: str("1")}}}, "map map[a:1]"},
		{&cql.EmptyCollection{}, "map map[]"},
		{&cql.MapLiteral{Entries: []cql.MapEntry{{Key: str("a"), Value: &cql.ListLiteral{}}}}, "0x2000 Invalid value for property 'o': map entries must be constants"},
		{&cql.ListLiteral{}, "0x2000 Invalid value for property 'o'"},
	} {
		v, err := optionValue(cql.Option{Name: "o", Value: tc.v})
		var got string
		var ce *cqlerr.Error
		switch {
		case errors.As(err, &ce):
			got = fmt.Sprintf("%#x %s", ce.Code, ce.Message)
		case err != nil:
			got = err.Error()
		case v.IsText && !v.IsMap:
			got = "text " + v.Text
		case v.IsMap && !v.IsText && v.Map != nil:
			got = fmt.Sprintf("map %v", v.Map)
		default:
			got = fmt.Sprintf("%+v", v)
		}
		if got != tc.want {
			t.Errorf("optionValue(%T): got %q, want %q", tc.v, got, tc.want)
		}
	}
}
