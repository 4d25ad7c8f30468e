package types

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/big"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// ConstKind is the kind of a CQL literal as the lexer classified it.
type ConstKind int

// The CQL literal kinds.
const (
	ConstString   ConstKind = iota // 'quoted string' (or $$string$$)
	ConstInteger                   // 123, -5
	ConstFloat                     // 1.5, -2e10, NaN, Infinity, -Infinity
	ConstBoolean                   // true, false
	ConstUUID                      // 123e4567-e89b-12d3-a456-426614174000 (unquoted)
	ConstHex                       // 0xcafe
	ConstDuration                  // 1h2m3s, P1Y2M, PT5S, P2W
)

// String returns the kind as Cassandra names it in error messages
// ("STRING", "INTEGER", "FLOAT", "BOOLEAN", "UUID", "HEX", "DURATION").
func (k ConstKind) String() string {
	switch k {
	case ConstString:
		return "STRING"
	case ConstInteger:
		return "INTEGER"
	case ConstFloat:
		return "FLOAT"
	case ConstBoolean:
		return "BOOLEAN"
	case ConstUUID:
		return "UUID"
	case ConstHex:
		return "HEX"
	case ConstDuration:
		return "DURATION"
	}
	return "UNKNOWN"
}

// ErrIncompatible is wrapped by FromConstant's error when a literal of that
// kind can never be a value of the type (a string for an int column).
var ErrIncompatible = errors.New("incompatible constant kind")

// FromConstant converts the literal text of the given kind to a serialized
// value of type t, following Cassandra's assignment rules: strings to ascii,
// text, inet, date, time, timestamp and duration; integers to every numeric
// type and to date (raw days, 2^31 = epoch), time (ns) and timestamp (ms);
// floats to float, double and decimal; booleans to boolean; UUIDs to uuid and
// timeuuid; hex to blob (and custom); durations to duration. Any kind fits
// a blob-like custom type only as hex.
//
// If the kind cannot be assigned to t at all the error wraps
// ErrIncompatible, and the caller reports Cassandra's
// "Invalid <KIND> constant (<text>) for "<col>" of type <t>"; otherwise the
// error says, in Cassandra's words, why the text is not a valid value
// ("Unable to make int from '3000000000'").
func FromConstant(t *Type, kind ConstKind, text string) ([]byte, error) {
	incompatible := func() ([]byte, error) {
		return nil, fmt.Errorf("%w: %s constant for type %s", ErrIncompatible, kind, t)
	}
	switch kind {
	case ConstString:
		switch t.Kind {
		case Ascii:
			for i := 0; i < len(text); i++ {
				if text[i] > 0x7f {
					return nil, fmt.Errorf("Invalid ASCII character in string literal %s", text)
				}
			}
			return TextValue(text), nil
		case Varchar:
			return TextValue(text), nil
		case Inet:
			return ParseInet(text)
		case Date:
			return ParseDate(text)
		case Time:
			return ParseTime(text)
		case Timestamp:
			return ParseTimestamp(text)
		case Duration:
			return ParseDuration(text)
		}
	case ConstInteger:
		switch t.Kind {
		case Int, Bigint, Counter, Smallint, Tinyint, Varint, Decimal, Float, Double:
			return parseNumber(t.Kind, text)
		case Date:
			return ParseDate(text)
		case Time:
			return ParseTime(text)
		case Timestamp:
			return ParseTimestamp(text)
		}
	case ConstFloat:
		switch t.Kind {
		case Float, Double, Decimal:
			return parseNumber(t.Kind, text)
		}
	case ConstBoolean:
		if t.Kind == Boolean {
			switch strings.ToLower(text) {
			case "true":
				return BooleanValue(true), nil
			case "false":
				return BooleanValue(false), nil
			}
			return nil, fmt.Errorf("Unable to make boolean from '%s'", text)
		}
	case ConstUUID:
		switch t.Kind {
		case UUID, Timeuuid:
			u, err := ParseUUID(text)
			if err != nil {
				return nil, err
			}
			if t.Kind == Timeuuid && u[6]&0xf0 != 0x10 {
				return nil, fmt.Errorf("Unsupported UUID version for timeuuid: %s (only version 1 is allowed)", text)
			}
			return u, nil
		}
	case ConstHex:
		switch t.Kind {
		case Blob, Custom:
			return ParseHex(text)
		}
	case ConstDuration:
		if t.Kind == Duration {
			return ParseDuration(text)
		}
	}
	return incompatible()
}

