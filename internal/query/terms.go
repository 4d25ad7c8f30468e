package query

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ringdb/ringdb/internal/consistency"
	"github.com/ringdb/ringdb/internal/cql"
	"github.com/ringdb/ringdb/internal/cqlerr"
	"github.com/ringdb/ringdb/internal/types"
)

// evalCtx evaluates terms of one statement execution.
type evalCtx struct {
	p      *Processor
	values []Value // bound values by marker index
	now    time.Time
	ctx    context.Context
	cl     consistency.Level
	serial consistency.Level // SERIAL or LOCAL_SERIAL: the Paxos phase of conditional statements
}

// bound returns the bound value of a marker.
func (c *evalCtx) bound(m *cql.BindMarker) (Value, error) {
	if m.Index >= len(c.values) {
		return Value{}, cqlerr.Invalidf("There were %d markers(?) in CQL but %d bound variables", m.Index+1, len(c.values))
	}
	return c.values[m.Index], nil
}

// term evaluates e as a value of type t for the receiver called name. It
// reports unset bind values separately (unset means "leave unchanged").
func (c *evalCtx) term(e cql.Expr, t *types.Type, name string) ([]byte, bool, error) {
	switch x := e.(type) {
	case *cql.Constant:
		if x.Kind == cql.ConstNull {
			return nil, false, nil
		}
		v, err := types.FromConstant(t, types.ConstKind(x.Kind), x.Text)
		if err != nil {
			return nil, false, cqlerr.Invalidf("Invalid %s constant (%s) for \"%s\" of type %s", strings.ToUpper(x.Kind.String()), x.Text, name, t)
		}
		return v, false, nil
	case *cql.BindMarker:
		v, err := c.bound(x)
		if err != nil {
			return nil, false, err
		}
		if v.Unset {
			return nil, true, nil
		}
		if v.Bytes != nil {
			vt := t
			if x.In {
				vt = types.ListOf(t, true)
			}
			if err := types.Validate(vt, v.Bytes); err != nil {
				return nil, false, cqlerr.Invalidf("Invalid value for %s of type %s: %v", name, vt, err)
			}
			// Drivers may send sets and maps unsorted: normalise.
			switch {
			case vt.Kind == types.Set:
				if elems, err := types.DecodeCollection(v.Bytes); err == nil {
					return types.BuildSet(vt, elems), false, nil
				}
			case vt.Kind == types.Map:
				if keys, vals, err := types.DecodeMap(v.Bytes); err == nil {
					return types.BuildMap(vt, keys, vals), false, nil
				}
			}
		}
		return v.Bytes, false, nil
	case *cql.ListLiteral:
		if t.Kind != types.List && t.Kind != types.Set {
			return nil, false, cqlerr.Invalidf("Invalid list literal for %s of type %s", name, t)
		}
		elems, err := c.terms(x.Elems, t.Key(), name)
		if err != nil {
			return nil, false, err
		}
		if t.Kind == types.Set {
			return types.BuildSet(t, elems), false, nil
		}
		return types.BuildList(elems), false, nil
	case *cql.SetLiteral:
		if t.Kind != types.Set {
			if t.Kind == types.Map && len(x.Elems) == 0 {
				return types.BuildMap(t, nil, nil), false, nil
			}
			return nil, false, cqlerr.Invalidf("Invalid set literal for %s of type %s", name, t)
		}
		elems, err := c.terms(x.Elems, t.Key(), name)
		if err != nil {
			return nil, false, err
		}
		return types.BuildSet(t, elems), false, nil
	case *cql.MapLiteral:
		if t.Kind != types.Map {
			return nil, false, cqlerr.Invalidf("Invalid map literal for %s of type %s", name, t)
		}
		keys := make([][]byte, 0, len(x.Entries))
		vals := make([][]byte, 0, len(x.Entries))
		for _, en := range x.Entries {
			k, _, err := c.term(en.Key, t.Key(), name)
			if err != nil {
				return nil, false, err
			}
			v, _, err := c.term(en.Value, t.Value(), name)
			if err != nil {
				return nil, false, err
			}
			if k == nil || v == nil {
				return nil, false, cqlerr.Invalidf("null is not supported inside collections")
			}
			keys, vals = append(keys, k), append(vals, v)
		}
		return types.BuildMap(t, keys, vals), false, nil
	case *cql.EmptyCollection:
		switch t.Kind {
		case types.List, types.Set, types.Map:
			return types.EncodeCollection(nil), false, nil
		case types.UDT:
			return types.BuildTuple(make([][]byte, len(t.Elems))), false, nil
		}
		return nil, false, cqlerr.Invalidf("Invalid empty collection literal for %s of type %s", name, t)
	case *cql.TupleLiteral:
		if t.Kind != types.Tuple {
			if len(x.Elems) == 1 {
				return c.term(x.Elems[0], t, name)
			}
			return nil, false, cqlerr.Invalidf("Invalid tuple literal for %s of type %s", name, t)
		}
		if len(x.Elems) > len(t.Elems) {
			return nil, false, cqlerr.Invalidf("Invalid tuple literal for %s: too many elements. Type %s expects %d but got %d", name, t, len(t.Elems), len(x.Elems))
		}
		fields := make([][]byte, len(t.Elems))
		for i, el := range x.Elems {
			v, _, err := c.term(el, t.Elems[i], name)
			if err != nil {
				return nil, false, err
			}
			fields[i] = v
		}
		return types.BuildTuple(fields), false, nil
	case *cql.UDTLiteral:
		if t.Kind != types.UDT {
			// {a: 1} parsed as UDT literal could be a map with identifier keys: reject.
			return nil, false, cqlerr.Invalidf("Invalid user type literal for %s of type %s", name, t)
		}
		fields := make([][]byte, len(t.Elems))
		for _, f := range x.Fields {
			idx := -1
			for i, fn := range t.FieldNames {
				if fn == f.Name {
					idx = i
				}
			}
			if idx < 0 {
				return nil, false, cqlerr.Invalidf("Unknown field '%s' in value of user defined type %s", f.Name, t.Name)
			}
			v, _, err := c.term(f.Value, t.Elems[idx], name+"."+f.Name)
			if err != nil {
				return nil, false, err
			}
			fields[idx] = v
		}
		return types.BuildTuple(fields), false, nil
	case *cql.FunctionCall:
		v, rt, err := c.call(x, t)
		if err != nil {
			return nil, false, err
		}
		if rt != nil && !rt.Equal(t) && !compatible(rt, t) {
			return nil, false, cqlerr.Invalidf("Type error: cannot assign result of function %s (type %s) to %s (type %s)", x.Name.Name, rt, name, t)
		}
		return v, false, nil
	case *cql.TypeHint:
		ht, err := c.p.parseTypeRef(x.Type, "")
		if err != nil {
			return nil, false, err
		}
		return c.term(x.Value, ht, name)
	case *cql.Negation:
		return nil, false, cqlerr.Invalidf("Unary minus is only supported on numeric literals")
	case *cql.BinaryOp:
		return nil, false, cqlerr.Invalidf("Arithmetic operators are not supported in this context")
	}
	return nil, false, cqlerr.Invalidf("Invalid term for %s", name)
}

