package query

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/ringdb/ringdb/internal/consistency"
	"github.com/ringdb/ringdb/internal/cql"
	"github.com/ringdb/ringdb/internal/cqlerr"
	"github.com/ringdb/ringdb/internal/schema"
	"github.com/ringdb/ringdb/internal/storage"
	"github.com/ringdb/ringdb/internal/types"
)

// NodeInfo is what system.local says about this node.
type NodeInfo struct {
	ClusterName      string
	HostID           [16]byte
	ListenAddress    netip.Addr
	StoragePort      int
	NativeAddress    netip.Addr
	NativePort       int
	DC, Rack         string
	Tokens           []int64
	GossipGeneration int32
}

// ReleaseVersion is the Cassandra version ringdb reports to drivers: the
// 4.0 line, whose system tables and protocol (v4) ringdb implements.
const ReleaseVersion = "4.0.11"

// Options configure a Processor.
type Options struct {
	// Schema is the schema manager (required).
	Schema *schema.Manager
	// Engine is the storage engine (required).
	Engine *storage.Engine
	// Roles manages roles; nil means authentication is disabled
	// (AllowAllAuthenticator) and role statements fail.
	Roles RoleManager
	// Authorizer stores permissions and turns on CassandraAuthorizer's
	// checks on every statement (authz.go); nil means AllowAllAuthorizer
	// (every logged-in role may do anything with data). Used only with
	// Roles.
	Authorizer PermissionManager
	// Node describes this node for system.local.
	Node NodeInfo
	// Logger; default slog.Default().
	Logger *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
	// OnSchemaChange, when set, is called after every applied schema change
	// (the protocol layer turns it into SCHEMA_CHANGE events).
	OnSchemaChange func(schema.Change)
	// MaxPreparedStatements bounds the prepared statement cache. Default 10000.
	MaxPreparedStatements int
	// Peers, when set, lists the other nodes for system.peers; nil means a
	// single-node cluster.
	Peers func() []PeerInfo
	// Store reads and writes table data; default LocalStore{Engine}.
	Store Store
	// BatchSizeWarnThreshold is cassandra.yaml's batch_size_warn_threshold
	// in bytes: a batch over several partitions whose data size exceeds it
	// gets a client warning. Default DefaultBatchSizeWarnThreshold (5 KiB);
	// negative disables the warning.
	BatchSizeWarnThreshold int
	// BatchSizeFailThreshold is cassandra.yaml's batch_size_fail_threshold
	// in bytes: a batch over several partitions whose data size exceeds it
	// is refused ("Batch too large"). Default DefaultBatchSizeFailThreshold
	// (50 KiB); negative disables the refusal.
	BatchSizeFailThreshold int
}

// Processor executes CQL statements. It is safe for concurrent use.
type Processor struct {
	opts      Options
	schema    *schema.Manager
	engine    *storage.Engine
	store     Store
	log       *slog.Logger
	timeuuids *types.TimeUUIDGenerator

	prepMu   sync.RWMutex
	prepared map[[16]byte]*Prepared

	// lwtLocks serialises read-check-write of conditional updates per
	// partition (striped by token).
	lwtLocks [64]sync.Mutex
	// lwtLast is the timestamp of the last conditional update applied
	// under lwtLocks[i] (guarded by it).
	lwtLast [64]int64
	// listPrepend hands out decreasing timeuuid ticks for list prepends.
	prependMu   sync.Mutex
	prependTick int64
	// authz caches resolved permissions per role (authz.go).
	authz authzCache
}

// New returns a Processor.
func New(opts Options) *Processor {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxPreparedStatements == 0 {
		opts.MaxPreparedStatements = 10000
	}
	if opts.BatchSizeWarnThreshold == 0 {
		opts.BatchSizeWarnThreshold = DefaultBatchSizeWarnThreshold
	}
	if opts.BatchSizeFailThreshold == 0 {
		opts.BatchSizeFailThreshold = DefaultBatchSizeFailThreshold
	}
	var node [6]byte
	var seq [2]byte
	_, _ = rand.Read(node[:])
	_, _ = rand.Read(seq[:])
	node[0] |= 0x01 // multicast bit: a random node id, as RFC 4122 asks
	if opts.Store == nil {
		opts.Store = LocalStore{Engine: opts.Engine}
	}
	return &Processor{
		opts: opts, schema: opts.Schema, engine: opts.Engine, store: opts.Store, log: opts.Logger,
		timeuuids: types.NewTimeUUIDGenerator(node, uint16(seq[0])<<8|uint16(seq[1])),
		prepared:  map[[16]byte]*Prepared{},
	}
}