// parseNumber converts integer or float literal text to a numeric kind.
func parseNumber(k Kind, text string) ([]byte, error) {
	switch k {
	case Int:
		v, err := strconv.ParseInt(text, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("Unable to make int from '%s'", text)
		}
		return IntValue(int32(v)), nil
	case Bigint, Counter:
		v, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("Unable to make long from '%s'", text)
		}
		return BigintValue(v), nil
	case Smallint:
		v, err := strconv.ParseInt(text, 10, 16)
		if err != nil {
			return nil, fmt.Errorf("Unable to make short from '%s'", text)
		}
		return SmallintValue(int16(v)), nil
	case Tinyint:
		v, err := strconv.ParseInt(text, 10, 8)
		if err != nil {
			return nil, fmt.Errorf("Unable to make byte from '%s'", text)
		}
		return TinyintValue(int8(v)), nil
	case Varint:
		v, ok := new(big.Int).SetString(strings.TrimPrefix(text, "+"), 10)
		if !ok {
			return nil, fmt.Errorf("Unable to make java.math.BigInteger from '%s'", text)
		}
		return VarintValue(v), nil
	case Decimal:
		v, err := ParseDecimal(text)
		if err != nil {
			return nil, fmt.Errorf("Value '%s' is not a valid representation of a decimal value", text)
		}
		return v, nil
	case Float, Double:
		f, err := parseJavaFloat(text, k == Float)
		if err != nil {
			return nil, fmt.Errorf("Unable to make %s from '%s'", map[bool]string{true: "float", false: "double"}[k == Float], text)
		}
		if k == Float {
			return FloatValue(float32(f)), nil
		}
		return DoubleValue(f), nil
	}
	return nil, fmt.Errorf("%w: number for type %s", ErrIncompatible, k)
}

// parseJavaFloat parses like Java's Float/Double.parseFloat: NaN,
// [-+]Infinity, and overflow to infinity rather than an error.
func parseJavaFloat(text string, single bool) (float64, error) {
	switch text {
	case "NaN", "+NaN", "-NaN":
		return math.NaN(), nil
	case "Infinity", "+Infinity":
		return math.Inf(1), nil
	case "-Infinity":
		return math.Inf(-1), nil
	}
	if strings.ContainsAny(text, "xXpP_") || strings.EqualFold(strings.TrimLeft(text, "+-"), "inf") || strings.EqualFold(strings.TrimLeft(text, "+-"), "infinity") || strings.EqualFold(strings.TrimLeft(text, "+-"), "nan") {
		return 0, errors.New("invalid float")
	}
	bits := 64
	if single {
		bits = 32
	}
	f, err := strconv.ParseFloat(text, bits)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && ne.Err == strconv.ErrRange {
			return f, nil // ±Inf or 0, as Java gives
		}
		return 0, err
	}
	return f, nil
}

// ParseDecimal parses a decimal literal ("1", "-1.50", "1.5e-3", "2E+10")
// keeping its scale as Java's BigDecimal(String) does.
func ParseDecimal(text string) ([]byte, error) {
	s := text
	var exp int64
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e, err := strconv.ParseInt(strings.TrimPrefix(s[i+1:], "+"), 10, 32)
		if err != nil {
			return nil, fmt.Errorf("invalid decimal exponent in %q", text)
		}
		exp = e
		s = s[:i]
	}
	neg := false
	switch {
	case strings.HasPrefix(s, "-"):
		neg, s = true, s[1:]
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	}
	intPart, frac, _ := strings.Cut(s, ".")
	digits := intPart + frac
	if digits == "" || strings.Trim(digits, "0123456789") != "" {
		return nil, fmt.Errorf("invalid decimal %q", text)
	}
	scale := int64(len(frac)) - exp
	if scale != int64(int32(scale)) {
		return nil, fmt.Errorf("decimal scale out of range in %q", text)
	}
	u, _ := new(big.Int).SetString(digits, 10)
	if neg {
		u.Neg(u)
	}
	return DecimalValue(u, int32(scale)), nil
}

// ParseHex parses a blob literal "0x..." (an odd number of digits is an
// error, as in Cassandra).
func ParseHex(text string) ([]byte, error) {
	if len(text) < 2 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X') {
		return nil, fmt.Errorf("cannot parse '%s' as hex bytes", text)
	}
	b, err := hex.DecodeString(text[2:])
	if err != nil {
		return nil, fmt.Errorf("cannot parse '%s' as hex bytes", text)
	}
	return b, nil
}

