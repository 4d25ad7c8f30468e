package query

import (
	"github.com/ringdb/ringdb/internal/cql"
	"github.com/ringdb/ringdb/internal/cqlerr"
	"github.com/ringdb/ringdb/internal/schema"
	"github.com/ringdb/ringdb/internal/types"
)

// binder collects the receiver (name and type) of each bind marker.
type binder struct {
	p     *Processor
	t     *schema.Table
	specs []ColumnSpec
	set   []bool
	pkIdx map[int]int // partition key position -> marker index
}

func (b *binder) mark(m *cql.BindMarker, name string, t *types.Type) {
	if m.Index >= len(b.specs) {
		return
	}
	if m.In {
		t = types.ListOf(t, true)
		name = "in(" + name + ")"
	}
	if m.Name != "" {
		name = m.Name
	}
	ks, tn := "", ""
	if b.t != nil {
		ks, tn = b.t.Keyspace, b.t.Name
	}
	b.specs[m.Index] = ColumnSpec{Keyspace: ks, Table: tn, Name: name, Type: t}
	b.set[m.Index] = true
}

// expr records the markers inside a term whose receiver has type t.
func (b *binder) expr(e cql.Expr, t *types.Type, name string) {
	switch x := e.(type) {
	case *cql.BindMarker:
		b.mark(x, name, t)
	case *cql.ListLiteral:
		for _, el := range x.Elems {
			b.expr(el, t.Key(), name)
		}
	case *cql.SetLiteral:
		for _, el := range x.Elems {
			b.expr(el, t.Key(), name)
		}
	case *cql.MapLiteral:
		for _, en := range x.Entries {
			b.expr(en.Key, t.Key(), name)
			b.expr(en.Value, t.Value(), name)
		}
	case *cql.TupleLiteral:
		for i, el := range x.Elems {
			if t.Kind == types.Tuple && i < len(t.Elems) {
				b.expr(el, t.Elems[i], name)
			} else if len(x.Elems) == 1 {
				b.expr(el, t, name)
			}
		}
	case *cql.UDTLiteral:
		for _, f := range x.Fields {
			for i, fn := range t.FieldNames {
				if fn == f.Name {
					b.expr(f.Value, t.Elems[i], name+"."+fn)
				}
			}
		}
	case *cql.FunctionCall:
		if fn, ok := lookupFunction(x.Name.Name, len(x.Args)); ok {
			for i, a := range x.Args {
				if at := fn.argType(i, t); at != nil {
					b.expr(a, at, name)
				}
			}
		}
	case *cql.TypeHint:
		if ht, err := b.p.parseTypeRef(x.Type, ""); err == nil {
			b.expr(x.Value, ht, name)
		}
	}
}

func (b *binder) using(u cql.UsingClause) {
	if u.TTL != nil {
		b.expr(u.TTL, types.IntType, "[ttl]")
	}
	if u.Timestamp != nil {
		b.expr(u.Timestamp, types.BigintType, "[timestamp]")
	}
}

func (b *binder) where(rels []cql.Relation) {
	t := b.t
	for _, r := range rels {
		switch r.Kind {
		case cql.RelToken:
			b.expr(r.Value, types.BigintType, "partition key token")
		case cql.RelMulti:
			var tt []*types.Type
			for _, n := range r.Columns {
				if c := t.Column(n); c != nil {
					tt = append(tt, c.Type)
				}
			}
			if len(tt) != len(r.Columns) {
				continue
			}
			tup := types.TupleOf(tt...)
			if r.Op == cql.OpIn {
				if r.InValues == nil && r.Value != nil {
					b.expr(r.Value, tup, relColumns(&r))
				}
				for _, v := range r.InValues {
					b.expr(v, tup, relColumns(&r))
				}
				continue
			}
			b.expr(r.Value, tup, relColumns(&r))
		default:
			col := t.Column(r.Columns[0])
			if col == nil {
				continue
			}
			switch {
			case r.Kind == cql.RelMapElement && col.Type.Kind == types.Map:
				b.expr(r.Key, col.Type.Key(), "key("+col.Name+")")
				b.expr(r.Value, col.Type.Value(), "value("+col.Name+")")
			case r.Op == cql.OpContains:
				et := col.Type.Key()
				if col.Type.Kind == types.Map {
					et = col.Type.Value()
				}
				if et != nil {
					b.expr(r.Value, et, col.Name)
				}
			case r.Op == cql.OpContainsKey:
				if col.Type.Key() != nil {
					b.expr(r.Value, col.Type.Key(), col.Name)
				}
			case r.Op == cql.OpIn:
				if r.InValues == nil && r.Value != nil {
					b.expr(r.Value, col.Type, col.Name)
				}
				for _, v := range r.InValues {
					b.expr(v, col.Type, col.Name)
				}
			default:
				if m, ok := r.Value.(*cql.BindMarker); ok && r.Op == cql.OpEq && col.Kind == schema.PartitionKey {
					b.pkIdx[col.Position] = m.Index
				}
				b.expr(r.Value, col.Type, col.Name)
			}
		}
	}
}

