package types

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
)

// Key encoding. Every encoded value starts with a tag byte:
//
//	0x00        null
//	0x01        the empty value
//	0x02..0x04  a value of the type (layout per kind, below)
//	0x7f        a malformed value (wrong length for its type, broken
//	            collection): its bytes escaped, so it still round-trips
//
// Variable-length byte strings are escaped: 0x00 becomes 0x00 0xff and the
// string ends with 0x00 0x01, which keeps bytewise order and makes the
// encoding self-delimiting. Collections, tuples and UDTs write 0x01 before
// each element and 0x00 at the end, so a shorter prefix sorts first. A
// descending encoding is the ascending one with every byte inverted.
const (
	keyNull    = 0x00
	keyEmpty   = 0x01
	keyValue   = 0x02
	keyMalform = 0x7f

	keyMore = 0x01 // another element follows
	keyEnd  = 0x00 // end of elements
)

// maxKeyDecimalZeros bounds the trailing zeros DecodeKey re-creates for a
// decimal, so malformed input cannot ask for a gigantic power of ten.
// AppendKey encodes decimals needing more (absurd in a key) as malformed.
const maxKeyDecimalZeros = 1 << 16

// maxKeyDepth bounds the nesting DecodeKey follows.
const maxKeyDepth = 64

// AppendKey appends an order-preserving, prefix-free encoding of the value v
// of type t (nil = null, which sorts first; then the empty value) to dst.
// For validated values bytes.Compare of two encodings has the sign of
// Compare (reversed when desc), and encodings are equal exactly when the
// values are byte-equal (see Compare for the tie-breakers between values
// Cassandra considers equal, such as decimal 1.0 and 1.00). No encoding is a
// proper prefix of another, so encodings can be concatenated (clustering
// prefixes, collection element paths) and split again with DecodeKey.
// Malformed values are encoded too (after all valid ones of the same tag
// position) and round-trip; AppendKey never panics.
func AppendKey(dst []byte, t *Type, v []byte, desc bool) []byte {
	start := len(dst)
	dst = appendKey(dst, t, v)
	if desc {
		for i := start; i < len(dst); i++ {
			dst[i] = ^dst[i]
		}
	}
	return dst
}

func appendKey(dst []byte, t *Type, v []byte) []byte {
	if v == nil {
		return append(dst, keyNull)
	}
	if len(v) == 0 {
		return append(dst, keyEmpty)
	}
	n := len(v)
	switch t.Kind {
	case Ascii, Varchar, Blob, Inet, Duration, Custom, Boolean:
		return appendEscaped(append(dst, keyValue), v)
	case Date:
		if n == 4 {
			return append(append(dst, keyValue), v...)
		}
	case Int, Bigint, Counter, Smallint, Tinyint, Timestamp, Time:
		if n == 1 || n == 2 || n == 4 || n == 8 {
			if want := fixedWidth(t.Kind); n == want {
				dst = append(dst, keyValue, v[0]^0x80)
				return append(dst, v[1:]...)
			}
		}
	case Float:
		if n == 4 {
			bits := binary.BigEndian.Uint32(v)
			if f := math.Float32frombits(bits); f != f {
				return binary.BigEndian.AppendUint32(append(dst, keyValue+1), bits)
			}
			if bits&(1<<31) != 0 {
				bits = ^bits
			} else {
				bits |= 1 << 31
			}
			return binary.BigEndian.AppendUint32(append(dst, keyValue), bits)
		}
	case Double:
		if n == 8 {
			bits := binary.BigEndian.Uint64(v)
			if f := math.Float64frombits(bits); f != f {
				return binary.BigEndian.AppendUint64(append(dst, keyValue+1), bits)
			}
			if bits&(1<<63) != 0 {
				bits = ^bits
			} else {
				bits |= 1 << 63
			}
			return binary.BigEndian.AppendUint64(append(dst, keyValue), bits)
		}
	case UUID:
		if n == 16 {
			msb, lsb := binary.BigEndian.Uint64(v), binary.BigEndian.Uint64(v[8:])
			version := byte(msb>>12) & 0xf
			dst = append(dst, keyValue, version)
			if version == 1 {
				msb = reorderTimestamp(msb)
			}
			dst = binary.BigEndian.AppendUint64(dst, msb)
			return binary.BigEndian.AppendUint64(dst, lsb)
		}
	case Timeuuid:
		if n == 16 {
			msb, lsb := binary.BigEndian.Uint64(v), binary.BigEndian.Uint64(v[8:])
			dst = binary.BigEndian.AppendUint64(append(dst, keyValue), reorderTimestamp(msb))
			return binary.BigEndian.AppendUint64(dst, lsb^0x8080808080808080)
		}
	case Varint:
		return appendVarintKey(dst, v)
	case Decimal:
		if n >= 5 {
			if out, ok := appendDecimalKey(dst, v); ok {
				return out
			}
		}
	case List, Set, Map:
		if out, ok := appendCollectionKey(dst, t, v); ok {
			return out
		}
	case Tuple, UDT:
		if out, ok := appendTupleKey(dst, t, v); ok {
			return out
		}
	}
	return appendEscaped(append(dst, keyMalform), v)
}

