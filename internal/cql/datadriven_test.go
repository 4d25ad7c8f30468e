package cql

import (
	"flag"
	"os"
	"strings"
	"testing"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the expected output in testdata files")

// testCase is one entry of a testdata file: a query, "----", the expected
// output, separated from the next case by a blank line. Lines starting with
// '#' before a query are comments.
type testCase struct {
	comment  string
	query    string
	expected string
	line     int
}

func readCases(t *testing.T, path string) []testCase {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cases []testCase
	lines := strings.Split(string(data), "\n")
	for i := 0; i < len(lines); {
		if strings.TrimSpace(lines[i]) == "" {
			i++
			continue
		}
		var c testCase
		c.line = i + 1
		var q, comment []string
		for i < len(lines) && strings.HasPrefix(lines[i], "#") {
			comment = append(comment, lines[i])
			i++
		}
		for i < len(lines) && lines[i] != "----" {
			q = append(q, lines[i])
			i++
		}
		i++ // ----
		var exp []string
		for i < len(lines) && lines[i] != "" {
			exp = append(exp, lines[i])
			i++
		}
		c.comment = strings.Join(comment, "\n")
		c.query = strings.Join(q, "\n")
		c.expected = strings.Join(exp, "\n")
		if c.query == "" {
			continue
		}
		cases = append(cases, c)
	}
	return cases
}

func writeCases(t *testing.T, path string, cases []testCase) {
	t.Helper()
	var b strings.Builder
	for i, c := range cases {
		if i > 0 {
			b.WriteString("\n")
		}
		if c.comment != "" {
			b.WriteString(c.comment + "\n")
		}
		b.WriteString(c.query + "\n----\n" + c.expected + "\n")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// runDataDriven checks (or with -rewrite regenerates) a testdata file.
func runDataDriven(t *testing.T, path string, eval func(query string) string) {
	cases := readCases(t, path)
	for i := range cases {
		c := &cases[i]
		got := eval(c.query)
		if *rewrite {
			c.expected = got
			continue
		}
		if got != c.expected {
			t.Errorf("%s:%d: %s\n got: %s\nwant: %s", path, c.line, c.query, got, c.expected)
		}
	}
	if *rewrite {
		writeCases(t, path, cases)
	}
}

// TestAccepted parses every query of testdata/accepted.txt and compares the
// dumped AST.
func TestAccepted(t *testing.T) {
	runDataDriven(t, "testdata/accepted.txt", func(q string) string {
		st, err := Parse(q)
		if err != nil {
			return "ERROR: " + err.Error()
		}
		return dump(st)
	})
}

// TestRejected checks the error message of every query of testdata/rejected.txt.
func TestRejected(t *testing.T) {
	runDataDriven(t, "testdata/rejected.txt", func(q string) string {
		st, err := Parse(q)
		if err == nil {
			return "ACCEPTED: " + dump(st)
		}
		if _, ok := err.(*SyntaxError); !ok {
			return "NOT A SyntaxError: " + err.Error()
		}
		return err.Error()
	})
}
