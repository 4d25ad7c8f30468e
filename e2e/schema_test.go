package e2e

import (
	"testing"
	"time"

	"github.com/gocql/gocql"
)

// TestSchemaMetadataThroughDriver reads keyspace/table/column/UDT metadata
// through gocql's KeyspaceMetadata (which reads system_schema.*).
func TestSchemaMetadataThroughDriver(t *testing.T) {
	n, s := setupKS(t)
	mustExec(t, s, "CREATE TYPE ks.point (x double, y double)")
	mustExec(t, s, `CREATE TABLE ks.events (tenant text, day date, at timestamp, id uuid, kind text STATIC,
		payload map<text, text>, loc frozen<point>, PRIMARY KEY ((tenant, day), at, id))
		WITH CLUSTERING ORDER BY (at DESC, id ASC) AND comment = 'audit events' AND gc_grace_seconds = 3600`)
	km, err := s.KeyspaceMetadata("ks")
	if err != nil {
		t.Fatal(err)
	}
	if km.StrategyClass != "org.apache.cassandra.locator.SimpleStrategy" || km.StrategyOptions["replication_factor"] != "1" {
		t.Fatalf("keyspace replication: %s %v", km.StrategyClass, km.StrategyOptions)
	}
	tm := km.Tables["events"]
	if tm == nil {
		t.Fatalf("table missing from metadata: %v", km.Tables)
	}
	var pk, ck []string
	for _, c := range tm.PartitionKey {
		pk = append(pk, c.Name)
	}
	for _, c := range tm.ClusteringColumns {
		ck = append(ck, c.Name+":"+c.ClusteringOrder)
	}
	expectEq(t, pk, []string{"tenant", "day"})
	expectEq(t, ck, []string{"at:desc", "id:asc"})
	if c := tm.Columns["payload"]; c == nil || c.Type.Type() != gocql.TypeMap {
		t.Fatalf("payload column: %+v", c)
	}
	if c := tm.Columns["kind"]; c == nil || c.Kind != gocql.ColumnStatic {
		t.Fatalf("static column: %+v", c)
	}
	if ut := km.UserTypes["point"]; ut == nil || len(ut.FieldNames) != 2 || ut.FieldNames[1] != "y" {
		t.Fatalf("UDT metadata: %+v", km.UserTypes)
	}
	// Schema version changes with every change and is the same on reads.
	var v1, v2 gocql.UUID
	if err := s.Query("SELECT schema_version FROM system.local WHERE key = 'local'").Scan(&v1); err != nil {
		t.Fatal(err)
	}
	mustExec(t, s, "ALTER TABLE ks.events ADD extra int")
	if err := s.Query("SELECT schema_version FROM system.local WHERE key = 'local'").Scan(&v2); err != nil {
		t.Fatal(err)
	}
	if v1 == v2 {
		t.Fatal("schema version did not change")
	}
	// Metadata survives a restart.
	dir := n.cfg.DataDir
	n.node.Close()
	n2 := startNode(t, dir)
	s2 := n2.session()
	km2, err := s2.KeyspaceMetadata("ks")
	if err != nil {
		t.Fatal(err)
	}
	if km2.Tables["events"] == nil || km2.Tables["events"].Columns["extra"] == nil {
		t.Fatal("schema lost across restart")
	}
	var v3 gocql.UUID
	if err := s2.Query("SELECT schema_version FROM system.local").Scan(&v3); err != nil || v3 != v2 {
		t.Fatalf("schema version after restart %v != %v (%v)", v3, v2, err)
	}
	// DDL errors.
	expectCode(t, s2.Query("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}").Exec(), 0x2400, "already exists")
	expectCode(t, s2.Query("CREATE TABLE ks.events (a int PRIMARY KEY)").Exec(), 0x2400, "already exists")
	mustExec(t, s2, "CREATE TABLE IF NOT EXISTS ks.events (a int PRIMARY KEY)")
	expectCode(t, s2.Query("CREATE TABLE ks.bad (a int, b list<int>, PRIMARY KEY (b))").Exec(), 0x2200, "")
	mustExec(t, s2, "DROP TABLE ks.events")
	expectCode(t, s2.Query("SELECT * FROM ks.events").Exec(), 0x2200, "unconfigured table")
}

// TestPreparedSurvivesRestart: after a restart the node has forgotten its
// prepared statements; it answers Unprepared (0x2500) and gocql re-prepares.
func TestPreparedSurvivesRestart(t *testing.T) {
	n, s := setupKS(t)
	mustExec(t, s, "CREATE TABLE ks.p (k int PRIMARY KEY, v text)")
	dir := n.cfg.DataDir
	port := n.port
	q := "INSERT INTO ks.p (k, v) VALUES (?, ?)"
	mustExec(t, s, q, 1, "one")
	n.node.Close()
	// Restart on the same port; the driver reconnects by itself.
	n2 := startNode(t, dir, func(c *cfgT) { c.NativePort = port })
	_ = n2
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := s.Query(q, 2, "two").Exec()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("prepared statement not re-prepared after restart: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var v string
	if err := s.Query("SELECT v FROM ks.p WHERE k = ?", 2).Scan(&v); err != nil || v != "two" {
		t.Fatalf("got %q %v", v, err)
	}
}
