package cql

// CREATE / ALTER / DROP of keyspaces, tables, types and indexes, and the
// dispatch of CREATE/ALTER/DROP to role, user and unsupported statements.

func (p *parser) createStatement() Statement {
	start := p.next() // CREATE
	t := p.peek()
	switch {
	case t.isKw("keyspace"), t.isKw("schema"):
		p.next()
		s := &CreateKeyspaceStatement{StmtBase: newBase(start)}
		s.IfNotExists = p.ifNotExists()
		s.Name = p.keyspaceName()
		p.expectKw("with")
		s.Options = p.properties()
		return s
	case t.isKw("table"), t.isKw("columnfamily"):
		p.next()
		return p.createTable(start)
	case t.isKw("index"), t.isKw("custom") && p.isKwN(1, "index"):
		return p.createIndex(start)
	case t.isKw("type"):
		p.next()
		s := &CreateTypeStatement{StmtBase: newBase(start)}
		s.IfNotExists = p.ifNotExists()
		s.Name = p.userTypeName()
		p.expectPunct("(")
		for {
			f := FieldDef{Name: p.ident()}
			f.Type = p.typeRef()
			s.Fields = append(s.Fields, f)
			if p.err != nil || !p.acceptPunct(",") {
				break
			}
		}
		p.expectPunct(")")
		return s
	case t.isKw("role"):
		p.next()
		s := &CreateRoleStatement{StmtBase: newBase(start)}
		s.IfNotExists = p.ifNotExists()
		s.Name = p.roleName()
		if p.acceptKw("with") {
			p.roleOptions(&s.Options)
		}
		return s
	case t.isKw("user"):
		p.next()
		s := &CreateUserStatement{StmtBase: newBase(start)}
		s.IfNotExists = p.ifNotExists()
		s.Name = p.userName()
		s.Password, s.Hashed, s.Superuser = p.userOptions()
		return s
	case t.isKw("materialized"):
		return p.unsupported(start, "CREATE MATERIALIZED VIEW")
	case t.isKw("function"):
		return p.unsupported(start, "CREATE FUNCTION")
	case t.isKw("aggregate"):
		return p.unsupported(start, "CREATE AGGREGATE")
	case t.isKw("trigger"):
		return p.unsupported(start, "CREATE TRIGGER")
	case t.isKw("or") && p.isKwN(1, "replace"):
		switch {
		case p.isKwN(2, "function"):
			return p.unsupported(start, "CREATE FUNCTION")
		case p.isKwN(2, "aggregate"):
			return p.unsupported(start, "CREATE AGGREGATE")
		}
		p.next()
		p.next()
		p.failNoViable()
		return nil
	}
	p.failNoViable()
	return nil
}

func (p *parser) alterStatement() Statement {
	start := p.next() // ALTER
	t := p.peek()
	switch {
	case t.isKw("keyspace"), t.isKw("schema"):
		p.next()
		s := &AlterKeyspaceStatement{StmtBase: newBase(start)}
		s.IfExists = p.ifExists()
		s.Name = p.keyspaceName()
		p.expectKw("with")
		s.Options = p.properties()
		return s
	case t.isKw("table"), t.isKw("columnfamily"):
		p.next()
		return p.alterTable(start)
	case t.isKw("type"):
		p.next()
		return p.alterType(start)
	case t.isKw("role"):
		p.next()
		s := &AlterRoleStatement{StmtBase: newBase(start)}
		s.IfExists = p.ifExists()
		s.Name = p.roleName()
		p.expectKw("with")
		p.roleOptions(&s.Options)
		return s
	case t.isKw("user"):
		p.next()
		s := &AlterUserStatement{StmtBase: newBase(start)}
		s.IfExists = p.ifExists()
		s.Name = p.userName()
		s.Password, s.Hashed, s.Superuser = p.userOptions()
		return s
	case t.isKw("materialized"):
		return p.unsupported(start, "ALTER MATERIALIZED VIEW")
	}
	p.failNoViable()
	return nil
}

func (p *parser) dropStatement() Statement {
	start := p.next() // DROP
	t := p.peek()
	switch {
	case t.isKw("keyspace"), t.isKw("schema"):
		p.next()
		s := &DropKeyspaceStatement{StmtBase: newBase(start)}
		s.IfExists = p.ifExists()
		s.Name = p.keyspaceName()
		return s
	case t.isKw("table"), t.isKw("columnfamily"):
		p.next()
		s := &DropTableStatement{StmtBase: newBase(start)}
		s.IfExists = p.ifExists()
		s.Table = p.qualifiedName()
		return s
	case t.isKw("index"):
		p.next()
		s := &DropIndexStatement{StmtBase: newBase(start)}
		s.IfExists = p.ifExists()
		s.Name = p.qualifiedName()
		return s
	case t.isKw("type"):
		p.next()
		s := &DropTypeStatement{StmtBase: newBase(start)}
		s.IfExists = p.ifExists()
		s.Name = p.userTypeName()
		return s
	case t.isKw("role"):
		p.next()
		s := &DropRoleStatement{StmtBase: newBase(start)}
		s.IfExists = p.ifExists()
		s.Name = p.roleName()
		return s
	case t.isKw("user"):
		p.next()
		s := &DropUserStatement{StmtBase: newBase(start)}
		s.IfExists = p.ifExists()
		s.Name = p.userName()
		return s
	case t.isKw("materialized"):
		return p.unsupported(start, "DROP MATERIALIZED VIEW")
	case t.isKw("function"):
		return p.unsupported(start, "DROP FUNCTION")
	case t.isKw("aggregate"):
		return p.unsupported(start, "DROP AGGREGATE")
	case t.isKw("trigger"):
		return p.unsupported(start, "DROP TRIGGER")
	}
	p.failNoViable()
	return nil
}

