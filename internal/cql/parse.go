package cql

import (
	"strings"
)

// MaxDepth bounds the nesting of parenthesised expressions, collection
// literals, types and function calls; deeper input is a syntax error.
const MaxDepth = 64

// Parse parses exactly one statement with an optional trailing ';'.
func Parse(query string) (Statement, error) {
	p := newParser(query)
	st := p.statement()
	p.acceptPunct(";")
	if p.err == nil && p.peek().kind != tEOF {
		p.failMismatch("EOF")
	}
	if p.err != nil {
		return nil, p.err
	}
	return st, nil
}

// ParseScript parses ';'-separated statements, as cqlsh -f reads a file.
// Empty statements are skipped; the last statement's ';' is optional.
func ParseScript(script string) ([]Statement, error) {
	p := newParser(script)
	var out []Statement
	for p.err == nil {
		for p.acceptPunct(";") {
		}
		if p.peek().kind == tEOF {
			break
		}
		p.markers = nil
		st := p.statement()
		if p.err != nil {
			break
		}
		out = append(out, st)
		if !p.acceptPunct(";") && p.peek().kind != tEOF {
			p.failMismatch("';'")
		}
	}
	if p.err != nil {
		return nil, p.err
	}
	return out, nil
}

// parser is a recursive-descent parser over a pre-lexed token slice. Errors
// are sticky: after the first one, peek returns EOF so every loop ends and
// the caller sees p.err.
//
// Tokens are lexed on demand (and kept for backtracking), so a lexical error
// is reported only when the parser reaches it and hostile input stops being
// read at the first syntax error.
type parser struct {
	src     string
	lx      *lexer
	toks    []token // lexed so far; the last may be tEOF
	lexErr  *SyntaxError
	i       int
	err     *SyntaxError
	markers []*BindMarker
	depth   int
}

func newParser(src string) *parser {
	return &parser{src: src, lx: &lexer{src: src, line: 1}}
}

// fill lexes tokens until index n exists, the input ends or a lexical error
// occurs; it reports whether toks[n] exists.
func (p *parser) fill(n int) bool {
	for len(p.toks) <= n {
		if p.lexErr != nil || len(p.toks) > 0 && p.toks[len(p.toks)-1].kind == tEOF {
			return false
		}
		t, err := p.lx.next()
		if err != nil {
			p.lexErr = err
			return false
		}
		p.toks = append(p.toks, t)
	}
	return true
}

// state is a backtracking point.
type state struct {
	i        int
	nmarkers int
	depth    int
}

func (p *parser) save() state { return state{p.i, len(p.markers), p.depth} }

func (p *parser) restore(s state) {
	p.i, p.depth, p.err = s.i, s.depth, nil
	p.markers = p.markers[:s.nmarkers]
}

// try runs f and reports whether it succeeded; on failure the parser is
// restored to where it was.
func (p *parser) try(f func()) bool {
	if p.err != nil {
		return false
	}
	s := p.save()
	f()
	if p.err != nil {
		p.restore(s)
		return false
	}
	return true
}

var eofTok = token{kind: tEOF, text: "<EOF>"}

func (p *parser) peek() token { return p.peekN(0) }

// peekN returns the token n ahead (EOF past the end or after an error).
func (p *parser) peekN(n int) token {
	if p.err != nil {
		return eofTok
	}
	if p.fill(p.i + n) {
		return p.toks[p.i+n]
	}
	if p.lexErr != nil {
		p.err = p.lexErr
		return eofTok
	}
	return p.toks[len(p.toks)-1] // EOF
}

func (p *parser) next() token {
	t := p.peek()
	if p.err == nil && t.kind != tEOF {
		p.i++
	}
	return t
}

// lastEnd is the byte offset just after the last consumed token.
func (p *parser) lastEnd() int {
	if p.i == 0 {
		return 0
	}
	return p.toks[p.i-1].end
}

func (t token) isKw(kw string) bool           { return t.kind == tIdent && t.val == kw }
func (t token) isPunct(s string) bool         { return t.kind == tPunct && t.val == s }
func (p *parser) isKw(kw string) bool         { return p.peek().isKw(kw) }
func (p *parser) isPunct(s string) bool       { return p.peek().isPunct(s) }
func (p *parser) isKwN(n int, kw string) bool { return p.peekN(n).isKw(kw) }

func (p *parser) acceptKw(kw string) bool {
	if p.isKw(kw) {
		p.next()
		return true
	}
	return false
}

func (p *parser) acceptPunct(s string) bool {
	if p.isPunct(s) {
		p.next()
		return true
	}
	return false
}

// expectKw consumes keyword kw or fails with "expecting K_KW".
func (p *parser) expectKw(kw string) {
	if !p.acceptKw(kw) {
		p.failMismatch("K_" + strings.ToUpper(kw))
	}
}

// expectKws consumes a sequence of keywords.
func (p *parser) expectKws(kws ...string) {
	for _, kw := range kws {
		p.expectKw(kw)
	}
}

func (p *parser) expectPunct(s string) {
	if !p.acceptPunct(s) {
		p.failMismatch("'" + s + "'")
	}
}