// fixedWidth is the serialized size of the fixed-width integer kinds.
func fixedWidth(k Kind) int {
	switch k {
	case Tinyint:
		return 1
	case Smallint:
		return 2
	case Int:
		return 4
	}
	return 8
}

func appendEscaped(dst, v []byte) []byte {
	for _, c := range v {
		if c == 0 {
			dst = append(dst, 0x00, 0xff)
		} else {
			dst = append(dst, c)
		}
	}
	return append(dst, 0x00, 0x01)
}

// appendVarintKey: 0x02 for negative values, 0x03 for zero and positive
// ones, then the length of the minimal two's-complement form (inverted for
// negatives: longer is more negative) and that form, then the number of
// redundant sign bytes the input carried (tie-breaker).
func appendVarintKey(dst, v []byte) []byte {
	m := trimVarint(v)
	extra := uint32(len(v) - len(m))
	if m[0]&0x80 != 0 {
		dst = binary.BigEndian.AppendUint32(append(dst, keyValue), ^uint32(len(m)))
	} else {
		dst = binary.BigEndian.AppendUint32(append(dst, keyValue+1), uint32(len(m)))
	}
	dst = append(dst, m...)
	return binary.BigEndian.AppendUint32(dst, extra)
}

// appendDecimalKey: 0x02 negative, 0x03 zero, 0x04 positive; for non-zero
// values the exponent of the normalized form 0.ddd x 10^exp (8 bytes, sign
// bit flipped) and the digits in pairs (pair+1, so 1..100) ended by 0x00, all
// inverted for negatives; then the scale (4 bytes, sign bit flipped) and the
// count of redundant sign bytes of the unscaled value, as tie-breakers.
func appendDecimalKey(dst, v []byte) ([]byte, bool) {
	p := splitDecimal(v)
	if p.sign != 0 {
		zeros := p.exp - int64(len(p.digits)) + int64(int32(binary.BigEndian.Uint32(v)))
		if zeros > maxKeyDecimalZeros {
			return dst, false
		}
	}
	switch p.sign {
	case 0:
		dst = append(dst, keyValue+1)
	default:
		var inv byte
		tag := byte(keyValue + 2)
		if p.sign < 0 {
			inv, tag = 0xff, keyValue
		}
		var e [8]byte
		binary.BigEndian.PutUint64(e[:], uint64(p.exp)^(1<<63))
		dst = append(dst, tag)
		for _, c := range e {
			dst = append(dst, c^inv)
		}
		for i := 0; i < len(p.digits); i += 2 {
			d := (p.digits[i] - '0') * 10
			if i+1 < len(p.digits) {
				d += p.digits[i+1] - '0'
			}
			dst = append(dst, (d+1)^inv)
		}
		dst = append(dst, inv)
	}
	dst = binary.BigEndian.AppendUint32(dst, binary.BigEndian.Uint32(v)^(1<<31))
	return binary.BigEndian.AppendUint32(dst, uint32(len(v)-4-len(trimVarint(v[4:])))), true
}

func appendCollectionKey(dst []byte, t *Type, v []byte) ([]byte, bool) {
	elems, err := decodeCollection(v, t.Kind == Map)
	if err != nil {
		return dst, false
	}
	dst = append(dst, keyValue)
	for i, e := range elems {
		if t.Kind == Map && i%2 == 1 {
			dst = appendKey(dst, t.Elems[1], e)
			continue
		}
		dst = appendKey(append(dst, keyMore), t.Elems[0], e)
	}
	return append(dst, keyEnd), true
}

func appendTupleKey(dst []byte, t *Type, v []byte) ([]byte, bool) {
	fields, err := DecodeFields(v)
	if err != nil || len(fields) > len(t.Elems) {
		return dst, false
	}
	dst = append(dst, keyValue)
	for i, f := range fields {
		dst = appendKey(append(dst, keyMore), t.Elems[i], f)
	}
	return append(dst, keyEnd), true
}

// keyReader reads an encoding, un-inverting descending keys on the fly.
type keyReader struct {
	src []byte
	inv byte
}

var errKeyTruncated = errors.New("key encoding truncated")

func (r *keyReader) byte() (byte, error) {
	if len(r.src) == 0 {
		return 0, errKeyTruncated
	}
	c := r.src[0] ^ r.inv
	r.src = r.src[1:]
	return c, nil
}

