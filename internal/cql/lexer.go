package cql

import (
	"strings"
	"unicode/utf8"
)

// tokKind classifies a token.
type tokKind int

const (
	tEOF      tokKind = iota
	tIdent            // unquoted identifier or keyword; val is lower-cased
	tQIdent           // "quoted" identifier; val is the unescaped name
	tString           // 'string' or $$string$$; val is the unescaped content
	tInteger          // 123
	tFloat            // 1.5, 1e10
	tUUID             // 8-4-4-4-12 hex
	tHex              // 0xCAFE
	tDuration         // 1h30m, P1D
	tPunct            // operators and punctuation; val is the operator text
)

// token is one lexical token. text is the source text (used in error
// messages); val is the canonical value.
type token struct {
	kind tokKind
	text string
	val  string
	pos  Pos
	end  int // byte offset just past the token
}

// lexer turns query text into tokens. Comments and whitespace are skipped.
type lexer struct {
	src  string
	off  int
	line int
	col  int // in runes, 0-based
}

func (lx *lexer) pos() Pos { return Pos{Offset: lx.off, Line: lx.line, Col: lx.col} }

// advance moves over n bytes, tracking lines and (rune) columns.
func (lx *lexer) advance(n int) {
	end := lx.off + n
	for lx.off < end {
		r, size := utf8.DecodeRuneInString(lx.src[lx.off:])
		lx.off += size
		if r == '\n' {
			lx.line++
			lx.col = 0
		} else {
			lx.col++
		}
	}
}

