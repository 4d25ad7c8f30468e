package ring

import (
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
)

// NetworkTopologyStrategy is Cassandra's NetworkTopologyStrategy: a
// replication factor per datacenter, with the replicas of each datacenter
// spread over as many racks as possible.
//
// Placement follows Cassandra 3.0+ (NetworkTopologyStrategy.
// calculateNaturalReplicas and its DatacenterEndpoints helper) exactly. The
// ring is walked once, clockwise from the first token >= t, for all
// datacenters together; replicas are listed in the order they are accepted.
// For a datacenter with replication factor rf, n endpoints and r racks, at
// most min(rf, n) replicas are taken, and an endpoint of the datacenter not
// yet chosen is accepted when
//
//   - its rack has no replica yet (of this token), or
//   - its rack already has one, and fewer than rf-r such rack repeats have
//     been accepted so far.
//
// So with at least rf racks the replicas sit on rf distinct racks; with
// fewer racks every rack gets one and the remaining rf-r replicas are the
// first repeat endpoints met on the walk, accepted where they are met.
// (Cassandra 2.x instead set repeat endpoints aside until every rack was
// represented and appended them afterwards: same replica set, different
// order. The 3.0+ order is what current drivers and servers compute.)
// Endpoints of datacenters without a replication factor are skipped.
type NetworkTopologyStrategy struct {
	dcs  map[string]int
	key  string
	last atomic.Pointer[cacheRef]
}

// NewNetworkTopologyStrategy returns a NetworkTopologyStrategy with the given
// replication factor per datacenter. The map is copied.
func NewNetworkTopologyStrategy(dcs map[string]int) *NetworkTopologyStrategy {
	s := &NetworkTopologyStrategy{dcs: maps.Clone(dcs)}
	if s.dcs == nil {
		s.dcs = map[string]int{}
	}
	var b strings.Builder
	b.WriteString("NetworkTopologyStrategy")
	for _, dc := range slices.Sorted(maps.Keys(s.dcs)) {
		b.WriteString(":")
		b.WriteString(strconv.Quote(dc))
		b.WriteString("=")
		b.WriteString(strconv.Itoa(s.dcs[dc]))
	}
	s.key = b.String()
	return s
}

// Name returns "org.apache.cassandra.locator.NetworkTopologyStrategy".
func (s *NetworkTopologyStrategy) Name() string { return NetworkTopologyStrategyClass }

// ReplicationFactor returns the replication factor of datacenter dc, 0 when
// dc is not listed.
func (s *NetworkTopologyStrategy) ReplicationFactor(dc string) int { return s.dcs[dc] }

// Datacenters returns a copy of the replication factor per datacenter.
func (s *NetworkTopologyStrategy) Datacenters() map[string]int { return maps.Clone(s.dcs) }

// TotalReplicationFactor returns the sum of the per-datacenter replication
// factors (Cassandra's getReplicationFactor()).
func (s *NetworkTopologyStrategy) TotalReplicationFactor() int {
	total := 0
	for _, rf := range s.dcs {
		total += rf
	}
	return total
}

// NaturalEndpoints returns the replicas of t; see ReplicationStrategy and the
// type's documentation for the order.
func (s *NetworkTopologyStrategy) NaturalEndpoints(tm *TokenMetadata, t Token) []netip.Addr {
	idx := tm.FirstTokenIndex(t)
	if idx < 0 {
		return nil
	}
	return cachedReplicas(&s.last, s.key, tm, idx, s.compute)
}

func (s *NetworkTopologyStrategy) compute(tm *TokenMetadata, idx int) []netip.Addr {
	nDC := len(tm.dcNames)
	rfLeft := make([]int, nDC)            // replicas still wanted per DC
	acceptableRepeats := make([]int, nDC) // rack repeats still allowed per DC
	dcsToFill, total := 0, 0
	for d, name := range tm.dcNames {
		rf := s.dcs[name]
		if rf <= 0 {
			continue
		}
		rfLeft[d] = min(rf, tm.dcNodeCount[d])
		acceptableRepeats[d] = rf - tm.dcRackCount[d]
		total += rfLeft[d]
		dcsToFill++
	}
	out := make([]netip.Addr, 0, total)
	seenRack := make([]bool, tm.numRacks)
	chosen := make([]bool, len(tm.eps))
	n := len(tm.ring)
	for k := 0; k < n && dcsToFill > 0; k++ {
		e := tm.ringOwner[(idx+k)%n]
		ep := &tm.eps[e]
		d := ep.dcIdx
		if rfLeft[d] == 0 || chosen[e] {
			continue
		}
		if !seenRack[ep.rackIdx] {
			seenRack[ep.rackIdx] = true
		} else if acceptableRepeats[d] > 0 {
			acceptableRepeats[d]--
		} else {
			continue
		}
		chosen[e] = true
		out = append(out, ep.addr)
		rfLeft[d]--
		if rfLeft[d] == 0 {
			dcsToFill--
		}
	}
	return out
}
