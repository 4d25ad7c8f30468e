package query

import (
	"bytes"
	"math"
	"sort"

	"github.com/ringdb/ringdb/internal/cql"
	"github.com/ringdb/ringdb/internal/cqlerr"
	"github.com/ringdb/ringdb/internal/schema"
	"github.com/ringdb/ringdb/internal/storage"
	"github.com/ringdb/ringdb/internal/types"
)

// maxINCombinations bounds the cartesian product of IN restrictions.
const maxINCombinations = 10000

// filter is a restriction checked row by row (ALLOW FILTERING, or any
// restriction on a virtual table).
type filter struct {
	col    *schema.Column
	op     cql.Operator
	value  []byte   // single value
	values [][]byte // IN
	key    []byte   // map element restriction m[key] = value
}

// bound is one side of a clustering slice: the clustering values of the
// bound (one or more columns, after the equality prefix) and inclusivity.
type bound struct {
	vals      [][]byte
	inclusive bool
	set       bool
}

// restrictions is the analysed WHERE clause of a statement.
type restrictions struct {
	t *schema.Table
	// pkValues holds, per partition key column, its = / IN values; nil
	// entries mean unrestricted.
	pkValues [][][]byte
	pkFull   bool
	// token range (token(pk) restrictions): start exclusive/inclusive, end.
	hasToken                 bool
	tokenStart, tokenEnd     int64
	tokenStartInc, tokenEndI bool
	// ckPrefix holds the equality/IN values of the leading clustering columns.
	ckPrefix [][][]byte
	// slice on the clustering columns following the prefix.
	sliceStart, sliceEnd bound
	// filters are the restrictions checked per row: on regular and static
	// columns, a partially restricted partition key, and clustering
	// restrictions that cannot be expressed as the prefix and slice.
	filters []filter
	// usesFilter is true when some restriction needs ALLOW FILTERING.
	usesFilter bool
	// empty is true when the restrictions can match nothing (IN ()).
	empty bool
	// multiTuples holds (c1..cn) IN ((..), ..) tuples following ckPrefix.
	multiTuples [][][]byte
	// slicePos is the clustering position the slice applies to.
	slicePos int
	// tupleFilters check multi-column slices over columns of mixed order.
	tupleFilters []tupleFilter
}

// tupleFilter is a multi-column slice checked per row, comparing the
// clustering tuple in the columns' logical (not storage) order.
type tupleFilter struct {
	cols []*schema.Column
	op   cql.Operator
	vals [][]byte
}

// match reports whether the row's clustering tuple satisfies the filter.
func (f *tupleFilter) match(t *schema.Table, rv *rowView) bool {
	cmp := 0
	for i, col := range f.cols {
		v := rv.vals[len(t.PartitionKey)+col.Position]
		if cmp = types.Compare(col.Type, v, f.vals[i]); cmp != 0 {
			break
		}
	}
	switch f.op {
	case cql.OpGt:
		return cmp > 0
	case cql.OpGte:
		return cmp >= 0
	case cql.OpLt:
		return cmp < 0
	default:
		return cmp <= 0
	}
}

// clusteringRelations gathers the relations on clustering columns while
// analyze goes through the WHERE clause; they are settled into a prefix,
// a slice and filters once every relation is known.
type clusteringRelations struct {
	// eq holds, per clustering column, its = / IN values (nil when not
	// restricted by = or IN).
	eq [][][]byte
	// slices are the bounds given by <, <=, >, >= (single or multi-column).
	slices []clusteringSlice
	// multiIn holds the tuples of (c1..cn) IN ((..), (..)), the first of
	// the columns at multiInPos (-1 without such a relation).
	multiIn    [][][]byte
	multiInPos int
}

// clusteringSlice is one bound of a slice on the clustering columns from
// position pos.
type clusteringSlice struct {
	pos        int
	start, end bound
}

