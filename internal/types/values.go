package types

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"net"
	"time"
	"unicode/utf8"
)

// Builders and decoders between Go values and serialized CQL values. They are
// meant for system tables, CQL functions and tests, not for per-cell paths.
// Builders are named after the type with a Value suffix because the plain
// names (Int, Bigint, ...) are the Kind constants.

// IntValue serializes an int.
func IntValue(v int32) []byte { return binary.BigEndian.AppendUint32(make([]byte, 0, 4), uint32(v)) }

// BigintValue serializes a bigint (also the serialized form of counter and,
// with milliseconds since the epoch, timestamp).
func BigintValue(v int64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), uint64(v))
}

// CounterValue serializes a counter value.
func CounterValue(v int64) []byte { return BigintValue(v) }

// SmallintValue serializes a smallint.
func SmallintValue(v int16) []byte { return []byte{byte(uint16(v) >> 8), byte(v)} }

// TinyintValue serializes a tinyint.
func TinyintValue(v int8) []byte { return []byte{byte(v)} }

// BooleanValue serializes a boolean.
func BooleanValue(v bool) []byte {
	if v {
		return []byte{1}
	}
	return []byte{0}
}

// DoubleValue serializes a double.
func DoubleValue(v float64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), math.Float64bits(v))
}

// FloatValue serializes a float.
func FloatValue(v float32) []byte {
	return binary.BigEndian.AppendUint32(make([]byte, 0, 4), math.Float32bits(v))
}

// TextValue serializes a text (or ascii) value: its UTF-8 bytes. The empty
// string gives an empty, non-nil value.
func TextValue(s string) []byte { return append([]byte{}, s...) }

// BlobValue returns a copy of b as a blob value (empty, non-nil for an empty b).
func BlobValue(b []byte) []byte { return append([]byte{}, b...) }

// UUIDValue serializes a uuid or timeuuid.
func UUIDValue(u [16]byte) []byte { return append([]byte{}, u[:]...) }

// TimestampValue serializes a timestamp: milliseconds since the Unix epoch.
func TimestampValue(t time.Time) []byte { return BigintValue(t.UnixMilli()) }

// InetValue serializes an inet: 4 bytes for IPv4 (including IPv4-mapped
// IPv6 addresses, as Java does), 16 for IPv6. It returns nil for an invalid IP.
func InetValue(ip net.IP) []byte {
	if v4 := ip.To4(); v4 != nil {
		return append([]byte{}, v4...)
	}
	if len(ip) == net.IPv6len {
		return append([]byte{}, ip...)
	}
	return nil
}

// dateEpoch is the serialized date of 1970-01-01: dates are unsigned days
// with the epoch at 2^31.
const dateEpoch = 1 << 31

// DateValue serializes the date (in UTC) of t.
func DateValue(t time.Time) []byte {
	days := floorDiv(t.Unix(), 86400)
	return DateFromDays(days)
}

// DateFromDays serializes a date given as days since 1970-01-01 (may be
// negative). Out-of-range values wrap; callers check the range.
func DateFromDays(days int64) []byte {
	return binary.BigEndian.AppendUint32(make([]byte, 0, 4), uint32(days+dateEpoch))
}

// TimeValue serializes a time of day given as nanoseconds since midnight.
func TimeValue(nanos int64) []byte { return BigintValue(nanos) }

// VarintValue serializes a varint as its minimal two's-complement big-endian
// bytes.
func VarintValue(v *big.Int) []byte { return appendBigInt(nil, v) }

// DecimalValue serializes a decimal unscaled*10^-scale.
func DecimalValue(unscaled *big.Int, scale int32) []byte {
	dst := binary.BigEndian.AppendUint32(make([]byte, 0, 8), uint32(scale))
	return appendBigInt(dst, unscaled)
}

// DurationValue serializes a duration of months, days and nanoseconds. All
// three must have the same sign (not checked here; see Validate).
func DurationValue(months, days int32, nanos int64) []byte {
	dst := appendVint(nil, int64(months))
	dst = appendVint(dst, int64(days))
	return appendVint(dst, nanos)
}