// bytes appends the next n bytes, un-inverted, to dst.
func (r *keyReader) bytes(dst []byte, n int) ([]byte, error) {
	if n < 0 || len(r.src) < n {
		return nil, errKeyTruncated
	}
	for _, c := range r.src[:n] {
		dst = append(dst, c^r.inv)
	}
	r.src = r.src[n:]
	return dst, nil
}

func (r *keyReader) uint32() (uint32, error) {
	var b [4]byte
	if _, err := r.bytes(b[:0], 4); err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint32(b[:]), nil
}

func (r *keyReader) escaped(dst []byte) ([]byte, error) {
	for {
		c, err := r.byte()
		if err != nil {
			return nil, err
		}
		if c != 0 {
			dst = append(dst, c)
			continue
		}
		c, err = r.byte()
		if err != nil {
			return nil, err
		}
		switch c {
		case 0xff:
			dst = append(dst, 0)
		case 0x01:
			return dst, nil
		default:
			return nil, fmt.Errorf("invalid escape 0x00 0x%02x in key", c)
		}
	}
}

// DecodeKey decodes one value encoded by AppendKey with the same t and desc
// from the front of src, returning the value (nil for null, non-nil empty
// for the empty value; never aliasing src) and the remaining bytes. It never
// panics on malformed input.
func DecodeKey(t *Type, src []byte, desc bool) (v []byte, rest []byte, err error) {
	r := keyReader{src: src}
	if desc {
		r.inv = 0xff
	}
	v, err = decodeKey(&r, t, 0)
	if err != nil {
		return nil, nil, err
	}
	return v, r.src, nil
}

func decodeKey(r *keyReader, t *Type, depth int) ([]byte, error) {
	if depth > maxKeyDepth {
		return nil, errors.New("key nested too deeply")
	}
	tag, err := r.byte()
	if err != nil {
		return nil, err
	}
	switch tag {
	case keyNull:
		return nil, nil
	case keyEmpty:
		return []byte{}, nil
	case keyMalform:
		return r.escaped([]byte{})
	}
	bad := func() ([]byte, error) {
		return nil, fmt.Errorf("invalid key tag 0x%02x for %s", tag, t.Kind)
	}
	switch t.Kind {
	case Ascii, Varchar, Blob, Inet, Duration, Custom, Boolean:
		if tag != keyValue {
			return bad()
		}
		return r.escaped([]byte{})
	case Date:
		if tag != keyValue {
			return bad()
		}
		return r.bytes(nil, 4)
	case Int, Bigint, Counter, Smallint, Tinyint, Timestamp, Time:
		if tag != keyValue {
			return bad()
		}
		v, err := r.bytes(nil, fixedWidth(t.Kind))
		if err != nil {
			return nil, err
		}
		v[0] ^= 0x80
		return v, nil
	case Float:
		v, err := r.bytes(nil, 4)
		if err != nil {
			return nil, err
		}
		bits := binary.BigEndian.Uint32(v)
		switch tag {
		case keyValue:
			if bits&(1<<31) != 0 {
				bits &^= 1 << 31
			} else {
				bits = ^bits
			}
		case keyValue + 1:
		default:
			return bad()
		}
		binary.BigEndian.PutUint32(v, bits)
		return v, nil
	case Double:
		v, err := r.bytes(nil, 8)
		if err != nil {
			return nil, err
		}
		bits := binary.BigEndian.Uint64(v)
		switch tag {
		case keyValue:
			if bits&(1<<63) != 0 {
				bits &^= 1 << 63
			} else {
				bits = ^bits
			}
		case keyValue + 1:
		default:
			return bad()
		}
		binary.BigEndian.PutUint64(v, bits)
		return v, nil
	case UUID:
		if tag != keyValue {
			return bad()
		}
		b, err := r.bytes(nil, 17)
		if err != nil {
			return nil, err
		}
		msb := binary.BigEndian.Uint64(b[1:])
		if b[0] == 1 {
			msb = unreorderTimestamp(msb)
		}
		if byte(msb>>12)&0xf != b[0] {
			return nil, errors.New("uuid key version mismatch")
		}
		binary.BigEndian.PutUint64(b[1:], msb)
		return b[1:], nil
	case Timeuuid:
		if tag != keyValue {
			return bad()
		}
		v, err := r.bytes(nil, 16)
		if err != nil {
			return nil, err
		}
		binary.BigEndian.PutUint64(v, unreorderTimestamp(binary.BigEndian.Uint64(v)))
		binary.BigEndian.PutUint64(v[8:], binary.BigEndian.Uint64(v[8:])^0x8080808080808080)
		return v, nil
	case Varint:
		return decodeVarintKey(r, tag)
	case Decimal:
		return decodeDecimalKey(r, tag)
	case List, Set, Map:
		if tag != keyValue {
			return bad()
		}
		var elems [][]byte
		for {
			c, err := r.byte()
			if err != nil {
				return nil, err
			}
			if c == keyEnd {
				break
			}
			if c != keyMore {
				return nil, fmt.Errorf("invalid collection element marker 0x%02x", c)
			}
			e, err := decodeKey(r, t.Elems[0], depth+1)
			if err != nil {
				return nil, err
			}
			elems = append(elems, e)
			if t.Kind == Map {
				e, err := decodeKey(r, t.Elems[1], depth+1)
				if err != nil {
					return nil, err
				}
				elems = append(elems, e)
			}
		}
		n := len(elems)
		if t.Kind == Map {
			n /= 2
		}
		out := binary.BigEndian.AppendUint32(nil, uint32(n))
		return appendFields(out, elems), nil
	case Tuple, UDT:
		if tag != keyValue {
			return bad()
		}
		out := []byte{}
		for i := 0; ; i++ {
			c, err := r.byte()
			if err != nil {
				return nil, err
			}
			if c == keyEnd {
				return out, nil
			}
			if c != keyMore || i >= len(t.Elems) {
				return nil, fmt.Errorf("invalid tuple field marker 0x%02x", c)
			}
			f, err := decodeKey(r, t.Elems[i], depth+1)
			if err != nil {
				return nil, err
			}
			out = appendBytes(out, f)
		}
	}
	return bad()
}

