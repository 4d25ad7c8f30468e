package query

import (
	"bytes"
	"context"
	"sort"

	"github.com/ringdb/ringdb/internal/consistency"
	"github.com/ringdb/ringdb/internal/cql"
	"github.com/ringdb/ringdb/internal/cqlerr"
	"github.com/ringdb/ringdb/internal/schema"
	"github.com/ringdb/ringdb/internal/storage"
	"github.com/ringdb/ringdb/internal/types"
)

// A compare-and-set request gathers the conditions of one conditional
// statement, or of every statement of a conditional batch, on one
// partition, and the mutations to apply when they all hold (Cassandra's
// CQL3CasRequest). On this single replica, read, check and write happen
// under a per-partition lock, so concurrent conditional updates of one
// partition on this node are serialised (a Store of one replica); with a
// CASStore (the coordinator) the request is a Paxos round across the
// partition's replicas instead (paxosCAS).

// casKind is what the conditions of one row require.
type casKind int

const (
	casColumns   casKind = iota // IF col = v AND ...
	casExists                   // IF EXISTS
	casNotExists                // IF NOT EXISTS
)

// casCond is one IF condition with the bound values of its statement.
type casCond struct {
	c    *evalCtx
	cond *cql.Condition
}

// casRow holds the conditions on one row of the partition: a clustering
// row, or the static row.
type casRow struct {
	static bool
	ck     []byte // order-encoded clustering (empty for the static row)
	kind   casKind
	conds  []casCond
}

// casRequest is a compare-and-set on one partition.
type casRequest struct {
	t     *schema.Table
	key   partitionKey
	rows  []*casRow
	muts  []*storage.Mutation
	batch bool
	// wildcard is set once a statement has IF [NOT] EXISTS: a request
	// that does not apply then returns every column of the rows read;
	// otherwise it returns condCols (after the primary key in a batch).
	wildcard bool
	condCols []*schema.Column
	// updatesStatic and updatesRegular tell which rows the mutations
	// write; with IF [NOT] EXISTS only those columns are read back.
	updatesStatic, updatesRegular bool
	// items are the statements, kept to build their mutations again
	// with the timestamp chosen under the partition's lock.
	items []batchItem
}

// batchItem is one statement of a batch (or a lone statement) with its
// session (a prepared statement runs in its own keyspace), bound values
// and write timestamp.
type batchItem struct {
	stmt cql.Statement
	sess *Session
	c    *evalCtx
	ts   int64
}

// whereOf returns the WHERE clause of an UPDATE or DELETE (nil for INSERT).
func whereOf(stmt cql.Statement) []cql.Relation {
	switch st := stmt.(type) {
	case *cql.UpdateStatement:
		return st.Where
	case *cql.DeleteStatement:
		return st.Where
	}
	return nil
}

// hasIN reports whether a WHERE clause restricts a column of the given
// kind with IN (even an IN of one value, as Cassandra counts it).
func hasIN(t *schema.Table, where []cql.Relation, kind schema.ColumnKind) bool {
	for _, r := range where {
		if r.Op != cql.OpIn || (r.Kind != cql.RelSingle && r.Kind != cql.RelMulti) {
			continue
		}
		for _, name := range r.Columns {
			if col := t.Column(name); col != nil && col.Kind == kind {
				return true
			}
		}
	}
	return false
}

// casVerb names the kind of conditional statement in Cassandra's errors:
// "updates" for UPDATE, "deletions" otherwise.
func casVerb(stmt cql.Statement) string {
	if _, ok := stmt.(*cql.UpdateStatement); ok {
		return "updates"
	}
	return "deletions"
}

