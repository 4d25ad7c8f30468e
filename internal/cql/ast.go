package cql

// This file holds the AST produced by Parse and ParseScript. Nodes are plain
// structs; the only interfaces (Statement, Expr) are markers so that a
// consumer can type-switch over a closed set of node types.
//
// Identifier conventions: every identifier stored in the AST (keyspace,
// table, column, type, role, function and option names) is in canonical
// form: unquoted identifiers are lower-cased, "quoted" identifiers keep
// their case with the doubled quotes removed.

// Pos is a position in the query text.
type Pos struct {
	Offset int // byte offset, 0-based
	Line   int // line number, 1-based
	Col    int // column in bytes, 0-based (as in Cassandra's error messages)
}

// Statement is a parsed CQL statement. Every statement type embeds StmtBase.
type Statement interface{ stmt() }

// StmtBase carries what all statements share: where the statement starts and
// the bind markers it contains.
type StmtBase struct {
	Pos Pos
	// Markers lists every bind marker (? or :name) of the statement in order
	// of appearance; Markers[i].Index == i. For a BATCH it lists the markers
	// of all inner statements (indices are batch-global); each inner
	// statement's own Markers holds its subset, with the same global indices.
	Markers []*BindMarker
}

func (*StmtBase) stmt() {}

func (b *StmtBase) base() *StmtBase { return b }

// BindCount returns the number of bind markers of the statement.
func (b *StmtBase) BindCount() int { return len(b.Markers) }

// BindMarkers returns the bind markers of s in order of appearance (nil for a
// nil statement).
func BindMarkers(s Statement) []*BindMarker {
	if b, ok := s.(interface{ base() *StmtBase }); ok {
		return b.base().Markers
	}
	return nil
}

// QualifiedName is an optionally keyspace-qualified name: ks.table, ks.type,
// ks.index, ks.function. Keyspace is "" when not given.
type QualifiedName struct {
	Keyspace string
	Name     string
}

// String renders the name as ks.name or name (no quoting).
func (q QualifiedName) String() string {
	if q.Keyspace == "" {
		return q.Name
	}
	return q.Keyspace + "." + q.Name
}

// ---------------------------------------------------------------------------
// Expressions: terms (values) and selectors.

// Expr is a value expression. In term positions (VALUES, SET, WHERE right
// hand sides, USING, LIMIT, IF conditions) the parser only produces
// *Constant, *BindMarker, *ListLiteral, *SetLiteral, *MapLiteral,
// *EmptyCollection, *TupleLiteral, *UDTLiteral, *FunctionCall, *TypeHint,
// *Negation and *BinaryOp. In SELECT selectors it may in addition produce
// *ColumnRef, *WritetimeExpr, *CastExpr, *FieldAccess, *ElementAccess and
// *FunctionCall with Star set (count(*)).
type Expr interface{ expr() }

// ConstKind classifies a Constant.
type ConstKind int

// Constant kinds.
const (
	ConstString   ConstKind = iota // 'text' or $$text$$; Text is the unescaped value
	ConstInteger                   // 42, -7; Text as written (with '-' when negative)
	ConstFloat                     // 1.5, -2e10, NaN, Infinity, -Infinity
	ConstBoolean                   // true / false; Text is "true" or "false"
	ConstUUID                      // unquoted 8-4-4-4-12 hex; Text as written
	ConstHex                       // 0xCAFE; Text as written including 0x
	ConstDuration                  // 1h30m, P1Y2M, PT5S, -3d; Text as written
	ConstNull                      // NULL; Text is "null"
)

var constKindNames = [...]string{"string", "integer", "float", "boolean", "uuid", "hex", "duration", "null"}

// String returns a lower-case name of the kind ("string", "integer", ...).
func (k ConstKind) String() string {
	if k >= 0 && int(k) < len(constKindNames) {
		return constKindNames[k]
	}
	return "unknown"
}

// Constant is a literal value.
type Constant struct {
	Pos  Pos
	Kind ConstKind
	// Text is the literal's text: for strings the unescaped content, for
	// numbers, uuids, blobs and durations the text as written (a leading
	// unary minus is folded in: "-5"), "true"/"false" for booleans (lower-cased),
	// "NaN"/"Infinity"/"-Infinity" for special floats, "null" for NULL.
	Text string
}