// ParseUUID parses the canonical 8-4-4-4-12 hexadecimal form.
func ParseUUID(text string) ([]byte, error) {
	bad := fmt.Errorf("Unable to make UUID from '%s'", text)
	if len(text) != 36 || text[8] != '-' || text[13] != '-' || text[18] != '-' || text[23] != '-' {
		return nil, bad
	}
	h := text[0:8] + text[9:13] + text[14:18] + text[19:23] + text[24:]
	b, err := hex.DecodeString(h)
	if err != nil {
		return nil, bad
	}
	return b, nil
}

// ParseInet parses an IPv4 or IPv6 address literal (no host names).
func ParseInet(text string) ([]byte, error) {
	a, err := netip.ParseAddr(strings.TrimSpace(text))
	if err != nil || a.Zone() != "" {
		return nil, fmt.Errorf("Unable to make inet address from '%s'", text)
	}
	if a.Is4() {
		b := a.As4()
		return b[:], nil
	}
	if a.Is4In6() {
		// Java's InetAddress.getByName turns ::ffff:a.b.c.d into IPv4.
		b := a.Unmap().As4()
		return b[:], nil
	}
	b := a.As16()
	return b[:], nil
}

// isInteger reports whether s is an optionally signed run of digits.
func isInteger(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ParseTimestamp parses a timestamp literal: milliseconds since the epoch,
// or "yyyy-mm-dd[( |T)hh:mm[:ss[.fff]]][zone]" where zone is Z, +hh, +hhmm,
// +hh:mm (optionally after a space), UTC or GMT. Without a zone the time is
// taken as UTC (Cassandra uses the server's zone; ringdb servers run in UTC).
// Fractional seconds beyond milliseconds are truncated.
func ParseTimestamp(text string) ([]byte, error) {
	bad := fmt.Errorf("Unable to parse a date/time from '%s'", text)
	if isInteger(text) {
		ms, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return nil, bad
		}
		return BigintValue(ms), nil
	}
	s := strings.TrimSpace(text)
	if len(s) < 10 {
		return nil, bad
	}
	y, ok1 := atoiN(s[0:4])
	mo, ok2 := atoiN(s[5:7])
	d, ok3 := atoiN(s[8:10])
	if !ok1 || !ok2 || !ok3 || s[4] != '-' || s[7] != '-' {
		return nil, bad
	}
	s = s[10:]
	var h, mi, sec, nanos int
	if len(s) >= 6 && (s[0] == ' ' || s[0] == 'T') && s[3] == ':' {
		var ok4, ok5 bool
		h, ok4 = atoiN(s[1:3])
		mi, ok5 = atoiN(s[4:6])
		if !ok4 || !ok5 {
			return nil, bad
		}
		s = s[6:]
		if len(s) >= 3 && s[0] == ':' {
			var ok bool
			if sec, ok = atoiN(s[1:3]); !ok {
				return nil, bad
			}
			s = s[3:]
			if len(s) >= 2 && s[0] == '.' {
				j := 1
				for j < len(s) && s[j] >= '0' && s[j] <= '9' {
					j++
				}
				frac := s[1:j]
				if frac == "" || len(frac) > 9 {
					return nil, bad
				}
				nanos, _ = strconv.Atoi(frac + strings.Repeat("0", 9-len(frac)))
				s = s[j:]
			}
		}
	}
	loc, ok := parseZone(s)
	if !ok {
		return nil, bad
	}
	if mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) || h > 23 || mi > 59 || sec > 59 {
		return nil, bad
	}
	tm := time.Date(y, time.Month(mo), d, h, mi, sec, nanos, loc)
	return BigintValue(tm.UnixMilli()), nil
}

