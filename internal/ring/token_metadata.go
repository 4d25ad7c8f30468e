package ring

import (
	"fmt"
	"net/netip"
	"slices"
	"sync"
)

// Token is a position on the Murmur3Partitioner ring: any int64, ordered as a
// signed integer, with MinToken as the start (and end) of the ring.
type Token = int64

// TokenMetadata is an immutable snapshot of the ring: the NORMAL endpoints
// with their tokens, datacenter and rack, and the pending (BOOT, i.e.
// bootstrapping) endpoints whose tokens are not yet part of the ring. It is
// Cassandra's TokenMetadata plus the snitch's topology, made copy-on-write:
// every With... method returns a new snapshot and leaves the receiver
// untouched, so a snapshot may be read by any number of goroutines without
// locking. The zero value is not usable; start from NewTokenMetadata.
//
// Slices returned by accessors are copies unless stated otherwise.
type TokenMetadata struct {
	ring      []Token // sorted NORMAL tokens
	ringOwner []int32 // ringOwner[i] is the index in eps of the owner of ring[i]

	eps     []endpointInfo // NORMAL endpoints, sorted by address
	epIndex map[netip.Addr]int32

	pending      []endpointInfo // BOOT endpoints, sorted by address
	pendingIndex map[netip.Addr]int32

	dcNames      []string // sorted names of the datacenters of NORMAL endpoints
	dcIndex      map[string]int32
	dcNodeCount  []int // per dcNames index: NORMAL endpoints in the DC
	dcRackCount  []int // per dcNames index: distinct racks of NORMAL endpoints in the DC
	numRacks     int   // distinct (dc, rack) pairs of NORMAL endpoints
	pendingToken map[Token]int32

	// caches holds lazily computed replica lists per strategy (keyed by the
	// strategy's cache key); see replicaCache.
	caches sync.Map

	// futures[i] is built lazily: this ring with pending[i] as NORMAL.
	futures []future
	// leaving are the indexes in eps of the NORMAL endpoints that are
	// leaving the ring (LEAVING, or being removed), by address;
	// departures[k] is built lazily: this ring without leaving[k].
	leaving    []int32
	departures []future
	// replacements are the endpoints bootstrapping in place of a dead
	// NORMAL endpoint (replace_address), by address; their tokens are the
	// replaced endpoint's.
	replacements []endpointInfo
}

type future struct {
	once sync.Once
	tm   *TokenMetadata
}

type endpointInfo struct {
	addr    netip.Addr
	dc      string
	rack    string
	tokens  []Token // sorted
	dcIdx   int32   // index into TokenMetadata.dcNames (NORMAL endpoints only)
	rackIdx int32   // global index of the (dc, rack) pair (NORMAL endpoints only)
	leaving bool    // a NORMAL endpoint leaving the ring
	// replaces is, for a replacement, the NORMAL endpoint it replaces.
	replaces netip.Addr
}

// NewTokenMetadata returns an empty ring: no endpoints, no tokens.
func NewTokenMetadata() *TokenMetadata {
	tm, _ := build(nil, nil)
	return tm
}

// WithEndpoint returns a snapshot in which ep is a NORMAL endpoint of datacenter
// dc and rack rack owning exactly tokens. An existing NORMAL entry for ep is
// replaced; a pending entry for ep is dropped (its bootstrap has completed).
//
// It returns an error, and no snapshot, when ep is not a valid address, tokens
// is empty or holds a duplicate, or a token is already owned by (or pending
// for) another endpoint: Cassandra refuses a node that would take over another
// node's token.
func (tm *TokenMetadata) WithEndpoint(ep netip.Addr, tokens []Token, dc, rack string) (*TokenMetadata, error) {
	info, err := newEndpointInfo(ep, tokens, dc, rack)
	if err != nil {
		return nil, err
	}
	normal := make([]endpointInfo, 0, len(tm.eps)+1)
	for _, e := range tm.eps {
		if e.addr != ep {
			normal = append(normal, e)
		}
	}
	normal = append(normal, info)
	pending := make([]endpointInfo, 0, len(tm.pending))
	for _, e := range tm.pending {
		if e.addr != ep {
			pending = append(pending, e)
		}
	}
	return build(normal, pending)
}

