package e2e

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestCqlshCommand runs `ringdb cqlsh -e` against a node and checks its
// cqlsh-shaped output and exit status.
func TestCqlshCommand(t *testing.T) {
	n := startNode(t, "")
	bin := ringdbBinary(t)
	addr := "127.0.0.1:" + strconv.Itoa(n.port)
	pwFile := filepath.Join(n.cfg.DataDir, "superuser.password")
	run := func(stmts string) (string, error) {
		out, err := exec.Command(bin, "cqlsh", addr, "-u", "cassandra", "--password-file", pwFile, "-e", stmts).CombinedOutput()
		return string(out), err
	}
	out, err := run(`CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1};
		CREATE TABLE ks.t (k int PRIMARY KEY, name text, tags set<text>);
		INSERT INTO ks.t (k, name, tags) VALUES (1, 'it''s; fine', {'a', 'b'});
		USE ks;
		SELECT * FROM t;`)
	if err != nil {
		t.Fatalf("cqlsh failed: %v\n%s", err, out)
	}
	for _, want := range []string{"k |       name |       tags", "1 | it's; fine | {'a', 'b'}", "(1 rows)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	out, err = run("SELECT * FROM ks.missing")
	if err == nil || !strings.Contains(out, "InvalidRequest") || !strings.Contains(out, "unconfigured table missing") {
		t.Fatalf("error case: %v\n%s", err, out)
	}
	raw, err := exec.Command(bin, "cqlsh", addr, "-u", "cassandra", "-p", "wrong", "-e", "SELECT * FROM system.local").CombinedOutput()
	if out = string(raw); err == nil || !strings.Contains(out, "incorrect") {
		t.Fatalf("wrong password accepted: %s", out)
	}
}
