package query

import (
	"context"
	"encoding/binary"
	"time"

	"github.com/ringdb/ringdb/internal/cql"
	"github.com/ringdb/ringdb/internal/cqlerr"
	"github.com/ringdb/ringdb/internal/schema"
	"github.com/ringdb/ringdb/internal/storage"
	"github.com/ringdb/ringdb/internal/types"
)

// maxTTL is Cassandra's maximum TTL (20 years).
const maxTTL = 20 * 365 * 86400

// writeCtx carries what every cell of one statement shares.
type writeCtx struct {
	*evalCtx
	t         *schema.Table
	ts        int64
	ttl       int32
	expiresAt int64
	nowSec    int64
}

// modify executes INSERT, UPDATE or DELETE (with or without conditions).
func (p *Processor) modify(ctx context.Context, c *evalCtx, s *Session, stmt cql.Statement, params *Params) (*Result, error) {
	ts := c.now.UnixMicro()
	if params != nil && params.HasTimestamp {
		ts = params.Timestamp
	}
	if conditionsOf(stmt) != nil {
		return p.conditional(ctx, c, s, stmt, ts)
	}
	muts, err := p.modification(c, s, stmt, ts)
	if err != nil {
		return nil, err
	}
	if err := p.apply(ctx, muts, c.cl, WriteSimple); err != nil {
		return nil, err
	}
	return &Result{Kind: ResultVoid}, nil
}

type conditions struct {
	ifExists, ifNotExists bool
	conds                 []cql.Condition
}

func conditionsOf(stmt cql.Statement) *conditions {
	switch st := stmt.(type) {
	case *cql.InsertStatement:
		if st.IfNotExists {
			return &conditions{ifNotExists: true}
		}
	case *cql.UpdateStatement:
		if st.IfExists || st.Conditions != nil {
			return &conditions{ifExists: st.IfExists, conds: st.Conditions}
		}
	case *cql.DeleteStatement:
		if st.IfExists || st.Conditions != nil {
			return &conditions{ifExists: st.IfExists, conds: st.Conditions}
		}
	}
	return nil
}

// modification turns one INSERT/UPDATE/DELETE into storage mutations.
func (p *Processor) modification(c *evalCtx, s *Session, stmt cql.Statement, ts int64) ([]*storage.Mutation, error) {
	switch st := stmt.(type) {
	case *cql.InsertStatement:
		return p.insert(c, s, st, ts)
	case *cql.UpdateStatement:
		return p.update(c, s, st, ts)
	case *cql.DeleteStatement:
		return p.delete(c, s, st, ts)
	}
	return nil, cqlerr.Invalidf("Only INSERT, UPDATE, and DELETE statements are allowed in a batch")
}

func (p *Processor) writeTable(s *Session, q cql.QualifiedName) (*schema.Table, error) {
	t, err := p.table(s, q)
	if err != nil {
		return nil, err
	}
	if t.Virtual {
		return nil, cqlerr.Unauthorizedf("%s keyspace is not user-modifiable.", t.Keyspace)
	}
	return t, nil
}

// using evaluates USING TTL/TIMESTAMP.
func (c *evalCtx) using(t *schema.Table, u cql.UsingClause, ts int64) (*writeCtx, error) {
	w := &writeCtx{evalCtx: c, t: t, ts: ts, nowSec: c.now.Unix()}
	if u.Timestamp != nil {
		v, unset, err := c.bigintTerm(u.Timestamp, "[timestamp]")
		if err != nil {
			return nil, err
		}
		if !unset {
			if v == minInt64 {
				return nil, cqlerr.Invalidf("Invalid timestamp: %d", v)
			}
			w.ts = v
		}
	}
	ttl := int64(t.Options.DefaultTTL)
	if u.TTL != nil {
		v, unset, err := c.intTerm(u.TTL, "[ttl]")
		if err != nil {
			return nil, err
		}
		if !unset {
			if v < 0 {
				return nil, cqlerr.Invalidf("A TTL must be greater or equal to 0, but was %d", v)
			}
			if v > maxTTL {
				return nil, cqlerr.Invalidf("ttl is too large. requested (%d) maximum (%d)", v, maxTTL)
			}
			ttl = v
		}
	}
	if ttl > 0 {
		w.ttl = int32(ttl)
		w.expiresAt = w.nowSec + ttl
	}
	return w, nil
}

