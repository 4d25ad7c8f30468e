package ring

import (
	"net/netip"
	"slices"
)

// PendingEndpoints returns the endpoints that will become replicas of t
// under strategy s once the ring's movements complete: writes to t must
// also be sent to them (Cassandra's TokenMetadata.pendingEndpointsFor), so
// that no write is lost between the start of their streaming and the end
// of the movement.
//
// As Cassandra's PendingRangeCalculatorService does, each movement is
// considered alone: a bootstrapping endpoint is pending for t when it
// would be a natural replica of t on the current ring plus itself; a
// replacement is pending for t when the endpoint it replaces is a natural
// replica of t; when an
// endpoint leaves, the endpoints that replicate t on the ring without it
// but not on the current ring are pending for t. The result is sorted by
// address and nil when there is no pending endpoint for t. LocalStrategy
// never has pending endpoints.
func PendingEndpoints(s ReplicationStrategy, tm *TokenMetadata, t Token) []netip.Addr {
	if len(tm.pending) == 0 && len(tm.leaving) == 0 && len(tm.replacements) == 0 {
		return nil
	}
	if _, ok := s.(*LocalStrategy); ok {
		return nil
	}
	var out []netip.Addr
	for i := range tm.pending {
		ep := tm.pending[i].addr
		if slices.Contains(s.NaturalEndpoints(tm.futureWith(i), t), ep) {
			out = append(out, ep)
		}
	}
	if len(tm.leaving) > 0 || len(tm.replacements) > 0 {
		current := s.NaturalEndpoints(tm, t)
		for _, r := range tm.replacements {
			if slices.Contains(current, r.replaces) && !slices.Contains(out, r.addr) {
				out = append(out, r.addr)
			}
		}
		for k := range tm.leaving {
			for _, ep := range s.NaturalEndpoints(tm.departureOf(k), t) {
				if !slices.Contains(current, ep) && !slices.Contains(out, ep) {
					out = append(out, ep)
				}
			}
		}
		slices.SortFunc(out, netip.Addr.Compare)
	}
	return out
}

// GainedReplicas returns, for each range of tm (AllRanges), the endpoints
// that replicate it under s on the ring without leaving endpoint ep but do
// not on tm: where a decommissioning or removed endpoint's data must go.
// Ranges that nobody gains are left out; the result is nil when ep is not
// leaving or s is LocalStrategy.
func GainedReplicas(s ReplicationStrategy, tm *TokenMetadata, ep netip.Addr) map[Range][]netip.Addr {
	if _, ok := s.(*LocalStrategy); ok {
		return nil
	}
	k := slices.IndexFunc(tm.leaving, func(i int32) bool { return tm.eps[i].addr == ep })
	if k < 0 {
		return nil
	}
	after := tm.departureOf(k)
	out := map[Range][]netip.Addr{}
	for _, r := range tm.AllRanges() {
		current := s.NaturalEndpoints(tm, r.End)
		for _, e := range s.NaturalEndpoints(after, r.End) {
			if !slices.Contains(current, e) {
				out[r] = append(out[r], e)
			}
		}
	}
	return out
}

// Departure returns the ring without leaving endpoint ep (and without
// pending endpoints), or nil when ep is not leaving.
func (tm *TokenMetadata) Departure(ep netip.Addr) *TokenMetadata {
	k := slices.IndexFunc(tm.leaving, func(i int32) bool { return tm.eps[i].addr == ep })
	if k < 0 {
		return nil
	}
	return tm.departureOf(k)
}

// PendingRanges returns the ranges bootstrapping endpoint ep will replicate
// under strategy s once it joins (what it must stream before becoming
// NORMAL), ordered by end token; nil when ep is not pending. The ranges are
// those of the ring with ep joined, so adjacent ones are not merged. For a
// replacement they are the ranges the replaced endpoint replicates.
func PendingRanges(s ReplicationStrategy, tm *TokenMetadata, ep netip.Addr) []Range {
	if _, ok := s.(*LocalStrategy); ok {
		return nil
	}
	if replaced := tm.Replaces(ep); replaced.IsValid() {
		var out []Range
		for _, r := range tm.AllRanges() {
			if slices.Contains(s.NaturalEndpoints(tm, r.End), replaced) {
				out = append(out, r)
			}
		}
		return out
	}
	i, ok := tm.pendingIndex[ep]
	if !ok {
		return nil
	}
	f := tm.futureWith(int(i))
	var out []Range
	for j, t := range f.ring {
		if slices.Contains(s.NaturalEndpoints(f, t), ep) {
			out = append(out, f.rangeAt(j))
		}
	}
	return out
}
