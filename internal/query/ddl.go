package query

import (
	"strconv"
	"strings"

	"github.com/ringdb/ringdb/internal/cql"
	"github.com/ringdb/ringdb/internal/cqlerr"
	"github.com/ringdb/ringdb/internal/schema"
	"github.com/ringdb/ringdb/internal/storage"
)

// ddl executes schema statements.
func (p *Processor) ddl(c *evalCtx, s *Session, stmt cql.Statement) (*Result, error) {
	var change schema.Change
	var changed bool
	var err error
	ks := func(q cql.QualifiedName) string {
		if q.Keyspace != "" {
			return q.Keyspace
		}
		return s.Keyspace
	}
	needKS := func(name string) error {
		if name == "" {
			return cqlerr.Invalidf("No keyspace has been specified. USE a keyspace, or explicitly specify keyspace.tablename")
		}
		return nil
	}
	switch st := stmt.(type) {
	case *cql.CreateKeyspaceStatement:
		repl, durable, _, err2 := keyspaceOptions(st.Options)
		if err2 != nil {
			return nil, err2
		}
		if repl == nil {
			return nil, cqlerr.ConfigErrorf("Missing mandatory option 'replication'")
		}
		changed, err = p.schema.CreateKeyspace(st.Name, repl, durable == nil || *durable, st.IfNotExists)
		change = schema.Change{Type: schema.Created, Target: "KEYSPACE", Keyspace: st.Name}
	case *cql.AlterKeyspaceStatement:
		repl, durable, _, err2 := keyspaceOptions(st.Options)
		if err2 != nil {
			return nil, err2
		}
		if st.IfExists && p.schema.Current().Keyspace(st.Name) == nil {
			return &Result{Kind: ResultVoid}, nil
		}
		changed, err = p.schema.AlterKeyspace(st.Name, repl, durable)
		change = schema.Change{Type: schema.Updated, Target: "KEYSPACE", Keyspace: st.Name}
	case *cql.DropKeyspaceStatement:
		var dropped []*schema.Table
		changed, dropped, err = p.schema.DropKeyspace(st.Name, st.IfExists)
		for _, t := range dropped {
			if derr := p.engine.DropTable(storage.TableID(t.ID)); derr != nil {
				p.log.Error("dropping table data failed", "table", t.Keyspace+"."+t.Name, "err", derr)
			}
		}
		change = schema.Change{Type: schema.Dropped, Target: "KEYSPACE", Keyspace: st.Name}
	case *cql.CreateTableStatement:
		k := ks(st.Table)
		if err := needKS(k); err != nil {
			return nil, err
		}
		if st.PrimaryKeyDecls > 1 {
			return nil, cqlerr.Invalidf("Multiple PRIMARY KEYs specified (exactly one required)")
		}
		if st.CompactStorage {
			// Cassandra 4.0 still creates COMPACT STORAGE tables (for
			// upgrades from 3.x); ringdb has no compact table semantics,
			// so it refuses rather than create an ordinary table.
			return nil, cqlerr.Invalidf("COMPACT STORAGE tables are not supported by ringdb: create the table without WITH COMPACT STORAGE")
		}
		d := schema.TableDef{Keyspace: k, Name: st.Table.Name, PartitionKey: st.PartitionKey, Clustering: st.Clustering,
			Desc: map[string]bool{}, Options: map[string]schema.OptionValue{}}
		for _, cd := range st.Columns {
			d.Columns = append(d.Columns, schema.ColumnDef{Name: cd.Name, Type: typeRefString(cd.Type), Static: cd.Static})
		}
		for _, o := range st.ClusteringOrder {
			d.Desc[o.Column] = o.Desc
			d.ClusteringOrder = append(d.ClusteringOrder, o.Column)
		}
		for _, o := range st.Options {
			v, err := optionValue(o)
			if err != nil {
				return nil, err
			}
			d.Options[o.Name] = v
			d.OptionOrder = append(d.OptionOrder, o.Name)
		}
		changed, err = p.schema.CreateTable(d, st.IfNotExists)
		change = schema.Change{Type: schema.Created, Target: "TABLE", Keyspace: k, Name: st.Table.Name}
	case *cql.AlterTableStatement:
		k := ks(st.Table)
		if err := needKS(k); err != nil {
			return nil, err
		}
		if st.IfExists && p.schema.Current().Table(k, st.Table.Name) == nil {
			return &Result{Kind: ResultVoid}, nil
		}
		var a schema.TableAlter
		switch st.Kind {
		case cql.AlterTableAdd:
			t := p.schema.Current().Table(k, st.Table.Name)
			for _, cd := range st.AddColumns {
				if st.IfNotExists && t != nil && t.Column(cd.Name) != nil {
					continue
				}
				a.Add = append(a.Add, schema.ColumnDef{Name: cd.Name, Type: typeRefString(cd.Type), Static: cd.Static})
			}
			if len(a.Add) == 0 {
				return &Result{Kind: ResultVoid}, nil
			}
		case cql.AlterTableDrop:
			t := p.schema.Current().Table(k, st.Table.Name)
			for _, n := range st.DropColumns {
				if st.ColumnIfExists && t != nil && t.Column(n) == nil {
					continue
				}
				a.Drop = append(a.Drop, n)
			}
			if len(a.Drop) == 0 {
				return &Result{Kind: ResultVoid}, nil
			}
		case cql.AlterTableRename:
			for _, r := range st.Renames {
				a.Rename = append(a.Rename, [2]string{r.From, r.To})
			}
		case cql.AlterTableAlterType:
			a.AlterColumn, a.AlterType = st.Column, typeRefString(st.Type)
		case cql.AlterTableWith:
			a.Options = map[string]schema.OptionValue{}
			for _, o := range st.Options {
				v, err := optionValue(o)
				if err != nil {
					return nil, err
				}
				a.Options[o.Name] = v
				a.OptionOrder = append(a.OptionOrder, o.Name)
			}
		default:
			return nil, cqlerr.Invalidf("DROP COMPACT STORAGE is not supported by ringdb")
		}
		changed, err = p.schema.AlterTable(k, st.Table.Name, a)
		change = schema.Change{Type: schema.Updated, Target: "TABLE", Keyspace: k, Name: st.Table.Name}
	case *cql.DropTableStatement:
		k := ks(st.Table)
		if err := needKS(k); err != nil {
			return nil, err
		}
		var dropped *schema.Table
		changed, dropped, err = p.schema.DropTable(k, st.Table.Name, st.IfExists)
		if dropped != nil {
			if derr := p.engine.DropTable(storage.TableID(dropped.ID)); derr != nil {
				p.log.Error("dropping table data failed", "table", k+"."+st.Table.Name, "err", derr)
			}
		}
		change = schema.Change{Type: schema.Dropped, Target: "TABLE", Keyspace: k, Name: st.Table.Name}
	case *cql.CreateTypeStatement:
		k := ks(st.Name)
		if err := needKS(k); err != nil {
			return nil, err
		}
		var fields []schema.TypeField
		for _, f := range st.Fields {
			fields = append(fields, schema.TypeField{Name: f.Name, Type: typeRefString(f.Type)})
		}
		changed, err = p.schema.CreateType(k, st.Name.Name, fields, st.IfNotExists)
		change = schema.Change{Type: schema.Created, Target: "TYPE", Keyspace: k, Name: st.Name.Name}
	case *cql.DropTypeStatement:
		k := ks(st.Name)
		if err := needKS(k); err != nil {
			return nil, err
		}
		changed, err = p.schema.DropType(k, st.Name.Name, st.IfExists)
		change = schema.Change{Type: schema.Dropped, Target: "TYPE", Keyspace: k, Name: st.Name.Name}
	case *cql.AlterTypeStatement:
		k := ks(st.Name)
		if err := needKS(k); err != nil {
			return nil, err
		}
		if st.IfExists {
			if kk := p.schema.Current().Keyspace(k); kk == nil || kk.Types[st.Name.Name] == nil {
				return &Result{Kind: ResultVoid}, nil
			}
		}
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
			return nil, cqlerr.Invalidf("Altering field types is no longer supported")
		}
		change = schema.Change{Type: schema.Updated, Target: "TYPE", Keyspace: k, Name: st.Name.Name}
	case *cql.CreateIndexStatement, *cql.DropIndexStatement:
		return nil, cqlerr.Invalidf("Secondary indexes are not supported by ringdb yet")
	default:
		return nil, cqlerr.Invalidf("Unsupported statement")
	}
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
func keyspaceOptions(opts []cql.Option) (map[string]string, *bool, bool, error) {
	var repl map[string]string
	var durable *bool
	for _, o := range opts {
		v, err := optionValue(o)
		if err != nil {
			return nil, nil, false, err
		}
		switch o.Name {
		case "replication":
			if !v.IsMap {
				return nil, nil, false, cqlerr.ConfigErrorf("Invalid value for property 'replication'")
			}
			repl = v.Map
		case "durable_writes":
			b, err := strconv.ParseBool(strings.ToLower(v.Text))
			if err != nil {
				return nil, nil, false, cqlerr.ConfigErrorf("Invalid boolean value %s for 'durable_writes'", v.Text)
			}
			durable = &b
		default:
			return nil, nil, false, cqlerr.ConfigErrorf("Unknown property '%s'", o.Name)
		}
	}
	return repl, durable, false, nil
}
