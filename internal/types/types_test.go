package types

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"
)

func resolver(ks, name string) (*Type, bool) {
	if name == "addr" {
		return &Type{Kind: UDT, Keyspace: ks, Name: "addr", FieldNames: []string{"street", "zip"},
			Elems: []*Type{TextType, IntType}}, true
	}
	return nil, false
}

func TestParseAndString(t *testing.T) {
	cases := []struct{ in, want string }{
		{"int", "int"},
		{"VARCHAR", "text"},
		{"text", "text"},
		{"list<int>", "list<int>"},
		{"frozen<list<int>>", "frozen<list<int>>"},
		{"map<text, frozen<list<int>>>", "map<text, frozen<list<int>>>"},
		{"frozen<map<text, list<int>>>", "frozen<map<text, frozen<list<int>>>>"},
		{"set < timeuuid >", "set<timeuuid>"},
		{"tuple<int, text>", "frozen<tuple<int, text>>"},
		{"tuple<int, list<text>>", "frozen<tuple<int, frozen<list<text>>>>"},
		{"addr", "addr"},
		{"frozen<addr>", "frozen<addr>"},
		{"ks.addr", "addr"},
		{"list<frozen<addr>>", "list<frozen<addr>>"},
		{"'org.example.MyType'", "'org.example.MyType'"},
		{"'org.apache.cassandra.db.marshal.Int32Type'", "int"},
	}
	for _, c := range cases {
		typ, err := Parse(c.in, "ks", resolver)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.in, err)
			continue
		}
		if got := typ.String(); got != c.want {
			t.Errorf("Parse(%q).String() = %q, want %q", c.in, got, c.want)
		}
		again, err := Parse(typ.String(), "ks", resolver)
		if err != nil || !again.Equal(typ) {
			t.Errorf("re-parse of %q: %v, %v", typ, again, err)
		}
	}
	bad := []string{"", "integer", "list<int", "list<list<int>>", "map<int>", "frozen<int>",
		"set<addr>", "unknown_udt", "list<counter>", "int extra"}
	for _, b := range bad {
		if _, err := Parse(b, "ks", resolver); err == nil {
			t.Errorf("Parse(%q) succeeded", b)
		}
	}
	udt, _ := Parse("addr", "ks", resolver)
	if !udt.IsMultiCell() || udt.IsCollection() {
		t.Error("non-frozen UDT should be multi-cell")
	}
	if MustParse("frozen<set<int>>").IsMultiCell() || !MustParse("set<int>").IsMultiCell() {
		t.Error("IsMultiCell")
	}
}

func TestOptionEncoding(t *testing.T) {
	udt := &Type{Kind: UDT, Keyspace: "ks", Name: "u", FieldNames: []string{"a"}, Elems: []*Type{IntType}}
	cases := []struct {
		t    *Type
		want string
	}{
		{IntType, "0009"},
		{TextType, "000d"},
		{MustParse("list<int>"), "00200009"},
		{MustParse("map<text, frozen<set<uuid>>>"), "0021000d0022000c"},
		{MustParse("tuple<int, blob>"), "0031000200090003"},
		{udt, "0030" + "00026b73" + "000175" + "0001" + "000161" + "0009"},
		{&Type{Kind: Custom, CustomClass: "x.Y"}, "0000" + "0003782e59"},
	}
	for _, c := range cases {
		got := hex.EncodeToString(AppendOption(nil, c.t))
		if got != c.want {
			t.Errorf("AppendOption(%s) = %s, want %s", c.t, got, c.want)
		}
		back, rest, err := ReadOption(AppendOption(nil, c.t))
		if err != nil || len(rest) != 0 || back.Kind != c.t.Kind || back.String() != c.t.Freeze().String() && back.String() != c.t.String() {
			t.Errorf("ReadOption(%s) = %v, %x, %v", c.t, back, rest, err)
		}
	}
	if _, _, err := ReadOption([]byte{0, 0x20}); err == nil {
		t.Error("truncated option accepted")
	}
}

