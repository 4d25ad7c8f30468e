package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ringdb/ringdb/internal/admin"
)

// TestNodetoolRepairArgs runs `ringdb nodetool repair` against a real
// admin endpoint whose repair operation records its arguments: -pr (as
// Cassandra spells it), --partitioner-range, --full, keyspace and tables
// reach the node, progress is printed and a failure is the command's error.
func TestNodetoolRepairArgs(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "admin.token")
	var mu sync.Mutex // the operation runs on the admin server's goroutines
	var got []map[string]any
	fail := false
	s, err := admin.Start(admin.Options{Addr: "127.0.0.1:0", TokenFile: tokenFile, Operations: map[string]admin.OperationFactory{
		"repair": func(raw json.RawMessage) (admin.Operation, error) {
			var a map[string]any
			if err := json.Unmarshal(raw, &a); err != nil {
				return nil, err
			}
			mu.Lock()
			defer mu.Unlock()
			got = append(got, a)
			failing := fail
			return func(_ context.Context, report func(string)) error {
				report("Starting repair command #1")
				if failing {
					return errors.New("repair command #1 failed: repair: replica 127.0.0.3 is down")
				}
				return nil
			}, nil
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	run := func(args ...string) (string, error) {
		cmd := nodetoolCmd()
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs(append([]string{"--host", s.Addr().String(), "--token-file", tokenFile, "repair"}, args...))
		err := cmd.Execute()
		return out.String(), err
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, `{"full":false,"primary_range":false}`},
		{[]string{"ks", "t", "u", "-pr", "--full"}, `{"full":true,"keyspace":"ks","primary_range":true,"tables":["t","u"]}`},
		{[]string{"--partitioner-range", "ks"}, `{"full":false,"keyspace":"ks","primary_range":true,"tables":[]}`},
	} {
		mu.Lock()
		got = nil
		mu.Unlock()
		out, err := run(tc.args...)
		if err != nil || !strings.Contains(out, "] Starting repair command #1") {
			t.Fatalf("%v: %v\n%s", tc.args, err, out)
		}
		mu.Lock()
		b, _ := json.Marshal(got[0])
		mu.Unlock()
		if string(b) != tc.want {
			t.Fatalf("%v: the node got %s, want %s", tc.args, b, tc.want)
		}
	}
	mu.Lock()
	fail = true
	mu.Unlock()
	if _, err := run("ks"); err == nil || !strings.Contains(err.Error(), "replica 127.0.0.3 is down") {
		t.Fatalf("failed repair: %v", err)
	}
}