// properties parses property (AND property)* of a WITH clause.
func (p *parser) properties() []Option {
	var out []Option
	for {
		out = append(out, p.property())
		if p.err != nil || !p.acceptKw("and") {
			return out
		}
	}
}

// property parses name = constant | identifier | map.
func (p *parser) property() Option {
	t := p.peek()
	o := Option{Pos: t.pos, Name: p.ident()}
	p.expectPunct("=")
	o.Value = p.propertyValue()
	return o
}

func (p *parser) propertyValue() Expr {
	t := p.peek()
	if t.isPunct("{") {
		v := p.braceLiteral()
		switch v := v.(type) {
		case *EmptyCollection:
			return &MapLiteral{Pos: v.Pos}
		case *MapLiteral:
			return v
		}
		p.failAt(t, "Invalid property value: expecting a map literal")
		return nil
	}
	if c := p.constant(); c != nil {
		return c
	}
	if t.kind == tIdent && !reservedKeywords[t.val] {
		p.next()
		return &Constant{Pos: t.pos, Kind: ConstString, Text: t.val}
	}
	if p.isMarkerStart() {
		p.failAt(t, "Invalid property value (bind variables are not supported in DDL queries)")
		return nil
	}
	p.failNoViable()
	return nil
}

func (p *parser) createTable(start token) Statement {
	s := &CreateTableStatement{StmtBase: newBase(start)}
	s.IfNotExists = p.ifNotExists()
	s.Table = p.qualifiedName()
	p.expectPunct("(")
	for {
		if p.isKw("primary") {
			p.next()
			p.expectKw("key")
			p.expectPunct("(")
			s.PrimaryKeyDecls++
			if p.acceptPunct("(") {
				for {
					s.PartitionKey = append(s.PartitionKey, p.ident())
					if p.err != nil || !p.acceptPunct(",") {
						break
					}
				}
				p.expectPunct(")")
			} else {
				s.PartitionKey = []string{p.ident()}
			}
			for p.err == nil && p.acceptPunct(",") {
				s.Clustering = append(s.Clustering, p.ident())
			}
			p.expectPunct(")")
		} else {
			c := p.columnDef()
			if c.PrimaryKey {
				s.PrimaryKeyDecls++
				if s.PartitionKey == nil {
					s.PartitionKey = []string{c.Name}
				}
			}
			s.Columns = append(s.Columns, c)
		}
		if p.err != nil || !p.acceptPunct(",") {
			break
		}
		if p.isPunct(")") { // trailing comma, accepted by Cassandra
			break
		}
	}
	p.expectPunct(")")
	if p.acceptKw("with") {
		p.tableProperties(&s.Options, &s.ClusteringOrder, &s.CompactStorage)
	}
	return s
}

// columnDef parses name type [STATIC] [PRIMARY KEY].
func (p *parser) columnDef() ColumnDef {
	t := p.peek()
	c := ColumnDef{Pos: t.pos, Name: p.ident()}
	c.Type = p.typeRef()
	if p.acceptKw("static") {
		c.Static = true
	}
	if p.acceptKw("primary") {
		p.expectKw("key")
		c.PrimaryKey = true
	}
	return c
}

// tableProperties parses the WITH clause of CREATE TABLE (and ALTER TABLE,
// where order and compactStorage may be nil).
func (p *parser) tableProperties(opts *[]Option, order *[]Ordering, compact *bool) {
	for {
		switch {
		case p.isKw("compact") && p.isKwN(1, "storage") && compact != nil:
			p.next()
			p.next()
			*compact = true
		case p.isKw("clustering") && p.isKwN(1, "order") && order != nil:
			p.next()
			p.next()
			p.expectKw("by")
			p.expectPunct("(")
			for {
				*order = append(*order, p.ordering())
				if p.err != nil || !p.acceptPunct(",") {
					break
				}
			}
			p.expectPunct(")")
		default:
			*opts = append(*opts, p.property())
		}
		if p.err != nil || !p.acceptKw("and") {
			return
		}
	}
}

