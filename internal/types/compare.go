package types

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/big"
)

// Compare returns Cassandra's ordering of two serialized values of type t:
// negative if a sorts before b, zero if they are equal, positive otherwise.
// Null (nil) sorts before everything, then the empty value.
//
// The orderings follow Cassandra's AbstractType subclasses: signed integers
// (int, bigint, counter, smallint, tinyint, timestamp, time); date as its
// unsigned serialized days; float and double as Java's Float.compare and
// Double.compare (-0 < +0, NaN above +Infinity); varint and decimal
// numerically; uuid by version, then by timestamp for version 1, then bytes
// unsigned; timeuuid by timestamp then the low 8 bytes compared as signed
// bytes; text, ascii, blob, inet, duration, boolean and custom bytewise;
// collections, tuples and UDTs element-wise with shorter first.
//
// Compare returns 0 only for byte-equal values. Where Cassandra considers
// byte-distinct values equal, a fixed tie-breaker orders them, the same one
// AppendKey uses, so that storage order and Compare always agree: decimals
// of equal value by scale (1.0 < 1.00); NaNs by their bits; varints and
// decimal unscaled values with redundant sign bytes after the minimal form;
// a tuple or UDT missing trailing fields before one with null or empty
// fields there. So, unlike Cassandra, {1.0, 1.00} is a two-element set.
// Malformed values compare bytewise.
func Compare(t *Type, a, b []byte) int {
	if a == nil || b == nil {
		switch {
		case a == nil && b == nil:
			return 0
		case a == nil:
			return -1
		}
		return 1
	}
	switch t.Kind {
	case Ascii, Varchar, Blob, Inet, Duration, Boolean, Custom, Date:
		return bytes.Compare(a, b)
	}
	if len(a) == 0 || len(b) == 0 {
		return cmpBool(len(a) != 0, len(b) != 0)
	}
	switch t.Kind {
	case Int, Bigint, Counter, Smallint, Tinyint, Timestamp, Time:
		if len(a) == len(b) {
			if c := int(int8(a[0])) - int(int8(b[0])); c != 0 {
				return sign(c)
			}
			return bytes.Compare(a[1:], b[1:])
		}
	case Float:
		if len(a) == 4 && len(b) == 4 {
			x := math.Float32frombits(binary.BigEndian.Uint32(a))
			y := math.Float32frombits(binary.BigEndian.Uint32(b))
			if c := javaFloatCompare(float64(x), float64(y)); c != 0 || x == x {
				return c
			}
			return bytes.Compare(a, b) // NaN payloads
		}
	case Double:
		if len(a) == 8 && len(b) == 8 {
			x := math.Float64frombits(binary.BigEndian.Uint64(a))
			y := math.Float64frombits(binary.BigEndian.Uint64(b))
			if c := javaFloatCompare(x, y); c != 0 || x == x {
				return c
			}
			return bytes.Compare(a, b) // NaN payloads
		}
	case UUID, Timeuuid:
		if len(a) == 16 && len(b) == 16 {
			return compareUUID(t.Kind, a, b)
		}
	case Varint:
		return compareVarint(a, b)
	case Decimal:
		if len(a) >= 5 && len(b) >= 5 {
			return compareDecimal(a, b)
		}
	case List, Set:
		if c, ok := compareLists(t.Elems[0], nil, a, b); ok {
			return c
		}
	case Map:
		if c, ok := compareLists(t.Elems[0], t.Elems[1], a, b); ok {
			return c
		}
	case Tuple, UDT:
		if c, ok := compareTuples(t, a, b); ok {
			return c
		}
	}
	return bytes.Compare(a, b)
}

func sign(c int) int {
	switch {
	case c < 0:
		return -1
	case c > 0:
		return 1
	}
	return 0
}

// cmpBool orders false before true.
func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

// javaFloatCompare is Java's Double.compare: -0.0 < 0.0, NaN equals NaN and
// is greater than everything else.
func javaFloatCompare(x, y float64) int {
	xn, yn := math.IsNaN(x), math.IsNaN(y)
	if xn || yn {
		return cmpBool(xn, yn)
	}
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	// Equal, or -0 vs +0.
	return cmpBool(!math.Signbit(x), !math.Signbit(y))
}

// reorderTimestamp moves a version-1 UUID's most significant 64 bits into
// timestamp order: time_hi_and_version, time_mid, time_low.
func reorderTimestamp(msb uint64) uint64 {
	return msb<<48 | (msb<<16)&0xffff00000000 | msb>>32
}

// unreorderTimestamp is the inverse of reorderTimestamp.
func unreorderTimestamp(r uint64) uint64 {
	return r<<32 | (r>>16)&0xffff0000 | r>>48
}

