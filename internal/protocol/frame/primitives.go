package frame

import (
	"encoding/binary"
	"fmt"
	"math"
	"net/netip"
	"sort"
)

// Value is a [value]: a bound value of a QUERY, EXECUTE or BATCH.
// Bytes == nil && !Unset is null (length -1); Unset is "not set" (length
// -2); otherwise Bytes holds the value, possibly empty but non-nil.
type Value struct {
	// Bytes is the serialized value; nil for null and unset.
	Bytes []byte
	// Unset marks a value the statement must leave untouched.
	Unset bool
}

// IsNull reports whether v is the null value.
func (v Value) IsNull() bool { return v.Bytes == nil && !v.Unset }

// empty is the non-nil zero-length slice decoded for an empty [bytes] or
// [value]; its zero capacity keeps appends from writing into it.
var empty = []byte{}

// Cursor decodes the protocol's primitive types from a byte slice. It never
// panics: the first failure (truncated input, negative length where none is
// allowed) is recorded, every later call returns a zero value, and Err
// reports it. Nothing is allocated that the remaining input could not hold:
// every count is checked against the bytes left, and []byte results alias
// the input.
type Cursor struct {
	b   []byte
	off int
	err error
}

// NewCursor returns a Cursor over b.
func NewCursor(b []byte) Cursor { return Cursor{b: b} }

// Err returns the first decoding error, wrapping ErrMalformed, or nil.
func (c *Cursor) Err() error { return c.err }

// Remaining returns the number of bytes not yet consumed.
func (c *Cursor) Remaining() int { return len(c.b) - c.off }

// Rest returns the bytes not yet consumed, and consumes them.
func (c *Cursor) Rest() []byte {
	r := c.b[c.off:]
	c.off = len(c.b)
	return r
}

// Offset returns the number of bytes consumed so far.
func (c *Cursor) Offset() int { return c.off }

// Failf records a decoding error (wrapping ErrMalformed) unless one is
// already recorded.
func (c *Cursor) Failf(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
	}
	c.off = len(c.b)
}

func (c *Cursor) take(n int, what string) []byte {
	if c.err != nil {
		return nil
	}
	if n < 0 || n > len(c.b)-c.off {
		c.Failf("not enough bytes to read %s: need %d, have %d", what, n, len(c.b)-c.off)
		return nil
	}
	s := c.b[c.off : c.off+n : c.off+n]
	c.off += n
	return s
}

// Byte reads a [byte].
func (c *Cursor) Byte() byte {
	if s := c.take(1, "[byte]"); s != nil {
		return s[0]
	}
	return 0
}

// Short reads a [short] (unsigned 16-bit).
func (c *Cursor) Short() uint16 {
	if s := c.take(2, "[short]"); s != nil {
		return binary.BigEndian.Uint16(s)
	}
	return 0
}

// Int reads an [int].
func (c *Cursor) Int() int32 {
	if s := c.take(4, "[int]"); s != nil {
		return int32(binary.BigEndian.Uint32(s))
	}
	return 0
}

// Long reads a [long].
func (c *Cursor) Long() int64 {
	if s := c.take(8, "[long]"); s != nil {
		return int64(binary.BigEndian.Uint64(s))
	}
	return 0
}

// Str reads a [string] (a [short] length then UTF-8 bytes). The bytes are
// copied into a new string.
func (c *Cursor) Str() string {
	n := c.Short()
	return string(c.take(int(n), "[string]"))
}

// LongStr reads a [long string] (an [int] length then UTF-8 bytes).
func (c *Cursor) LongStr() string {
	n := c.Int()
	if n < 0 {
		c.Failf("negative [long string] length %d", n)
		return ""
	}
	return string(c.take(int(n), "[long string]"))
}

// UUID reads a [uuid].
func (c *Cursor) UUID() (u [16]byte) {
	copy(u[:], c.take(16, "[uuid]"))
	return u
}

