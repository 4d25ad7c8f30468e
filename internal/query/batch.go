package query

import (
	"context"

	"github.com/ringdb/ringdb/internal/consistency"
	"github.com/ringdb/ringdb/internal/cql"
	"github.com/ringdb/ringdb/internal/cqlerr"
	"github.com/ringdb/ringdb/internal/schema"
	"github.com/ringdb/ringdb/internal/storage"
)

// Batch executes a BATCH message. Without conditions all mutations are
// applied atomically; with conditions the batch is one compare-and-set on
// a single partition.
func (p *Processor) Batch(ctx context.Context, s *Session, batchType byte, entries []BatchEntry, params *Params) (*Result, error) {
	if batchType == 2 {
		return nil, cqlerr.Invalidf("Counter batches are not supported: ringdb has no counter columns yet")
	}
	now := p.opts.Now()
	ts := now.UnixMicro()
	if params != nil && params.HasTimestamp {
		ts = params.Timestamp
	}
	cl := consistencyOf(params)
	items := make([]batchItem, 0, len(entries))
	for _, e := range entries {
		stmt, sess, err := p.batchEntry(s, e)
		if err == nil {
			err = p.authorize(sess, stmt) // MODIFY on each table (authz_stmt.go)
		}
		if err != nil {
			return nil, err
		}
		items = append(items, batchItem{stmt: stmt, sess: sess, ts: ts,
			c: &evalCtx{p: p, values: e.Values, now: now, ctx: ctx, cl: cl, serial: serialOf(params)}})
	}
	if err := p.checkConditionalTables(items); err != nil {
		return nil, err
	}
	return p.runBatch(ctx, items, batchType == 1, cl)
}

// batchEntry resolves one statement of a BATCH message: a prepared one by
// id, or a query string, prepared (checked) as Cassandra does. Either way
// the number of values must match its bind markers.
func (p *Processor) batchEntry(s *Session, e BatchEntry) (cql.Statement, *Session, error) {
	sess := *s
	if e.Prepared {
		ps, ok := p.Lookup(e.ID)
		if !ok {
			return nil, nil, cqlerr.UnpreparedID(e.ID)
		}
		if ps.Keyspace != "" {
			sess.Keyspace = ps.Keyspace
		}
		if len(e.Values) != len(ps.Vars) {
			return nil, nil, cqlerr.Invalidf("There were %d markers(?) in CQL but %d bound variables", len(ps.Vars), len(e.Values))
		}
		return ps.Stmt, &sess, nil
	}
	stmt, err := cql.Parse(e.Query)
	if err != nil {
		return nil, nil, syntaxErr(err)
	}
	if _, err := p.validateModification(&sess, stmt); err != nil {
		return nil, nil, err
	}
	if n := len(cql.BindMarkers(stmt)); n != len(e.Values) {
		return nil, nil, cqlerr.Invalidf("There were %d markers(?) in CQL but %d bound variables", n, len(e.Values))
	}
	return stmt, &sess, nil
}

// checkConditionalTables refuses a conditional batch over several tables.
func (p *Processor) checkConditionalTables(items []batchItem) error {
	var first *schema.Table
	conditional := false
	for _, it := range items {
		conditional = conditional || conditionsOf(it.stmt) != nil
	}
	if !conditional {
		return nil
	}
	for _, it := range items {
		q, _ := tableOf(it.stmt)
		t, err := p.table(it.sess, q)
		if err != nil {
			return err
		}
		if first == nil {
			first = t
		} else if first.ID != t.ID {
			return cqlerr.Invalidf("Batch with conditions cannot span multiple tables")
		}
	}
	return nil
}

// batchStmt executes a BEGIN BATCH ... APPLY BATCH statement.
func (p *Processor) batchStmt(c *evalCtx, s *Session, b *cql.BatchStatement, params *Params) (*Result, error) {
	if b.Type == cql.BatchCounter {
		return nil, cqlerr.Invalidf("Counter batches are not supported: ringdb has no counter columns yet")
	}
	ts := c.now.UnixMicro()
	if params != nil && params.HasTimestamp {
		ts = params.Timestamp
	}
	if b.Using.Timestamp != nil {
		v, unset, err := c.bigintTerm(b.Using.Timestamp, "[timestamp]")
		if err != nil {
			return nil, err
		}
		if !unset {
			ts = v
		}
	}
	items := make([]batchItem, len(b.Statements))
	for i, st := range b.Statements {
		items[i] = batchItem{stmt: st, sess: s, c: c, ts: ts}
	}
	return p.runBatch(c.ctx, items, b.Type == cql.BatchUnlogged, c.cl)
}

// runBatch executes checked batch statements: as one compare-and-set when
// any has conditions, else by applying all their mutations at once (after
// the batch size checks).
func (p *Processor) runBatch(ctx context.Context, items []batchItem, unlogged bool, cl consistency.Level) (*Result, error) {
	conditional := false
	for _, it := range items {
		conditional = conditional || conditionsOf(it.stmt) != nil
	}
	if conditional {
		// Every statement of a conditional batch is stamped when the
		// conditions are checked, so none may bring its own timestamp.
		for _, it := range items {
			if usingOf(it.stmt).Timestamp != nil {
				return nil, cqlerr.Invalidf("Cannot provide custom timestamp for conditional updates")
			}
		}
		req := &casRequest{batch: true}
		for _, it := range items {
			if err := p.addToCAS(req, it); err != nil {
				return nil, err
			}
		}
		return p.runCAS(ctx, req)
	}
	var muts []*storage.Mutation
	tables := map[storage.TableID]*schema.Table{}
	for _, it := range items {
		m, err := p.modification(it.c, it.sess, it.stmt, it.ts)
		if err != nil {
			return nil, err
		}
		q, _ := tableOf(it.stmt)
		if t, err := p.table(it.sess, q); err == nil {
			tables[storage.TableID(t.ID)] = t
		}
		muts = append(muts, m...)
	}
	warnings, err := p.checkBatchSize(muts, tables)
	if err != nil {
		return nil, err
	}
	wt := WriteBatch
	if unlogged {
		wt = WriteUnloggedBatch
	}
	if err := p.apply(ctx, muts, cl, wt); err != nil {
		return nil, err
	}
	return &Result{Kind: ResultVoid, Warnings: warnings}, nil
}
