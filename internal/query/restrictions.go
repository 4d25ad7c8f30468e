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
	// ckFiltered is set when clustering restrictions cannot be expressed as
	// slices and are checked per row instead.
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

// analyze resolves and classifies the relations of a WHERE clause.
func (c *evalCtx) analyze(t *schema.Table, where []cql.Relation) (*restrictions, error) {
	r := &restrictions{t: t, pkValues: make([][][]byte, len(t.PartitionKey))}
	ckEq := make([][][]byte, len(t.Clustering))
	type ckSlice struct {
		pos        int
		start, end bound
	}
	var slices []ckSlice
	var multiIn [][][]byte // (c1..cn) IN ((..),(..)) tuples
	multiInPos := -1
	for i := range where {
		rel := &where[i]
		switch rel.Kind {
		case cql.RelToken:
			if err := c.tokenRelation(r, rel); err != nil {
				return nil, err
			}
			continue
		case cql.RelMulti:
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
					return nil, err
				}
				for j, col := range cols {
					ckEq[col.Position] = [][]byte{vals[j]}
				}
			case cql.OpIn:
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
						if err != nil || len(f) != len(cols) {
							return nil, cqlerr.Invalidf("Invalid tuple in IN list for %s", name)
						}
						tuples = append(tuples, f)
					}
				} else {
					for _, e := range rel.InValues {
						vals, err := c.tupleValues(e, tupleType, name)
						if err != nil {
							return nil, err
						}
						tuples = append(tuples, vals)
					}
				}
				multiIn, multiInPos = tuples, cols[0].Position
				if len(tuples) == 0 {
					r.empty = true
				}
			case cql.OpGt, cql.OpGte, cql.OpLt, cql.OpLte:
				vals, err := c.tupleValues(rel.Value, tupleType, name)
				if err != nil {
					return nil, err
				}
				mixed := false
				for _, col := range cols[1:] {
					if col.Desc != cols[0].Desc {
						mixed = true
					}
				}
				if mixed {
					// Columns of mixed order: the slice cannot be one
					// contiguous key range. Bound the first column
					// (inclusively) and check the whole tuple per row.
					s := ckSlice{pos: cols[0].Position}
					b := bound{vals: vals[:1], inclusive: true, set: true}
					if rel.Op == cql.OpGt || rel.Op == cql.OpGte {
						s.start = b
					} else {
						s.end = b
					}
					slices = append(slices, s)
					r.tupleFilters = append(r.tupleFilters, tupleFilter{cols: cols, op: rel.Op, vals: vals})
					continue
				}
				s := ckSlice{pos: cols[0].Position}
				b := bound{vals: vals, inclusive: rel.Op == cql.OpGte || rel.Op == cql.OpLte, set: true}
				if rel.Op == cql.OpGt || rel.Op == cql.OpGte {
					s.start = b
				} else {
					s.end = b
				}
				slices = append(slices, s)
			default:
				return nil, cqlerr.Invalidf("Unsupported operator %s in multi-column relation", rel.Op)
			}
			continue
		}
		col := t.Column(rel.Columns[0])
		if col == nil {
			return nil, cqlerr.Invalidf("Undefined column name %s", rel.Columns[0])
		}
		name := col.Name
		if rel.Kind == cql.RelMapElement {
			if col.Type.Kind != types.Map {
				return nil, cqlerr.Invalidf("Column %s is not a map", name)
			}
			k, _, err := c.term(rel.Key, col.Type.Key(), name)
			if err != nil {
				return nil, err
			}
			v, _, err := c.term(rel.Value, col.Type.Value(), name)
			if err != nil {
				return nil, err
			}
			r.filters = append(r.filters, filter{col: col, op: cql.OpEq, key: k, value: v})
			r.usesFilter = true
			continue
		}
		switch rel.Op {
		case cql.OpEq, cql.OpIn:
			var vals [][]byte
			if rel.Op == cql.OpEq {
				v, unset, err := c.term(rel.Value, col.Type, name)
				if err != nil {
					return nil, err
				}
				if unset {
					return nil, cqlerr.Invalidf("Invalid unset value for column %s", name)
				}
				if v == nil {
					return nil, cqlerr.Invalidf("Invalid null value in condition for column %s", name)
				}
				vals = [][]byte{v}
			} else {
				var err error
				if vals, err = c.inValues(rel, col.Type, name); err != nil {
					return nil, err
				}
				if len(vals) == 0 {
					r.empty = true
				}
			}
			switch col.Kind {
			case schema.PartitionKey:
				if r.pkValues[col.Position] != nil {
					return nil, cqlerr.Invalidf("%s cannot be restricted by more than one relation if it includes an Equal", name)
				}
				r.pkValues[col.Position] = vals
			case schema.Clustering:
				if ckEq[col.Position] != nil {
					return nil, cqlerr.Invalidf("%s cannot be restricted by more than one relation if it includes an Equal", name)
				}
				ckEq[col.Position] = vals
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
		case cql.OpGt, cql.OpGte, cql.OpLt, cql.OpLte, cql.OpNeq:
			v, _, err := c.term(rel.Value, col.Type, name)
			if err != nil {
				return nil, err
			}
			if v == nil {
				return nil, cqlerr.Invalidf("Invalid null value for column %s", name)
			}
			if col.Kind == schema.Clustering && rel.Op != cql.OpNeq {
				s := ckSlice{pos: col.Position}
				b := bound{vals: [][]byte{v}, inclusive: rel.Op == cql.OpGte || rel.Op == cql.OpLte, set: true}
				if rel.Op == cql.OpGt || rel.Op == cql.OpGte {
					s.start = b
				} else {
					s.end = b
				}
				slices = append(slices, s)
				continue
			}
			if col.Kind == schema.PartitionKey && rel.Op != cql.OpNeq {
				return nil, cqlerr.Invalidf("Only EQ and IN relation are supported on the partition key (unless you use the token() function)")
			}
			if rel.Op == cql.OpNeq {
				return nil, cqlerr.Invalidf("Unsupported \"!=\" relation: %s != %s", name, types.Format(col.Type, v))
			}
			r.filters = append(r.filters, filter{col: col, op: rel.Op, value: v})
			r.usesFilter = true
		case cql.OpContains, cql.OpContainsKey:
			if !col.Type.IsCollection() {
				return nil, cqlerr.Invalidf("Cannot use %s on non-collection column %s", rel.Op, name)
			}
			et := col.Type.Key()
			if rel.Op == cql.OpContains && col.Type.Kind == types.Map {
				et = col.Type.Value()
			}
			if rel.Op == cql.OpContainsKey && col.Type.Kind != types.Map {
				return nil, cqlerr.Invalidf("Cannot use CONTAINS KEY on non-map column %s", name)
			}
			v, _, err := c.term(rel.Value, et, name)
			if err != nil {
				return nil, err
			}
			r.filters = append(r.filters, filter{col: col, op: rel.Op, value: v})
			r.usesFilter = true
		case cql.OpIsNotNull:
			return nil, cqlerr.Invalidf("IS NOT NULL is only supported in materialized views")
		default:
			return nil, cqlerr.Invalidf("Unsupported operator %s", rel.Op)
		}
	}
	// Partition key: all restricted by =/IN, or none.
	restricted := 0
	for _, v := range r.pkValues {
		if v != nil {
			restricted++
		}
	}
	if restricted == len(t.PartitionKey) {
		r.pkFull = true
	} else if restricted > 0 {
		// Partial partition key: filter on those columns.
		for i, v := range r.pkValues {
			if v != nil {
				r.filters = append(r.filters, filter{col: t.PartitionKey[i], op: cql.OpIn, values: v})
				r.pkValues[i] = nil
			}
		}
		r.usesFilter = true
	}
	if multiIn != nil {
		if multiInPos != 0 {
			for i := 0; i < multiInPos; i++ {
				if ckEq[i] == nil {
					return nil, cqlerr.Invalidf("Clustering column %s cannot be restricted (preceding column is not restricted)", t.Clustering[multiInPos].Name)
				}
			}
		}
	}
	// Clustering: the longest equality prefix, then at most one slice.
	prefix := 0
	for prefix < len(t.Clustering) && ckEq[prefix] != nil && multiInPos != prefix {
		prefix++
	}
	r.ckPrefix = ckEq[:prefix]
	if multiIn != nil && multiInPos == prefix {
		// Expand the tuples into prefixes of the following columns: they
		// become one more "column" of the prefix list, each value a full
		// sub-tuple. Represent them as already-combined prefixes.
		r.ckPrefix = append(r.ckPrefix, nil)
		r.multiTuples = multiIn
		prefix += len(multiIn[0])
		if len(multiIn) == 0 {
			r.empty = true
		}
	}
	for i := prefix; i < len(t.Clustering); i++ {
		if ckEq[i] != nil {
			r.filters = append(r.filters, filter{col: t.Clustering[i], op: cql.OpIn, values: ckEq[i]})
			r.usesFilter = true
		}
	}
	for _, s := range slices {
		if s.pos != prefix {
			col := t.Clustering[s.pos]
			if len(s.start.vals) > 1 || len(s.end.vals) > 1 {
				return nil, cqlerr.Invalidf("Clustering column %s cannot be restricted (preceding column is not restricted)", col.Name)
			}
			op := cql.OpGt
			b := s.start
			if !b.set {
				op, b = cql.OpLt, s.end
			}
			if b.inclusive {
				op++
			}
			r.filters = append(r.filters, filter{col: col, op: op, value: b.vals[0]})
			r.usesFilter = true
			continue
		}
		if s.start.set {
			if r.sliceStart.set {
				return nil, cqlerr.Invalidf("More than one restriction was found for the start bound on %s", t.Clustering[s.pos].Name)
			}
			r.sliceStart = s.start
		}
		if s.end.set {
			if r.sliceEnd.set {
				return nil, cqlerr.Invalidf("More than one restriction was found for the end bound on %s", t.Clustering[s.pos].Name)
			}
			r.sliceEnd = s.end
		}
	}
	r.slicePos = prefix
	return r, nil
}

func cols0pos(cols []*schema.Column, j int, col *schema.Column) int {
	if j == 0 {
		return col.Position
	}
	return cols[0].Position + j
}

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
		v, _, err := c.term(rel.Value, types.ListOf(t, true), name)
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

// tokenRelation records a token(pk) restriction.
func (c *evalCtx) tokenRelation(r *restrictions, rel *cql.Relation) error {
	t := r.t
	if len(rel.Columns) != len(t.PartitionKey) {
		return cqlerr.Invalidf("The token() function must be applied to all partition key components or none of them")
	}
	for i, n := range rel.Columns {
		if t.PartitionKey[i].Name != n {
			return cqlerr.Invalidf("The token function arguments must be in the partition key order: %s", t.PartitionKey[i].Name)
		}
	}
	v, _, err := c.term(rel.Value, types.BigintType, "partition key token")
	if err != nil {
		return err
	}
	if v == nil {
		return cqlerr.Invalidf("Invalid null token value")
	}
	tok, err := types.DecodeBigint(v)
	if err != nil {
		return cqlerr.Invalidf("Invalid token value: %v", err)
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
