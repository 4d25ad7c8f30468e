package types

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
)

// Cast converts v from type from to type to as CQL's CAST(x AS type) does
// for native types: between numeric types with Java's conversions
// (narrowing keeps the low bits, floating point to integer truncates and
// saturates, NaN becomes 0), numbers to decimal and varint exactly (float
// and double through their Java string form); timestamp to date; date to
// timestamp; timeuuid to timestamp and date; anything to text or ascii with
// Cassandra's string form (ToText). Casting to the same type returns v.
// Null casts to null.
func Cast(from, to *Type, v []byte) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	if from.Equal(to) || (from.Kind == to.Kind && from.Kind.IsNative()) {
		return v, nil
	}
	if err := validate(from, v); err != nil {
		return nil, err
	}
	switch to.Kind {
	case Varchar:
		return TextValue(ToText(from, v)), nil
	case Ascii:
		s := ToText(from, v)
		for i := 0; i < len(s); i++ {
			if s[i] > 0x7f {
				return nil, fmt.Errorf("cannot cast %s value to ascii: non-ASCII character", from)
			}
		}
		return TextValue(s), nil
	}
	if len(v) == 0 {
		return nil, fmt.Errorf("cannot cast an empty %s value to %s", from, to)
	}
	if isNumeric(from.Kind) && isNumeric(to.Kind) {
		return castNumber(from.Kind, to.Kind, v)
	}
	switch {
	case from.Kind == Timestamp && to.Kind == Date:
		ms := int64(binary.BigEndian.Uint64(v))
		return DateFromDays(floorDiv(ms, 86400000)), nil
	case from.Kind == Date && to.Kind == Timestamp:
		days, _ := DecodeDate(v)
		return BigintValue(days * 86400000), nil
	case from.Kind == Timeuuid && to.Kind == Timestamp:
		return BigintValue(TimeUUIDUnixMillis(v)), nil
	case from.Kind == Timeuuid && to.Kind == Date:
		return DateFromDays(floorDiv(TimeUUIDUnixMillis(v), 86400000)), nil
	}
	return nil, fmt.Errorf("Cannot cast type %s to %s", from, to)
}

func isNumeric(k Kind) bool {
	switch k {
	case Tinyint, Smallint, Int, Bigint, Counter, Float, Double, Varint, Decimal:
		return true
	}
	return false
}

// castNumber converts between numeric kinds. v is valid and non-empty.
func castNumber(from, to Kind, v []byte) ([]byte, error) {
	// Exact source forms.
	var (
		i       int64
		f       float64
		isFloat bool
		bi      *big.Int // varint, or the unscaled decimal value
		scale   int32
		isBig   bool
		isDec   bool
	)
	switch from {
	case Tinyint:
		i = int64(int8(v[0]))
	case Smallint:
		i = int64(int16(binary.BigEndian.Uint16(v)))
	case Int:
		i = int64(int32(binary.BigEndian.Uint32(v)))
	case Bigint, Counter:
		i = int64(binary.BigEndian.Uint64(v))
	case Float:
		f, isFloat = float64(math.Float32frombits(binary.BigEndian.Uint32(v))), true
	case Double:
		f, isFloat = math.Float64frombits(binary.BigEndian.Uint64(v)), true
	case Varint:
		bi, isBig = bigIntFrom(v), true
	case Decimal:
		bi, scale, isDec = bigIntFrom(v[4:]), int32(binary.BigEndian.Uint32(v)), true
	}

	// The integer part, as Java's Number.longValue() gives it.
	longValue := func() int64 {
		switch {
		case isFloat:
			return javaDoubleToLong(f)
		case isBig:
			return bi.Int64() // low 64 bits, as BigInteger.longValue
		case isDec:
			return lowBits(decimalToBigInt(bi, scale))
		}
		return i
	}
	// Java's intValue() of a float saturates at the int range before any
	// further narrowing (byteValue/shortValue narrow intValue).
	intValue := func() int64 {
		if isFloat {
			switch {
			case math.IsNaN(f):
				return 0
			case f >= math.MaxInt32:
				return math.MaxInt32
			case f <= math.MinInt32:
				return math.MinInt32
			}
			return int64(f)
		}
		return int64(int32(longValue()))
	}
	floatValue := func() float64 {
		switch {
		case isFloat:
			return f
		case isBig:
			x, _ := new(big.Float).SetInt(bi).Float64()
			return x
		case isDec:
			x, _ := new(big.Float).SetPrec(200).SetString(javaDecimalString(bi, scale))
			r, _ := x.Float64()
			return r
		}
		return float64(i)
	}

	switch to {
	case Tinyint:
		return TinyintValue(int8(intValue())), nil
	case Smallint:
		return SmallintValue(int16(intValue())), nil
	case Int:
		return IntValue(int32(intValue())), nil
	case Bigint, Counter:
		return BigintValue(longValue()), nil
	case Float:
		return FloatValue(float32(floatValue())), nil
	case Double:
		return DoubleValue(floatValue()), nil
	case Varint:
		switch {
		case isFloat:
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return nil, fmt.Errorf("cannot cast %s %v to varint", from, f)
			}
			b, _ := big.NewFloat(f).Int(nil) // truncates toward zero
			return VarintValue(b), nil
		case isBig:
			return VarintValue(bi), nil
		case isDec:
			return VarintValue(decimalToBigInt(bi, scale)), nil
		}
		return VarintValue(big.NewInt(i)), nil
	case Decimal:
		switch {
		case isFloat:
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return nil, fmt.Errorf("cannot cast %s %v to decimal", from, f)
			}
			return ParseDecimal(javaFloatString(f, 64))
		case isBig:
			return DecimalValue(bi, 0), nil
		case isDec:
			return DecimalValue(bi, scale), nil
		}
		return DecimalValue(big.NewInt(i), 0), nil
	}
	return nil, fmt.Errorf("Cannot cast type %s to %s", from, to)
}

// javaDoubleToLong is Java's (long) cast: NaN is 0, out-of-range saturates.
func javaDoubleToLong(f float64) int64 {
	switch {
	case math.IsNaN(f):
		return 0
	case f >= math.MaxInt64:
		return math.MaxInt64
	case f <= math.MinInt64:
		return math.MinInt64
	}
	return int64(f)
}

// lowBits returns the low 64 bits of b as a two's-complement int64.
func lowBits(b *big.Int) int64 {
	m := new(big.Int).And(b, new(big.Int).SetUint64(math.MaxUint64))
	return int64(m.Uint64())
}

// decimalToBigInt truncates unscaled*10^-scale toward zero.
func decimalToBigInt(unscaled *big.Int, scale int32) *big.Int {
	if scale <= 0 {
		if -int64(scale) > maxKeyDecimalZeros {
			return new(big.Int) // absurd magnitude; avoid a huge allocation
		}
		p := new(big.Int).Exp(big.NewInt(10), big.NewInt(-int64(scale)), nil)
		return p.Mul(p, unscaled)
	}
	if int64(scale) > maxKeyDecimalZeros {
		return new(big.Int)
	}
	p := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)
	return new(big.Int).Quo(unscaled, p)
}
