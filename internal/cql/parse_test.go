package cql

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func mustParse(t *testing.T, q string) Statement {
	t.Helper()
	st, err := Parse(q)
	if err != nil {
		t.Fatalf("Parse(%q): %v", q, err)
	}
	return st
}

func TestSyntaxErrorShape(t *testing.T) {
	cases := []struct {
		q         string
		line, col int
		msg       string
	}{
		{"SELECT * FROM t WHERE FOO", 1, 25, "no viable alternative at input '<EOF>'"},
		{"FOO", 1, 0, "no viable alternative at input 'FOO'"},
		{"SELECT a, b x FROM t", 1, 12, "mismatched input 'x' expecting K_FROM"},
		{"SELECT *\n  FROM t\n  WHERE k = = 1", 3, 12, "no viable alternative at input '='"},
		{"SELECT * FROM t LIMIT", 1, 21, "no viable alternative at input '<EOF>'"},
	}
	for _, c := range cases {
		_, err := Parse(c.q)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Fatalf("Parse(%q): got %v, want *SyntaxError", c.q, err)
		}
		if se.Line != c.line || se.Col != c.col || se.Msg != c.msg {
			t.Errorf("Parse(%q) = %d:%d %q, want %d:%d %q", c.q, se.Line, se.Col, se.Msg, c.line, c.col, c.msg)
		}
	}
	if got := (&SyntaxError{Line: 1, Col: 7, Msg: "no viable alternative at input 'FOO'"}).Error(); got != "line 1:7 no viable alternative at input 'FOO'" {
		t.Errorf("Error() = %q", got)
	}
}

func TestBindMarkers(t *testing.T) {
	st := mustParse(t, "UPDATE t USING TTL ? AND TIMESTAMP :ts SET a = ?, m[:k] = :v WHERE k IN ? AND c = :c IF x = ?")
	ms := BindMarkers(st)
	want := []struct {
		name string
		in   bool
	}{{"", false}, {"ts", false}, {"", false}, {"k", false}, {"v", false}, {"", true}, {"c", false}, {"", false}}
	if len(ms) != len(want) {
		t.Fatalf("got %d markers, want %d", len(ms), len(want))
	}
	for i, m := range ms {
		if m.Index != i || m.Name != want[i].name || m.In != want[i].in {
			t.Errorf("marker %d = %+v, want name %q in %v", i, *m, want[i].name, want[i].in)
		}
	}
	if n := st.(*UpdateStatement).BindCount(); n != 8 {
		t.Errorf("BindCount = %d", n)
	}
	// The markers are the very nodes in the tree.
	u := st.(*UpdateStatement)
	if u.Using.TTL != Expr(ms[0]) || u.Conditions[0].Value != Expr(ms[7]) {
		t.Error("markers list does not share nodes with the tree")
	}
	sel := mustParse(t, "SELECT * FROM t WHERE k = ? PER PARTITION LIMIT ? LIMIT ?").(*SelectStatement)
	if sel.BindCount() != 3 || sel.Limit.(*BindMarker).Index != 2 || sel.PerPartitionLimit.(*BindMarker).Index != 1 {
		t.Errorf("select markers: %s", dump(sel))
	}
	if BindMarkers(nil) != nil {
		t.Error("BindMarkers(nil) != nil")
	}
}

func TestBatchMarkers(t *testing.T) {
	b := mustParse(t, "BEGIN BATCH USING TIMESTAMP ? INSERT INTO t (a, b) VALUES (?, ?); UPDATE t SET b = :b WHERE a = ? APPLY BATCH").(*BatchStatement)
	if b.BindCount() != 5 {
		t.Fatalf("batch BindCount = %d", b.BindCount())
	}
	ins := b.Statements[0].(*InsertStatement)
	upd := b.Statements[1].(*UpdateStatement)
	if ins.BindCount() != 2 || ins.Markers[0].Index != 1 || upd.BindCount() != 2 || upd.Markers[0].Name != "b" || upd.Markers[1].Index != 4 {
		t.Errorf("inner markers: %s", dump(b))
	}
}