func (p *parser) alterTable(start token) Statement {
	s := &AlterTableStatement{StmtBase: newBase(start)}
	if p.isKw("if") && p.isKwN(1, "exists") {
		s.IfExists = p.ifExists()
	}
	s.Table = p.qualifiedName()
	t := p.peek()
	switch {
	case t.isKw("alter"):
		p.next()
		s.Kind = AlterTableAlterType
		s.Column = p.ident()
		p.expectKw("type")
		s.Type = p.typeRef()
	case t.isKw("add"):
		p.next()
		s.Kind = AlterTableAdd
		s.IfNotExists = p.ifNotExists()
		paren := p.acceptPunct("(")
		for {
			s.AddColumns = append(s.AddColumns, p.columnDef())
			if p.err != nil || !p.acceptPunct(",") {
				break
			}
		}
		if paren {
			p.expectPunct(")")
		}
		for _, c := range s.AddColumns {
			if c.PrimaryKey {
				p.failAt(t, "Cannot add a PRIMARY KEY column with ALTER TABLE")
			}
		}
	case t.isKw("drop") && p.isKwN(1, "compact") && p.isKwN(2, "storage"):
		p.next()
		p.next()
		p.next()
		s.Kind = AlterTableDropCompact
	case t.isKw("drop"):
		p.next()
		s.Kind = AlterTableDrop
		if p.isKw("if") && p.isKwN(1, "exists") {
			s.ColumnIfExists = p.ifExists()
		}
		paren := p.acceptPunct("(")
		for {
			s.DropColumns = append(s.DropColumns, p.ident())
			if p.err != nil || !p.acceptPunct(",") {
				break
			}
		}
		if paren {
			p.expectPunct(")")
		}
		if p.acceptKw("using") {
			p.expectKw("timestamp")
			ts := p.peek()
			if ts.kind != tInteger {
				p.failMismatch("INTEGER")
			} else {
				p.next()
				s.DropTimestamp = &Constant{Pos: ts.pos, Kind: ConstInteger, Text: ts.text}
			}
		}
	case t.isKw("rename"):
		p.next()
		s.Kind = AlterTableRename
		if p.isKw("if") && p.isKwN(1, "exists") {
			s.ColumnIfExists = p.ifExists()
		}
		s.Renames = p.renames()
	case t.isKw("with"):
		p.next()
		s.Kind = AlterTableWith
		var order []Ordering
		compact := false
		p.tableProperties(&s.Options, &order, &compact)
		if p.err == nil && (order != nil || compact) {
			p.failAt(t, "ALTER TABLE WITH cannot change CLUSTERING ORDER or COMPACT STORAGE")
		}
	default:
		p.failNoViable()
	}
	return s
}

// renames parses a TO b (AND c TO d)*.
func (p *parser) renames() []Rename {
	var out []Rename
	for {
		r := Rename{From: p.ident()}
		p.expectKw("to")
		r.To = p.ident()
		out = append(out, r)
		if p.err != nil || !p.acceptKw("and") {
			return out
		}
	}
}

func (p *parser) alterType(start token) Statement {
	s := &AlterTypeStatement{StmtBase: newBase(start)}
	if p.isKw("if") && p.isKwN(1, "exists") {
		s.IfExists = p.ifExists()
	}
	s.Name = p.userTypeName()
	t := p.peek()
	switch {
	case t.isKw("alter"):
		p.next()
		s.Kind = AlterTypeAlterType
		s.Field = p.ident()
		p.expectKw("type")
		s.Type = p.typeRef()
	case t.isKw("add"):
		p.next()
		s.Kind = AlterTypeAdd
		p.ifNotExists()
		s.Field = p.ident()
		s.Type = p.typeRef()
	case t.isKw("rename"):
		p.next()
		s.Kind = AlterTypeRename
		if p.isKw("if") && p.isKwN(1, "exists") {
			p.ifExists()
		}
		s.Renames = p.renames()
	default:
		p.failNoViable()
	}
	return s
}

func (p *parser) createIndex(start token) Statement {
	s := &CreateIndexStatement{StmtBase: newBase(start)}
	if p.acceptKw("custom") {
		s.Custom = true
	}
	p.expectKw("index")
	s.IfNotExists = p.ifNotExists()
	if !p.isKw("on") {
		s.Name = p.ident()
	}
	p.expectKw("on")
	s.Table = p.qualifiedName()
	p.expectPunct("(")
	if !p.acceptPunct(")") {
		for {
			s.Targets = append(s.Targets, p.indexTarget())
			if p.err != nil || !p.acceptPunct(",") {
				break
			}
		}
		p.expectPunct(")")
	}
	if p.acceptKw("using") {
		t := p.peek()
		if t.kind != tString {
			p.failMismatch("STRING_LITERAL")
		} else {
			p.next()
			s.Class = t.val
		}
	}
	if p.acceptKw("with") {
		s.Options = p.properties()
	}
	return s
}

// indexTarget parses col | keys(col) | values(col) | entries(col) | full(col).
func (p *parser) indexTarget() IndexTarget {
	t := p.peek()
	if t.kind == tIdent && p.peekN(1).isPunct("(") {
		kinds := map[string]IndexTargetKind{"keys": IndexKeys, "values": IndexValues, "entries": IndexEntries, "full": IndexFull}
		k, ok := kinds[t.val]
		if !ok {
			p.failNoViable()
			return IndexTarget{}
		}
		p.next()
		p.next()
		it := IndexTarget{Kind: k, Column: p.ident()}
		p.expectPunct(")")
		return it
	}
	return IndexTarget{Kind: IndexSimple, Column: p.ident()}
}
