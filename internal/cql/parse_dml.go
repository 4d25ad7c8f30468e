package cql

import "strings"

// SELECT, INSERT, UPDATE, DELETE, BATCH and their clauses.

func (p *parser) selectStatement() Statement {
	start := p.next() // SELECT
	s := &SelectStatement{StmtBase: newBase(start)}
	// JSON and DISTINCT are unreserved: they are keywords only when what
	// follows still parses as a select clause ("SELECT json FROM t" selects
	// the column json).
	if p.isKw("json") && p.try(func() { p.next(); p.selectClause(s) }) {
		s.JSON = true
	} else {
		p.selectClause(s)
	}
	s.Table = p.qualifiedName()
	if p.acceptKw("where") {
		s.Where = p.whereClause()
	}
	if p.isKw("group") {
		p.next()
		p.expectKw("by")
		for {
			s.GroupBy = append(s.GroupBy, p.ident())
			if p.err != nil || !p.acceptPunct(",") {
				break
			}
		}
	}
	if p.isKw("order") {
		p.next()
		p.expectKw("by")
		for {
			s.OrderBy = append(s.OrderBy, p.ordering())
			if p.err != nil || !p.acceptPunct(",") {
				break
			}
		}
	}
	if p.isKw("per") {
		p.next()
		p.expectKws("partition", "limit")
		s.PerPartitionLimit = p.intValue()
	}
	if p.acceptKw("limit") {
		s.Limit = p.intValue()
	}
	if p.acceptKw("allow") {
		p.expectKw("filtering")
		s.AllowFiltering = true
	}
	return s
}

// selectClause parses [DISTINCT] selectors FROM (FROM included).
func (p *parser) selectClause(s *SelectStatement) {
	if p.isKw("distinct") && p.try(func() { p.next(); p.selectors(s) }) {
		s.Distinct = true
		return
	}
	s.Distinct = false
	p.selectors(s)
}

// selectors parses '*' | selector (',' selector)* followed by FROM.
func (p *parser) selectors(s *SelectStatement) {
	s.Star, s.Selectors = false, nil
	if p.acceptPunct("*") {
		s.Star = true
	} else {
		for {
			s.Selectors = append(s.Selectors, p.selector())
			if p.err != nil || !p.acceptPunct(",") {
				break
			}
		}
	}
	p.expectKw("from")
}

// ordering parses col [ASC|DESC].
func (p *parser) ordering() Ordering {
	o := Ordering{Column: p.ident()}
	if p.acceptKw("desc") {
		o.Desc = true
	} else {
		p.acceptKw("asc")
	}
	return o
}

// whereClause parses relation (AND relation)*.
func (p *parser) whereClause() []Relation {
	var out []Relation
	for {
		out = p.relation(out)
		if p.err != nil || !p.acceptKw("and") {
			return out
		}
	}
}

// relationOp parses = < <= > >= != and reports whether one was found.
func (p *parser) relationOp() (Operator, bool) {
	t := p.peek()
	if t.kind != tPunct {
		return 0, false
	}
	var op Operator
	switch t.val {
	case "=":
		op = OpEq
	case "<":
		op = OpLt
	case "<=":
		op = OpLte
	case ">":
		op = OpGt
	case ">=":
		op = OpGte
	case "!=":
		op = OpNeq
	default:
		return 0, false
	}
	p.next()
	return op, true
}

// relation parses one relation and appends it (parenthesised relations are
// flattened).
func (p *parser) relation(out []Relation) []Relation {
	t := p.peek()
	r := Relation{Pos: t.pos}
	switch {
	case t.isKw("token") && p.peekN(1).isPunct("("):
		p.next()
		r.Kind = RelToken
		r.Columns = p.identTuple()
		op, ok := p.relationOp()
		if !ok {
			p.failNoViable()
			return out
		}
		r.Op, r.Value = op, p.term()
	case t.isPunct("("):
		// (c1, c2) op ... or a parenthesised relation.
		if isIdentTok(p.peekN(1)) && (p.peekN(2).isPunct(",") || p.peekN(2).isPunct(")")) {
			r.Kind = RelMulti
			r.Columns = p.identTuple()
			if p.acceptKw("in") {
				r.Op = OpIn
				if p.isMarkerStart() {
					r.Value = p.bindMarker(true)
				} else {
					p.expectPunct("(")
					r.InValues = []Expr{}
					if !p.acceptPunct(")") {
						for {
							r.InValues = append(r.InValues, p.multiColumnValue())
							if p.err != nil || !p.acceptPunct(",") {
								break
							}
						}
						p.expectPunct(")")
					}
				}
			} else if op, ok := p.relationOp(); ok {
				r.Op, r.Value = op, p.multiColumnValue()
			} else {
				p.failNoViable()
			}
		} else {
			p.next()
			if !p.enter() {
				return out
			}
			out = p.relation(out)
			p.leave()
			p.expectPunct(")")
			return out
		}
	case isIdentTok(t):
		p.next()
		r.Kind = RelSingle
		r.Columns = []string{t.val}
		if p.acceptPunct("[") {
			r.Kind = RelMapElement
			r.Key = p.term()
			p.expectPunct("]")
			op, ok := p.relationOp()
			if !ok {
				p.failNoViable()
				return out
			}
			r.Op, r.Value = op, p.term()
			break
		}
		p.singleColumnOp(&r.Op, &r.Value, &r.InValues, true)
	default:
		p.failNoViable()
		return out
	}
	return append(out, r)
}