// WithPending returns a snapshot in which ep is a bootstrapping (BOOT)
// endpoint that will own tokens in datacenter dc and rack rack once it joins.
// Its tokens are not part of the ring (SortedTokens, NaturalEndpoints) but
// make it a pending replica (PendingEndpoints, PendingRanges). A previous
// entry for ep, NORMAL or pending, is replaced.
//
// It returns an error on the same conditions as WithEndpoint.
func (tm *TokenMetadata) WithPending(ep netip.Addr, tokens []Token, dc, rack string) (*TokenMetadata, error) {
	info, err := newEndpointInfo(ep, tokens, dc, rack)
	if err != nil {
		return nil, err
	}
	normal := make([]endpointInfo, 0, len(tm.eps))
	for _, e := range tm.eps {
		if e.addr != ep {
			normal = append(normal, e)
		}
	}
	pending := make([]endpointInfo, 0, len(tm.pending)+1)
	for _, e := range tm.pending {
		if e.addr != ep {
			pending = append(pending, e)
		}
	}
	pending = append(pending, info)
	return build(normal, pending)
}

// WithoutEndpoint returns a snapshot without ep, NORMAL or pending (after a
// decommission, removenode or an aborted bootstrap). It returns tm itself
// when ep is unknown.
func (tm *TokenMetadata) WithoutEndpoint(ep netip.Addr) *TokenMetadata {
	_, isNormal := tm.epIndex[ep]
	_, isPending := tm.pendingIndex[ep]
	if !isNormal && !isPending {
		return tm
	}
	normal := make([]endpointInfo, 0, len(tm.eps))
	for _, e := range tm.eps {
		if e.addr != ep {
			normal = append(normal, e)
		}
	}
	pending := make([]endpointInfo, 0, len(tm.pending))
	for _, e := range tm.pending {
		if e.addr != ep {
			pending = append(pending, e)
		}
	}
	out, err := build(normal, pending)
	if err != nil {
		// Removing an endpoint cannot create a collision.
		panic(err)
	}
	return out
}

// WithLeaving returns a snapshot in which NORMAL endpoint ep is leaving
// the ring (LEAVING while it decommissions, or being removed): it stays a
// natural replica of its ranges until it is gone, and the endpoints that
// will replicate them without it are pending for them (PendingEndpoints).
// It returns tm itself when ep is not a NORMAL endpoint or already
// leaving.
func (tm *TokenMetadata) WithLeaving(ep netip.Addr) *TokenMetadata {
	i, ok := tm.epIndex[ep]
	if !ok || tm.eps[i].leaving {
		return tm
	}
	normal := slices.Clone(tm.eps)
	normal[i].leaving = true
	for j := range normal {
		normal[j].tokens = slices.Clone(normal[j].tokens)
	}
	out, err := build(normal, slices.Clone(tm.pending))
	if err != nil {
		panic(err) // same tokens as tm
	}
	out.replacements = slices.Clone(tm.replacements)
	return out
}

// IsLeaving reports whether ep is a NORMAL endpoint leaving the ring.
func (tm *TokenMetadata) IsLeaving(ep netip.Addr) bool {
	i, ok := tm.epIndex[ep]
	return ok && tm.eps[i].leaving
}

// LeavingEndpoints returns the NORMAL endpoints leaving the ring, sorted by
// address.
func (tm *TokenMetadata) LeavingEndpoints() []netip.Addr {
	out := make([]netip.Addr, len(tm.leaving))
	for k, i := range tm.leaving {
		out[k] = tm.eps[i].addr
	}
	return out
}

