package query

import (
	"context"

	"github.com/ringdb/ringdb/internal/cql"
	"github.com/ringdb/ringdb/internal/cqlerr"
	"github.com/ringdb/ringdb/internal/schema"
	"github.com/ringdb/ringdb/internal/types"
)

// conditional executes one INSERT, UPDATE or DELETE with IF NOT EXISTS,
// IF EXISTS or IF conditions as a compare-and-set on its partition.
func (p *Processor) conditional(ctx context.Context, c *evalCtx, s *Session, stmt cql.Statement, ts int64) (*Result, error) {
	if usingOf(stmt).Timestamp != nil {
		return nil, cqlerr.Invalidf("Cannot provide custom timestamp for conditional updates")
	}
	req := &casRequest{}
	if err := p.addToCAS(req, batchItem{stmt: stmt, sess: s, c: c, ts: ts}); err != nil {
		return nil, err
	}
	return p.runCAS(ctx, req)
}

// checkCondition evaluates one IF condition against the current row.
func (c *evalCtx) checkCondition(t *schema.Table, cur *rowView, cd *cql.Condition) (bool, error) {
	col := t.Column(cd.Column)
	if col == nil {
		return false, cqlerr.Invalidf("Undefined column name %s", cd.Column)
	}
	if col.IsPrimaryKey() {
		return false, cqlerr.Invalidf("PRIMARY KEY column '%s' cannot have IF conditions", col.Name)
	}
	var v []byte
	if cur != nil {
		v = cur.vals[colIndex(t, col)]
	}
	typ := col.Type
	if cd.Key != nil || cd.Field != "" {
		return false, cqlerr.Invalidf("Conditions on collection elements and UDT fields are not supported by ringdb yet")
	}
	if cd.Op == cql.OpIn {
		var vals [][]byte
		if cd.InValues == nil && cd.Value != nil {
			lv, _, err := c.term(cd.Value, types.ListOf(typ, true), col.Name)
			if err != nil {
				return false, err
			}
			if vals, err = types.DecodeCollection(lv); err != nil {
				return false, cqlerr.Invalidf("Invalid IN value")
			}
		}
		for _, e := range cd.InValues {
			x, _, err := c.term(e, typ, col.Name)
			if err != nil {
				return false, err
			}
			vals = append(vals, x)
		}
		for _, x := range vals {
			if (x == nil && v == nil) || (x != nil && v != nil && types.Compare(typ, v, x) == 0) {
				return true, nil
			}
		}
		return false, nil
	}
	want, _, err := c.term(cd.Value, typ, col.Name)
	if err != nil {
		return false, err
	}
	if want == nil || v == nil {
		switch cd.Op {
		case cql.OpEq:
			return want == nil && v == nil, nil
		case cql.OpNeq:
			return (want == nil) != (v == nil), nil
		}
		if want == nil {
			return false, cqlerr.Invalidf("Invalid comparison with null for operator \"%s\"", cd.Op)
		}
		return false, nil
	}
	cmp := types.Compare(typ, v, want)
	switch cd.Op {
	case cql.OpEq:
		return cmp == 0, nil
	case cql.OpNeq:
		return cmp != 0, nil
	case cql.OpLt:
		return cmp < 0, nil
	case cql.OpLte:
		return cmp <= 0, nil
	case cql.OpGt:
		return cmp > 0, nil
	case cql.OpGte:
		return cmp >= 0, nil
	}
	return false, cqlerr.Invalidf("Unsupported operator %s in condition", cd.Op)
}
