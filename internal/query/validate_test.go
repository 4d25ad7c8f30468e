package query

import (
	"context"
	"testing"

	"github.com/ringdb/ringdb/internal/consistency"
	"github.com/ringdb/ringdb/internal/cqlerr"
	"github.com/ringdb/ringdb/internal/types"
)

const keyTable = "CREATE TABLE t (k1 int, k2 int, c1 int, c2 int, s int STATIC, v int, PRIMARY KEY ((k1, k2), c1, c2))"

// TestPrepareRefusesMissingKey: as in Cassandra, a modification that does
// not name its whole primary key fails at PREPARE (and a QUERY fails the
// same way, before its values are counted), listing every missing column.
func TestPrepareRefusesMissingKey(t *testing.T) {
	tp := newTestProc(t, Options{})
	tp.exec(keyTable)
	for _, tc := range []struct{ q, err string }{
		{"INSERT INTO t (v) VALUES (?)", "Some partition key parts are missing: k1, k2"},
		{"INSERT INTO t (k2, v) VALUES (?, ?)", "Some partition key parts are missing: k1"},
		{"INSERT INTO t (k1, k2, v) VALUES (?, ?, ?)", "Some clustering keys are missing: c1, c2"},
		{"INSERT INTO t (k1, k2, c2, v) VALUES (?, ?, ?, ?)", "Some clustering keys are missing: c1"},
		{"INSERT INTO t (k1, k2, c1, s) VALUES (?, ?, ?, ?)", "Some clustering keys are missing: c2"},
		{"INSERT INTO t (k1, k2, nope) VALUES (?, ?, ?)", "Undefined column name nope"},
		{"INSERT INTO t (k1, v, v) VALUES (?, ?, ?)", "The column names contains duplicates"},
		{"UPDATE t SET v = ? WHERE c1 = ? AND c2 = ?", "Some partition key parts are missing: k1, k2"},
		{"UPDATE t SET v = ? WHERE k1 = ? AND c1 = ? AND c2 = ?", "Some partition key parts are missing: k2"},
		{"UPDATE t SET v = ? WHERE k1 = ? AND k2 = ?", "Some clustering keys are missing: c1, c2"},
		{"UPDATE t SET v = ? WHERE k1 = ? AND k2 = ? AND c2 = ?", "Some clustering keys are missing: c1"},
		{"UPDATE t SET v = ? WHERE k1 = ? AND k2 = ? AND c1 = ? AND c2 > ?", "Slice restrictions are not supported on the clustering columns in UPDATE statements"},
		{"UPDATE t SET v = ? WHERE token(k1, k2) = ? AND c1 = ? AND c2 = ?", "The token function cannot be used in WHERE clauses for UPDATE statements"},
		{"UPDATE t SET v = ? WHERE k1 > ? AND k2 = ? AND c1 = ? AND c2 = ?", "Only EQ and IN relation are supported on the partition key (unless you use the token() function) for UPDATE statements"},
		{"DELETE FROM t WHERE k2 = ? AND c1 = ?", "Some partition key parts are missing: k1"},
		{"DELETE FROM t WHERE token(k1, k2) = ?", "The token function cannot be used in WHERE clauses for DELETE statements"},
		{"BEGIN BATCH INSERT INTO t (k1, k2, c1, c2) VALUES (1, 1, 1, 1); INSERT INTO t (k1, v) VALUES (?, ?); APPLY BATCH", "Some partition key parts are missing: k2"},
	} {
		_, err := tp.p.Prepare(context.Background(), tp.s, tc.q)
		wantErr(t, err, cqlerr.Invalid, tc.err)
		// Unprepared, the statement fails the same way although no value
		// is bound to its markers.
		_, err = tp.p.Query(context.Background(), tp.s, tc.q, &Params{Consistency: consistency.One})
		wantErr(t, err, cqlerr.Invalid, tc.err)
	}
}