const minInt64 = -1 << 63

// keyValues evaluates the primary key values of an INSERT.
func (p *Processor) insert(c *evalCtx, s *Session, st *cql.InsertStatement, ts int64) ([]*storage.Mutation, error) {
	t, err := p.writeTable(s, st.Table)
	if err != nil {
		return nil, err
	}
	if st.JSON != nil {
		return nil, cqlerr.Invalidf("INSERT JSON is not supported by ringdb yet")
	}
	w, err := c.using(t, st.Using, ts)
	if err != nil {
		return nil, err
	}
	pk := make([][]byte, len(t.PartitionKey))
	ck := make([][]byte, len(t.Clustering))
	type setCol struct {
		col *schema.Column
		e   cql.Expr
	}
	var others []setCol
	seen := map[string]bool{}
	for i, name := range st.Columns {
		col := t.Column(name)
		if col == nil {
			return nil, cqlerr.Invalidf("Undefined column name %s", name)
		}
		if seen[name] {
			return nil, cqlerr.Invalidf("The column names contains duplicates")
		}
		seen[name] = true
		switch col.Kind {
		case schema.PartitionKey, schema.Clustering:
			v, unset, err := c.term(st.Values[i], col.Type, name)
			if err != nil {
				return nil, err
			}
			if unset {
				return nil, cqlerr.Invalidf("Invalid unset value for column %s", name)
			}
			if v == nil {
				return nil, cqlerr.Invalidf("Invalid null value in condition for column %s", name)
			}
			if col.Kind == schema.PartitionKey {
				pk[col.Position] = v
			} else {
				ck[col.Position] = v
			}
		default:
			others = append(others, setCol{col, st.Values[i]})
		}
	}
	if err := checkInsertKey(t, st); err != nil {
		return nil, err
	}
	onlyStatic := len(others) > 0
	for _, o := range others {
		if o.col.Kind != schema.Static {
			onlyStatic = false
		}
	}
	if err := checkKeySize(pk); err != nil {
		return nil, err
	}
	k := makePartitionKey(pk)
	m := &storage.Mutation{Table: storage.TableID(t.ID), Token: k.token, Key: k.key}
	row := storage.RowUpdate{}
	if !onlyStatic {
		row.Clustering = encodeClustering(t, ck)
		row.Liveness = storage.LivenessInfo{Timestamp: w.ts, TTL: w.ttl, ExpiresAt: w.expiresAt}
	}
	var static storage.RowUpdate
	static.Static = true
	for _, o := range others {
		v, unset, err := c.term(o.e, o.col.Type, o.col.Name)
		if err != nil {
			return nil, err
		}
		if unset {
			continue
		}
		dst := &row
		if o.col.Kind == schema.Static {
			dst = &static
		}
		if err := w.setColumn(dst, o.col, v); err != nil {
			return nil, err
		}
	}
	if !onlyStatic {
		m.Rows = append(m.Rows, row)
	}
	if len(static.Cells) > 0 || len(static.ComplexDeletions) > 0 {
		m.Rows = append(m.Rows, static)
	}
	return []*storage.Mutation{m}, nil
}

func checkKeySize(vals [][]byte) error {
	n := 0
	for _, v := range vals {
		n += len(v)
	}
	if n > 65535 {
		return cqlerr.Invalidf("Key length of %d is longer than maximum of 65535", n)
	}
	return nil
}

// setColumn writes a whole-column value (INSERT or UPDATE c = v).
func (w *writeCtx) setColumn(row *storage.RowUpdate, col *schema.Column, v []byte) error {
	if !col.Type.IsMultiCell() {
		row.Cells = append(row.Cells, w.cell(col, nil, v))
		return nil
	}
	// Overwriting a non-frozen collection or UDT: delete what was there
	// (just before this write's timestamp) and add the new elements.
	row.ComplexDeletions = append(row.ComplexDeletions, storage.ComplexDeletion{Column: col.ID,
		Deletion: storage.DeletionTime{MarkedForDeleteAt: w.ts - 1, LocalDeletionTime: w.nowSec}})
	if v == nil {
		return nil
	}
	return w.addElements(row, col, v)
}