// Session is the per-connection state: current keyspace and logged-in role.
type Session struct {
	Keyspace  string
	User      string
	Superuser bool
}

// Params are the execution parameters of a QUERY, EXECUTE or BATCH.
type Params struct {
	Consistency       consistency.Level
	Values            []Value
	Names             []string
	PageSize          int32
	PagingState       []byte
	SerialConsistency consistency.Level
	Timestamp         int64
	HasTimestamp      bool
	SkipMetadata      bool
}

// ColumnSpec describes one result or bind column.
type ColumnSpec struct {
	Keyspace, Table, Name string
	Type                  *types.Type
}

// ResultKind is the kind of a RESULT message.
type ResultKind int

// Result kinds.
const (
	ResultVoid ResultKind = iota
	ResultRows
	ResultSetKeyspace
	ResultSchemaChange
)

// Rows is a rows result: metadata plus the encoded rows (each cell a
// protocol [bytes]).
type Rows struct {
	Columns     []ColumnSpec
	Count       int
	Data        []byte
	PagingState []byte
}

// Result is what a statement returns.
type Result struct {
	Kind     ResultKind
	Keyspace string        // SetKeyspace
	Change   schema.Change // SchemaChange
	Rows     *Rows
	// Warnings are the client warnings Cassandra would send with the
	// result (the protocol v4 warnings flag), e.g. for a batch over the
	// batch_size_warn_threshold. Nil when there are none.
	Warnings []string
}

// Prepared is a prepared statement.
type Prepared struct {
	ID        []byte
	Query     string
	Keyspace  string
	Stmt      cql.Statement
	Vars      []ColumnSpec
	PKIndexes []uint16
	// ResultColumns is the result metadata of a SELECT (nil otherwise).
	ResultColumns []ColumnSpec
}

// Query parses and executes one statement.
func (p *Processor) Query(ctx context.Context, s *Session, query string, params *Params) (*Result, error) {
	stmt, err := cql.Parse(query)
	if err != nil {
		return nil, syntaxErr(err)
	}
	if err := p.validate(s, stmt); err != nil {
		return nil, err
	}
	values, err := bindValues(stmt, params)
	if err != nil {
		return nil, err
	}
	return p.execute(ctx, s, stmt, values, params)
}

func syntaxErr(err error) error {
	if se, ok := err.(*cql.SyntaxError); ok {
		return cqlerr.Syntaxf("%s", se.Error())
	}
	return cqlerr.Syntaxf("%v", err)
}

// bindValues orders the bound values by marker index, resolving named
// values against the markers' names.
func bindValues(stmt cql.Statement, params *Params) ([]Value, error) {
	markers := cql.BindMarkers(stmt)
	if params == nil {
		if len(markers) > 0 {
			return nil, cqlerr.Invalidf("There were %d markers(?) in CQL but 0 bound variables", len(markers))
		}
		return nil, nil
	}
	if len(params.Names) == 0 {
		if len(params.Values) != len(markers) {
			return nil, cqlerr.Invalidf("There were %d markers(?) in CQL but %d bound variables", len(markers), len(params.Values))
		}
		return params.Values, nil
	}
	out := make([]Value, len(markers))
	for i := range out {
		out[i] = Value{Unset: true}
	}
	for i, n := range params.Names {
		n = strings.ToLower(n)
		found := false
		for _, m := range markers {
			if m.Name == n {
				out[m.Index] = params.Values[i]
				found = true
			}
		}
		if !found {
			return nil, cqlerr.Invalidf("Invalid named bind variable %s", n)
		}
	}
	return out, nil
}

// bindNamedForPrepared resolves named values for a prepared statement
// whose variables are known by name.
func bindPrepared(ps *Prepared, params *Params) ([]Value, error) {
	if params == nil {
		if len(ps.Vars) > 0 {
			return nil, cqlerr.Invalidf("There were %d markers(?) in CQL but 0 bound variables", len(ps.Vars))
		}
		return nil, nil
	}
	if len(params.Names) == 0 {
		if len(params.Values) != len(ps.Vars) {
			return nil, cqlerr.Invalidf("There were %d markers(?) in CQL but %d bound variables", len(ps.Vars), len(params.Values))
		}
		return params.Values, nil
	}
	out := make([]Value, len(ps.Vars))
	for i := range out {
		out[i] = Value{Unset: true}
	}
	for i, n := range params.Names {
		found := false
		for j, v := range ps.Vars {
			if strings.EqualFold(v.Name, n) {
				out[j] = params.Values[i]
				found = true
			}
		}
		if !found {
			return nil, cqlerr.Invalidf("Invalid named bind variable %s", n)
		}
	}
	return out, nil
}

