package query

import (
	"math"
	"math/big"
	"strings"

	"github.com/ringdb/ringdb/internal/cql"
	"github.com/ringdb/ringdb/internal/cqlerr"
	"github.com/ringdb/ringdb/internal/ring"
	"github.com/ringdb/ringdb/internal/schema"
	"github.com/ringdb/ringdb/internal/types"
)

// selKind is the kind of a compiled selector.
type selKind int

const (
	selColumn selKind = iota
	selWritetime
	selTTL
	selFunc
	selToken
	selCast
	selConst
	selField
	selCount
	selMin
	selMax
	selSum
	selAvg
)

// sel is a compiled selector, evaluated against each row.
type sel struct {
	kind  selKind
	col   *schema.Column
	idx   int // index of col in table.All
	args  []*sel
	fn    *function
	typ   *types.Type
	name  string
	value []byte // selConst
	field int    // selField
	star  bool   // count(*)
}

// rowView is one row being read: values by table.All index, plus write
// metadata of simple cells for writetime()/ttl().
type rowView struct {
	vals    [][]byte
	ts      []int64
	expires []int64
	ttl     []int32
}

func (p *Processor) compileSelection(c *evalCtx, t *schema.Table, st *cql.SelectStatement) ([]*sel, bool, error) {
	var out []*sel
	if st.Star {
		for i, col := range t.All {
			out = append(out, &sel{kind: selColumn, col: col, idx: i, typ: col.Type, name: col.Name})
		}
		return out, false, nil
	}
	agg := false
	for _, s := range st.Selectors {
		x, err := p.compileSel(c, t, s.Expr)
		if err != nil {
			return nil, false, err
		}
		if s.Alias != "" {
			x.name = s.Alias
		}
		if x.kind >= selCount {
			agg = true
		}
		out = append(out, x)
	}
	return out, agg, nil
}

func colIndex(t *schema.Table, col *schema.Column) int { return t.Slot(col.ID) }

