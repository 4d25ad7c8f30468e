package e2e

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gocql/gocql"
)

func setupKS(t *testing.T) (*testNode, *gocql.Session) {
	n := startNode(t, "")
	s := n.session()
	mustExec(t, s, "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
	return n, s
}

// rows returns the query's rows rendered as "v1|v2" strings.
func rows(t *testing.T, s *gocql.Session, q string, args ...any) []string {
	t.Helper()
	iter := s.Query(q, args...).Iter()
	var out []string
	for {
		m := map[string]any{}
		if !iter.MapScan(m) {
			break
		}
		cols := iter.Columns()
		parts := make([]string, len(cols))
		for i, c := range cols {
			parts[i] = fmt.Sprint(m[c.Name])
		}
		out = append(out, strings.Join(parts, "|"))
	}
	if err := iter.Close(); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return out
}

func expectRows(t *testing.T, s *gocql.Session, want []string, q string, args ...any) {
	t.Helper()
	got := rows(t, s, q, args...)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("%s\n got: %q\nwant: %q", q, got, want)
	}
}

func expectCode(t *testing.T, err error, code int, contains string) {
	t.Helper()
	var rerr gocql.RequestError
	if !errors.As(err, &rerr) {
		t.Fatalf("want error code %#x, got %v", code, err)
	}
	if rerr.Code() != code || !strings.Contains(rerr.Message(), contains) {
		t.Fatalf("want code %#x containing %q, got %#x %q", code, contains, rerr.Code(), rerr.Message())
	}
}

