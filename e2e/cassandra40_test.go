package e2e

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/gocql/gocql"
)

// TestPrepareRefusesMissingKeyDriver: a driver preparing a modification
// that does not name its whole primary key gets Cassandra's InvalidRequest
// at PREPARE, and nothing is written.
func TestPrepareRefusesMissingKeyDriver(t *testing.T) {
	_, s := setupKS(t)
	mustExec(t, s, "CREATE TABLE ks.t (k int, c int, v int, PRIMARY KEY (k, c))")
	for _, tc := range []struct {
		q    string
		args []any
		want string
	}{
		{"INSERT INTO ks.t (v) VALUES (?)", []any{1}, "Some partition key parts are missing: k"},
		{"INSERT INTO ks.t (k, v) VALUES (?, ?)", []any{1, 1}, "Some clustering keys are missing: c"},
		{"UPDATE ks.t SET v = ? WHERE k = ?", []any{1, 1}, "Some clustering keys are missing: c"},
		{"DELETE FROM ks.t WHERE c = ?", []any{1}, "Some partition key parts are missing: k"},
	} {
		expectCode(t, s.Query(tc.q, tc.args...).Exec(), 0x2200, tc.want)
	}
	expectRows(t, s, []string{"0"}, "SELECT count(*) FROM ks.t")
}

// TestConditionalBatchDriver: a conditional batch on one partition
// applies or not as a whole, and the driver reads Cassandra's result
// shape; batches over several partitions are refused.
func TestConditionalBatchDriver(t *testing.T) {
	_, s := setupKS(t)
	mustExec(t, s, "CREATE TABLE ks.cb (k int, c int, v text, PRIMARY KEY (k, c))")
	insert := "INSERT INTO ks.cb (k, c, v) VALUES (?, ?, ?) IF NOT EXISTS"
	b := s.NewBatch(gocql.LoggedBatch)
	b.Query(insert, 1, 1, "a")
	b.Query(insert, 1, 2, "b")
	m := map[string]any{}
	applied, iter, err := s.MapExecuteBatchCAS(b, m)
	if err != nil || !applied {
		t.Fatalf("first batch: applied=%v %v", applied, err)
	}
	iter.Close()

	b = s.NewBatch(gocql.LoggedBatch)
	b.Query(insert, 1, 2, "x")
	b.Query(insert, 1, 3, "y")
	m = map[string]any{}
	applied, iter, err = s.MapExecuteBatchCAS(b, m)
	if err != nil || applied {
		t.Fatalf("second batch: applied=%v %v", applied, err)
	}
	if got := fmt.Sprintf("%v %v %v", m["k"], m["c"], m["v"]); got != "1 2 b" {
		t.Fatalf("row of the failed condition: %v", m)
	}
	iter.Close()
	expectRows(t, s, []string{"1|a", "2|b"}, "SELECT c, v FROM ks.cb WHERE k = 1")

	b = s.NewBatch(gocql.UnloggedBatch)
	b.Query(insert, 1, 5, "x")
	b.Query(insert, 2, 5, "y")
	_, _, err = s.ExecuteBatchCAS(b)
	expectCode(t, err, 0x2200, "Batch with conditions cannot span multiple partitions")
	expectCode(t, s.Query("BEGIN BATCH USING TIMESTAMP 1 INSERT INTO ks.cb (k, c) VALUES (1, 9) IF NOT EXISTS; APPLY BATCH").Exec(),
		0x2200, "Cannot provide custom timestamp for conditional BATCH")
	expectRows(t, s, []string{"2"}, "SELECT count(*) FROM ks.cb")
}

// TestUDTWithCollectionsDriver: a UDT with non-frozen collection fields is
// created, and its values round-trip through a driver, frozen and inside
// a list.
func TestUDTWithCollectionsDriver(t *testing.T) {
	_, s := setupKS(t)
	mustExec(t, s, "CREATE TYPE ks.bag (a list<text>, b map<text, text>)")
	mustExec(t, s, "CREATE TABLE ks.u (k int PRIMARY KEY, f frozen<bag>, l list<frozen<bag>>)")
	f := map[string]any{"a": []string{"x", "y"}, "b": map[string]string{"k": "v"}}
	l := []map[string]any{{"a": []string{"z"}, "b": map[string]string{}}, {"a": []string{}, "b": map[string]string{"q": "r"}}}
	mustExec(t, s, "INSERT INTO ks.u (k, f, l) VALUES (?, ?, ?)", 1, f, l)
	var gotF map[string]any
	var gotL []map[string]any
	if err := s.Query("SELECT f, l FROM ks.u WHERE k = 1").Scan(&gotF, &gotL); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotF["a"], []string{"x", "y"}) || !reflect.DeepEqual(gotF["b"], map[string]string{"k": "v"}) {
		t.Fatalf("f = %#v", gotF)
	}
	if len(gotL) != 2 || !reflect.DeepEqual(gotL[0]["a"], []string{"z"}) || !reflect.DeepEqual(gotL[1]["b"], map[string]string{"q": "r"}) {
		t.Fatalf("l = %#v", gotL)
	}
	expectRows(t, s, []string{"[a b]|[list<text> map<text, text>]"}, "SELECT field_names, field_types FROM system_schema.types WHERE keyspace_name = 'ks' AND type_name = 'bag'")
}
