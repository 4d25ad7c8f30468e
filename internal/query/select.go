package query

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"sort"

	"github.com/ringdb/ringdb/internal/consistency"
	"github.com/ringdb/ringdb/internal/cql"
	"github.com/ringdb/ringdb/internal/cqlerr"
	"github.com/ringdb/ringdb/internal/ring"
	"github.com/ringdb/ringdb/internal/schema"
	"github.com/ringdb/ringdb/internal/storage"
	"github.com/ringdb/ringdb/internal/types"
)

const filteringMsg = "Cannot execute this query as it might involve data filtering and thus may have unpredictable performance. If you want to execute this query despite the performance unpredictability, use ALLOW FILTERING"

// selectPlan is a SELECT resolved for one execution.
type selectPlan struct {
	t          *schema.Table
	st         *cql.SelectStatement
	r          *restrictions
	sels       []*sel
	agg        bool
	limit      int64
	ppLimit    int64
	pageSize   int64
	reversed   bool
	slices     []storage.Slice
	needStatic bool
}

// selectStmt executes a SELECT.
func (p *Processor) selectStmt(ctx context.Context, c *evalCtx, s *Session, st *cql.SelectStatement, params *Params) (*Result, error) {
	t, err := p.table(s, st.Table)
	if err != nil {
		return nil, err
	}
	if st.JSON {
		return nil, cqlerr.Invalidf("SELECT JSON is not supported by ringdb yet")
	}
	if len(st.GroupBy) > 0 {
		return nil, cqlerr.Invalidf("GROUP BY is not supported by ringdb yet")
	}
	pl := &selectPlan{t: t, st: st, limit: math.MaxInt64, ppLimit: math.MaxInt64, pageSize: math.MaxInt64}
	if pl.r, err = c.analyze(t, st.Where); err != nil {
		return nil, err
	}
	if pl.sels, pl.agg, err = p.compileSelection(c, t, st); err != nil {
		return nil, err
	}
	for _, x := range pl.sels {
		if x.kind == selConst && x.typ == nil {
			return nil, cqlerr.Invalidf("Constants in the selection clause need a type hint: (type)%s", x.name)
		}
	}
	if st.Limit != nil {
		n, unset, err := c.intTerm(st.Limit, "[limit]")
		if err != nil {
			return nil, err
		}
		if !unset {
			if n <= 0 {
				return nil, cqlerr.Invalidf("LIMIT must be strictly positive")
			}
			pl.limit = n
		}
	}
	if st.PerPartitionLimit != nil {
		n, unset, err := c.intTerm(st.PerPartitionLimit, "[per_partition_limit]")
		if err != nil {
			return nil, err
		}
		if !unset {
			if n <= 0 {
				return nil, cqlerr.Invalidf("PER PARTITION LIMIT must be strictly positive")
			}
			pl.ppLimit = n
		}
	}
	if params != nil && params.PageSize > 0 && !pl.agg {
		pl.pageSize = int64(params.PageSize)
	}
	if t.Virtual {
		return p.virtualSelect(c, pl, params)
	}
	if err := pl.validate(); err != nil {
		return nil, err
	}
	var state *pageState
	if params != nil && len(params.PagingState) > 0 {
		if state, err = decodePageState(params.PagingState); err != nil {
			return nil, err
		}
		if err := pl.checkState(state); err != nil {
			return nil, err
		}
	}
	return p.runSelect(ctx, c, pl, state)
}