// StrList reads a [string list].
func (c *Cursor) StrList() []string {
	n := int(c.Short())
	if c.err != nil || !c.fits(n, 2, "[string list]") {
		return nil
	}
	l := make([]string, n)
	for i := range l {
		l[i] = c.Str()
	}
	if c.err != nil {
		return nil
	}
	return l
}

// fits checks that n elements of at least minSize bytes each can be in the
// remaining input, recording an error if not.
func (c *Cursor) fits(n, minSize int, what string) bool {
	if n < 0 || n > c.Remaining()/minSize {
		c.Failf("%s of %d elements cannot fit in %d bytes", what, n, c.Remaining())
		return false
	}
	return true
}

// Bytes reads a [bytes]; a negative length yields nil (null). The result
// aliases the input.
func (c *Cursor) Bytes() []byte {
	n := c.Int()
	if c.err != nil || n < 0 {
		return nil
	}
	if n == 0 {
		return empty
	}
	return c.take(int(n), "[bytes]")
}

// Value reads a [value]: -1 is null, -2 is unset, below -2 is an error.
func (c *Cursor) Value() Value {
	n := c.Int()
	switch {
	case c.err != nil:
		return Value{}
	case n == -1:
		return Value{}
	case n == -2:
		return Value{Unset: true}
	case n < -2:
		c.Failf("invalid [value] length %d", n)
		return Value{}
	case n == 0:
		return Value{Bytes: empty}
	}
	return Value{Bytes: c.take(int(n), "[value]")}
}

// ShortBytes reads a [short bytes]. The result aliases the input.
func (c *Cursor) ShortBytes() []byte {
	n := c.Short()
	if c.err != nil {
		return nil
	}
	if n == 0 {
		return empty
	}
	return c.take(int(n), "[short bytes]")
}