func (c *evalCtx) terms(es []cql.Expr, t *types.Type, name string) ([][]byte, error) {
	out := make([][]byte, 0, len(es))
	for _, e := range es {
		v, _, err := c.term(e, t, name)
		if err != nil {
			return nil, err
		}
		if v == nil {
			return nil, cqlerr.Invalidf("null is not supported inside collections")
		}
		out = append(out, v)
	}
	return out, nil
}

// compatible reports whether a value of type from can be stored in to
// without conversion (text/varchar/ascii, frozen-ness).
func compatible(from, to *types.Type) bool {
	if from.Kind == to.Kind && from.Kind.IsNative() {
		return true
	}
	if to.Kind == types.Varchar && from.Kind == types.Ascii {
		return true
	}
	if to.Kind == types.Blob {
		return false
	}
	return from.String() == to.Freeze().String() || from.Freeze().String() == to.Freeze().String()
}

// intTerm evaluates a term that must be an int (TTL, LIMIT).
func (c *evalCtx) intTerm(e cql.Expr, name string) (int64, bool, error) {
	if e == nil {
		return 0, false, nil
	}
	v, unset, err := c.term(e, types.IntType, name)
	if err != nil || unset {
		return 0, unset, err
	}
	if v == nil {
		return 0, false, cqlerr.Invalidf("Invalid null value of %s", name)
	}
	n, err := types.DecodeInt(v)
	return int64(n), false, err
}

// bigintTerm evaluates a term that must be a bigint (TIMESTAMP).
func (c *evalCtx) bigintTerm(e cql.Expr, name string) (int64, bool, error) {
	if e == nil {
		return 0, false, nil
	}
	v, unset, err := c.term(e, types.BigintType, name)
	if err != nil || unset {
		return 0, unset, err
	}
	if v == nil {
		return 0, false, cqlerr.Invalidf("Invalid null value of %s", name)
	}
	n, err := types.DecodeBigint(v)
	return n, false, err
}

// call evaluates a function call used as a term. want is the receiver's
// type (used to pick overloads); the result's type is returned.
func (c *evalCtx) call(f *cql.FunctionCall, want *types.Type) ([]byte, *types.Type, error) {
	fn, ok := lookupFunction(f.Name.Name, len(f.Args))
	if !ok {
		return nil, nil, cqlerr.Invalidf("Unknown function %s called", f.Name.String())
	}
	args := make([][]byte, len(f.Args))
	argTypes := make([]*types.Type, len(f.Args))
	for i, a := range f.Args {
		at := fn.argType(i, want)
		if nested, ok := a.(*cql.FunctionCall); ok {
			v, rt, err := c.call(nested, at)
			if err != nil {
				return nil, nil, err
			}
			args[i], argTypes[i] = v, rt
			continue
		}
		if at == nil {
			return nil, nil, cqlerr.Invalidf("Ambiguous call to function %s: use type casts to specify the argument type", f.Name.Name)
		}
		v, _, err := c.term(a, at, fmt.Sprintf("%s(arg%d)", f.Name.Name, i))
		if err != nil {
			return nil, nil, err
		}
		args[i], argTypes[i] = v, at
	}
	return fn.eval(c, args, argTypes)
}