func TestSelectRestrictions(t *testing.T) {
	_, s := setupKS(t)
	mustExec(t, s, "CREATE TABLE ks.t (p int, c1 int, c2 text, v int, PRIMARY KEY (p, c1, c2)) WITH CLUSTERING ORDER BY (c1 DESC, c2 ASC)")
	for p := 0; p < 3; p++ {
		for c1 := 0; c1 < 4; c1++ {
			for _, c2 := range []string{"a", "b"} {
				mustExec(t, s, "INSERT INTO ks.t (p, c1, c2, v) VALUES (?, ?, ?, ?)", p, c1, c2, p*100+c1*10+int(c2[0]-'a'))
			}
		}
	}
	expectRows(t, s, []string{"3|a", "3|b", "2|a", "2|b", "1|a", "1|b", "0|a", "0|b"}, "SELECT c1, c2 FROM ks.t WHERE p = 1")
	expectRows(t, s, []string{"0|b", "0|a", "1|b", "1|a", "2|b", "2|a", "3|b", "3|a"}, "SELECT c1, c2 FROM ks.t WHERE p = 1 ORDER BY c1 ASC")
	expectRows(t, s, []string{"2|a", "2|b", "1|a", "1|b"}, "SELECT c1, c2 FROM ks.t WHERE p = 1 AND c1 >= 1 AND c1 < 3")
	expectRows(t, s, []string{"3|a", "3|b"}, "SELECT c1, c2 FROM ks.t WHERE p = 1 AND c1 > 2")
	expectRows(t, s, []string{"2|b"}, "SELECT c1, c2 FROM ks.t WHERE p = 1 AND c1 = 2 AND c2 > 'a'")
	expectRows(t, s, []string{"3|b", "1|b"}, "SELECT c1, c2 FROM ks.t WHERE p = 1 AND c1 IN (1, 3) AND c2 = 'b'")
	expectRows(t, s, []string{"2|a", "2|b", "1|b"}, "SELECT c1, c2 FROM ks.t WHERE p = 1 AND (c1, c2) > (1, 'a') AND (c1, c2) <= (2, 'b') ORDER BY c1 DESC")
	expectRows(t, s, []string{"131"}, "SELECT v FROM ks.t WHERE p = 1 AND (c1, c2) = (3, 'b')")
	expectRows(t, s, []string{"0|3|a", "0|3|b", "2|3|a", "2|3|b"}, "SELECT p, c1, c2 FROM ks.t WHERE p IN (2, 0) AND c1 = 3")
	expectRows(t, s, []string{"3|a", "3|b", "2|a"}, "SELECT c1, c2 FROM ks.t WHERE p = 1 LIMIT 3")
	// PER PARTITION LIMIT over a full scan: 2 rows from each of 3 partitions.
	if got := rows(t, s, "SELECT p FROM ks.t PER PARTITION LIMIT 2"); len(got) != 6 {
		t.Fatalf("per partition limit: %v", got)
	}
	expectRows(t, s, []string{"24"}, "SELECT count(*) FROM ks.t")
	expectRows(t, s, []string{"8"}, "SELECT count(*) FROM ks.t WHERE p = 2")
	expectRows(t, s, []string{"100|131|924"}, "SELECT min(v), max(v), sum(v) FROM ks.t WHERE p = 1")
	expectRows(t, s, []string{"0", "2"}, "SELECT DISTINCT p FROM ks.t WHERE p IN (2, 0)")
	got := rows(t, s, "SELECT DISTINCT p FROM ks.t")
	sort.Strings(got)
	expectEq(t, got, []string{"0", "1", "2"})
	// Filtering needs ALLOW FILTERING.
	expectCode(t, s.Query("SELECT * FROM ks.t WHERE v = 131").Exec(), 0x2200, "ALLOW FILTERING")
	expectRows(t, s, []string{"1|3|b"}, "SELECT p, c1, c2 FROM ks.t WHERE v = 131 ALLOW FILTERING")
	expectCode(t, s.Query("SELECT * FROM ks.t WHERE c1 = 1").Exec(), 0x2200, "ALLOW FILTERING")
	if got := rows(t, s, "SELECT p FROM ks.t WHERE c1 = 1 AND c2 = 'a' ALLOW FILTERING"); len(got) != 3 {
		t.Fatalf("clustering filtering: %v", got)
	}
	// Token ranges cover the table exactly once.
	var all []string
	bounds := []int64{-9223372036854775808, -3000000000000000000, 0, 4000000000000000000}
	for i, b := range bounds {
		q := "SELECT p, token(p) FROM ks.t WHERE token(p) > ? AND token(p) <= ?"
		end := int64(9223372036854775807)
		if i+1 < len(bounds) {
			end = bounds[i+1]
		}
		if i == 0 {
			q = "SELECT p, token(p) FROM ks.t WHERE token(p) >= ? AND token(p) <= ?"
		}
		all = append(all, rows(t, s, q, b, end)...)
	}
	if len(all) != 24 {
		t.Fatalf("token ranges returned %d rows", len(all))
	}
	// Invalid restrictions.
	expectCode(t, s.Query("SELECT * FROM ks.t WHERE p > 1").Exec(), 0x2200, "")
	expectCode(t, s.Query("SELECT * FROM ks.t WHERE p = 1 ORDER BY v").Exec(), 0x2200, "")
	expectCode(t, s.Query("SELECT nope FROM ks.t").Exec(), 0x2200, "Undefined column name nope")
	expectCode(t, s.Query("SELECT * FROM ks.nope").Exec(), 0x2200, "unconfigured table nope")
	expectCode(t, s.Query("SELEC * FROM ks.t").Exec(), 0x2000, "line 1:0")
}

