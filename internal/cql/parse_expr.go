package cql

// Terms (values), selectors and types.

// bindMarker parses ? or :name (the caller has checked the next token).
func (p *parser) bindMarker(in bool) *BindMarker {
	t := p.next()
	m := &BindMarker{Pos: t.pos, Index: len(p.markers), In: in}
	if t.isPunct(":") {
		m.Name = p.ident()
	}
	p.markers = append(p.markers, m)
	return m
}

// isMarkerStart reports whether the next token starts a bind marker.
func (p *parser) isMarkerStart() bool {
	return p.isPunct("?") || p.isPunct(":") && isIdentTok(p.peekN(1))
}

// isFunctionName reports whether t may name a function.
func isFunctionName(t token) bool {
	if t.kind == tQIdent {
		return true
	}
	if t.kind != tIdent || nonFunctionKeywords[t.val] {
		return false
	}
	return !reservedKeywords[t.val] || t.val == "token"
}

// isFunctionCallAt reports whether a (possibly keyspace-qualified) function
// call starts n tokens ahead.
func (p *parser) isFunctionCallAt(n int) bool {
	t := p.peekN(n)
	if !isFunctionName(t) && !isIdentTok(t) {
		return false
	}
	if p.peekN(n + 1).isPunct("(") {
		return isFunctionName(t)
	}
	return p.peekN(n+1).isPunct(".") && isFunctionName(p.peekN(n+2)) && p.peekN(n+3).isPunct("(")
}

// startsTerm reports whether a term can start n tokens ahead.
func (p *parser) startsTerm(n int) bool {
	t := p.peekN(n)
	switch t.kind {
	case tString, tInteger, tFloat, tUUID, tHex, tDuration:
		return true
	case tQIdent:
		return p.isFunctionCallAt(n)
	case tIdent:
		switch t.val {
		case "null", "true", "false", "nan", "infinity":
			return true
		}
		return p.isFunctionCallAt(n)
	case tPunct:
		switch t.val {
		case "?", "[", "{", "(", "-":
			return true
		case ":":
			return isIdentTok(p.peekN(n + 1))
		}
	}
	return false
}

// term parses a value: term := mul (('+'|'-') mul)*.
func (p *parser) term() Expr {
	if !p.enter() {
		return nil
	}
	defer p.leave()
	left := p.termMul()
	for p.err == nil && (p.isPunct("+") || p.isPunct("-")) && p.startsTerm(1) {
		if !p.enter() {
			return nil
		}
		defer p.leave()
		op := p.next()
		right := p.termMul()
		left = &BinaryOp{Pos: op.pos, Op: op.val, Left: left, Right: right}
	}
	return left
}

func (p *parser) termMul() Expr {
	left := p.termUnary()
	for p.err == nil && (p.isPunct("*") || p.isPunct("/") || p.isPunct("%")) && p.startsTerm(1) {
		if !p.enter() {
			return nil
		}
		defer p.leave()
		op := p.next()
		right := p.termUnary()
		left = &BinaryOp{Pos: op.pos, Op: op.val, Left: left, Right: right}
	}
	return left
}

func (p *parser) termUnary() Expr {
	if p.isPunct("-") {
		minus := p.next()
		if c := p.negatableConstant(minus); c != nil {
			return c
		}
		if !p.enter() {
			return nil
		}
		defer p.leave()
		return &Negation{Pos: minus.pos, Value: p.termUnary()}
	}
	return p.simpleTerm()
}

// negatableConstant folds '-' into a following number, duration, NaN or
// Infinity; it returns nil (consuming nothing) otherwise.
func (p *parser) negatableConstant(minus token) *Constant {
	t := p.peek()
	var kind ConstKind
	text := "-" + t.text
	switch {
	case t.kind == tInteger:
		kind = ConstInteger
	case t.kind == tFloat:
		kind = ConstFloat
	case t.kind == tDuration:
		kind = ConstDuration
	case t.isKw("nan"):
		kind, text = ConstFloat, "NaN"
	case t.isKw("infinity"):
		kind, text = ConstFloat, "-Infinity"
	default:
		return nil
	}
	p.next()
	return &Constant{Pos: minus.pos, Kind: kind, Text: text}
}

