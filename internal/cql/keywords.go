package cql

// reservedKeywords are the CQL keywords that cannot be used as unquoted
// identifiers (Cassandra 4.x: every lexer keyword that is not in
// Parser.g's unreserved_keyword lists).
var reservedKeywords = map[string]bool{
	"add": true, "allow": true, "alter": true, "and": true, "apply": true,
	"asc": true, "authorize": true, "batch": true, "begin": true, "by": true,
	"columnfamily": true, "create": true, "delete": true, "desc": true,
	"describe": true, "drop": true, "entries": true, "execute": true,
	"false": true, "from": true, "full": true, "grant": true, "if": true,
	"in": true, "index": true, "infinity": true, "insert": true, "into": true,
	"is": true, "keyspace": true, "limit": true, "materialized": true,
	"modify": true, "nan": true, "norecursive": true, "not": true,
	"null": true, "of": true, "on": true, "or": true, "order": true,
	"primary": true, "rename": true, "revoke": true, "schema": true,
	"select": true, "set": true, "table": true, "to": true, "token": true,
	"true": true, "truncate": true, "unlogged": true, "update": true,
	"use": true, "using": true, "view": true, "where": true, "with": true,
}

// nativeTypes maps native type keywords to their canonical TypeRef names.
var nativeTypes = map[string]string{
	"ascii": "ascii", "bigint": "bigint", "blob": "blob", "boolean": "boolean",
	"counter": "counter", "date": "date", "decimal": "decimal",
	"double": "double", "duration": "duration", "float": "float",
	"inet": "inet", "int": "int", "smallint": "smallint", "text": "text",
	"time": "time", "timestamp": "timestamp", "timeuuid": "timeuuid",
	"tinyint": "tinyint", "uuid": "uuid", "varchar": "text", "varint": "varint",
}

// nonFunctionKeywords are unreserved keywords that may name columns but not
// functions (they introduce special selector syntax).
var nonFunctionKeywords = map[string]bool{
	"ttl": true, "writetime": true, "maxwritetime": true, "key": true,
	"cast": true, "json": true, "distinct": true,
}

// permissionNames are the permission keywords of GRANT/REVOKE/LIST.
var permissionNames = map[string]bool{
	"create": true, "alter": true, "drop": true, "select": true,
	"modify": true, "authorize": true, "describe": true, "execute": true,
	"unmask": true, "select_masked": true,
}

// reservedTypeNames cannot name a user-defined type (Cassandra's
// Parser.g reservedTypeNames).
var reservedTypeNames = map[string]bool{
	"byte": true, "complex": true, "enum": true, "date": true,
	"interval": true, "macaddr": true, "bitstring": true,
}

// IsReservedKeyword reports whether word (any case) is a reserved CQL
// keyword that must be double-quoted to be used as an identifier.
func IsReservedKeyword(word string) bool {
	return reservedKeywords[lower(word)]
}

// QuoteIdent renders a canonical identifier as CQL: unchanged when it is a
// valid unquoted identifier (lower-case letter first, then lower-case
// letters, digits, '_') and not reserved; otherwise double-quoted with
// embedded quotes doubled.
func QuoteIdent(name string) string {
	ok := name != "" && name[0] >= 'a' && name[0] <= 'z' && !reservedKeywords[name]
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		ok = c >= 'a' && c <= 'z' || isDigit(c) || c == '_'
	}
	if ok {
		return name
	}
	b := make([]byte, 0, len(name)+2)
	b = append(b, '"')
	for i := 0; i < len(name); i++ {
		if name[i] == '"' {
			b = append(b, '"')
		}
		b = append(b, name[i])
	}
	return string(append(b, '"'))
}

// lower lower-cases ASCII letters only (CQL identifiers are ASCII).
func lower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
