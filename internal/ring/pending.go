package ring

import (
	"net/netip"
	"slices"
)

// PendingEndpoints returns the bootstrapping endpoints that will become
// replicas of t under strategy s once they join: writes to t must also be
// sent to them (Cassandra's TokenMetadata.pendingEndpointsFor), so that no
// write is lost between the start of their streaming and their NORMAL state.
//
// As Cassandra's PendingRangeCalculatorService does for bootstraps, each
// pending endpoint is considered alone: it is pending for t when it would be
// a natural replica of t on the current ring plus itself. The result is
// sorted by address and nil when there is no pending endpoint for t.
// LocalStrategy never has pending endpoints.
func PendingEndpoints(s ReplicationStrategy, tm *TokenMetadata, t Token) []netip.Addr {
	if len(tm.pending) == 0 {
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
	return out
}

// PendingRanges returns the ranges bootstrapping endpoint ep will replicate
// under strategy s once it joins (what it must stream before becoming
// NORMAL), ordered by end token; nil when ep is not pending. The ranges are
// those of the ring with ep joined, so adjacent ones are not merged.
func PendingRanges(s ReplicationStrategy, tm *TokenMetadata, ep netip.Addr) []Range {
	i, ok := tm.pendingIndex[ep]
	if !ok {
		return nil
	}
	if _, ok := s.(*LocalStrategy); ok {
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
