package e2e

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ringdb/ringdb/internal/client"
	"github.com/ringdb/ringdb/internal/types"
)

var rewrite = flag.Bool("rewrite", false, "rewrite testdata/*.out from the current output")

// TestCQLScripts runs each testdata/*.cql script against a fresh node,
// statement by statement, and compares the transcript (rows as cqlsh shows
// them, or the error code and message) with testdata/<name>.out.
// Regenerate with: go test ./e2e -run TestCQLScripts -rewrite (and review
// the diff: the .out files are the expected behaviour).
func TestCQLScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.cql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".cql"), func(t *testing.T) {
			n := startNode(t, "")
			c, err := client.Dial(context.Background(), "127.0.0.1:"+strconv.Itoa(n.port), client.Options{Username: "cassandra", Password: n.password})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var out strings.Builder
			for _, stmt := range splitScript(string(src)) {
				fmt.Fprintf(&out, "> %s\n", stmt)
				res, err := c.Query(stmt, 0, nil)
				var se *client.ServerError
				switch {
				case errors.As(err, &se):
					fmt.Fprintf(&out, "error %#04x: %s\n", se.Code, se.Message)
				case err != nil:
					t.Fatalf("%s: %v", stmt, err)
				case res.Kind == 2:
					writeRows(&out, res)
				default:
					out.WriteString("ok\n")
				}
				out.WriteString("\n")
			}
			golden := strings.TrimSuffix(f, ".cql") + ".out"
			if *rewrite {
				if err := os.WriteFile(golden, []byte(out.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -rewrite to create it)", err)
			}
			if got := out.String(); got != string(want) {
				t.Fatalf("transcript differs from %s:\n%s", golden, firstDiff(got, string(want)))
			}
		})
	}
}

// splitScript splits on ';' at line ends and drops comment lines.
func splitScript(s string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(s, "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "--") {
			continue
		}
		cur.WriteString(trimmed)
		if strings.HasSuffix(trimmed, ";") {
			out = append(out, strings.TrimSuffix(cur.String(), ";"))
			cur.Reset()
		} else {
			cur.WriteByte(' ')
		}
	}
	return out
}

func writeRows(out *strings.Builder, r *client.Result) {
	var names []string
	for _, c := range r.Columns {
		names = append(names, c.Name)
	}
	out.WriteString(strings.Join(names, " | ") + "\n")
	for _, row := range r.Rows {
		var cells []string
		for i, v := range row {
			cells = append(cells, types.Format(r.Columns[i].Type, v))
		}
		out.WriteString(strings.Join(cells, " | ") + "\n")
	}
	fmt.Fprintf(out, "(%d rows)\n", len(r.Rows))
}

func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d:\n got: %q\nwant: %q", i+1, gl, wl)
		}
	}
	return "(no difference found)"
}
