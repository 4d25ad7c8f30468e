package cql

import (
	"fmt"
	"reflect"
	"strings"
)

// dump renders an AST value compactly and deterministically for golden
// files: Type{Field: value ...}, omitting zero-valued fields and positions.
func dump(v any) string {
	var b strings.Builder
	dumpValue(&b, reflect.ValueOf(v))
	return b.String()
}

var posType = reflect.TypeOf(Pos{})

func dumpValue(b *strings.Builder, v reflect.Value) {
	switch v.Kind() {
	case reflect.Invalid:
		b.WriteString("nil")
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			b.WriteString("nil")
			return
		}
		dumpValue(b, v.Elem())
	case reflect.Struct:
		t := v.Type()
		if t == reflect.TypeOf(TypeRef{}) {
			b.WriteString("<" + v.Interface().(TypeRef).String() + ">")
			return
		}
		if t == reflect.TypeOf(QualifiedName{}) {
			fmt.Fprintf(b, "%q", v.Interface().(QualifiedName).String())
			return
		}
		b.WriteString(t.Name())
		b.WriteString("{")
		first := true
		for i := 0; i < t.NumField(); i++ {
			f := v.Field(i)
			name := t.Field(i).Name
			if t.Field(i).Type == posType || f.IsZero() && name != "Kind" && name != "Op" && name != "Resource" {
				continue
			}
			if t.Field(i).Anonymous { // StmtBase
				if m := f.FieldByName("Markers"); m.Len() > 0 {
					if !first {
						b.WriteString(" ")
					}
					first = false
					fmt.Fprintf(b, "Binds: %d", m.Len())
				}
				continue
			}
			if !first {
				b.WriteString(" ")
			}
			first = false
			b.WriteString(t.Field(i).Name)
			b.WriteString(": ")
			dumpValue(b, f)
		}
		b.WriteString("}")
	case reflect.Slice:
		b.WriteString("[")
		for i := 0; i < v.Len(); i++ {
			if i > 0 {
				b.WriteString(", ")
			}
			dumpValue(b, v.Index(i))
		}
		b.WriteString("]")
	case reflect.String:
		fmt.Fprintf(b, "%q", v.String())
	default:
		if s, ok := v.Interface().(fmt.Stringer); ok {
			b.WriteString(s.String())
			return
		}
		fmt.Fprint(b, v.Interface())
	}
}
