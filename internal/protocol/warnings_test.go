package protocol

import (
	"net"
	"slices"
	"testing"

	"github.com/ringdb/ringdb/internal/protocol/frame"
	"github.com/ringdb/ringdb/internal/query"
	"github.com/ringdb/ringdb/internal/types"
)

// A result's warnings go out as the v4 warning flag (0x08) and a
// [string list] before the body, inside the compressed body when the
// connection compresses.
func TestWriteResultWarnings(t *testing.T) {
	for _, comp := range []frame.Compression{frame.NoCompression, frame.LZ4, frame.Snappy} {
		name := comp.String()
		if name == "" {
			name = "none"
		}
		t.Run(name, func(t *testing.T) {
			s := New(Options{Addr: "unused", Logger: quietLogger()})
			cli, srv := net.Pipe()
			c := newConn(s, srv)
			c.setCompression(comp)
			writerDone := make(chan struct{})
			go c.writer(writerDone)
			t.Cleanup(func() {
				cli.Close()
				close(c.done)
				<-writerDone
				srv.Close()
			})
			cl := newClient(t, cli)
			read := func(stream int16) (frame.Header, frame.Cursor) {
				t.Helper()
				h := frame.Header{}
				h, body := cl.recv()
				if h.Stream != stream || h.Opcode != frame.OpResult {
					t.Fatalf("got %s on stream %d, want RESULT on %d", h.Opcode, h.Stream, stream)
				}
				if h.Has(frame.FlagCompression) != (comp != frame.NoCompression) {
					t.Fatalf("compression flag %v with %q", h.Has(frame.FlagCompression), comp)
				}
				if comp != frame.NoCompression {
					var err error
					if body, err = frame.Decompress(comp, nil, body, 1<<20); err != nil {
						t.Fatal(err)
					}
				}
				return h, frame.NewCursor(body)
			}

			warnings := []string{"Batch for [ks.t] is of size 6144, exceeding specified threshold of 5120 by 1024.", "second"}
			c.writeResult(7, &query.Result{Kind: query.ResultVoid, Warnings: warnings}, nil, false, nil)
			h, body := read(7)
			if !h.Has(frame.FlagWarning) {
				t.Fatalf("flags %#x: warning flag not set", h.Flags)
			}
			if got := body.StrList(); !slices.Equal(got, warnings) {
				t.Fatalf("warnings %q, want %q", got, warnings)
			}
			if k := body.Int(); k != frame.ResultVoid || body.Remaining() != 0 || body.Err() != nil {
				t.Fatalf("body after the warnings: kind %d, %d bytes left, err %v", k, body.Remaining(), body.Err())
			}

			rows := &query.Rows{Columns: []query.ColumnSpec{{Keyspace: "ks", Table: "t", Name: "v", Type: types.IntType}}, Count: 1,
				Data: frame.AppendBytes(nil, []byte{0, 0, 0, 42})}
			c.writeResult(8, &query.Result{Kind: query.ResultRows, Rows: rows, Warnings: warnings[:1]}, nil, false, nil)
			h, body = read(8)
			if !h.Has(frame.FlagWarning) {
				t.Fatalf("flags %#x: warning flag not set on rows", h.Flags)
			}
			if got := body.StrList(); !slices.Equal(got, warnings[:1]) {
				t.Fatalf("warnings %q, want %q", got, warnings[:1])
			}
			if k := body.Int(); k != frame.ResultRows {
				t.Fatalf("result kind %d after the warnings, want rows", k)
			}

			c.writeResult(9, &query.Result{Kind: query.ResultVoid}, nil, false, nil)
			h, body = read(9)
			if h.Flags&frame.FlagWarning != 0 {
				t.Fatalf("flags %#x: warning flag set without warnings", h.Flags)
			}
			if k := body.Int(); k != frame.ResultVoid || body.Remaining() != 0 {
				t.Fatalf("void body: kind %d, %d bytes left", k, body.Remaining())
			}
		})
	}
}
