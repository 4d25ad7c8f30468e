package types

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	"net"
	"strconv"
	"strings"
	"time"
)

// Display precisions of cqlsh (its float_precision and double_precision
// settings' defaults): significant digits shown for float and double.
const (
	cqlshFloatPrecision  = 5
	cqlshDoublePrecision = 12
)

// Format returns the cqlsh-style display of the value v of type t: text
// unquoted at top level and single-quoted inside collections, tuples and
// UDTs (as are inet, date, time and timestamp values); booleans True/False;
// float and double with cqlsh's default precisions (5 and 12 significant
// digits); timestamps as "2011-02-03 04:05:00.000000+0000" (UTC); dates
// "2011-02-03"; times "08:12:54.123456789"; blobs 0x...; uuids canonical;
// maps {k: v}; sets {a, b}; lists [a, b]; tuples (a, b); UDTs {field: v};
// null as "null". A malformed value is shown as its bytes in hex.
func Format(t *Type, v []byte) string {
	var b strings.Builder
	formatTo(&b, t, v, false)
	return b.String()
}

func formatTo(b *strings.Builder, t *Type, v []byte, quote bool) {
	if v == nil {
		b.WriteString("null")
		return
	}
	if err := validate(t, v); err != nil {
		b.WriteString("0x")
		b.WriteString(hex.EncodeToString(v))
		return
	}
	if len(v) == 0 {
		switch t.Kind {
		case Ascii, Varchar:
			if quote {
				b.WriteString("''")
			}
		case Blob, Custom:
			b.WriteString("0x")
		}
		// Other empty values display as nothing, as in cqlsh.
		return
	}
	switch t.Kind {
	case Ascii, Varchar:
		if quote {
			writeQuoted(b, string(v))
		} else {
			b.Write(v)
		}
	case Boolean:
		if v[0] != 0 {
			b.WriteString("True")
		} else {
			b.WriteString("False")
		}
	case Float:
		b.WriteString(cqlshFloat(float64(math.Float32frombits(binary.BigEndian.Uint32(v))), cqlshFloatPrecision))
	case Double:
		b.WriteString(cqlshFloat(math.Float64frombits(binary.BigEndian.Uint64(v)), cqlshDoublePrecision))
	case Timestamp:
		ms := int64(binary.BigEndian.Uint64(v))
		maybeQuoted(b, time.UnixMilli(ms).UTC().Format("2006-01-02 15:04:05.000000-0700"), quote)
	case Date, Time:
		maybeQuoted(b, ToText(t, v), quote)
	case Inet:
		maybeQuoted(b, net.IP(v).String(), quote)
	case Blob, Custom:
		b.WriteString("0x")
		b.WriteString(hex.EncodeToString(v))
	case List, Set, Map:
		open, close := "[", "]"
		if t.Kind != List {
			open, close = "{", "}"
		}
		elems, _ := decodeCollection(v, t.Kind == Map)
		b.WriteString(open)
		for i, e := range elems {
			switch {
			case t.Kind == Map && i%2 == 1:
				b.WriteString(": ")
				formatTo(b, t.Elems[1], e, true)
				continue
			case i > 0:
				b.WriteString(", ")
			}
			formatTo(b, t.Elems[0], e, true)
		}
		b.WriteString(close)
	case Tuple:
		fields, _ := DecodeFields(v)
		b.WriteByte('(')
		for i, f := range fields {
			if i > 0 {
				b.WriteString(", ")
			}
			formatTo(b, t.Elems[i], f, true)
		}
		b.WriteByte(')')
	case UDT:
		fields, _ := DecodeFields(v)
		b.WriteByte('{')
		for i := range t.Elems {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(QuoteIdent(t.FieldNames[i]))
			b.WriteString(": ")
			var f []byte
			if i < len(fields) {
				f = fields[i]
			}
			formatTo(b, t.Elems[i], f, true)
		}
		b.WriteByte('}')
	default:
		b.WriteString(ToText(t, v))
	}
}

func maybeQuoted(b *strings.Builder, s string, quote bool) {
	if quote {
		writeQuoted(b, s)
	} else {
		b.WriteString(s)
	}
}

// writeQuoted writes s as a CQL string literal: single quotes, embedded
// quotes doubled.
func writeQuoted(b *strings.Builder, s string) {
	b.WriteByte('\'')
	b.WriteString(strings.ReplaceAll(s, "'", "''"))
	b.WriteByte('\'')
}

// cqlshFloat formats like cqlsh's format_floating_point_type: %g with the
// given precision, widened by the digits left of the point when %g would not
// switch to scientific notation anyway.
func cqlshFloat(f float64, prec int) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	exp := math.MinInt32
	if math.Abs(f) > 2.220446049250313e-16 {
		exp = int(math.Log10(math.Abs(f))) // truncates toward zero, like Python's int()
	}
	if exp >= -4 && exp < prec {
		prec += exp + 1
	}
	return strconv.FormatFloat(f, 'g', prec, 64)
}