func decodeVarintKey(r *keyReader, tag byte) ([]byte, error) {
	if tag != keyValue && tag != keyValue+1 {
		return nil, fmt.Errorf("invalid varint key tag 0x%02x", tag)
	}
	n, err := r.uint32()
	if err != nil {
		return nil, err
	}
	neg := tag == keyValue
	if neg {
		n = ^n
	}
	if n == 0 || int(n) > len(r.src) {
		return nil, errKeyTruncated
	}
	m, err := r.bytes(nil, int(n))
	if err != nil {
		return nil, err
	}
	if (m[0]&0x80 != 0) != neg || len(trimVarint(m)) != len(m) {
		return nil, errors.New("non-canonical varint key")
	}
	extra, err := r.uint32()
	if err != nil {
		return nil, err
	}
	if extra > 1<<20 {
		return nil, errors.New("varint key padding too large")
	}
	pad := byte(0)
	if neg {
		pad = 0xff
	}
	out := make([]byte, 0, int(extra)+len(m))
	for i := uint32(0); i < extra; i++ {
		out = append(out, pad)
	}
	return append(out, m...), nil
}

func decodeDecimalKey(r *keyReader, tag byte) ([]byte, error) {
	var digits []byte
	var exp int64
	sign := 0
	switch tag {
	case keyValue + 1:
	case keyValue, keyValue + 2:
		sign = 1
		var inv byte
		if tag == keyValue {
			sign, inv = -1, 0xff
		}
		e, err := r.bytes(nil, 8)
		if err != nil {
			return nil, err
		}
		for i := range e {
			e[i] ^= inv
		}
		exp = int64(binary.BigEndian.Uint64(e) ^ (1 << 63))
		for {
			c, err := r.byte()
			if err != nil {
				return nil, err
			}
			c ^= inv
			if c == 0 {
				break
			}
			if c > 100 {
				return nil, errors.New("invalid decimal key digit pair")
			}
			c--
			digits = append(digits, '0'+c/10, '0'+c%10)
		}
		if len(digits) > 0 && digits[len(digits)-1] == '0' {
			digits = digits[:len(digits)-1]
		}
		if len(digits) == 0 || digits[0] == '0' || digits[len(digits)-1] == '0' {
			return nil, errors.New("non-canonical decimal key digits")
		}
	default:
		return nil, fmt.Errorf("invalid decimal key tag 0x%02x", tag)
	}
	s, err := r.uint32()
	if err != nil {
		return nil, err
	}
	scale := int32(s ^ (1 << 31))
	extra, err := r.uint32()
	if err != nil {
		return nil, err
	}
	if extra > 1<<20 {
		return nil, errors.New("decimal key padding too large")
	}
	u := new(big.Int)
	if sign != 0 {
		zeros := exp - int64(len(digits)) + int64(scale)
		if zeros < 0 || zeros > maxKeyDecimalZeros {
			return nil, errors.New("decimal key exponent out of range")
		}
		u.SetString(string(digits), 10)
		if zeros > 0 {
			u.Mul(u, new(big.Int).Exp(big.NewInt(10), big.NewInt(zeros), nil))
		}
		if sign < 0 {
			u.Neg(u)
		}
	}
	out := binary.BigEndian.AppendUint32(nil, uint32(scale))
	pad := byte(0)
	if sign < 0 {
		pad = 0xff
	}
	for i := uint32(0); i < extra; i++ {
		out = append(out, pad)
	}
	return appendBigInt(out, u), nil
}
