package query

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ringdb/ringdb/internal/consistency"
	"github.com/ringdb/ringdb/internal/cqlerr"
	"github.com/ringdb/ringdb/internal/types"
)

// outcome renders a statement's rows (flattened, header first) or its
// error as "code message".
func (tp *testProc) outcome(q string, vals ...[]byte) string {
	tp.t.Helper()
	res, err := tp.query(q, vals...)
	return renderOutcome(tp.t, res, err)
}

func renderOutcome(t *testing.T, res *Result, err error) string {
	t.Helper()
	if err != nil {
		var ce *cqlerr.Error
		if !errors.As(err, &ce) {
			t.Fatalf("not a cqlerr.Error: %v", err)
		}
		return fmt.Sprintf("%#x %s", ce.Code, ce.Message)
	}
	if res.Kind != ResultRows {
		return fmt.Sprintf("kind %d", res.Kind)
	}
	rows := renderRows(t, res)
	return rows[0] + ": " + flat(rows)
}

// TestSelectCollectionsAndFilters: multi-cell collections and UDTs are
// assembled from their cells, and the per-row filters on them (CONTAINS,
// CONTAINS KEY, map entries) and on nullable columns match as Cassandra's.
func TestSelectCollectionsAndFilters(t *testing.T) {
	tp := newTestProc(t, Options{})
	tp.exec("CREATE TYPE addr (street text, zip int)")
	tp.exec("CREATE TABLE c (k int, c int, l list<int>, st set<text>, m map<text, int>, u addr, v int, PRIMARY KEY (k, c))")
	tp.exec("INSERT INTO c (k, c, l, st, m, u, v) VALUES (1, 1, [3, 1], {'b', 'a'}, {'y': 2, 'x': 1}, {street: 's1', zip: 7}, 10)")
	tp.exec("INSERT INTO c (k, c, l, st, m) VALUES (1, 2, [2], {'c'}, {'z': 3})")
	tp.exec("INSERT INTO c (k, c, v) VALUES (1, 3, 30)")
	tp.exec("UPDATE c SET l = l + [4], st = st + {'d'}, m['w'] = 0, u.zip = 8 WHERE k = 1 AND c = 3")
	for _, tc := range []struct{ q, want string }{
		{"SELECT c, l, st, m, u FROM c WHERE k = 1",
			"c | l | st | m | u: 1 | [3, 1] | {'a', 'b'} | {'x': 1, 'y': 2} | {street: 's1', zip: 7} " +
				"2 | [2] | {'c'} | {'z': 3} | null " +
				"3 | [4] | {'d'} | {'w': 0} | {street: null, zip: 8}"},
		{"SELECT u.zip, u.street FROM c WHERE k = 1", "u.zip | u.street: 7 | s1 null | null 8 | null"},
		{"SELECT c FROM c WHERE m['x'] = 1 ALLOW FILTERING", "c: 1"},
		{"SELECT c FROM c WHERE m['x'] = 2 ALLOW FILTERING", "c: "},
		{"SELECT c FROM c WHERE m['q'] = 1 ALLOW FILTERING", "c: "},
		{"SELECT c FROM c WHERE m CONTAINS KEY 'z' ALLOW FILTERING", "c: 2"},
		{"SELECT c FROM c WHERE m CONTAINS 2 ALLOW FILTERING", "c: 1"},
		{"SELECT c FROM c WHERE m CONTAINS 0 AND m CONTAINS KEY 'w' ALLOW FILTERING", "c: 3"},
		{"SELECT c FROM c WHERE st CONTAINS 'a' ALLOW FILTERING", "c: 1"},
		{"SELECT c FROM c WHERE st CONTAINS 'q' ALLOW FILTERING", "c: "},
		{"SELECT c FROM c WHERE l CONTAINS 4 ALLOW FILTERING", "c: 3"},
		{"SELECT c FROM c WHERE v = 10 ALLOW FILTERING", "c: 1"},
		{"SELECT c FROM c WHERE v IN (10, 30) ALLOW FILTERING", "c: 1 3"},
		{"SELECT c FROM c WHERE v < 20 ALLOW FILTERING", "c: 1"},
		{"SELECT c FROM c WHERE v <= 30 ALLOW FILTERING", "c: 1 3"},
		{"SELECT c FROM c WHERE v > 10 ALLOW FILTERING", "c: 3"},
		{"SELECT c FROM c WHERE v >= 10 ALLOW FILTERING", "c: 1 3"},
		{"SELECT c FROM c WHERE k = 1 AND c IN (1, 2) AND v < 100 ALLOW FILTERING", "c: 1"},
	} {
		t.Run(tc.q, func(t *testing.T) {
			tp.t = t
			if got := tp.outcome(tc.q); got != tc.want {
				t.Fatalf("\n got: %s\nwant: %s", got, tc.want)
			}
		})
	}
}

