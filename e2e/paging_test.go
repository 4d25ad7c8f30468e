package e2e

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gocql/gocql"

	"github.com/ringdb/ringdb/internal/ring"
)

// pagingFetchSizes are the driver fetch sizes every paging shape is read
// with: 1 and 2 put a page boundary after every row, odd sizes land inside
// partitions, 5000 is the drivers' default (one page).
var pagingFetchSizes = []int{1, 2, 7, 10, 33, 100, 999, 5000}

// pagingModel is the data the paging matrix writes, kept in the test so
// every expected answer is computed without asking the server.
type pagingModel struct {
	single []int         // single.k, one row per partition
	wide   map[int][]int // wide.p -> clustering values c (ascending); empty = static only
}

// tokenOfInt is Cassandra's Murmur3 token of an int partition key.
func tokenOfInt(k int) int64 {
	return ring.Murmur3Token(binary.BigEndian.AppendUint32(nil, uint32(int32(k))))
}

// wideRows returns the rows of wide for p as "p|c" in clustering order;
// a partition with only static data yields "p|<nil>".
func (m *pagingModel) wideRows(p int) []string {
	cs := m.wide[p]
	if len(cs) == 0 {
		return []string{fmt.Sprintf("%d|<nil>", p)}
	}
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = fmt.Sprintf("%d|%d", p, c)
	}
	return out
}

// byToken returns keys sorted by their partition token.
func byToken(keys []int) []int {
	out := slices.Clone(keys)
	slices.SortFunc(out, func(a, b int) int {
		ta, tb := tokenOfInt(a), tokenOfInt(b)
		switch {
		case ta < tb:
			return -1
		case ta > tb:
			return 1
		}
		return 0
	})
	return out
}

// writePagingData creates ks.single and ks.wide and fills them.
func writePagingData(t *testing.T, s *gocql.Session, ks string) *pagingModel {
	t.Helper()
	mustExec(t, s, "CREATE TABLE "+ks+".single (k int PRIMARY KEY, v int)")
	mustExec(t, s, "CREATE TABLE "+ks+".wide (p int, c int, s int static, v int, PRIMARY KEY (p, c))")
	m := &pagingModel{wide: map[int][]int{}}
	for k := 0; k < 100; k++ {
		mustExec(t, s, "INSERT INTO "+ks+".single (k, v) VALUES (?, ?)", k, k%7)
		m.single = append(m.single, k)
	}
	for p := 0; p < 24; p++ {
		mustExec(t, s, "UPDATE "+ks+".wide SET s = ? WHERE p = ?", p, p)
		n := (p * 7) % 13 // 0..12 rows; 0 means the partition has only its static row
		m.wide[p] = nil
		for c := 0; c < n; c++ {
			mustExec(t, s, "INSERT INTO "+ks+".wide (p, c, v) VALUES (?, ?, ?)", p, c, p*100+c)
			m.wide[p] = append(m.wide[p], c)
		}
	}
	return m
}

// pagingShape is one query and the rows it must return.
type pagingShape struct {
	query   string
	want    []string
	ordered bool // the order of want is part of the answer
}