// validate applies Cassandra's rules on what a SELECT may ask.
func (pl *selectPlan) validate() error {
	st, r, t := pl.st, pl.r, pl.t
	if st.Distinct {
		if r.hasCKRestriction() {
			return cqlerr.Invalidf("SELECT DISTINCT with WHERE clause only supports restriction by partition key and/or static columns.")
		}
		for _, x := range pl.sels {
			if x.kind == selColumn && x.col.Kind != schema.PartitionKey && x.col.Kind != schema.Static {
				return cqlerr.Invalidf("SELECT DISTINCT queries must only request partition key columns and/or static columns (not %s)", x.col.Name)
			}
		}
	}
	if r.usesFilter && !st.AllowFiltering {
		return cqlerr.Invalidf(filteringMsg)
	}
	if !r.pkFull && r.hasCKRestriction() && !st.AllowFiltering {
		return cqlerr.Invalidf(filteringMsg)
	}
	if r.hasToken && r.pkFull {
		return cqlerr.Invalidf("Cannot use token relation when the partition key is restricted by = or IN")
	}
	if len(st.OrderBy) > 0 {
		if !r.pkFull {
			return cqlerr.Invalidf("ORDER BY is only supported when the partition key is restricted by an EQ or an IN.")
		}
		reversed := false
		for i, o := range st.OrderBy {
			col := t.Column(o.Column)
			if col == nil {
				return cqlerr.Invalidf("Undefined column name %s", o.Column)
			}
			if col.Kind != schema.Clustering {
				return cqlerr.Invalidf("Order by is currently only supported on the clustered columns of the PRIMARY KEY, got %s", o.Column)
			}
			if col.Position != i {
				return cqlerr.Invalidf("Order by currently only supports the ordering of columns following their declared order in the PRIMARY KEY")
			}
			rev := o.Desc != col.Desc
			if i == 0 {
				reversed = rev
			} else if rev != reversed {
				return cqlerr.Invalidf("Unsupported order by relation")
			}
		}
		pl.reversed = reversed
	}
	return nil
}

func (r *restrictions) hasCKRestriction() bool {
	if len(r.ckPrefix) > 0 || r.sliceStart.set || r.sliceEnd.set {
		return true
	}
	for _, f := range r.filters {
		if f.col.Kind == schema.Clustering {
			return true
		}
	}
	return false
}

// pageState is where a paged SELECT resumes: after the row (token, key,
// clustering) — or after the whole partition when clustering is nil and
// partitionDone is set.
type pageState struct {
	token         int64
	key           []byte
	clustering    []byte
	partitionDone bool
	staticDone    bool
	rowsSent      int64
	ppCount       int64
}

const pageStateVersion = 1

func (s *pageState) encode() []byte {
	out := []byte{pageStateVersion, 0}
	if s.partitionDone {
		out[1] |= 1
	}
	if s.staticDone {
		out[1] |= 2
	}
	out = binary.BigEndian.AppendUint64(out, uint64(s.token))
	out = binary.AppendUvarint(out, uint64(len(s.key)))
	out = append(out, s.key...)
	out = binary.AppendUvarint(out, uint64(len(s.clustering)))
	out = append(out, s.clustering...)
	out = binary.AppendUvarint(out, uint64(s.rowsSent))
	out = binary.AppendUvarint(out, uint64(s.ppCount))
	return out
}

func decodePageState(b []byte) (*pageState, error) {
	bad := cqlerr.Protocolf("Invalid value for the paging state")
	if len(b) < 10 || b[0] != pageStateVersion {
		return nil, bad
	}
	s := &pageState{partitionDone: b[1]&1 != 0, staticDone: b[1]&2 != 0}
	s.token = int64(binary.BigEndian.Uint64(b[2:]))
	b = b[10:]
	readBytes := func() ([]byte, bool) {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return nil, false
		}
		v := b[k : k+int(n)]
		b = b[k+int(n):]
		return v, true
	}
	var ok bool
	if s.key, ok = readBytes(); !ok {
		return nil, bad
	}
	if s.clustering, ok = readBytes(); !ok {
		return nil, bad
	}
	n, k := binary.Uvarint(b)
	if k <= 0 {
		return nil, bad
	}
	if n > math.MaxInt64 {
		return nil, bad
	}
	s.rowsSent, b = int64(n), b[k:]
	n, k = binary.Uvarint(b)
	if k <= 0 || n > math.MaxInt64 || k != len(b) {
		return nil, bad
	}
	s.ppCount = int64(n)
	return s, nil
}