// sliceOf is the slice that bounds the clustering columns from pos by
// vals: its start for > and >=, its end for < and <=.
func sliceOf(pos int, op cql.Operator, vals [][]byte, inclusive bool) clusteringSlice {
	s := clusteringSlice{pos: pos}
	b := bound{vals: vals, inclusive: inclusive, set: true}
	if op == cql.OpGt || op == cql.OpGte {
		s.start = b
	} else {
		s.end = b
	}
	return s
}

// inclusiveOp reports whether a slice operator admits its bound.
func inclusiveOp(op cql.Operator) bool { return op == cql.OpGte || op == cql.OpLte }

// analyze resolves and classifies the relations of a WHERE clause: the
// partition key values or token range that select partitions, the
// clustering prefix and slice that select rows within them, and the
// filters checked row by row.
func (c *evalCtx) analyze(t *schema.Table, where []cql.Relation) (*restrictions, error) {
	r := &restrictions{t: t, pkValues: make([][][]byte, len(t.PartitionKey))}
	ck := &clusteringRelations{eq: make([][][]byte, len(t.Clustering)), multiInPos: -1}
	for i := range where {
		if err := c.relation(r, ck, &where[i]); err != nil {
			return nil, err
		}
	}
	r.settlePartitionKey()
	if err := r.settleClustering(ck); err != nil {
		return nil, err
	}
	return r, nil
}

// relation records one relation of the WHERE clause, by its kind and
// operator.
func (c *evalCtx) relation(r *restrictions, ck *clusteringRelations, rel *cql.Relation) error {
	switch rel.Kind {
	case cql.RelToken:
		return c.tokenRelation(r, rel)
	case cql.RelMulti:
		return c.multiColumnRelation(r, ck, rel)
	}
	col := r.t.Column(rel.Columns[0])
	if col == nil {
		return cqlerr.Invalidf("Undefined column name %s", rel.Columns[0])
	}
	if rel.Kind == cql.RelMapElement {
		return c.mapEntryRelation(r, col, rel)
	}
	switch rel.Op {
	case cql.OpEq, cql.OpIn:
		return c.eqInRelation(r, ck, col, rel)
	case cql.OpGt, cql.OpGte, cql.OpLt, cql.OpLte, cql.OpNeq:
		return c.sliceRelation(r, ck, col, rel)
	case cql.OpContains, cql.OpContainsKey:
		return c.containsRelation(r, col, rel)
	case cql.OpIsNotNull:
		return cqlerr.Invalidf("IS NOT NULL is only supported in materialized views")
	default:
		return cqlerr.Invalidf("Unsupported operator %s", rel.Op)
	}
}

// eqInRelation records col = v or col IN (...): values of a partition key
// or clustering column (at most one such relation per column), or a
// filter on any other column.
func (c *evalCtx) eqInRelation(r *restrictions, ck *clusteringRelations, col *schema.Column, rel *cql.Relation) error {
	vals, err := c.eqInValues(r, col, rel)
	if err != nil {
		return err
	}
	switch col.Kind {
	case schema.PartitionKey:
		if r.pkValues[col.Position] != nil {
			return cqlerr.Invalidf("%s cannot be restricted by more than one relation if it includes an Equal", col.Name)
		}
		r.pkValues[col.Position] = vals
	case schema.Clustering:
		if ck.eq[col.Position] != nil {
			return cqlerr.Invalidf("%s cannot be restricted by more than one relation if it includes an Equal", col.Name)
		}
		ck.eq[col.Position] = vals
	default:
		f := filter{col: col, op: rel.Op}
		if rel.Op == cql.OpEq {
			f.value = vals[0]
		} else {
			f.values = vals
		}
		r.filters = append(r.filters, f)
		r.usesFilter = true
	}
	return nil
}

