package query

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/ringdb/ringdb/internal/consistency"
	"github.com/ringdb/ringdb/internal/cqlerr"
	"github.com/ringdb/ringdb/internal/storage"
)

// selectFixture is a processor holding:
//
//   - t: partitions k = 1..3, each with c1 in 1..3 and c2 in 1..2 and
//     v = 100k + 10c1 + c2 (so v names its row), the static s = k and
//     l = [c1, c2]; partition 4 has only its static (s = 4).
//   - d: one partition k = 1 with clustering (a ASC, b DESC), a and b in
//     1..3, v = 10a + b.
//   - kv: a table without clustering columns, k = 1..5, v = 10k.
//
// Murmur3 puts the int partition keys in the token order 1, 2, 4, 3 (and
// 5, 1, 2, 4, 3 with 5).
func selectFixture(t *testing.T) *testProc {
	tp := newTestProc(t, Options{})
	tp.exec("CREATE TABLE t (k int, c1 int, c2 int, s int static, v int, l list<int>, PRIMARY KEY (k, c1, c2))")
	tp.exec("CREATE TABLE d (k int, a int, b int, v int, PRIMARY KEY (k, a, b)) WITH CLUSTERING ORDER BY (a ASC, b DESC)")
	tp.exec("CREATE TABLE kv (k int PRIMARY KEY, v int)")
	for k := 1; k <= 3; k++ {
		for c1 := 1; c1 <= 3; c1++ {
			for c2 := 1; c2 <= 2; c2++ {
				tp.exec(fmt.Sprintf("INSERT INTO t (k, c1, c2, s, v, l) VALUES (%d, %d, %d, %d, %d, [%d, %d])", k, c1, c2, k, 100*k+10*c1+c2, c1, c2))
			}
		}
	}
	tp.exec("INSERT INTO t (k, s) VALUES (4, 4)")
	for a := 1; a <= 3; a++ {
		for b := 1; b <= 3; b++ {
			tp.exec(fmt.Sprintf("INSERT INTO d (k, a, b, v) VALUES (1, %d, %d, %d)", a, b, 10*a+b))
		}
	}
	for k := 1; k <= 5; k++ {
		tp.exec(fmt.Sprintf("INSERT INTO kv (k, v) VALUES (%d, %d)", k, 10*k))
	}
	return tp
}

// flat renders a rows result without its header, rows separated by " ".
func flat(rows []string) string {
	return strings.Join(rows[1:], " ")
}

// paged runs q with the page size until the last page, and returns the
// rows of all pages (flattened) and the number of pages.
func (tp *testProc) paged(q string, pageSize int32) (string, int) {
	tp.t.Helper()
	var all []string
	var state []byte
	for pages := 1; ; pages++ {
		params := &Params{Consistency: consistency.One, PageSize: pageSize, PagingState: state}
		res, err := tp.p.Query(context.Background(), tp.s, q, params)
		if err != nil {
			tp.t.Fatalf("%s (page %d of %d rows): %v", q, pages, pageSize, err)
		}
		rows := renderRows(tp.t, res)
		if int32(len(rows)-1) > pageSize {
			tp.t.Fatalf("%s: page %d has %d rows, page size %d", q, pages, len(rows)-1, pageSize)
		}
		all = append(all, rows[1:]...)
		state = res.Rows.PagingState
		if len(state) == 0 {
			return strings.Join(all, " "), pages
		}
		if pages > 100 {
			tp.t.Fatalf("%s: more than 100 pages", q)
		}
	}
}

