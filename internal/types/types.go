package types

import (
	"fmt"
	"strings"
)

// Kind identifies a CQL type. Its values are the native protocol [option] ids,
// so a Kind can be written to the wire as is.
type Kind uint16

// The CQL type kinds, numbered as in the native protocol v4 specification
// (section 6, "[option]" ids of result metadata).
const (
	Custom    Kind = 0x0000
	Ascii     Kind = 0x0001
	Bigint    Kind = 0x0002
	Blob      Kind = 0x0003
	Boolean   Kind = 0x0004
	Counter   Kind = 0x0005
	Decimal   Kind = 0x0006
	Double    Kind = 0x0007
	Float     Kind = 0x0008
	Int       Kind = 0x0009
	Timestamp Kind = 0x000B
	UUID      Kind = 0x000C
	Varchar   Kind = 0x000D
	Varint    Kind = 0x000E
	Timeuuid  Kind = 0x000F
	Inet      Kind = 0x0010
	Date      Kind = 0x0011
	Time      Kind = 0x0012
	Smallint  Kind = 0x0013
	Tinyint   Kind = 0x0014
	Duration  Kind = 0x0015
	List      Kind = 0x0020
	Map       Kind = 0x0021
	Set       Kind = 0x0022
	UDT       Kind = 0x0030
	Tuple     Kind = 0x0031
)

// Text is the CQL name "text"; it is the same type as Varchar.
const Text = Varchar

// kindNames maps each native (non-parameterised) kind to the name Cassandra
// shows in system_schema.columns.type.
var kindNames = map[Kind]string{
	Ascii:     "ascii",
	Bigint:    "bigint",
	Blob:      "blob",
	Boolean:   "boolean",
	Counter:   "counter",
	Decimal:   "decimal",
	Double:    "double",
	Float:     "float",
	Int:       "int",
	Timestamp: "timestamp",
	UUID:      "uuid",
	Varchar:   "text",
	Varint:    "varint",
	Timeuuid:  "timeuuid",
	Inet:      "inet",
	Date:      "date",
	Time:      "time",
	Smallint:  "smallint",
	Tinyint:   "tinyint",
	Duration:  "duration",
}

// nativeByName maps lower-case CQL names of native types to their kind.
var nativeByName = map[string]Kind{
	"ascii": Ascii, "bigint": Bigint, "blob": Blob, "boolean": Boolean,
	"counter": Counter, "decimal": Decimal, "double": Double, "float": Float,
	"int": Int, "timestamp": Timestamp, "uuid": UUID, "text": Varchar,
	"varchar": Varchar, "varint": Varint, "timeuuid": Timeuuid, "inet": Inet,
	"date": Date, "time": Time, "smallint": Smallint, "tinyint": Tinyint,
	"duration": Duration,
}

// String returns the lower-case CQL name of a native kind ("int", "text"),
// or the name of the constructor for parameterised kinds ("list", "udt").
func (k Kind) String() string {
	if n, ok := kindNames[k]; ok {
		return n
	}
	switch k {
	case Custom:
		return "custom"
	case List:
		return "list"
	case Map:
		return "map"
	case Set:
		return "set"
	case UDT:
		return "udt"
	case Tuple:
		return "tuple"
	}
	return fmt.Sprintf("kind(0x%04x)", uint16(k))
}

// IsNative reports whether k is a non-parameterised CQL type (everything but
// custom, collections, tuples and UDTs).
func (k Kind) IsNative() bool {
	_, ok := kindNames[k]
	return ok
}

// Type is a CQL type. Types are immutable once built; share them freely.
type Type struct {
	// Kind is the type's kind.
	Kind Kind
	// Elems holds the component types: [elem] for list and set, [key, value]
	// for map, the components of a tuple, the field types of a UDT.
	Elems []*Type
	// Frozen is set for frozen collections and frozen UDTs. Tuples are always
	// frozen; Parse sets it for them.
	Frozen bool
	// Keyspace and Name identify a UDT.
	Keyspace, Name string
	// FieldNames are the field names of a UDT, parallel to Elems.
	FieldNames []string
	// CustomClass is the Java class name of a custom type.
	CustomClass string
}

// UDTResolver looks up a user-defined type by keyspace and name. The returned
// type must have Kind UDT, its Keyspace, Name, FieldNames and Elems set;
// Frozen is set by the caller as the context requires.
type UDTResolver func(keyspace, name string) (*Type, bool)

// Predefined native types, for convenience. They must not be modified.
var (
	AsciiType     = &Type{Kind: Ascii}
	BigintType    = &Type{Kind: Bigint}
	BlobType      = &Type{Kind: Blob}
	BooleanType   = &Type{Kind: Boolean}
	CounterType   = &Type{Kind: Counter}
	DecimalType   = &Type{Kind: Decimal}
	DoubleType    = &Type{Kind: Double}
	FloatType     = &Type{Kind: Float}
	IntType       = &Type{Kind: Int}
	TimestampType = &Type{Kind: Timestamp}
	UUIDType      = &Type{Kind: UUID}
	TextType      = &Type{Kind: Varchar}
	VarintType    = &Type{Kind: Varint}
	TimeuuidType  = &Type{Kind: Timeuuid}
	InetType      = &Type{Kind: Inet}
	DateType      = &Type{Kind: Date}
	TimeType      = &Type{Kind: Time}
	SmallintType  = &Type{Kind: Smallint}
	TinyintType   = &Type{Kind: Tinyint}
	DurationType  = &Type{Kind: Duration}
)