func expectEq(t *testing.T, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestWritesDeletesAndTimestamps(t *testing.T) {
	_, s := setupKS(t)
	mustExec(t, s, "CREATE TABLE ks.t (p int, c int, s text STATIC, v text, w int, PRIMARY KEY (p, c))")
	for c := 0; c < 6; c++ {
		mustExec(t, s, "INSERT INTO ks.t (p, c, v) VALUES (1, ?, ?)", c, fmt.Sprint("v", c))
	}
	mustExec(t, s, "UPDATE ks.t SET s = 'static' WHERE p = 1")
	expectRows(t, s, []string{"0|static", "5|static"}, "SELECT c, s FROM ks.t WHERE p = 1 AND c IN (0, 5)")
	// Range delete of clustering 1 < c <= 3, row delete of c = 5, cell delete.
	mustExec(t, s, "DELETE FROM ks.t WHERE p = 1 AND c > 1 AND c <= 3")
	mustExec(t, s, "DELETE FROM ks.t WHERE p = 1 AND c = 5")
	mustExec(t, s, "DELETE v FROM ks.t WHERE p = 1 AND c = 0")
	expectRows(t, s, []string{"0|", "1|v1", "4|v4"}, "SELECT c, v FROM ks.t WHERE p = 1")
	// UPDATE creates no row marker: setting the only cell to null removes the row.
	mustExec(t, s, "UPDATE ks.t SET w = 1 WHERE p = 2 AND c = 0")
	mustExec(t, s, "UPDATE ks.t SET w = null WHERE p = 2 AND c = 0")
	expectRows(t, s, nil, "SELECT c FROM ks.t WHERE p = 2")
	// Last write wins by timestamp, not arrival order.
	mustExec(t, s, "INSERT INTO ks.t (p, c, v) VALUES (3, 0, 'newer') USING TIMESTAMP 2000")
	mustExec(t, s, "INSERT INTO ks.t (p, c, v) VALUES (3, 0, 'older') USING TIMESTAMP 1000")
	expectRows(t, s, []string{"newer|2000"}, "SELECT v, writetime(v) FROM ks.t WHERE p = 3 AND c = 0")
	mustExec(t, s, "DELETE FROM ks.t USING TIMESTAMP 1500 WHERE p = 3 AND c = 0")
	expectRows(t, s, []string{"newer"}, "SELECT v FROM ks.t WHERE p = 3 AND c = 0")
	mustExec(t, s, "DELETE FROM ks.t USING TIMESTAMP 2000 WHERE p = 3 AND c = 0")
	expectRows(t, s, nil, "SELECT v FROM ks.t WHERE p = 3 AND c = 0")
	// Tie on timestamp: the greater value wins.
	mustExec(t, s, "INSERT INTO ks.t (p, c, v) VALUES (4, 0, 'aaa') USING TIMESTAMP 5")
	mustExec(t, s, "INSERT INTO ks.t (p, c, v) VALUES (4, 0, 'zzz') USING TIMESTAMP 5")
	mustExec(t, s, "INSERT INTO ks.t (p, c, v) VALUES (4, 0, 'mmm') USING TIMESTAMP 5")
	expectRows(t, s, []string{"zzz"}, "SELECT v FROM ks.t WHERE p = 4 AND c = 0")
	// Partition delete.
	mustExec(t, s, "DELETE FROM ks.t WHERE p = 1")
	expectRows(t, s, nil, "SELECT c FROM ks.t WHERE p = 1")
	// Missing key parts.
	expectCode(t, s.Query("INSERT INTO ks.t (p, v) VALUES (1, 'x')").Exec(), 0x2200, "Some clustering keys are missing: c")
	expectCode(t, s.Query("UPDATE ks.t SET v = 'x' WHERE c = 1").Exec(), 0x2200, "Some partition key parts are missing: p")
}

func TestTTL(t *testing.T) {
	_, s := setupKS(t)
	mustExec(t, s, "CREATE TABLE ks.t (k int PRIMARY KEY, a text, b text) WITH default_time_to_live = 3600")
	mustExec(t, s, "INSERT INTO ks.t (k, a, b) VALUES (1, 'short', 'keep') USING TTL 1")
	mustExec(t, s, "UPDATE ks.t USING TTL 0 SET b = 'keep' WHERE k = 1")
	mustExec(t, s, "INSERT INTO ks.t (k, a) VALUES (2, 'default')")
	var ttl int
	if err := s.Query("SELECT ttl(a) FROM ks.t WHERE k = 2").Scan(&ttl); err != nil || ttl < 3500 || ttl > 3600 {
		t.Fatalf("default ttl: %d %v", ttl, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := rows(t, s, "SELECT a, b FROM ks.t WHERE k = 1")
		if len(got) == 1 && got[0] == "|keep" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("TTL did not expire: %v", got)
		}
		time.Sleep(100 * time.Millisecond)
	}
	expectCode(t, s.Query("INSERT INTO ks.t (k, a) VALUES (3, 'x') USING TTL -1").Exec(), 0x2200, "TTL")
}

func TestCollections(t *testing.T) {
	_, s := setupKS(t)
	mustExec(t, s, "CREATE TABLE ks.c (k int PRIMARY KEY, l list<int>, st set<text>, m map<text, int>)")
	mustExec(t, s, "INSERT INTO ks.c (k, l, st, m) VALUES (1, [1, 2, 3], {'a', 'b'}, {'x': 1})")
	mustExec(t, s, "UPDATE ks.c SET l = l + [4], l = [0] + l, st = st + {'c'}, m['y'] = 2 WHERE k = 1")
	expectRows(t, s, []string{"[0 1 2 3 4]|[a b c]|map[x:1 y:2]"}, "SELECT l, st, m FROM ks.c WHERE k = 1")
	mustExec(t, s, "UPDATE ks.c SET l = l - [2], st = st - {'a'}, m = m - {'x'} WHERE k = 1")
	expectRows(t, s, []string{"[0 1 3 4]|[b c]|map[y:2]"}, "SELECT l, st, m FROM ks.c WHERE k = 1")
	mustExec(t, s, "UPDATE ks.c SET l[1] = 10 WHERE k = 1")
	mustExec(t, s, "DELETE l[0], m['y'] FROM ks.c WHERE k = 1")
	expectRows(t, s, []string{"[10 3 4]|[b c]|map[]"}, "SELECT l, st, m FROM ks.c WHERE k = 1")
	mustExec(t, s, "UPDATE ks.c SET st = {'z'} WHERE k = 1")
	expectRows(t, s, []string{"[z]"}, "SELECT st FROM ks.c WHERE k = 1")
	expectRows(t, s, []string{"1"}, "SELECT k FROM ks.c WHERE st CONTAINS 'z' ALLOW FILTERING")
	expectCode(t, s.Query("UPDATE ks.c SET l[7] = 1 WHERE k = 1").Exec(), 0x2200, "out of bound")
}

func TestFunctions(t *testing.T) {
	_, s := setupKS(t)
	mustExec(t, s, "CREATE TABLE ks.f (k timeuuid PRIMARY KEY, b blob, u uuid, d date)")
	mustExec(t, s, "INSERT INTO ks.f (k, b, u, d) VALUES (now(), intAsBlob(7), uuid(), toDate(now()))")
	var k gocql.UUID
	var ts time.Time
	var b int
	var d time.Time
	if err := s.Query("SELECT k, toTimestamp(k), blobAsInt(b), d FROM ks.f").Scan(&k, &ts, &b, &d); err != nil {
		t.Fatal(err)
	}
	if time.Since(ts) > time.Minute || !k.Time().Equal(ts.Truncate(time.Millisecond)) && k.Time().Sub(ts) > time.Millisecond {
		t.Fatalf("toTimestamp(now()) = %v, uuid time %v", ts, k.Time())
	}
	if b != 7 || d.Year() < 2024 {
		t.Fatalf("blobAsInt %d, date %v", b, d)
	}
	var txt string
	if err := s.Query("SELECT CAST(blobAsInt(b) AS text) FROM ks.f").Scan(&txt); err != nil || txt != "7" {
		t.Fatalf("cast: %q %v", txt, err)
	}
}

func TestBatchAndLWT(t *testing.T) {
	_, s := setupKS(t)
	mustExec(t, s, "CREATE TABLE ks.b (k int, c int, v text, PRIMARY KEY (k, c))")
	mustExec(t, s, `BEGIN BATCH
		INSERT INTO ks.b (k, c, v) VALUES (1, 1, 'a');
		INSERT INTO ks.b (k, c, v) VALUES (2, 1, 'b');
		UPDATE ks.b SET v = 'c' WHERE k = 1 AND c = 2;
		APPLY BATCH`)
	b := s.NewBatch(gocql.UnloggedBatch)
	for i := 0; i < 10; i++ {
		b.Query("INSERT INTO ks.b (k, c, v) VALUES (?, ?, ?)", 3, i, "x")
	}
	if err := s.ExecuteBatch(b); err != nil {
		t.Fatal(err)
	}
	expectRows(t, s, []string{"13"}, "SELECT count(*) FROM ks.b")
	m := map[string]any{}
	applied, err := s.Query("INSERT INTO ks.b (k, c, v) VALUES (1, 1, 'z') IF NOT EXISTS").MapScanCAS(m)
	if err != nil || applied || m["v"] != "a" {
		t.Fatalf("IF NOT EXISTS on existing row: applied=%v %v %v", applied, m, err)
	}
	applied, err = s.Query("INSERT INTO ks.b (k, c, v) VALUES (9, 9, 'new') IF NOT EXISTS").MapScanCAS(map[string]any{})
	if err != nil || !applied {
		t.Fatalf("IF NOT EXISTS on new row: %v %v", applied, err)
	}
	applied, err = s.Query("UPDATE ks.b SET v = 'y' WHERE k = 1 AND c = 1 IF v = 'a'").MapScanCAS(map[string]any{})
	if err != nil || !applied {
		t.Fatalf("IF v = 'a': %v %v", applied, err)
	}
	expectRows(t, s, []string{"y"}, "SELECT v FROM ks.b WHERE k = 1 AND c = 1")
}

func TestPagingLargePartitionAndScan(t *testing.T) {
	_, s := setupKS(t)
	mustExec(t, s, "CREATE TABLE ks.big (p int, c int, v text, PRIMARY KEY (p, c))")
	ins := s.Query("INSERT INTO ks.big (p, c, v) VALUES (?, ?, ?)")
	const parts, per = 20, 600 // 12,000 rows
	for p := 0; p < parts; p++ {
		b := s.NewBatch(gocql.UnloggedBatch)
		for c := 0; c < per; c++ {
			b.Query("INSERT INTO ks.big (p, c, v) VALUES (?, ?, ?)", p, c, "value")
		}
		if err := s.ExecuteBatch(b); err != nil {
			t.Fatal(err)
		}
	}
	_ = ins
	// Full-table scan with paging: every row exactly once, in token order.
	seen := map[[2]int]bool{}
	iter := s.Query("SELECT p, c, token(p) FROM ks.big").PageSize(777).Iter()
	var p, c int
	var tok, lastTok int64 = 0, -1 << 63
	for iter.Scan(&p, &c, &tok) {
		if tok < lastTok {
			t.Fatalf("scan out of token order: %d after %d", tok, lastTok)
		}
		lastTok = tok
		k := [2]int{p, c}
		if seen[k] {
			t.Fatalf("row %v seen twice", k)
		}
		seen[k] = true
	}
	if err := iter.Close(); err != nil {
		t.Fatal(err)
	}
	if len(seen) != parts*per {
		t.Fatalf("scan saw %d rows, want %d", len(seen), parts*per)
	}
	// Paging inside one partition, reversed, with manual paging state.
	var state []byte
	var got []int
	for {
		it := s.Query("SELECT c FROM ks.big WHERE p = 3 ORDER BY c DESC").PageSize(100).PageState(state).Iter()
		for it.Scan(&c) {
			got = append(got, c)
		}
		state = it.PageState()
		if err := it.Close(); err != nil {
			t.Fatal(err)
		}
		if len(state) == 0 {
			break
		}
	}
	if len(got) != per || got[0] != per-1 || got[per-1] != 0 || !sort.SliceIsSorted(got, func(i, j int) bool { return got[i] > got[j] }) {
		t.Fatalf("reversed paging returned %d rows: first %v", len(got), got[:3])
	}
	// LIMIT across pages.
	it := s.Query("SELECT c FROM ks.big LIMIT 1500").PageSize(400).Iter()
	cnt := 0
	for it.Scan(&c) {
		cnt++
	}
	if err := it.Close(); err != nil || cnt != 1500 {
		t.Fatalf("limit across pages: %d %v", cnt, err)
	}
	var total int64
	if err := s.Query("SELECT count(*) FROM ks.big").Scan(&total); err != nil || total != parts*per {
		t.Fatalf("count: %d %v", total, err)
	}
}