// constant parses a literal constant if one is next, else returns nil.
func (p *parser) constant() *Constant {
	t := p.peek()
	c := &Constant{Pos: t.pos, Text: t.text}
	switch t.kind {
	case tString:
		c.Kind, c.Text = ConstString, t.val
	case tInteger:
		c.Kind = ConstInteger
	case tFloat:
		c.Kind = ConstFloat
	case tUUID:
		c.Kind = ConstUUID
	case tHex:
		c.Kind = ConstHex
	case tDuration:
		c.Kind = ConstDuration
	case tIdent:
		switch t.val {
		case "true", "false":
			c.Kind, c.Text = ConstBoolean, t.val
		case "nan":
			c.Kind, c.Text = ConstFloat, "NaN"
		case "infinity":
			c.Kind, c.Text = ConstFloat, "Infinity"
		case "null":
			c.Kind, c.Text = ConstNull, "null"
		default:
			return nil
		}
	case tPunct:
		if t.val == "-" {
			p.next()
			if n := p.negatableConstant(t); n != nil {
				return n
			}
			p.i-- // put the '-' back
		}
		return nil
	default:
		return nil
	}
	p.next()
	return c
}

// simpleTerm := constant | marker | collection | tuple | (type) term | function call.
func (p *parser) simpleTerm() Expr {
	if c := p.constant(); c != nil {
		return c
	}
	t := p.peek()
	switch {
	case p.isMarkerStart():
		return p.bindMarker(false)
	case t.isPunct("["):
		p.next()
		l := &ListLiteral{Pos: t.pos}
		if !p.acceptPunct("]") {
			l.Elems = p.termList()
			p.expectPunct("]")
		}
		return l
	case t.isPunct("{"):
		return p.braceLiteral()
	case t.isPunct("("):
		if h := p.typeHint(p.termUnary, false); h != nil {
			return h
		}
		p.next()
		tl := &TupleLiteral{Pos: t.pos, Elems: p.termList()}
		p.expectPunct(")")
		return tl
	case p.isFunctionCallAt(0):
		return p.functionCall(p.term)
	}
	p.failNoViable()
	return nil
}

// termList parses term (',' term)*.
func (p *parser) termList() []Expr {
	var out []Expr
	for {
		out = append(out, p.term())
		if p.err != nil || !p.acceptPunct(",") {
			return out
		}
	}
}

// typeHint tries '(' type ')' value and returns nil (consuming nothing) when
// the input is not a type hint. allowIdent lets a column name follow (selectors).
func (p *parser) typeHint(value func() Expr, allowIdent bool) Expr {
	start := p.peek()
	var typ TypeRef
	ok := p.try(func() {
		p.expectPunct("(")
		typ = p.typeRef()
		p.expectPunct(")")
		if !p.startsTerm(0) && !(allowIdent && isIdentTok(p.peek())) {
			p.failNoViable()
		}
	})
	if !ok {
		return nil
	}
	if !p.enter() {
		return nil
	}
	defer p.leave()
	return &TypeHint{Pos: start.pos, Type: typ, Value: value()}
}

// braceLiteral parses {}, {k: v, ...} (map), {f: v, ...} (UDT) or {v, ...} (set).
func (p *parser) braceLiteral() Expr {
	open := p.next()
	if !p.enter() {
		return nil
	}
	defer p.leave()
	if p.acceptPunct("}") {
		return &EmptyCollection{Pos: open.pos}
	}
	// UDT literal: identifier ':'
	if isIdentTok(p.peek()) && p.peekN(1).isPunct(":") && !p.isFunctionCallAt(0) {
		u := &UDTLiteral{Pos: open.pos}
		for {
			name := p.ident()
			p.expectPunct(":")
			u.Fields = append(u.Fields, UDTField{Name: name, Value: p.term()})
			if p.err != nil || !p.acceptPunct(",") {
				break
			}
		}
		p.expectPunct("}")
		return u
	}
	first := p.term()
	if p.acceptPunct(":") {
		m := &MapLiteral{Pos: open.pos}
		m.Entries = append(m.Entries, MapEntry{Key: first, Value: p.term()})
		for p.err == nil && p.acceptPunct(",") {
			k := p.term()
			p.expectPunct(":")
			m.Entries = append(m.Entries, MapEntry{Key: k, Value: p.term()})
		}
		p.expectPunct("}")
		return m
	}
	s := &SetLiteral{Pos: open.pos, Elems: []Expr{first}}
	for p.err == nil && p.acceptPunct(",") {
		s.Elems = append(s.Elems, p.term())
	}
	p.expectPunct("}")
	return s
}