// eqInValues evaluates the value of col = v (neither unset nor null) or
// the values of col IN (...); an empty IN list makes r match nothing.
func (c *evalCtx) eqInValues(r *restrictions, col *schema.Column, rel *cql.Relation) ([][]byte, error) {
	if rel.Op == cql.OpIn {
		vals, err := c.inValues(rel, col.Type, col.Name)
		if err != nil {
			return nil, err
		}
		if len(vals) == 0 {
			r.empty = true
		}
		return vals, nil
	}
	v, unset, err := c.term(rel.Value, col.Type, col.Name)
	if err != nil {
		return nil, err
	}
	if unset {
		return nil, cqlerr.Invalidf("Invalid unset value for column %s", col.Name)
	}
	if v == nil {
		return nil, cqlerr.Invalidf("Invalid null value in condition for column %s", col.Name)
	}
	return [][]byte{v}, nil
}

// sliceRelation records col < v, <=, >, >= or !=: a slice bound on a
// clustering column, a filter on a regular or static column. Cassandra
// refuses slices on the partition key and != everywhere.
func (c *evalCtx) sliceRelation(r *restrictions, ck *clusteringRelations, col *schema.Column, rel *cql.Relation) error {
	v, _, err := c.term(rel.Value, col.Type, col.Name)
	if err != nil {
		return err
	}
	if v == nil {
		return cqlerr.Invalidf("Invalid null value for column %s", col.Name)
	}
	if rel.Op == cql.OpNeq {
		return cqlerr.Invalidf("Unsupported \"!=\" relation: %s != %s", col.Name, types.Format(col.Type, v))
	}
	switch col.Kind {
	case schema.Clustering:
		ck.slices = append(ck.slices, sliceOf(col.Position, rel.Op, [][]byte{v}, inclusiveOp(rel.Op)))
	case schema.PartitionKey:
		return cqlerr.Invalidf("Only EQ and IN relation are supported on the partition key (unless you use the token() function)")
	default:
		r.filters = append(r.filters, filter{col: col, op: rel.Op, value: v})
		r.usesFilter = true
	}
	return nil
}

// containsRelation records col CONTAINS v (an element of a list or set, a
// value of a map) or col CONTAINS KEY k (a key of a map) as a filter.
func (c *evalCtx) containsRelation(r *restrictions, col *schema.Column, rel *cql.Relation) error {
	if !col.Type.IsCollection() {
		return cqlerr.Invalidf("Cannot use %s on non-collection column %s", rel.Op, col.Name)
	}
	et := col.Type.Key()
	if rel.Op == cql.OpContains && col.Type.Kind == types.Map {
		et = col.Type.Value()
	}
	if rel.Op == cql.OpContainsKey && col.Type.Kind != types.Map {
		return cqlerr.Invalidf("Cannot use CONTAINS KEY on non-map column %s", col.Name)
	}
	v, _, err := c.term(rel.Value, et, col.Name)
	if err != nil {
		return err
	}
	r.filters = append(r.filters, filter{col: col, op: rel.Op, value: v})
	r.usesFilter = true
	return nil
}

// mapEntryRelation records m[k] = v, the map m holding v under key k, as
// a filter.
func (c *evalCtx) mapEntryRelation(r *restrictions, col *schema.Column, rel *cql.Relation) error {
	if col.Type.Kind != types.Map {
		return cqlerr.Invalidf("Column %s is not a map", col.Name)
	}
	k, _, err := c.term(rel.Key, col.Type.Key(), col.Name)
	if err != nil {
		return err
	}
	v, _, err := c.term(rel.Value, col.Type.Value(), col.Name)
	if err != nil {
		return err
	}
	r.filters = append(r.filters, filter{col: col, op: cql.OpEq, key: k, value: v})
	r.usesFilter = true
	return nil
}