func TestValidateRejects(t *testing.T) {
	cases := []struct {
		t *Type
		v []byte
	}{
		{IntType, []byte{1, 2, 3}},
		{BigintType, []byte{1}},
		{SmallintType, []byte{}},
		{TinyintType, []byte{1, 2}},
		{DateType, []byte{}},
		{TimeType, BigintValue(-1)},
		{TimeType, BigintValue(nanosPerDay)},
		{AsciiType, []byte{'a', 0x80}},
		{TextType, []byte{0xff, 0xfe}},
		{UUIDType, make([]byte, 15)},
		{TimeuuidType, make([]byte, 16)}, // version 0
		{InetType, make([]byte, 5)},
		{DecimalType, []byte{0, 0, 0, 1}},
		{DurationType, []byte{0x02, 0x01, 0x00}}, // months 1, days -1
		{DurationType, []byte{0xff}},
		{MustParse("list<int>"), []byte{0, 0, 0}},
		{MustParse("list<int>"), []byte{0, 0, 0, 1, 0, 0, 0, 3, 1, 2, 3}},
		{MustParse("list<int>"), []byte{0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff}},
		{MustParse("list<int>"), append(EncodeCollection([][]byte{IntValue(1)}), 0)},
		{MustParse("map<int, text>"), EncodeCollection([][]byte{IntValue(1)})},
		{MustParse("set<text>"), []byte{0x7f, 0xff, 0xff, 0xff}},
		{TupleOf(IntType), BuildTuple([][]byte{IntValue(1), IntValue(2)})},
		{TupleOf(IntType), []byte{0, 0, 0, 4, 1}},
		{TupleOf(IntType), BuildTuple([][]byte{{1}})},
	}
	for _, c := range cases {
		if err := Validate(c.t, c.v); err == nil {
			t.Errorf("Validate(%s, %x) accepted", c.t, c.v)
		}
	}
	good := []struct {
		t *Type
		v []byte
	}{
		{IntType, nil},
		{IntType, []byte{}},
		{TextType, []byte("héllo")},
		{MustParse("map<int, text>"), BuildMap(MustParse("map<int, text>"), [][]byte{IntValue(2), IntValue(1)}, [][]byte{TextValue("b"), TextValue("a")})},
		{TupleOf(IntType, TextType), BuildTuple([][]byte{nil, TextValue("x")})},
		{TupleOf(IntType, TextType), BuildTuple([][]byte{IntValue(1)})},
		{DurationType, DurationValue(-1, -2, -3)},
	}
	for _, c := range good {
		if err := Validate(c.t, c.v); err != nil {
			t.Errorf("Validate(%s, %x): %v", c.t, c.v, err)
		}
	}
}

