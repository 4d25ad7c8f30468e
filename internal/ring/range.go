package ring

import "fmt"

// Range is Cassandra's token range (Start, End]: the tokens t with
// Start < t <= End. When Start >= End the range wraps past MaxToken to
// MinToken: it holds the tokens > Start and the tokens <= End, and
// Start == End denotes the whole ring (as Cassandra's Range(x, x)).
type Range struct {
	Start, End Token
}

// Wraps reports whether the range wraps around the end of the ring
// (Start >= End), as Cassandra's Range.isWrapAround.
func (r Range) Wraps() bool { return r.Start >= r.End }

// Contains reports whether t lies in (Start, End], wrapping when
// Start >= End.
func (r Range) Contains(t Token) bool {
	if r.Start >= r.End {
		return t > r.Start || t <= r.End
	}
	return t > r.Start && t <= r.End
}

// Size returns the fraction of the ring the range covers, in (0, 1]; the
// whole ring (Start == End) is 1.
func (r Range) Size() float64 {
	return widthFraction(r.Start, r.End)
}

// String formats the range as Cassandra does: (start,end].
func (r Range) String() string { return fmt.Sprintf("(%d,%d]", r.Start, r.End) }

// width returns the number of tokens in (start, end] modulo 2^64; the whole
// ring (start == end) is 0, which callers treat as 2^64.
func width(start, end Token) uint64 { return uint64(end) - uint64(start) }

// widthFraction returns the fraction of the ring in (start, end], 1 for
// start == end.
func widthFraction(start, end Token) float64 {
	w := width(start, end)
	if w == 0 {
		return 1
	}
	return float64(w) / twoTo64
}

const twoTo64 = 18446744073709551616.0
