package query

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ringdb/ringdb/internal/consistency"
	"github.com/ringdb/ringdb/internal/cqlerr"
	"github.com/ringdb/ringdb/internal/schema"
	"github.com/ringdb/ringdb/internal/storage"
	"github.com/ringdb/ringdb/internal/types"
)

const casTable = "CREATE TABLE t (k int, c int, s text STATIC, v text, PRIMARY KEY (k, c))"

// TestConditionalBatchIfNotExists: a batch of IF NOT EXISTS inserts into
// one partition applies when no row exists; else nothing is written and
// the result is [applied] = false with every column of the rows found.
func TestConditionalBatchIfNotExists(t *testing.T) {
	tp := newTestProc(t, Options{})
	tp.exec(casTable)
	batch := "BEGIN BATCH INSERT INTO t (k, c, v) VALUES (1, 1, 'a') IF NOT EXISTS; INSERT INTO t (k, c, v) VALUES (1, 2, 'b') IF NOT EXISTS; APPLY BATCH"
	wantRows(t, tp.rows(batch), "[applied]", "True")
	wantRows(t, tp.rows("SELECT c, v FROM t WHERE k = 1"), "c | v", "1 | a", "2 | b")

	tp.exec("UPDATE t SET s = 'st' WHERE k = 1")
	wantRows(t, tp.rows("BEGIN BATCH INSERT INTO t (k, c, v) VALUES (1, 2, 'x') IF NOT EXISTS; INSERT INTO t (k, c, v) VALUES (1, 3, 'y') IF NOT EXISTS; APPLY BATCH"),
		// Only the regular row is written, so the static column is not
		// read back (Cassandra's CQL3CasRequest.columnsToRead).
		"[applied] | k | c | s | v", "False | 1 | 2 | null | b")
	wantRows(t, tp.rows("SELECT c, v FROM t WHERE k = 1"), "c | v", "1 | a", "2 | b")
	wantRows(t, tp.rows(batch), "[applied] | k | c | s | v", "False | 1 | 1 | null | a", "False | 1 | 2 | null | b")
}

// TestConditionalBatchColumnConditions: with column conditions only, a
// failed batch returns the primary key and the conditioned columns of the
// rows read; a condition on an absent row gives [applied] alone.
func TestConditionalBatchColumnConditions(t *testing.T) {
	tp := newTestProc(t, Options{})
	tp.exec(casTable)
	tp.exec("INSERT INTO t (k, c, s, v) VALUES (1, 1, 'st', 'a')")
	tp.exec("INSERT INTO t (k, c, v) VALUES (1, 2, 'b')")
	wantRows(t, tp.rows("BEGIN BATCH UPDATE t SET v = 'x' WHERE k = 1 AND c = 1 IF v = 'a'; UPDATE t SET v = 'y' WHERE k = 1 AND c = 2 IF v = 'zz'; APPLY BATCH"),
		"[applied] | k | c | v", "False | 1 | 1 | a", "False | 1 | 2 | b")
	wantRows(t, tp.rows("BEGIN BATCH UPDATE t SET v = 'x' WHERE k = 1 AND c = 1 IF v = 'a' AND s = 'no'; APPLY BATCH"),
		"[applied] | k | c | v | s", "False | 1 | 1 | a | st")
	wantRows(t, tp.rows("BEGIN BATCH UPDATE t SET v = 'x' WHERE k = 1 AND c = 9 IF v = 'a'; APPLY BATCH"), "[applied]", "False")
	wantRows(t, tp.rows("SELECT c, v FROM t WHERE k = 1"), "c | v", "1 | a", "2 | b")

	// All conditions hold: every statement applies, unconditional ones too.
	wantRows(t, tp.rows("BEGIN BATCH UPDATE t SET v = 'x' WHERE k = 1 AND c = 1 IF v = 'a'; UPDATE t SET v = 'y' WHERE k = 1 AND c = 2 IF s = 'st'; INSERT INTO t (k, c, v) VALUES (1, 3, 'z'); DELETE FROM t WHERE k = 1 AND c = 1; APPLY BATCH"),
		"[applied]", "True")
	wantRows(t, tp.rows("SELECT c, v FROM t WHERE k = 1"), "c | v", "2 | y", "3 | z")
}