func daysIn(y, m int) int {
	return time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// atoiN parses a fixed-width run of digits.
func atoiN(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, len(s) > 0
}

// parseZone parses a timestamp's zone suffix ("" = UTC).
func parseZone(s string) (*time.Location, bool) {
	s = strings.TrimPrefix(s, " ")
	switch strings.ToUpper(s) {
	case "", "Z", "UTC", "GMT", "'Z'":
		return time.UTC, true
	}
	if s[0] != '+' && s[0] != '-' {
		return nil, false
	}
	body := strings.ReplaceAll(s[1:], ":", "")
	var h, m int
	var ok bool
	switch len(body) {
	case 2:
		h, ok = atoiN(body)
	case 4:
		var ok2 bool
		h, ok = atoiN(body[:2])
		m, ok2 = atoiN(body[2:])
		ok = ok && ok2
	}
	if !ok || h > 18 || m > 59 {
		return nil, false
	}
	off := h*3600 + m*60
	if s[0] == '-' {
		off = -off
	}
	return time.FixedZone("", off), true
}

// ParseDate parses a date literal: "yyyy-mm-dd", or an integer giving the
// raw serialized value (days with the epoch at 2^31, 0 <= n < 2^32).
func ParseDate(text string) ([]byte, error) {
	if isInteger(text) {
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil || n < 0 || n > math.MaxUint32 {
			return nil, fmt.Errorf("Unable to make unsigned int (for date) from: '%s'", text)
		}
		return DateFromDays(n - dateEpoch), nil
	}
	s := text
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	parts := strings.Split(s, "-")
	if len(parts) != 3 || len(parts[1]) != 2 || len(parts[2]) != 2 || len(parts[0]) < 1 {
		return nil, fmt.Errorf("Unable to coerce '%s' to a formatted date (long)", text)
	}
	y, ok1 := atoiN(parts[0])
	m, ok2 := atoiN(parts[1])
	d, ok3 := atoiN(parts[2])
	if neg {
		y = -y
	}
	if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return nil, fmt.Errorf("Unable to coerce '%s' to a formatted date (long)", text)
	}
	days := floorDiv(time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC).Unix(), 86400)
	if days+dateEpoch < 0 || days+dateEpoch > math.MaxUint32 {
		return nil, fmt.Errorf("Input date %s is out of range", text)
	}
	return DateFromDays(days), nil
}

// ParseTime parses a time literal: "hh:mm:ss[.fffffffff]", or an integer
// number of nanoseconds since midnight.
func ParseTime(text string) ([]byte, error) {
	if isInteger(text) {
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil || n < 0 || n >= nanosPerDay {
			return nil, fmt.Errorf("Input long out of bounds: %s", text)
		}
		return TimeValue(n), nil
	}
	bad := fmt.Errorf("Unable to coerce '%s' to a formatted time (long)", text)
	s := strings.TrimSpace(text)
	hms, frac, hasFrac := strings.Cut(s, ".")
	parts := strings.Split(hms, ":")
	if len(parts) != 3 {
		return nil, bad
	}
	var f [3]int
	for i, p := range parts {
		v, ok := atoiN(p)
		if !ok || len(p) > 2 {
			return nil, bad
		}
		f[i] = v
	}
	if f[0] > 23 || f[1] > 59 || f[2] > 59 {
		return nil, bad
	}
	ns := 0
	if hasFrac {
		if len(frac) == 0 || len(frac) > 9 {
			return nil, bad
		}
		v, ok := atoiN(frac)
		if !ok {
			return nil, bad
		}
		ns = v * int(math.Pow10(9-len(frac)))
	}
	return TimeValue(int64(f[0])*3600e9 + int64(f[1])*60e9 + int64(f[2])*1e9 + int64(ns)), nil
}

// ParseDuration parses a duration literal in any of Cassandra's three forms:
// units ("1y2mo3w4d5h6m7s8ms9us10ns", µs accepted, case-insensitive, with an
// optional leading '-'), ISO 8601 ("P1Y2M3DT4H5M6S", "P2W") and the ISO
// alternative format ("P0001-02-03T04:05:06").
func ParseDuration(text string) ([]byte, error) {
	s := text
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var months, days, nanos int64
	var err error
	switch {
	case strings.HasPrefix(s, "P") || strings.HasPrefix(s, "p"):
		months, days, nanos, err = parseISODuration(s[1:])
	default:
		months, days, nanos, err = parseUnitDuration(s)
	}
	if err != nil {
		return nil, fmt.Errorf("Unable to convert '%s' to a duration", text)
	}
	if months > math.MaxInt32 || days > math.MaxInt32 {
		return nil, fmt.Errorf("Invalid duration. The total number of months or days must be less than %d", math.MaxInt32)
	}
	if neg {
		months, days, nanos = -months, -days, -nanos
	}
	return DurationValue(int32(months), int32(days), nanos), nil
}

var errDuration = errors.New("invalid duration")

