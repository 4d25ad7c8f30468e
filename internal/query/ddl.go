package query

import (
	"strconv"
	"strings"

	"github.com/ringdb/ringdb/internal/cql"
	"github.com/ringdb/ringdb/internal/cqlerr"
	"github.com/ringdb/ringdb/internal/schema"
	"github.com/ringdb/ringdb/internal/storage"
)

// ddl executes schema statements: it applies the statement's change to
// the schema, then reports an applied change to OnSchemaChange and to the
// client. A statement with nothing to do (IF [NOT] EXISTS) gives a void
// result.
func (p *Processor) ddl(_ *evalCtx, s *Session, stmt cql.Statement) (*Result, error) {
	change, changed, err := p.applyDDL(s, stmt)
	if err != nil {
		return nil, err
	}
	if !changed {
		return &Result{Kind: ResultVoid}, nil
	}
	if p.opts.OnSchemaChange != nil {
		p.opts.OnSchemaChange(change)
	}
	return &Result{Kind: ResultSchemaChange, Change: change}, nil
}

// applyDDL applies one schema statement, by kind, and tells whether it
// changed the schema.
func (p *Processor) applyDDL(s *Session, stmt cql.Statement) (schema.Change, bool, error) {
	switch st := stmt.(type) {
	case *cql.CreateKeyspaceStatement:
		return p.createKeyspace(st)
	case *cql.AlterKeyspaceStatement:
		return p.alterKeyspace(st)
	case *cql.DropKeyspaceStatement:
		return p.dropKeyspace(st)
	case *cql.CreateTableStatement:
		return p.createTable(s, st)
	case *cql.AlterTableStatement:
		return p.alterTable(s, st)
	case *cql.DropTableStatement:
		return p.dropTable(s, st)
	case *cql.CreateTypeStatement:
		return p.createType(s, st)
	case *cql.AlterTypeStatement:
		return p.alterType(s, st)
	case *cql.DropTypeStatement:
		return p.dropType(s, st)
	case *cql.CreateIndexStatement, *cql.DropIndexStatement:
		return schema.Change{}, false, cqlerr.Invalidf("Secondary indexes are not supported by ringdb yet")
	default:
		return schema.Change{}, false, cqlerr.Invalidf("Unsupported statement")
	}
}

// ddlKeyspace is the keyspace of a name in a DDL statement: its own, or
// else the session's. Cassandra refuses a statement with neither.
func ddlKeyspace(s *Session, q cql.QualifiedName) (string, error) {
	if q.Keyspace != "" {
		return q.Keyspace, nil
	}
	if s.Keyspace == "" {
		return "", cqlerr.Invalidf("No keyspace has been specified. USE a keyspace, or explicitly specify keyspace.tablename")
	}
	return s.Keyspace, nil
}

// createKeyspace executes CREATE KEYSPACE: replication is mandatory,
// durable_writes defaults to true.
func (p *Processor) createKeyspace(st *cql.CreateKeyspaceStatement) (schema.Change, bool, error) {
	repl, durable, err := keyspaceOptions(st.Options)
	if err != nil {
		return schema.Change{}, false, err
	}
	if repl == nil {
		return schema.Change{}, false, cqlerr.ConfigErrorf("Missing mandatory option 'replication'")
	}
	changed, err := p.schema.CreateKeyspace(st.Name, repl, durable == nil || *durable, st.IfNotExists)
	return schema.Change{Type: schema.Created, Target: "KEYSPACE", Keyspace: st.Name}, changed, err
}

// alterKeyspace executes ALTER KEYSPACE, changing the options it names.
func (p *Processor) alterKeyspace(st *cql.AlterKeyspaceStatement) (schema.Change, bool, error) {
	repl, durable, err := keyspaceOptions(st.Options)
	if err != nil {
		return schema.Change{}, false, err
	}
	if st.IfExists && p.schema.Current().Keyspace(st.Name) == nil {
		return schema.Change{}, false, nil
	}
	changed, err := p.schema.AlterKeyspace(st.Name, repl, durable)
	return schema.Change{Type: schema.Updated, Target: "KEYSPACE", Keyspace: st.Name}, changed, err
}

// dropKeyspace executes DROP KEYSPACE and deletes its tables' data.
func (p *Processor) dropKeyspace(st *cql.DropKeyspaceStatement) (schema.Change, bool, error) {
	changed, dropped, err := p.schema.DropKeyspace(st.Name, st.IfExists)
	for _, t := range dropped {
		p.dropTableData(t)
	}
	return schema.Change{Type: schema.Dropped, Target: "KEYSPACE", Keyspace: st.Name}, changed, err
}

// dropTableData deletes a dropped table's data from the engine; a failure
// is logged (the table is gone from the schema either way).
func (p *Processor) dropTableData(t *schema.Table) {
	if err := p.engine.DropTable(storage.TableID(t.ID)); err != nil {
		p.log.Error("dropping table data failed", "table", t.Keyspace+"."+t.Name, "err", err)
	}
}

