package query

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/ringdb/ringdb/internal/consistency"
	"github.com/ringdb/ringdb/internal/cqlerr"
	"github.com/ringdb/ringdb/internal/schema"
	"github.com/ringdb/ringdb/internal/storage"
	"github.com/ringdb/ringdb/internal/types"
)

// testProc is a Processor over a fresh engine in a temporary directory,
// with a session whose keyspace is ks (created with RF 1).
type testProc struct {
	t *testing.T
	p *Processor
	s *Session
}

func newTestProc(t *testing.T, opts Options) *testProc {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e, err := storage.Open(t.TempDir(), storage.Options{Logger: log, GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	sm, err := schema.NewManager(e, schema.SystemKeyspaces(), nil)
	if err != nil {
		t.Fatal(err)
	}
	opts.Schema, opts.Engine, opts.Logger = sm, e, log
	tp := &testProc{t: t, p: New(opts), s: &Session{}}
	tp.exec("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
	tp.exec("USE ks")
	return tp
}

// query runs one statement with optional bound values.
func (tp *testProc) query(q string, vals ...[]byte) (*Result, error) {
	params := &Params{Consistency: consistency.One}
	for _, v := range vals {
		params.Values = append(params.Values, Value{Bytes: v})
	}
	return tp.p.Query(context.Background(), tp.s, q, params)
}

// exec runs a statement that must succeed.
func (tp *testProc) exec(q string, vals ...[]byte) *Result {
	tp.t.Helper()
	res, err := tp.query(q, vals...)
	if err != nil {
		tp.t.Fatalf("%s: %v", q, err)
	}
	return res
}

// rows runs a statement and renders its rows as "v1 | v2" strings.
func (tp *testProc) rows(q string, vals ...[]byte) []string {
	tp.t.Helper()
	return renderRows(tp.t, tp.exec(q, vals...))
}

// renderRows renders the header then each row of a rows result.
func renderRows(t *testing.T, res *Result) []string {
	t.Helper()
	if res.Kind != ResultRows {
		t.Fatalf("result kind %d, want rows", res.Kind)
	}
	var names []string
	for _, c := range res.Rows.Columns {
		names = append(names, c.Name)
	}
	out := []string{strings.Join(names, " | ")}
	data := res.Rows.Data
	for i := 0; i < res.Rows.Count; i++ {
		cells := make([]string, len(res.Rows.Columns))
		for j, c := range res.Rows.Columns {
			var v []byte
			var ok bool
			if v, data, ok = readCell(data); !ok {
				t.Fatalf("rows data: row %d column %d truncated", i, j)
			}
			if v == nil {
				cells[j] = "null"
				continue
			}
			cells[j] = types.Format(c.Type, v)
		}
		out = append(out, strings.Join(cells, " | "))
	}
	if len(data) != 0 {
		t.Fatalf("rows data: %d bytes left", len(data))
	}
	return out
}

// readCell reads one [bytes] of row data (int32 length, -1 for null)
// and returns it with the rest of b.
func readCell(b []byte) (v, rest []byte, ok bool) {
	if len(b) < 4 {
		return nil, b, false
	}
	n := int32(binary.BigEndian.Uint32(b))
	b = b[4:]
	if n < 0 {
		return nil, b, n == -1
	}
	if int(n) > len(b) {
		return nil, b, false
	}
	return b[:n:n], b[n:], true
}

// wantErr checks that err is a cqlerr.Error with the code and message.
func wantErr(t *testing.T, err error, code cqlerr.Code, msg string) {
	t.Helper()
	var ce *cqlerr.Error
	if !errors.As(err, &ce) {
		t.Fatalf("want error %#x %q, got %v", code, msg, err)
	}
	if ce.Code != code || ce.Message != msg {
		t.Fatalf("want error %#x %q, got %#x %q", code, msg, ce.Code, ce.Message)
	}
}

// wantRows compares rendered rows.
func wantRows(t *testing.T, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("rows:\n got: %q\nwant: %q", got, want)
	}
}