func TestPositions(t *testing.T) {
	s := mustParse(t, "SELECT a,\n  f(b) FROM t\nWHERE k = ?").(*SelectStatement)
	if s.Pos != (Pos{Offset: 0, Line: 1, Col: 0}) {
		t.Errorf("statement pos %+v", s.Pos)
	}
	if p := s.Selectors[1].Pos; p.Line != 2 || p.Col != 2 || p.Offset != 12 {
		t.Errorf("selector pos %+v", p)
	}
	if p := s.Where[0].Pos; p.Line != 3 || p.Col != 6 {
		t.Errorf("relation pos %+v", p)
	}
	if p := s.Where[0].Value.(*BindMarker).Pos; p.Line != 3 || p.Col != 10 {
		t.Errorf("marker pos %+v", p)
	}
	// Columns count runes, as Cassandra counts characters.
	_, err := Parse("SELECT * FROM t WHERE a = 'é' FOO")
	if se := err.(*SyntaxError); se.Col != 30 {
		t.Errorf("col after multibyte char = %d, want 30", se.Col)
	}
}

func TestParseScript(t *testing.T) {
	script := `
-- create things
CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1};
USE ks;;
CREATE TABLE t (k int PRIMARY KEY, v text); // trailing
INSERT INTO t (k, v) VALUES (1, 'a;b');
CREATE FUNCTION f() RETURNS NULL ON NULL INPUT RETURNS int LANGUAGE java AS $$ return 1; $$;
BEGIN BATCH INSERT INTO t (k) VALUES (?); INSERT INTO t (k) VALUES (?); APPLY BATCH;
SELECT * FROM t WHERE k = ?`
	sts, err := ParseScript(script)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, s := range sts {
		kinds = append(kinds, strings.TrimPrefix(strings.Split(dump(s), "{")[0], "*"))
	}
	want := "CreateKeyspaceStatement UseStatement CreateTableStatement InsertStatement UnsupportedStatement BatchStatement SelectStatement"
	if got := strings.Join(kinds, " "); got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
	// Marker indices restart with each statement.
	if m := BindMarkers(sts[6]); len(m) != 1 || m[0].Index != 0 {
		t.Errorf("select markers %v", m)
	}
	if sts[4].(*UnsupportedStatement).Text != "CREATE FUNCTION f() RETURNS NULL ON NULL INPUT RETURNS int LANGUAGE java AS $$ return 1; $$" {
		t.Errorf("unsupported text %q", sts[4].(*UnsupportedStatement).Text)
	}
	if sts, err := ParseScript(" ; -- nothing\n"); err != nil || len(sts) != 0 {
		t.Errorf("empty script: %v %v", sts, err)
	}
	_, err = ParseScript("USE ks; SELECT * FROM t WHERE; USE x")
	if err == nil || err.Error() != "line 1:29 no viable alternative at input ';'" {
		t.Errorf("script error: %v", err)
	}
	_, err = ParseScript("USE ks USE x")
	if err == nil || err.Error() != "line 1:7 mismatched input 'USE' expecting ';'" {
		t.Errorf("missing ';' error: %v", err)
	}
}

func TestTypeRefString(t *testing.T) {
	cases := map[string]string{
		"int":                                   "int",
		"VARCHAR":                               "text",
		"frozen<map<text, list<int>>>":          "frozen<map<text, list<int>>>",
		"map<varchar,frozen<set<timeuuid>>>":    "map<text, frozen<set<timeuuid>>>",
		"tuple<int,text,tuple<blob>>":           "tuple<int, text, tuple<blob>>",
		"frozen<tuple<int, int>>":               "frozen<tuple<int, int>>",
		"ks.Addr":                               "ks.addr",
		`"MyKs"."My Type"`:                      `"MyKs"."My Type"`,
		"frozen<addr>":                          "frozen<addr>",
		"'org.apache.cassandra.db.marshal.Foo'": "'org.apache.cassandra.db.marshal.Foo'",
	}
	for in, want := range cases {
		st := mustParse(t, "CREATE TABLE t (k "+in+" PRIMARY KEY)").(*CreateTableStatement)
		if got := st.Columns[0].Type.String(); got != want {
			t.Errorf("%s: got %s, want %s", in, got, want)
		}
	}
	ty := mustParse(t, "CREATE TABLE t (k frozen<ks.u> PRIMARY KEY)").(*CreateTableStatement).Columns[0].Type
	if !ty.UDT || !ty.Frozen || ty.Keyspace != "ks" || ty.Name != "u" {
		t.Errorf("udt type %+v", ty)
	}
}