// checkState refuses a paging state this query cannot have produced: a
// partition key that does not decode for the table or does not hash to
// the state's token, a clustering that does not decode, a partition
// outside the query's token range or IN list, or counters beyond the
// query's LIMIT and PER PARTITION LIMIT. Drivers pass states back
// untouched; a state that fails here was damaged or forged, and gets a
// protocol error rather than rows the query does not select.
func (pl *selectPlan) checkState(s *pageState) error {
	bad := cqlerr.Protocolf("Invalid value for the paging state")
	t, r := pl.t, pl.r
	if _, err := splitPartitionKey(t, s.key); err != nil || len(s.key) == 0 || ring.Murmur3Token(s.key) != s.token {
		return bad
	}
	if len(s.clustering) > 0 {
		if len(t.Clustering) == 0 || s.partitionDone || pl.st.Distinct {
			return bad
		}
		if _, err := decodeClustering(t, s.clustering, nil); err != nil {
			return bad
		}
	}
	if s.rowsSent < 0 || s.rowsSent >= pl.limit || s.ppCount < 0 || s.ppCount > pl.ppLimit {
		return bad
	}
	if r.hasToken && !r.inTokenRange(s.token) {
		return bad
	}
	if r.pkFull && !r.empty {
		keys, err := r.partitionKeys()
		if err != nil {
			return err
		}
		for _, k := range keys {
			if k.token == s.token && bytes.Equal(k.key, s.key) {
				return nil
			}
		}
		return bad
	}
	return nil
}

// inTokenRange reports whether token satisfies the query's token(...)
// restrictions.
func (r *restrictions) inTokenRange(token int64) bool {
	if token < r.tokenStart || (token == r.tokenStart && !r.tokenStartInc) {
		return false
	}
	return token < r.tokenEnd || (token == r.tokenEnd && r.tokenEndI)
}

// output accumulates result rows.
type output struct {
	pl    *selectPlan
	rows  *Rows
	aggs  []aggState
	count int64 // rows emitted (page)
	total int64 // rows emitted over all pages (for LIMIT)
	last  *pageState
	full  bool
}