func TestFromConstant(t *testing.T) {
	ts := func(s string) string {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			panic(err)
		}
		return hex.EncodeToString(TimestampValue(tm))
	}
	good := []struct {
		typ  string
		kind ConstKind
		text string
		want string // hex
	}{
		{"int", ConstInteger, "42", "0000002a"},
		{"int", ConstInteger, "-1", "ffffffff"},
		{"bigint", ConstInteger, "-9223372036854775808", "8000000000000000"},
		{"smallint", ConstInteger, "-2", "fffe"},
		{"tinyint", ConstInteger, "127", "7f"},
		{"varint", ConstInteger, "128", "0080"},
		{"varint", ConstInteger, "-129", "ff7f"},
		{"decimal", ConstFloat, "1.50", "00000002" + "0096"},
		{"decimal", ConstInteger, "10", "00000000" + "0a"},
		{"decimal", ConstFloat, "1e3", "fffffffd" + "01"},
		{"double", ConstFloat, "1.5", "3ff8000000000000"},
		{"double", ConstInteger, "2", "4000000000000000"},
		{"double", ConstFloat, "NaN", "7ff8000000000001"},
		{"double", ConstFloat, "-Infinity", "fff0000000000000"},
		{"float", ConstFloat, "Infinity", "7f800000"},
		{"float", ConstFloat, "1e40", "7f800000"},
		{"boolean", ConstBoolean, "TRUE", "01"},
		{"text", ConstString, "héllo", hex.EncodeToString([]byte("héllo"))},
		{"ascii", ConstString, "abc", "616263"},
		{"blob", ConstHex, "0xCAFE", "cafe"},
		{"blob", ConstHex, "0x", ""},
		{"uuid", ConstUUID, "550E8400-e29b-41d4-a716-446655440000", "550e8400e29b41d4a716446655440000"},
		{"timeuuid", ConstUUID, "d2177dd0-eaa2-11de-a572-001b779c76e3", "d2177dd0eaa211dea572001b779c76e3"},
		{"inet", ConstString, "1.2.3.4", "01020304"},
		{"inet", ConstString, "::1", "00000000000000000000000000000001"},
		{"timestamp", ConstInteger, "1000", "00000000000003e8"},
		{"timestamp", ConstString, "2011-02-03", ts("2011-02-03T00:00:00Z")},
		{"timestamp", ConstString, "2011-02-03 04:05", ts("2011-02-03T04:05:00Z")},
		{"timestamp", ConstString, "2011-02-03 04:05:00", ts("2011-02-03T04:05:00Z")},
		{"timestamp", ConstString, "2011-02-03T04:05:00.123+0000", ts("2011-02-03T04:05:00.123Z")},
		{"timestamp", ConstString, "2011-02-03 04:05+0100", ts("2011-02-03T03:05:00Z")},
		{"timestamp", ConstString, "2011-02-03T04:05:00Z", ts("2011-02-03T04:05:00Z")},
		{"timestamp", ConstString, "2011-02-03 04:05:00 -02:30", ts("2011-02-03T06:35:00Z")},
		{"date", ConstString, "1970-01-01", "80000000"},
		{"date", ConstString, "2011-02-03", hex.EncodeToString(DateFromDays(15008))},
		{"date", ConstInteger, "2147483648", "80000000"},
		{"time", ConstString, "08:12:54.123456789", hex.EncodeToString(TimeValue(8*3600e9 + 12*60e9 + 54e9 + 123456789))},
		{"time", ConstString, "00:00:01.5", hex.EncodeToString(TimeValue(1.5e9))},
		{"time", ConstInteger, "1000", hex.EncodeToString(TimeValue(1000))},
		{"duration", ConstDuration, "1h2m3s", hex.EncodeToString(DurationValue(0, 0, 3723e9))},
		{"duration", ConstDuration, "1y2mo3w4d", hex.EncodeToString(DurationValue(14, 25, 0))},
		{"duration", ConstDuration, "-5us", hex.EncodeToString(DurationValue(0, 0, -5000))},
		{"duration", ConstDuration, "P1Y2M3D", hex.EncodeToString(DurationValue(14, 3, 0))},
		{"duration", ConstDuration, "PT5S", hex.EncodeToString(DurationValue(0, 0, 5e9))},
		{"duration", ConstDuration, "P2W", hex.EncodeToString(DurationValue(0, 14, 0))},
		{"duration", ConstDuration, "P0001-02-03T04:05:06", hex.EncodeToString(DurationValue(14, 3, 4*3600e9+5*60e9+6e9))},
		{"duration", ConstString, "10ns", hex.EncodeToString(DurationValue(0, 0, 10))},
	}
	for _, c := range good {
		v, err := FromConstant(MustParse(c.typ), c.kind, c.text)
		if err != nil {
			t.Errorf("FromConstant(%s, %s, %q): %v", c.typ, c.kind, c.text, err)
			continue
		}
		got := hex.EncodeToString(v)
		if c.typ == "double" && c.text == "NaN" {
			if f, _ := DecodeDouble(v); !math.IsNaN(f) {
				t.Errorf("NaN: got %s", got)
			}
			continue
		}
		if got != c.want {
			t.Errorf("FromConstant(%s, %s, %q) = %s, want %s", c.typ, c.kind, c.text, got, c.want)
		}
		if err := Validate(MustParse(c.typ), v); err != nil {
			t.Errorf("FromConstant(%s, %q) invalid: %v", c.typ, c.text, err)
		}
	}
	bad := []struct {
		typ          string
		kind         ConstKind
		text         string
		incompatible bool
		msg          string
	}{
		{"int", ConstString, "abc", true, ""},
		{"int", ConstFloat, "1.5", true, ""},
		{"int", ConstInteger, "3000000000", false, "Unable to make int from '3000000000'"},
		{"tinyint", ConstInteger, "128", false, "Unable to make byte from '128'"},
		{"text", ConstInteger, "1", true, ""},
		{"blob", ConstString, "cafe", true, ""},
		{"blob", ConstHex, "0xabc", false, ""},
		{"uuid", ConstString, "550e8400-e29b-41d4-a716-446655440000", true, ""},
		{"timeuuid", ConstUUID, "550e8400-e29b-41d4-a716-446655440000", false, ""},
		{"boolean", ConstInteger, "1", true, ""},
		{"inet", ConstString, "1.2.3", false, "Unable to make inet address from '1.2.3'"},
		{"timestamp", ConstString, "2011-13-03", false, ""},
		{"timestamp", ConstString, "yesterday", false, ""},
		{"date", ConstString, "2011-02-30", false, ""},
		{"date", ConstInteger, "-1", false, ""},
		{"time", ConstString, "24:00:00", false, ""},
		{"time", ConstString, "01:02:03.1234567890", false, ""},
		{"duration", ConstDuration, "1m1h", false, ""},
		{"duration", ConstDuration, "P", false, ""},
		{"duration", ConstDuration, "1x", false, ""},
		{"ascii", ConstString, "é", false, ""},
		{"decimal", ConstFloat, "1.2.3", false, ""},
		{"double", ConstFloat, "0x1p3", false, ""},
		{"list<int>", ConstInteger, "1", true, ""},
	}
	for _, c := range bad {
		_, err := FromConstant(MustParse(c.typ), c.kind, c.text)
		if err == nil {
			t.Errorf("FromConstant(%s, %s, %q) succeeded", c.typ, c.kind, c.text)
			continue
		}
		if errors.Is(err, ErrIncompatible) != c.incompatible {
			t.Errorf("FromConstant(%s, %s, %q): %v, incompatible want %v", c.typ, c.kind, c.text, err, c.incompatible)
		}
		if c.msg != "" && err.Error() != c.msg {
			t.Errorf("FromConstant(%s, %q) error %q, want %q", c.typ, c.text, err, c.msg)
		}
	}
}

