package query

import (
	"testing"

	"github.com/ringdb/ringdb/internal/cqlerr"
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