// cell builds a live cell, or a tombstone when v is nil.
func (w *writeCtx) cell(col *schema.Column, path, v []byte) storage.Cell {
	if v == nil {
		return storage.Cell{Column: col.ID, Path: path, Timestamp: w.ts, Tombstone: true, LocalDeletionTime: w.nowSec}
	}
	return storage.Cell{Column: col.ID, Path: path, Timestamp: w.ts, TTL: w.ttl, ExpiresAt: w.expiresAt, Value: v}
}

// addElements adds the elements of a serialized collection/UDT value as
// cells of a multi-cell column.
func (w *writeCtx) addElements(row *storage.RowUpdate, col *schema.Column, v []byte) error {
	t := col.Type
	switch t.Kind {
	case types.List:
		elems, err := types.DecodeCollection(v)
		if err != nil {
			return cqlerr.Invalidf("Invalid list value for %s: %v", col.Name, err)
		}
		for _, e := range elems {
			id := w.p.timeuuids.Next(w.now)
			row.Cells = append(row.Cells, w.cell(col, types.AppendKey(nil, types.TimeuuidType, id, false), e))
		}
	case types.Set:
		elems, err := types.DecodeCollection(v)
		if err != nil {
			return cqlerr.Invalidf("Invalid set value for %s: %v", col.Name, err)
		}
		for _, e := range elems {
			row.Cells = append(row.Cells, w.cell(col, types.AppendKey(nil, t.Key(), e, false), []byte{}))
		}
	case types.Map:
		keys, vals, err := types.DecodeMap(v)
		if err != nil {
			return cqlerr.Invalidf("Invalid map value for %s: %v", col.Name, err)
		}
		for i := range keys {
			row.Cells = append(row.Cells, w.cell(col, types.AppendKey(nil, t.Key(), keys[i], false), vals[i]))
		}
	case types.UDT:
		fields, err := types.DecodeFields(v)
		if err != nil {
			return cqlerr.Invalidf("Invalid value for %s: %v", col.Name, err)
		}
		for i, f := range fields {
			if i >= len(t.Elems) {
				break
			}
			row.Cells = append(row.Cells, w.cell(col, fieldPath(i), f))
		}
	}
	return nil
}

// fieldPath is the cell path of field i of a non-frozen UDT.
func fieldPath(i int) []byte { return binary.BigEndian.AppendUint16(nil, uint16(i)) }

// rowKeys evaluates the WHERE clause of UPDATE/DELETE into partition keys
// and either full clustering keys or (DELETE only) slices.
func (p *Processor) rowKeys(c *evalCtx, t *schema.Table, where []cql.Relation, allowRange bool) ([]partitionKey, [][]byte, []storage.Slice, bool, error) {
	r, err := c.analyze(t, where)
	if err != nil {
		return nil, nil, nil, false, err
	}
	if r.hasToken {
		return nil, nil, nil, false, cqlerr.Invalidf("The token function cannot be used in WHERE clauses for UPDATE and DELETE statements")
	}
	if !r.pkFull {
		given := map[string]bool{}
		for _, c := range t.PartitionKey {
			given[c.Name] = r.pkValues[c.Position] != nil
		}
		if missing := missingColumns(t.PartitionKey, given); missing != "" {
			return nil, nil, nil, false, cqlerr.Invalidf("Some partition key parts are missing: %s", missing)
		}
	}
	if len(r.filters) > 0 {
		f := r.filters[0]
		if f.col.Kind != schema.Clustering {
			return nil, nil, nil, false, cqlerr.Invalidf("Non PRIMARY KEY columns found in where clause: %s ", f.col.Name)
		}
		return nil, nil, nil, false, cqlerr.Invalidf("PRIMARY KEY column \"%s\" cannot be restricted as preceding column is not restricted", f.col.Name)
	}
	if len(r.tupleFilters) > 0 {
		return nil, nil, nil, false, cqlerr.Invalidf("Multi-column slices over clustering columns of mixed order are not supported in UPDATE and DELETE")
	}
	keys, err := r.partitionKeys()
	if err != nil {
		return nil, nil, nil, false, err
	}
	fullCK := len(r.ckPrefix) == len(t.Clustering) && r.multiTuples == nil || r.multiTuples != nil && r.slicePos == len(t.Clustering)
	if fullCK && !r.sliceStart.set && !r.sliceEnd.set {
		prefixes, err := r.prefixes()
		if err != nil {
			return nil, nil, nil, false, err
		}
		return keys, prefixes, nil, true, nil
	}
	if !allowRange {
		if len(r.ckPrefix) < len(t.Clustering) {
			return nil, nil, nil, false, cqlerr.Invalidf("Some clustering keys are missing: %s", missingColumns(t.Clustering[len(r.ckPrefix):], nil))
		}
	}
	if len(r.ckPrefix) == 0 && !r.sliceStart.set && !r.sliceEnd.set {
		return keys, nil, nil, false, nil // whole partition
	}
	slices, err := r.slices()
	if err != nil {
		return nil, nil, nil, false, err
	}
	return keys, nil, slices, false, nil
}