func TestFormat(t *testing.T) {
	lt := MustParse("list<text>")
	mt := MustParse("map<text, int>")
	udt := &Type{Kind: UDT, Keyspace: "ks", Name: "u", FieldNames: []string{"street", "Zip"}, Elems: []*Type{TextType, IntType}}
	dec, _ := ParseDecimal("1.50")
	cases := []struct {
		t    *Type
		v    []byte
		want string
	}{
		{IntType, nil, "null"},
		{IntType, IntValue(-5), "-5"},
		{TextType, TextValue("it's"), "it's"},
		{BooleanType, BooleanValue(true), "True"},
		{DoubleType, DoubleValue(1.5), "1.5"},
		{DoubleType, DoubleValue(1), "1"},
		{DoubleType, DoubleValue(3.14159265358979), "3.14159265359"},
		{FloatType, FloatValue(3.14159265), "3.14159"},
		{DoubleType, DoubleValue(1e20), "1e+20"},
		{DoubleType, DoubleValue(math.NaN()), "NaN"},
		{DecimalType, dec, "1.50"},
		{VarintType, VarintValue(big.NewInt(-129)), "-129"},
		{BlobType, []byte{0xca, 0xfe}, "0xcafe"},
		{BlobType, []byte{}, "0x"},
		{UUIDType, []byte{0x55, 0x0e, 0x84, 0, 0xe2, 0x9b, 0x41, 0xd4, 0xa7, 0x16, 0x44, 0x66, 0x55, 0x44, 0, 0}, "550e8400-e29b-41d4-a716-446655440000"},
		{TimestampType, BigintValue(1296705900000), "2011-02-03 04:05:00.000000+0000"},
		{DateType, DateFromDays(15008), "2011-02-03"},
		{TimeType, TimeValue(8*3600e9 + 12*60e9 + 54e9 + 123456789), "08:12:54.123456789"},
		{InetType, InetValue(net.ParseIP("127.0.0.1")), "127.0.0.1"},
		{InetType, InetValue(net.ParseIP("::1")), "::1"},
		{DurationType, DurationValue(14, 3, 3723e9), "1y2mo3d1h2m3s"},
		{DurationType, DurationValue(0, 0, -1500), "-1us500ns"},
		{lt, BuildList([][]byte{TextValue("a"), TextValue("it's")}), "['a', 'it''s']"},
		{MustParse("set<int>"), BuildSet(MustParse("set<int>"), [][]byte{IntValue(3), IntValue(1), IntValue(3)}), "{1, 3}"},
		{mt, BuildMap(mt, [][]byte{TextValue("b"), TextValue("a")}, [][]byte{IntValue(2), IntValue(1)}), "{'a': 1, 'b': 2}"},
		{TupleOf(IntType, TextType), BuildTuple([][]byte{IntValue(1), nil}), "(1, null)"},
		{udt, BuildTuple([][]byte{TextValue("x")}), `{street: 'x', "Zip": null}`},
		{MustParse("list<timestamp>"), BuildList([][]byte{BigintValue(0)}), "['1970-01-01 00:00:00.000000+0000']"},
	}
	for _, c := range cases {
		if got := Format(c.t, c.v); got != c.want {
			t.Errorf("Format(%s, %x) = %q, want %q", c.t, c.v, got, c.want)
		}
	}
}

