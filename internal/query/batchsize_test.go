package query

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/ringdb/ringdb/internal/consistency"
	"github.com/ringdb/ringdb/internal/cqlerr"
)

// batchOf builds a BEGIN BATCH of the given statements.
func batchOf(stmts ...string) string {
	return "BEGIN BATCH " + strings.Join(stmts, "; ") + "; APPLY BATCH"
}

// TestBatchSizeWarning: a batch over several partitions whose data size
// exceeds batch_size_warn_threshold (5 KiB) returns Cassandra's client
// warning and is applied.
func TestBatchSizeWarning(t *testing.T) {
	tp := newTestProc(t, Options{})
	tp.exec("CREATE TABLE t (k int PRIMARY KEY, v text)")
	big := strings.Repeat("x", 3000)
	// Per partition: static row 20, row liveness 8 + deletion 12, cell 16 + 3000.
	res := tp.exec(batchOf(
		fmt.Sprintf("INSERT INTO t (k, v) VALUES (1, '%s')", big),
		fmt.Sprintf("INSERT INTO t (k, v) VALUES (2, '%s')", big)))
	want := "Batch for [ks.t] is of size 6112, exceeding specified threshold of 5120 by 992."
	if len(res.Warnings) != 1 || res.Warnings[0] != want {
		t.Fatalf("warnings %q, want %q", res.Warnings, want)
	}
	wantRows(t, tp.rows("SELECT count(*) FROM t"), "count", "2")

	// A batch within one partition is not measured (CASSANDRA-10876).
	res = tp.exec(batchOf(
		fmt.Sprintf("UPDATE t SET v = '%s' WHERE k = 3", big+big),
		fmt.Sprintf("INSERT INTO t (k, v) VALUES (3, '%s')", big+big)))
	if res.Warnings != nil {
		t.Fatalf("single-partition batch warned: %q", res.Warnings)
	}
	// A small batch is not warned about.
	if res := tp.exec(batchOf("INSERT INTO t (k, v) VALUES (4, 'a')", "INSERT INTO t (k, v) VALUES (5, 'b')")); res.Warnings != nil {
		t.Fatalf("small batch warned: %q", res.Warnings)
	}
}

// TestBatchSizeFail: above batch_size_fail_threshold (50 KiB) the batch is
// refused and nothing is written.
func TestBatchSizeFail(t *testing.T) {
	tp := newTestProc(t, Options{})
	tp.exec("CREATE TABLE t (k int PRIMARY KEY, v text)")
	big := strings.Repeat("x", 30000)
	_, err := tp.query(batchOf(
		fmt.Sprintf("INSERT INTO t (k, v) VALUES (1, '%s')", big),
		fmt.Sprintf("INSERT INTO t (k, v) VALUES (2, '%s')", big)))
	wantErr(t, err, cqlerr.Invalid, "Batch too large")
	wantRows(t, tp.rows("SELECT count(*) FROM t"), "count", "0")

	tp = newTestProc(t, Options{BatchSizeFailThreshold: -1})
	tp.exec("CREATE TABLE t (k int PRIMARY KEY, v text)")
	res := tp.exec(batchOf(
		fmt.Sprintf("INSERT INTO t (k, v) VALUES (1, '%s')", big),
		fmt.Sprintf("INSERT INTO t (k, v) VALUES (2, '%s')", big)))
	if len(res.Warnings) != 1 || !strings.HasPrefix(res.Warnings[0], "Batch for [ks.t] is of size 60112,") {
		t.Fatalf("warnings %q", res.Warnings)
	}
}

// TestBatchSizeWarningOptions: the thresholds come from Options; the
// BATCH message is measured like BEGIN BATCH, and the warning names every
// table (sorted).
func TestBatchSizeWarningOptions(t *testing.T) {
	tp := newTestProc(t, Options{BatchSizeWarnThreshold: 100})
	tp.exec("CREATE TABLE a (k int PRIMARY KEY, v int)")
	tp.exec("CREATE TABLE b (k int, c int, l list<int>, s set<text>, PRIMARY KEY (k, c))")
	entries := []BatchEntry{
		{Query: "INSERT INTO b (k, c, l, s) VALUES (?, ?, [1, 2], {'ab'}) USING TTL 60", Values: vals(1, 1)},
		{Query: "INSERT INTO a (k, v) VALUES (?, ?)", Values: vals(1, 1)},
		{Query: "UPDATE a SET v = ? WHERE k = ?", Values: vals(2, 2)},
	}
	res, err := tp.p.Batch(context.Background(), tp.s, 1, entries, &Params{Consistency: consistency.One})
	if err != nil {
		t.Fatal(err)
	}
	// a, k=1: static 20 + row (8 + 12 + cell 16+4) = 60; a, k=2: the same
	// (an UPDATE row has an empty liveness, still 8 bytes) = 60.
	// b, k=1: static 20 + row (clustering 4 + TTL liveness 16 + deletion
	// 12 + l: complex deletion 12 + 2 cells (16 + 4 + timeuuid path 16)
	// + s: complex deletion 12 + 1 cell (16 + path 'ab' 2)) = 166.
	want := "Batch for [ks.a, ks.b] is of size 286, exceeding specified threshold of 100 by 186."
	if len(res.Warnings) != 1 || res.Warnings[0] != want {
		t.Fatalf("warnings %q, want %q", res.Warnings, want)
	}
	tp = newTestProc(t, Options{BatchSizeWarnThreshold: -1})
	tp.exec("CREATE TABLE a (k int PRIMARY KEY, v text)")
	big := strings.Repeat("x", 4000)
	res = tp.exec(batchOf(fmt.Sprintf("INSERT INTO a (k, v) VALUES (1, '%s')", big), fmt.Sprintf("INSERT INTO a (k, v) VALUES (2, '%s')", big)))
	if res.Warnings != nil {
		t.Fatalf("disabled warning given: %q", res.Warnings)
	}
}

// TestBatchDataSizeMergesRows: writes of one row by several statements,
// and of one cell, count once, as in Cassandra's merged partition update.
func TestBatchDataSizeMergesRows(t *testing.T) {
	tp := newTestProc(t, Options{BatchSizeWarnThreshold: 1})
	tp.exec("CREATE TABLE t (k int, c text, s int STATIC, v int, w int, PRIMARY KEY (k, c))")
	res := tp.exec(batchOf(
		"UPDATE t SET v = 1 WHERE k = 1 AND c = 'ab'",
		"UPDATE t SET v = 2, w = 3 WHERE k = 1 AND c = 'ab'",
		"UPDATE t SET s = 1 WHERE k = 1",
		"DELETE FROM t WHERE k = 2 AND c = 'x'",
		"DELETE FROM t WHERE k = 3"))
	// k=1: static (8 + 12 + 16+4) + row (2 + 8 + 12 + v 20 + w 20) = 40 + 62;
	// k=2: empty static 20 + deleted row (1 + 8 + 12) = 41; k=3: partition
	// deletion, uncounted, empty static 20.
	want := "Batch for [ks.t] is of size 163, exceeding specified threshold of 1 by 162."
	if len(res.Warnings) != 1 || res.Warnings[0] != want {
		t.Fatalf("warnings %q, want %q", res.Warnings, want)
	}
}