func (p *Processor) runSelect(ctx context.Context, c *evalCtx, pl *selectPlan, state *pageState) (*Result, error) {
	t, r := pl.t, pl.r
	rows := &Rows{}
	for _, x := range pl.sels {
		rows.Columns = append(rows.Columns, ColumnSpec{Keyspace: t.Keyspace, Table: t.Name, Name: x.name, Type: x.typ})
	}
	out := &output{pl: pl, rows: rows}
	if pl.agg {
		out.aggs = make([]aggState, len(pl.sels))
	}
	if state != nil {
		out.total = state.rowsSent
	}
	if r.empty {
		return out.finish(c)
	}
	var err error
	if pl.slices, err = r.slices(); err != nil {
		return nil, err
	}
	pl.needStatic = t.HasStatic
	if c.cl.IsSerial() {
		unlock, err := p.serialRead(c, pl)
		if err != nil {
			return nil, err
		}
		defer unlock()
	}
	if r.pkFull {
		keys, err := r.partitionKeys()
		if err != nil {
			return nil, err
		}
		if len(pl.st.OrderBy) > 0 && len(keys) > 1 {
			if pl.pageSize != math.MaxInt64 {
				return nil, cqlerr.Invalidf("Cannot page queries with both ORDER BY and a IN restriction on the partition key; you must either remove the ORDER BY or the IN and sort client side, or disable paging for this query")
			}
			return p.orderedIN(ctx, c, pl, keys, out)
		}
		for _, k := range keys {
			if state != nil {
				cmp := comparePos(k.token, k.key, state.token, state.key)
				if cmp < 0 || (cmp == 0 && state.partitionDone) {
					continue
				}
			}
			var resume *pageState
			if state != nil && k.token == state.token && bytes.Equal(k.key, state.key) {
				resume = state
			}
			if pl.st.Distinct {
				k := k
				rows := func(fn func(*storage.Row) bool) error {
					return p.store.ReadPartition(ctx, t, k.token, k.key, storage.PartitionQuery{Static: pl.needStatic, Limit: 1}, c.cl, fn)
				}
				if err := p.distinctRows(c, pl, k.token, k.key, rows, out); err != nil {
					return nil, err
				}
			} else if err := p.readPartition(c, pl, k.token, k.key, resume, out); err != nil {
				return nil, err
			}
			if out.full {
				break
			}
		}
		return out.finish(c)
	}
	// Range scan in token order.
	start := storage.PartitionPos{Token: math.MinInt64, Inclusive: true}
	endToken := int64(math.MaxInt64)
	if r.hasToken {
		start = storage.PartitionPos{Token: r.tokenStart, Inclusive: r.tokenStartInc}
		endToken = r.tokenEnd
		if !r.tokenEndI {
			if endToken == math.MinInt64 {
				return out.finish(c)
			}
			endToken--
		}
	}
	// A page that stopped inside a partition resumes that partition first.
	if state != nil && !state.partitionDone {
		if err := p.readPartition(c, pl, state.token, state.key, state, out); err != nil {
			return nil, err
		}
		if out.full {
			return out.finish(c)
		}
	}
	if state != nil {
		start = storage.PartitionPos{Token: state.token, Key: state.key, Inclusive: false}
	}
	q := storage.PartitionQuery{Slices: pl.slices, Reversed: pl.reversed, Static: pl.needStatic}
	if pl.st.Distinct {
		q = storage.PartitionQuery{Static: pl.needStatic, Limit: 1}
	}
	var readErr error
	err = p.store.ScanPartitions(ctx, t, start, endToken, q, c.cl, func(token int64, key []byte, rows RowsFunc) bool {
		if ctx.Err() != nil {
			readErr = cqlerr.Serverf("request cancelled")
			return false
		}
		if pl.st.Distinct {
			readErr = p.distinctRows(c, pl, token, key, rows, out)
		} else {
			readErr = p.partitionRows(c, pl, token, key, nil, rows, out)
		}
		return readErr == nil && !out.full
	})
	if err != nil {
		if e, ok := err.(*cqlerr.Error); ok {
			return nil, e
		}
		return nil, cqlerr.Serverf("scan failed: %v", err)
	}
	if readErr != nil {
		return nil, readErr
	}
	return out.finish(c)
}

func comparePos(t1 int64, k1 []byte, t2 int64, k2 []byte) int {
	if t1 != t2 {
		if t1 < t2 {
			return -1
		}
		return 1
	}
	return bytes.Compare(k1, k2)
}

// resumeSlices narrows slices to what follows clustering ck in read order.
func resumeSlices(slices []storage.Slice, ck []byte, reversed bool) []storage.Slice {
	if slices == nil {
		slices = []storage.Slice{{Start: storage.Bound{Inclusive: true}, End: storage.Bound{Inclusive: true}}}
	}
	var out []storage.Slice
	for _, s := range slices {
		if !reversed {
			// keep the part of s strictly after ck
			if len(s.End.Prefix) > 0 && boundBefore(s.End, ck) {
				continue
			}
			ns := s
			if len(s.Start.Prefix) == 0 || bytes.Compare(s.Start.Prefix, ck) <= 0 {
				ns.Start = storage.Bound{Prefix: ck, Inclusive: false}
			}
			out = append(out, ns)
		} else {
			if len(s.Start.Prefix) > 0 && bytes.Compare(s.Start.Prefix, ck) > 0 {
				continue
			}
			ns := s
			if len(s.End.Prefix) == 0 || !boundBefore(s.End, ck) {
				ns.End = storage.Bound{Prefix: ck, Inclusive: false}
			}
			out = append(out, ns)
		}
	}
	return out
}

// boundBefore reports whether every key allowed by end bound b sorts
// before or at ck (so nothing after ck remains).
func boundBefore(b storage.Bound, ck []byte) bool {
	if b.Inclusive {
		return bytes.Compare(b.Prefix, ck) < 0 && !bytes.HasPrefix(ck, b.Prefix)
	}
	return bytes.Compare(b.Prefix, ck) <= 0
}

