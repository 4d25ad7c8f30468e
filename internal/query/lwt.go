package query

import (
	"context"

	"github.com/ringdb/ringdb/internal/cql"
	"github.com/ringdb/ringdb/internal/cqlerr"
	"github.com/ringdb/ringdb/internal/protocol/frame"
	"github.com/ringdb/ringdb/internal/schema"
	"github.com/ringdb/ringdb/internal/storage"
	"github.com/ringdb/ringdb/internal/types"
)

func appendCell(dst, v []byte) []byte {
	if v == nil {
		return frame.AppendNull(dst)
	}
	return frame.AppendBytes(dst, v)
}

// conditional executes a statement with IF NOT EXISTS / IF EXISTS / IF
// conditions on this single replica: read, check and write happen under a
// per-partition lock, so concurrent conditional updates of one partition on
// this node are serialised. (Paxos across replicas comes with the cluster.)
func (p *Processor) conditional(ctx context.Context, c *evalCtx, s *Session, stmt cql.Statement, ts int64, cond *conditions) (*Result, error) {
	muts, err := p.modification(c, s, stmt, ts)
	if err != nil {
		return nil, err
	}
	if len(muts) != 1 {
		return nil, cqlerr.Invalidf("IN on the partition key is not supported with conditional updates")
	}
	m := muts[0]
	var t *schema.Table
	switch st := stmt.(type) {
	case *cql.InsertStatement:
		t, _ = p.table(s, st.Table)
	case *cql.UpdateStatement:
		t, _ = p.table(s, st.Table)
	case *cql.DeleteStatement:
		t, _ = p.table(s, st.Table)
	}
	var ck []byte
	hasCK := false
	for _, r := range m.Rows {
		if !r.Static {
			ck, hasCK = r.Clustering, true
		}
	}
	if !hasCK && len(t.Clustering) > 0 && len(m.RangeTombstones) == 0 && m.PartitionDeletion.IsLive() {
		// static-only statement: check the static row
	} else if len(m.RangeTombstones) > 0 || (!m.PartitionDeletion.IsLive() && len(t.Clustering) > 0) {
		return nil, cqlerr.Invalidf("DELETE statements must restrict all PRIMARY KEY columns with equality relations in order to use IF conditions")
	}
	if p.opts.ReplicatedLWT != nil {
		if k := p.schema.Current().Keyspace(t.Keyspace); k != nil && p.opts.ReplicatedLWT(k) {
			return nil, cqlerr.Invalidf("Conditional updates (IF ...) on keyspace %s need Paxos across its replicas, which ringdb does not implement yet", t.Keyspace)
		}
	}
	lock := &p.lwtLocks[uint64(m.Token)%uint64(len(p.lwtLocks))]
	lock.Lock()
	defer lock.Unlock()

	// Read the current row.
	pl := &selectPlan{t: t}
	q := storage.PartitionQuery{Static: t.HasStatic}
	if hasCK && len(t.Clustering) > 0 {
		q.Slices = []storage.Slice{{Start: storage.Bound{Prefix: ck, Inclusive: true}, End: storage.Bound{Prefix: ck, Inclusive: true}}}
	}
	var cur *rowView
	var static *rowView
	err = p.store.ReadPartition(ctx, t, m.Token, m.Key, q, frame.All, func(row *storage.Row) bool {
		if row.Static {
			static = pl.view(row, nil)
			return true
		}
		cur = pl.view(row, static)
		return false
	})
	if err != nil {
		return nil, cqlerr.Serverf("read failed: %v", err)
	}
	if cur == nil && !hasCK && static != nil {
		cur = static
	}
	if cur != nil {
		pkVals, _ := splitPartitionKey(t, m.Key)
		copy(cur.vals, pkVals)
		if hasCK && len(t.Clustering) > 0 {
			ckVals, err := decodeClustering(t, ck, nil)
			if err == nil {
				for i, v := range ckVals {
					cur.vals[len(t.PartitionKey)+i] = v
				}
			}
		}
	}
	applied := true
	switch {
	case cond.ifNotExists:
		applied = cur == nil
	case cond.ifExists:
		applied = cur != nil
	default:
		for _, cd := range cond.conds {
			ok, err := c.checkCondition(t, cur, &cd)
			if err != nil {
				return nil, err
			}
			if !ok {
				applied = false
			}
		}
	}
	rows := &Rows{Columns: []ColumnSpec{{Keyspace: t.Keyspace, Table: t.Name, Name: "[applied]", Type: types.BooleanType}}}
	rows.Data = appendCell(rows.Data, types.BooleanValue(applied))
	if applied {
		if err := p.apply(ctx, muts, frame.All, WriteCAS); err != nil {
			return nil, err
		}
	} else if cur != nil {
		cols := t.All
		if !cond.ifNotExists && !cond.ifExists {
			cols = nil
			for _, cd := range cond.conds {
				if col := t.Column(cd.Column); col != nil {
					cols = append(cols, col)
				}
			}
		}
		for _, col := range cols {
			rows.Columns = append(rows.Columns, ColumnSpec{Keyspace: t.Keyspace, Table: t.Name, Name: col.Name, Type: col.Type})
			rows.Data = appendCell(rows.Data, cur.vals[colIndex(t, col)])
		}
	}
	rows.Count = 1
	return &Result{Kind: ResultRows, Rows: rows}, nil
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
