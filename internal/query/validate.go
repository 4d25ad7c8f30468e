package query

import (
	"strings"

	"github.com/ringdb/ringdb/internal/cql"
	"github.com/ringdb/ringdb/internal/cqlerr"
	"github.com/ringdb/ringdb/internal/schema"
)

// This file holds the checks Cassandra makes when it prepares a statement,
// before any value is bound: they fail PREPARE, and a QUERY before its
// values are counted, exactly as they would fail an EXECUTE.

// validate checks a parsed statement against the schema as Cassandra's
// prepare step does. Statements other than INSERT, UPDATE, DELETE and
// BATCH pass; their errors come when they run.
func (p *Processor) validate(s *Session, stmt cql.Statement) error {
	switch st := stmt.(type) {
	case *cql.InsertStatement, *cql.UpdateStatement, *cql.DeleteStatement:
		_, err := p.validateModification(s, st)
		return err
	case *cql.BatchStatement:
		return p.validateBatch(s, st.Statements, st.Using.Timestamp != nil)
	}
	return nil
}

// validateBatch checks the statements of a batch one by one, then what
// Cassandra's BatchStatement.validate checks of the whole: a batch-wide
// USING TIMESTAMP excludes conditions and per-statement timestamps, and
// conditions confine the batch to one table.
func (p *Processor) validateBatch(s *Session, stmts []cql.Statement, batchTimestamp bool) error {
	var tables []*schema.Table
	hasConditions := false
	for _, st := range stmts {
		t, err := p.validateModification(s, st)
		if err != nil {
			return err
		}
		tables = append(tables, t)
		if conditionsOf(st) != nil {
			hasConditions = true
		}
	}
	if batchTimestamp {
		if hasConditions {
			return cqlerr.Invalidf("Cannot provide custom timestamp for conditional BATCH")
		}
		for _, st := range stmts {
			if usingOf(st).Timestamp != nil {
				return cqlerr.Invalidf("Timestamp must be set either on BATCH or individual statements")
			}
		}
	}
	if hasConditions {
		for _, t := range tables[1:] {
			if t != tables[0] {
				return cqlerr.Invalidf("Batch with conditions cannot span multiple tables")
			}
		}
	}
	return nil
}

// usingOf returns a modification statement's USING clause.
func usingOf(stmt cql.Statement) cql.UsingClause {
	switch st := stmt.(type) {
	case *cql.InsertStatement:
		return st.Using
	case *cql.UpdateStatement:
		return st.Using
	case *cql.DeleteStatement:
		return st.Using
	}
	return cql.UsingClause{}
}

// tableOf returns the table name a modification statement writes.
func tableOf(stmt cql.Statement) (cql.QualifiedName, bool) {
	switch st := stmt.(type) {
	case *cql.InsertStatement:
		return st.Table, true
	case *cql.UpdateStatement:
		return st.Table, true
	case *cql.DeleteStatement:
		return st.Table, true
	}
	return cql.QualifiedName{}, false
}

// validateModification resolves the table of an INSERT, UPDATE or DELETE
// and checks that its primary key is given as Cassandra requires: every
// partition key column, and every clustering column unless only static
// columns are written (DELETE may name a clustering prefix or slice).
func (p *Processor) validateModification(s *Session, stmt cql.Statement) (*schema.Table, error) {
	q, ok := tableOf(stmt)
	if !ok {
		return nil, cqlerr.Invalidf("Only INSERT, UPDATE, and DELETE statements are allowed in a batch")
	}
	t, err := p.table(s, q)
	if err != nil {
		return nil, err
	}
	switch st := stmt.(type) {
	case *cql.InsertStatement:
		err = checkInsertKey(t, st)
	case *cql.UpdateStatement:
		err = checkWhereKey(t, "UPDATE", st.Where, updatesOnlyStatic(t, st))
	case *cql.DeleteStatement:
		err = checkWhereKey(t, "DELETE", st.Where, true)
	}
	return t, err
}