func (lx *lexer) peekByte(i int) byte {
	if lx.off+i < len(lx.src) {
		return lx.src[lx.off+i]
	}
	return 0
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isHex(c byte) bool {
	return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
func isIdentChar(c byte) bool { return isLetter(c) || isDigit(c) || c == '_' }

func (lx *lexer) errAt(p Pos, msg string) *SyntaxError {
	return &SyntaxError{Line: p.Line, Col: p.Col, Msg: msg}
}

// skipSpace skips whitespace and comments.
func (lx *lexer) skipSpace() *SyntaxError {
	for lx.off < len(lx.src) {
		c := lx.src[lx.off]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			lx.advance(1)
		case c == '-' && lx.peekByte(1) == '-', c == '/' && lx.peekByte(1) == '/':
			i := strings.IndexByte(lx.src[lx.off:], '\n')
			if i < 0 {
				lx.advance(len(lx.src) - lx.off)
			} else {
				lx.advance(i + 1)
			}
		case c == '/' && lx.peekByte(1) == '*':
			start := lx.pos()
			i := strings.Index(lx.src[lx.off+2:], "*/")
			if i < 0 {
				return lx.errAt(start, "unterminated comment starting at '/*'")
			}
			lx.advance(i + 4)
		default:
			return nil
		}
	}
	return nil
}

func (lx *lexer) next() (token, *SyntaxError) {
	if err := lx.skipSpace(); err != nil {
		return token{}, err
	}
	start := lx.pos()
	if lx.off >= len(lx.src) {
		return token{kind: tEOF, text: "<EOF>", pos: start, end: lx.off}, nil
	}
	mk := func(kind tokKind, n int, val string) token {
		text := lx.src[lx.off : lx.off+n]
		lx.advance(n)
		return token{kind: kind, text: text, val: val, pos: start, end: lx.off}
	}
	c := lx.src[lx.off]
	rest := lx.src[lx.off:]

	// UUIDs may start with a digit or a hex letter.
	if isHex(c) {
		if n := matchUUID(rest); n > 0 {
			return mk(tUUID, n, strings.ToLower(rest[:n])), nil
		}
	}
	switch {
	case c == '0' && (lx.peekByte(1) == 'x' || lx.peekByte(1) == 'X'):
		n := 2
		for n < len(rest) && isHex(rest[n]) {
			n++
		}
		return mk(tHex, n, rest[:n]), nil
	case isDigit(c):
		kind, n := scanNumber(rest)
		return mk(kind, n, rest[:n]), nil
	case isLetter(c):
		n := 1
		for n < len(rest) && isIdentChar(rest[n]) {
			n++
		}
		word := rest[:n]
		if isISODuration(word) {
			return mk(tDuration, n, word), nil
		}
		return mk(tIdent, n, lower(word)), nil
	case c == '\'':
		var b strings.Builder
		i := 1
		for {
			if i >= len(rest) {
				lx.advance(len(rest))
				return token{}, lx.errAt(lx.pos(), "mismatched character '<EOF>' expecting '''")
			}
			if rest[i] == '\'' {
				if i+1 < len(rest) && rest[i+1] == '\'' {
					b.WriteByte('\'')
					i += 2
					continue
				}
				i++
				break
			}
			b.WriteByte(rest[i])
			i++
		}
		return mk(tString, i, b.String()), nil
	case c == '$' && lx.peekByte(1) == '$':
		j := strings.Index(rest[2:], "$$")
		if j < 0 {
			lx.advance(len(rest))
			return token{}, lx.errAt(lx.pos(), "mismatched character '<EOF>' expecting '$'")
		}
		return mk(tString, j+4, rest[2:2+j]), nil
	case c == '"':
		var b strings.Builder
		i := 1
		for {
			if i >= len(rest) {
				lx.advance(len(rest))
				return token{}, lx.errAt(lx.pos(), "mismatched character '<EOF>' expecting '\"'")
			}
			if rest[i] == '"' {
				if i+1 < len(rest) && rest[i+1] == '"' {
					b.WriteByte('"')
					i += 2
					continue
				}
				i++
				break
			}
			b.WriteByte(rest[i])
			i++
		}
		if i == 2 {
			return token{}, lx.errAt(start, "no viable alternative at character '\"'")
		}
		return mk(tQIdent, i, b.String()), nil
	}
	// Punctuation and operators.
	for _, op := range [...]string{"<=", ">=", "!=", "+=", "-=", ".."} {
		if strings.HasPrefix(rest, op) {
			return mk(tPunct, 2, op), nil
		}
	}
	if strings.IndexByte("()[]{},;.:=<>+-*/%?", c) >= 0 {
		return mk(tPunct, 1, rest[:1]), nil
	}
	r, _ := utf8.DecodeRuneInString(rest)
	return token{}, lx.errAt(start, "token recognition error at: '"+string(r)+"'")
}

// matchUUID returns the length of a UUID at the start of s (0 if none). The
// UUID must not be followed by an identifier character.
func matchUUID(s string) int {
	groups := [...]int{8, 4, 4, 4, 12}
	i := 0
	for g, n := range groups {
		if g > 0 {
			if i >= len(s) || s[i] != '-' {
				return 0
			}
			i++
		}
		for k := 0; k < n; k++ {
			if i >= len(s) || !isHex(s[i]) {
				return 0
			}
			i++
		}
	}
	if i < len(s) && isIdentChar(s[i]) {
		return 0
	}
	return i
}

// durationUnits lists duration units, longest first so "mo" wins over "m".
var durationUnits = [...]string{"mo", "ms", "us", "µs", "ns", "y", "w", "d", "h", "m", "s"}

// scanNumber scans an integer, float or duration starting with a digit.
func scanNumber(s string) (tokKind, int) {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	// Duration: (digits unit)+
	if n := scanDurationUnits(s); n > 0 {
		return tDuration, n
	}
	kind := tInteger
	if i < len(s) && s[i] == '.' && !(i+1 < len(s) && s[i+1] == '.') {
		kind = tFloat
		i++
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		if j < len(s) && isDigit(s[j]) {
			for j < len(s) && isDigit(s[j]) {
				j++
			}
			kind = tFloat
			i = j
		}
	}
	return kind, i
}

// scanDurationUnits matches (digits unit)+ at the start of s and returns its
// length, or 0 when s does not start with a duration.
func scanDurationUnits(s string) int {
	i := 0
	matched := 0
	for {
		j := i
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		if j == i {
			return matched
		}
		unit := ""
		for _, u := range durationUnits {
			if len(s)-j >= len(u) && strings.EqualFold(s[j:j+len(u)], u) {
				unit = u
				break
			}
		}
		if unit == "" {
			return matched
		}
		i = j + len(unit)
		matched = i
	}
}

// isISODuration reports whether word is an ISO 8601 duration with
// designators (P1Y2M3DT4H5M6S, PT5S, P2W). At least one component is required.
func isISODuration(word string) bool {
	if len(word) < 3 || (word[0] != 'P' && word[0] != 'p') {
		return false
	}
	s := strings.ToUpper(word[1:])
	// P<n>W
	if s[len(s)-1] == 'W' {
		for _, c := range []byte(s[:len(s)-1]) {
			if !isDigit(c) {
				return false
			}
		}
		return true
	}
	datePart, timePart, hasT := strings.Cut(s, "T")
	if !matchDesignators(datePart, "YMD", true) {
		return false
	}
	if hasT && (timePart == "" || !matchDesignators(timePart, "HMS", false)) {
		return false
	}
	return datePart != "" || hasT
}

// matchDesignators matches (digits D)* with designators in the given order.
func matchDesignators(s, order string, allowEmpty bool) bool {
	if s == "" {
		return allowEmpty
	}
	k := 0
	i := 0
	for i < len(s) {
		j := i
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		if j == i || j >= len(s) {
			return false
		}
		idx := strings.IndexByte(order[k:], s[j])
		if idx < 0 {
			return false
		}
		k += idx + 1
		i = j + 1
	}
	return true
}