// addDuration accumulates n units into months, days or nanos, checking for
// overflow.
func addDuration(months, days, nanos *int64, n int64, unit string) error {
	mul := func(dst *int64, per int64) error {
		if n > math.MaxInt64/per || *dst > math.MaxInt64-n*per {
			return errDuration
		}
		*dst += n * per
		return nil
	}
	switch unit {
	case "y":
		return mul(months, 12)
	case "mo":
		return mul(months, 1)
	case "w":
		return mul(days, 7)
	case "d":
		return mul(days, 1)
	case "h":
		return mul(nanos, 3600e9)
	case "m":
		return mul(nanos, 60e9)
	case "s":
		return mul(nanos, 1e9)
	case "ms":
		return mul(nanos, 1e6)
	case "us", "µs":
		return mul(nanos, 1e3)
	case "ns":
		return mul(nanos, 1)
	}
	return errDuration
}

func parseUnitDuration(s string) (months, days, nanos int64, err error) {
	if s == "" {
		return 0, 0, 0, errDuration
	}
	order := []string{"y", "mo", "w", "d", "h", "m", "s", "ms", "us", "ns"}
	last := -1
	lower := strings.ToLower(s)
	for lower != "" {
		i := 0
		for i < len(lower) && lower[i] >= '0' && lower[i] <= '9' {
			i++
		}
		if i == 0 {
			return 0, 0, 0, errDuration
		}
		n, perr := strconv.ParseInt(lower[:i], 10, 64)
		if perr != nil {
			return 0, 0, 0, errDuration
		}
		lower = lower[i:]
		j := 0
		for j < len(lower) && (lower[j] < '0' || lower[j] > '9') {
			j++
		}
		unit := lower[:j]
		lower = lower[j:]
		if unit == "µs" {
			unit = "us"
		}
		pos := -1
		for k, u := range order {
			if u == unit {
				pos = k
			}
		}
		if pos <= last {
			return 0, 0, 0, errDuration // unknown, repeated or out of order
		}
		last = pos
		if err := addDuration(&months, &days, &nanos, n, unit); err != nil {
			return 0, 0, 0, err
		}
	}
	return months, days, nanos, nil
}

func parseISODuration(s string) (months, days, nanos int64, err error) {
	if s == "" {
		return 0, 0, 0, errDuration
	}
	// Alternative format: YYYY-MM-DDThh:mm:ss.
	if len(s) == 19 && s[4] == '-' && s[7] == '-' && (s[10] == 'T' || s[10] == 't') && s[13] == ':' && s[16] == ':' {
		vals := []string{s[0:4], s[5:7], s[8:10], s[11:13], s[14:16], s[17:19]}
		units := []string{"y", "mo", "d", "h", "m", "s"}
		for i, v := range vals {
			n, ok := atoiN(v)
			if !ok {
				return 0, 0, 0, errDuration
			}
			if err := addDuration(&months, &days, &nanos, int64(n), units[i]); err != nil {
				return 0, 0, 0, err
			}
		}
		return months, days, nanos, nil
	}
	up := strings.ToUpper(s)
	// Week format: PnW.
	if strings.HasSuffix(up, "W") {
		n, perr := strconv.ParseInt(up[:len(up)-1], 10, 64)
		if perr != nil || n < 0 {
			return 0, 0, 0, errDuration
		}
		err := addDuration(&months, &days, &nanos, n, "w")
		return months, days, nanos, err
	}
	datePart, timePart, hasTime := strings.Cut(up, "T")
	if hasTime && timePart == "" {
		return 0, 0, 0, errDuration
	}
	parse := func(part string, units map[byte]string, order string) error {
		last := -1
		for part != "" {
			i := 0
			for i < len(part) && part[i] >= '0' && part[i] <= '9' {
				i++
			}
			if i == 0 || i == len(part) {
				return errDuration
			}
			n, perr := strconv.ParseInt(part[:i], 10, 64)
			if perr != nil {
				return errDuration
			}
			u := part[i]
			pos := strings.IndexByte(order, u)
			if pos <= last {
				return errDuration
			}
			last = pos
			if err := addDuration(&months, &days, &nanos, n, units[u]); err != nil {
				return err
			}
			part = part[i+1:]
		}
		return nil
	}
	if datePart == "" && !hasTime {
		return 0, 0, 0, errDuration
	}
	if err := parse(datePart, map[byte]string{'Y': "y", 'M': "mo", 'D': "d"}, "YMD"); err != nil {
		return 0, 0, 0, err
	}
	if err := parse(timePart, map[byte]string{'H': "h", 'M': "m", 'S': "s"}, "HMS"); err != nil {
		return 0, 0, 0, err
	}
	return months, days, nanos, nil
}
