package types

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// AppendOption appends t as a native protocol [option]: the kind as a
// [short], then for custom the class [string]; for list and set the element
// [option]; for map the key and value [option]s; for a UDT the keyspace and
// type name [string]s, a [short] field count and each field's name [string]
// and [option]; for a tuple a [short] count and each component's [option].
func AppendOption(dst []byte, t *Type) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(t.Kind))
	switch t.Kind {
	case Custom:
		dst = appendString(dst, t.CustomClass)
	case List, Set:
		dst = AppendOption(dst, t.Elems[0])
	case Map:
		dst = AppendOption(dst, t.Elems[0])
		dst = AppendOption(dst, t.Elems[1])
	case UDT:
		dst = appendString(dst, t.Keyspace)
		dst = appendString(dst, t.Name)
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(t.Elems)))
		for i, e := range t.Elems {
			dst = appendString(dst, t.FieldNames[i])
			dst = AppendOption(dst, e)
		}
	case Tuple:
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(t.Elems)))
		for _, e := range t.Elems {
			dst = AppendOption(dst, e)
		}
	}
	return dst
}

// appendString appends a native protocol [string] ([short] length + bytes).
func appendString(dst []byte, s string) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(s)))
	return append(dst, s...)
}

func readString(src []byte) (string, []byte, error) {
	if len(src) < 2 {
		return "", nil, errors.New("truncated [string] length")
	}
	n := int(binary.BigEndian.Uint16(src))
	if len(src) < 2+n {
		return "", nil, errors.New("truncated [string]")
	}
	return string(src[2 : 2+n]), src[2+n:], nil
}

// maxOptionDepth bounds the nesting ReadOption accepts.
const maxOptionDepth = 32

// ReadOption decodes a native protocol [option] written by AppendOption (or
// a driver), returning the type and the remaining bytes. Types read from the
// wire are marked frozen when nested in collections, tuples or UDTs, since
// the wire format does not carry frozenness.
func ReadOption(src []byte) (*Type, []byte, error) {
	return readOption(src, 0)
}

func readOption(src []byte, depth int) (*Type, []byte, error) {
	if depth > maxOptionDepth {
		return nil, nil, errors.New("type nested too deeply")
	}
	if len(src) < 2 {
		return nil, nil, errors.New("truncated [option]")
	}
	k := Kind(binary.BigEndian.Uint16(src))
	src = src[2:]
	if nt := Native(k); nt != nil {
		return nt, src, nil
	}
	var err error
	switch k {
	case Custom:
		var class string
		if class, src, err = readString(src); err != nil {
			return nil, nil, err
		}
		return &Type{Kind: Custom, CustomClass: class}, src, nil
	case List, Set:
		var e *Type
		if e, src, err = readOption(src, depth+1); err != nil {
			return nil, nil, err
		}
		return &Type{Kind: k, Elems: []*Type{e.Freeze()}}, src, nil
	case Map:
		var kt, vt *Type
		if kt, src, err = readOption(src, depth+1); err != nil {
			return nil, nil, err
		}
		if vt, src, err = readOption(src, depth+1); err != nil {
			return nil, nil, err
		}
		return &Type{Kind: Map, Elems: []*Type{kt.Freeze(), vt.Freeze()}}, src, nil
	case UDT:
		t := &Type{Kind: UDT}
		if t.Keyspace, src, err = readString(src); err != nil {
			return nil, nil, err
		}
		if t.Name, src, err = readString(src); err != nil {
			return nil, nil, err
		}
		if len(src) < 2 {
			return nil, nil, errors.New("truncated UDT field count")
		}
		n := int(binary.BigEndian.Uint16(src))
		src = src[2:]
		for i := 0; i < n; i++ {
			var name string
			var ft *Type
			if name, src, err = readString(src); err != nil {
				return nil, nil, err
			}
			if ft, src, err = readOption(src, depth+1); err != nil {
				return nil, nil, err
			}
			t.FieldNames = append(t.FieldNames, name)
			t.Elems = append(t.Elems, ft.Freeze())
		}
		return t, src, nil
	case Tuple:
		if len(src) < 2 {
			return nil, nil, errors.New("truncated tuple component count")
		}
		n := int(binary.BigEndian.Uint16(src))
		src = src[2:]
		t := &Type{Kind: Tuple, Frozen: true}
		for i := 0; i < n; i++ {
			var ct *Type
			if ct, src, err = readOption(src, depth+1); err != nil {
				return nil, nil, err
			}
			t.Elems = append(t.Elems, ct.Freeze())
		}
		return t, src, nil
	}
	return nil, nil, fmt.Errorf("unknown type option id 0x%04x", uint16(k))
}