// TestPrepareAcceptsWholeKey: the statements Cassandra accepts still
// prepare: static-only writes without clustering, DELETE of a clustering
// prefix or slice, IN on the key.
func TestPrepareAcceptsWholeKey(t *testing.T) {
	tp := newTestProc(t, Options{})
	tp.exec(keyTable)
	for _, q := range []string{
		"INSERT INTO t (k1, k2, c1, c2, v) VALUES (?, ?, ?, ?, ?)",
		"INSERT INTO t (k1, k2, s) VALUES (?, ?, ?)",
		"UPDATE t SET v = ? WHERE k1 = ? AND k2 IN ? AND c1 = ? AND c2 IN (1, 2)",
		"UPDATE t SET v = ? WHERE k1 = ? AND k2 = ? AND (c1, c2) = (?, ?)",
		"UPDATE t SET s = ? WHERE k1 = ? AND k2 = ?",
		"DELETE FROM t WHERE k1 = ? AND k2 = ?",
		"DELETE FROM t WHERE k1 = ? AND k2 = ? AND c1 = ?",
		"DELETE FROM t WHERE k1 = ? AND k2 = ? AND c1 > ?",
		"DELETE s FROM t WHERE k1 = ? AND k2 = ?",
		"DELETE v FROM t WHERE k1 = ? AND k2 = ?", // refused when executed (range)
	} {
		if _, err := tp.p.Prepare(context.Background(), tp.s, q); err != nil {
			t.Errorf("%s: %v", q, err)
		}
	}
}

// TestDeleteColumnsOfRange: deleting given columns needs the whole primary
// key; Cassandra names the problem a range deletion.
func TestDeleteColumnsOfRange(t *testing.T) {
	tp := newTestProc(t, Options{})
	tp.exec(keyTable)
	for _, q := range []string{
		"DELETE v FROM t WHERE k1 = 1 AND k2 = 1",
		"DELETE v FROM t WHERE k1 = 1 AND k2 = 1 AND c1 = 1",
		"DELETE v FROM t WHERE k1 = 1 AND k2 = 1 AND c1 = 1 AND c2 > 1",
	} {
		_, err := tp.query(q)
		wantErr(t, err, cqlerr.Invalid, "Range deletions are not supported for specific columns")
	}
	tp.exec("INSERT INTO t (k1, k2, c1, c2, s, v) VALUES (1, 1, 1, 1, 7, 8)")
	tp.exec("DELETE s FROM t WHERE k1 = 1 AND k2 = 1")
	tp.exec("DELETE v FROM t WHERE k1 = 1 AND k2 = 1 AND c1 = 1 AND c2 = 1")
	wantRows(t, tp.rows("SELECT c1, s, v FROM t WHERE k1 = 1 AND k2 = 1"), "c1 | s | v", "1 | null | null")
}

// TestBatchMessageRefusesMissingKey: a query string in a BATCH message is
// prepared, so a missing key fails before its values are counted.
func TestBatchMessageRefusesMissingKey(t *testing.T) {
	tp := newTestProc(t, Options{})
	tp.exec(keyTable)
	entries := []BatchEntry{
		{Query: "INSERT INTO t (k1, k2, c1, c2) VALUES (?, ?, ?, ?)", Values: vals(1, 1, 1, 1)},
		{Query: "UPDATE t SET v = ? WHERE k1 = ? AND k2 = ?"},
	}
	_, err := tp.p.Batch(context.Background(), tp.s, 0, entries, &Params{Consistency: consistency.One})
	wantErr(t, err, cqlerr.Invalid, "Some clustering keys are missing: c1, c2")
	wantRows(t, tp.rows("SELECT count(*) FROM t"), "count", "0")
}

// vals encodes ints as bound values.
func vals(ints ...int32) []Value {
	out := make([]Value, len(ints))
	for i, n := range ints {
		out[i] = Value{Bytes: types.IntValue(n)}
	}
	return out
}