// singleColumnOp parses the operator and value(s) after a column name in a
// relation (relation=true) or an IF condition.
func (p *parser) singleColumnOp(op *Operator, value *Expr, in *[]Expr, relation bool) {
	t := p.peek()
	if o, ok := p.relationOp(); ok {
		*op, *value = o, p.term()
		return
	}
	switch {
	case t.isKw("in"):
		p.next()
		*op = OpIn
		if p.isMarkerStart() {
			*value = p.bindMarker(true)
			return
		}
		p.expectPunct("(")
		*in = []Expr{}
		if !p.acceptPunct(")") {
			*in = p.termList()
			p.expectPunct(")")
		}
	case relation && t.isKw("contains"):
		p.next()
		*op = OpContains
		if p.isKw("key") && p.startsTerm(1) {
			p.next()
			*op = OpContainsKey
		}
		*value = p.term()
	case relation && t.isKw("is"):
		p.next()
		p.expectKws("not", "null")
		*op = OpIsNotNull
		*value = &Constant{Pos: t.pos, Kind: ConstNull, Text: "null"}
	case relation && t.isKw("like"):
		p.next()
		*op = OpLike
		*value = p.term()
	default:
		p.failNoViable()
	}
}

// multiColumnValue parses a tuple literal or a bind marker.
func (p *parser) multiColumnValue() Expr {
	if p.isMarkerStart() {
		return p.bindMarker(false)
	}
	t := p.peek()
	if !t.isPunct("(") {
		p.failNoViable()
		return nil
	}
	p.next()
	if !p.enter() {
		return nil
	}
	defer p.leave()
	tl := &TupleLiteral{Pos: t.pos, Elems: p.termList()}
	p.expectPunct(")")
	return tl
}

// identTuple parses '(' ident (',' ident)* ')'.
func (p *parser) identTuple() []string {
	p.expectPunct("(")
	var out []string
	for {
		out = append(out, p.ident())
		if p.err != nil || !p.acceptPunct(",") {
			break
		}
	}
	p.expectPunct(")")
	return out
}

// usingClause parses USING TTL v [AND TIMESTAMP v] (either order). With
// timestampOnly only TIMESTAMP is accepted (DELETE).
func (p *parser) usingClause(u *UsingClause, timestampOnly bool) {
	if !p.acceptKw("using") {
		return
	}
	for {
		switch {
		case p.isKw("timestamp"):
			p.next()
			u.Timestamp = p.intValue()
		case !timestampOnly && p.isKw("ttl"):
			p.next()
			u.TTL = p.intValue()
		default:
			if timestampOnly {
				p.failMismatch("K_TIMESTAMP")
			} else {
				p.failNoViable()
			}
			return
		}
		if p.err != nil || !p.acceptKw("and") {
			return
		}
	}
}

func (p *parser) insertStatement() Statement {
	start := p.next() // INSERT
	s := &InsertStatement{StmtBase: newBase(start)}
	p.expectKw("into")
	s.Table = p.qualifiedName()
	if p.acceptKw("json") {
		t := p.peek()
		switch {
		case t.kind == tString:
			p.next()
			s.JSON = &Constant{Pos: t.pos, Kind: ConstString, Text: t.val}
		case p.isMarkerStart():
			s.JSON = p.bindMarker(false)
		default:
			p.failNoViable()
		}
		if p.acceptKw("default") {
			switch {
			case p.acceptKw("null"):
				s.JSONDefault = "null"
			case p.acceptKw("unset"):
				s.JSONDefault = "unset"
			default:
				p.failNoViable()
			}
		}
	} else {
		s.Columns = p.identTuple()
		p.expectKw("values")
		p.expectPunct("(")
		s.Values = p.termList()
		p.expectPunct(")")
	}
	s.IfNotExists = p.ifNotExists()
	p.usingClause(&s.Using, false)
	return s
}

func (p *parser) updateStatement() Statement {
	start := p.next() // UPDATE
	s := &UpdateStatement{StmtBase: newBase(start)}
	s.Table = p.qualifiedName()
	p.usingClause(&s.Using, false)
	p.expectKw("set")
	for {
		s.Assignments = append(s.Assignments, p.assignment())
		if p.err != nil || !p.acceptPunct(",") {
			break
		}
	}
	p.expectKw("where")
	s.Where = p.whereClause()
	s.IfExists, s.Conditions = p.ifClause()
	return s
}