// Native returns the shared Type for a native kind, or nil if k is not native.
func Native(k Kind) *Type {
	switch k {
	case Ascii:
		return AsciiType
	case Bigint:
		return BigintType
	case Blob:
		return BlobType
	case Boolean:
		return BooleanType
	case Counter:
		return CounterType
	case Decimal:
		return DecimalType
	case Double:
		return DoubleType
	case Float:
		return FloatType
	case Int:
		return IntType
	case Timestamp:
		return TimestampType
	case UUID:
		return UUIDType
	case Varchar:
		return TextType
	case Varint:
		return VarintType
	case Timeuuid:
		return TimeuuidType
	case Inet:
		return InetType
	case Date:
		return DateType
	case Time:
		return TimeType
	case Smallint:
		return SmallintType
	case Tinyint:
		return TinyintType
	case Duration:
		return DurationType
	}
	return nil
}

// ListOf returns the type list<elem> (frozen<list<elem>> if frozen).
func ListOf(elem *Type, frozen bool) *Type {
	return &Type{Kind: List, Elems: []*Type{elem}, Frozen: frozen}
}

// SetOf returns the type set<elem> (frozen<set<elem>> if frozen).
func SetOf(elem *Type, frozen bool) *Type {
	return &Type{Kind: Set, Elems: []*Type{elem}, Frozen: frozen}
}

// MapOf returns the type map<key, value> (frozen<...> if frozen).
func MapOf(key, value *Type, frozen bool) *Type {
	return &Type{Kind: Map, Elems: []*Type{key, value}, Frozen: frozen}
}

// TupleOf returns the type tuple<elems...>. Tuples are always frozen.
func TupleOf(elems ...*Type) *Type {
	return &Type{Kind: Tuple, Elems: elems, Frozen: true}
}

// IsCollection reports whether t is a list, set or map (frozen or not).
func (t *Type) IsCollection() bool {
	return t.Kind == List || t.Kind == Set || t.Kind == Map
}

// IsMultiCell reports whether values of t are stored as several cells: a
// non-frozen collection or a non-frozen UDT.
func (t *Type) IsMultiCell() bool {
	return !t.Frozen && (t.IsCollection() || t.Kind == UDT)
}

// IsCounter reports whether t is the counter type.
func (t *Type) IsCounter() bool { return t.Kind == Counter }

// Key returns the key type of a map, or the element type of a list or set.
func (t *Type) Key() *Type {
	if len(t.Elems) == 0 {
		return nil
	}
	return t.Elems[0]
}

// Value returns the value type of a map, or nil for other types.
func (t *Type) Value() *Type {
	if t.Kind != Map || len(t.Elems) < 2 {
		return nil
	}
	return t.Elems[1]
}

// Equal reports whether t and u denote the same type, frozenness included.
func (t *Type) Equal(u *Type) bool {
	if t == u {
		return true
	}
	if t == nil || u == nil {
		return false
	}
	if t.Kind != u.Kind || t.Frozen != u.Frozen || len(t.Elems) != len(u.Elems) {
		return false
	}
	switch t.Kind {
	case Custom:
		return t.CustomClass == u.CustomClass
	case UDT:
		if t.Keyspace != u.Keyspace || t.Name != u.Name || len(t.FieldNames) != len(u.FieldNames) {
			return false
		}
		for i := range t.FieldNames {
			if t.FieldNames[i] != u.FieldNames[i] {
				return false
			}
		}
	}
	for i := range t.Elems {
		if !t.Elems[i].Equal(u.Elems[i]) {
			return false
		}
	}
	return true
}

// Freeze returns t with Frozen set, recursively for nested collections and
// UDTs (inside a frozen type everything is frozen, as in Cassandra). Native
// types are returned unchanged.
func (t *Type) Freeze() *Type {
	switch t.Kind {
	case List, Set, Map, UDT, Tuple:
	default:
		return t
	}
	c := *t
	c.Frozen = true
	c.Elems = make([]*Type, len(t.Elems))
	for i, e := range t.Elems {
		c.Elems[i] = e.Freeze()
	}
	return &c
}

// String returns the CQL form of t as Cassandra shows it in
// system_schema.columns.type: "text", "frozen<list<int>>", "map<text, int>",
// "frozen<my_udt>", "frozen<tuple<int, text>>". UDT names are shown without
// their keyspace, and quoted when they need to be.
func (t *Type) String() string {
	var b strings.Builder
	t.writeTo(&b)
	return b.String()
}

func (t *Type) writeTo(b *strings.Builder) {
	if t == nil {
		b.WriteString("<nil>")
		return
	}
	if n, ok := kindNames[t.Kind]; ok {
		b.WriteString(n)
		return
	}
	if t.Frozen {
		b.WriteString("frozen<")
	}
	switch t.Kind {
	case Custom:
		b.WriteByte('\'')
		b.WriteString(strings.ReplaceAll(t.CustomClass, "'", "''"))
		b.WriteByte('\'')
	case UDT:
		b.WriteString(QuoteIdent(t.Name))
	default:
		b.WriteString(t.Kind.String())
		b.WriteByte('<')
		for i, e := range t.Elems {
			if i > 0 {
				b.WriteString(", ")
			}
			e.writeTo(b)
		}
		b.WriteByte('>')
	}
	if t.Frozen {
		b.WriteByte('>')
	}
}

// QuoteIdent returns name as a CQL identifier: unchanged when it is a valid
// lower-case unquoted identifier, double-quoted (with embedded quotes
// doubled) otherwise.
func QuoteIdent(name string) string {
	ok := name != ""
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z':
		case (c >= '0' && c <= '9' || c == '_') && i > 0:
		default:
			ok = false
		}
	}
	if ok && !reservedKeyword[name] {
		return name
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}
