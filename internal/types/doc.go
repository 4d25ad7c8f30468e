// Package types owns ringdb's CQL data types: their representation (Type),
// parsing from and printing to CQL ("frozen<map<text, int>>"), their native
// protocol v4 serialized form, Cassandra's ordering of values, an
// order-preserving key encoding used by storage, conversion of CQL literals,
// cqlsh-style display, and CAST.
//
// Values are always carried in their native protocol serialized form: a
// []byte, where nil means null and an empty non-nil slice is the "empty"
// value Cassandra allows for most types. The package never boxes values in
// interface{} on hot paths; the Go builders and decoders (Int, DecodeInt,
// Text, ...) exist for system tables, functions and tests.
//
// Invariants:
//   - Validate(t, v) == nil means every other function may read v without
//     bounds surprises; functions given unvalidated input return errors or
//     treat malformed values as opaque bytes, and never panic.
//   - AppendKey is order-preserving and prefix-free: for validated a and b,
//     bytes.Compare of their encodings has the sign of Compare(t, a, b)
//     (reversed when desc), and DecodeKey inverts AppendKey exactly.
//   - Compare is Cassandra's order, refined so that it returns 0 only for
//     byte-equal values: where Cassandra considers byte-distinct values equal
//     (decimal 1.0 and 1.00, NaNs with different payloads, non-minimal
//     varints, tuples missing trailing null fields) a fixed tie-breaker,
//     shared with AppendKey, orders them. Storage order and Compare therefore
//     always agree; the cost is that such values are distinct keys.
//
// The package does no I/O and holds no global mutable state: the TimeUUID
// Generator is owned by its caller.
package types
