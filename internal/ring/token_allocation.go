package ring

import (
	"cmp"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
)

// AllocateTokens chooses numTokens tokens for a new endpoint of datacenter dc
// joining ring tm, keeping the datacenter's primary ownership balanced (the
// role of Cassandra's allocate_tokens_for_local_replication_factor, with a
// simpler algorithm).
//
// Ownership is measured on the datacenter's own ring: the tokens of its
// NORMAL and pending endpoints, which is the ring NetworkTopologyStrategy
// places the DC's replicas on. When the datacenter has no endpoint, the
// tokens are evenly spaced around the ring from a random offset.
//
// Otherwise the new endpoint takes load from the most loaded endpoints
// ("donors"), water-filling: with donors chosen as the numTokens most
// loaded endpoints, it finds the level L at which the donors' load above L
// equals L, so that the new endpoint and every donor end at L (with m+1
// equal endpoints, L = 1/(m+1)). Each donor is then given a number of the
// new tokens (at least one, more for the donors with the most to give,
// never more than it has ranges), and its excess is taken from its largest
// ranges in proportion to their size: a new token at a+x in a donor's range
// (a, b] moves (a, a+x] to the new endpoint. Tokens left over (fewer ranges
// than tokens) split the new endpoint's own largest ranges, which keeps its
// load and refines the ring for later joins.
//
// With at most numTokens+1 endpoints in the datacenter this balances
// primary ownership exactly (up to rounding); beyond, a join can only
// relieve numTokens endpoints, and the imbalance stays small (see the
// tests' measurements). Effective ownership under RF > 1 is not optimised.
//
// The tokens returned are sorted and collide with no token of tm (NORMAL or
// pending, any datacenter). rng supplies the randomness (nil uses
// math/rand/v2's global source); numTokens <= 0 yields nil.
func AllocateTokens(tm *TokenMetadata, numTokens int, dc string, rng *rand.Rand) []Token {
	if numTokens <= 0 {
		return nil
	}
	randUint64 := rand.Uint64
	if rng != nil {
		randUint64 = rng.Uint64
	}
	chosen := make(map[Token]bool, numTokens)
	taken := func(t Token) bool {
		if chosen[t] {
			return true
		}
		if _, ok := tm.pendingToken[t]; ok {
			return true
		}
		_, ok := slices.BinarySearch(tm.ring, t)
		return ok
	}
	// place picks a free token in (start, start+units] (or near it) inside
	// (start, end), falling back to any free token.
	place := func(start, end Token, units uint64) Token {
		t := Token(uint64(start) + units)
		for taken(t) && t != end {
			t++
		}
		for taken(t) || t == end {
			t--
			if t == start {
				break
			}
		}
		if taken(t) || t == start {
			for t = Token(randUint64()); taken(t); t++ {
			}
		}
		chosen[t] = true
		return t
	}

	// The datacenter's ring: (token, owner) with owners numbered 0..m-1.
	type vnode struct {
		token Token
		owner int
	}
	var dcRing []vnode
	m := 0
	for _, list := range [][]endpointInfo{tm.eps, tm.pending} {
		for _, e := range list {
			if e.dc != dc {
				continue
			}
			for _, t := range e.tokens {
				dcRing = append(dcRing, vnode{t, m})
			}
			m++
		}
	}

	out := make([]Token, 0, numTokens)
	if m == 0 {
		offset := randUint64()
		var step uint64
		if numTokens > 1 {
			step, _ = bits.Div64(1, 0, uint64(numTokens)) // 2^64 / numTokens
		}
		for i := range numTokens {
			start := Token(offset + uint64(i)*step)
			out = append(out, place(start-1, start-1, 1))
		}
		slices.Sort(out)
		return out
	}

	slices.SortFunc(dcRing, func(a, b vnode) int { return cmp.Compare(a.token, b.token) })
	type span struct {
		start, end Token
		size       float64
	}
	own := make([]float64, m)
	ranges := make([][]span, m) // per owner, largest first
	for i, v := range dcRing {
		prev := dcRing[(i-1+len(dcRing))%len(dcRing)].token
		s := span{prev, v.token, widthFraction(prev, v.token)}
		own[v.owner] += s.size
		ranges[v.owner] = append(ranges[v.owner], s)
	}
	for _, r := range ranges {
		slices.SortFunc(r, func(a, b span) int { return cmp.Compare(b.size, a.size) })
	}

	// Donors: the numTokens most loaded endpoints (ties by index).
	donors := make([]int, m)
	for i := range donors {
		donors[i] = i
	}
	slices.SortStableFunc(donors, func(a, b int) int { return cmp.Compare(own[b], own[a]) })
	donors = donors[:min(m, numTokens)]

	// Water level L: sum over donors of max(0, own-L) == L.
	lo, hi := 0.0, 1.0
	for range 100 {
		l := (lo + hi) / 2
		give := 0.0
		for _, d := range donors {
			give += max(0, own[d]-l)
		}
		if give > l {
			lo = l
		} else {
			hi = l
		}
	}
	level := lo
	excess := make([]float64, m)
	for _, d := range donors {
		excess[d] = max(0, own[d]-level)
	}

	// capacity returns what donor d can give with k tokens: its k largest
	// ranges (minus their end token), up to its excess.
	capacity := func(d, k int) float64 {
		c := 0.0
		for _, s := range ranges[d][:min(k, len(ranges[d]))] {
			c += s.size
		}
		return min(c, excess[d])
	}
	count := make([]int, m)
	left := numTokens
	for _, d := range donors {
		if excess[d] > 0 && left > 0 {
			count[d] = 1
			left--
		}
	}
	for ; left > 0; left-- {
		// Prefer the donor whose excess is furthest from being reachable,
		// then the one whose pieces are largest.
		best, bestShort, bestPiece := -1, 0.0, 0.0
		for _, d := range donors {
			if count[d] == 0 || count[d] >= len(ranges[d]) {
				continue
			}
			short := excess[d] - capacity(d, count[d])
			piece := excess[d] / float64(count[d])
			if best < 0 || short > bestShort || (short == bestShort && piece > bestPiece) {
				best, bestShort, bestPiece = d, short, piece
			}
		}
		if best < 0 {
			break
		}
		count[best]++
	}

	for _, d := range donors {
		if count[d] == 0 {
			continue
		}
		pick := ranges[d][:count[d]]
		total := 0.0
		for _, s := range pick {
			total += s.size
		}
		give := min(excess[d], total)
		for _, s := range pick {
			x := give * s.size / total
			out = append(out, place(s.start, s.end, fractionUnits(x, s.start, s.end)))
		}
	}

	// Tokens left over split the new endpoint's largest ranges in half.
	if extra := numTokens - len(out); extra > 0 {
		mine := slices.Clone(out)
		slices.Sort(mine)
		for range extra {
			// The new endpoint's range ending at mine[i] starts at the
			// closest preceding token of the DC ring or of mine.
			bestI, bestStart, bestSize := -1, Token(0), -1.0
			for i, t := range mine {
				start := mine[(i-1+len(mine))%len(mine)]
				j, _ := slices.BinarySearchFunc(dcRing, t, func(v vnode, t Token) int { return cmp.Compare(v.token, t) })
				if p := dcRing[(j-1+len(dcRing))%len(dcRing)].token; start == t || width(p, t) < width(start, t) {
					start = p
				}
				if s := widthFraction(start, t); s > bestSize {
					bestI, bestStart, bestSize = i, start, s
				}
			}
			end := mine[bestI]
			t := place(bestStart, end, width(bestStart, end)/2)
			out = append(out, t)
			mine = append(mine, t)
			slices.Sort(mine)
		}
	}
	slices.Sort(out)
	return out
}

// fractionUnits converts the fraction x of the ring into a token offset in
// [1, size of (start, end] - 1].
func fractionUnits(x float64, start, end Token) uint64 {
	maxUnits := width(start, end) - 1 // leave the donor at least its end token
	if width(start, end) == 0 {
		maxUnits = math.MaxUint64
	}
	if f := x * twoTo64; f < float64(maxUnits) {
		return max(uint64(f), 1)
	}
	return maxUnits
}