func (p *Processor) compileSel(c *evalCtx, t *schema.Table, e cql.Expr) (*sel, error) {
	switch x := e.(type) {
	case *cql.ColumnRef:
		col := t.Column(x.Name)
		if col == nil {
			return nil, cqlerr.Invalidf("Undefined column name %s in selection clause", x.Name)
		}
		return &sel{kind: selColumn, col: col, idx: colIndex(t, col), typ: col.Type, name: col.Name}, nil
	case *cql.WritetimeExpr:
		col := t.Column(x.Column)
		if col == nil {
			return nil, cqlerr.Invalidf("Undefined column name %s in selection clause", x.Column)
		}
		fname := "writetime"
		if x.Kind == "ttl" {
			fname = "ttl"
		}
		if col.IsPrimaryKey() {
			return nil, cqlerr.Invalidf("Cannot use selection function %s on PRIMARY KEY part %s", fname, col.Name)
		}
		if col.Type.IsMultiCell() {
			return nil, cqlerr.Invalidf("Cannot use selection function %s on non-frozen collection %s", fname, col.Name)
		}
		if x.Kind == "ttl" {
			return &sel{kind: selTTL, col: col, idx: colIndex(t, col), typ: types.IntType, name: "ttl(" + col.Name + ")"}, nil
		}
		return &sel{kind: selWritetime, col: col, idx: colIndex(t, col), typ: types.BigintType, name: x.Kind + "(" + col.Name + ")"}, nil
	case *cql.CastExpr:
		arg, err := p.compileSel(c, t, x.Value)
		if err != nil {
			return nil, err
		}
		to, err := p.parseTypeRef(x.Type, t.Keyspace)
		if err != nil {
			return nil, err
		}
		return &sel{kind: selCast, args: []*sel{arg}, typ: to, name: "cast(" + arg.name + " as " + to.String() + ")"}, nil
	case *cql.FieldAccess:
		arg, err := p.compileSel(c, t, x.Value)
		if err != nil {
			return nil, err
		}
		if arg.typ.Kind != types.UDT {
			return nil, cqlerr.Invalidf("Invalid field selection: %s of type %s is not a user type", arg.name, arg.typ)
		}
		for i, fn := range arg.typ.FieldNames {
			if fn == x.Field {
				return &sel{kind: selField, args: []*sel{arg}, field: i, typ: arg.typ.Elems[i], name: arg.name + "." + fn}, nil
			}
		}
		return nil, cqlerr.Invalidf("Invalid field selection: %s of type %s has no field %s", arg.name, arg.typ, x.Field)
	case *cql.FunctionCall:
		name := strings.TrimPrefix(strings.ToLower(x.Name.Name), "system.")
		switch name {
		case "count":
			if x.Star || len(x.Args) == 1 {
				s := &sel{kind: selCount, typ: types.BigintType, name: "count", star: x.Star}
				if !x.Star {
					if _, isConst := x.Args[0].(*cql.Constant); isConst {
						s.star = true
					} else {
						arg, err := p.compileSel(c, t, x.Args[0])
						if err != nil {
							return nil, err
						}
						s.args = []*sel{arg}
						s.name = "system.count(" + arg.name + ")"
					}
				}
				return s, nil
			}
		case "min", "max", "sum", "avg":
			if len(x.Args) == 1 {
				arg, err := p.compileSel(c, t, x.Args[0])
				if err != nil {
					return nil, err
				}
				k := map[string]selKind{"min": selMin, "max": selMax, "sum": selSum, "avg": selAvg}[name]
				if (k == selSum || k == selAvg) && !isNumeric(arg.typ) {
					return nil, cqlerr.Invalidf("Invalid call to function %s, none of its type signatures match", name)
				}
				return &sel{kind: k, args: []*sel{arg}, typ: arg.typ, name: "system." + name + "(" + arg.name + ")"}, nil
			}
		case "token":
			if len(x.Args) != len(t.PartitionKey) {
				return nil, cqlerr.Invalidf("Invalid number of arguments in call to function token: %d required but %d provided", len(t.PartitionKey), len(x.Args))
			}
			var names []string
			for i, a := range x.Args {
				cr, ok := a.(*cql.ColumnRef)
				if !ok || cr.Name != t.PartitionKey[i].Name {
					return nil, cqlerr.Invalidf("Type error: token() arguments must be the partition key columns in order")
				}
				names = append(names, cr.Name)
			}
			return &sel{kind: selToken, typ: types.BigintType, name: "system.token(" + strings.Join(names, ", ") + ")"}, nil
		}
		fn, ok := lookupFunction(name, len(x.Args))
		if !ok {
			return nil, cqlerr.Invalidf("Unknown function '%s'", x.Name.String())
		}
		s := &sel{kind: selFunc, fn: fn}
		var argNames []string
		for i, a := range x.Args {
			arg, err := p.compileSel(c, t, a)
			if err != nil {
				return nil, err
			}
			if arg.kind == selConst && arg.typ == nil {
				at := fn.argType(i, nil)
				if at == nil {
					return nil, cqlerr.Invalidf("Ambiguous call to function %s", name)
				}
				v, _, err := c.term(a, at, name)
				if err != nil {
					return nil, err
				}
				arg.value, arg.typ = v, at
			}
			s.args = append(s.args, arg)
			argNames = append(argNames, arg.name)
		}
		// Determine the return type by evaluating on nulls where possible.
		argTypes := make([]*types.Type, len(s.args))
		for i, a := range s.args {
			argTypes[i] = a.typ
		}
		_, rt, err := fn.eval(c, make([][]byte, len(s.args)), argTypes)
		if err != nil || rt == nil {
			if err == nil {
				err = cqlerr.Invalidf("Cannot infer the type of %s", name)
			}
			return nil, err
		}
		s.typ = rt
		s.name = "system." + name + "(" + strings.Join(argNames, ", ") + ")"
		return s, nil
	case *cql.Constant, *cql.BindMarker, *cql.TypeHint:
		if h, ok := x.(*cql.TypeHint); ok {
			ht, err := p.parseTypeRef(h.Type, t.Keyspace)
			if err != nil {
				return nil, err
			}
			v, _, err := c.term(h.Value, ht, "selector")
			if err != nil {
				return nil, err
			}
			return &sel{kind: selConst, value: v, typ: ht, name: "(" + ht.String() + ")"}, nil
		}
		if k, ok := x.(*cql.Constant); ok {
			return &sel{kind: selConst, name: k.Text}, nil // typed by the caller
		}
		return nil, cqlerr.Invalidf("Bind markers are not supported in the selection clause")
	}
	return nil, cqlerr.Invalidf("Unsupported selector")
}

