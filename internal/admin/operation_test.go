package admin

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func startOps(t *testing.T, ops map[string]OperationFactory) *Client {
	t.Helper()
	dir := t.TempDir()
	s, err := Start(Options{Addr: "127.0.0.1:0", TokenFile: filepath.Join(dir, "admin.token"), Node: fakeNode{}, Operations: ops})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	tok, _ := os.ReadFile(filepath.Join(dir, "admin.token"))
	return NewClient(s.Addr().String(), string(tok))
}

func TestOperationStreamsProgressAndOutcome(t *testing.T) {
	type args struct{ N int }
	c := startOps(t, map[string]OperationFactory{
		"count": func(raw json.RawMessage) (Operation, error) {
			var a args
			if err := json.Unmarshal(raw, &a); err != nil {
				return nil, err
			}
			if a.N < 0 {
				return nil, errors.New("N must not be negative")
			}
			return func(_ context.Context, report func(string)) error {
				for i := range a.N {
					report(strings.Repeat("x", i+1))
				}
				if a.N == 3 {
					return errors.New("failed at the end\nsecond line")
				}
				return nil
			}, nil
		},
	})
	var got []string
	if err := c.Operation("count", args{N: 2}, func(l string) { got = append(got, l) }); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "x,xx" {
		t.Fatalf("progress %q", got)
	}
	got = nil
	err := c.Operation("count", args{N: 3}, func(l string) { got = append(got, l) })
	if err == nil || err.Error() != "failed at the end\nsecond line" || len(got) != 3 {
		t.Fatalf("failure: %v, progress %q", err, got)
	}
	if err := c.Operation("count", args{N: -1}, nil); err == nil || !strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), "negative") {
		t.Fatalf("bad arguments: %v", err)
	}
	if err := c.Operation("nope", nil, nil); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("unknown operation: %v", err)
	}
}

func TestReadOperationTruncated(t *testing.T) {
	err := readOperation(strings.NewReader("progress\tone\n"), nil)
	if err == nil || !strings.Contains(err.Error(), "before the operation ended") {
		t.Fatalf("truncated response: %v", err)
	}
}