func TestQuoteIdent(t *testing.T) {
	cases := map[string]string{
		"abc": "abc", "a_1": "a_1", "Abc": `"Abc"`, "select": `"select"`,
		"key": "key", "a b": `"a b"`, `a"b`: `"a""b"`, "": `""`, "1a": `"1a"`,
	}
	for in, want := range cases {
		if got := QuoteIdent(in); got != want {
			t.Errorf("QuoteIdent(%q) = %s, want %s", in, got, want)
		}
	}
	if !IsReservedKeyword("SELECT") || IsReservedKeyword("key") {
		t.Error("IsReservedKeyword")
	}
}

func TestResourceString(t *testing.T) {
	cases := map[string]string{
		"ALL KEYSPACES":                "data",
		"KEYSPACE ks":                  "data/ks",
		"TABLE ks.t":                   "data/ks/t",
		"ks.t":                         "data/ks/t",
		"ALL ROLES":                    "roles",
		"ROLE bob":                     "roles/bob",
		"ALL FUNCTIONS":                "functions",
		"ALL FUNCTIONS IN KEYSPACE ks": "functions/ks",
		"FUNCTION ks.f(int, text)":     "functions/ks/f[int^text]",
		"ALL MBEANS":                   "mbean",
		"MBEAN 'a:b=c'":                "mbean/a:b=c",
	}
	for in, want := range cases {
		g := mustParse(t, "GRANT ALL ON "+in+" TO r").(*GrantPermissionsStatement)
		if got := g.Resource.String(); got != want {
			t.Errorf("%s: got %s, want %s", in, got, want)
		}
	}
}

func TestStatementKinds(t *testing.T) {
	// One query per statement type, checking the dynamic type.
	cases := map[string]Statement{
		"SELECT * FROM t":                    &SelectStatement{},
		"INSERT INTO t (a) VALUES (1)":       &InsertStatement{},
		"UPDATE t SET a = 1 WHERE k = 1":     &UpdateStatement{},
		"DELETE FROM t WHERE k = 1":          &DeleteStatement{},
		"BEGIN BATCH APPLY BATCH":            &BatchStatement{},
		"USE ks":                             &UseStatement{},
		"TRUNCATE t":                         &TruncateStatement{},
		"CREATE KEYSPACE k WITH a = 1":       &CreateKeyspaceStatement{},
		"ALTER KEYSPACE k WITH a = 1":        &AlterKeyspaceStatement{},
		"DROP KEYSPACE k":                    &DropKeyspaceStatement{},
		"CREATE TABLE t (k int PRIMARY KEY)": &CreateTableStatement{},
		"ALTER TABLE t DROP v":               &AlterTableStatement{},
		"DROP TABLE t":                       &DropTableStatement{},
		"CREATE TYPE u (a int)":              &CreateTypeStatement{},
		"ALTER TYPE u ADD b int":             &AlterTypeStatement{},
		"DROP TYPE u":                        &DropTypeStatement{},
		"CREATE INDEX ON t (v)":              &CreateIndexStatement{},
		"DROP INDEX i":                       &DropIndexStatement{},
		"CREATE ROLE r":                      &CreateRoleStatement{},
		"ALTER ROLE r WITH LOGIN = true":     &AlterRoleStatement{},
		"DROP ROLE r":                        &DropRoleStatement{},
		"LIST ROLES":                         &ListRolesStatement{},
		"CREATE USER u":                      &CreateUserStatement{},
		"ALTER USER u SUPERUSER":             &AlterUserStatement{},
		"DROP USER u":                        &DropUserStatement{},
		"LIST USERS":                         &ListUsersStatement{},
		"GRANT ALL ON ALL KEYSPACES TO r":    &GrantPermissionsStatement{},
		"REVOKE ALL ON ALL KEYSPACES FROM r": &RevokePermissionsStatement{},
		"LIST ALL":                           &ListPermissionsStatement{},
		"GRANT a TO b":                       &GrantRoleStatement{},
		"REVOKE a FROM b":                    &RevokeRoleStatement{},
		"CREATE TRIGGER x ON t USING 'c'":    &UnsupportedStatement{},
	}
	for q, want := range cases {
		got := mustParse(t, q)
		if gt, wt := strings.Split(dump(got), "{")[0], strings.Split(dump(want), "{")[0]; gt != wt {
			t.Errorf("%s: got %s, want %s", q, gt, wt)
		}
	}
}

