package e2e

import (
	"math/big"
	"net"
	"reflect"
	"testing"
	"time"

	"github.com/gocql/gocql"
	"gopkg.in/inf.v0"
)

type addr struct {
	Street string `cql:"street"`
	Zip    int    `cql:"zip"`
}

// TestAllTypesRoundTrip writes every native type, collections, tuples and
// UDTs with bound values and literals, and reads them back through gocql.
func TestAllTypesRoundTrip(t *testing.T) {
	n := startNode(t, "")
	s := n.session()
	mustExec(t, s, "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
	mustExec(t, s, "CREATE TYPE ks.addr (street text, zip int)")
	mustExec(t, s, `CREATE TABLE ks.all_types (
		k int PRIMARY KEY, a ascii, bi bigint, b blob, bo boolean, d date, de decimal, do double, du duration,
		f float, i inet, n int, si smallint, tx text, vc varchar, ti time, ts timestamp, tu timeuuid, tt tinyint,
		u uuid, vi varint, l list<text>, st set<int>, m map<text, int>, tp tuple<int, text>, fl frozen<list<int>>,
		ad frozen<addr>, nad addr)`)
	tu := gocql.TimeUUID()
	u, _ := gocql.RandomUUID()
	ts := time.Date(2024, 5, 6, 7, 8, 9, 123000000, time.UTC)
	day := time.Date(2024, 5, 6, 0, 0, 0, 0, time.UTC)
	dec := inf.NewDec(12345, 3)
	vi := new(big.Int)
	vi.SetString("123456789012345678901234567890", 10)
	dur := gocql.Duration{Months: 1, Days: 2, Nanoseconds: 3_000_000_000}
	in := map[string]any{
		"k": 1, "a": "ascii", "bi": int64(-9007199254740993), "b": []byte{0xca, 0xfe}, "bo": true, "d": day,
		"de": dec, "do": 3.25, "du": dur, "f": float32(1.5), "i": net.ParseIP("10.1.2.3").To4(), "n": int32(-42),
		"si": int16(-7), "tx": "héllo", "vc": "varchar", "ti": time.Duration(3723 * time.Second), "ts": ts,
		"tu": tu, "tt": int8(-3), "u": u, "vi": vi, "l": []string{"x", "y", "x"}, "st": []int{3, 1, 2},
		"m": map[string]int{"one": 1, "two": 2}, "fl": []int{5, 6},
		"ad": addr{"main", 12345}, "nad": addr{"side", 7},
	}
	mustExec(t, s, `INSERT INTO ks.all_types (k, a, bi, b, bo, d, de, do, du, f, i, n, si, tx, vc, ti, ts, tu, tt, u, vi, l, st, m, fl, ad, nad, tp)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, (7, 'seven'))`,
		in["k"], in["a"], in["bi"], in["b"], in["bo"], in["d"], in["de"], in["do"], in["du"], in["f"], in["i"], in["n"],
		in["si"], in["tx"], in["vc"], in["ti"], in["ts"], in["tu"], in["tt"], in["u"], in["vi"], in["l"], in["st"], in["m"],
		in["fl"], in["ad"], in["nad"])
	out := map[string]any{}
	if err := s.Query("SELECT * FROM ks.all_types WHERE k = 1").MapScan(out); err != nil {
		t.Fatal(err)
	}
	check := func(col string, want any) {
		t.Helper()
		if got := out[col]; !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %#v (%T), want %#v (%T)", col, got, got, want, want)
		}
	}
	check("a", "ascii")
	check("bi", int64(-9007199254740993))
	check("b", []byte{0xca, 0xfe})
	check("bo", true)
	check("d", day)
	if got := out["de"].(*inf.Dec); got.Cmp(dec) != 0 {
		t.Errorf("decimal: got %v", got)
	}
	check("do", 3.25)
	check("du", dur)
	check("f", float32(1.5))
	if got := out["i"].(string); got != "10.1.2.3" {
		t.Errorf("inet: got %v", got)
	}
	check("n", -42)
	check("si", int16(-7))
	check("tx", "héllo")
	check("vc", "varchar")
	check("ti", time.Duration(3723*time.Second))
	check("ts", ts)
	check("tu", tu)
	check("tt", int8(-3))
	check("u", u)
	if got := out["vi"].(*big.Int); got.Cmp(vi) != 0 {
		t.Errorf("varint: got %v", got)
	}
	check("l", []string{"x", "y", "x"})
	check("st", []int{1, 2, 3})
	check("m", map[string]int{"one": 1, "two": 2})
	check("fl", []int{5, 6})
	check("tp[0]", 7)
	check("tp[1]", "seven")
	check("ad", map[string]any{"street": "main", "zip": 12345})
	check("nad", map[string]any{"street": "side", "zip": 7})

	// Literal forms of the same types.
	mustExec(t, s, `INSERT INTO ks.all_types (k, a, bi, b, bo, d, de, do, du, f, i, n, si, tx, ti, ts, tt, u, vi, l, st, m, ad)
		VALUES (2, 'lit', 9223372036854775807, 0xdeadbeef, false, '2020-02-29', 1.50, -0.5, 1h30m, 2.5, '::1', 2147483647,
		32767, 'it''s', '08:12:54.123456789', '2011-02-03T04:05:00.000+0000', 127, 123e4567-e89b-12d3-a456-426614174000,
		-1, ['a', 'b'], {9, 8}, {'k': 1}, {street: 'lit st', zip: 1})`)
	out = map[string]any{}
	if err := s.Query("SELECT * FROM ks.all_types WHERE k = 2").MapScan(out); err != nil {
		t.Fatal(err)
	}
	check("a", "lit")
	check("bi", int64(9223372036854775807))
	check("b", []byte{0xde, 0xad, 0xbe, 0xef})
	check("d", time.Date(2020, 2, 29, 0, 0, 0, 0, time.UTC))
	check("du", gocql.Duration{Nanoseconds: int64(90 * time.Minute)})
	check("i", "::1")
	check("tx", "it's")
	check("ti", 8*time.Hour+12*time.Minute+54*time.Second+123456789)
	check("ts", time.Date(2011, 2, 3, 4, 5, 0, 0, time.UTC))
	check("tt", int8(127))
	check("st", []int{8, 9})
	check("ad", map[string]any{"street": "lit st", "zip": 1})

	// Type errors are InvalidRequest (0x2200).
	err := s.Query("INSERT INTO ks.all_types (k, n) VALUES (3, 'notanint')").Exec()
	if rerr, ok := err.(gocql.RequestError); !ok || rerr.Code() != 0x2200 {
		t.Fatalf("want invalid request, got %v", err)
	}
}