// addToCAS adds one statement (conditional or not) to a request: its
// mutation, which must be of the request's partition, and its conditions.
func (p *Processor) addToCAS(req *casRequest, it batchItem) error {
	q, _ := tableOf(it.stmt)
	t, err := p.writeTable(it.sess, q)
	if err != nil {
		return err
	}
	where := whereOf(it.stmt)
	if hasIN(t, where, schema.PartitionKey) {
		if req.batch {
			return cqlerr.Invalidf("Batch with conditions cannot span multiple partitions (you cannot use IN on the partition key)")
		}
		return cqlerr.Invalidf("IN on the partition key is not supported with conditional %s", casVerb(it.stmt))
	}
	muts, err := p.modification(it.c, it.sess, it.stmt, it.ts)
	if err != nil {
		return err
	}
	if len(muts) != 1 {
		return cqlerr.Invalidf("Batch with conditions cannot span multiple partitions")
	}
	m := muts[0]
	if req.t == nil {
		req.t, req.key = t, partitionKey{key: m.Key, token: m.Token}
	} else if req.t.ID != t.ID || !bytes.Equal(req.key.key, m.Key) {
		return cqlerr.Invalidf("Batch with conditions cannot span multiple partitions")
	}
	if hasIN(t, where, schema.Clustering) {
		return cqlerr.Invalidf("IN on the clustering key columns is not supported with conditional %s", casVerb(it.stmt))
	}
	for _, r := range m.Rows {
		req.updatesStatic = req.updatesStatic || r.Static
		req.updatesRegular = req.updatesRegular || !r.Static
	}
	if !m.PartitionDeletion.IsLive() || len(m.RangeTombstones) > 0 {
		req.updatesRegular = true
	}
	req.muts = append(req.muts, m)
	req.items = append(req.items, it)
	cond := conditionsOf(it.stmt)
	if cond == nil {
		return nil
	}
	static, ck, ok := casTarget(t, m)
	if !ok {
		return cqlerr.Invalidf("DELETE statements must restrict all PRIMARY KEY columns with equality relations in order to use IF conditions")
	}
	return req.addConditions(t, static, ck, cond, it.c)
}

// casTarget returns the row a conditional statement's conditions apply
// to: the clustering row it writes, or the static row when it writes only
// static columns. ok is false for a range or partition deletion of a table
// with clustering columns, which has no single row.
func casTarget(t *schema.Table, m *storage.Mutation) (static bool, ck []byte, ok bool) {
	for _, r := range m.Rows {
		if !r.Static {
			return false, r.Clustering, true
		}
	}
	if len(m.RangeTombstones) > 0 {
		return false, nil, false
	}
	if !m.PartitionDeletion.IsLive() {
		return false, nil, len(t.Clustering) == 0
	}
	return true, nil, true
}

// addConditions records one statement's conditions: existence conditions
// on its row, column conditions on its row or, for static columns, on the
// static row.
func (req *casRequest) addConditions(t *schema.Table, static bool, ck []byte, cond *conditions, c *evalCtx) error {
	switch {
	case cond.ifNotExists:
		req.wildcard = true
		return req.setExistence(static, ck, casNotExists)
	case cond.ifExists:
		req.wildcard = true
		return req.setExistence(static, ck, casExists)
	}
	for i := range cond.conds {
		cd := &cond.conds[i]
		col := t.Column(cd.Column)
		if col == nil {
			return cqlerr.Invalidf("Undefined column name %s", cd.Column)
		}
		r := req.row(static || col.Kind == schema.Static, ck)
		if r.kind != casColumns {
			return cqlerr.Invalidf("Cannot mix IF conditions and IF NOT EXISTS for the same row")
		}
		r.conds = append(r.conds, casCond{c: c, cond: cd})
		req.addCondColumn(col)
	}
	return nil
}

// setExistence sets an IF EXISTS / IF NOT EXISTS condition on a row.
func (req *casRequest) setExistence(static bool, ck []byte, kind casKind) error {
	r := req.find(static, ck)
	switch {
	case r == nil:
		req.rows = append(req.rows, &casRow{static: static, ck: ck, kind: kind})
		return nil
	case r.kind == kind:
		return nil
	case r.kind != casColumns:
		return cqlerr.Invalidf("Cannot mix IF EXISTS and IF NOT EXISTS conditions for the same row")
	case kind == casNotExists:
		return cqlerr.Invalidf("Cannot mix IF conditions and IF NOT EXISTS for the same row")
	default:
		return cqlerr.Invalidf("Cannot mix IF conditions and IF EXISTS for the same row")
	}
}

// row returns the conditions of a row, adding an empty column-conditions
// entry when there is none yet.
func (req *casRequest) row(static bool, ck []byte) *casRow {
	if r := req.find(static, ck); r != nil {
		return r
	}
	r := &casRow{static: static, ck: ck}
	req.rows = append(req.rows, r)
	return r
}

func (req *casRequest) find(static bool, ck []byte) *casRow {
	for _, r := range req.rows {
		if r.static == static && bytes.Equal(r.ck, ck) {
			return r
		}
	}
	return nil
}

func (req *casRequest) addCondColumn(col *schema.Column) {
	for _, c := range req.condCols {
		if c == col {
			return
		}
	}
	req.condCols = append(req.condCols, col)
}