// TestConditionalBatchErrors: Cassandra's refusals of conditional batches.
func TestConditionalBatchErrors(t *testing.T) {
	tp := newTestProc(t, Options{})
	tp.exec(casTable)
	tp.exec("CREATE TABLE u (k int PRIMARY KEY, v text)")
	for _, tc := range []struct{ q, err string }{
		{"BEGIN BATCH INSERT INTO t (k, c) VALUES (1, 1) IF NOT EXISTS; INSERT INTO t (k, c) VALUES (2, 1) IF NOT EXISTS; APPLY BATCH",
			"Batch with conditions cannot span multiple partitions"},
		{"BEGIN BATCH INSERT INTO t (k, c) VALUES (1, 1) IF NOT EXISTS; INSERT INTO t (k, c) VALUES (2, 1); APPLY BATCH",
			"Batch with conditions cannot span multiple partitions"},
		{"BEGIN BATCH INSERT INTO t (k, c) VALUES (1, 1) IF NOT EXISTS; UPDATE t SET v = 'a' WHERE k IN (1) AND c = 2; APPLY BATCH",
			"Batch with conditions cannot span multiple partitions (you cannot use IN on the partition key)"},
		{"BEGIN BATCH INSERT INTO t (k, c) VALUES (1, 1) IF NOT EXISTS; UPDATE t SET v = 'a' WHERE k = 1 AND c IN (2, 3); APPLY BATCH",
			"IN on the clustering key columns is not supported with conditional updates"},
		{"BEGIN BATCH INSERT INTO t (k, c) VALUES (1, 1) IF NOT EXISTS; INSERT INTO u (k) VALUES (1); APPLY BATCH",
			"Batch with conditions cannot span multiple tables"},
		{"BEGIN BATCH USING TIMESTAMP 10 INSERT INTO t (k, c) VALUES (1, 1) IF NOT EXISTS; APPLY BATCH",
			"Cannot provide custom timestamp for conditional BATCH"},
		{"BEGIN BATCH USING TIMESTAMP 10 INSERT INTO t (k, c) VALUES (1, 1) USING TIMESTAMP 5; APPLY BATCH",
			"Timestamp must be set either on BATCH or individual statements"},
		{"BEGIN BATCH INSERT INTO t (k, c) VALUES (1, 1) IF NOT EXISTS USING TIMESTAMP 5; APPLY BATCH",
			"Cannot provide custom timestamp for conditional updates"},
		{"INSERT INTO t (k, c) VALUES (1, 1) IF NOT EXISTS USING TIMESTAMP 5",
			"Cannot provide custom timestamp for conditional updates"},
		{"UPDATE t USING TIMESTAMP 5 SET v = 'a' WHERE k = 1 AND c = 1 IF v = 'b'",
			"Cannot provide custom timestamp for conditional updates"},
		{"BEGIN BATCH INSERT INTO t (k, c) VALUES (1, 1) IF NOT EXISTS; UPDATE t SET v = 'a' WHERE k = 1 AND c = 1 IF EXISTS; APPLY BATCH",
			"Cannot mix IF EXISTS and IF NOT EXISTS conditions for the same row"},
		{"BEGIN BATCH INSERT INTO t (k, c) VALUES (1, 1) IF NOT EXISTS; UPDATE t SET v = 'a' WHERE k = 1 AND c = 1 IF v = 'b'; APPLY BATCH",
			"Cannot mix IF conditions and IF NOT EXISTS for the same row"},
		{"BEGIN BATCH UPDATE t SET v = 'a' WHERE k = 1 AND c = 1 IF v = 'b'; UPDATE t SET v = 'a' WHERE k = 1 AND c = 1 IF EXISTS; APPLY BATCH",
			"Cannot mix IF conditions and IF EXISTS for the same row"},
		{"UPDATE t SET v = 'a' WHERE k IN (1, 2) AND c = 1 IF v = 'b'",
			"IN on the partition key is not supported with conditional updates"},
		{"DELETE FROM t WHERE k = 1 AND c IN (1, 2) IF v = 'b'",
			"IN on the clustering key columns is not supported with conditional deletions"},
	} {
		_, err := tp.query(tc.q)
		wantErr(t, err, cqlerr.Invalid, tc.err)
	}
	wantRows(t, tp.rows("SELECT count(*) FROM t"), "count", "0")
}