// multiColumnRelation records (c1, ..., cn) op tuple: equal values of the
// clustering columns, IN tuples, or a slice on them.
func (c *evalCtx) multiColumnRelation(r *restrictions, ck *clusteringRelations, rel *cql.Relation) error {
	cols, err := multiColumns(r.t, rel)
	if err != nil {
		return err
	}
	tt := make([]*types.Type, len(cols))
	for j, col := range cols {
		tt[j] = col.Type
	}
	tupleType := types.TupleOf(tt...)
	name := relColumns(rel)
	switch rel.Op {
	case cql.OpEq:
		vals, err := c.tupleValues(rel.Value, tupleType, name)
		if err != nil {
			return err
		}
		for j, col := range cols {
			ck.eq[col.Position] = [][]byte{vals[j]}
		}
		return nil
	case cql.OpIn:
		tuples, err := c.inTuples(rel, tupleType, name)
		if err != nil {
			return err
		}
		ck.multiIn, ck.multiInPos = tuples, cols[0].Position
		if len(tuples) == 0 {
			r.empty = true
		}
		return nil
	case cql.OpGt, cql.OpGte, cql.OpLt, cql.OpLte:
		return c.multiColumnSlice(r, ck, cols, rel, tupleType, name)
	default:
		return cqlerr.Invalidf("Unsupported operator %s in multi-column relation", rel.Op)
	}
}

// multiColumns resolves the columns of a multi-column relation: clustering
// columns, consecutive and in the primary key's order.
func multiColumns(t *schema.Table, rel *cql.Relation) ([]*schema.Column, error) {
	cols := make([]*schema.Column, len(rel.Columns))
	for j, n := range rel.Columns {
		col := t.Column(n)
		if col == nil {
			return nil, cqlerr.Invalidf("Undefined column name %s", n)
		}
		if col.Kind != schema.Clustering {
			return nil, cqlerr.Invalidf("Multi-column relations can only be applied to clustering columns but was applied to: %s", n)
		}
		if col.Position != cols0pos(cols, j, col) {
			return nil, cqlerr.Invalidf("Clustering columns must appear in the PRIMARY KEY order in multi-column relations: %s", relColumns(rel))
		}
		cols[j] = col
	}
	return cols, nil
}

// inTuples evaluates the tuples of (c1, ..., cn) IN ((..), ..) or IN ?.
func (c *evalCtx) inTuples(rel *cql.Relation, tupleType *types.Type, name string) ([][][]byte, error) {
	var tuples [][][]byte
	if rel.InValues == nil && rel.Value != nil {
		v, _, err := c.term(rel.Value, tupleType, name)
		if err != nil {
			return nil, err
		}
		elems, err := types.DecodeCollection(v)
		if err != nil {
			return nil, cqlerr.Invalidf("Invalid IN list: %v", err)
		}
		for _, e := range elems {
			f, err := types.DecodeFields(e)
			if err != nil || len(f) != len(tupleType.Elems) {
				return nil, cqlerr.Invalidf("Invalid tuple in IN list for %s", name)
			}
			tuples = append(tuples, f)
		}
		return tuples, nil
	}
	for _, e := range rel.InValues {
		vals, err := c.tupleValues(e, tupleType, name)
		if err != nil {
			return nil, err
		}
		tuples = append(tuples, vals)
	}
	return tuples, nil
}

// multiColumnSlice records (c1, ..., cn) > tuple (or >=, <, <=). Over
// columns of one order it is one contiguous key range. Over columns of
// mixed order it is not: the first column bounds the read (inclusively)
// and the whole tuple is checked per row.
func (c *evalCtx) multiColumnSlice(r *restrictions, ck *clusteringRelations, cols []*schema.Column, rel *cql.Relation, tupleType *types.Type, name string) error {
	vals, err := c.tupleValues(rel.Value, tupleType, name)
	if err != nil {
		return err
	}
	for _, col := range cols[1:] {
		if col.Desc != cols[0].Desc {
			ck.slices = append(ck.slices, sliceOf(cols[0].Position, rel.Op, vals[:1], true))
			r.tupleFilters = append(r.tupleFilters, tupleFilter{cols: cols, op: rel.Op, vals: vals})
			return nil
		}
	}
	ck.slices = append(ck.slices, sliceOf(cols[0].Position, rel.Op, vals, inclusiveOp(rel.Op)))
	return nil
}