// casState is the partition as read under the lock: the static row and
// the clustering rows the request reads, in clustering order.
type casState struct {
	static *rowView
	rows   []*rowView
	cks    [][]byte // clustering of rows[i]
	maxTS  int64    // the newest write timestamp among the live data read
}

// runCAS reads the rows the conditions name, checks the conditions and,
// when they all hold, applies the mutations. The result is Cassandra's:
// [applied], followed when it is false by the rows read.
func (p *Processor) runCAS(ctx context.Context, req *casRequest) (*Result, error) {
	if cs, ok := p.store.(CASStore); ok {
		return p.paxosCAS(ctx, cs, req)
	}
	slot := uint64(req.key.token) % uint64(len(p.lwtLocks))
	lock := &p.lwtLocks[slot]
	lock.Lock()
	defer lock.Unlock()
	st, err := p.readCAS(ctx, req, consistency.All)
	if err != nil {
		return nil, err
	}
	applied, err := req.applies(st)
	if err != nil {
		return nil, err
	}
	if applied {
		// A conditional update serialised after another must win over it
		// by timestamp too: stamp it under the lock, later than anything
		// applied under this lock before and than the data it read,
		// whatever the client's clock or protocol timestamp said
		// (Cassandra stamps with the ballot).
		ts := max(p.opts.Now().UnixMicro(), p.lwtLast[slot]+1, st.maxTS+1)
		p.lwtLast[slot] = ts
		if err := p.restamp(req, ts); err != nil {
			return nil, err
		}
		if err := p.apply(ctx, req.muts, consistency.All, WriteCAS); err != nil {
			return nil, err
		}
	}
	return &Result{Kind: ResultRows, Rows: req.result(applied, st)}, nil
}

// paxosCAS runs the request as a Paxos round across the partition's
// replicas: the rows are read at the serial consistency's quorum once the
// round holds the partition, the conditions checked, and the mutations
// stamped at the ballot's time proposed and committed at the statement's
// consistency (Cassandra's StorageProxy.cas).
func (p *Processor) paxosCAS(ctx context.Context, cs CASStore, req *casRequest) (*Result, error) {
	c := req.items[0].c
	readCL := consistency.Quorum
	if c.serial == consistency.LocalSerial {
		readCL = consistency.LocalQuorum
	}
	var st *casState
	applied, err := cs.CAS(ctx, req.t, req.key.token, req.key.key, c.serial, c.cl,
		func(ctx context.Context, ts int64) ([]*storage.Mutation, bool, error) {
			var err error
			if st, err = p.readCAS(ctx, req, readCL); err != nil {
				return nil, false, err
			}
			holds, err := req.applies(st)
			if err != nil || !holds {
				return nil, false, err
			}
			if err := p.restamp(req, ts); err != nil {
				return nil, false, err
			}
			return req.muts, true, nil
		})
	if err != nil {
		return nil, err
	}
	return &Result{Kind: ResultRows, Rows: req.result(applied, st)}, nil
}

// restamp builds the request's mutations again at timestamp ts.
func (p *Processor) restamp(req *casRequest, ts int64) error {
	req.muts = req.muts[:0]
	for _, it := range req.items {
		muts, err := p.modification(it.c, it.sess, it.stmt, ts)
		if err != nil {
			return err
		}
		req.muts = append(req.muts, muts...)
	}
	return nil
}

// readCAS reads the static row and the clustering rows the conditions
// name; with conditions on the static row only, it reads the first row of
// the partition, as Cassandra does, to show it when the request fails.
func (p *Processor) readCAS(ctx context.Context, req *casRequest, cl consistency.Level) (*casState, error) {
	t := req.t
	var cks [][]byte
	for _, r := range req.rows {
		if !r.static {
			cks = append(cks, r.ck)
		}
	}
	sort.Slice(cks, func(i, j int) bool { return bytes.Compare(cks[i], cks[j]) < 0 })
	q := storage.PartitionQuery{Static: t.HasStatic}
	if len(cks) == 0 {
		q.Limit = 1
	}
	for i, ck := range cks {
		if i > 0 && bytes.Equal(ck, cks[i-1]) {
			continue
		}
		b := storage.Bound{Prefix: ck, Inclusive: true}
		q.Slices = append(q.Slices, storage.Slice{Start: b, End: b})
	}
	pkVals, err := splitPartitionKey(t, req.key.key)
	if err != nil {
		return nil, err
	}
	pl := &selectPlan{t: t}
	st := &casState{}
	err = p.store.ReadPartition(ctx, t, req.key.token, req.key.key, q, cl, func(row *storage.Row) bool {
		st.maxTS = max(st.maxTS, row.Liveness.Timestamp)
		for _, c := range row.Cells {
			st.maxTS = max(st.maxTS, c.Timestamp)
		}
		if row.Static {
			st.static = pl.view(row, nil)
			copy(st.static.vals, pkVals)
			return true
		}
		rv := pl.view(row, st.static)
		copy(rv.vals, pkVals)
		if ckVals, err := decodeClustering(t, row.Clustering, nil); err == nil {
			copy(rv.vals[len(t.PartitionKey):], ckVals)
		}
		st.rows = append(st.rows, rv)
		st.cks = append(st.cks, append([]byte(nil), row.Clustering...))
		return true
	})
	if err != nil {
		return nil, cqlerr.Serverf("read failed: %v", err)
	}
	return st, nil
}

