package cql

import "fmt"

// SyntaxError is a parse error at a position of the query text. Line is
// 1-based and Col 0-based, as in Cassandra's messages.
type SyntaxError struct {
	Line, Col int
	Msg       string
}

// Error renders the error as Cassandra does: "line 1:7 <msg>".
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("line %d:%d %s", e.Line, e.Col, e.Msg)
}