// settlePartitionKey decides how partitions are selected: by key when
// every partition key column is restricted by = or IN; otherwise the
// restricted columns, if any, are filtered row by row.
func (r *restrictions) settlePartitionKey() {
	restricted := 0
	for _, v := range r.pkValues {
		if v != nil {
			restricted++
		}
	}
	if restricted == len(r.t.PartitionKey) {
		r.pkFull = true
		return
	}
	if restricted == 0 {
		return
	}
	for i, v := range r.pkValues {
		if v != nil {
			r.filters = append(r.filters, filter{col: r.t.PartitionKey[i], op: cql.OpIn, values: v})
			r.pkValues[i] = nil
		}
	}
	r.usesFilter = true
}

// settleClustering turns the clustering relations into the longest
// equality prefix (ending with the IN tuples when they follow it), at
// most one slice on the column after it, and filters for the rest.
func (r *restrictions) settleClustering(ck *clusteringRelations) error {
	prefix, err := r.settlePrefix(ck)
	if err != nil {
		return err
	}
	for i := prefix; i < len(r.t.Clustering); i++ {
		if ck.eq[i] != nil {
			r.filters = append(r.filters, filter{col: r.t.Clustering[i], op: cql.OpIn, values: ck.eq[i]})
			r.usesFilter = true
		}
	}
	for _, s := range ck.slices {
		if s.pos == prefix {
			err = r.setSlice(s)
		} else {
			err = r.sliceFilter(s)
		}
		if err != nil {
			return err
		}
	}
	r.slicePos = prefix
	return nil
}

// settlePrefix sets the clustering prefix: the leading columns restricted
// by = or IN, then the IN tuples when they start where those end. It
// returns the number of columns the prefix covers.
func (r *restrictions) settlePrefix(ck *clusteringRelations) (int, error) {
	t := r.t
	if ck.multiIn != nil {
		for i := 0; i < ck.multiInPos; i++ {
			if ck.eq[i] == nil {
				return 0, cqlerr.Invalidf("Clustering column %s cannot be restricted (preceding column is not restricted)", t.Clustering[ck.multiInPos].Name)
			}
		}
	}
	prefix := 0
	for prefix < len(t.Clustering) && ck.eq[prefix] != nil && ck.multiInPos != prefix {
		prefix++
	}
	r.ckPrefix = ck.eq[:prefix]
	if ck.multiIn != nil && ck.multiInPos == prefix {
		// The tuples extend the prefix by their columns: they become one
		// more entry of the prefix list (nil), each a full sub-tuple.
		r.ckPrefix = append(r.ckPrefix, nil)
		r.multiTuples = ck.multiIn
		prefix += len(ck.multiIn[0])
	}
	return prefix, nil
}

// setSlice sets the start and/or end bound of the slice after the prefix;
// each may be given once.
func (r *restrictions) setSlice(s clusteringSlice) error {
	if s.start.set {
		if r.sliceStart.set {
			return cqlerr.Invalidf("More than one restriction was found for the start bound on %s", r.t.Clustering[s.pos].Name)
		}
		r.sliceStart = s.start
	}
	if s.end.set {
		if r.sliceEnd.set {
			return cqlerr.Invalidf("More than one restriction was found for the end bound on %s", r.t.Clustering[s.pos].Name)
		}
		r.sliceEnd = s.end
	}
	return nil
}

// sliceFilter checks per row a single-column slice that does not follow
// the prefix (so cannot bound the read); Cassandra refuses a
// multi-column one there.
func (r *restrictions) sliceFilter(s clusteringSlice) error {
	col := r.t.Clustering[s.pos]
	if len(s.start.vals) > 1 || len(s.end.vals) > 1 {
		return cqlerr.Invalidf("Clustering column %s cannot be restricted (preceding column is not restricted)", col.Name)
	}
	op := cql.OpGt
	b := s.start
	if !b.set {
		op, b = cql.OpLt, s.end
	}
	if b.inclusive {
		op++ // OpGt -> OpGte, OpLt -> OpLte
	}
	r.filters = append(r.filters, filter{col: col, op: op, value: b.vals[0]})
	r.usesFilter = true
	return nil
}