// BindMarker is a ? or :name marker.
type BindMarker struct {
	Pos   Pos
	Index int    // 0-based position among the statement's markers
	Name  string // canonical name for :name markers, "" for ?
	// In is true for a marker standing for a whole IN list (col IN ?,
	// (a, b) IN ?): its value is a list of the column's (or tuple's) type.
	In bool
}

// ListLiteral is [e1, e2, ...].
type ListLiteral struct {
	Pos   Pos
	Elems []Expr
}

// SetLiteral is {e1, e2, ...} (at least one element).
type SetLiteral struct {
	Pos   Pos
	Elems []Expr
}

// MapEntry is one key: value pair of a MapLiteral.
type MapEntry struct {
	Key, Value Expr
}

// MapLiteral is {k1: v1, ...} where the keys are terms (not bare identifiers).
type MapLiteral struct {
	Pos     Pos
	Entries []MapEntry
}

// EmptyCollection is {}: an empty set or map (or UDT), decided by the receiver.
type EmptyCollection struct {
	Pos Pos
}

// TupleLiteral is (e1, e2, ...) with at least one element in term positions
// (Cassandra requires two or more for tuples except in multi-column
// relations, where (a) = (1) is valid; the parser does not enforce it).
type TupleLiteral struct {
	Pos   Pos
	Elems []Expr
}

// UDTField is one field: value pair of a UDTLiteral.
type UDTField struct {
	Name  string
	Value Expr
}

// UDTLiteral is {field1: v1, ...} where the keys are identifiers.
type UDTLiteral struct {
	Pos    Pos
	Fields []UDTField
}

// FunctionCall is f(args) or ks.f(args). Name.Name is canonical (lower-cased
// unless quoted). Star is set only for count(*) in selectors, with no Args.
type FunctionCall struct {
	Pos  Pos
	Name QualifiedName
	Args []Expr
	Star bool
}

// TypeHint is (type) term, e.g. (int) ? or (text) 'x'.
type TypeHint struct {
	Pos   Pos
	Type  TypeRef
	Value Expr
}

// Negation is unary minus applied to a non-literal (-x for literals is folded
// into the Constant).
type Negation struct {
	Pos   Pos
	Value Expr
}

// BinaryOp is arithmetic between two expressions: Op is "+", "-", "*", "/" or "%".
type BinaryOp struct {
	Pos         Pos
	Op          string
	Left, Right Expr
}

// ColumnRef names a column (selectors only).
type ColumnRef struct {
	Pos  Pos
	Name string
}

// WritetimeExpr is WRITETIME(col), MAXWRITETIME(col) or TTL(col) in a selector.
type WritetimeExpr struct {
	Pos    Pos
	Kind   string // "writetime", "maxwritetime" or "ttl"
	Column string
}

// CastExpr is CAST(expr AS type) in a selector.
type CastExpr struct {
	Pos   Pos
	Value Expr
	Type  TypeRef
}

// FieldAccess is expr.field (UDT field selection) in a selector.
type FieldAccess struct {
	Pos   Pos
	Value Expr
	Field string
}

// ElementAccess is expr[key] or the slice expr[from..to] in a selector. For
// a slice, Slice is true and From/To may each be nil (open bound); Key is nil.
type ElementAccess struct {
	Pos      Pos
	Value    Expr
	Key      Expr
	Slice    bool
	From, To Expr
}

func (*Constant) expr()        {}
func (*BindMarker) expr()      {}
func (*ListLiteral) expr()     {}
func (*SetLiteral) expr()      {}
func (*MapLiteral) expr()      {}
func (*EmptyCollection) expr() {}
func (*TupleLiteral) expr()    {}
func (*UDTLiteral) expr()      {}
func (*FunctionCall) expr()    {}
func (*TypeHint) expr()        {}
func (*Negation) expr()        {}
func (*BinaryOp) expr()        {}
func (*ColumnRef) expr()       {}
func (*WritetimeExpr) expr()   {}
func (*CastExpr) expr()        {}
func (*FieldAccess) expr()     {}
func (*ElementAccess) expr()   {}

// ---------------------------------------------------------------------------
// Types.