func isNumeric(t *types.Type) bool {
	switch t.Kind {
	case types.Int, types.Bigint, types.Smallint, types.Tinyint, types.Varint, types.Float, types.Double, types.Decimal, types.Counter:
		return true
	}
	return false
}

// eval computes a non-aggregate selector for one row.
func (s *sel) eval(c *evalCtx, t *schema.Table, r *rowView, pk []byte) ([]byte, error) {
	switch s.kind {
	case selColumn:
		return r.vals[s.idx], nil
	case selWritetime:
		if r.vals[s.idx] == nil {
			return nil, nil
		}
		return types.BigintValue(r.ts[s.idx]), nil
	case selTTL:
		if r.vals[s.idx] == nil || r.expires[s.idx] == 0 {
			return nil, nil
		}
		left := r.expires[s.idx] - c.now.Unix()
		if left < 0 {
			left = 0
		}
		return types.IntValue(int32(left)), nil
	case selToken:
		return types.BigintValue(ring.Murmur3Token(pk)), nil
	case selConst:
		return s.value, nil
	case selCast:
		v, err := s.args[0].eval(c, t, r, pk)
		if err != nil || v == nil {
			return nil, err
		}
		out, err := types.Cast(s.args[0].typ, s.typ, v)
		if err != nil {
			return nil, cqlerr.Invalidf("%v", err)
		}
		return out, nil
	case selField:
		v, err := s.args[0].eval(c, t, r, pk)
		if err != nil || v == nil {
			return nil, err
		}
		f, err := types.DecodeFields(v)
		if err != nil {
			return nil, cqlerr.Serverf("corrupt UDT value: %v", err)
		}
		if s.field < len(f) {
			return f[s.field], nil
		}
		return nil, nil
	case selFunc:
		args := make([][]byte, len(s.args))
		argTypes := make([]*types.Type, len(s.args))
		for i, a := range s.args {
			v, err := a.eval(c, t, r, pk)
			if err != nil {
				return nil, err
			}
			args[i], argTypes[i] = v, a.typ
		}
		v, _, err := s.fn.eval(c, args, argTypes)
		return v, err
	}
	return nil, cqlerr.Serverf("aggregate evaluated per row")
}

// aggState accumulates one aggregate selector.
type aggState struct {
	count int64
	best  []byte
	isum  *big.Int
	fsum  float64
	first []byte // value of a non-aggregate selector on the first row
	seen  bool
}