// TestNoPanicOnHostileInput checks deep nesting and long inputs end with a
// clean error, not a stack overflow or hang.
func TestNoPanicOnHostileInput(t *testing.T) {
	inputs := []string{
		"SELECT * FROM t WHERE a = " + strings.Repeat("[", 100000),
		"SELECT * FROM t WHERE a = " + strings.Repeat("{", 100000),
		"SELECT * FROM t WHERE a = " + strings.Repeat("(", 100000),
		"SELECT * FROM t WHERE a = " + strings.Repeat("-", 100000) + "1",
		"SELECT " + strings.Repeat("(", 100000) + " FROM t",
		"SELECT " + strings.Repeat("f(", 100000) + " FROM t",
		"SELECT * FROM t WHERE " + strings.Repeat("(", 100000) + "a = 1",
		"CREATE TABLE t (k " + strings.Repeat("list<", 100000) + " PRIMARY KEY)",
		"SELECT * FROM t WHERE a = (" + strings.Repeat("(int)", 100000) + " 1)",
		"SELECT a" + strings.Repeat(".b", 100000) + " FROM t",
		"SELECT a" + strings.Repeat("[1]", 100000) + " FROM t",
	}
	for _, in := range inputs {
		_, err := Parse(in)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%.40s...: got %v", in, err)
		}
	}
	// Long but flat input is fine.
	q := "SELECT * FROM t WHERE k IN (" + strings.Repeat("1, ", 50000) + "1)"
	if _, err := Parse(q); err != nil {
		t.Errorf("long IN list: %v", err)
	}
}

// FuzzParse checks that Parse and ParseScript never panic and return either
// a statement or a *SyntaxError.
func FuzzParse(f *testing.F) {
	for _, path := range []string{"testdata/accepted.txt", "testdata/rejected.txt"} {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		for _, block := range strings.Split(string(data), "\n\n") {
			q, _, _ := strings.Cut(block, "\n----\n")
			var lines []string
			for _, l := range strings.Split(q, "\n") {
				if !strings.HasPrefix(l, "#") {
					lines = append(lines, l)
				}
			}
			f.Add(strings.Join(lines, "\n"))
		}
	}
	f.Fuzz(func(t *testing.T, q string) {
		st, err := Parse(q)
		if err != nil {
			if _, ok := err.(*SyntaxError); !ok {
				t.Fatalf("Parse(%q): error %T %v", q, err, err)
			}
			if st != nil {
				t.Fatalf("Parse(%q): both statement and error", q)
			}
		} else {
			if st == nil {
				t.Fatalf("Parse(%q): nil statement and nil error", q)
			}
			for i, m := range BindMarkers(st) {
				if m.Index != i {
					t.Fatalf("Parse(%q): marker %d has index %d", q, i, m.Index)
				}
			}
		}
		sts, err := ParseScript(q)
		if err != nil {
			if _, ok := err.(*SyntaxError); !ok {
				t.Fatalf("ParseScript(%q): error %T %v", q, err, err)
			}
		} else {
			for _, s := range sts {
				if s == nil {
					t.Fatalf("ParseScript(%q): nil statement", q)
				}
			}
		}
	})
}