// cols0pos is the position column j of a multi-column relation must
// have: any for the first column, the first's position plus j after it.
func cols0pos(cols []*schema.Column, j int, col *schema.Column) int {
	if j == 0 {
		return col.Position
	}
	return cols[0].Position + j
}

// relColumns names the columns of a multi-column relation as CQL writes
// them: "(c1, c2)".
func relColumns(rel *cql.Relation) string {
	s := "("
	for i, n := range rel.Columns {
		if i > 0 {
			s += ", "
		}
		s += n
	}
	return s + ")"
}

// tupleValues evaluates the right side of a multi-column relation.
func (c *evalCtx) tupleValues(e cql.Expr, tt *types.Type, name string) ([][]byte, error) {
	if tl, ok := e.(*cql.TupleLiteral); ok {
		if len(tl.Elems) != len(tt.Elems) {
			return nil, cqlerr.Invalidf("Expected %d elements in value tuple, but got %d: %s", len(tt.Elems), len(tl.Elems), name)
		}
		out := make([][]byte, len(tl.Elems))
		for i, el := range tl.Elems {
			v, _, err := c.term(el, tt.Elems[i], name)
			if err != nil {
				return nil, err
			}
			if v == nil {
				return nil, cqlerr.Invalidf("Invalid null value in condition for column %s", name)
			}
			out[i] = v
		}
		return out, nil
	}
	v, _, err := c.term(e, tt, name)
	if err != nil {
		return nil, err
	}
	f, err := types.DecodeFields(v)
	if err != nil || len(f) != len(tt.Elems) {
		return nil, cqlerr.Invalidf("Invalid tuple value for %s", name)
	}
	return f, nil
}

// inValues evaluates an IN list (literal list or IN ?).
func (c *evalCtx) inValues(rel *cql.Relation, t *types.Type, name string) ([][]byte, error) {
	if rel.InValues == nil && rel.Value != nil {
		// IN ? : the marker is flagged In, so term validates the bound
		// value as a list of t.
		lt := types.ListOf(t, true)
		if m, ok := rel.Value.(*cql.BindMarker); ok && m.In {
			lt = t
		}
		v, _, err := c.term(rel.Value, lt, name)
		if err != nil {
			return nil, err
		}
		if v == nil {
			return nil, cqlerr.Invalidf("Invalid null value for IN restriction on %s", name)
		}
		return types.DecodeCollection(v)
	}
	out := make([][]byte, 0, len(rel.InValues))
	for _, e := range rel.InValues {
		v, _, err := c.term(e, t, name)
		if err != nil {
			return nil, err
		}
		if v == nil {
			return nil, cqlerr.Invalidf("Invalid null value in condition for column %s", name)
		}
		out = append(out, v)
	}
	return out, nil
}

// tokenRelation records a token(pk) restriction: it narrows the token
// range the scan covers (from the whole ring).
func (c *evalCtx) tokenRelation(r *restrictions, rel *cql.Relation) error {
	if err := checkTokenArgs(r.t, rel); err != nil {
		return err
	}
	tok, err := c.tokenValue(rel)
	if err != nil {
		return err
	}
	if !r.hasToken {
		r.hasToken = true
		r.tokenStart, r.tokenStartInc = math.MinInt64, true
		r.tokenEnd, r.tokenEndI = math.MaxInt64, true
	}
	switch rel.Op {
	case cql.OpGt:
		r.tokenStart, r.tokenStartInc = tok, false
	case cql.OpGte:
		r.tokenStart, r.tokenStartInc = tok, true
	case cql.OpLt:
		r.tokenEnd, r.tokenEndI = tok, false
	case cql.OpLte:
		r.tokenEnd, r.tokenEndI = tok, true
	case cql.OpEq:
		r.tokenStart, r.tokenStartInc, r.tokenEnd, r.tokenEndI = tok, true, tok, true
	default:
		return cqlerr.Invalidf("Unsupported operator %s on token()", rel.Op)
	}
	return nil
}