// readPartition reads one partition's rows into out (resuming after the
// paging state's row when resume is set).
func (p *Processor) readPartition(c *evalCtx, pl *selectPlan, token int64, key []byte, resume *pageState, out *output) error {
	slices := pl.slices
	if resume != nil && len(resume.clustering) > 0 {
		slices = resumeSlices(slices, resume.clustering, pl.reversed)
		if len(slices) == 0 {
			return nil
		}
	}
	q := storage.PartitionQuery{Slices: slices, Reversed: pl.reversed, Static: pl.needStatic, Limit: pl.rowLimit(resume, out)}
	rows := func(fn func(*storage.Row) bool) error {
		return p.store.ReadPartition(c.ctx, pl.t, token, key, q, c.cl, fn)
	}
	return p.partitionRows(c, pl, token, key, resume, rows, out)
}

// rowLimit is how many live rows a partition read can need: what is left
// of the page, the LIMIT and the PER PARTITION LIMIT — unless rows are
// filtered after the read or aggregated (then every row is needed). It
// lets storage and replicas stop early instead of reading to the end of
// the partition on every page.
func (pl *selectPlan) rowLimit(resume *pageState, out *output) int {
	if pl.agg || pl.r.usesFilter || len(pl.r.tupleFilters) > 0 {
		return 0
	}
	n := pl.pageSize - out.count
	n = min(n, pl.limit-out.total)
	pp := pl.ppLimit
	if resume != nil {
		pp -= resume.ppCount
	}
	n = min(n, pp)
	if n <= 0 || n > 1<<30 {
		return 0
	}
	return int(n)
}

// partitionRows emits a partition's rows from rows into out.
func (p *Processor) partitionRows(c *evalCtx, pl *selectPlan, token int64, key []byte, resume *pageState, rows RowsFunc, out *output) error {
	t := pl.t
	ppCount := int64(0)
	staticDone := false
	if resume != nil {
		ppCount = resume.ppCount
		staticDone = resume.staticDone
	}
	pkVals, err := splitPartitionKey(t, key)
	if err != nil {
		return err
	}
	var static *rowView
	sawRow := false
	var ckBuf [][]byte
	var iterErr error
	err = rows(func(row *storage.Row) bool {
		if row.Static {
			static = pl.view(row, nil)
			return true
		}
		sawRow = true
		rv := pl.view(row, static)
		copy(rv.vals, pkVals)
		ckBuf, iterErr = decodeClustering(t, row.Clustering, ckBuf)
		if iterErr != nil {
			return false
		}
		for i, v := range ckBuf {
			rv.vals[len(t.PartitionKey)+i] = append([]byte{}, v...) // empty stays empty, not null
		}
		if !pl.r.matches(rv) {
			return true
		}
		if ppCount >= pl.ppLimit {
			return false
		}
		ppCount++
		if iterErr = out.emit(c, rv, key); iterErr != nil {
			return false
		}
		if out.full || out.total >= pl.limit {
			out.last = pl.afterRow(token, key, row.Clustering, out.total, ppCount)
			if out.total >= pl.limit {
				out.full = true
				out.last = nil
			}
			return false
		}
		return true
	})
	if err != nil {
		if e, ok := err.(*cqlerr.Error); ok {
			return e
		}
		return cqlerr.Serverf("read failed: %v", err)
	}
	if iterErr != nil {
		return iterErr
	}
	// A partition with only static data yields one row (when the query
	// does not restrict clustering columns), as Cassandra does.
	if !sawRow && static != nil && !staticDone && !pl.r.hasCKRestriction() && !out.full {
		copy(static.vals, pkVals)
		if pl.r.matches(static) {
			if err := out.emit(c, static, key); err != nil {
				return err
			}
			if out.full || out.total >= pl.limit {
				out.last = &pageState{token: token, key: key, partitionDone: true, rowsSent: out.total}
				if out.total >= pl.limit {
					out.full, out.last = true, nil
				}
			}
		}
	}
	if out.full && out.last == nil && out.total < pl.limit {
		out.last = &pageState{token: token, key: key, partitionDone: true, rowsSent: out.total}
	}
	return nil
}

