package types

import (
	"fmt"
	"strings"
)

// reservedKeyword holds CQL's reserved keywords (lower case): identifiers
// equal to one of them must be double-quoted.
var reservedKeyword = map[string]bool{
	"add": true, "allow": true, "alter": true, "and": true, "apply": true,
	"asc": true, "authorize": true, "batch": true, "begin": true, "by": true,
	"columnfamily": true, "create": true, "delete": true, "desc": true,
	"describe": true, "drop": true, "entries": true, "execute": true,
	"from": true, "full": true, "grant": true, "if": true, "in": true,
	"index": true, "infinity": true, "insert": true, "into": true, "is": true,
	"keyspace": true, "limit": true, "materialized": true, "modify": true,
	"nan": true, "norecursive": true, "not": true, "null": true, "of": true,
	"on": true, "or": true, "order": true, "primary": true, "rename": true,
	"replace": true, "revoke": true, "schema": true, "select": true,
	"set": true, "table": true, "to": true, "token": true, "truncate": true,
	"unlogged": true, "update": true, "use": true, "using": true,
	"view": true, "where": true, "with": true,
}

// marshalClasses maps Cassandra's marshal class names (as they may appear
// in a quoted custom type) to the native kind they denote.
var marshalClasses = map[string]Kind{
	"AsciiType": Ascii, "LongType": Bigint, "BytesType": Blob,
	"BooleanType": Boolean, "CounterColumnType": Counter,
	"DecimalType": Decimal, "DoubleType": Double, "FloatType": Float,
	"Int32Type": Int, "TimestampType": Timestamp, "UUIDType": UUID,
	"UTF8Type": Varchar, "IntegerType": Varint, "TimeUUIDType": Timeuuid,
	"InetAddressType": Inet, "SimpleDateType": Date, "TimeType": Time,
	"ShortType": Smallint, "ByteType": Tinyint, "DurationType": Duration,
}

// Parse parses a CQL type: a native type name ("int", "varchar" == "text",
// case-insensitive), a collection ("list<int>", "map<text, frozen<list<int>>>"),
// "frozen<...>", "tuple<int, text>", a user-defined type ("my_udt",
// "ks.my_udt", "\"Quoted\"") resolved with resolve in keyspace unless
// qualified, or a quoted custom class ('org.example.MyType').
//
// As in Cassandra, everything inside a frozen type is frozen, tuples are
// always frozen (and freeze their components), and a collection or UDT
// nested in a collection must be frozen explicitly.
func Parse(s string, keyspace string, resolve UDTResolver) (*Type, error) {
	p := typeParser{s: s, ks: keyspace, resolve: resolve}
	t, err := p.parseType(false)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos != len(p.s) {
		return nil, fmt.Errorf("invalid type %q: unexpected %q", s, p.s[p.pos:])
	}
	return t, nil
}

// MustParse is Parse for types known to be valid (native, collection and
// tuple types, no UDTs); it panics on error. Meant for tables and tests.
func MustParse(s string) *Type {
	t, err := Parse(s, "", nil)
	if err != nil {
		panic(err)
	}
	return t
}

type typeParser struct {
	s       string
	pos     int
	ks      string
	resolve UDTResolver
}

func (p *typeParser) skipSpace() {
	for p.pos < len(p.s) && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t' || p.s[p.pos] == '\n' || p.s[p.pos] == '\r') {
		p.pos++
	}
}

func (p *typeParser) errorf(format string, args ...any) error {
	return fmt.Errorf("invalid type %q: %s", p.s, fmt.Sprintf(format, args...))
}

// ident reads an identifier: unquoted (lower-cased) or double-quoted.
func (p *typeParser) ident() (string, bool, error) {
	p.skipSpace()
	if p.pos >= len(p.s) {
		return "", false, p.errorf("unexpected end")
	}
	if p.s[p.pos] == '"' {
		var b strings.Builder
		i := p.pos + 1
		for {
			if i >= len(p.s) {
				return "", false, p.errorf("unterminated quoted identifier")
			}
			if p.s[i] == '"' {
				if i+1 < len(p.s) && p.s[i+1] == '"' {
					b.WriteByte('"')
					i += 2
					continue
				}
				break
			}
			b.WriteByte(p.s[i])
			i++
		}
		p.pos = i + 1
		return b.String(), true, nil
	}
	start := p.pos
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || (c >= '0' && c <= '9' && p.pos > start) {
			p.pos++
			continue
		}
		break
	}
	if p.pos == start {
		return "", false, p.errorf("expected a type name at %q", p.s[start:])
	}
	return strings.ToLower(p.s[start:p.pos]), false, nil
}