// TestSelectPaging: every query returns the expected rows, and paging it
// at any page size returns each of them exactly once, in the same order:
// resuming inside a partition (forward, reversed, over several slices,
// after a multi-column or mixed-order restriction), after a partition, and
// after a static-only or clustering-less partition.
func TestSelectPaging(t *testing.T) {
	tp := selectFixture(t)
	const k1 = "111 112 121 122 131 132"
	const k2 = "211 212 221 222 231 232"
	const k3 = "311 312 321 322 331 332"
	for _, tc := range []struct {
		q, want string
	}{
		// Whole table: partitions in token order, static-only partition 4
		// as one row of nulls.
		{"SELECT v FROM t", k1 + " " + k2 + " null " + k3},
		{"SELECT k, s FROM t WHERE k = 4", "4 | 4"},
		{"SELECT v FROM t WHERE k = 1", k1},
		{"SELECT v FROM t WHERE k IN (3, 1)", k1 + " " + k3},
		{"SELECT v FROM t WHERE k IN (3, 4)", "null " + k3},
		// Reversed reads.
		{"SELECT v FROM t WHERE k = 2 ORDER BY c1 DESC", "232 231 222 221 212 211"},
		{"SELECT v FROM t WHERE k = 2 ORDER BY c1 DESC, c2 DESC", "232 231 222 221 212 211"},
		{"SELECT v FROM t WHERE k = 2 ORDER BY c1 ASC", k2},
		// Slices and clustering IN (several slices).
		{"SELECT v FROM t WHERE k = 1 AND c1 > 1", "121 122 131 132"},
		{"SELECT v FROM t WHERE k = 1 AND c1 >= 1 AND c1 < 3 ORDER BY c1 DESC", "122 121 112 111"},
		{"SELECT v FROM t WHERE k = 1 AND c1 = 2 AND c2 <= 1", "121"},
		{"SELECT v FROM t WHERE k = 1 AND c1 IN (3, 1)", "111 112 131 132"},
		{"SELECT v FROM t WHERE k = 1 AND c1 IN (3, 1) ORDER BY c1 DESC", "132 131 112 111"},
		{"SELECT v FROM t WHERE k = 1 AND c1 IN (1, 2, 3) AND c2 = 2", "112 122 132"},
		{"SELECT v FROM t WHERE k = 1 AND c1 IN (1, 3) AND c2 > 1 ORDER BY c1 DESC", "132 112"},
		{"SELECT v FROM t WHERE k IN (2, 1) AND c1 IN (3, 1) AND c2 = 1", "111 131 211 231"},
		// Multi-column relations.
		{"SELECT v FROM t WHERE k = 1 AND (c1, c2) > (1, 1) AND (c1, c2) <= (3, 1)", "112 121 122 131"},
		{"SELECT v FROM t WHERE k = 1 AND (c1, c2) > (1, 1) AND (c1, c2) <= (3, 1) ORDER BY c1 DESC", "131 122 121 112"},
		{"SELECT v FROM t WHERE k = 1 AND (c1, c2) IN ((3, 1), (1, 2), (9, 9))", "112 131"},
		{"SELECT v FROM t WHERE k = 1 AND (c1, c2) = (2, 2)", "122"},
		{"SELECT v FROM t WHERE k = 1 AND (c1, c2) IN ()", ""},
		{"SELECT v FROM t WHERE k IN ()", ""},
		// Mixed clustering order: stored b descending within a.
		{"SELECT v FROM d WHERE k = 1", "13 12 11 23 22 21 33 32 31"},
		{"SELECT v FROM d WHERE k = 1 AND (a, b) > (1, 2)", "13 23 22 21 33 32 31"},
		{"SELECT v FROM d WHERE k = 1 AND (a, b) <= (2, 2)", "13 12 11 22 21"},
		{"SELECT v FROM d WHERE k = 1 AND (a, b) >= (2, 2) AND (a, b) < (3, 2) ORDER BY a DESC", "31 22 23"},
		{"SELECT v FROM d WHERE k = 1 AND a = 2 AND b < 3", "22 21"},
		{"SELECT v FROM d WHERE k = 1 AND a = 2 AND b > 1 ORDER BY a DESC, b ASC", "22 23"},
		// Filtering.
		{"SELECT v FROM t WHERE v > 300 ALLOW FILTERING", k3},
		{"SELECT v FROM t WHERE k = 1 AND c2 = 2 ALLOW FILTERING", "112 122 132"},
		{"SELECT v FROM t WHERE c1 = 2 AND c2 = 1 ALLOW FILTERING", "121 221 321"},
		{"SELECT v FROM t WHERE k = 2 AND c2 > 1 ALLOW FILTERING", "212 222 232"},
		{"SELECT v FROM t WHERE s = 2 AND c1 = 3 ALLOW FILTERING", "231 232"},
		{"SELECT v FROM t WHERE l CONTAINS 3 ALLOW FILTERING", "131 132 231 232 331 332"},
		{"SELECT v FROM t WHERE v IN (112, 311, 5) ALLOW FILTERING", "112 311"},
		// token().
		{"SELECT k FROM kv WHERE token(k) > -4069959284402364209", "2 4 3"},
		{"SELECT k FROM kv WHERE token(k) >= -4069959284402364209 AND token(k) <= -2729420104000364805", "1 2 4"},
		{"SELECT k FROM kv WHERE token(k) = -4069959284402364209", "1"},
		{"SELECT k FROM kv WHERE token(k) < -9223372036854775808", ""},
		{"SELECT v FROM t WHERE token(k) > -3248873570005575792", "null " + k3},
		// LIMIT and PER PARTITION LIMIT.
		{"SELECT v FROM t LIMIT 5", "111 112 121 122 131"},
		{"SELECT v FROM t WHERE k = 1 LIMIT 1", "111"},
		{"SELECT v FROM t PER PARTITION LIMIT 2", "111 112 211 212 null 311 312"},
		{"SELECT v FROM t PER PARTITION LIMIT 1 LIMIT 3", "111 211 null"},
		{"SELECT v FROM t WHERE k IN (1, 3) AND c1 > 1 PER PARTITION LIMIT 3", "121 122 131 321 322 331"},
		{"SELECT v FROM t WHERE k = 3 ORDER BY c1 DESC PER PARTITION LIMIT 2", "332 331"},
		{"SELECT v FROM t WHERE v > 200 PER PARTITION LIMIT 2 LIMIT 3 ALLOW FILTERING", "211 212 311"},
		// DISTINCT.
		{"SELECT DISTINCT k, s FROM t", "1 | 1 2 | 2 4 | 4 3 | 3"},
		{"SELECT DISTINCT k FROM t WHERE k IN (3, 2, 4)", "2 4 3"},
		{"SELECT DISTINCT k FROM t LIMIT 3", "1 2 4"},
		{"SELECT DISTINCT k, s FROM t WHERE s > 1 ALLOW FILTERING", "2 | 2 4 | 4 3 | 3"},
		// No clustering columns.
		{"SELECT k, v FROM kv", "5 | 50 1 | 10 2 | 20 4 | 40 3 | 30"},
		{"SELECT v FROM kv WHERE k IN (5, 3, 1)", "50 10 30"},
		{"SELECT v FROM kv WHERE v > 20 ALLOW FILTERING", "50 40 30"},
		// Aggregates: one row, whatever the page size.
		{"SELECT count(*) FROM t", "19"},
		{"SELECT count(*), max(v) FROM t WHERE k = 2", "6 | 232"},
		{"SELECT count(*) FROM t WHERE k IN ()", "0"},
		{"SELECT count(*) FROM kv LIMIT 2", "5"},
	} {
		t.Run(tc.q, func(t *testing.T) {
			tp.t = t
			if got := flat(tp.rows(tc.q)); got != tc.want {
				t.Fatalf("unpaged:\n got: %s\nwant: %s", got, tc.want)
			}
			n := int32(len(strings.Fields(tc.want)))
			for _, size := range []int32{1, 2, 3, 5, 100} {
				got, pages := tp.paged(tc.q, size)
				if got != tc.want {
					t.Fatalf("page size %d:\n got: %s\nwant: %s", size, got, tc.want)
				}
				if pages > int(n)/int(size)+2 {
					t.Fatalf("page size %d: %d pages for %d rows", size, pages, n)
				}
			}
		})
	}
}

