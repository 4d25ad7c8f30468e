package ring

import "net/netip"

// LocalStrategy is Cassandra's LocalStrategy, used by the node-local system
// keyspaces: every token's only replica is the local node, whatever the
// ring holds.
type LocalStrategy struct {
	replicas []netip.Addr
}

// NewLocalStrategy returns a LocalStrategy whose replica is local.
func NewLocalStrategy(local netip.Addr) *LocalStrategy {
	return &LocalStrategy{replicas: []netip.Addr{local}}
}

// Name returns "org.apache.cassandra.locator.LocalStrategy".
func (s *LocalStrategy) Name() string { return LocalStrategyClass }

// ReplicationFactor returns 1; dc is ignored.
func (s *LocalStrategy) ReplicationFactor(dc string) int { return 1 }

// NaturalEndpoints returns the local node for every token, even on an empty
// ring. The slice is shared; see ReplicationStrategy.
func (s *LocalStrategy) NaturalEndpoints(tm *TokenMetadata, t Token) []netip.Addr {
	return s.replicas[:1:1]
}