// checkInsertKey checks that an INSERT names the whole primary key (the
// clustering columns may be left out when only static columns are set).
func checkInsertKey(t *schema.Table, st *cql.InsertStatement) error {
	if st.JSON != nil {
		return nil // the key is in the JSON value
	}
	given := map[string]bool{}
	for _, name := range st.Columns {
		if given[name] {
			return cqlerr.Invalidf("The column names contains duplicates")
		}
		given[name] = true
	}
	statics, regulars, clustering := 0, 0, 0
	for _, name := range st.Columns {
		col := t.Column(name)
		if col == nil {
			return cqlerr.Invalidf("Undefined column name %s", name)
		}
		switch col.Kind {
		case schema.Static:
			statics++
		case schema.Regular:
			regulars++
		case schema.Clustering:
			clustering++
		}
	}
	onlyStatic := statics > 0 && regulars == 0 && clustering == 0
	if missing := missingColumns(t.PartitionKey, given); missing != "" {
		return cqlerr.Invalidf("Some partition key parts are missing: %s", missing)
	}
	if missing := missingColumns(t.Clustering, given); missing != "" && !onlyStatic {
		return cqlerr.Invalidf("Some clustering keys are missing: %s", missing)
	}
	return nil
}

// updatesOnlyStatic reports whether every column an UPDATE sets, and
// every column its IF conditions name, is static.
func updatesOnlyStatic(t *schema.Table, st *cql.UpdateStatement) bool {
	for _, a := range st.Assignments {
		if col := t.Column(a.Column); col == nil || col.Kind != schema.Static {
			return false
		}
	}
	for _, c := range st.Conditions {
		if col := t.Column(c.Column); col == nil || col.Kind != schema.Static {
			return false
		}
	}
	return len(st.Assignments) > 0
}

// checkWhereKey checks the primary key restrictions of an UPDATE or DELETE
// in the order Cassandra's StatementRestrictions does: no token(), every
// partition key column restricted and only by = or IN, then (UPDATE) no
// clustering slice and every clustering column restricted unless only
// static columns are written. what is "UPDATE" or "DELETE".
func checkWhereKey(t *schema.Table, what string, where []cql.Relation, clusteringOptional bool) error {
	pk, ck := map[string]bool{}, map[string]bool{}
	pkSlice, ckSlice := false, false
	for _, r := range where {
		switch r.Kind {
		case cql.RelToken:
			return cqlerr.Invalidf("The token function cannot be used in WHERE clauses for %s statements", what)
		case cql.RelSingle, cql.RelMulti:
			for _, name := range r.Columns {
				col := t.Column(name)
				if col == nil {
					return cqlerr.Invalidf("Undefined column name %s", name)
				}
				switch col.Kind {
				case schema.PartitionKey:
					if r.Kind == cql.RelMulti {
						return cqlerr.Invalidf("Multi-column relations can only be applied to clustering columns but was applied to: %s", name)
					}
					pk[name] = true
					pkSlice = pkSlice || isSlice(r.Op)
				case schema.Clustering:
					ck[name] = true
					ckSlice = ckSlice || isSlice(r.Op)
				}
			}
		}
	}
	if missing := missingColumns(t.PartitionKey, pk); missing != "" {
		return cqlerr.Invalidf("Some partition key parts are missing: %s", missing)
	}
	if pkSlice {
		return cqlerr.Invalidf("Only EQ and IN relation are supported on the partition key (unless you use the token() function) for %s statements", what)
	}
	if what != "UPDATE" {
		return nil
	}
	if ckSlice {
		return cqlerr.Invalidf("Slice restrictions are not supported on the clustering columns in %s statements", what)
	}
	if missing := missingColumns(t.Clustering, ck); missing != "" && !clusteringOptional {
		return cqlerr.Invalidf("Some clustering keys are missing: %s", missing)
	}
	return nil
}

func isSlice(op cql.Operator) bool {
	return op == cql.OpLt || op == cql.OpLte || op == cql.OpGt || op == cql.OpGte
}

// missingColumns lists, comma separated in key order, the columns of cols
// not in given ("" when none is missing).
func missingColumns(cols []*schema.Column, given map[string]bool) string {
	var missing []string
	for _, c := range cols {
		if !given[c.Name] {
			missing = append(missing, c.Name)
		}
	}
	return strings.Join(missing, ", ")
}