// TestConditionalStaticRow: conditions on static columns are checked
// against the static row, which exists without any clustering row.
func TestConditionalStaticRow(t *testing.T) {
	tp := newTestProc(t, Options{})
	tp.exec(casTable)
	wantRows(t, tp.rows("INSERT INTO t (k, s) VALUES (1, 'a') IF NOT EXISTS"), "[applied]", "True")
	wantRows(t, tp.rows("INSERT INTO t (k, s) VALUES (1, 'b') IF NOT EXISTS"), "[applied] | k | c | s | v", "False | 1 | null | a | null")
	wantRows(t, tp.rows("BEGIN BATCH INSERT INTO t (k, c, v) VALUES (1, 1, 'x') IF NOT EXISTS; UPDATE t SET s = 'c' WHERE k = 1 IF s = 'a'; APPLY BATCH"),
		"[applied]", "True")
	wantRows(t, tp.rows("SELECT c, s, v FROM t WHERE k = 1"), "c | s | v", "1 | c | x")
	wantRows(t, tp.rows("UPDATE t SET v = 'y' WHERE k = 1 AND c = 1 IF s = 'nope'"), "[applied] | s", "False | c")
}

// TestConditionalBatchMessage: a BATCH message of prepared conditional
// statements is one compare-and-set, each statement with its own values.
func TestConditionalBatchMessage(t *testing.T) {
	tp := newTestProc(t, Options{})
	tp.exec(casTable)
	ps, err := tp.p.Prepare(context.Background(), tp.s, "INSERT INTO t (k, c, v) VALUES (?, ?, ?) IF NOT EXISTS")
	if err != nil {
		t.Fatal(err)
	}
	entry := func(c int32, v string) BatchEntry {
		return BatchEntry{Prepared: true, ID: ps.ID, Values: []Value{{Bytes: types.IntValue(1)}, {Bytes: types.IntValue(c)}, {Bytes: types.TextValue(v)}}}
	}
	params := &Params{Consistency: consistency.One}
	res, err := tp.p.Batch(context.Background(), tp.s, 1, []BatchEntry{entry(1, "a"), entry(2, "b")}, params)
	if err != nil {
		t.Fatal(err)
	}
	wantRows(t, renderRows(t, res), "[applied]", "True")
	res, err = tp.p.Batch(context.Background(), tp.s, 0, []BatchEntry{entry(2, "x"), entry(3, "y")}, params)
	if err != nil {
		t.Fatal(err)
	}
	wantRows(t, renderRows(t, res), "[applied] | k | c | s | v", "False | 1 | 2 | null | b")
	wantRows(t, tp.rows("SELECT c, v FROM t WHERE k = 1"), "c | v", "1 | a", "2 | b")
}

// fakeCASStore is a LocalStore with CAS: it records each round's
// consistencies and runs check once, applying what it returns stamped at
// a fixed ballot time.
type fakeCASStore struct {
	LocalStore
	rounds []string
}

func (f *fakeCASStore) CAS(ctx context.Context, _ *schema.Table, _ int64, _ []byte, serial, commit consistency.Level,
	check func(context.Context, int64) ([]*storage.Mutation, bool, error)) (bool, error) {
	f.rounds = append(f.rounds, serial.String()+"/"+commit.String())
	muts, apply, err := check(ctx, 42)
	if err != nil || !apply {
		return false, err
	}
	for _, m := range muts {
		for _, r := range m.Rows {
			for _, c := range r.Cells {
				if c.Timestamp != 42 {
					return false, fmt.Errorf("cell stamped %d, not at the ballot", c.Timestamp)
				}
			}
		}
	}
	return true, f.Engine.Apply(muts)
}

// With a CASStore (the coordinator), conditional statements and batches
// and SERIAL reads are Paxos rounds at the request's serial consistency,
// their updates stamped at the ballot's time.
func TestConditionalThroughCASStore(t *testing.T) {
	tp := newTestProc(t, Options{})
	fs := &fakeCASStore{LocalStore: LocalStore{Engine: tp.p.opts.Engine}}
	tp.p.store = fs
	tp.exec(casTable)
	wantRows(t, tp.rows("INSERT INTO t (k, c, v) VALUES (1, 1, 'a') IF NOT EXISTS"), "[applied]", "True")
	wantRows(t, tp.rows("BEGIN BATCH INSERT INTO t (k, c, v) VALUES (1, 1, 'x') IF NOT EXISTS; INSERT INTO t (k, c, v) VALUES (1, 2, 'b'); APPLY BATCH"),
		"[applied] | k | c | s | v", "False | 1 | 1 | null | a")
	res, err := tp.p.Query(context.Background(), tp.s, "UPDATE t SET v = 'c' WHERE k = 1 AND c = 1 IF v = 'a'",
		&Params{Consistency: consistency.LocalQuorum, SerialConsistency: consistency.LocalSerial})
	if err != nil {
		t.Fatal(err)
	}
	wantRows(t, renderRows(t, res), "[applied]", "True")
	res, err = tp.p.Query(context.Background(), tp.s, "SELECT v FROM t WHERE k = 1 AND c = 1", &Params{Consistency: consistency.Serial})
	if err != nil {
		t.Fatal(err)
	}
	wantRows(t, renderRows(t, res), "v", "c")
	want := "[SERIAL/ONE SERIAL/ONE LOCAL_SERIAL/LOCAL_QUORUM SERIAL/QUORUM]"
	if fmt.Sprint(fs.rounds) != want {
		t.Fatalf("rounds %v, want %s", fs.rounds, want)
	}
}