// afterRow is the paging state that resumes after the row just emitted.
// A table without clustering columns has one row per partition, so the
// next page starts at the next partition: resuming "after the empty
// clustering" would read the same row again.
func (pl *selectPlan) afterRow(token int64, key, clustering []byte, total, ppCount int64) *pageState {
	if len(pl.t.Clustering) == 0 {
		return &pageState{token: token, key: key, partitionDone: true, rowsSent: total}
	}
	return &pageState{token: token, key: key, clustering: append([]byte(nil), clustering...), rowsSent: total, ppCount: ppCount, staticDone: true}
}

// distinctRows emits one row for a partition with live data.
func (p *Processor) distinctRows(c *evalCtx, pl *selectPlan, token int64, key []byte, rows RowsFunc, out *output) error {
	pkVals, err := splitPartitionKey(pl.t, key)
	if err != nil {
		return err
	}
	var rv *rowView
	var static *rowView
	err = rows(func(row *storage.Row) bool {
		if row.Static {
			static = pl.view(row, nil)
			return true
		}
		rv = pl.view(row, static)
		return false
	})
	if err != nil {
		if e, ok := err.(*cqlerr.Error); ok {
			return e
		}
		return cqlerr.Serverf("read failed: %v", err)
	}
	if rv == nil {
		rv = static
	}
	if rv == nil {
		return nil
	}
	copy(rv.vals, pkVals)
	if !pl.r.matches(rv) {
		return nil
	}
	if err := out.emit(c, rv, key); err != nil {
		return err
	}
	if out.full || out.total >= pl.limit {
		out.last = &pageState{token: token, key: key, partitionDone: true, rowsSent: out.total}
		if out.total >= pl.limit {
			out.full, out.last = true, nil
		}
	}
	return nil
}

// orderedIN reads several partitions and merges their rows in clustering
// order (ORDER BY with IN on the partition key; paging is off).
func (p *Processor) orderedIN(ctx context.Context, c *evalCtx, pl *selectPlan, keys []partitionKey, out *output) (*Result, error) {
	type item struct {
		ck  []byte
		rv  *rowView
		key []byte
	}
	var items []item
	for _, k := range keys {
		pkVals, err := splitPartitionKey(pl.t, k.key)
		if err != nil {
			return nil, err
		}
		var static *rowView
		var n int64
		var ckBuf [][]byte
		var iterErr error
		err = p.store.ReadPartition(ctx, pl.t, k.token, k.key, storage.PartitionQuery{Slices: pl.slices, Reversed: pl.reversed, Static: pl.needStatic}, c.cl, func(row *storage.Row) bool {
			if row.Static {
				static = pl.view(row, nil)
				return true
			}
			rv := pl.view(row, static)
			copy(rv.vals, pkVals)
			if ckBuf, iterErr = decodeClustering(pl.t, row.Clustering, ckBuf); iterErr != nil {
				return false
			}
			for i, v := range ckBuf {
				rv.vals[len(pl.t.PartitionKey)+i] = append([]byte{}, v...) // empty stays empty, not null
			}
			if !pl.r.matches(rv) {
				return true
			}
			if n >= pl.ppLimit {
				return false
			}
			n++
			items = append(items, item{ck: append([]byte(nil), row.Clustering...), rv: rv, key: k.key})
			return true
		})
		if err != nil {
			return nil, readErr(err)
		}
		if iterErr != nil {
			return nil, iterErr
		}
	}
	sort.SliceStable(items, func(i, j int) bool {
		cmp := bytes.Compare(items[i].ck, items[j].ck)
		if pl.reversed {
			return cmp > 0
		}
		return cmp < 0
	})
	for _, it := range items {
		if out.total >= pl.limit {
			break
		}
		if err := out.emit(c, it.rv, it.key); err != nil {
			return nil, err
		}
	}
	out.last = nil
	return out.finish(c)
}

