package client

import (
	"testing"

	"github.com/ringdb/ringdb/internal/protocol/frame"
	"github.com/ringdb/ringdb/internal/types"
)

func rowsBody() []byte {
	b := frame.AppendInt(nil, frame.ResultRows)
	b = frame.AppendRowsMetadata(b, &frame.RowsMetadata{Columns: []frame.ColumnSpec{
		{Keyspace: "ks", Table: "t", Name: "k", Type: types.AppendOption(nil, types.IntType)},
		{Keyspace: "ks", Table: "t", Name: "m", Type: types.AppendOption(nil, types.MapOf(types.TextType, types.IntType, false))},
	}, PagingState: []byte{1, 2}})
	b = frame.AppendInt(b, 1)
	b = frame.AppendBytes(b, types.IntValue(5))
	b = frame.AppendNull(b)
	return b
}

func TestDecodeRows(t *testing.T) {
	r, err := decodeResult(rowsBody())
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Columns) != 2 || r.Columns[1].Type.String() != "map<text, int>" || len(r.Rows) != 1 || r.Rows[0][1] != nil || string(r.PagingState) != "\x01\x02" {
		t.Fatalf("decoded %+v", r)
	}
}

// FuzzDecodeResult: responses come from a socket; bad bytes give an error,
// never a panic or an allocation beyond the input.
func FuzzDecodeResult(f *testing.F) {
	f.Add(rowsBody())
	f.Add(frame.AppendString(frame.AppendInt(nil, frame.ResultSetKeyspace), "ks"))
	f.Add([]byte{0, 0, 0, 2, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = decodeResult(b)
	})
}