// checkTokenArgs checks that token() is applied to the whole partition
// key, in its order.
func checkTokenArgs(t *schema.Table, rel *cql.Relation) error {
	if len(rel.Columns) != len(t.PartitionKey) {
		return cqlerr.Invalidf("The token() function must be applied to all partition key components or none of them")
	}
	for i, n := range rel.Columns {
		if t.PartitionKey[i].Name != n {
			return cqlerr.Invalidf("The token function arguments must be in the partition key order: %s", t.PartitionKey[i].Name)
		}
	}
	return nil
}

// tokenValue evaluates the token a token() relation compares with.
func (c *evalCtx) tokenValue(rel *cql.Relation) (int64, error) {
	v, _, err := c.term(rel.Value, types.BigintType, "partition key token")
	if err != nil {
		return 0, err
	}
	if v == nil {
		return 0, cqlerr.Invalidf("Invalid null token value")
	}
	tok, err := types.DecodeBigint(v)
	if err != nil {
		return 0, cqlerr.Invalidf("Invalid token value: %v", err)
	}
	return tok, nil
}

// partitionKeys returns the restricted partition keys in token order.
func (r *restrictions) partitionKeys() ([]partitionKey, error) {
	combos, err := cartesian(r.pkValues, maxINCombinations)
	if err != nil {
		return nil, err
	}
	return sortedPartitionKeys(combos), nil
}

// prefixes returns the encoded clustering prefixes from the equality/IN
// restrictions, sorted and distinct.
func (r *restrictions) prefixes() ([][]byte, error) {
	lists := r.ckPrefix
	if r.multiTuples != nil {
		lists = lists[:len(lists)-1]
	}
	combos, err := cartesian(lists, maxINCombinations)
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for _, combo := range combos {
		if r.multiTuples != nil {
			for _, tup := range r.multiTuples {
				full := append(append([][]byte{}, combo...), tup...)
				out = append(out, encodeClustering(r.t, full))
			}
			continue
		}
		out = append(out, encodeClustering(r.t, combo))
	}
	sort.Slice(out, func(i, j int) bool { return bytes.Compare(out[i], out[j]) < 0 })
	dedup := out[:0]
	for i, p := range out {
		if i > 0 && bytes.Equal(p, out[i-1]) {
			continue
		}
		dedup = append(dedup, p)
	}
	return dedup, nil
}

// slices converts the clustering restrictions into storage slices.
func (r *restrictions) slices() ([]storage.Slice, error) {
	prefixes, err := r.prefixes()
	if err != nil {
		return nil, err
	}
	if len(prefixes) == 1 && len(prefixes[0]) == 0 && !r.sliceStart.set && !r.sliceEnd.set {
		return nil, nil // whole partition
	}
	out := make([]storage.Slice, 0, len(prefixes))
	for _, p := range prefixes {
		s := storage.Slice{Start: storage.Bound{Prefix: p, Inclusive: true}, End: storage.Bound{Prefix: p, Inclusive: true}}
		if r.slicePos < len(r.t.Clustering) {
			desc := r.t.Clustering[r.slicePos].Desc
			enc := func(b bound) []byte {
				out := append([]byte(nil), p...)
				for i, v := range b.vals {
					c := r.t.Clustering[r.slicePos+i]
					out = types.AppendKey(out, c.Type, v, c.Desc)
				}
				return out
			}
			lo, hi := r.sliceStart, r.sliceEnd
			if desc {
				lo, hi = hi, lo
			}
			if lo.set {
				s.Start = storage.Bound{Prefix: enc(lo), Inclusive: lo.inclusive}
			}
			if hi.set {
				s.End = storage.Bound{Prefix: enc(hi), Inclusive: hi.inclusive}
			}
		}
		out = append(out, s)
	}
	return out, nil
}
