package e2e

import (
	"testing"

	"github.com/gocql/gocql"
)

func TestDDLStatements(t *testing.T) {
	_, s := setupKS(t)
	mustExec(t, s, "ALTER KEYSPACE ks WITH replication = {'class': 'NetworkTopologyStrategy', 'datacenter1': 1} AND durable_writes = true")
	var repl map[string]string
	if err := s.Query("SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = 'ks'").Scan(&repl); err != nil || repl["datacenter1"] != "1" {
		t.Fatalf("ALTER KEYSPACE: %v %v", repl, err)
	}
	mustExec(t, s, "CREATE TYPE ks.person (name text)")
	mustExec(t, s, "CREATE TABLE ks.t (k int PRIMARY KEY, a text, b int, p frozen<person>)")
	mustExec(t, s, "INSERT INTO ks.t (k, a, b, p) VALUES (1, 'x', 2, {name: 'ann'})")
	mustExec(t, s, "ALTER TYPE ks.person ADD age int")
	mustExec(t, s, "ALTER TYPE ks.person RENAME name TO full_name")
	var name string
	var age *int
	if err := s.Query("SELECT p.full_name, p.age FROM ks.t WHERE k = 1").Scan(&name, &age); err != nil || name != "ann" || age != nil {
		t.Fatalf("after ALTER TYPE: %q %v %v", name, age, err)
	}
	mustExec(t, s, "INSERT INTO ks.t (k, p) VALUES (2, {full_name: 'bob', age: 40})")
	expectRows(t, s, []string{"bob|40"}, "SELECT p.full_name, p.age FROM ks.t WHERE k = 2")
	mustExec(t, s, "ALTER TABLE ks.t ADD c list<int>")
	mustExec(t, s, "ALTER TABLE ks.t DROP b")
	mustExec(t, s, "ALTER TABLE ks.t WITH comment = 'hello' AND default_time_to_live = 10")
	var comment string
	var ttl int
	if err := s.Query("SELECT comment, default_time_to_live FROM system_schema.tables WHERE keyspace_name = 'ks' AND table_name = 't'").Scan(&comment, &ttl); err != nil || comment != "hello" || ttl != 10 {
		t.Fatalf("ALTER TABLE WITH: %q %d %v", comment, ttl, err)
	}
	var dropped []string
	iter := s.Query("SELECT column_name FROM system_schema.dropped_columns WHERE keyspace_name = 'ks'").Iter()
	var col string
	for iter.Scan(&col) {
		dropped = append(dropped, col)
	}
	if err := iter.Close(); err != nil || len(dropped) != 1 || dropped[0] != "b" {
		t.Fatalf("dropped_columns: %v %v", dropped, err)
	}
	// Re-adding a dropped column does not resurrect old values.
	mustExec(t, s, "ALTER TABLE ks.t ADD b int")
	var b *int
	if err := s.Query("SELECT b FROM ks.t WHERE k = 1").Scan(&b); err != nil || b != nil {
		t.Fatalf("re-added column resurrected %v (%v)", b, err)
	}
	mustExec(t, s, "CREATE TABLE ks.r (k int, c int, v int, PRIMARY KEY (k, c))")
	mustExec(t, s, "ALTER TABLE ks.r RENAME c TO cc")
	mustExec(t, s, "INSERT INTO ks.r (k, cc, v) VALUES (1, 1, 1)")
	mustExec(t, s, "TRUNCATE ks.r")
	expectRows(t, s, nil, "SELECT * FROM ks.r")
	expectCode(t, s.Query("DROP TYPE ks.person").Exec(), 0x2200, "still used")
	mustExec(t, s, "DROP TABLE ks.t")
	mustExec(t, s, "DROP TYPE ks.person")
	mustExec(t, s, "DROP TABLE IF EXISTS ks.t")
	mustExec(t, s, "DROP KEYSPACE ks")
	mustExec(t, s, "DROP KEYSPACE IF EXISTS ks")
	expectCode(t, s.Query("CREATE KEYSPACE bad WITH replication = {'class': 'SimpleStrategy'}").Exec(), 0x2300, "replication_factor")
	expectCode(t, s.Query("CREATE MATERIALIZED VIEW v AS SELECT * FROM x").Exec(), 0x2200, "not supported")
}

func TestUnsetAndNamedValues(t *testing.T) {
	_, s := setupKS(t)
	mustExec(t, s, "CREATE TABLE ks.u (k int PRIMARY KEY, a text, b text)")
	mustExec(t, s, "INSERT INTO ks.u (k, a, b) VALUES (1, 'a1', 'b1')")
	// An unset value leaves the column as it is (a null would delete it).
	mustExec(t, s, "INSERT INTO ks.u (k, a, b) VALUES (?, ?, ?)", 1, "a2", gocql.UnsetValue)
	expectRows(t, s, []string{"a2|b1"}, "SELECT a, b FROM ks.u WHERE k = 1")
	mustExec(t, s, "UPDATE ks.u SET a = ?, b = ? WHERE k = ?", nil, gocql.UnsetValue, 1)
	expectRows(t, s, []string{"|b1"}, "SELECT a, b FROM ks.u WHERE k = 1")
}