// ToText returns Cassandra's string form of a value, as CAST(x AS text) and
// the Java serializers' toString give it: numbers as Java prints them
// ("1.0", "1.0E10"), booleans "true"/"false", timestamps
// "2011-02-03T04:05:00.000Z", dates "2011-02-03", times
// "04:05:00.000000000", inet as Java's getHostAddress, durations "1h2m",
// uuids canonical, blobs as hex without 0x. Collections, tuples and UDTs use
// Format. Null gives "null".
func ToText(t *Type, v []byte) string {
	if v == nil {
		return "null"
	}
	if len(v) == 0 {
		return ""
	}
	if err := validate(t, v); err != nil {
		return hex.EncodeToString(v)
	}
	switch t.Kind {
	case Ascii, Varchar:
		return string(v)
	case Int:
		return strconv.FormatInt(int64(int32(binary.BigEndian.Uint32(v))), 10)
	case Bigint, Counter:
		return strconv.FormatInt(int64(binary.BigEndian.Uint64(v)), 10)
	case Smallint:
		return strconv.FormatInt(int64(int16(binary.BigEndian.Uint16(v))), 10)
	case Tinyint:
		return strconv.FormatInt(int64(int8(v[0])), 10)
	case Boolean:
		return strconv.FormatBool(v[0] != 0)
	case Float:
		return javaFloatString(float64(math.Float32frombits(binary.BigEndian.Uint32(v))), 32)
	case Double:
		return javaFloatString(math.Float64frombits(binary.BigEndian.Uint64(v)), 64)
	case Varint:
		return bigIntFrom(v).String()
	case Decimal:
		return javaDecimalString(bigIntFrom(v[4:]), int32(binary.BigEndian.Uint32(v)))
	case Timestamp:
		return time.UnixMilli(int64(binary.BigEndian.Uint64(v))).UTC().Format("2006-01-02T15:04:05.000Z")
	case Date:
		days := int64(binary.BigEndian.Uint32(v)) - dateEpoch
		return time.Unix(days*86400, 0).UTC().Format("2006-01-02")
	case Time:
		ns := int64(binary.BigEndian.Uint64(v))
		return fmt.Sprintf("%02d:%02d:%02d.%09d", ns/3600e9, ns/60e9%60, ns/1e9%60, ns%1e9)
	case UUID, Timeuuid:
		return formatUUID(v)
	case Inet:
		if len(v) == 4 {
			return fmt.Sprintf("%d.%d.%d.%d", v[0], v[1], v[2], v[3])
		}
		var parts [8]string
		for i := range parts {
			parts[i] = strconv.FormatUint(uint64(binary.BigEndian.Uint16(v[2*i:])), 16)
		}
		return strings.Join(parts[:], ":")
	case Duration:
		m, d, ns, _ := DecodeDuration(v)
		return formatDuration(m, d, ns)
	case Blob, Custom:
		return hex.EncodeToString(v)
	}
	return Format(t, v)
}

// formatUUID returns the canonical 8-4-4-4-12 lower-case form.
func formatUUID(v []byte) string {
	var buf [36]byte
	hex.Encode(buf[0:8], v[0:4])
	buf[8] = '-'
	hex.Encode(buf[9:13], v[4:6])
	buf[13] = '-'
	hex.Encode(buf[14:18], v[6:8])
	buf[18] = '-'
	hex.Encode(buf[19:23], v[8:10])
	buf[23] = '-'
	hex.Encode(buf[24:], v[10:16])
	return string(buf[:])
}

// formatDuration prints a duration as Cassandra's Duration.toString does:
// a leading '-' if negative, then y, mo, d, h, m, s, ms, us, ns units with
// zero units left out ("0s" for the zero duration).
func formatDuration(months, days int32, nanos int64) string {
	var b strings.Builder
	if months < 0 || days < 0 || nanos < 0 {
		b.WriteByte('-')
	}
	unit := func(v, per uint64, name string) uint64 {
		if v == 0 || v < per {
			return v
		}
		b.WriteString(strconv.FormatUint(v/per, 10))
		b.WriteString(name)
		return v % per
	}
	m := uint64(absInt64(int64(months)))
	rem := unit(m, 12, "y")
	unit(rem, 1, "mo")
	unit(uint64(absInt64(int64(days))), 1, "d")
	ns := uint64(nanos)
	if nanos < 0 {
		ns = uint64(-nanos) // two's complement handles MinInt64
	}
	ns = unit(ns, 3600e9, "h")
	ns = unit(ns, 60e9, "m")
	ns = unit(ns, 1e9, "s")
	ns = unit(ns, 1e6, "ms")
	ns = unit(ns, 1e3, "us")
	unit(ns, 1, "ns")
	if b.Len() == 0 || b.String() == "-" {
		return "0s"
	}
	return b.String()
}

func absInt64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// javaFloatString formats like Java's Float.toString / Double.toString:
// plain notation with at least one fractional digit for 1e-3 <= |f| < 1e7,
// otherwise d.dddE[-]n; NaN, Infinity, -Infinity.
func javaFloatString(f float64, bitSize int) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	a := math.Abs(f)
	if a >= 1e-3 && a < 1e7 {
		s := strconv.FormatFloat(f, 'f', -1, bitSize)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	s := strconv.FormatFloat(f, 'e', -1, bitSize) // d.ddde±XX
	mant, exp, _ := strings.Cut(s, "e")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	e, _ := strconv.Atoi(exp)
	return mant + "E" + strconv.Itoa(e)
}

// javaDecimalString formats like Java's BigDecimal.toString.
func javaDecimalString(unscaled *big.Int, scale int32) string {
	digits := new(big.Int).Abs(unscaled).String()
	neg := unscaled.Sign() < 0
	adjusted := -int64(scale) + int64(len(digits)-1)
	var s string
	switch {
	case scale == 0:
		s = digits
	case scale > 0 && adjusted >= -6:
		if int(scale) >= len(digits) {
			s = "0." + strings.Repeat("0", int(scale)-len(digits)) + digits
		} else {
			s = digits[:len(digits)-int(scale)] + "." + digits[len(digits)-int(scale):]
		}
	default:
		s = digits[:1]
		if len(digits) > 1 {
			s += "." + digits[1:]
		}
		s += "E"
		if adjusted >= 0 {
			s += "+"
		}
		s += strconv.FormatInt(adjusted, 10)
	}
	if neg {
		return "-" + s
	}
	return s
}