// functionName parses [ks.]name of a function.
func (p *parser) functionName() QualifiedName {
	t := p.peek()
	if p.peekN(1).isPunct(".") {
		ks := p.ident()
		p.next()
		t = p.peek()
		if !isFunctionName(t) {
			p.failNoViable()
			return QualifiedName{}
		}
		p.next()
		return QualifiedName{Keyspace: ks, Name: t.val}
	}
	if !isFunctionName(t) {
		p.failNoViable()
		return QualifiedName{}
	}
	p.next()
	return QualifiedName{Name: t.val}
}

// functionCall parses name '(' [arg (',' arg)*] ')' with args parsed by arg.
func (p *parser) functionCall(arg func() Expr) Expr {
	start := p.peek()
	f := &FunctionCall{Pos: start.pos, Name: p.functionName()}
	p.expectPunct("(")
	if !p.enter() {
		return nil
	}
	defer p.leave()
	if !p.acceptPunct(")") {
		for {
			f.Args = append(f.Args, arg())
			if p.err != nil || !p.acceptPunct(",") {
				break
			}
		}
		p.expectPunct(")")
	}
	return f
}

// intValue parses the value of LIMIT, PER PARTITION LIMIT, USING TTL and
// USING TIMESTAMP: an integer (optionally negative) or a bind marker.
func (p *parser) intValue() Expr {
	if p.isMarkerStart() {
		return p.bindMarker(false)
	}
	t := p.peek()
	if t.kind == tInteger {
		p.next()
		return &Constant{Pos: t.pos, Kind: ConstInteger, Text: t.text}
	}
	if t.isPunct("-") && p.peekN(1).kind == tInteger {
		p.next()
		n := p.next()
		return &Constant{Pos: t.pos, Kind: ConstInteger, Text: "-" + n.text}
	}
	p.failNoViable()
	return nil
}

// ---------------------------------------------------------------------------
// Selectors.

// selector parses one SELECT item: expr [AS alias].
func (p *parser) selector() Selector {
	t := p.peek()
	s := Selector{Pos: t.pos, Expr: p.selExpr()}
	if p.acceptKw("as") {
		s.Alias = p.ident()
	}
	return s
}

// selExpr := mul (('+'|'-') mul)*.
func (p *parser) selExpr() Expr {
	if !p.enter() {
		return nil
	}
	defer p.leave()
	left := p.selMul()
	for p.err == nil && (p.isPunct("+") || p.isPunct("-")) {
		if !p.enter() {
			return nil
		}
		defer p.leave()
		op := p.next()
		right := p.selMul()
		left = &BinaryOp{Pos: op.pos, Op: op.val, Left: left, Right: right}
	}
	return left
}

func (p *parser) selMul() Expr {
	left := p.selUnary()
	for p.err == nil && (p.isPunct("*") || p.isPunct("/") || p.isPunct("%")) {
		if !p.enter() {
			return nil
		}
		defer p.leave()
		op := p.next()
		right := p.selUnary()
		left = &BinaryOp{Pos: op.pos, Op: op.val, Left: left, Right: right}
	}
	return left
}

func (p *parser) selUnary() Expr {
	if p.isPunct("-") {
		minus := p.next()
		if c := p.negatableConstant(minus); c != nil {
			return p.selModifiers(c)
		}
		if !p.enter() {
			return nil
		}
		defer p.leave()
		return &Negation{Pos: minus.pos, Value: p.selUnary()}
	}
	return p.selModifiers(p.selPrimary())
}

// selModifiers parses trailing .field and [key] / [from..to] selections.
// Each modifier counts as one level of nesting.
func (p *parser) selModifiers(e Expr) Expr {
	for p.err == nil {
		t := p.peek()
		if t.isPunct(".") || t.isPunct("[") {
			if !p.enter() {
				return nil
			}
			defer p.leave()
		}
		switch {
		case t.isPunct("."):
			p.next()
			e = &FieldAccess{Pos: t.pos, Value: e, Field: p.ident()}
		case t.isPunct("["):
			p.next()
			if !p.enter() {
				return nil
			}
			ea := &ElementAccess{Pos: t.pos, Value: e}
			if p.acceptPunct("..") {
				ea.Slice = true
				ea.To = p.term()
			} else {
				k := p.term()
				if p.acceptPunct("..") {
					ea.Slice, ea.From = true, k
					if !p.isPunct("]") {
						ea.To = p.term()
					}
				} else {
					ea.Key = k
				}
			}
			p.leave()
			p.expectPunct("]")
			e = ea
		default:
			return e
		}
	}
	return e
}