// TestSelectPagingAfterChange: a page resumes strictly after the last row
// it returned, even when that row was deleted or rows were inserted
// before it in the meantime.
func TestSelectPagingAfterChange(t *testing.T) {
	tp := selectFixture(t)
	page := func(q string, state []byte) (string, []byte) {
		res, err := tp.p.Query(context.Background(), tp.s, q, &Params{Consistency: consistency.One, PageSize: 2, PagingState: state})
		if err != nil {
			t.Fatal(err)
		}
		return flat(renderRows(t, res)), res.Rows.PagingState
	}
	const q = "SELECT v FROM t WHERE k = 1"
	got, state := page(q, nil)
	if got != "111 112" || state == nil {
		t.Fatalf("first page %q, state %x", got, state)
	}
	tp.exec("DELETE FROM t WHERE k = 1 AND c1 = 1 AND c2 = 2")
	tp.exec("INSERT INTO t (k, c1, c2, v) VALUES (1, 0, 0, 100)")
	tp.exec("INSERT INTO t (k, c1, c2, v) VALUES (1, 1, 3, 113)")
	got, state = page(q, state)
	if got != "113 121" || state == nil {
		t.Fatalf("second page %q, state %x", got, state)
	}
	const rq = "SELECT v FROM t WHERE k = 2 ORDER BY c1 DESC"
	got, state = page(rq, nil)
	if got != "232 231" {
		t.Fatalf("reversed first page %q", got)
	}
	tp.exec("DELETE FROM t WHERE k = 2 AND c1 = 3")
	got, _ = page(rq, state)
	if got != "222 221" {
		t.Fatalf("reversed second page %q", got)
	}
}