// TestSelectors: what each kind of selector returns (columns, aliases,
// writetime, ttl, token, casts, UDT fields, native functions, typed
// constants, aggregates over each numeric type) and the selections
// Cassandra refuses.
func TestSelectors(t *testing.T) {
	// A fixed clock (near the engine's, which expires TTLs).
	now := time.Now().UTC().Truncate(time.Second)
	tp := newTestProc(t, Options{Now: func() time.Time { return now }})
	tp.exec("CREATE TYPE addr (street text, zip int)")
	tp.exec("CREATE TABLE n (k int, c int, i int, b bigint, f float, d double, dec decimal, vi varint, si smallint, ti tinyint, t text, ts timestamp, l list<int>, u frozen<addr>, PRIMARY KEY (k, c))")
	tp.exec("INSERT INTO n (k, c, i, b, f, d, dec, vi, si, ti, t, ts, u) VALUES (1, 1, 1, 10, 1.5, 2.5, 1.25, 100, 3, 4, 'a', '2024-01-02 03:04:05+0000', {street: 'x', zip: 9}) USING TIMESTAMP 42 AND TTL 100")
	tp.exec("INSERT INTO n (k, c, i, b, f, d, dec, vi, si, ti, t) VALUES (1, 2, 2, 20, 2.5, 3.5, 2.5, 200, 5, 6, 'b') USING TIMESTAMP 43")
	tp.exec("INSERT INTO n (k, c, t) VALUES (1, 3, 'c') USING TIMESTAMP 44")
	tp.exec("CREATE TABLE e (k int PRIMARY KEY, i int, d double)")
	const noSig = "0x2200 Invalid call to function %s, none of its type signatures match"
	t.Run("bind marker", func(t *testing.T) {
		tp.t = t
		if got, want := tp.outcome("SELECT ? FROM n", types.IntValue(1)), "0x2200 Bind markers are not supported in the selection clause"; got != want {
			t.Fatalf("\n got: %s\nwant: %s", got, want)
		}
	})
	for _, tc := range []struct{ q, want string }{
		// Columns, aliases, metadata functions.
		{"SELECT c AS x, t FROM n WHERE k = 1", "x | t: 1 | a 2 | b 3 | c"},
		{"SELECT writetime(i), ttl(i), writetime(t) FROM n WHERE k = 1", "writetime(i) | ttl(i) | writetime(t): 42 | 100 | 42 43 | null | 43 null | null | 44"},
		{"SELECT token(k), k FROM n WHERE k = 1 AND c = 1", "system.token(k) | k: -4069959284402364209 | 1"},
		{"SELECT CAST(i AS text), CAST(b AS int), CAST(d AS bigint) FROM n WHERE k = 1 AND c = 2", "cast(i as text) | cast(b as int) | cast(d as bigint): 2 | 20 | 3"},
		{"SELECT u.street, u.zip FROM n WHERE k = 1 AND c = 1", "u.street | u.zip: x | 9"},
		{"SELECT (int)7, (text)'q' FROM n WHERE k = 1 AND c = 1", "(int) | (text): 7 | q"},
		// Native functions.
		{"SELECT blobAsInt(intAsBlob(i)), textAsBlob(t) FROM n WHERE k = 1 AND c = 1", "system.blobasint(system.intasblob(i)) | system.textasblob(t): 1 | 0x61"},
		{"SELECT toUnixTimestamp(ts), toDate(ts), toTimestamp(ts) FROM n WHERE k = 1 AND c = 1",
			"system.tounixtimestamp(ts) | system.todate(ts) | system.totimestamp(ts): 1704164645000 | 2024-01-02 | 2024-01-02 03:04:05.000000+0000"},
		{"SELECT toUnixTimestamp(ts) FROM n WHERE k = 1 AND c = 3", "system.tounixtimestamp(ts): null"},
		{"SELECT currentTimestamp() AS a, currentDate() AS b, toUnixTimestamp(minTimeuuid('2024-01-01 00:00:00+0000')) AS c FROM n WHERE k = 1 AND c = 1",
			"a | b | c: " + now.Format("2006-01-02 15:04:05.000000-0700") + " | " + now.Format("2006-01-02") + " | 1704067200000"},
		{"SELECT toTimestamp(maxTimeuuid('2024-01-01 00:00:00+0000')) AS a, toUnixTimestamp(now()) AS b FROM n WHERE k = 1 AND c = 1",
			"a | b: 2024-01-01 00:00:00.000000+0000 | " + fmt.Sprint(now.UnixMilli())},
		// Aggregates over each numeric type; nulls are not counted.
		{"SELECT count(*), count(i), count(1), min(i), max(i), sum(i), avg(i) FROM n WHERE k = 1",
			"count | system.count(i) | count | system.min(i) | system.max(i) | system.sum(i) | system.avg(i): 3 | 2 | 3 | 1 | 2 | 3 | 1"},
		{"SELECT sum(b), avg(b), sum(vi), avg(vi), sum(si), avg(si), sum(ti), avg(ti) FROM n WHERE k = 1",
			"system.sum(b) | system.avg(b) | system.sum(vi) | system.avg(vi) | system.sum(si) | system.avg(si) | system.sum(ti) | system.avg(ti): 30 | 15 | 300 | 150 | 8 | 4 | 10 | 5"},
		{"SELECT sum(f), avg(f), sum(d), avg(d), sum(dec), avg(dec) FROM n WHERE k = 1",
			"system.sum(f) | system.avg(f) | system.sum(d) | system.avg(d) | system.sum(dec) | system.avg(dec): 4 | 2 | 6 | 3 | 3.75 | 1.875"},
		{"SELECT min(t), max(t), min(ts), max(ts) FROM n WHERE k = 1", "system.min(t) | system.max(t) | system.min(ts) | system.max(ts): a | c | 2024-01-02 03:04:05.000000+0000 | 2024-01-02 03:04:05.000000+0000"},
		{"SELECT k, c, count(*) FROM n WHERE k = 1", "k | c | count: 1 | 1 | 3"},
		{"SELECT count(*), sum(i), avg(i), avg(d), min(i) FROM e", "count | system.sum(i) | system.avg(i) | system.avg(d) | system.min(i): 0 | 0 | 0 | 0 | null"},
		// Refusals.
		{"SELECT nope FROM n", "0x2200 Undefined column name nope in selection clause"},
		{"SELECT writetime(nope) FROM n", "0x2200 Undefined column name nope in selection clause"},
		{"SELECT writetime(k) FROM n", "0x2200 Cannot use selection function writetime on PRIMARY KEY part k"},
		{"SELECT ttl(c) FROM n", "0x2200 Cannot use selection function ttl on PRIMARY KEY part c"},
		{"SELECT ttl(l) FROM n", "0x2200 Cannot use selection function ttl on non-frozen collection l"},
		{"SELECT token(c) FROM n", "0x2200 Type error: token() arguments must be the partition key columns in order"},
		{"SELECT token(k, c) FROM n", "0x2200 Invalid number of arguments in call to function token: 1 required but 2 provided"},
		{"SELECT i.x FROM n", "0x2200 Invalid field selection: i of type int is not a user type"},
		{"SELECT u.nope FROM n", "0x2200 Invalid field selection: u of type frozen<addr> has no field nope"},
		{"SELECT sum(t) FROM n", fmt.Sprintf(noSig, "sum")},
		{"SELECT avg(ts) FROM n", fmt.Sprintf(noSig, "avg")},
		{"SELECT nosuch(i) FROM n", "0x2200 Unknown function 'nosuch'"},
		{"SELECT blobAsInt(textAsBlob(t)) FROM n WHERE k = 1 AND c = 1", "0x1400 execution of 'system.blobasint[blob]' failed: Expected 4 or 0 byte int (1)"},
	} {
		t.Run(tc.q, func(t *testing.T) {
			tp.t = t
			if got := tp.outcome(tc.q); got != tc.want {
				t.Fatalf("\n got: %s\nwant: %s", got, tc.want)
			}
		})
	}
}

