package types

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/big"
	"math/rand"
	"sort"
	"testing"
)

// randValue returns a random valid value of t, biased towards edge cases.
func randValue(r *rand.Rand, t *Type, depth int) []byte {
	pick := func(edges ...[]byte) []byte {
		if r.Intn(4) == 0 {
			return append([]byte{}, edges[r.Intn(len(edges))]...)
		}
		return nil
	}
	switch t.Kind {
	case Ascii:
		b := make([]byte, r.Intn(6))
		for i := range b {
			b[i] = byte(r.Intn(3)) // zeros exercise escaping
			if r.Intn(2) == 0 {
				b[i] = byte(r.Intn(128))
			}
		}
		return b
	case Varchar, Blob, Custom:
		b := make([]byte, r.Intn(6))
		for i := range b {
			b[i] = []byte{0, 1, 0xff, 'a', 0xc3}[r.Intn(5)]
			if r.Intn(2) == 0 {
				b[i] = byte(r.Intn(256))
			}
		}
		if t.Kind == Varchar {
			return []byte(string([]rune(string(b)))) // force valid UTF-8
		}
		return b
	case Boolean:
		return []byte{byte(r.Intn(2))}
	case Tinyint, Smallint, Int, Bigint, Counter, Timestamp:
		n := fixedWidth(t.Kind)
		if v := pick(bytes.Repeat([]byte{0}, n), bytes.Repeat([]byte{0xff}, n),
			append([]byte{0x80}, make([]byte, n-1)...), append([]byte{0x7f}, bytes.Repeat([]byte{0xff}, n-1)...)); v != nil {
			return v
		}
		b := make([]byte, n)
		r.Read(b)
		return b
	case Time:
		return TimeValue(r.Int63n(nanosPerDay))
	case Date:
		b := make([]byte, 4)
		r.Read(b)
		return b
	case Float:
		if v := pick(FloatValue(0), FloatValue(float32(math.Copysign(0, -1))), FloatValue(float32(math.Inf(1))),
			FloatValue(float32(math.Inf(-1))), FloatValue(float32(math.NaN())), []byte{0xff, 0xc0, 0, 1}); v != nil {
			return v
		}
		return FloatValue(float32(r.NormFloat64() * math.Pow(10, float64(r.Intn(20)-10))))
	case Double:
		if v := pick(DoubleValue(0), DoubleValue(math.Copysign(0, -1)), DoubleValue(math.Inf(1)),
			DoubleValue(math.Inf(-1)), DoubleValue(math.NaN()), DoubleValue(math.SmallestNonzeroFloat64)); v != nil {
			return v
		}
		if r.Intn(3) == 0 {
			b := make([]byte, 8)
			r.Read(b)
			return b
		}
		return DoubleValue(r.NormFloat64() * math.Pow(10, float64(r.Intn(40)-20)))
	case UUID, Timeuuid:
		b := make([]byte, 16)
		r.Read(b)
		if t.Kind == Timeuuid || r.Intn(2) == 0 {
			b[6] = b[6]&0x0f | 0x10
		}
		if r.Intn(3) == 0 { // share timestamps to exercise the low half
			copy(b, []byte{1, 2, 3, 4, 5, 6, 0x11, 8})
		}
		return b
	case Inet:
		if r.Intn(2) == 0 {
			b := make([]byte, 4)
			r.Read(b)
			return b
		}
		b := make([]byte, 16)
		r.Read(b)
		return b
	case Duration:
		s := int64(1 - 2*r.Intn(2))
		return DurationValue(int32(s*r.Int63n(1000)), int32(s*r.Int63n(1000)), s*r.Int63())
	case Varint:
		b := make([]byte, 1+r.Intn(10))
		r.Read(b)
		if r.Intn(4) == 0 {
			b = append([]byte{0}, trimVarint(b)...) // sometimes non-minimal
			if b[1]&0x80 != 0 {
				b[0] = 0xff
			}
		}
		return b
	case Decimal:
		u := new(big.Int).Rand(r, big.NewInt(int64(1)<<uint(r.Intn(62)+1)))
		if r.Intn(2) == 0 {
			u.Neg(u)
		}
		if r.Intn(3) == 0 {
			u.Mul(u, big.NewInt(1000))
		}
		scale := int32(r.Intn(20) - 5)
		v := DecimalValue(u, scale)
		if r.Intn(8) == 0 { // non-minimal unscaled
			pad := byte(0)
			if u.Sign() < 0 {
				pad = 0xff
			}
			v = append(v[:4:4], append([]byte{pad}, v[4:]...)...)
		}
		return v
	case List, Set:
		n := r.Intn(4)
		if depth > 2 {
			n = 0
		}
		elems := make([][]byte, n)
		for i := range elems {
			elems[i] = randValue(r, t.Elems[0], depth+1)
		}
		return EncodeCollection(elems)
	case Map:
		n := r.Intn(3)
		if depth > 2 {
			n = 0
		}
		ks, vs := make([][]byte, n), make([][]byte, n)
		for i := range ks {
			ks[i] = randValue(r, t.Elems[0], depth+1)
			vs[i] = randValue(r, t.Elems[1], depth+1)
		}
		return encodeMapCollection(ks, vs)
	case Tuple, UDT:
		n := len(t.Elems)
		if r.Intn(4) == 0 {
			n = r.Intn(n + 1)
		}
		fields := make([][]byte, n)
		for i := range fields {
			if r.Intn(4) != 0 {
				fields[i] = randValue(r, t.Elems[i], depth+1)
			}
		}
		return BuildTuple(fields)
	}
	panic("randValue: unhandled " + t.String())
}