// appendBigInt appends the minimal two's-complement big-endian form of v
// (Java's BigInteger.toByteArray).
func appendBigInt(dst []byte, v *big.Int) []byte {
	switch v.Sign() {
	case 0:
		return append(dst, 0)
	case 1:
		b := v.Bytes()
		if b[0]&0x80 != 0 {
			dst = append(dst, 0)
		}
		return append(dst, b...)
	}
	// Negative: two's complement of |v| over n bytes, n minimal.
	abs := new(big.Int).Neg(v)
	n := (abs.BitLen() + 8) / 8 // room for the sign bit
	mod := new(big.Int).Lsh(big.NewInt(1), uint(n*8))
	mod.Sub(mod, abs)
	b := mod.FillBytes(make([]byte, n))
	// Drop a redundant leading 0xff (when abs is a power of two, e.g. -128).
	for len(b) > 1 && b[0] == 0xff && b[1]&0x80 != 0 {
		b = b[1:]
	}
	return append(dst, b...)
}

// bigIntFrom decodes two's-complement big-endian bytes (empty = 0).
func bigIntFrom(b []byte) *big.Int {
	v := new(big.Int).SetBytes(b)
	if len(b) > 0 && b[0]&0x80 != 0 {
		v.Sub(v, new(big.Int).Lsh(big.NewInt(1), uint(len(b)*8)))
	}
	return v
}

// errLen is returned by decoders given a value of the wrong length.
func errLen(kind string, want, got int) error {
	return fmt.Errorf("expected %d bytes for %s value, got %d", want, kind, got)
}

// ErrNull is returned by decoders given a null (nil) value.
var ErrNull = errors.New("null value")

// DecodeInt decodes an int.
func DecodeInt(v []byte) (int32, error) {
	if len(v) != 4 {
		return 0, errLenOrNull(v, "int", 4)
	}
	return int32(binary.BigEndian.Uint32(v)), nil
}

// DecodeBigint decodes a bigint, counter, timestamp (ms) or time (ns).
func DecodeBigint(v []byte) (int64, error) {
	if len(v) != 8 {
		return 0, errLenOrNull(v, "bigint", 8)
	}
	return int64(binary.BigEndian.Uint64(v)), nil
}

// DecodeSmallint decodes a smallint.
func DecodeSmallint(v []byte) (int16, error) {
	if len(v) != 2 {
		return 0, errLenOrNull(v, "smallint", 2)
	}
	return int16(binary.BigEndian.Uint16(v)), nil
}

// DecodeTinyint decodes a tinyint.
func DecodeTinyint(v []byte) (int8, error) {
	if len(v) != 1 {
		return 0, errLenOrNull(v, "tinyint", 1)
	}
	return int8(v[0]), nil
}

// DecodeBoolean decodes a boolean; any non-zero byte is true.
func DecodeBoolean(v []byte) (bool, error) {
	if len(v) != 1 {
		return false, errLenOrNull(v, "boolean", 1)
	}
	return v[0] != 0, nil
}

// DecodeDouble decodes a double.
func DecodeDouble(v []byte) (float64, error) {
	if len(v) != 8 {
		return 0, errLenOrNull(v, "double", 8)
	}
	return math.Float64frombits(binary.BigEndian.Uint64(v)), nil
}

// DecodeFloat decodes a float.
func DecodeFloat(v []byte) (float32, error) {
	if len(v) != 4 {
		return 0, errLenOrNull(v, "float", 4)
	}
	return math.Float32frombits(binary.BigEndian.Uint32(v)), nil
}

// DecodeText decodes a text or ascii value, checking UTF-8.
func DecodeText(v []byte) (string, error) {
	if v == nil {
		return "", ErrNull
	}
	if !utf8.Valid(v) {
		return "", errors.New("invalid UTF-8 bytes")
	}
	return string(v), nil
}

// DecodeUUID decodes a uuid or timeuuid.
func DecodeUUID(v []byte) ([16]byte, error) {
	var u [16]byte
	if len(v) != 16 {
		return u, errLenOrNull(v, "uuid", 16)
	}
	copy(u[:], v)
	return u, nil
}

// DecodeTimestamp decodes a timestamp into a UTC time.
func DecodeTimestamp(v []byte) (time.Time, error) {
	ms, err := DecodeBigint(v)
	if err != nil {
		return time.Time{}, err
	}
	return time.UnixMilli(ms).UTC(), nil
}