// createTable executes CREATE TABLE.
func (p *Processor) createTable(s *Session, st *cql.CreateTableStatement) (schema.Change, bool, error) {
	k, err := ddlKeyspace(s, st.Table)
	if err != nil {
		return schema.Change{}, false, err
	}
	d, err := tableDef(k, st)
	if err != nil {
		return schema.Change{}, false, err
	}
	changed, err := p.schema.CreateTable(d, st.IfNotExists)
	return schema.Change{Type: schema.Created, Target: "TABLE", Keyspace: k, Name: st.Table.Name}, changed, err
}

// tableDef is the definition of the table CREATE TABLE declares in
// keyspace k.
func tableDef(k string, st *cql.CreateTableStatement) (schema.TableDef, error) {
	if st.PrimaryKeyDecls > 1 {
		return schema.TableDef{}, cqlerr.Invalidf("Multiple PRIMARY KEYs specified (exactly one required)")
	}
	if st.CompactStorage {
		// Cassandra 4.0 still creates COMPACT STORAGE tables (for
		// upgrades from 3.x); ringdb has no compact table semantics,
		// so it refuses rather than create an ordinary table.
		return schema.TableDef{}, cqlerr.Invalidf("COMPACT STORAGE tables are not supported by ringdb: create the table without WITH COMPACT STORAGE")
	}
	d := schema.TableDef{Keyspace: k, Name: st.Table.Name, PartitionKey: st.PartitionKey, Clustering: st.Clustering,
		Desc: map[string]bool{}}
	d.Columns = columnDefs(st.Columns)
	for _, o := range st.ClusteringOrder {
		d.Desc[o.Column] = o.Desc
		d.ClusteringOrder = append(d.ClusteringOrder, o.Column)
	}
	var err error
	d.Options, d.OptionOrder, err = tableOptions(st.Options)
	return d, err
}

// columnDefs converts parsed column declarations.
func columnDefs(cols []cql.ColumnDef) []schema.ColumnDef {
	var out []schema.ColumnDef
	for _, cd := range cols {
		out = append(out, schema.ColumnDef{Name: cd.Name, Type: typeRefString(cd.Type), Static: cd.Static})
	}
	return out
}

// tableOptions converts a table's WITH options, keeping their order.
func tableOptions(opts []cql.Option) (map[string]schema.OptionValue, []string, error) {
	m := map[string]schema.OptionValue{}
	var order []string
	for _, o := range opts {
		v, err := optionValue(o)
		if err != nil {
			return nil, nil, err
		}
		m[o.Name] = v
		order = append(order, o.Name)
	}
	return m, order, nil
}

// alterTable executes ALTER TABLE.
func (p *Processor) alterTable(s *Session, st *cql.AlterTableStatement) (schema.Change, bool, error) {
	k, err := ddlKeyspace(s, st.Table)
	if err != nil {
		return schema.Change{}, false, err
	}
	t := p.schema.Current().Table(k, st.Table.Name)
	if st.IfExists && t == nil {
		return schema.Change{}, false, nil
	}
	a, ok, err := tableAlter(t, st)
	if err != nil || !ok {
		return schema.Change{}, false, err
	}
	changed, err := p.schema.AlterTable(k, st.Table.Name, a)
	return schema.Change{Type: schema.Updated, Target: "TABLE", Keyspace: k, Name: st.Table.Name}, changed, err
}

// tableAlter is the change ALTER TABLE asks of table t (nil when it does
// not exist), by kind; ok is false when IF [NOT] EXISTS leaves nothing to
// do.
func tableAlter(t *schema.Table, st *cql.AlterTableStatement) (a schema.TableAlter, ok bool, err error) {
	switch st.Kind {
	case cql.AlterTableAdd:
		for _, cd := range st.AddColumns {
			if st.IfNotExists && t != nil && t.Column(cd.Name) != nil {
				continue
			}
			a.Add = append(a.Add, schema.ColumnDef{Name: cd.Name, Type: typeRefString(cd.Type), Static: cd.Static})
		}
		return a, len(a.Add) > 0, nil
	case cql.AlterTableDrop:
		for _, n := range st.DropColumns {
			if st.ColumnIfExists && t != nil && t.Column(n) == nil {
				continue
			}
			a.Drop = append(a.Drop, n)
		}
		return a, len(a.Drop) > 0, nil
	case cql.AlterTableRename:
		for _, r := range st.Renames {
			a.Rename = append(a.Rename, [2]string{r.From, r.To})
		}
	case cql.AlterTableAlterType:
		a.AlterColumn, a.AlterType = st.Column, typeRefString(st.Type)
	case cql.AlterTableWith:
		a.Options, a.OptionOrder, err = tableOptions(st.Options)
	default:
		return a, false, cqlerr.Invalidf("DROP COMPACT STORAGE is not supported by ringdb")
	}
	return a, err == nil, err
}