// selPrimary parses a selector atom.
func (p *parser) selPrimary() Expr {
	t := p.peek()
	next := p.peekN(1)
	if c := p.constant(); c != nil {
		return c
	}
	switch {
	case p.isMarkerStart():
		return p.bindMarker(false)
	case t.kind == tIdent && next.isPunct("(") &&
		(t.val == "writetime" || t.val == "maxwritetime" || t.val == "ttl"):
		p.next()
		p.next()
		w := &WritetimeExpr{Pos: t.pos, Kind: t.val, Column: p.ident()}
		p.expectPunct(")")
		return w
	case t.isKw("cast") && next.isPunct("("):
		p.next()
		p.next()
		c := &CastExpr{Pos: t.pos, Value: p.selExpr()}
		p.expectKw("as")
		c.Type = p.typeRef()
		p.expectPunct(")")
		return c
	case t.isKw("count") && next.isPunct("(") && p.peekN(2).isPunct("*"):
		p.next()
		p.next()
		p.next()
		p.expectPunct(")")
		return &FunctionCall{Pos: t.pos, Name: QualifiedName{Name: "count"}, Star: true}
	case p.isFunctionCallAt(0):
		return p.functionCall(p.selExpr)
	case isIdentTok(t):
		p.next()
		return &ColumnRef{Pos: t.pos, Name: t.val}
	case t.isPunct("("):
		if h := p.typeHint(p.selUnary, true); h != nil {
			return h
		}
		p.next()
		if !p.enter() {
			return nil
		}
		defer p.leave()
		first := p.selExpr()
		if !p.isPunct(",") {
			p.expectPunct(")")
			return first
		}
		tl := &TupleLiteral{Pos: t.pos, Elems: []Expr{first}}
		for p.err == nil && p.acceptPunct(",") {
			tl.Elems = append(tl.Elems, p.selExpr())
		}
		p.expectPunct(")")
		return tl
	case t.isPunct("["), t.isPunct("{"):
		return p.simpleTerm()
	}
	p.failNoViable()
	return nil
}

// ---------------------------------------------------------------------------
// Types.

// typeRef parses a CQL type.
func (p *parser) typeRef() TypeRef {
	if !p.enter() {
		return TypeRef{}
	}
	defer p.leave()
	t := p.peek()
	if t.kind == tString {
		p.next()
		return TypeRef{Name: qualifyCustomType(t.val), Custom: true}
	}
	if t.kind == tIdent && p.peekN(1).isPunct("<") {
		switch t.val {
		case "frozen":
			p.next()
			p.next()
			inner := p.typeRef()
			p.expectPunct(">")
			inner.Frozen = true
			return inner
		case "list", "set":
			p.next()
			p.next()
			r := TypeRef{Name: t.val, Params: []TypeRef{p.typeRef()}}
			p.expectPunct(">")
			return r
		case "map":
			p.next()
			p.next()
			k := p.typeRef()
			p.expectPunct(",")
			v := p.typeRef()
			p.expectPunct(">")
			return TypeRef{Name: "map", Params: []TypeRef{k, v}}
		case "tuple":
			p.next()
			p.next()
			r := TypeRef{Name: "tuple"}
			for {
				r.Params = append(r.Params, p.typeRef())
				if p.err != nil || !p.acceptPunct(",") {
					break
				}
			}
			p.expectPunct(">")
			return r
		}
	}
	if t.kind == tIdent {
		if name, ok := nativeTypes[t.val]; ok {
			p.next()
			return TypeRef{Name: name}
		}
		switch t.val {
		case "frozen", "list", "set", "map", "tuple":
			p.next()
			p.failMismatch("'<'")
			return TypeRef{}
		}
	}
	q := p.userTypeName()
	return TypeRef{Name: q.Name, Keyspace: q.Keyspace, UDT: true}
}

// userTypeName parses [ks.]name of a user-defined type, rejecting native
// type names and Cassandra's reserved type names.
func (p *parser) userTypeName() QualifiedName {
	var q QualifiedName
	if p.peekN(1).isPunct(".") {
		q.Keyspace = p.ident()
		p.next()
	}
	t := p.peek()
	if t.kind == tIdent {
		if _, native := nativeTypes[t.val]; native {
			p.failNoViable()
			return q
		}
		if reservedTypeNames[t.val] {
			p.failAt(t, "Invalid (reserved) user type name "+t.val)
			return q
		}
	}
	q.Name = p.ident()
	return q
}