// TestSelectPagingErrors: what a paged SELECT refuses.
func TestSelectPagingErrors(t *testing.T) {
	tp := selectFixture(t)
	for _, tc := range []struct {
		q     string
		state []byte
		code  cqlerr.Code
		msg   string
	}{
		{"SELECT v FROM t WHERE k IN (1, 2) ORDER BY c1 DESC", nil, cqlerr.Invalid,
			"Cannot page queries with both ORDER BY and a IN restriction on the partition key; you must either remove the ORDER BY or the IN and sort client side, or disable paging for this query"},
		{"SELECT v FROM t", []byte{9, 9, 9}, cqlerr.ProtocolError, "Invalid value for the paging state"},
		{"SELECT v FROM t", []byte{2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, cqlerr.ProtocolError, "Invalid value for the paging state"},
	} {
		_, err := tp.p.Query(context.Background(), tp.s, tc.q, &Params{Consistency: consistency.One, PageSize: 2, PagingState: tc.state})
		wantErr(t, err, tc.code, tc.msg)
	}
	// Unpaged, ORDER BY with IN merges the partitions by clustering (rows
	// of equal clustering in token order), within LIMIT.
	for _, tc := range []struct{ q, want string }{
		{"SELECT v FROM t WHERE k IN (1, 2) ORDER BY c1 DESC", "132 232 131 231 122 222 121 221 112 212 111 211"},
		{"SELECT v FROM t WHERE k IN (1, 2) AND c1 = 1 ORDER BY c1 DESC, c2 DESC", "112 212 111 211"},
		{"SELECT v FROM t WHERE k IN (2, 1) AND c1 > 1 ORDER BY c1 ASC", "121 221 122 222 131 231 132 232"},
		{"SELECT v FROM t WHERE k IN (1, 2) ORDER BY c1 DESC LIMIT 3", "132 232 131"},
		{"SELECT v FROM t WHERE k IN (1, 2, 3) AND v > 220 ORDER BY c1 ASC ALLOW FILTERING", "311 312 221 321 222 322 231 331 232 332"},
		{"SELECT count(*) FROM t WHERE k IN (1, 2) ORDER BY c1 DESC", "12"},
		// PER PARTITION LIMIT keeps each partition's first rows in the
		// requested order, before the merge.
		{"SELECT v FROM t WHERE k IN (1, 2) ORDER BY c1 DESC PER PARTITION LIMIT 2", "132 232 131 231"},
		{"SELECT v FROM t WHERE k IN (1, 2) ORDER BY c1 ASC PER PARTITION LIMIT 1", "111 211"},
	} {
		if got := flat(tp.rows(tc.q)); got != tc.want {
			t.Errorf("%s:\n got: %s\nwant: %s", tc.q, got, tc.want)
		}
	}
}

// TestSelectValidation: the SELECTs Cassandra refuses before reading, and
// the messages it gives.
func TestSelectValidation(t *testing.T) {
	tp := selectFixture(t)
	for _, tc := range []struct{ q, msg string }{
		{"SELECT v FROM t WHERE v = 1", filteringMsg},
		{"SELECT v FROM t WHERE c1 = 1", filteringMsg},
		{"SELECT v FROM t WHERE c1 > 1", filteringMsg},
		{"SELECT v FROM t WHERE k = 1 AND c2 = 1", filteringMsg},
		{"SELECT v FROM t WHERE l CONTAINS 1", filteringMsg},
		{"SELECT v FROM t WHERE k = 1 AND token(k) > 0", "Cannot use token relation when the partition key is restricted by = or IN"},
		{"SELECT v FROM t ORDER BY c1 DESC", "ORDER BY is only supported when the partition key is restricted by an EQ or an IN."},
		{"SELECT v FROM t WHERE k = 1 ORDER BY x DESC", "Undefined column name x"},
		{"SELECT v FROM t WHERE k = 1 ORDER BY v DESC", "Order by is currently only supported on the clustered columns of the PRIMARY KEY, got v"},
		{"SELECT v FROM t WHERE k = 1 ORDER BY c2 DESC", "Order by currently only supports the ordering of columns following their declared order in the PRIMARY KEY"},
		{"SELECT v FROM t WHERE k = 1 ORDER BY c1 DESC, c2 ASC", "Unsupported order by relation"},
		{"SELECT DISTINCT k FROM t WHERE k = 1 AND c1 = 1", "SELECT DISTINCT with WHERE clause only supports restriction by partition key and/or static columns."},
		{"SELECT DISTINCT k, v FROM t", "SELECT DISTINCT queries must only request partition key columns and/or static columns (not v)"},
		{"SELECT v FROM t LIMIT 0", "LIMIT must be strictly positive"},
		{"SELECT v FROM t PER PARTITION LIMIT -1", "PER PARTITION LIMIT must be strictly positive"},
		{"SELECT JSON v FROM t", "SELECT JSON is not supported by ringdb yet"},
		{"SELECT v FROM t GROUP BY k", "GROUP BY is not supported by ringdb yet"},
		{"SELECT 1 FROM t", "Constants in the selection clause need a type hint: (type)1"},
	} {
		_, err := tp.query(tc.q)
		wantErr(t, err, cqlerr.Invalid, tc.msg)
	}
}

// TestRowLimit: how many rows a partition read asks storage for.
func TestRowLimit(t *testing.T) {
	max := int64(math.MaxInt64)
	for _, tc := range []struct {
		name                     string
		agg, filter, tupleFilter bool
		pageSize, limit, ppLimit int64
		count, total             int64
		resume                   *pageState
		want                     int
	}{
		{name: "unbounded", pageSize: max, limit: max, ppLimit: max, want: 0},
		{name: "page left", pageSize: 10, limit: max, ppLimit: max, count: 4, want: 6},
		{name: "limit left", pageSize: 10, limit: 7, ppLimit: max, total: 3, want: 4},
		{name: "per partition", pageSize: 10, limit: max, ppLimit: 2, want: 2},
		{name: "per partition resumed", pageSize: 10, limit: max, ppLimit: 5, resume: &pageState{ppCount: 3}, want: 2},
		{name: "per partition exhausted", pageSize: 10, limit: max, ppLimit: 3, resume: &pageState{ppCount: 3}, want: 0},
		{name: "page full", pageSize: 2, limit: max, ppLimit: max, count: 2, want: 0},
		{name: "above 2^30", pageSize: 1<<30 + 1, limit: max, ppLimit: max, want: 0},
		{name: "at 2^30", pageSize: 1 << 30, limit: max, ppLimit: max, want: 1 << 30},
		{name: "aggregate", agg: true, pageSize: 10, limit: 5, ppLimit: 1, want: 0},
		{name: "filtered", filter: true, pageSize: 10, limit: 5, ppLimit: 1, want: 0},
		{name: "tuple filtered", tupleFilter: true, pageSize: 10, limit: 5, ppLimit: 1, want: 0},
	} {
		pl := &selectPlan{agg: tc.agg, pageSize: tc.pageSize, limit: tc.limit, ppLimit: tc.ppLimit, r: &restrictions{usesFilter: tc.filter}}
		if tc.tupleFilter {
			pl.r.tupleFilters = []tupleFilter{{}}
		}
		if got := pl.rowLimit(tc.resume, &output{count: tc.count, total: tc.total}); got != tc.want {
			t.Errorf("%s: rowLimit = %d, want %d", tc.name, got, tc.want)
		}
	}
}

// fmtSlices renders slices as "[a,b)" ranges of their prefixes ("-" for
// an open end).
func fmtSlices(ss []storage.Slice) string {
	var out []string
	for _, s := range ss {
		lo, hi := "(", ")"
		if s.Start.Inclusive {
			lo = "["
		}
		if s.End.Inclusive {
			hi = "]"
		}
		p := func(b []byte) string {
			if len(b) == 0 {
				return "-"
			}
			return string(b)
		}
		out = append(out, lo+p(s.Start.Prefix)+","+p(s.End.Prefix)+hi)
	}
	return strings.Join(out, " ")
}

// TestResumeSlices: what remains of a read's slices after the clustering
// a page stopped at, reading forward and reversed. Prefixes are byte
// strings; "a" bounds every key starting with "a" when inclusive.
func TestResumeSlices(t *testing.T) {
	sl := func(start string, startInc bool, end string, endInc bool) storage.Slice {
		b := func(s string) []byte {
			if s == "" {
				return nil
			}
			return []byte(s)
		}
		return storage.Slice{Start: storage.Bound{Prefix: b(start), Inclusive: startInc}, End: storage.Bound{Prefix: b(end), Inclusive: endInc}}
	}
	two := []storage.Slice{sl("a", true, "a", true), sl("c", true, "c", true)}
	for _, tc := range []struct {
		name     string
		slices   []storage.Slice
		ck       string
		reversed bool
		want     string
	}{
		{"whole partition", nil, "b", false, "(b,-]"},
		{"whole partition reversed", nil, "b", true, "[-,b)"},
		{"inside first", two, "ax", false, "(ax,a] [c,c]"},
		{"between", two, "b", false, "[c,c]"},
		{"inside last", two, "cx", false, "(cx,c]"},
		{"past all", two, "d", false, ""},
		{"reversed inside last", two, "cx", true, "[a,a] [c,cx)"},
		{"reversed between", two, "b", true, "[a,a]"},
		{"reversed inside first", two, "ax", true, "[a,ax)"},
		{"reversed before all", two, "0", true, ""},
		{"open start", []storage.Slice{sl("", true, "m", false)}, "f", false, "(f,m)"},
		{"exclusive end reached", []storage.Slice{sl("a", true, "m", false)}, "m", false, ""},
		{"exclusive end passed", []storage.Slice{sl("a", true, "m", false)}, "mx", false, ""},
		{"start after ck kept", []storage.Slice{sl("m", false, "z", true)}, "f", false, "(m,z]"},
		{"open end reversed", []storage.Slice{sl("c", true, "", true)}, "f", true, "[c,f)"},
		{"reversed end before ck kept", []storage.Slice{sl("c", true, "e", false)}, "f", true, "[c,e)"},
		{"reversed inclusive end prefix of ck", []storage.Slice{sl("c", true, "f", true)}, "fa", true, "[c,fa)"},
		{"reversed start after ck", []storage.Slice{sl("g", true, "z", true)}, "f", true, ""},
	} {
		if got := fmtSlices(resumeSlices(tc.slices, []byte(tc.ck), tc.reversed)); got != tc.want {
			t.Errorf("%s: resumeSlices(%s, %q, reversed=%v) = %q, want %q", tc.name, fmtSlices(tc.slices), tc.ck, tc.reversed, got, tc.want)
		}
	}
}

// TestBoundBefore: an end bound leaves nothing after ck when every key it
// admits sorts at or before ck.
func TestBoundBefore(t *testing.T) {
	for _, tc := range []struct {
		prefix    string
		inclusive bool
		ck        string
		want      bool
	}{
		{"b", false, "b", true},  // (.., b) ends before b
		{"b", false, "c", true},  //
		{"b", false, "a", false}, // keys in [a, b) remain after a
		{"b", false, "bx", true},
		{"b", true, "b", false}, // keys b... extend past b itself
		{"b", true, "bx", false},
		{"b", true, "c", true},
		{"b", true, "a", false},
		{"ab", true, "a", false},
	} {
		if got := boundBefore(storage.Bound{Prefix: []byte(tc.prefix), Inclusive: tc.inclusive}, []byte(tc.ck)); got != tc.want {
			t.Errorf("boundBefore(%q inclusive=%v, %q) = %v, want %v", tc.prefix, tc.inclusive, tc.ck, got, tc.want)
		}
	}
}

// TestPageStateEncoding: the paging state's byte layout (version, flags,
// token, then uvarint-prefixed key and clustering, rows sent and
// per-partition count) and the decoder's refusals.
func TestPageStateEncoding(t *testing.T) {
	s := &pageState{token: 1, key: []byte("k"), clustering: []byte{7, 8}, partitionDone: true, staticDone: true, rowsSent: 300, ppCount: 2}
	want := []byte{1, 3, 0, 0, 0, 0, 0, 0, 0, 1, 1, 'k', 2, 7, 8, 0xac, 0x02, 2}
	if got := s.encode(); string(got) != string(want) {
		t.Fatalf("encode = %x, want %x", got, want)
	}
	for _, b := range [][]byte{
		nil,
		want[:9],                       // short header
		append([]byte{2}, want[1:]...), // unknown version
		want[:11],                      // key cut
		want[:14],                      // clustering cut
		want[:15],                      // rows sent missing
		want[:16],                      // rows sent cut
		want[:17],                      // per-partition count missing
	} {
		if _, err := decodePageState(b); err == nil {
			t.Errorf("decodePageState(%x) accepted", b)
		} else {
			wantErr(t, err, cqlerr.ProtocolError, "Invalid value for the paging state")
		}
	}
	// A state is exactly what encode wrote: trailing bytes are refused.
	if _, err := decodePageState(append(append([]byte{}, want...), 0xff)); err == nil {
		t.Fatal("decode accepted a trailing byte")
	}
	got, err := decodePageState(want)
	if err != nil || got.ppCount != 2 || got.rowsSent != 300 || !got.partitionDone || !got.staticDone {
		t.Fatalf("decode: %+v, %v", got, err)
	}
}