func (p *Processor) update(c *evalCtx, s *Session, st *cql.UpdateStatement, ts int64) ([]*storage.Mutation, error) {
	t, err := p.writeTable(s, st.Table)
	if err != nil {
		return nil, err
	}
	w, err := c.using(t, st.Using, ts)
	if err != nil {
		return nil, err
	}
	onlyStatic := true
	for _, a := range st.Assignments {
		col := t.Column(a.Column)
		if col == nil {
			return nil, cqlerr.Invalidf("Undefined column name %s", a.Column)
		}
		if col.IsPrimaryKey() {
			return nil, cqlerr.Invalidf("PRIMARY KEY part %s found in SET part", a.Column)
		}
		if col.Kind != schema.Static {
			onlyStatic = false
		}
	}
	keys, cks, slices, full, err := p.rowKeys(c, t, st.Where, onlyStatic)
	if err != nil {
		return nil, err
	}
	if slices != nil {
		return nil, cqlerr.Invalidf("Slice restrictions are not supported on the clustering columns in UPDATE statements")
	}
	if !full && !(onlyStatic && len(cks) == 0) && len(t.Clustering) > 0 {
		return nil, cqlerr.Invalidf("Some clustering keys are missing: %s", t.Clustering[0].Name)
	}
	if len(t.Clustering) == 0 {
		cks = [][]byte{nil}
	}
	var muts []*storage.Mutation
	for _, k := range keys {
		m := &storage.Mutation{Table: storage.TableID(t.ID), Token: k.token, Key: k.key}
		var static storage.RowUpdate
		static.Static = true
		rows := make([]storage.RowUpdate, len(cks))
		for i, ck := range cks {
			rows[i].Clustering = ck
		}
		for _, a := range st.Assignments {
			col := t.Column(a.Column)
			if col.Kind == schema.Static {
				if err := w.assign(k, &static, nil, col, &a); err != nil {
					return nil, err
				}
				continue
			}
			for i := range rows {
				if err := w.assign(k, &rows[i], rows[i].Clustering, col, &a); err != nil {
					return nil, err
				}
			}
		}
		if !onlyStatic {
			m.Rows = append(m.Rows, rows...)
		}
		if len(static.Cells) > 0 || len(static.ComplexDeletions) > 0 {
			m.Rows = append(m.Rows, static)
		}
		muts = append(muts, m)
	}
	return muts, nil
}