// keyTestTypes are the types whose key encoding is property-tested.
func keyTestTypes() []*Type {
	var ts []*Type
	for k := range kindNames {
		ts = append(ts, Native(k))
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].Kind < ts[j].Kind })
	udt := &Type{Kind: UDT, Keyspace: "ks", Name: "u", FieldNames: []string{"a", "b"},
		Elems: []*Type{IntType, TextType}, Frozen: true}
	return append(ts,
		&Type{Kind: Custom, CustomClass: "org.example.T"},
		MustParse("frozen<list<int>>"),
		MustParse("frozen<set<text>>"),
		MustParse("frozen<map<timeuuid, double>>"),
		MustParse("tuple<int, text, decimal>"),
		MustParse("frozen<list<frozen<tuple<varint, blob>>>>"),
		udt,
	)
}

func emptyAllowed(t *Type) bool {
	return Validate(t, []byte{}) == nil
}

func TestKeyEncodingProperties(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for _, typ := range keyTestTypes() {
		t.Run(typ.String(), func(t *testing.T) {
			vals := [][]byte{nil}
			if emptyAllowed(typ) {
				vals = append(vals, []byte{})
			}
			for i := 0; i < 300; i++ {
				v := randValue(r, typ, 0)
				if err := Validate(typ, v); err != nil {
					t.Fatalf("randValue produced invalid %x: %v", v, err)
				}
				vals = append(vals, v)
			}
			asc := make([][]byte, len(vals))
			desc := make([][]byte, len(vals))
			for i, v := range vals {
				asc[i] = AppendKey(nil, typ, v, false)
				desc[i] = AppendKey([]byte("prefix"), typ, v, true)[6:]
				for _, d := range []bool{false, true} {
					enc := asc[i]
					if d {
						enc = desc[i]
					}
					got, rest, err := DecodeKey(typ, enc, d)
					if err != nil || len(rest) != 0 || !bytes.Equal(got, v) || (got == nil) != (v == nil) {
						t.Fatalf("round trip desc=%v of %x: got %x rest %x err %v", d, v, got, rest, err)
					}
				}
			}
			for i := range vals {
				for j := range vals {
					a, b := vals[i], vals[j]
					c := Compare(typ, a, b)
					if c != -Compare(typ, b, a) {
						t.Fatalf("Compare not antisymmetric for %x, %x", a, b)
					}
					ka := bytes.Compare(asc[i], asc[j])
					kd := bytes.Compare(desc[i], desc[j])
					switch {
					case bytes.Equal(a, b) && (a == nil) == (b == nil):
						if ka != 0 || kd != 0 {
							t.Fatalf("equal values %x encode differently", a)
						}
					case c != 0:
						if ka != c || kd != -c {
							t.Fatalf("order of %x vs %x: Compare %d, asc key %d, desc key %d", a, b, c, ka, kd)
						}
					default:
						if ka == 0 || kd != -ka {
							t.Fatalf("byte-distinct equal values %x, %x: asc %d desc %d", a, b, ka, kd)
						}
					}
					if i%7 == 0 { // prefix-freeness: concatenations split back
						for _, d := range []bool{false, true} {
							ea, eb := asc[i], asc[j]
							if d {
								ea, eb = desc[i], desc[j]
							}
							cat := append(append([]byte{}, ea...), eb...)
							x, rest, err := DecodeKey(typ, cat, d)
							if err != nil || !bytes.Equal(x, a) {
								t.Fatalf("concat first: %x vs %x err %v", x, a, err)
							}
							y, rest, err := DecodeKey(typ, rest, d)
							if err != nil || !bytes.Equal(y, b) || len(rest) != 0 {
								t.Fatalf("concat second: %x vs %x err %v", y, b, err)
							}
							if len(ea) < len(eb) && bytes.HasPrefix(eb, ea) {
								t.Fatalf("encoding %x is a prefix of %x", ea, eb)
							}
						}
					}
				}
			}
		})
	}
}