func TestToText(t *testing.T) {
	dec := func(s string) []byte { v, _ := ParseDecimal(s); return v }
	cases := []struct {
		t    *Type
		v    []byte
		want string
	}{
		{DoubleType, DoubleValue(1), "1.0"},
		{DoubleType, DoubleValue(1e10), "1.0E10"},
		{DoubleType, DoubleValue(1.5e-5), "1.5E-5"},
		{FloatType, FloatValue(0.1), "0.1"},
		{BooleanType, BooleanValue(false), "false"},
		{TimestampType, BigintValue(1296705900123), "2011-02-03T04:05:00.123Z"},
		{TimeType, TimeValue(1), "00:00:00.000000001"},
		{InetType, InetValue(net.ParseIP("::1")), "0:0:0:0:0:0:0:1"},
		{DecimalType, dec("1E+3"), "1E+3"},
		{DecimalType, dec("0.0000001"), "1E-7"},
		{DecimalType, dec("-0.001"), "-0.001"},
	}
	for _, c := range cases {
		if got := ToText(c.t, c.v); got != c.want {
			t.Errorf("ToText(%s, %x) = %q, want %q", c.t, c.v, got, c.want)
		}
	}
}

func TestCast(t *testing.T) {
	cases := []struct {
		from, to string
		v        []byte
		want     []byte
	}{
		{"int", "bigint", IntValue(-2), BigintValue(-2)},
		{"bigint", "int", BigintValue(1<<32 + 5), IntValue(5)},
		{"int", "tinyint", IntValue(300), TinyintValue(44)},
		{"double", "int", DoubleValue(-1.9), IntValue(-1)},
		{"double", "int", DoubleValue(1e20), IntValue(math.MaxInt32)},
		{"double", "bigint", DoubleValue(math.NaN()), BigintValue(0)},
		{"int", "double", IntValue(3), DoubleValue(3)},
		{"int", "text", IntValue(3), TextValue("3")},
		{"double", "text", DoubleValue(3), TextValue("3.0")},
		{"boolean", "text", BooleanValue(true), TextValue("true")},
		{"timestamp", "date", BigintValue(-1), DateFromDays(-1)},
		{"date", "timestamp", DateFromDays(2), BigintValue(2 * 86400000)},
		{"int", "varint", IntValue(-1), VarintValue(big.NewInt(-1))},
		{"varint", "int", VarintValue(new(big.Int).Lsh(big.NewInt(1), 40)), IntValue(0)},
		{"decimal", "int", DecimalValue(big.NewInt(-150), 2), IntValue(-1)},
		{"double", "decimal", DoubleValue(1.5), DecimalValue(big.NewInt(15), 1)},
		{"decimal", "double", DecimalValue(big.NewInt(15), 1), DoubleValue(1.5)},
		{"text", "text", TextValue("x"), TextValue("x")},
	}
	for _, c := range cases {
		got, err := Cast(MustParse(c.from), MustParse(c.to), c.v)
		if err != nil || !bytes.Equal(got, c.want) {
			t.Errorf("Cast(%s -> %s, %x) = %x, %v; want %x", c.from, c.to, c.v, got, err, c.want)
		}
	}
	if _, err := Cast(BlobType, IntType, []byte{1, 2, 3, 4}); err == nil {
		t.Error("blob -> int accepted")
	}
	if v, err := Cast(IntType, TextType, nil); v != nil || err != nil {
		t.Error("null cast")
	}
}