// assign applies one SET assignment to a row update.
func (w *writeCtx) assign(k partitionKey, row *storage.RowUpdate, ck []byte, col *schema.Column, a *cql.Assignment) error {
	t := col.Type
	switch a.Kind {
	case cql.AssignSet:
		v, unset, err := w.term(a.Value, t, col.Name)
		if err != nil || unset {
			return err
		}
		return w.setColumn(row, col, v)
	case cql.AssignAdd, cql.AssignPrepend:
		if t.Kind == types.Counter {
			return cqlerr.Invalidf("Counter columns are not supported by ringdb yet")
		}
		if !t.IsMultiCell() {
			return cqlerr.Invalidf("Invalid operation (%s = %s + ?) for non counter column %s", col.Name, col.Name, col.Name)
		}
		if t.Kind == types.UDT {
			return cqlerr.Invalidf("Invalid operation for user type column %s", col.Name)
		}
		v, unset, err := w.term(a.Value, t, col.Name)
		if err != nil || unset || v == nil {
			return err
		}
		if a.Kind == cql.AssignPrepend {
			if t.Kind != types.List {
				return cqlerr.Invalidf("Invalid operation (%s = ? + %s) for non list column %s", col.Name, col.Name, col.Name)
			}
			elems, err := types.DecodeCollection(v)
			if err != nil {
				return cqlerr.Invalidf("Invalid list value: %v", err)
			}
			ids := w.p.prependIDs(len(elems))
			for i, e := range elems {
				row.Cells = append(row.Cells, w.cell(col, types.AppendKey(nil, types.TimeuuidType, ids[i], false), e))
			}
			return nil
		}
		return w.addElements(row, col, v)
	case cql.AssignSub:
		if t.Kind == types.Counter {
			return cqlerr.Invalidf("Counter columns are not supported by ringdb yet")
		}
		if !t.IsMultiCell() || t.Kind == types.UDT {
			return cqlerr.Invalidf("Invalid operation (%s = %s - ?) for non counter column %s", col.Name, col.Name, col.Name)
		}
		vt := t
		if t.Kind == types.Map {
			vt = types.SetOf(t.Key(), true)
		}
		v, unset, err := w.term(a.Value, vt, col.Name)
		if err != nil || unset || v == nil {
			return err
		}
		elems, err := types.DecodeCollection(v)
		if err != nil {
			return cqlerr.Invalidf("Invalid value: %v", err)
		}
		if t.Kind == types.List {
			return w.listRemove(k, row, ck, col, elems)
		}
		for _, e := range elems {
			row.Cells = append(row.Cells, w.cell(col, types.AppendKey(nil, t.Key(), e, false), nil))
		}
		return nil
	case cql.AssignElement:
		switch t.Kind {
		case types.Map:
			if !t.IsMultiCell() {
				return cqlerr.Invalidf("Invalid operation (%s[?] = ?) for frozen collection column %s", col.Name, col.Name)
			}
			key, _, err := w.term(a.Key, t.Key(), col.Name)
			if err != nil {
				return err
			}
			if key == nil {
				return cqlerr.Invalidf("Invalid null map key")
			}
			v, unset, err := w.term(a.Value, t.Value(), col.Name)
			if err != nil || unset {
				return err
			}
			row.Cells = append(row.Cells, w.cell(col, types.AppendKey(nil, t.Key(), key, false), v))
			return nil
		case types.List:
			if !t.IsMultiCell() {
				return cqlerr.Invalidf("Invalid operation (%s[?] = ?) for frozen collection column %s", col.Name, col.Name)
			}
			idx, _, err := w.intTerm(a.Key, "[index]")
			if err != nil {
				return err
			}
			v, unset, err := w.term(a.Value, t.Key(), col.Name)
			if err != nil || unset {
				return err
			}
			return w.listSet(k, row, ck, col, int(idx), v)
		}
		return cqlerr.Invalidf("Invalid operation (%s[?] = ?) for non list/map column %s", col.Name, col.Name)
	case cql.AssignField:
		if t.Kind != types.UDT {
			return cqlerr.Invalidf("Invalid operation (%s.%s = ?) for non-UDT column %s", col.Name, a.Field, col.Name)
		}
		if !t.IsMultiCell() {
			return cqlerr.Invalidf("Invalid operation (%s.%s = ?) for frozen UDT column %s", col.Name, a.Field, col.Name)
		}
		for i, fn := range t.FieldNames {
			if fn == a.Field {
				v, unset, err := w.term(a.Value, t.Elems[i], col.Name+"."+fn)
				if err != nil || unset {
					return err
				}
				row.Cells = append(row.Cells, w.cell(col, fieldPath(i), v))
				return nil
			}
		}
		return cqlerr.Invalidf("UDT column %s does not have a field named %s", col.Name, a.Field)
	}
	return cqlerr.Invalidf("Unsupported assignment")
}