func (p *typeParser) expect(c byte) error {
	p.skipSpace()
	if p.pos >= len(p.s) || p.s[p.pos] != c {
		return p.errorf("expected '%c'", c)
	}
	p.pos++
	return nil
}

func (p *typeParser) peek() byte {
	p.skipSpace()
	if p.pos >= len(p.s) {
		return 0
	}
	return p.s[p.pos]
}

// parseType parses one type; inFrozen is set inside frozen<...> and
// tuple<...>, where nested collections and UDTs are frozen implicitly.
func (p *typeParser) parseType(inFrozen bool) (*Type, error) {
	p.skipSpace()
	if p.pos < len(p.s) && p.s[p.pos] == '\'' {
		return p.parseCustom()
	}
	name, quoted, err := p.ident()
	if err != nil {
		return nil, err
	}
	if !quoted {
		if k, ok := nativeByName[name]; ok && p.peek() != '.' {
			return Native(k), nil
		}
		switch name {
		case "frozen":
			if err := p.expect('<'); err != nil {
				return nil, err
			}
			inner, err := p.parseType(true)
			if err != nil {
				return nil, err
			}
			if err := p.expect('>'); err != nil {
				return nil, err
			}
			switch inner.Kind {
			case List, Set, Map, UDT, Tuple:
			default:
				return nil, fmt.Errorf("frozen<> is only allowed on collections, tuples, and user-defined types (got %s)", inner)
			}
			return inner.Freeze(), nil
		case "list", "set", "map", "tuple":
			if p.peek() == '<' {
				return p.parseParameterised(name, inFrozen)
			}
		}
	}
	// A user-defined type, possibly qualified by its keyspace.
	ks := p.ks
	if p.peek() == '.' {
		p.pos++
		ks = name
		name, _, err = p.ident()
		if err != nil {
			return nil, err
		}
	}
	if p.resolve == nil {
		return nil, fmt.Errorf("Unknown type %s.%s", ks, name)
	}
	udt, ok := p.resolve(ks, name)
	if !ok || udt == nil {
		return nil, fmt.Errorf("Unknown type %s.%s", ks, name)
	}
	c := *udt
	c.Kind = UDT
	c.Frozen = false
	return &c, nil
}

func (p *typeParser) parseCustom() (*Type, error) {
	var b strings.Builder
	i := p.pos + 1
	for {
		if i >= len(p.s) {
			return nil, p.errorf("unterminated string")
		}
		if p.s[i] == '\'' {
			if i+1 < len(p.s) && p.s[i+1] == '\'' {
				b.WriteByte('\'')
				i += 2
				continue
			}
			break
		}
		b.WriteByte(p.s[i])
		i++
	}
	p.pos = i + 1
	class := b.String()
	short := strings.TrimPrefix(class, "org.apache.cassandra.db.marshal.")
	if k, ok := marshalClasses[short]; ok {
		return Native(k), nil
	}
	if class == "" {
		return nil, p.errorf("empty custom type class")
	}
	return &Type{Kind: Custom, CustomClass: class}, nil
}

// parseParameterised parses the "<...>" part of list, set, map and tuple.
func (p *typeParser) parseParameterised(name string, inFrozen bool) (*Type, error) {
	if err := p.expect('<'); err != nil {
		return nil, err
	}
	var elems []*Type
	for {
		e, err := p.parseType(inFrozen || name == "tuple")
		if err != nil {
			return nil, err
		}
		elems = append(elems, e)
		if p.peek() == ',' {
			p.pos++
			continue
		}
		break
	}
	if err := p.expect('>'); err != nil {
		return nil, err
	}
	var t *Type
	switch name {
	case "list":
		if len(elems) != 1 {
			return nil, p.errorf("list takes exactly one type parameter")
		}
		t = &Type{Kind: List, Elems: elems}
	case "set":
		if len(elems) != 1 {
			return nil, p.errorf("set takes exactly one type parameter")
		}
		t = &Type{Kind: Set, Elems: elems}
	case "map":
		if len(elems) != 2 {
			return nil, p.errorf("map takes exactly two type parameters")
		}
		t = &Type{Kind: Map, Elems: elems}
	case "tuple":
		return TupleOf(elems...).Freeze(), nil
	}
	for _, e := range elems {
		if e.Kind == Counter {
			return nil, fmt.Errorf("Counters are not allowed inside collections: %s", t)
		}
		if inFrozen {
			continue
		}
		if e.IsCollection() && !e.Frozen {
			return nil, fmt.Errorf("Non-frozen collections are not allowed inside collections: %s", t)
		}
		if e.Kind == UDT && !e.Frozen {
			return nil, fmt.Errorf("Non-frozen UDTs are not allowed inside collections: %s", t)
		}
	}
	return t, nil
}