// dropTable executes DROP TABLE and deletes the table's data.
func (p *Processor) dropTable(s *Session, st *cql.DropTableStatement) (schema.Change, bool, error) {
	k, err := ddlKeyspace(s, st.Table)
	if err != nil {
		return schema.Change{}, false, err
	}
	changed, dropped, err := p.schema.DropTable(k, st.Table.Name, st.IfExists)
	if dropped != nil {
		p.dropTableData(dropped)
	}
	return schema.Change{Type: schema.Dropped, Target: "TABLE", Keyspace: k, Name: st.Table.Name}, changed, err
}

// createType executes CREATE TYPE.
func (p *Processor) createType(s *Session, st *cql.CreateTypeStatement) (schema.Change, bool, error) {
	k, err := ddlKeyspace(s, st.Name)
	if err != nil {
		return schema.Change{}, false, err
	}
	var fields []schema.TypeField
	for _, f := range st.Fields {
		fields = append(fields, schema.TypeField{Name: f.Name, Type: typeRefString(f.Type)})
	}
	changed, err := p.schema.CreateType(k, st.Name.Name, fields, st.IfNotExists)
	return schema.Change{Type: schema.Created, Target: "TYPE", Keyspace: k, Name: st.Name.Name}, changed, err
}

// alterType executes ALTER TYPE: adding or renaming fields (Cassandra
// 4.0 no longer alters a field's type).
func (p *Processor) alterType(s *Session, st *cql.AlterTypeStatement) (schema.Change, bool, error) {
	k, err := ddlKeyspace(s, st.Name)
	if err != nil {
		return schema.Change{}, false, err
	}
	if st.IfExists {
		if kk := p.schema.Current().Keyspace(k); kk == nil || kk.Types[st.Name.Name] == nil {
			return schema.Change{}, false, nil
		}
	}
	var changed bool
	switch st.Kind {
	case cql.AlterTypeAdd:
		changed, err = p.schema.AlterType(k, st.Name.Name, &schema.TypeField{Name: st.Field, Type: typeRefString(st.Type)}, nil)
	case cql.AlterTypeRename:
		var rn [][2]string
		for _, r := range st.Renames {
			rn = append(rn, [2]string{r.From, r.To})
		}
		changed, err = p.schema.AlterType(k, st.Name.Name, nil, rn)
	default:
		return schema.Change{}, false, cqlerr.Invalidf("Altering field types is no longer supported")
	}
	return schema.Change{Type: schema.Updated, Target: "TYPE", Keyspace: k, Name: st.Name.Name}, changed, err
}

// dropType executes DROP TYPE.
func (p *Processor) dropType(s *Session, st *cql.DropTypeStatement) (schema.Change, bool, error) {
	k, err := ddlKeyspace(s, st.Name)
	if err != nil {
		return schema.Change{}, false, err
	}
	changed, err := p.schema.DropType(k, st.Name.Name, st.IfExists)
	return schema.Change{Type: schema.Dropped, Target: "TYPE", Keyspace: k, Name: st.Name.Name}, changed, err
}

// optionValue converts a parsed WITH option value.
func optionValue(o cql.Option) (schema.OptionValue, error) {
	switch v := o.Value.(type) {
	case *cql.Constant:
		return schema.OptionValue{Text: v.Text, IsText: true}, nil
	case *cql.MapLiteral:
		m := map[string]string{}
		for _, e := range v.Entries {
			k, ok1 := e.Key.(*cql.Constant)
			val, ok2 := e.Value.(*cql.Constant)
			if !ok1 || !ok2 {
				return schema.OptionValue{}, cqlerr.Syntaxf("Invalid value for property '%s': map entries must be constants", o.Name)
			}
			m[k.Text] = val.Text
		}
		return schema.OptionValue{Map: m, IsMap: true}, nil
	case *cql.EmptyCollection:
		return schema.OptionValue{Map: map[string]string{}, IsMap: true}, nil
	}
	return schema.OptionValue{}, cqlerr.Syntaxf("Invalid value for property '%s'", o.Name)
}

// keyspaceOptions reads replication and durable_writes.
func keyspaceOptions(opts []cql.Option) (map[string]string, *bool, error) {
	var repl map[string]string
	var durable *bool
	for _, o := range opts {
		v, err := optionValue(o)
		if err != nil {
			return nil, nil, err
		}
		switch o.Name {
		case "replication":
			if !v.IsMap {
				return nil, nil, cqlerr.ConfigErrorf("Invalid value for property 'replication'")
			}
			repl = v.Map
		case "durable_writes":
			b, err := strconv.ParseBool(strings.ToLower(v.Text))
			if err != nil {
				return nil, nil, cqlerr.ConfigErrorf("Invalid boolean value %s for 'durable_writes'", v.Text)
			}
			durable = &b
		default:
			return nil, nil, cqlerr.ConfigErrorf("Unknown property '%s'", o.Name)
		}
	}
	return repl, durable, nil
}