func TestTimeUUID(t *testing.T) {
	now := time.Date(2024, 5, 6, 7, 8, 9, 123456700, time.UTC)
	v := NewTimeUUID(now, [6]byte{1, 2, 3, 4, 5, 6}, 0x1234)
	if err := Validate(TimeuuidType, v); err != nil {
		t.Fatal(err)
	}
	if got := TimeUUIDTime(v); !got.Equal(now) {
		t.Errorf("TimeUUIDTime = %v, want %v", got, now)
	}
	if v[8]&0xc0 != 0x80 {
		t.Error("variant bits")
	}
	if got := TimeUUIDUnixMillis(v); got != now.UnixMilli() {
		t.Errorf("ms = %d", got)
	}
	g := NewTimeUUIDGenerator([6]byte{9}, 7)
	prev := g.Next(now)
	for i := 0; i < 1000; i++ {
		next := g.Next(now) // same instant: must still increase
		if Compare(TimeuuidType, prev, next) >= 0 {
			t.Fatalf("generator not monotonic: %x then %x", prev, next)
		}
		prev = next
	}
	ms := now.UnixMilli()
	lo, hi := MinTimeUUID(ms), MaxTimeUUID(ms)
	if Compare(TimeuuidType, lo, v) > 0 || Compare(TimeuuidType, v, hi) > 0 {
		t.Error("min/max timeuuid do not bracket a uuid of the same millisecond")
	}
	if TimeUUIDUnixMillis(hi) != ms || TimeUUIDUnixMillis(lo) != ms {
		t.Error("min/max timeuuid millisecond")
	}
}

func TestBuildersAndDecoders(t *testing.T) {
	if v, _ := DecodeInt(IntValue(-7)); v != -7 {
		t.Error("int")
	}
	if v, _ := DecodeVarint(VarintValue(big.NewInt(-128))); v.Int64() != -128 || len(VarintValue(big.NewInt(-128))) != 1 {
		t.Error("varint -128")
	}
	for _, x := range []int64{0, 1, -1, 127, 128, -128, -129, 255, 256, 1 << 40, -(1 << 40)} {
		b := VarintValue(big.NewInt(x))
		if got := bigIntFrom(b).Int64(); got != x || len(trimVarint(b)) != len(b) {
			t.Errorf("varint %d: %x", x, b)
		}
	}
	for _, d := range [][3]int64{{0, 0, 0}, {1, 2, 3}, {-1, -2, -3}, {math.MaxInt32, math.MaxInt32, math.MaxInt64}, {math.MinInt32, math.MinInt32, math.MinInt64}} {
		v := DurationValue(int32(d[0]), int32(d[1]), d[2])
		m, dd, ns, err := DecodeDuration(v)
		if err != nil || int64(m) != d[0] || int64(dd) != d[1] || ns != d[2] {
			t.Errorf("duration %v: %d %d %d %v", d, m, dd, ns, err)
		}
	}
	if _, err := DecodeText(nil); !errors.Is(err, ErrNull) {
		t.Error("DecodeText(nil)")
	}
	set := MustParse("set<text>")
	v := BuildSet(set, [][]byte{TextValue("b"), TextValue("a"), TextValue("b")})
	elems, err := DecodeCollection(v)
	if err != nil || len(elems) != 2 || string(elems[0]) != "a" {
		t.Errorf("BuildSet: %q %v", elems, err)
	}
	mt := MustParse("map<int, text>")
	keys, vals, err := DecodeMap(BuildMap(mt, [][]byte{IntValue(2), IntValue(1), IntValue(2)}, [][]byte{TextValue("x"), TextValue("y"), TextValue("z")}))
	if err != nil || len(keys) != 2 || string(vals[1]) != "z" {
		t.Errorf("BuildMap: %v %q %v", keys, vals, err)
	}
	if d, _ := DecodeDate(DateValue(time.Date(1969, 12, 31, 23, 0, 0, 0, time.UTC))); d != -1 {
		t.Errorf("date before epoch = %d", d)
	}
	if !strings.HasPrefix(Format(DateType, DateValue(time.Unix(0, 0))), "1970-01-01") {
		t.Error("epoch date")
	}
}