// Inet reads an [inet]: a [byte] address size (4 or 16), the address, and
// an [int] port.
func (c *Cursor) Inet() netip.AddrPort {
	n := c.Byte()
	if c.err != nil {
		return netip.AddrPort{}
	}
	if n != 4 && n != 16 {
		c.Failf("invalid [inet] address size %d", n)
		return netip.AddrPort{}
	}
	a, _ := netip.AddrFromSlice(c.take(int(n), "[inet]"))
	port := c.Int()
	if c.err != nil {
		return netip.AddrPort{}
	}
	if port < 0 || port > math.MaxUint16 {
		c.Failf("invalid [inet] port %d", port)
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(a, uint16(port))
}

// Consistency reads a [consistency]. Values outside the spec are returned
// as read; callers check Valid.
func (c *Cursor) Consistency() Consistency { return Consistency(c.Short()) }

// StrMap reads a [string map]. Duplicate keys keep the last value.
func (c *Cursor) StrMap() map[string]string {
	n := int(c.Short())
	if c.err != nil || !c.fits(n, 4, "[string map]") {
		return nil
	}
	m := make(map[string]string, n)
	for range n {
		k := c.Str()
		m[k] = c.Str()
	}
	if c.err != nil {
		return nil
	}
	return m
}

// StrMultimap reads a [string multimap].
func (c *Cursor) StrMultimap() map[string][]string {
	n := int(c.Short())
	if c.err != nil || !c.fits(n, 4, "[string multimap]") {
		return nil
	}
	m := make(map[string][]string, n)
	for range n {
		k := c.Str()
		m[k] = c.StrList()
	}
	if c.err != nil {
		return nil
	}
	return m
}

// BytesMap reads a [bytes map]; values alias the input.
func (c *Cursor) BytesMap() map[string][]byte {
	n := int(c.Short())
	if c.err != nil || !c.fits(n, 6, "[bytes map]") {
		return nil
	}
	m := make(map[string][]byte, n)
	for range n {
		k := c.Str()
		m[k] = c.Bytes()
	}
	if c.err != nil {
		return nil
	}
	return m
}

// AppendByte appends a [byte].
func AppendByte(dst []byte, v byte) []byte { return append(dst, v) }

// AppendShort appends a [short].
func AppendShort(dst []byte, v uint16) []byte { return append(dst, byte(v>>8), byte(v)) }

// AppendInt appends an [int].
func AppendInt(dst []byte, v int32) []byte {
	return append(dst, byte(uint32(v)>>24), byte(uint32(v)>>16), byte(uint32(v)>>8), byte(v))
}

// AppendLong appends a [long].
func AppendLong(dst []byte, v int64) []byte { return binary.BigEndian.AppendUint64(dst, uint64(v)) }

// AppendString appends a [string]. Strings longer than 65535 bytes are
// truncated to fit the [short] length.
func AppendString(dst []byte, s string) []byte {
	if len(s) > math.MaxUint16 {
		s = s[:math.MaxUint16]
	}
	dst = AppendShort(dst, uint16(len(s)))
	return append(dst, s...)
}

// AppendLongString appends a [long string].
func AppendLongString(dst []byte, s string) []byte {
	dst = AppendInt(dst, int32(len(s)))
	return append(dst, s...)
}

// AppendUUID appends a [uuid].
func AppendUUID(dst []byte, u [16]byte) []byte { return append(dst, u[:]...) }

// AppendStringList appends a [string list].
func AppendStringList(dst []byte, l []string) []byte {
	dst = AppendShort(dst, uint16(len(l)))
	for _, s := range l {
		dst = AppendString(dst, s)
	}
	return dst
}

// AppendBytes appends a [bytes]; nil is written as null (length -1).
func AppendBytes(dst []byte, b []byte) []byte {
	if b == nil {
		return AppendInt(dst, -1)
	}
	dst = AppendInt(dst, int32(len(b)))
	return append(dst, b...)
}

// AppendNull appends a null [bytes] (length -1).
func AppendNull(dst []byte) []byte { return append(dst, 0xff, 0xff, 0xff, 0xff) }

// AppendValue appends a [value]: unset as -2, null as -1.
func AppendValue(dst []byte, v Value) []byte {
	if v.Unset {
		return AppendInt(dst, -2)
	}
	return AppendBytes(dst, v.Bytes)
}

// AppendShortBytes appends a [short bytes].
func AppendShortBytes(dst []byte, b []byte) []byte {
	dst = AppendShort(dst, uint16(len(b)))
	return append(dst, b...)
}

// AppendInet appends an [inet]. IPv4-mapped IPv6 addresses are written as
// 4-byte IPv4 addresses; an invalid address is written as 0.0.0.0.
func AppendInet(dst []byte, ap netip.AddrPort) []byte {
	a := ap.Addr().Unmap()
	if !a.IsValid() {
		a = netip.IPv4Unspecified()
	}
	if a.Is4() {
		b := a.As4()
		dst = append(dst, 4)
		dst = append(dst, b[:]...)
	} else {
		b := a.As16()
		dst = append(dst, 16)
		dst = append(dst, b[:]...)
	}
	return AppendInt(dst, int32(ap.Port()))
}

// AppendConsistency appends a [consistency].
func AppendConsistency(dst []byte, c Consistency) []byte { return AppendShort(dst, uint16(c)) }

// sortedKeys returns m's keys in order, so encodings are deterministic.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// AppendStringMap appends a [string map], keys in sorted order.
func AppendStringMap(dst []byte, m map[string]string) []byte {
	dst = AppendShort(dst, uint16(len(m)))
	for _, k := range sortedKeys(m) {
		dst = AppendString(dst, k)
		dst = AppendString(dst, m[k])
	}
	return dst
}

// AppendStringMultimap appends a [string multimap], keys in sorted order.
func AppendStringMultimap(dst []byte, m map[string][]string) []byte {
	dst = AppendShort(dst, uint16(len(m)))
	for _, k := range sortedKeys(m) {
		dst = AppendString(dst, k)
		dst = AppendStringList(dst, m[k])
	}
	return dst
}

// AppendBytesMap appends a [bytes map], keys in sorted order.
func AppendBytesMap(dst []byte, m map[string][]byte) []byte {
	dst = AppendShort(dst, uint16(len(m)))
	for _, k := range sortedKeys(m) {
		dst = AppendString(dst, k)
		dst = AppendBytes(dst, m[k])
	}
	return dst
}