func (s *sel) accumulate(c *evalCtx, t *schema.Table, r *rowView, pk []byte, st *aggState) error {
	if s.kind < selCount {
		if !st.seen {
			v, err := s.eval(c, t, r, pk)
			if err != nil {
				return err
			}
			st.first = append([]byte{}, v...)
			if v == nil {
				st.first = nil
			}
			st.seen = true
		}
		return nil
	}
	if s.kind == selCount && s.star {
		st.count++
		return nil
	}
	v, err := s.args[0].eval(c, t, r, pk)
	if err != nil {
		return err
	}
	if v == nil {
		return nil
	}
	st.count++
	switch s.kind {
	case selMin, selMax:
		if st.best == nil {
			st.best = append([]byte{}, v...)
			return nil
		}
		cmp := types.Compare(s.typ, v, st.best)
		if (s.kind == selMin && cmp < 0) || (s.kind == selMax && cmp > 0) {
			st.best = append(st.best[:0], v...)
		}
	case selSum, selAvg:
		switch s.typ.Kind {
		case types.Float, types.Double:
			f, _ := numericFloat(s.typ, v)
			st.fsum += f
		case types.Decimal:
			f, _ := numericFloat(s.typ, v)
			st.fsum += f
		default:
			n, err := numericInt(s.typ, v)
			if err != nil {
				return err
			}
			if st.isum == nil {
				st.isum = new(big.Int)
			}
			st.isum.Add(st.isum, n)
		}
	}
	return nil
}

func (s *sel) result(st *aggState) ([]byte, error) {
	switch s.kind {
	case selCount:
		return types.BigintValue(st.count), nil
	case selMin, selMax:
		return st.best, nil
	case selSum, selAvg:
		switch s.typ.Kind {
		case types.Float, types.Double, types.Decimal:
			v := st.fsum
			if s.kind == selAvg {
				if st.count == 0 {
					v = 0
				} else {
					v /= float64(st.count)
				}
			}
			switch s.typ.Kind {
			case types.Float:
				return types.FloatValue(float32(v)), nil
			case types.Double:
				return types.DoubleValue(v), nil
			}
			return types.FromConstant(s.typ, types.ConstFloat, big.NewFloat(v).Text('g', 17))
		}
		sum := st.isum
		if sum == nil {
			sum = new(big.Int)
		}
		if s.kind == selAvg && st.count > 0 {
			sum = new(big.Int).Quo(sum, big.NewInt(st.count))
		}
		return intOfType(s.typ, sum), nil
	}
	return st.first, nil
}

func numericInt(t *types.Type, v []byte) (*big.Int, error) {
	switch t.Kind {
	case types.Int:
		n, err := types.DecodeInt(v)
		return big.NewInt(int64(n)), err
	case types.Bigint, types.Counter:
		n, err := types.DecodeBigint(v)
		return big.NewInt(n), err
	case types.Smallint:
		n, err := types.DecodeSmallint(v)
		return big.NewInt(int64(n)), err
	case types.Tinyint:
		n, err := types.DecodeTinyint(v)
		return big.NewInt(int64(n)), err
	case types.Varint:
		return types.DecodeVarint(v)
	}
	return nil, cqlerr.Invalidf("not an integer type: %s", t)
}

func numericFloat(t *types.Type, v []byte) (float64, error) {
	switch t.Kind {
	case types.Float:
		f, err := types.DecodeFloat(v)
		return float64(f), err
	case types.Double:
		return types.DecodeDouble(v)
	case types.Decimal:
		u, scale, err := types.DecodeDecimal(v)
		if err != nil {
			return 0, err
		}
		f, _ := new(big.Float).SetInt(u).Float64()
		return f / math.Pow10(int(scale)), nil
	}
	n, err := numericInt(t, v)
	if err != nil {
		return 0, err
	}
	f, _ := new(big.Float).SetInt(n).Float64()
	return f, nil
}

// intOfType converts a sum back to the column's type (wrapping as Java's
// arithmetic overflows do).
func intOfType(t *types.Type, n *big.Int) []byte {
	switch t.Kind {
	case types.Int:
		return types.IntValue(int32(n.Int64()))
	case types.Smallint:
		return types.SmallintValue(int16(n.Int64()))
	case types.Tinyint:
		return types.TinyintValue(int8(n.Int64()))
	case types.Varint:
		return types.VarintValue(n)
	}
	return types.BigintValue(n.Int64())
}
