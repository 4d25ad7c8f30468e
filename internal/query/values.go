package query

import "encoding/binary"

// Value is one bound value of a request, as the native protocol's
// [value] carries it: Bytes is the serialized value (nil for null and
// unset) and Unset marks a value the statement must leave untouched. The
// protocol layer converts its decoded values to this type, so that the
// processor does not depend on the wire codec.
type Value struct {
	Bytes []byte
	Unset bool
}

// appendCell appends v to result row data as the native protocol's
// [bytes]: its length as a big-endian int32, then its bytes; a nil v is
// null, written as length -1 with no bytes.
func appendCell(dst, v []byte) []byte {
	if v == nil {
		return append(dst, 0xff, 0xff, 0xff, 0xff)
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(v)))
	return append(dst, v...)
}