func compareUUID(k Kind, a, b []byte) int {
	msbA, msbB := binary.BigEndian.Uint64(a), binary.BigEndian.Uint64(b)
	lsbA, lsbB := binary.BigEndian.Uint64(a[8:]), binary.BigEndian.Uint64(b[8:])
	if k == Timeuuid {
		if c := cmpUint(reorderTimestamp(msbA), reorderTimestamp(msbB)); c != 0 {
			return c
		}
		// The low half compares as signed bytes.
		return cmpUint(lsbA^0x8080808080808080, lsbB^0x8080808080808080)
	}
	va, vb := (msbA>>12)&0xf, (msbB>>12)&0xf
	if va != vb {
		return cmpUint(va, vb)
	}
	if va == 1 {
		if c := cmpUint(reorderTimestamp(msbA), reorderTimestamp(msbB)); c != 0 {
			return c
		}
	} else if c := cmpUint(msbA, msbB); c != 0 {
		return c
	}
	return cmpUint(lsbA, lsbB)
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// trimVarint drops redundant leading sign bytes of a two's-complement value.
func trimVarint(v []byte) []byte {
	for len(v) > 1 && ((v[0] == 0 && v[1]&0x80 == 0) || (v[0] == 0xff && v[1]&0x80 != 0)) {
		v = v[1:]
	}
	return v
}

func compareVarint(a, b []byte) int {
	if c := compareVarintValue(trimVarint(a), trimVarint(b)); c != 0 {
		return c
	}
	return cmpUint(uint64(len(a)), uint64(len(b))) // redundant sign bytes
}

// compareVarintValue compares minimal two's-complement values.
func compareVarintValue(a, b []byte) int {
	na, nb := a[0]&0x80 != 0, b[0]&0x80 != 0
	if na != nb {
		return cmpBool(!na, !nb)
	}
	if len(a) != len(b) {
		c := cmpUint(uint64(len(a)), uint64(len(b)))
		if na {
			return -c
		}
		return c
	}
	return bytes.Compare(a, b)
}

// decimalParts is a decimal in normalized scientific form: value =
// sign * 0.digits * 10^exp, digits without leading or trailing zeros (empty
// for zero).
type decimalParts struct {
	sign   int
	digits []byte // ASCII digits
	exp    int64
}

func splitDecimal(v []byte) decimalParts {
	scale := int64(int32(binary.BigEndian.Uint32(v)))
	u := bigIntFrom(v[4:])
	s := u.Sign()
	if s == 0 {
		return decimalParts{}
	}
	digits := []byte(new(big.Int).Abs(u).Text(10))
	exp := int64(len(digits)) - scale
	for digits[len(digits)-1] == '0' {
		digits = digits[:len(digits)-1]
	}
	return decimalParts{sign: s, digits: digits, exp: exp}
}

func compareDecimal(a, b []byte) int {
	if c := compareDecimalValue(a, b); c != 0 {
		return c
	}
	// Tie-breakers: scale, then redundant sign bytes of the unscaled value.
	sa, sb := int32(binary.BigEndian.Uint32(a)), int32(binary.BigEndian.Uint32(b))
	if sa != sb {
		return cmpBool(sa > sb, sa < sb)
	}
	return cmpUint(uint64(len(a)-len(trimVarint(a[4:]))), uint64(len(b)-len(trimVarint(b[4:]))))
}

// compareDecimalValue compares decimals numerically (1.0 equals 1.00).
func compareDecimalValue(a, b []byte) int {
	x, y := splitDecimal(a), splitDecimal(b)
	if x.sign != y.sign {
		return sign(x.sign - y.sign)
	}
	if x.sign == 0 {
		return 0
	}
	c := bytes.Compare(x.digits, y.digits)
	switch {
	case x.exp < y.exp:
		c = -1
	case x.exp > y.exp:
		c = 1
	}
	return c * x.sign
}

// compareLists compares lists or sets (vt nil) or maps element-wise, then by
// size. ok is false for malformed values.
func compareLists(kt, vt *Type, a, b []byte) (int, bool) {
	if len(a) < 4 || len(b) < 4 {
		return 0, false
	}
	na, nb := int(int32(binary.BigEndian.Uint32(a))), int(int32(binary.BigEndian.Uint32(b)))
	if na < 0 || nb < 0 {
		return 0, false
	}
	a, b = a[4:], b[4:]
	for i := 0; i < min(na, nb); i++ {
		for j, et := range [2]*Type{kt, vt} {
			if j == 1 && vt == nil {
				break
			}
			var ea, eb []byte
			var err error
			if ea, a, err = readBytes(a); err != nil {
				return 0, false
			}
			if eb, b, err = readBytes(b); err != nil {
				return 0, false
			}
			if c := Compare(et, ea, eb); c != 0 {
				return c, true
			}
		}
	}
	return cmpUint(uint64(na), uint64(nb)), true
}

// compareTuples compares tuples and UDTs field by field; when one value
// runs out of fields first it sorts first (Cassandra treats missing trailing
// fields as equal to null or empty ones; see Compare's tie-breakers).
func compareTuples(t *Type, a, b []byte) (int, bool) {
	for i := 0; len(a) > 0 && len(b) > 0; i++ {
		if i >= len(t.Elems) {
			return 0, false
		}
		var fa, fb []byte
		var err error
		if fa, a, err = readBytes(a); err != nil {
			return 0, false
		}
		if fb, b, err = readBytes(b); err != nil {
			return 0, false
		}
		if c := Compare(t.Elems[i], fa, fb); c != 0 {
			return c, true
		}
	}
	return cmpBool(len(a) > 0, len(b) > 0), true
}