// assignment parses one SET item.
func (p *parser) assignment() Assignment {
	t := p.peek()
	a := Assignment{Pos: t.pos, Column: p.ident()}
	switch {
	case p.acceptPunct("["):
		a.Kind = AssignElement
		a.Key = p.term()
		p.expectPunct("]")
		p.expectPunct("=")
		a.Value = p.term()
	case p.acceptPunct("."):
		a.Kind = AssignField
		a.Field = p.ident()
		p.expectPunct("=")
		a.Value = p.term()
	case p.acceptPunct("+="):
		a.Kind = AssignAdd
		a.Value = p.term()
	case p.acceptPunct("-="):
		a.Kind = AssignSub
		a.Value = p.term()
	default:
		p.expectPunct("=")
		rhs := p.peek()
		if isIdentTok(rhs) && !p.isFunctionCallAt(0) {
			// c = c + v / c = c - v
			p.next()
			op := p.peek()
			if op.isPunct("+") {
				a.Kind = AssignAdd
			} else if op.isPunct("-") {
				a.Kind = AssignSub
			} else {
				p.failNoViable()
				return a
			}
			if rhs.val != a.Column {
				p.failAt(rhs, "Only expressions of the form X = X "+op.val+" <value> are supported.")
				return a
			}
			p.next()
			a.Value = p.term()
			return a
		}
		a.Kind = AssignSet
		a.Value = p.term()
		if p.isPunct("+") && isIdentTok(p.peekN(1)) && !p.isFunctionCallAt(1) {
			// c = v + c (list prepend)
			p.next()
			c := p.next()
			if c.val != a.Column {
				p.failAt(c, "Only expressions of the form X = <value> + X are supported.")
				return a
			}
			a.Kind = AssignPrepend
		}
	}
	return a
}

// ifClause parses [IF EXISTS | IF condition (AND condition)*].
func (p *parser) ifClause() (bool, []Condition) {
	if !p.acceptKw("if") {
		return false, nil
	}
	// EXISTS is unreserved: "IF exists = 1" is a condition on column exists.
	if p.isKw("exists") {
		n := p.peekN(1)
		if !(n.kind == tPunct && strings.Contains(" = < <= > >= != [ . ", " "+n.val+" ")) && !n.isKw("in") {
			p.next()
			return true, nil
		}
	}
	var conds []Condition
	for {
		t := p.peek()
		c := Condition{Pos: t.pos, Column: p.ident()}
		if p.acceptPunct("[") {
			c.Key = p.term()
			p.expectPunct("]")
		} else if p.acceptPunct(".") {
			c.Field = p.ident()
		}
		p.singleColumnOp(&c.Op, &c.Value, &c.InValues, false)
		conds = append(conds, c)
		if p.err != nil || !p.acceptKw("and") {
			return false, conds
		}
	}
}

func (p *parser) deleteStatement() Statement {
	start := p.next() // DELETE
	s := &DeleteStatement{StmtBase: newBase(start)}
	if !p.isKw("from") {
		for {
			t := p.peek()
			d := Deletion{Pos: t.pos, Column: p.ident()}
			if p.acceptPunct("[") {
				d.Key = p.term()
				p.expectPunct("]")
			} else if p.acceptPunct(".") {
				d.Field = p.ident()
			}
			s.Columns = append(s.Columns, d)
			if p.err != nil || !p.acceptPunct(",") {
				break
			}
		}
	}
	p.expectKw("from")
	s.Table = p.qualifiedName()
	p.usingClause(&s.Using, true)
	p.expectKw("where")
	s.Where = p.whereClause()
	s.IfExists, s.Conditions = p.ifClause()
	return s
}

func (p *parser) batchStatement() Statement {
	start := p.next() // BEGIN
	s := &BatchStatement{StmtBase: newBase(start)}
	if p.acceptKw("unlogged") {
		s.Type = BatchUnlogged
	} else if p.acceptKw("counter") {
		s.Type = BatchCounter
	}
	p.expectKw("batch")
	p.usingClause(&s.Using, false)
	for p.err == nil && !p.isKw("apply") {
		t := p.peek()
		n := len(p.markers)
		var st Statement
		switch {
		case t.isKw("insert"):
			st = p.insertStatement()
		case t.isKw("update"):
			st = p.updateStatement()
		case t.isKw("delete"):
			st = p.deleteStatement()
		default:
			p.failNoViable()
			return s
		}
		p.finish(st.(interface{ base() *StmtBase }).base(), n)
		s.Statements = append(s.Statements, st)
		p.acceptPunct(";")
	}
	p.expectKws("apply", "batch")
	return s
}