// TestBoundValues: positional and named values, for prepared and
// unprepared statements, and the refusals of missing, extra or unknown
// ones.
func TestBoundValues(t *testing.T) {
	tp := newTestProc(t, Options{})
	tp.exec("CREATE TABLE t (k int, c int, v int, PRIMARY KEY (k, c))")
	tp.exec("INSERT INTO t (k, c, v) VALUES (1, 2, 3)")
	ctx := context.Background()
	iv := func(n int32) Value { return Value{Bytes: types.IntValue(n)} }
	run := func(q string, prepared bool, vals []Value, names []string) string {
		t.Helper()
		params := &Params{Consistency: consistency.One, Values: vals, Names: names}
		if !prepared {
			res, err := tp.p.Query(ctx, tp.s, q, params)
			return renderOutcome(t, res, err)
		}
		ps, err := tp.p.Prepare(ctx, tp.s, q)
		if err != nil {
			t.Fatalf("prepare %s: %v", q, err)
		}
		res, err := tp.p.Execute(ctx, tp.s, ps.ID, params)
		return renderOutcome(t, res, err)
	}
	const q = "SELECT v FROM t WHERE k = :kk AND c = :cc"
	for _, prepared := range []bool{false, true} {
		for _, tc := range []struct {
			q     string
			vals  []Value
			names []string
			want  string
		}{
			{q, []Value{iv(1), iv(2)}, nil, "v: 3"},
			{q, []Value{iv(2), iv(1)}, []string{"cc", "kk"}, "v: 3"},
			{q, []Value{iv(2), iv(1)}, []string{"CC", "Kk"}, "v: 3"},
			{q, []Value{iv(1)}, nil, "0x2200 There were 2 markers(?) in CQL but 1 bound variables"},
			{q, []Value{iv(1), iv(2), iv(3)}, nil, "0x2200 There were 2 markers(?) in CQL but 3 bound variables"},
			{q, []Value{iv(1)}, []string{"kk"}, "0x2200 Invalid unset value for column c"},
			{q, []Value{iv(1), iv(2)}, []string{"kk", "zz"}, "0x2200 Invalid named bind variable zz"},
			{"SELECT v FROM t WHERE k = ? AND c = ?", []Value{iv(1), {}}, nil, "0x2200 Invalid null value in condition for column c"},
			{"SELECT v FROM t WHERE k = ? AND c = ?", []Value{iv(1), {Bytes: []byte{1}}}, nil, "0x2200 Invalid value for c of type int: Expected 4 or 0 byte int (1)"},
		} {
			if got := run(tc.q, prepared, tc.vals, tc.names); got != tc.want {
				t.Errorf("%s (prepared %v, names %v):\n got: %s\nwant: %s", tc.q, prepared, tc.names, got, tc.want)
			}
		}
	}
	// Without parameters, a statement with markers is refused.
	_, err := tp.p.Query(ctx, tp.s, q, nil)
	wantErr(t, err, cqlerr.Invalid, "There were 2 markers(?) in CQL but 0 bound variables")
	ps, err := tp.p.Prepare(ctx, tp.s, q)
	if err != nil {
		t.Fatal(err)
	}
	_, err = tp.p.Execute(ctx, tp.s, ps.ID, nil)
	wantErr(t, err, cqlerr.Invalid, "There were 2 markers(?) in CQL but 0 bound variables")
	// An unknown id is UNPREPARED, with the id for the driver to re-prepare.
	_, err = tp.p.Execute(ctx, tp.s, []byte("0123456789abcdef"), nil)
	var ce *cqlerr.Error
	if !errors.As(err, &ce) || ce.Code != cqlerr.Unprepared || string(ce.ID) != "0123456789abcdef" {
		t.Fatalf("unknown id: %v", err)
	}
}