func (m *pagingModel) shapes(ks string) []pagingShape {
	var sh []pagingShape
	add := func(q string, ordered bool, want []string) {
		sh = append(sh, pagingShape{query: strings.ReplaceAll(q, "KS.", ks+"."), want: want, ordered: ordered})
	}
	singleTok := byToken(m.single)
	var all, filtered []string
	for _, k := range singleTok {
		all = append(all, fmt.Sprint(k))
		if k%7 == 3 {
			filtered = append(filtered, fmt.Sprint(k))
		}
	}
	add("SELECT k FROM KS.single", true, all)
	add("SELECT DISTINCT k FROM KS.single", true, all)
	add("SELECT k FROM KS.single LIMIT 37", true, all[:37])
	add("SELECT k FROM KS.single WHERE v = 3 ALLOW FILTERING", true, filtered)
	add("SELECT count(*) FROM KS.single", true, []string{"100"})
	// A token range that starts and ends inside the ring.
	lo, hi := tokenOfInt(singleTok[20]), tokenOfInt(singleTok[70])
	var rng []string
	for _, k := range singleTok {
		if tk := tokenOfInt(k); tk > lo && tk <= hi {
			rng = append(rng, fmt.Sprint(k))
		}
	}
	add(fmt.Sprintf("SELECT k FROM KS.single WHERE token(k) > %d AND token(k) <= %d", lo, hi), true, rng)

	var ps []int
	for p := range m.wide {
		ps = append(ps, p)
	}
	wideTok := byToken(ps)
	var wideAll, ppl, ckFiltered, vFiltered, distinct, tokRange []string
	var rowCount int
	wlo := tokenOfInt(wideTok[5])
	for _, p := range wideTok {
		rows := m.wideRows(p)
		wideAll = append(wideAll, rows...)
		ppl = append(ppl, rows[:min(2, len(rows))]...)
		distinct = append(distinct, fmt.Sprintf("%d|%d", p, p))
		rowCount += len(m.wide[p])
		if len(m.wide[p]) == 0 {
			rowCount++ // the static-only row counts
		}
		if tokenOfInt(p) >= wlo {
			tokRange = append(tokRange, rows...)
		}
		for _, c := range m.wide[p] {
			if c >= 2 {
				ckFiltered = append(ckFiltered, fmt.Sprintf("%d|%d", p, c))
			}
			if p*100+c > 500 {
				vFiltered = append(vFiltered, fmt.Sprintf("%d|%d", p, c))
			}
		}
	}
	add("SELECT p, c FROM KS.wide", true, wideAll)
	add("SELECT p, c FROM KS.wide PER PARTITION LIMIT 2", true, ppl)
	add("SELECT p, c FROM KS.wide LIMIT 20", true, wideAll[:20])
	add("SELECT p, c FROM KS.wide PER PARTITION LIMIT 2 LIMIT 15", true, ppl[:15])
	add("SELECT DISTINCT p, s FROM KS.wide", true, distinct)
	add("SELECT p, c FROM KS.wide WHERE c >= 2 ALLOW FILTERING", true, ckFiltered)
	add("SELECT p, c FROM KS.wide WHERE v > 500 ALLOW FILTERING", true, vFiltered)
	add(fmt.Sprintf("SELECT p, c FROM KS.wide WHERE token(p) >= %d", wlo), true, tokRange)
	add("SELECT count(*) FROM KS.wide", true, []string{fmt.Sprint(rowCount)})

	in := []int{1, 2, 3, 4, 5, 13}
	var inRows []string
	for _, p := range byToken(in) {
		inRows = append(inRows, m.wideRows(p)...)
	}
	add("SELECT p, c FROM KS.wide WHERE p IN (1, 2, 3, 4, 5, 13)", true, inRows)
	var inPPL []string
	for _, p := range byToken(in) {
		r := m.wideRows(p)
		inPPL = append(inPPL, r[:min(1, len(r))]...)
	}
	add("SELECT p, c FROM KS.wide WHERE p IN (1, 2, 3, 4, 5, 13) PER PARTITION LIMIT 1", true, inPPL)
	var desc []string
	for i := len(m.wide[7]) - 1; i >= 0; i-- {
		desc = append(desc, fmt.Sprintf("7|%d", m.wide[7][i]))
	}
	add("SELECT p, c FROM KS.wide WHERE p = 7 ORDER BY c DESC", true, desc)
	add("SELECT p, c FROM KS.wide WHERE p = 7 AND c > 2 AND c <= 9", true, wantRange(7, 3, 9))
	return sh
}

func wantRange(p, from, to int) []string {
	var out []string
	for c := from; c <= to; c++ {
		out = append(out, fmt.Sprintf("%d|%d", p, c))
	}
	return out
}