// AllRanges returns every range of the ring, (previous token, token] for
// each NORMAL token, ordered by end token; nil for an empty ring.
func (tm *TokenMetadata) AllRanges() []Range {
	out := make([]Range, 0, len(tm.ring))
	for i := range tm.ring {
		out = append(out, tm.rangeAt(i))
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func newEndpointInfo(ep netip.Addr, tokens []Token, dc, rack string) (endpointInfo, error) {
	if !ep.IsValid() {
		return endpointInfo{}, fmt.Errorf("ring: invalid endpoint address")
	}
	if len(tokens) == 0 {
		return endpointInfo{}, fmt.Errorf("ring: endpoint %s has no tokens", ep)
	}
	sorted := slices.Clone(tokens)
	slices.Sort(sorted)
	for i := 1; i < len(sorted); i++ {
		if sorted[i] == sorted[i-1] {
			return endpointInfo{}, fmt.Errorf("ring: endpoint %s lists token %d twice", ep, sorted[i])
		}
	}
	return endpointInfo{addr: ep, dc: dc, rack: rack, tokens: sorted}, nil
}

// build assembles a snapshot from complete endpoint lists (which it owns).
func build(normal, pending []endpointInfo) (*TokenMetadata, error) {
	slices.SortFunc(normal, func(a, b endpointInfo) int { return a.addr.Compare(b.addr) })
	slices.SortFunc(pending, func(a, b endpointInfo) int { return a.addr.Compare(b.addr) })
	tm := &TokenMetadata{
		eps:          normal,
		epIndex:      make(map[netip.Addr]int32, len(normal)),
		pending:      pending,
		pendingIndex: make(map[netip.Addr]int32, len(pending)),
		dcIndex:      make(map[string]int32),
		pendingToken: make(map[Token]int32),
		futures:      make([]future, len(pending)),
	}

	// Datacenters and racks of NORMAL endpoints.
	type dcRack struct{ dc, rack string }
	racks := make(map[dcRack]int32)
	for _, e := range normal {
		if _, ok := tm.dcIndex[e.dc]; !ok {
			tm.dcIndex[e.dc] = 0
			tm.dcNames = append(tm.dcNames, e.dc)
		}
	}
	slices.Sort(tm.dcNames)
	for i, name := range tm.dcNames {
		tm.dcIndex[name] = int32(i)
	}
	tm.dcNodeCount = make([]int, len(tm.dcNames))
	tm.dcRackCount = make([]int, len(tm.dcNames))

	total := 0
	owner := make(map[Token]int32)
	for i := range normal {
		e := &normal[i]
		tm.epIndex[e.addr] = int32(i)
		e.dcIdx = tm.dcIndex[e.dc]
		tm.dcNodeCount[e.dcIdx]++
		key := dcRack{e.dc, e.rack}
		r, ok := racks[key]
		if !ok {
			r = int32(len(racks))
			racks[key] = r
			tm.dcRackCount[e.dcIdx]++
		}
		e.rackIdx = r
		for _, t := range e.tokens {
			if o, dup := owner[t]; dup {
				return nil, fmt.Errorf("ring: token %d of %s is already owned by %s", t, e.addr, normal[o].addr)
			}
			owner[t] = int32(i)
		}
		total += len(e.tokens)
	}
	tm.numRacks = len(racks)
	for i := range normal {
		if normal[i].leaving {
			tm.leaving = append(tm.leaving, int32(i))
		}
	}
	tm.departures = make([]future, len(tm.leaving))
	for i := range pending {
		e := &pending[i]
		tm.pendingIndex[e.addr] = int32(i)
		e.dcIdx, e.rackIdx = -1, -1
		for _, t := range e.tokens {
			if o, dup := owner[t]; dup {
				return nil, fmt.Errorf("ring: token %d of %s is already owned by %s", t, e.addr, normal[o].addr)
			}
			if o, dup := tm.pendingToken[t]; dup {
				return nil, fmt.Errorf("ring: token %d of %s is already pending for %s", t, e.addr, pending[o].addr)
			}
			tm.pendingToken[t] = int32(i)
		}
	}

	tm.ring = make([]Token, 0, total)
	for t := range owner {
		tm.ring = append(tm.ring, t)
	}
	slices.Sort(tm.ring)
	tm.ringOwner = make([]int32, len(tm.ring))
	for i, t := range tm.ring {
		tm.ringOwner[i] = owner[t]
	}
	return tm, nil
}

// SortedTokens returns the NORMAL tokens of the ring in ascending order.
func (tm *TokenMetadata) SortedTokens() []Token { return slices.Clone(tm.ring) }

// RingSize returns the number of NORMAL tokens on the ring.
func (tm *TokenMetadata) RingSize() int { return len(tm.ring) }

// TokenAt returns the i-th smallest NORMAL token (0 <= i < RingSize), for
// iterating the ring without copying it.
func (tm *TokenMetadata) TokenAt(i int) Token { return tm.ring[i] }

// OwnerAt returns the endpoint owning TokenAt(i).
func (tm *TokenMetadata) OwnerAt(i int) netip.Addr { return tm.eps[tm.ringOwner[i]].addr }

// FirstTokenIndex returns the index in SortedTokens of the first ring token
// >= t, wrapping to 0 when t is greater than every token (Cassandra's
// TokenMetadata.firstTokenIndex). The ring token at that index ends the range
// (start, end] that contains t. It returns -1 for an empty ring.
func (tm *TokenMetadata) FirstTokenIndex(t Token) int {
	if len(tm.ring) == 0 {
		return -1
	}
	i, _ := slices.BinarySearch(tm.ring, t)
	if i == len(tm.ring) {
		return 0
	}
	return i
}

// TokenOwner returns the NORMAL endpoint owning exactly token t (Cassandra's
// TokenMetadata.getEndpoint), or the zero Addr when t is not a ring token.
// For the endpoint whose range contains t, use PrimaryEndpoint.
func (tm *TokenMetadata) TokenOwner(t Token) netip.Addr {
	i, ok := slices.BinarySearch(tm.ring, t)
	if !ok {
		return netip.Addr{}
	}
	return tm.eps[tm.ringOwner[i]].addr
}

// PrimaryEndpoint returns the endpoint whose primary range contains t: the
// owner of the first ring token >= t, wrapping. It returns the zero Addr for
// an empty ring.
func (tm *TokenMetadata) PrimaryEndpoint(t Token) netip.Addr {
	i := tm.FirstTokenIndex(t)
	if i < 0 {
		return netip.Addr{}
	}
	return tm.eps[tm.ringOwner[i]].addr
}

// Endpoints returns the NORMAL endpoints, sorted by address.
func (tm *TokenMetadata) Endpoints() []netip.Addr {
	out := make([]netip.Addr, len(tm.eps))
	for i, e := range tm.eps {
		out[i] = e.addr
	}
	return out
}

// PendingEndpointList returns the bootstrapping (BOOT) endpoints and the
// replacements, sorted by address.
func (tm *TokenMetadata) PendingEndpointList() []netip.Addr {
	out := make([]netip.Addr, 0, len(tm.pending)+len(tm.replacements))
	for _, e := range tm.pending {
		out = append(out, e.addr)
	}
	for _, e := range tm.replacements {
		out = append(out, e.addr)
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return out
}

// IsMember reports whether ep is a NORMAL endpoint.
func (tm *TokenMetadata) IsMember(ep netip.Addr) bool {
	_, ok := tm.epIndex[ep]
	return ok
}

// IsPending reports whether ep is a bootstrapping (BOOT) endpoint, or
// one replacing a dead endpoint.
func (tm *TokenMetadata) IsPending(ep netip.Addr) bool {
	_, ok := tm.pendingIndex[ep]
	return ok || tm.Replaces(ep).IsValid()
}

// Replaces returns the NORMAL endpoint that replacement ep replaces, or
// the zero Addr when ep is not a replacement.
func (tm *TokenMetadata) Replaces(ep netip.Addr) netip.Addr {
	for _, r := range tm.replacements {
		if r.addr == ep {
			return r.replaces
		}
	}
	return netip.Addr{}
}

// WithReplacing returns a snapshot in which ep bootstraps in place of the
// NORMAL endpoint replaced (Cassandra's replace_address): ep takes the
// replaced endpoint's tokens once it is NORMAL; until then it is a
// pending replica of every range the replaced endpoint replicates
// (PendingEndpoints, PendingRanges) and the replaced endpoint stays in
// the ring. It returns an error when replaced is not a NORMAL endpoint, ep
// is one, or either already takes part in a replacement. WithEndpoint,
// WithPending and WithoutEndpoint drop replacements (WithLeaving keeps
// them): add replacements last.
func (tm *TokenMetadata) WithReplacing(ep, replaced netip.Addr, dc, rack string) (*TokenMetadata, error) {
	i, ok := tm.epIndex[replaced]
	switch {
	case !ep.IsValid() || ep == replaced:
		return nil, fmt.Errorf("ring: %s cannot replace %s", ep, replaced)
	case !ok:
		return nil, fmt.Errorf("ring: %s replaces %s, which is not a ring member", ep, replaced)
	case tm.IsMember(ep) || tm.IsPending(ep):
		return nil, fmt.Errorf("ring: %s is already in the ring", ep)
	}
	for _, r := range tm.replacements {
		if r.replaces == replaced {
			return nil, fmt.Errorf("ring: %s is already being replaced by %s", replaced, r.addr)
		}
	}
	out, err := build(slices.Clone(tm.eps), slices.Clone(tm.pending))
	if err != nil {
		return nil, err
	}
	out.replacements = append(slices.Clone(tm.replacements), endpointInfo{addr: ep, dc: dc, rack: rack,
		tokens: slices.Clone(tm.eps[i].tokens), replaces: replaced, dcIdx: -1, rackIdx: -1})
	slices.SortFunc(out.replacements, func(a, b endpointInfo) int { return a.addr.Compare(b.addr) })
	return out, nil
}

func (tm *TokenMetadata) info(ep netip.Addr) *endpointInfo {
	if i, ok := tm.epIndex[ep]; ok {
		return &tm.eps[i]
	}
	if i, ok := tm.pendingIndex[ep]; ok {
		return &tm.pending[i]
	}
	for i := range tm.replacements {
		if tm.replacements[i].addr == ep {
			return &tm.replacements[i]
		}
	}
	return nil
}

// Tokens returns the sorted tokens of ep, NORMAL or pending, or nil when ep
// is unknown.
func (tm *TokenMetadata) Tokens(ep netip.Addr) []Token {
	if e := tm.info(ep); e != nil {
		return slices.Clone(e.tokens)
	}
	return nil
}

// DC returns the datacenter of ep (NORMAL or pending), or "" when unknown.
func (tm *TokenMetadata) DC(ep netip.Addr) string {
	if e := tm.info(ep); e != nil {
		return e.dc
	}
	return ""
}

// Rack returns the rack of ep (NORMAL or pending), or "" when unknown.
func (tm *TokenMetadata) Rack(ep netip.Addr) string {
	if e := tm.info(ep); e != nil {
		return e.rack
	}
	return ""
}

// DCs returns the NORMAL endpoints of each datacenter, each list sorted by
// address.
func (tm *TokenMetadata) DCs() map[string][]netip.Addr {
	out := make(map[string][]netip.Addr, len(tm.dcNames))
	for _, e := range tm.eps {
		out[e.dc] = append(out[e.dc], e.addr)
	}
	return out
}

// Ranges returns the ranges for which ep is the primary owner: for each of
// its NORMAL tokens t, (predecessor of t, t]. A single-token ring yields the
// whole ring as (t, t]. The result is ordered by end token; it is nil when
// ep is not a NORMAL endpoint.
func (tm *TokenMetadata) Ranges(ep netip.Addr) []Range {
	idx, ok := tm.epIndex[ep]
	if !ok {
		return nil
	}
	var out []Range
	for i, o := range tm.ringOwner {
		if o == idx {
			out = append(out, tm.rangeAt(i))
		}
	}
	return out
}

// rangeAt returns the range ending at ring[i].
func (tm *TokenMetadata) rangeAt(i int) Range {
	prev := i - 1
	if prev < 0 {
		prev = len(tm.ring) - 1
	}
	return Range{Start: tm.ring[prev], End: tm.ring[i]}
}

// departureOf returns the ring without leaving endpoint k (the k-th of
// tm.leaving), and no pending endpoint, built once per snapshot.
func (tm *TokenMetadata) departureOf(k int) *TokenMetadata {
	f := &tm.departures[k]
	f.once.Do(func() {
		gone := tm.leaving[k]
		normal := make([]endpointInfo, 0, len(tm.eps))
		for i, e := range tm.eps {
			if int32(i) != gone {
				e.leaving = false
				normal = append(normal, e)
			}
		}
		out, err := build(normal, nil)
		if err != nil {
			panic(err) // removing an endpoint cannot create a collision
		}
		f.tm = out
	})
	return f.tm
}

// futureWith returns the ring with pending endpoint i joined as NORMAL (and
// no other pending endpoint), built once per snapshot.
func (tm *TokenMetadata) futureWith(i int) *TokenMetadata {
	f := &tm.futures[i]
	f.once.Do(func() {
		p := tm.pending[i]
		normal := make([]endpointInfo, 0, len(tm.eps)+1)
		normal = append(normal, tm.eps...)
		normal = append(normal, endpointInfo{addr: p.addr, dc: p.dc, rack: p.rack, tokens: p.tokens})
		out, err := build(normal, nil)
		if err != nil {
			// Collisions between pending and NORMAL tokens are refused when
			// the pending endpoint is added.
			panic(err)
		}
		f.tm = out
	})
	return f.tm
}