// view returns the current state of a conditioned row (nil if it does not
// exist).
func (st *casState) view(r *casRow) *rowView {
	if r.static {
		return st.static
	}
	for i, ck := range st.cks {
		if bytes.Equal(ck, r.ck) {
			return st.rows[i]
		}
	}
	return nil
}

// applies checks every condition against the state read.
func (req *casRequest) applies(st *casState) (bool, error) {
	applied := true
	for _, r := range req.rows {
		cur := st.view(r)
		switch r.kind {
		case casNotExists:
			applied = applied && cur == nil
		case casExists:
			applied = applied && cur != nil
		default:
			for _, cc := range r.conds {
				ok, err := cc.c.checkCondition(req.t, cur, cc.cond)
				if err != nil {
					return false, err
				}
				applied = applied && ok
			}
		}
	}
	return applied, nil
}

// result builds the rows result: [applied] alone when the request applied
// or found no row; otherwise one row per row read, each [applied] = false
// followed by every column (IF [NOT] EXISTS) or by the conditioned
// columns, after the primary key columns in a batch.
func (req *casRequest) result(applied bool, st *casState) *Rows {
	t := req.t
	rows := &Rows{Columns: []ColumnSpec{{Keyspace: t.Keyspace, Table: t.Name, Name: "[applied]", Type: types.BooleanType}}}
	views := st.rows
	if len(views) == 0 && st.static != nil && req.readsStatic() {
		views = []*rowView{st.static}
	}
	if applied || len(views) == 0 {
		rows.Data = appendCell(rows.Data, types.BooleanValue(applied))
		rows.Count = 1
		return rows
	}
	cols := req.resultColumns()
	for _, col := range cols {
		rows.Columns = append(rows.Columns, ColumnSpec{Keyspace: t.Keyspace, Table: t.Name, Name: col.Name, Type: col.Type})
	}
	for _, v := range views {
		rows.Data = appendCell(rows.Data, types.BooleanValue(false))
		for _, col := range cols {
			var cell []byte
			if req.wasRead(col) {
				cell = v.vals[colIndex(t, col)]
			}
			rows.Data = appendCell(rows.Data, cell)
		}
		rows.Count++
	}
	return rows
}

// resultColumns are the columns a failed request returns after [applied].
func (req *casRequest) resultColumns() []*schema.Column {
	t := req.t
	if req.wildcard {
		return t.All
	}
	var cols []*schema.Column
	if req.batch {
		cols = append(cols, t.PartitionKey...)
		cols = append(cols, t.Clustering...)
	}
	for _, c := range req.condCols {
		if !c.IsPrimaryKey() || !req.batch {
			cols = append(cols, c)
		}
	}
	return cols
}

// readsStatic reports whether the static row is read: for static column
// conditions, or with IF [NOT] EXISTS when the request writes it.
func (req *casRequest) readsStatic() bool {
	for _, r := range req.rows {
		if r.static {
			return true
		}
		for _, cc := range r.conds {
			if col := req.t.Column(cc.cond.Column); col != nil && col.Kind == schema.Static {
				return true
			}
		}
	}
	return req.wildcard && req.updatesStatic
}

// wasRead reports whether a column's value was read: with IF [NOT] EXISTS
// Cassandra reads only the static columns if the request writes the
// static row, and the regular ones if it writes clustering rows.
func (req *casRequest) wasRead(col *schema.Column) bool {
	if !req.wildcard {
		return true
	}
	switch col.Kind {
	case schema.Static:
		return req.readsStatic()
	case schema.Regular:
		return req.updatesRegular
	}
	return true
}