// readErr keeps protocol errors (timeouts, unavailable) and wraps others.
func readErr(err error) error {
	if e, ok := err.(*cqlerr.Error); ok {
		return e
	}
	return cqlerr.Serverf("read failed: %v", err)
}

// view converts a storage row into values by table column index,
// assembling multi-cell collections and UDTs, and merging static values.
func (pl *selectPlan) view(row *storage.Row, static *rowView) *rowView {
	t := pl.t
	n := len(t.All)
	rv := &rowView{vals: make([][]byte, n), ts: make([]int64, n), expires: make([]int64, n), ttl: make([]int32, n)}
	if static != nil {
		for i, col := range t.All {
			if col.Kind == schema.Static {
				rv.vals[i], rv.ts[i], rv.expires[i], rv.ttl[i] = static.vals[i], static.ts[i], static.expires[i], static.ttl[i]
			}
		}
	}
	cells := row.Cells
	for i := 0; i < len(cells); {
		cell := &cells[i]
		idx := t.Slot(cell.Column)
		if idx < 0 {
			i++
			continue
		}
		col := t.All[idx]
		if !col.Type.IsMultiCell() {
			rv.vals[idx] = append([]byte{}, cell.Value...)
			rv.ts[idx], rv.expires[idx], rv.ttl[idx] = cell.Timestamp, cell.ExpiresAt, cell.TTL
			i++
			continue
		}
		j := i
		for j < len(cells) && cells[j].Column == cell.Column {
			j++
		}
		rv.vals[idx] = assemble(col.Type, cells[i:j])
		i = j
	}
	return rv
}

// assemble builds the serialized value of a multi-cell column from its
// cells (sorted by path).
func assemble(t *types.Type, cells []storage.Cell) []byte {
	switch t.Kind {
	case types.List:
		elems := make([][]byte, len(cells))
		for i := range cells {
			elems[i] = cells[i].Value
		}
		return types.EncodeCollection(elems)
	case types.Set:
		elems := make([][]byte, 0, len(cells))
		for i := range cells {
			v, _, err := types.DecodeKey(t.Key(), cells[i].Path, false)
			if err == nil {
				elems = append(elems, v)
			}
		}
		return types.EncodeCollection(elems)
	case types.Map:
		keys := make([][]byte, 0, len(cells))
		vals := make([][]byte, 0, len(cells))
		for i := range cells {
			k, _, err := types.DecodeKey(t.Key(), cells[i].Path, false)
			if err == nil {
				keys, vals = append(keys, k), append(vals, cells[i].Value)
			}
		}
		return types.EncodeMap(keys, vals)
	case types.UDT:
		fields := make([][]byte, len(t.Elems))
		for i := range cells {
			if len(cells[i].Path) == 2 {
				f := int(binary.BigEndian.Uint16(cells[i].Path))
				if f < len(fields) {
					fields[f] = cells[i].Value
				}
			}
		}
		// Trailing nulls are kept so the value has every field.
		return types.BuildTuple(fields)
	}
	return nil
}

// matches applies the restrictions that are checked per row.
func (r *restrictions) matches(rv *rowView) bool {
	for i := range r.filters {
		if !r.filters[i].match(r.t, rv) {
			return false
		}
	}
	for i := range r.tupleFilters {
		if !r.tupleFilters[i].match(r.t, rv) {
			return false
		}
	}
	return true
}