// TypeRef is a CQL type as written in DDL, casts and type hints.
//
// Name is one of:
//   - a native type name, lower-cased: ascii bigint blob boolean counter date
//     decimal double duration float inet int smallint text time timestamp
//     timeuuid tinyint uuid varint. varchar is normalised to "text" (they are
//     the same type in Cassandra);
//   - "list", "set", "map" or "tuple" with Params;
//   - a user-defined type name (UDT true, Keyspace optional);
//   - a custom class name from a quoted type 'org.apache...' (Custom true).
//
// frozen<...> sets Frozen on the wrapped type.
type TypeRef struct {
	Name     string
	Keyspace string // UDT keyspace, "" when unqualified
	Params   []TypeRef
	Frozen   bool
	UDT      bool
	Custom   bool
}

// ---------------------------------------------------------------------------
// SELECT.

// Selector is one item of a SELECT clause.
type Selector struct {
	Pos   Pos
	Expr  Expr
	Alias string // "" when no AS
}

// Ordering is one item of ORDER BY or CLUSTERING ORDER BY.
type Ordering struct {
	Column string
	Desc   bool
}

// SelectStatement is SELECT.
type SelectStatement struct {
	StmtBase
	JSON      bool
	Distinct  bool
	Star      bool       // SELECT *; Selectors is empty
	Selectors []Selector // in order; empty when Star
	Table     QualifiedName
	Where     []Relation
	GroupBy   []string
	OrderBy   []Ordering
	// PerPartitionLimit and Limit are nil when absent, else an integer
	// *Constant or a *BindMarker.
	PerPartitionLimit Expr
	Limit             Expr
	AllowFiltering    bool
}

// Operator is a relation or condition operator.
type Operator int

// Operators.
const (
	OpEq          Operator = iota // =
	OpLt                          // <
	OpLte                         // <=
	OpGt                          // >
	OpGte                         // >=
	OpNeq                         // !=
	OpIn                          // IN
	OpContains                    // CONTAINS
	OpContainsKey                 // CONTAINS KEY
	OpIsNotNull                   // IS NOT NULL
	OpLike                        // LIKE
)

var operatorNames = [...]string{"=", "<", "<=", ">", ">=", "!=", "IN", "CONTAINS", "CONTAINS KEY", "IS NOT", "LIKE"}

// String renders the operator as CQL ("=", "IN", "CONTAINS KEY", "IS NOT").
func (o Operator) String() string {
	if o >= 0 && int(o) < len(operatorNames) {
		return operatorNames[o]
	}
	return "?"
}

// RelationKind classifies a Relation.
type RelationKind int

// Relation kinds.
const (
	// RelSingle: col op value, col IN (...), col CONTAINS [KEY] v,
	// col IS NOT NULL, col LIKE v. Columns has one name.
	RelSingle RelationKind = iota
	// RelMulti: (c1, c2) op (v1, v2) / op ? / IN ((..), (..)) / IN ?.
	RelMulti
	// RelToken: token(k1, k2) op value. Columns are token's arguments.
	RelToken
	// RelMapElement: col[key] op value. Columns has one name; Key is set.
	RelMapElement
)

// Relation is one AND-ed restriction of a WHERE clause.
//
// For OpIn, the values are either InValues (a possibly empty list; for
// RelMulti each element is a *TupleLiteral or *BindMarker) or, for IN ?,
// Value holding a *BindMarker with In set (InValues nil). For all other
// operators Value holds the right-hand side (for RelMulti a *TupleLiteral or
// *BindMarker; for OpIsNotNull a ConstNull Constant).
type Relation struct {
	Pos      Pos
	Kind     RelationKind
	Columns  []string
	Key      Expr // RelMapElement only
	Op       Operator
	Value    Expr
	InValues []Expr
}

// ---------------------------------------------------------------------------
// INSERT, UPDATE, DELETE, BATCH.

// UsingClause holds USING TTL / USING TIMESTAMP; each is nil when absent, else
// an integer *Constant or a *BindMarker.
type UsingClause struct {
	TTL       Expr
	Timestamp Expr
}

// InsertStatement is INSERT INTO ... VALUES or INSERT INTO ... JSON.
type InsertStatement struct {
	StmtBase
	Table   QualifiedName
	Columns []string // VALUES form
	Values  []Expr   // VALUES form, same length as Columns
	// JSON is set for INSERT ... JSON: a ConstString *Constant or a *BindMarker.
	JSON Expr
	// JSONDefault is "" (not given), "null" or "unset" (DEFAULT NULL|UNSET).
	JSONDefault string
	IfNotExists bool
	Using       UsingClause
}

// AssignKind classifies an Assignment.
type AssignKind int