// Prepare parses a statement, computes its variable and result metadata
// and caches it under MD5(keyspace + query), as Cassandra does.
func (p *Processor) Prepare(ctx context.Context, s *Session, query string) (*Prepared, error) {
	stmt, err := cql.Parse(query)
	if err != nil {
		return nil, syntaxErr(err)
	}
	ks := s.Keyspace
	sum := md5.Sum([]byte(ks + query))
	p.prepMu.RLock()
	ps := p.prepared[sum]
	p.prepMu.RUnlock()
	if ps != nil {
		// Re-derive metadata: the schema may have changed since.
		if err := p.describe(ps, s); err != nil {
			return nil, err
		}
		return ps, nil
	}
	ps = &Prepared{ID: sum[:], Query: query, Keyspace: ks, Stmt: stmt}
	if err := p.describe(ps, s); err != nil {
		return nil, err
	}
	p.prepMu.Lock()
	if len(p.prepared) >= p.opts.MaxPreparedStatements {
		for k := range p.prepared { // evict an arbitrary entry
			delete(p.prepared, k)
			break
		}
	}
	p.prepared[sum] = ps
	p.prepMu.Unlock()
	return ps, nil
}

// Lookup returns a prepared statement by id.
func (p *Processor) Lookup(id []byte) (*Prepared, bool) {
	if len(id) != 16 {
		return nil, false
	}
	var k [16]byte
	copy(k[:], id)
	p.prepMu.RLock()
	ps := p.prepared[k]
	p.prepMu.RUnlock()
	return ps, ps != nil
}

// Execute runs a prepared statement.
func (p *Processor) Execute(ctx context.Context, s *Session, id []byte, params *Params) (*Result, error) {
	ps, ok := p.Lookup(id)
	if !ok {
		return nil, cqlerr.UnpreparedID(id)
	}
	values, err := bindPrepared(ps, params)
	if err != nil {
		return nil, err
	}
	sess := *s
	if ps.Keyspace != "" {
		sess.Keyspace = ps.Keyspace
	}
	res, err := p.execute(ctx, &sess, ps.Stmt, values, params)
	if err == nil && res.Kind == ResultSetKeyspace {
		s.Keyspace = res.Keyspace
	}
	return res, err
}

// BatchEntry is one statement of a BATCH message.
type BatchEntry struct {
	Query    string
	ID       []byte
	Prepared bool
	Values   []Value
}

// consistencyOf returns the request's consistency level (ONE if absent).
func consistencyOf(params *Params) consistency.Level {
	if params == nil {
		return consistency.One
	}
	return params.Consistency
}

// serialOf is the serial consistency of a request: SERIAL unless it asks
// for LOCAL_SERIAL.
func serialOf(params *Params) consistency.Level {
	if params != nil && params.SerialConsistency == consistency.LocalSerial {
		return consistency.LocalSerial
	}
	return consistency.Serial
}

// apply writes through the store, wrapping unexpected errors.
func (p *Processor) apply(ctx context.Context, muts []*storage.Mutation, cl consistency.Level, writeType string) error {
	if len(muts) == 0 {
		return nil
	}
	if err := p.store.Apply(ctx, muts, cl, writeType); err != nil {
		if _, ok := err.(*cqlerr.Error); ok {
			return err
		}
		return cqlerr.Serverf("write failed: %v", err)
	}
	return nil
}