// prependIDs returns n timeuuids that sort before every list element
// written so far, in order (Cassandra's list prepend uses decreasing times
// from a reference point in the past).
func (p *Processor) prependIDs(n int) [][]byte {
	p.prependMu.Lock()
	defer p.prependMu.Unlock()
	ref := time.Date(2010, 1, 1, 0, 0, 0, 0, time.UTC)
	out := make([][]byte, n)
	for i := n - 1; i >= 0; i-- {
		p.prependTick++
		out[i] = types.NewTimeUUID(ref.Add(-time.Duration(p.prependTick)*time.Microsecond), [6]byte{1}, 0)
	}
	return out
}

// listCells reads the current live cells of a list column (read-before-
// write, needed for index operations and removals).
func (w *writeCtx) listCells(k partitionKey, ck []byte, static bool, col *schema.Column) ([]storage.Cell, error) {
	q := storage.PartitionQuery{Static: static}
	if !static {
		q.Slices = []storage.Slice{{Start: storage.Bound{Prefix: ck, Inclusive: true}, End: storage.Bound{Prefix: ck, Inclusive: true}}}
	}
	var out []storage.Cell
	err := w.p.store.ReadPartition(w.ctx, w.t, k.token, k.key, q, w.cl, func(r *storage.Row) bool {
		if r.Static != static {
			return true
		}
		for _, c := range r.Cells {
			if c.Column == col.ID {
				c.Path = append([]byte(nil), c.Path...)
				c.Value = append([]byte(nil), c.Value...)
				out = append(out, c)
			}
		}
		return false
	})
	return out, err
}

func (w *writeCtx) listSet(k partitionKey, row *storage.RowUpdate, ck []byte, col *schema.Column, idx int, v []byte) error {
	cells, err := w.listCells(k, ck, row.Static, col)
	if err != nil {
		return cqlerr.Serverf("read failed: %v", err)
	}
	if idx < 0 || idx >= len(cells) {
		return cqlerr.Invalidf("List index %d out of bound, list has size %d", idx, len(cells))
	}
	row.Cells = append(row.Cells, w.cell(col, cells[idx].Path, v))
	return nil
}

func (w *writeCtx) listRemove(k partitionKey, row *storage.RowUpdate, ck []byte, col *schema.Column, remove [][]byte) error {
	cells, err := w.listCells(k, ck, row.Static, col)
	if err != nil {
		return cqlerr.Serverf("read failed: %v", err)
	}
	for _, c := range cells {
		for _, r := range remove {
			if types.Compare(col.Type.Key(), c.Value, r) == 0 {
				row.Cells = append(row.Cells, w.cell(col, c.Path, nil))
				break
			}
		}
	}
	return nil
}