// A conditional update serialised after another wins over it, whatever
// the clocks say: the review's lost update (the timestamp was chosen
// before the partition lock, and a client's protocol timestamp was used)
// is gone. Here the node's clock runs backwards between two updates and
// the second carries a protocol timestamp of 1; both apply, and the
// second's value is the one read back. USING TIMESTAMP on any statement of
// a conditional batch is refused, as in Cassandra.
func TestConditionalUpdatesStampedInOrder(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	tp := newTestProc(t, Options{Now: func() time.Time { return now }})
	tp.exec("CREATE TABLE r (k int PRIMARY KEY, v int)")
	wantRows(t, tp.rows("INSERT INTO r (k, v) VALUES (1, 0) IF NOT EXISTS"), "[applied]", "True")
	wantRows(t, tp.rows("UPDATE r SET v = 1 WHERE k = 1 IF v = 0"), "[applied]", "True")
	now = now.Add(-time.Hour) // the clock steps back
	params := &Params{Consistency: consistency.One, HasTimestamp: true, Timestamp: 1}
	res, err := tp.p.Query(context.Background(), tp.s, "UPDATE r SET v = 2 WHERE k = 1 IF v = 1", params)
	if err != nil {
		t.Fatal(err)
	}
	wantRows(t, renderRows(t, res), "[applied]", "True")
	wantRows(t, tp.rows("SELECT v FROM r WHERE k = 1"), "v", "2")
	wantRows(t, tp.rows("UPDATE r SET v = 3 WHERE k = 1 IF v = 1"), "[applied] | v", "False | 2")
	// Data written (without a condition) with a timestamp from the
	// future does not make an applied conditional update invisible.
	future := now.Add(24 * time.Hour).UnixMicro()
	tp.exec(fmt.Sprintf("INSERT INTO r (k, v) VALUES (2, 10) USING TIMESTAMP %d", future))
	wantRows(t, tp.rows("UPDATE r SET v = 11 WHERE k = 2 IF v = 10"), "[applied]", "True")
	wantRows(t, tp.rows("SELECT v FROM r WHERE k = 2"), "v", "11")

	for _, q := range []string{
		"UPDATE r USING TIMESTAMP 5 SET v = 9 WHERE k = 1 IF v = 2",
		"BEGIN BATCH UPDATE r SET v = 9 WHERE k = 1 IF v = 2; UPDATE r USING TIMESTAMP 5 SET v = 8 WHERE k = 1; APPLY BATCH",
	} {
		if _, err := tp.query(q); err == nil || !strings.Contains(err.Error(), "Cannot provide custom timestamp for conditional updates") {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if _, err := tp.query("BEGIN BATCH USING TIMESTAMP 5 UPDATE r SET v = 9 WHERE k = 1 IF v = 2; APPLY BATCH"); err == nil ||
		!strings.Contains(err.Error(), "Cannot provide custom timestamp for conditional BATCH") {
		t.Fatalf("batch USING TIMESTAMP: %v", err)
	}
}

// A read at SERIAL is served for one partition under the lock
// conditional updates take (one replica); several partitions are refused
// instead of being answered as a QUORUM read (the review's finding).
func TestSerialRead(t *testing.T) {
	tp := newTestProc(t, Options{})
	tp.exec("CREATE TABLE r (k int PRIMARY KEY, v int)")
	tp.exec("INSERT INTO r (k, v) VALUES (1, 5) IF NOT EXISTS")
	serial := func(q string) (*Result, error) {
		return tp.p.Query(context.Background(), tp.s, q, &Params{Consistency: consistency.Serial})
	}
	res, err := serial("SELECT v FROM r WHERE k = 1")
	if err != nil {
		t.Fatal(err)
	}
	wantRows(t, renderRows(t, res), "v", "5")
	for _, q := range []string{"SELECT v FROM r WHERE k IN (1, 2)", "SELECT v FROM r"} {
		if _, err := serial(q); err == nil || !strings.Contains(err.Error(), "may only be requested for one partition") {
			t.Fatalf("%s: %v", q, err)
		}
	}
}
