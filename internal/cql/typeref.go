package cql

import "strings"

// String renders the type as canonical CQL: native names lower-case,
// collections as list<int>, map<text, int>, tuple<int, text>, frozen types
// wrapped in frozen<...>, UDTs as ks.name (quoted where needed) and custom
// types as a quoted class name.
func (t TypeRef) String() string {
	var s string
	switch {
	case t.Custom:
		s = "'" + strings.ReplaceAll(t.Name, "'", "''") + "'"
	case t.UDT:
		s = QuoteIdent(t.Name)
		if t.Keyspace != "" {
			s = QuoteIdent(t.Keyspace) + "." + s
		}
	case len(t.Params) > 0:
		parts := make([]string, len(t.Params))
		for i, p := range t.Params {
			parts[i] = p.String()
		}
		s = t.Name + "<" + strings.Join(parts, ", ") + ">"
	default:
		s = t.Name
	}
	if t.Frozen {
		return "frozen<" + s + ">"
	}
	return s
}
