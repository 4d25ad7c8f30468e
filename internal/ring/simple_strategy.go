package ring

import (
	"net/netip"
	"strconv"
	"sync/atomic"
)

// SimpleStrategy is Cassandra's SimpleStrategy: the replicas of a token are
// the first ReplicationFactor distinct endpoints met walking the ring
// clockwise from the first token >= t, wrapping, ignoring datacenters and
// racks. With fewer endpoints than the replication factor, every endpoint is
// a replica.
type SimpleStrategy struct {
	rf   int
	key  string
	last atomic.Pointer[cacheRef]
}

// NewSimpleStrategy returns a SimpleStrategy with replication factor rf
// (rf <= 0 places no replica).
func NewSimpleStrategy(rf int) *SimpleStrategy {
	return &SimpleStrategy{rf: rf, key: "SimpleStrategy:" + strconv.Itoa(rf)}
}

// Name returns "org.apache.cassandra.locator.SimpleStrategy".
func (s *SimpleStrategy) Name() string { return SimpleStrategyClass }

// ReplicationFactor returns the replication factor; dc is ignored.
func (s *SimpleStrategy) ReplicationFactor(dc string) int { return s.rf }

// NaturalEndpoints returns the replicas of t; see ReplicationStrategy.
func (s *SimpleStrategy) NaturalEndpoints(tm *TokenMetadata, t Token) []netip.Addr {
	idx := tm.FirstTokenIndex(t)
	if idx < 0 || s.rf <= 0 {
		return nil
	}
	return cachedReplicas(&s.last, s.key, tm, idx, s.compute)
}

func (s *SimpleStrategy) compute(tm *TokenMetadata, idx int) []netip.Addr {
	want := min(s.rf, len(tm.eps))
	out := make([]netip.Addr, 0, want)
	seen := make([]bool, len(tm.eps))
	n := len(tm.ring)
	for k := 0; k < n && len(out) < want; k++ {
		e := tm.ringOwner[(idx+k)%n]
		if seen[e] {
			continue
		}
		seen[e] = true
		out = append(out, tm.eps[e].addr)
	}
	return out
}
