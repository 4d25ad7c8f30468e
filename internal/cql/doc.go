// Package cql owns the CQL 3 language front end of ringdb: a hand-written
// lexer and recursive-descent parser for the Cassandra 4.x dialect that turns
// query text into the AST defined in ast.go.
//
// Entry points are Parse (one statement, optional trailing ';') and
// ParseScript (';'-separated statements, as cqlsh -f reads them). Errors are
// *SyntaxError values whose text is shaped like Cassandra's
// ("line 1:7 no viable alternative at input 'FOO'").
//
// The package never touches schema, storage or the network: it checks syntax
// only. Name resolution, type checking and semantic validation (one PRIMARY
// KEY, known columns, valid options) belong to the executor.
//
// Left to the executor (Cassandra reports these as InvalidRequest, not as
// syntax errors): column/value count mismatch in INSERT, the number of
// PRIMARY KEY declarations (CreateTableStatement.PrimaryKeyDecls), TTL on a
// BATCH, duplicate options, and every name and type resolution.
//
// Tests: testdata/accepted.txt and testdata/rejected.txt hold queries with
// their dumped AST or error message; regenerate with
// go test ./internal/cql -run 'TestAccepted|TestRejected' -rewrite and review
// the diff. FuzzParse is seeded from both files.
//
// Invariants: the parser never panics, always terminates and bounds its
// recursion (MaxDepth); every bind marker gets an Index in order of
// appearance; identifiers in the AST are canonical (unquoted lower-cased,
// quoted preserved).
package cql