func (b *binder) modification(stmt cql.Statement) {
	switch st := stmt.(type) {
	case *cql.InsertStatement:
		for i, n := range st.Columns {
			col := b.t.Column(n)
			if col == nil || i >= len(st.Values) {
				continue
			}
			if m, ok := st.Values[i].(*cql.BindMarker); ok && col.Kind == schema.PartitionKey {
				b.pkIdx[col.Position] = m.Index
			}
			b.expr(st.Values[i], col.Type, col.Name)
		}
		if st.JSON != nil {
			b.expr(st.JSON, types.TextType, "[json]")
		}
		b.using(st.Using)
	case *cql.UpdateStatement:
		b.using(st.Using)
		for _, a := range st.Assignments {
			col := b.t.Column(a.Column)
			if col == nil {
				continue
			}
			t := col.Type
			switch a.Kind {
			case cql.AssignSet, cql.AssignAdd, cql.AssignPrepend:
				b.expr(a.Value, t, col.Name)
			case cql.AssignSub:
				if t.Kind == types.Map {
					b.expr(a.Value, types.SetOf(t.Key(), true), col.Name)
				} else {
					b.expr(a.Value, t, col.Name)
				}
			case cql.AssignElement:
				if t.Kind == types.Map {
					b.expr(a.Key, t.Key(), "key("+col.Name+")")
					b.expr(a.Value, t.Value(), "value("+col.Name+")")
				} else if t.Kind == types.List {
					b.expr(a.Key, types.IntType, "idx("+col.Name+")")
					b.expr(a.Value, t.Key(), "value("+col.Name+")")
				}
			case cql.AssignField:
				for i, fn := range t.FieldNames {
					if fn == a.Field {
						b.expr(a.Value, t.Elems[i], col.Name+"."+fn)
					}
				}
			}
		}
		b.where(st.Where)
		b.conditions(st.Conditions)
	case *cql.DeleteStatement:
		for _, d := range st.Columns {
			col := b.t.Column(d.Column)
			if col == nil || d.Key == nil {
				continue
			}
			if col.Type.Kind == types.List {
				b.expr(d.Key, types.IntType, "idx("+col.Name+")")
			} else if col.Type.Key() != nil {
				b.expr(d.Key, col.Type.Key(), "key("+col.Name+")")
			}
		}
		b.using(st.Using)
		b.where(st.Where)
		b.conditions(st.Conditions)
	}
}

func (b *binder) conditions(conds []cql.Condition) {
	for _, c := range conds {
		col := b.t.Column(c.Column)
		if col == nil {
			continue
		}
		t := col.Type
		if c.Key != nil && t.Kind == types.Map {
			b.expr(c.Key, t.Key(), col.Name)
			t = t.Value()
		}
		if c.Op == cql.OpIn {
			if c.InValues == nil && c.Value != nil {
				b.expr(c.Value, t, col.Name)
			}
			for _, v := range c.InValues {
				b.expr(v, t, col.Name)
			}
			continue
		}
		b.expr(c.Value, t, col.Name)
	}
}

// describe computes a prepared statement's variable and result metadata
// against the current schema.
func (p *Processor) describe(ps *Prepared, s *Session) error {
	markers := cql.BindMarkers(ps.Stmt)
	sess := *s
	sess.Keyspace = ps.Keyspace
	newBinder := func(t *schema.Table) *binder {
		return &binder{p: p, t: t, specs: make([]ColumnSpec, len(markers)), set: make([]bool, len(markers)), pkIdx: map[int]int{}}
	}
	var b *binder
	ps.ResultColumns = nil
	switch st := ps.Stmt.(type) {
	case *cql.SelectStatement:
		t, err := p.table(&sess, st.Table)
		if err != nil {
			return err
		}
		b = newBinder(t)
		b.where(st.Where)
		if st.Limit != nil {
			b.expr(st.Limit, types.IntType, "[limit]")
		}
		if st.PerPartitionLimit != nil {
			b.expr(st.PerPartitionLimit, types.IntType, "[per_partition_limit]")
		}
		c := &evalCtx{p: p, now: p.opts.Now()}
		sels, _, err := p.compileSelection(c, t, st)
		if err != nil {
			return err
		}
		for _, x := range sels {
			ps.ResultColumns = append(ps.ResultColumns, ColumnSpec{Keyspace: t.Keyspace, Table: t.Name, Name: x.name, Type: x.typ})
		}
		if ps.ResultColumns == nil {
			ps.ResultColumns = []ColumnSpec{}
		}
	case *cql.InsertStatement, *cql.UpdateStatement, *cql.DeleteStatement:
		t, err := p.validateModification(&sess, st)
		if err != nil {
			return err
		}
		b = newBinder(t)
		b.modification(st)
		if conditionsOf(st) != nil {
			ps.ResultColumns = []ColumnSpec{{Keyspace: t.Keyspace, Table: t.Name, Name: "[applied]", Type: types.BooleanType}}
		}
	case *cql.BatchStatement:
		if err := p.validate(&sess, st); err != nil {
			return err
		}
		b = newBinder(nil)
		for _, inner := range st.Statements {
			q, _ := tableOf(inner)
			t, err := p.table(&sess, q)
			if err != nil {
				return err
			}
			b.t = t
			b.modification(inner)
		}
		b.using(st.Using)
	default:
		b = newBinder(nil)
	}
	for i, ok := range b.set {
		if !ok {
			return cqlerr.Invalidf("Cannot infer the type of bind marker %d (use a type hint)", i)
		}
	}
	ps.Vars = b.specs
	ps.PKIndexes = nil
	if b.t != nil && len(b.pkIdx) == len(b.t.PartitionKey) {
		for i := range b.t.PartitionKey {
			ps.PKIndexes = append(ps.PKIndexes, uint16(b.pkIdx[i]))
		}
	}
	return nil
}