// Assignment kinds.
const (
	AssignSet     AssignKind = iota // c = v
	AssignAdd                       // c = c + v, c += v (counter increment, collection append/union)
	AssignSub                       // c = c - v, c -= v (counter decrement, collection removal)
	AssignPrepend                   // c = v + c (list prepend)
	AssignElement                   // c[k] = v
	AssignField                     // c.f = v
)

// Assignment is one item of UPDATE ... SET.
type Assignment struct {
	Pos    Pos
	Kind   AssignKind
	Column string
	Key    Expr   // AssignElement: the index or map key
	Field  string // AssignField: the UDT field
	Value  Expr
}

// Condition is one AND-ed item of an IF clause (lightweight transaction).
// Key is set for c[k] op v, Field for c.f op v. For OpIn the values are
// InValues or, for IN ?, Value as a *BindMarker (as in Relation).
type Condition struct {
	Pos      Pos
	Column   string
	Key      Expr
	Field    string
	Op       Operator
	Value    Expr
	InValues []Expr
}

// UpdateStatement is UPDATE.
type UpdateStatement struct {
	StmtBase
	Table       QualifiedName
	Using       UsingClause
	Assignments []Assignment
	Where       []Relation
	IfExists    bool
	Conditions  []Condition // IF c = v AND ...; nil when none
}

// Deletion is one item of DELETE's column list: c, c[k] or c.f.
type Deletion struct {
	Pos    Pos
	Column string
	Key    Expr   // c[k]
	Field  string // c.f
}

// DeleteStatement is DELETE.
type DeleteStatement struct {
	StmtBase
	Columns    []Deletion // empty: delete whole rows
	Table      QualifiedName
	Using      UsingClause // only Timestamp is valid; TTL is rejected by the parser
	Where      []Relation
	IfExists   bool
	Conditions []Condition
}

// BatchType is the kind of a BATCH.
type BatchType int

// Batch types.
const (
	BatchLogged BatchType = iota
	BatchUnlogged
	BatchCounter
)

// BatchStatement is BEGIN [UNLOGGED|COUNTER] BATCH ... APPLY BATCH.
type BatchStatement struct {
	StmtBase
	Type  BatchType
	Using UsingClause // only Timestamp is valid
	// Statements are *InsertStatement, *UpdateStatement or *DeleteStatement.
	Statements []Statement
}

// ---------------------------------------------------------------------------
// USE, TRUNCATE.

// UseStatement is USE ks.
type UseStatement struct {
	StmtBase
	Keyspace string
}

// TruncateStatement is TRUNCATE [TABLE] [ks.]t.
type TruncateStatement struct {
	StmtBase
	Table QualifiedName
}

// ---------------------------------------------------------------------------
// Schema statements.

// Option is one name = value of a WITH clause (keyspace, table, role
// properties). Name is canonical (lower-cased unless quoted). Value is a
// *Constant (identifiers used as values become ConstString), a *MapLiteral or
// an *EmptyCollection.
type Option struct {
	Pos   Pos
	Name  string
	Value Expr
}

// CreateKeyspaceStatement is CREATE KEYSPACE (or SCHEMA).
type CreateKeyspaceStatement struct {
	StmtBase
	IfNotExists bool
	Name        string
	Options     []Option // replication, durable_writes, ...
}

// AlterKeyspaceStatement is ALTER KEYSPACE.
type AlterKeyspaceStatement struct {
	StmtBase
	IfExists bool
	Name     string
	Options  []Option
}

// DropKeyspaceStatement is DROP KEYSPACE.
type DropKeyspaceStatement struct {
	StmtBase
	IfExists bool
	Name     string
}

// ColumnDef is a column definition in CREATE TABLE or ALTER TABLE ADD.
type ColumnDef struct {
	Pos        Pos
	Name       string
	Type       TypeRef
	Static     bool
	PrimaryKey bool // declared inline: "col type PRIMARY KEY"
}

// CreateTableStatement is CREATE TABLE (or COLUMNFAMILY).
type CreateTableStatement struct {
	StmtBase
	IfNotExists bool
	Table       QualifiedName
	Columns     []ColumnDef
	// PartitionKey and Clustering come from PRIMARY KEY ((a, b), c, d), or
	// from an inline "col type PRIMARY KEY" (PartitionKey = [col]).
	PartitionKey []string
	Clustering   []string
	// PrimaryKeyDecls counts PRIMARY KEY declarations (inline and clause);
	// anything but 1 is an error the executor reports as Cassandra does
	// ("Multiple PRIMARY KEYs specified" / "No PRIMARY KEY specified").
	PrimaryKeyDecls int
	Options         []Option
	ClusteringOrder []Ordering
	CompactStorage  bool
}