func (p *Processor) delete(c *evalCtx, s *Session, st *cql.DeleteStatement, ts int64) ([]*storage.Mutation, error) {
	t, err := p.writeTable(s, st.Table)
	if err != nil {
		return nil, err
	}
	w, err := c.using(t, st.Using, ts)
	if err != nil {
		return nil, err
	}
	w.ttl, w.expiresAt = 0, 0
	keys, cks, slices, full, err := p.rowKeys(c, t, st.Where, true)
	if err != nil {
		return nil, err
	}
	del := storage.DeletionTime{MarkedForDeleteAt: w.ts, LocalDeletionTime: w.nowSec}
	var muts []*storage.Mutation
	for _, k := range keys {
		m := &storage.Mutation{Table: storage.TableID(t.ID), Token: k.token, Key: k.key}
		switch {
		case len(st.Columns) > 0:
			onlyStatic := true
			for _, d := range st.Columns {
				col := t.Column(d.Column)
				if col == nil {
					return nil, cqlerr.Invalidf("Undefined column name %s", d.Column)
				}
				if col.IsPrimaryKey() {
					return nil, cqlerr.Invalidf("Invalid identifier %s for deletion (should not be a PRIMARY KEY part)", d.Column)
				}
				if col.Kind != schema.Static {
					onlyStatic = false
				}
			}
			if !full && !onlyStatic && len(t.Clustering) > 0 {
				return nil, cqlerr.Invalidf("Range deletions are not supported for specific columns")
			}
			targets := cks
			if len(t.Clustering) == 0 {
				targets = [][]byte{nil}
			}
			var static storage.RowUpdate
			static.Static = true
			rows := make([]storage.RowUpdate, len(targets))
			for i := range targets {
				rows[i].Clustering = targets[i]
			}
			for _, d := range st.Columns {
				col := t.Column(d.Column)
				apply := func(row *storage.RowUpdate) error { return w.deleteColumn(k, row, col, &d) }
				if col.Kind == schema.Static {
					if err := apply(&static); err != nil {
						return nil, err
					}
					continue
				}
				for i := range rows {
					if err := apply(&rows[i]); err != nil {
						return nil, err
					}
				}
			}
			if !onlyStatic {
				m.Rows = append(m.Rows, rows...)
			}
			if len(static.Cells) > 0 || len(static.ComplexDeletions) > 0 {
				m.Rows = append(m.Rows, static)
			}
		case full && len(t.Clustering) > 0:
			for _, ck := range cks {
				m.Rows = append(m.Rows, storage.RowUpdate{Clustering: ck, Deletion: del})
			}
		case slices != nil:
			for _, s := range slices {
				m.RangeTombstones = append(m.RangeTombstones, storage.RangeTombstone{Start: s.Start, End: s.End, Deletion: del})
			}
		default:
			m.PartitionDeletion = del
		}
		muts = append(muts, m)
	}
	return muts, nil
}

// deleteColumn deletes a column, a collection element or a UDT field.
func (w *writeCtx) deleteColumn(k partitionKey, row *storage.RowUpdate, col *schema.Column, d *cql.Deletion) error {
	t := col.Type
	switch {
	case d.Key != nil:
		if !t.IsMultiCell() || (t.Kind != types.Map && t.Kind != types.List && t.Kind != types.Set) {
			return cqlerr.Invalidf("Invalid deletion operation for non-collection or frozen column %s", col.Name)
		}
		if t.Kind == types.List {
			idx, _, err := w.intTerm(d.Key, "[index]")
			if err != nil {
				return err
			}
			cells, err := w.listCells(k, row.Clustering, row.Static, col)
			if err != nil {
				return cqlerr.Serverf("read failed: %v", err)
			}
			if idx < 0 || int(idx) >= len(cells) {
				return cqlerr.Invalidf("List index %d out of bound, list has size %d", idx, len(cells))
			}
			row.Cells = append(row.Cells, w.cell(col, cells[idx].Path, nil))
			return nil
		}
		key, _, err := w.term(d.Key, t.Key(), col.Name)
		if err != nil {
			return err
		}
		if key == nil {
			return cqlerr.Invalidf("Invalid null key for %s", col.Name)
		}
		row.Cells = append(row.Cells, w.cell(col, types.AppendKey(nil, t.Key(), key, false), nil))
	case d.Field != "":
		if t.Kind != types.UDT || !t.IsMultiCell() {
			return cqlerr.Invalidf("Invalid field deletion for non-UDT or frozen column %s", col.Name)
		}
		for i, fn := range t.FieldNames {
			if fn == d.Field {
				row.Cells = append(row.Cells, w.cell(col, fieldPath(i), nil))
				return nil
			}
		}
		return cqlerr.Invalidf("UDT column %s does not have a field named %s", col.Name, d.Field)
	case t.IsMultiCell():
		row.ComplexDeletions = append(row.ComplexDeletions, storage.ComplexDeletion{Column: col.ID,
			Deletion: storage.DeletionTime{MarkedForDeleteAt: w.ts, LocalDeletionTime: w.nowSec}})
	default:
		row.Cells = append(row.Cells, w.cell(col, nil, nil))
	}
	return nil
}