// readAllPages runs q with the given fetch size, following the driver's
// paging, and returns every row rendered as "v1|v2". It fails the test if
// the scan does not end within maxPages pages.
func readAllPages(t *testing.T, s *gocql.Session, q string, fetch, maxPages int) []string {
	t.Helper()
	var out []string
	var state []byte
	for page := 0; ; page++ {
		if page > maxPages {
			t.Fatalf("%s (fetch %d): no end after %d pages (%d rows)", q, fetch, maxPages, len(out))
		}
		iter := s.Query(q).PageSize(fetch).PageState(state).Iter()
		// Every column of the shapes is an integer; **int keeps null apart
		// from 0.
		dest := make([]any, len(iter.Columns()))
		vals := make([]*int64, len(dest))
		for i := range dest {
			dest[i] = &vals[i]
		}
		for iter.Scan(dest...) {
			parts := make([]string, len(vals))
			for i, v := range vals {
				if v == nil {
					parts[i] = "<nil>"
				} else {
					parts[i] = fmt.Sprint(*v)
				}
			}
			out = append(out, strings.Join(parts, "|"))
		}
		state = iter.PageState()
		if err := iter.Close(); err != nil {
			t.Fatalf("%s (fetch %d): %v", q, fetch, err)
		}
		if len(state) == 0 {
			return out
		}
	}
}

// checkPagingMatrix reads every shape at every fetch size and compares the
// rows with the model: each row exactly once, in order where order is
// defined.
func checkPagingMatrix(t *testing.T, s *gocql.Session, ks string, m *pagingModel) {
	t.Helper()
	for _, sh := range m.shapes(ks) {
		for _, fetch := range pagingFetchSizes {
			got := readAllPages(t, s, sh.query, fetch, len(sh.want)+2)
			want := sh.want
			if !sh.ordered {
				got, want = sortedCopy(got), sortedCopy(want)
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s (fetch %d): %d rows, want %d\n%s", sh.query, fetch, len(got), len(want), firstMismatch(got, want))
			}
		}
	}
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

func firstMismatch(got, want []string) string {
	for i := 0; i < len(got) || i < len(want); i++ {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			return fmt.Sprintf("first difference at row %d: got %q want %q", i, g, w)
		}
	}
	return ""
}

// TestPagingMatrix: every query shape at every fetch size returns each row
// exactly once on one node.
func TestPagingMatrix(t *testing.T) {
	_, s := setupKS(t)
	m := writePagingData(t, s, "ks")
	checkPagingMatrix(t, s, "ks", m)
}

// TestPagingWithConcurrentChanges: rows deleted or inserted between pages
// follow Cassandra's paging guarantees — no row twice, no live row that
// existed throughout skipped, a row deleted before its page not returned.
func TestPagingWithConcurrentChanges(t *testing.T) {
	_, s := setupKS(t)
	m := writePagingData(t, s, "ks")
	order := byToken(m.single)
	for _, fetch := range []int{1, 3, 10} {
		t.Run(fmt.Sprint("fetch", fetch), func(t *testing.T) {
			mustExec(t, s, "TRUNCATE ks.single")
			for _, k := range m.single {
				mustExec(t, s, "INSERT INTO ks.single (k, v) VALUES (?, 0)", k)
			}
			seen := map[string]int{}
			var state []byte
			deleted := map[string]bool{}
			for page := 0; page < 200; page++ {
				iter := s.Query("SELECT k FROM ks.single").PageSize(fetch).PageState(state).Iter()
				var k int
				for iter.Scan(&k) {
					seen[fmt.Sprint(k)]++
				}
				state = iter.PageState()
				if err := iter.Close(); err != nil {
					t.Fatal(err)
				}
				if len(state) == 0 {
					break
				}
				if page == 2 {
					// Delete the last row returned (the paging state points
					// at it), a row far ahead, and insert new rows.
					last := order[len(seen)-1]
					ahead := order[len(seen)+fetch+5]
					mustExec(t, s, "DELETE FROM ks.single WHERE k = ?", last)
					mustExec(t, s, "DELETE FROM ks.single WHERE k = ?", ahead)
					deleted[fmt.Sprint(ahead)] = true
					for k := 1000; k < 1010; k++ {
						mustExec(t, s, "INSERT INTO ks.single (k, v) VALUES (?, 0)", k)
					}
				}
			}
			if len(state) != 0 {
				t.Fatal("scan did not end")
			}
			for k, n := range seen {
				if n != 1 {
					t.Errorf("row %s returned %d times", k, n)
				}
				if deleted[k] {
					t.Errorf("row %s deleted before its page was returned", k)
				}
			}
			for _, k := range m.single {
				if key := fmt.Sprint(k); seen[key] == 0 && !deleted[key] {
					t.Errorf("row %s existed throughout but was skipped", key)
				}
			}
		})
	}
}
