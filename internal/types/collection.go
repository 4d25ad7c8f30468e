package types

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
)

// Collections (v4): [int n] then n elements, each [bytes] ([int length]
// then the bytes, length -1 for null). A map's elements alternate key and
// value. Tuples and UDTs: their fields, each [bytes], without a count.

// EncodeCollection serializes the elements of a list or set in the v4
// collection format ([int n], then each element as [bytes]). A nil element
// is written as null (length -1). For maps use EncodeMap (the count is the
// number of entries) or BuildMap.
func EncodeCollection(elems [][]byte) []byte {
	size := 4
	for _, e := range elems {
		size += 4 + len(e)
	}
	dst := make([]byte, 0, size)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(elems)))
	return appendFields(dst, elems)
}

// EncodeMap serializes a map's entries in the given order: [int n] then
// each key and value as [bytes]. keys and vals must have the same length.
// BuildMap also sorts and de-duplicates.
func EncodeMap(keys, vals [][]byte) []byte { return encodeMapCollection(keys, vals) }

// encodeMapCollection is EncodeCollection for a map, whose count is the
// number of entries, not of elements.
func encodeMapCollection(keys, vals [][]byte) []byte {
	size := 4
	for i := range keys {
		size += 8 + len(keys[i]) + len(vals[i])
	}
	dst := make([]byte, 0, size)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(keys)))
	for i := range keys {
		dst = appendBytes(dst, keys[i])
		dst = appendBytes(dst, vals[i])
	}
	return dst
}

func appendFields(dst []byte, elems [][]byte) []byte {
	for _, e := range elems {
		dst = appendBytes(dst, e)
	}
	return dst
}

// appendBytes appends a native protocol [bytes].
func appendBytes(dst, v []byte) []byte {
	if v == nil {
		return binary.BigEndian.AppendUint32(dst, 0xffffffff)
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(v)))
	return append(dst, v...)
}

// readBytes reads a native protocol [bytes]: nil for null.
func readBytes(src []byte) (v, rest []byte, err error) {
	if len(src) < 4 {
		return nil, nil, errors.New("truncated element length")
	}
	n := int32(binary.BigEndian.Uint32(src))
	src = src[4:]
	if n < 0 {
		return nil, src, nil
	}
	if int(n) > len(src) {
		return nil, nil, fmt.Errorf("element length %d exceeds remaining %d bytes", n, len(src))
	}
	return src[:n:n], src[n:], nil
}

// DecodeCollection splits a serialized list or set into its elements. The
// slices alias v; null elements are nil. It does not check the elements
// against a type (see Validate). For maps use DecodeMap, or
// DecodeCollectionOf, which returns alternating keys and values.
func DecodeCollection(v []byte) ([][]byte, error) {
	return decodeCollection(v, false)
}

// DecodeMap splits a serialized map into keys and values (aliasing v).
func DecodeMap(v []byte) (keys, vals [][]byte, err error) {
	elems, err := decodeCollection(v, true)
	if err != nil {
		return nil, nil, err
	}
	keys = make([][]byte, len(elems)/2)
	vals = make([][]byte, len(elems)/2)
	for i := range keys {
		keys[i], vals[i] = elems[2*i], elems[2*i+1]
	}
	return keys, vals, nil
}

// decodeCollection reads the count (entries, doubled for maps) and elements.
func decodeCollection(v []byte, isMap bool) ([][]byte, error) {
	if len(v) < 4 {
		return nil, errors.New("collection value too short for its element count")
	}
	n := int32(binary.BigEndian.Uint32(v))
	if n < 0 {
		return nil, fmt.Errorf("negative collection element count %d", n)
	}
	count := int(n)
	if isMap {
		count *= 2
	}
	rest := v[4:]
	// Every element takes at least 4 bytes: bound the allocation.
	if count > len(rest)/4 {
		return nil, fmt.Errorf("collection claims %d elements in %d bytes", count, len(rest))
	}
	elems := make([][]byte, count)
	for i := range elems {
		var err error
		elems[i], rest, err = readBytes(rest)
		if err != nil {
			return nil, err
		}
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%d trailing bytes after collection", len(rest))
	}
	return elems, nil
}

// DecodeCollectionOf splits a serialized value of collection type t: for a
// map it returns alternating keys and values (2n slices for n entries).
func DecodeCollectionOf(t *Type, v []byte) ([][]byte, error) {
	return decodeCollection(v, t.Kind == Map)
}

// DecodeFields splits a serialized tuple or UDT into its fields (aliasing v;
// null fields are nil). A value may hold fewer fields than its type (trailing
// fields added by ALTER TYPE are then null).
func DecodeFields(v []byte) ([][]byte, error) {
	var fields [][]byte
	for len(v) > 0 {
		f, rest, err := readBytes(v)
		if err != nil {
			return nil, err
		}
		fields = append(fields, f)
		v = rest
	}
	return fields, nil
}

// BuildList serializes a list of elements in the given order.
func BuildList(elems [][]byte) []byte { return EncodeCollection(elems) }

// BuildSet serializes a set of type t (set<elem>): elements sorted by
// Compare on the element type, duplicates removed. elems is reordered.
func BuildSet(t *Type, elems [][]byte) []byte {
	et := t.Elems[0]
	sort.SliceStable(elems, func(i, j int) bool { return Compare(et, elems[i], elems[j]) < 0 })
	out := elems[:0]
	for i, e := range elems {
		if i > 0 && Compare(et, out[len(out)-1], e) == 0 {
			continue
		}
		out = append(out, e)
	}
	return EncodeCollection(out)
}

// BuildMap serializes a map of type t (map<key, value>): entries sorted by
// key with Compare on the key type; for duplicate keys the last value wins.
// keys and vals must have the same length; they are reordered.
func BuildMap(t *Type, keys, vals [][]byte) []byte {
	kt := t.Elems[0]
	idx := make([]int, len(keys))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return Compare(kt, keys[idx[a]], keys[idx[b]]) < 0 })
	ks := make([][]byte, 0, len(keys))
	vs := make([][]byte, 0, len(keys))
	for _, i := range idx {
		if len(ks) > 0 && Compare(kt, ks[len(ks)-1], keys[i]) == 0 {
			vs[len(vs)-1] = vals[i]
			continue
		}
		ks = append(ks, keys[i])
		vs = append(vs, vals[i])
	}
	return encodeMapCollection(ks, vs)
}

// BuildTuple serializes the fields of a tuple or UDT, each as [bytes]
// (nil fields are null), without a count.
func BuildTuple(fields [][]byte) []byte {
	size := 0
	for _, f := range fields {
		size += 4 + len(f)
	}
	return appendFields(make([]byte, 0, size), fields)
}