// DecodeDate decodes a date into days since 1970-01-01.
func DecodeDate(v []byte) (int64, error) {
	if len(v) != 4 {
		return 0, errLenOrNull(v, "date", 4)
	}
	return int64(binary.BigEndian.Uint32(v)) - dateEpoch, nil
}

// DecodeInet decodes an inet.
func DecodeInet(v []byte) (net.IP, error) {
	if len(v) != 4 && len(v) != 16 {
		if v == nil {
			return nil, ErrNull
		}
		return nil, fmt.Errorf("expected 4 or 16 bytes for inet value, got %d", len(v))
	}
	return append(net.IP{}, v...), nil
}

// DecodeVarint decodes a varint.
func DecodeVarint(v []byte) (*big.Int, error) {
	if len(v) == 0 {
		if v == nil {
			return nil, ErrNull
		}
		return nil, errors.New("empty varint value")
	}
	return bigIntFrom(v), nil
}

// DecodeDecimal decodes a decimal into unscaled value and scale.
func DecodeDecimal(v []byte) (*big.Int, int32, error) {
	if len(v) < 5 {
		if v == nil {
			return nil, 0, ErrNull
		}
		return nil, 0, fmt.Errorf("expected at least 5 bytes for decimal value, got %d", len(v))
	}
	return bigIntFrom(v[4:]), int32(binary.BigEndian.Uint32(v)), nil
}

// DecodeDuration decodes a duration into months, days and nanoseconds.
func DecodeDuration(v []byte) (months, days int32, nanos int64, err error) {
	if v == nil {
		return 0, 0, 0, ErrNull
	}
	m, n1, err := readVint(v)
	if err != nil {
		return 0, 0, 0, err
	}
	d, n2, err := readVint(v[n1:])
	if err != nil {
		return 0, 0, 0, err
	}
	ns, n3, err := readVint(v[n1+n2:])
	if err != nil {
		return 0, 0, 0, err
	}
	if n1+n2+n3 != len(v) {
		return 0, 0, 0, errors.New("trailing bytes after duration")
	}
	if m != int64(int32(m)) || d != int64(int32(d)) {
		return 0, 0, 0, errors.New("duration months or days out of range")
	}
	return int32(m), int32(d), ns, nil
}

func errLenOrNull(v []byte, kind string, want int) error {
	if v == nil {
		return ErrNull
	}
	return errLen(kind, want, len(v))
}

// floorDiv divides rounding towards negative infinity.
func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// appendVint appends Cassandra's signed variable-length integer (zig-zag
// encoded, then the unsigned vint whose first byte's leading one bits count
// the extra bytes).
func appendVint(dst []byte, v int64) []byte {
	return appendUvint(dst, uint64(v<<1)^uint64(v>>63))
}

func appendUvint(dst []byte, v uint64) []byte {
	if v < 0x80 {
		return append(dst, byte(v))
	}
	// Number of extra bytes: the value needs 7*(1+extra)+... bits; Cassandra
	// computes size as (639 - 9*leadingZeros(v|1)) >> 6.
	lz := 0
	for x := v | 1; x&(1<<63) == 0; x <<= 1 {
		lz++
	}
	size := (639 - lz*9) >> 6
	extra := size - 1
	var buf [9]byte
	binary.BigEndian.PutUint64(buf[1:], v)
	out := buf[9-size:]
	out[0] |= ^byte(0xff >> uint(extra))
	return append(dst, out...)
}

// readVint reads a signed vint, returning the value and bytes consumed.
func readVint(src []byte) (int64, int, error) {
	u, n, err := readUvint(src)
	if err != nil {
		return 0, 0, err
	}
	return int64(u>>1) ^ -int64(u&1), n, nil
}

func readUvint(src []byte) (uint64, int, error) {
	if len(src) == 0 {
		return 0, 0, errors.New("truncated vint")
	}
	first := src[0]
	if first < 0x80 {
		return uint64(first), 1, nil
	}
	extra := 0
	for b := first; b&0x80 != 0; b <<= 1 {
		extra++
	}
	if len(src) < 1+extra {
		return 0, 0, errors.New("truncated vint")
	}
	v := uint64(first & (0xff >> uint(extra)))
	for i := 1; i <= extra; i++ {
		v = v<<8 | uint64(src[i])
	}
	return v, 1 + extra, nil
}
