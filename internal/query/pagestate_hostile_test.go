package query

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"strconv"
	"testing"

	"github.com/ringdb/ringdb/internal/consistency"
	"github.com/ringdb/ringdb/internal/cqlerr"
	"github.com/ringdb/ringdb/internal/ring"
	"github.com/ringdb/ringdb/internal/types"
)

// TestHostilePagingStates: a paging state the query cannot have produced
// (damaged, forged, or taken from another query) gets a protocol error —
// never rows outside the query's WHERE clause, beyond its LIMIT, or a
// server error.
func TestHostilePagingStates(t *testing.T) {
	tp := selectFixture(t)
	tp.exec("CREATE TABLE comp (a text, b int, c int, PRIMARY KEY ((a, b), c))")
	tp.exec("INSERT INTO comp (a, b, c) VALUES ('x', 1, 1)")
	key := func(k int32) []byte { return types.IntValue(k) }
	state := func(s pageState) []byte { return s.encode() }
	good := func(k int32) pageState {
		return pageState{token: ring.Murmur3Token(key(k)), key: key(k), partitionDone: true}
	}
	withTail := append(state(good(1)), 0)
	huge := state(good(1))
	huge = huge[:len(huge)-2]
	huge = binary.AppendUvarint(huge, math.MaxUint64)
	huge = binary.AppendUvarint(huge, 0)
	ck := encodeClustering(tp.p.opts.Schema.Current().Table("ks", "t"), [][]byte{types.IntValue(1), types.IntValue(1)})
	tok := ring.Murmur3Token(key(3))
	for _, tc := range []struct {
		name, q string
		state   []byte
	}{
		{"token does not match the key", "SELECT v FROM t", state(pageState{token: 42, key: key(1), partitionDone: true})},
		{"empty key", "SELECT v FROM t", state(pageState{token: ring.Murmur3Token(nil), partitionDone: true})},
		{"composite key that does not decode", "SELECT c FROM comp", state(pageState{token: ring.Murmur3Token([]byte{0, 9, 1}), key: []byte{0, 9, 1}, partitionDone: true})},
		{"clustering that does not decode", "SELECT v FROM t", state(pageState{token: ring.Murmur3Token(key(1)), key: key(1), clustering: []byte{0xff}})},
		{"clustering on a table without clustering columns", "SELECT v FROM kv", state(pageState{token: ring.Murmur3Token(key(1)), key: key(1), clustering: ck})},
		{"rows sent beyond LIMIT", "SELECT v FROM t LIMIT 5", state(pageState{token: ring.Murmur3Token(key(1)), key: key(1), partitionDone: true, rowsSent: 5})},
		{"rows sent overflowing", "SELECT v FROM t LIMIT 5", huge},
		{"per-partition count beyond PER PARTITION LIMIT", "SELECT v FROM t PER PARTITION LIMIT 2", state(pageState{token: ring.Murmur3Token(key(1)), key: key(1), clustering: ck, ppCount: 3})},
		{"partition outside the token range", "SELECT v FROM t WHERE token(k) > " + strconv.FormatInt(tok, 10), state(good(3))},
		{"partition not in the IN list", "SELECT v FROM t WHERE k IN (1, 2)", state(good(3))},
		{"trailing bytes", "SELECT v FROM t", withTail},
		{"mid-partition state for DISTINCT", "SELECT DISTINCT k FROM t", state(pageState{token: ring.Murmur3Token(key(1)), key: key(1), clustering: ck})},
	} {
		params := &Params{Consistency: consistency.One, PageSize: 2, PagingState: tc.state}
		_, err := tp.p.Query(context.Background(), tp.s, tc.q, params)
		var ce *cqlerr.Error
		if !errors.As(err, &ce) || ce.Code != cqlerr.ProtocolError {
			t.Errorf("%s: want a protocol error, got %v", tc.name, err)
		}
	}
	// The genuine state of each of those queries still pages.
	for _, q := range []string{"SELECT v FROM t LIMIT 5", "SELECT v FROM t PER PARTITION LIMIT 2", "SELECT v FROM t WHERE k IN (1, 2)", "SELECT c FROM comp"} {
		if got, _ := tp.paged(q, 1); got == "" {
			t.Errorf("%s: no rows when paged", q)
		}
	}
}