// AlterTableKind classifies an AlterTableStatement.
type AlterTableKind int

// ALTER TABLE kinds.
const (
	AlterTableAdd         AlterTableKind = iota // ADD col type [, ...] / ADD (col type, ...)
	AlterTableDrop                              // DROP col / DROP (c1, c2) [USING TIMESTAMP n]
	AlterTableRename                            // RENAME a TO b [AND c TO d]
	AlterTableAlterType                         // ALTER col TYPE t
	AlterTableWith                              // WITH options
	AlterTableDropCompact                       // DROP COMPACT STORAGE
)

// Rename is one "from TO to" of a RENAME.
type Rename struct {
	From, To string
}

// AlterTableStatement is ALTER TABLE (or COLUMNFAMILY).
type AlterTableStatement struct {
	StmtBase
	IfExists    bool
	Table       QualifiedName
	Kind        AlterTableKind
	AddColumns  []ColumnDef // Add (IfNotExists applies to columns)
	IfNotExists bool        // ADD IF NOT EXISTS
	DropColumns []string    // Drop
	// DropTimestamp is the DROP ... USING TIMESTAMP value, nil when absent.
	DropTimestamp  *Constant
	ColumnIfExists bool // DROP IF EXISTS / RENAME IF EXISTS
	Renames        []Rename
	Column         string  // AlterType
	Type           TypeRef // AlterType
	Options        []Option
}

// DropTableStatement is DROP TABLE (or COLUMNFAMILY).
type DropTableStatement struct {
	StmtBase
	IfExists bool
	Table    QualifiedName
}

// FieldDef is a field of a user-defined type.
type FieldDef struct {
	Name string
	Type TypeRef
}

// CreateTypeStatement is CREATE TYPE.
type CreateTypeStatement struct {
	StmtBase
	IfNotExists bool
	Name        QualifiedName
	Fields      []FieldDef
}

// AlterTypeKind classifies an AlterTypeStatement.
type AlterTypeKind int

// ALTER TYPE kinds.
const (
	AlterTypeAdd       AlterTypeKind = iota // ADD field type
	AlterTypeRename                         // RENAME f1 TO f2 [AND ...]
	AlterTypeAlterType                      // ALTER field TYPE type
)

// AlterTypeStatement is ALTER TYPE.
type AlterTypeStatement struct {
	StmtBase
	IfExists bool
	Name     QualifiedName
	Kind     AlterTypeKind
	Field    string  // Add, AlterType
	Type     TypeRef // Add, AlterType
	Renames  []Rename
}

// DropTypeStatement is DROP TYPE.
type DropTypeStatement struct {
	StmtBase
	IfExists bool
	Name     QualifiedName
}

// IndexTargetKind says what part of a column an index covers.
type IndexTargetKind int

// Index target kinds.
const (
	IndexSimple  IndexTargetKind = iota // col (values for non-frozen collections)
	IndexKeys                           // keys(col)
	IndexValues                         // values(col)
	IndexEntries                        // entries(col)
	IndexFull                           // full(col)
)

// IndexTarget is one target of CREATE INDEX.
type IndexTarget struct {
	Column string
	Kind   IndexTargetKind
}

// CreateIndexStatement is CREATE [CUSTOM] INDEX.
type CreateIndexStatement struct {
	StmtBase
	Custom      bool
	IfNotExists bool
	Name        string // "" when not given
	Table       QualifiedName
	Targets     []IndexTarget
	Class       string   // USING 'class', "" when absent
	Options     []Option // WITH OPTIONS = {...} (Name "options")
}

// DropIndexStatement is DROP INDEX.
type DropIndexStatement struct {
	StmtBase
	IfExists bool
	Name     QualifiedName
}

// ---------------------------------------------------------------------------
// Roles, users, permissions.

// RoleOptions are the options of CREATE/ALTER ROLE; nil pointers were not given.
type RoleOptions struct {
	Password       *string
	HashedPassword *string
	Login          *bool
	Superuser      *bool
	Options        *MapLiteral // OPTIONS = {...}
	// AccessToDatacenters lists ACCESS TO DATACENTERS {'dc1', ...};
	// AccessToAllDatacenters is ACCESS TO ALL DATACENTERS.
	AccessToDatacenters    []string
	AccessToAllDatacenters bool
}

