package streaming

import (
	"math"

	"github.com/ringdb/ringdb/internal/ring"
	"github.com/ringdb/ringdb/internal/storage"
)

// Spans returns the inclusive token spans of table that make up ring
// range r = (Start, End]: one span, or two for a range that wraps past the
// end of the ring (the whole ring when Start == End).
func Spans(table storage.TableID, r ring.Range) []storage.TokenSpan {
	s, e := int64(r.Start), int64(r.End)
	if !r.Wraps() {
		return []storage.TokenSpan{{Table: table, First: s + 1, Last: e}}
	}
	var out []storage.TokenSpan
	if s != math.MaxInt64 {
		out = append(out, storage.TokenSpan{Table: table, First: s + 1, Last: math.MaxInt64})
	}
	return append(out, storage.TokenSpan{Table: table, First: math.MinInt64, Last: e})
}
