package types

import (
	"encoding/binary"
	"fmt"
	"unicode/utf8"
)

// Validate reports whether v is a well-formed serialization of type t. A nil
// v (null) is valid at top level; null elements are rejected inside lists,
// sets and maps and allowed as tuple and UDT fields.
//
// As in Cassandra, the empty value is accepted for the types that have
// always allowed it (all but date, time, smallint, tinyint and duration);
// sets and maps need not be sorted (see Normalize). Messages follow
// Cassandra's MarshalException wording where it has one.
func Validate(t *Type, v []byte) error {
	if v == nil {
		return nil
	}
	return validate(t, v)
}

func validate(t *Type, v []byte) error {
	n := len(v)
	switch t.Kind {
	case Custom, Blob:
		return nil
	case Ascii:
		for i, c := range v {
			if c > 0x7f {
				return fmt.Errorf("Invalid byte for ascii: %d at position %d", c, i)
			}
		}
		return nil
	case Varchar:
		if !utf8.Valid(v) {
			return fmt.Errorf("String didn't validate.")
		}
		return nil
	case Bigint, Counter, Timestamp:
		if n != 8 && n != 0 {
			return fmt.Errorf("Expected 8 or 0 byte long (%d)", n)
		}
	case Int:
		if n != 4 && n != 0 {
			return fmt.Errorf("Expected 4 or 0 byte int (%d)", n)
		}
	case Float:
		if n != 4 && n != 0 {
			return fmt.Errorf("Expected 4 or 0 byte value for a float (%d)", n)
		}
	case Double:
		if n != 8 && n != 0 {
			return fmt.Errorf("Expected 8 or 0 byte value for a double (%d)", n)
		}
	case Boolean:
		if n != 1 && n != 0 {
			return fmt.Errorf("Expected 1 or 0 byte value (%d)", n)
		}
	case Smallint:
		if n != 2 {
			return fmt.Errorf("Expected 2 bytes for a smallint (%d)", n)
		}
	case Tinyint:
		if n != 1 {
			return fmt.Errorf("Expected 1 byte for a tinyint (%d)", n)
		}
	case Date:
		if n != 4 {
			return fmt.Errorf("Expected 4 byte long for date (%d)", n)
		}
	case Time:
		if n != 8 {
			return fmt.Errorf("Expected 8 byte long for time (%d)", n)
		}
		ns := int64(binary.BigEndian.Uint64(v))
		if ns < 0 || ns >= nanosPerDay {
			return fmt.Errorf("Time value %d out of range [0, %d)", ns, nanosPerDay)
		}
	case UUID:
		if n != 16 && n != 0 {
			return fmt.Errorf("UUID should be 16 or 0 bytes (%d)", n)
		}
	case Timeuuid:
		if n != 16 && n != 0 {
			return fmt.Errorf("UUID should be 16 or 0 bytes (%d)", n)
		}
		if n == 16 && v[6]&0xf0 != 0x10 {
			return fmt.Errorf("Invalid version for TimeUUID type.")
		}
	case Inet:
		if n != 4 && n != 16 && n != 0 {
			return fmt.Errorf("Invalid inet address: expected 4 or 16 bytes, got %d", n)
		}
	case Varint:
		return nil
	case Decimal:
		if n != 0 && n < 5 {
			return fmt.Errorf("Expected at least 5 bytes for a decimal (%d)", n)
		}
	case Duration:
		m, d, ns, err := DecodeDuration(v)
		if err != nil {
			return fmt.Errorf("Invalid duration: %v", err)
		}
		if (m < 0 || d < 0 || ns < 0) && (m > 0 || d > 0 || ns > 0) {
			return fmt.Errorf("The duration months, days and nanoseconds must be all of the same sign (%d, %d, %d)", m, d, ns)
		}
	case List, Set, Map:
		elems, err := decodeCollection(v, t.Kind == Map)
		if err != nil {
			return err
		}
		for i, e := range elems {
			et := t.Elems[0]
			if t.Kind == Map && i%2 == 1 {
				et = t.Elems[1]
			}
			if e == nil {
				return fmt.Errorf("null is not supported inside collections")
			}
			if err := validate(et, e); err != nil {
				return err
			}
		}
	case Tuple, UDT:
		for i := 0; len(v) > 0; i++ {
			if i >= len(t.Elems) {
				return fmt.Errorf("Invalid remaining data after end of %s value", t.Kind)
			}
			f, rest, err := readBytes(v)
			if err != nil {
				return fmt.Errorf("Not enough bytes to read field %d of %s: %v", i, t.Kind, err)
			}
			if f != nil {
				if err := validate(t.Elems[i], f); err != nil {
					return err
				}
			}
			v = rest
		}
	default:
		return fmt.Errorf("unknown type kind 0x%04x", uint16(t.Kind))
	}
	return nil
}

// nanosPerDay is the number of nanoseconds in a day: the bound of time values.
const nanosPerDay = 86400 * 1000000000