func (f *filter) match(t *schema.Table, rv *rowView) bool {
	idx := colIndex(t, f.col)
	v := rv.vals[idx]
	typ := f.col.Type
	switch f.op {
	case cql.OpEq:
		if f.key != nil {
			keys, vals, err := types.DecodeMap(v)
			if err != nil {
				return false
			}
			for i := range keys {
				if types.Compare(typ.Key(), keys[i], f.key) == 0 {
					return types.Compare(typ.Value(), vals[i], f.value) == 0
				}
			}
			return false
		}
		return v != nil && types.Compare(typ, v, f.value) == 0
	case cql.OpIn:
		if v == nil {
			return false
		}
		for _, x := range f.values {
			if types.Compare(typ, v, x) == 0 {
				return true
			}
		}
		return false
	case cql.OpLt, cql.OpLte, cql.OpGt, cql.OpGte:
		if v == nil {
			return false
		}
		cmp := types.Compare(typ, v, f.value)
		switch f.op {
		case cql.OpLt:
			return cmp < 0
		case cql.OpLte:
			return cmp <= 0
		case cql.OpGt:
			return cmp > 0
		default:
			return cmp >= 0
		}
	case cql.OpContains, cql.OpContainsKey:
		if v == nil {
			return false
		}
		if typ.Kind == types.Map {
			keys, vals, err := types.DecodeMap(v)
			if err != nil {
				return false
			}
			list, et := vals, typ.Value()
			if f.op == cql.OpContainsKey {
				list, et = keys, typ.Key()
			}
			for _, x := range list {
				if types.Compare(et, x, f.value) == 0 {
					return true
				}
			}
			return false
		}
		elems, err := types.DecodeCollection(v)
		if err != nil {
			return false
		}
		for _, x := range elems {
			if types.Compare(typ.Key(), x, f.value) == 0 {
				return true
			}
		}
	}
	return false
}

// emit projects a row into the output (or the aggregates).
func (o *output) emit(c *evalCtx, rv *rowView, pk []byte) error {
	pl := o.pl
	if pl.agg {
		for i, s := range pl.sels {
			if err := s.accumulate(c, pl.t, rv, pk, &o.aggs[i]); err != nil {
				return err
			}
		}
		return nil
	}
	for _, s := range pl.sels {
		v, err := s.eval(c, pl.t, rv, pk)
		if err != nil {
			return err
		}
		o.rows.Data = appendCell(o.rows.Data, v)
	}
	o.rows.Count++
	o.count++
	o.total++
	if o.count >= pl.pageSize {
		o.full = true
	}
	return nil
}

func (o *output) finish(c *evalCtx) (*Result, error) {
	if o.pl.agg {
		for i, s := range o.pl.sels {
			v, err := s.result(&o.aggs[i])
			if err != nil {
				return nil, err
			}
			o.rows.Data = appendCell(o.rows.Data, v)
		}
		o.rows.Count = 1
	} else if o.full && o.last != nil && o.total < o.pl.limit {
		o.rows.PagingState = o.last.encode()
	}
	return &Result{Kind: ResultRows, Rows: o.rows}, nil
}

// serialRead prepares a read at SERIAL or LOCAL_SERIAL of one partition.
// With Paxos (a CASStore) it runs a round that applies nothing, which
// finishes any conditional update in progress and repairs replicas that
// missed the last commit, then lets the read go on at the serial
// consistency's quorum (Cassandra's SERIAL read). Without (one replica,
// this node), the read runs under the lock its conditional updates take.
// It returns what to release after.
func (p *Processor) serialRead(c *evalCtx, pl *selectPlan) (func(), error) {
	const onePartition = "SERIAL/LOCAL_SERIAL consistency may only be requested for one partition at a time"
	if !pl.r.pkFull {
		return nil, cqlerr.Invalidf(onePartition)
	}
	keys, err := pl.r.partitionKeys()
	if err != nil {
		return nil, err
	}
	if len(keys) != 1 {
		return nil, cqlerr.Invalidf(onePartition)
	}
	if cs, ok := p.store.(CASStore); ok {
		serial := c.cl
		if _, err := cs.CAS(c.ctx, pl.t, keys[0].token, keys[0].key, serial, consistency.Quorum,
			func(context.Context, int64) ([]*storage.Mutation, bool, error) { return nil, false, nil }); err != nil {
			return nil, err
		}
		c.cl = consistency.Quorum
		if serial == consistency.LocalSerial {
			c.cl = consistency.LocalQuorum
		}
		return func() {}, nil
	}
	lock := &p.lwtLocks[uint64(keys[0].token)%uint64(len(p.lwtLocks))]
	lock.Lock()
	return lock.Unlock, nil
}