// execute dispatches a parsed statement.
func (p *Processor) execute(ctx context.Context, s *Session, stmt cql.Statement, values []Value, params *Params) (*Result, error) {
	now := p.opts.Now()
	c := &evalCtx{p: p, values: values, now: now, ctx: ctx, cl: consistencyOf(params), serial: serialOf(params)}
	if err := p.authorize(s, stmt); err != nil {
		return nil, err
	}
	switch st := stmt.(type) {
	case *cql.SelectStatement:
		return p.selectStmt(ctx, c, s, st, params)
	case *cql.InsertStatement, *cql.UpdateStatement, *cql.DeleteStatement:
		return p.modify(ctx, c, s, stmt, params)
	case *cql.BatchStatement:
		return p.batchStmt(c, s, st, params)
	case *cql.UseStatement:
		if p.schema.Current().Keyspace(st.Keyspace) == nil {
			return nil, cqlerr.Invalidf("Keyspace '%s' does not exist", st.Keyspace)
		}
		s.Keyspace = st.Keyspace
		return &Result{Kind: ResultSetKeyspace, Keyspace: st.Keyspace}, nil
	case *cql.TruncateStatement:
		t, err := p.table(s, st.Table)
		if err != nil {
			return nil, err
		}
		if t.Virtual {
			return nil, cqlerr.Unauthorizedf("Cannot TRUNCATE system table %s.%s", t.Keyspace, t.Name)
		}
		if err := p.store.Truncate(ctx, t); err != nil {
			if e, ok := err.(*cqlerr.Error); ok {
				return nil, e
			}
			return nil, &cqlerr.Error{Code: cqlerr.TruncateError, Message: err.Error()}
		}
		return &Result{Kind: ResultVoid}, nil
	case *cql.CreateRoleStatement, *cql.AlterRoleStatement, *cql.DropRoleStatement, *cql.ListRolesStatement,
		*cql.CreateUserStatement, *cql.AlterUserStatement, *cql.DropUserStatement, *cql.ListUsersStatement,
		*cql.GrantRoleStatement, *cql.RevokeRoleStatement,
		*cql.GrantPermissionsStatement, *cql.RevokePermissionsStatement, *cql.ListPermissionsStatement:
		return p.roleStmt(c, s, stmt)
	case *cql.UnsupportedStatement:
		return nil, cqlerr.Invalidf("%s is not supported by ringdb yet", st.Kind)
	}
	return p.afterSchemaChange(s)(p.ddl(c, s, stmt))
}

// table resolves a (possibly unqualified) table name.
func (p *Processor) table(s *Session, q cql.QualifiedName) (*schema.Table, error) {
	ks := q.Keyspace
	if ks == "" {
		ks = s.Keyspace
	}
	if ks == "" {
		return nil, cqlerr.Invalidf("No keyspace has been specified. USE a keyspace, or explicitly specify keyspace.tablename")
	}
	sch := p.schema.Current()
	k := sch.Keyspace(ks)
	if k == nil {
		return nil, cqlerr.Invalidf("Keyspace %s does not exist", ks)
	}
	t := k.Tables[q.Name]
	if t == nil {
		return nil, cqlerr.Invalidf("unconfigured table %s", q.Name)
	}
	return t, nil
}

// parseTypeRef converts a parsed type to a types.Type in keyspace ks.
func (p *Processor) parseTypeRef(tr cql.TypeRef, ks string) (*types.Type, error) {
	k := p.schema.Current().Keyspace(ks)
	t, err := types.Parse(typeRefString(tr), ks, func(kn, name string) (*types.Type, bool) {
		kk := k
		if kn != "" && kn != ks {
			kk = p.schema.Current().Keyspace(kn)
		}
		if kk == nil {
			return nil, false
		}
		u, ok := kk.Types[name]
		return u, ok
	})
	if err != nil {
		return nil, cqlerr.Invalidf("%v", err)
	}
	return t, nil
}

// typeRefString renders a parsed type in the syntax types.Parse reads.
func typeRefString(t cql.TypeRef) string {
	var b strings.Builder
	writeTypeRef(&b, t)
	return b.String()
}

func writeTypeRef(b *strings.Builder, t cql.TypeRef) {
	if t.Frozen {
		b.WriteString("frozen<")
	}
	switch {
	case t.Custom:
		b.WriteString("'" + t.Name + "'")
	case t.UDT && t.Keyspace != "":
		b.WriteString(types.QuoteIdent(t.Keyspace) + "." + types.QuoteIdent(t.Name))
	case t.UDT:
		b.WriteString(types.QuoteIdent(t.Name))
	default:
		b.WriteString(t.Name)
	}
	if len(t.Params) > 0 {
		b.WriteByte('<')
		for i, pt := range t.Params {
			if i > 0 {
				b.WriteString(", ")
			}
			writeTypeRef(b, pt)
		}
		b.WriteByte('>')
	}
	if t.Frozen {
		b.WriteByte('>')
	}
}