// CreateRoleStatement is CREATE ROLE.
type CreateRoleStatement struct {
	StmtBase
	IfNotExists bool
	Name        string
	Options     RoleOptions
}

// AlterRoleStatement is ALTER ROLE.
type AlterRoleStatement struct {
	StmtBase
	IfExists bool
	Name     string
	Options  RoleOptions
}

// DropRoleStatement is DROP ROLE.
type DropRoleStatement struct {
	StmtBase
	IfExists bool
	Name     string
}

// ListRolesStatement is LIST ROLES [OF r] [NORECURSIVE].
type ListRolesStatement struct {
	StmtBase
	Of          string // "" when absent
	NoRecursive bool
}

// CreateUserStatement is CREATE USER (deprecated alias of roles).
type CreateUserStatement struct {
	StmtBase
	IfNotExists bool
	Name        string
	Password    *string
	Hashed      bool  // WITH HASHED PASSWORD
	Superuser   *bool // SUPERUSER / NOSUPERUSER
}

// AlterUserStatement is ALTER USER.
type AlterUserStatement struct {
	StmtBase
	IfExists  bool
	Name      string
	Password  *string
	Hashed    bool
	Superuser *bool
}

// DropUserStatement is DROP USER.
type DropUserStatement struct {
	StmtBase
	IfExists bool
	Name     string
}

// ListUsersStatement is LIST USERS.
type ListUsersStatement struct {
	StmtBase
}

// ResourceKind classifies a Resource.
type ResourceKind int

// Resource kinds.
const (
	ResourceAllKeyspaces ResourceKind = iota // ALL KEYSPACES
	ResourceKeyspace                         // KEYSPACE ks
	ResourceTable                            // [TABLE] [ks.]t
	ResourceAllRoles                         // ALL ROLES
	ResourceRole                             // ROLE r
	ResourceAllFunctions                     // ALL FUNCTIONS [IN KEYSPACE ks]
	ResourceFunction                         // FUNCTION [ks.]f(types)
	ResourceAllMBeans                        // ALL MBEANS
	ResourceMBean                            // MBEAN 'name' / MBEANS 'pattern'
)

// Resource is the object of GRANT/REVOKE/LIST permissions.
type Resource struct {
	Kind     ResourceKind
	Keyspace string    // Keyspace, Table, AllFunctions (IN KEYSPACE; "" = all), Function
	Name     string    // Table, Role, Function name, MBean name
	ArgTypes []TypeRef // Function
}

// GrantPermissionsStatement is GRANT perms|ALL [PERMISSIONS] ON resource TO role.
// Permissions holds upper-case names (CREATE ALTER DROP SELECT MODIFY
// AUTHORIZE DESCRIBE EXECUTE UNMASK SELECT_MASKED) unless All is set.
type GrantPermissionsStatement struct {
	StmtBase
	All         bool
	Permissions []string
	Resource    Resource
	Grantee     string
}

// RevokePermissionsStatement is REVOKE perms ON resource FROM role.
type RevokePermissionsStatement struct {
	StmtBase
	All         bool
	Permissions []string
	Resource    Resource
	Revokee     string
}

// ListPermissionsStatement is LIST perms|ALL [PERMISSIONS] [ON r] [OF role] [NORECURSIVE].
type ListPermissionsStatement struct {
	StmtBase
	All         bool
	Permissions []string
	Resource    *Resource // nil when no ON clause
	Of          string
	NoRecursive bool
}

// GrantRoleStatement is GRANT role TO grantee.
type GrantRoleStatement struct {
	StmtBase
	Role    string
	Grantee string
}

// RevokeRoleStatement is REVOKE role FROM revokee.
type RevokeRoleStatement struct {
	StmtBase
	Role    string
	Revokee string
}

// ---------------------------------------------------------------------------
// Unsupported statements.

// UnsupportedStatement is a statement ringdb recognises but does not
// implement: Kind is e.g. "CREATE MATERIALIZED VIEW", "CREATE FUNCTION",
// "DROP AGGREGATE", "CREATE TRIGGER", "DESCRIBE". Only the leading keywords are
// checked; the rest of the statement is skipped up to ';' or end of input.
type UnsupportedStatement struct {
	StmtBase
	Kind string
	Text string // the statement's source text
}
