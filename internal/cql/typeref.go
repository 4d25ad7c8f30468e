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

// marshalPackage is the package Cassandra's TypeParser assumes for a
// custom type class named without one.
const marshalPackage = "org.apache.cassandra.db.marshal."

// qualifyCustomType returns a custom type's class name as Cassandra
// resolves and shows it: every class named without a package, including
// the parameters of a parameterised type ('ReversedType(Int32Type)'), is
// in org.apache.cassandra.db.marshal. Names before "=>" or ":" (aliases
// and hex-encoded names in type parameters) are left alone.
func qualifyCustomType(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && isTypeNameChar(s[j]) {
			j++
		}
		if j == i {
			b.WriteByte(s[i])
			i++
			continue
		}
		word := s[i:j]
		rest := strings.TrimLeft(s[j:], " ")
		named := strings.HasPrefix(rest, "=>") || strings.HasPrefix(rest, ":")
		if !named && !strings.Contains(word, ".") && isLetter(word[0]) {
			b.WriteString(marshalPackage)
		}
		b.WriteString(word)
		i = j
	}
	return b.String()
}

// isTypeNameChar reports the characters of a class name in TypeParser.
func isTypeNameChar(c byte) bool {
	return isIdentChar(c) || c == '-' || c == '+' || c == '.' || c == '&' || c == '$'
}