func (p *parser) failAt(t token, msg string) {
	if p.err != nil {
		return
	}
	p.err = &SyntaxError{Line: t.pos.Line, Col: t.pos.Col, Msg: msg}
}

// failMismatch reports "mismatched input 'x' expecting what" at the next token.
func (p *parser) failMismatch(what string) {
	t := p.peek()
	p.failAt(t, "mismatched input '"+t.text+"' expecting "+what)
}

// failNoViable reports "no viable alternative at input 'x'" at the next token.
func (p *parser) failNoViable() {
	t := p.peek()
	p.failAt(t, "no viable alternative at input '"+t.text+"'")
}

// enter increments the nesting depth, failing beyond MaxDepth. Every enter
// must be paired with leave.
func (p *parser) enter() bool {
	p.depth++
	if p.depth > MaxDepth {
		t := p.peek()
		p.failAt(t, "maximum nesting depth exceeded at input '"+t.text+"'")
		return false
	}
	return true
}

func (p *parser) leave() { p.depth-- }

// isIdentTok reports whether t can be an identifier (column, keyspace,
// table...): a quoted identifier or an unquoted word that is not reserved.
func isIdentTok(t token) bool {
	return t.kind == tQIdent || t.kind == tIdent && !reservedKeywords[t.val]
}

// ident parses an identifier and returns its canonical name.
func (p *parser) ident() string {
	t := p.peek()
	if !isIdentTok(t) {
		p.failNoViable()
		return ""
	}
	p.next()
	return t.val
}

// qualifiedName parses [ks.]name.
func (p *parser) qualifiedName() QualifiedName {
	name := p.ident()
	if p.acceptPunct(".") {
		return QualifiedName{Keyspace: name, Name: p.ident()}
	}
	return QualifiedName{Name: name}
}

// ifNotExists parses an optional IF NOT EXISTS.
func (p *parser) ifNotExists() bool {
	if p.isKw("if") {
		p.next()
		p.expectKws("not", "exists")
		return true
	}
	return false
}

// ifExists parses an optional IF EXISTS.
func (p *parser) ifExists() bool {
	if p.isKw("if") {
		p.next()
		p.expectKw("exists")
		return true
	}
	return false
}

// newBase returns a StmtBase positioned at token t.
func newBase(t token) StmtBase { return StmtBase{Pos: t.pos} }

// finish sets the statement's markers to those added since nmarkers.
func (p *parser) finish(b *StmtBase, nmarkers int) {
	if nmarkers < len(p.markers) {
		b.Markers = append([]*BindMarker(nil), p.markers[nmarkers:]...)
	}
}

// statement parses one statement (without the trailing ';').
func (p *parser) statement() Statement {
	t := p.peek()
	n := len(p.markers)
	var st Statement
	switch {
	case t.isKw("select"):
		st = p.selectStatement()
	case t.isKw("insert"):
		st = p.insertStatement()
	case t.isKw("update"):
		st = p.updateStatement()
	case t.isKw("delete"):
		st = p.deleteStatement()
	case t.isKw("begin"):
		st = p.batchStatement()
	case t.isKw("use"):
		p.next()
		s := &UseStatement{StmtBase: newBase(t)}
		s.Keyspace = p.keyspaceName()
		st = s
	case t.isKw("truncate"):
		p.next()
		s := &TruncateStatement{StmtBase: newBase(t)}
		if !p.acceptKw("table") {
			p.acceptKw("columnfamily")
		}
		s.Table = p.qualifiedName()
		st = s
	case t.isKw("create"):
		st = p.createStatement()
	case t.isKw("alter"):
		st = p.alterStatement()
	case t.isKw("drop"):
		st = p.dropStatement()
	case t.isKw("grant"):
		st = p.grantStatement()
	case t.isKw("revoke"):
		st = p.revokeStatement()
	case t.isKw("list"):
		st = p.listStatement()
	case t.isKw("describe"), t.isKw("desc"):
		st = p.unsupported(t, "DESCRIBE")
	default:
		p.failNoViable()
	}
	if p.err != nil {
		return nil
	}
	if b, ok := st.(interface{ base() *StmtBase }); ok {
		p.finish(b.base(), n)
	}
	return st
}

// keyspaceName parses a keyspace name; bind markers are rejected with
// Cassandra's message.
func (p *parser) keyspaceName() string {
	if t := p.peek(); t.isPunct("?") || t.isPunct(":") {
		p.failAt(t, "Bind variables cannot be used for keyspace names")
		return ""
	}
	return p.ident()
}

// unsupported skips the rest of the statement (up to ';' or EOF) and returns
// an UnsupportedStatement of the given kind.
func (p *parser) unsupported(start token, kind string) Statement {
	for {
		t := p.peek()
		if t.kind == tEOF || t.isPunct(";") {
			break
		}
		p.next()
	}
	return &UnsupportedStatement{
		StmtBase: newBase(start),
		Kind:     kind,
		Text:     p.src[start.pos.Offset:p.lastEnd()],
	}
}