func TestKeyMalformedRoundTrip(t *testing.T) {
	cases := []struct {
		t *Type
		v []byte
	}{
		{IntType, []byte{1, 2, 3}},
		{DoubleType, []byte{1}},
		{MustParse("frozen<list<int>>"), []byte{0, 0, 0, 9}},
		{TupleOf(IntType), BuildTuple([][]byte{IntValue(1), IntValue(2)})},
		{DecimalType, []byte{0, 0, 0, 1}},
		{UUIDType, []byte{1, 2}},
	}
	for _, c := range cases {
		for _, d := range []bool{false, true} {
			enc := AppendKey(nil, c.t, c.v, d)
			got, rest, err := DecodeKey(c.t, enc, d)
			if err != nil || len(rest) != 0 || !bytes.Equal(got, c.v) {
				t.Errorf("%s %x desc=%v: got %x, %x, %v", c.t, c.v, d, got, rest, err)
			}
		}
	}
}

func TestCompareKnownOrders(t *testing.T) {
	dec := func(s string) []byte {
		v, err := ParseDecimal(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	vi := func(x int64) []byte { return VarintValue(big.NewInt(x)) }
	tu := func(ticks int64, lsb uint64) []byte {
		v := makeTimeUUID(ticks, [6]byte{}, 0)
		binary.BigEndian.PutUint64(v[8:], lsb)
		return v
	}
	ordered := []struct {
		t    *Type
		vals [][]byte
	}{
		{IntType, [][]byte{nil, {}, IntValue(math.MinInt32), IntValue(-1), IntValue(0), IntValue(1), IntValue(math.MaxInt32)}},
		{DoubleType, [][]byte{DoubleValue(math.Inf(-1)), DoubleValue(-1), DoubleValue(math.Copysign(0, -1)), DoubleValue(0),
			DoubleValue(math.SmallestNonzeroFloat64), DoubleValue(math.Inf(1)), DoubleValue(math.NaN())}},
		{DecimalType, [][]byte{dec("-100"), dec("-1.5"), dec("-1.25"), dec("0"), dec("0.001"), dec("1.25"), dec("1.5"), dec("2"), dec("1E+3")}},
		{VarintType, [][]byte{vi(-70000), vi(-129), vi(-128), vi(-1), vi(0), vi(1), vi(127), vi(128), vi(70000)}},
		{TimeuuidType, [][]byte{tu(100, 0x8000000000000000), tu(100, 0xff00000000000000), tu(100, 0x0000000000000000), tu(100, 0x7fffffffffffffff), tu(101, 0)}},
		{DateType, [][]byte{DateFromDays(-1), DateFromDays(0), DateFromDays(1)}},
		{InetType, [][]byte{{1, 2, 3, 4}, {1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, {2, 0, 0, 0}}},
		{MustParse("frozen<list<int>>"), [][]byte{BuildList(nil), BuildList([][]byte{IntValue(-1)}), BuildList([][]byte{IntValue(1)}),
			BuildList([][]byte{IntValue(1), IntValue(0)}), BuildList([][]byte{IntValue(2)})}},
	}
	for _, o := range ordered {
		for i := 0; i+1 < len(o.vals); i++ {
			if c := Compare(o.t, o.vals[i], o.vals[i+1]); c >= 0 {
				t.Errorf("%s: Compare(%x, %x) = %d, want < 0", o.t, o.vals[i], o.vals[i+1], c)
			}
		}
	}
	// Values Cassandra considers equal: numerically equal, ordered by the
	// documented tie-breakers.
	if compareDecimalValue(dec("1.0"), dec("1.00")) != 0 || Compare(DecimalType, dec("1.0"), dec("1.00")) >= 0 {
		t.Error("decimal 1.0 should equal 1.00 numerically and sort first")
	}
	if compareVarintValue(trimVarint([]byte{0, 1}), []byte{1}) != 0 || Compare(VarintType, []byte{1}, []byte{0, 1}) >= 0 {
		t.Error("non-minimal varint should sort after the minimal one")
	}
	if Compare(DoubleType, []byte{0x7f, 0xf0, 0, 0, 0, 0, 0, 1}, DoubleValue(math.NaN())) >= 0 {
		t.Error("NaNs should be ordered by bits")
	}
	tup := TupleOf(IntType, IntType)
	if Compare(tup, BuildTuple([][]byte{IntValue(1)}), BuildTuple([][]byte{IntValue(1), nil})) >= 0 {
		t.Error("tuple with missing trailing field should sort before a null field")
	}
	if Compare(tup, BuildTuple([][]byte{IntValue(1), IntValue(0)}), BuildTuple([][]byte{IntValue(2)})) >= 0 {
		t.Error("tuple fields compare first")
	}
	// uuid: version first, then (for v1) timestamp.
	v4 := []byte{0, 0, 0, 0, 0, 0, 0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	v1 := tu(5, 0)
	if Compare(UUIDType, v1, v4) >= 0 {
		t.Error("uuid v1 should sort before v4")
	}
}

func FuzzDecodeKey(f *testing.F) {
	types := keyTestTypes()
	r := rand.New(rand.NewSource(2))
	for i, typ := range types {
		f.Add(uint8(i), false, AppendKey(nil, typ, randValue(r, typ, 0), false))
		f.Add(uint8(i), true, AppendKey(nil, typ, randValue(r, typ, 0), true))
	}
	f.Fuzz(func(t *testing.T, ti uint8, desc bool, src []byte) {
		typ := types[int(ti)%len(types)]
		v, rest, err := DecodeKey(typ, src, desc)
		if err != nil {
			return
		}
		if len(rest) > len(src) {
			t.Fatal("rest longer than input")
		}
		// Whatever decodes must encode back to the consumed bytes when valid.
		if Validate(typ, v) == nil {
			enc := AppendKey(nil, typ, v, desc)
			if !bytes.Equal(enc, src[:len(src)-len(rest)]) {
				// Non-canonical inputs (e.g. a malformed-tag form of a
				// valid value) may decode; they must still round-trip value-wise.
				v2, _, err := DecodeKey(typ, enc, desc)
				if err != nil || !bytes.Equal(v2, v) {
					t.Fatalf("re-encoding %x failed: %x %v", v, v2, err)
				}
			}
		}
		_ = Compare(typ, v, v)
		_ = Format(typ, v)
	})
}

func FuzzDecodeCollection(f *testing.F) {
	f.Add(EncodeCollection([][]byte{{1}, nil, {}}))
	f.Add([]byte{0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0x7f, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, v []byte) {
		elems, err := DecodeCollection(v)
		if err == nil {
			// Any negative length reads as null, so compare decoded forms.
			again, err := DecodeCollection(EncodeCollection(elems))
			if err != nil || len(again) != len(elems) {
				t.Fatalf("re-decoding failed: %v", err)
			}
			for i := range elems {
				if !bytes.Equal(again[i], elems[i]) || (again[i] == nil) != (elems[i] == nil) {
					t.Fatalf("element %d differs", i)
				}
			}
		}
		_, _, _ = DecodeMap(v)
		_, _ = DecodeFields(v)
		for _, typ := range []*Type{MustParse("list<int>"), MustParse("map<text, frozen<set<int>>>"), TupleOf(IntType, TextType)} {
			_ = Validate(typ, v)
			_ = Format(typ, v)
			_ = Compare(typ, v, v)
			_ = AppendKey(nil, typ, v, false)
		}
	})
}
