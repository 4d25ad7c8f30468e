package ring

import "net/netip"

// Ownership returns, for every NORMAL endpoint, the fraction of the ring it
// holds, as the "Owns" column of nodetool status.
//
// With a nil strategy it is primary ownership: the size of the ranges each
// endpoint's tokens end (the values sum to 1). With a strategy it is
// effective ownership: the size of the ranges each endpoint replicates under
// that strategy (nodetool status KEYSPACE). The values then sum to the number
// of replicas per token: min(RF, endpoints) for SimpleStrategy, and for
// NetworkTopologyStrategy min(RF(dc), endpoints in dc) summed over the
// datacenters, each DC's endpoints summing to their DC's share.
//
// An empty ring yields an empty map.
func Ownership(tm *TokenMetadata, s ReplicationStrategy) map[netip.Addr]float64 {
	out := make(map[netip.Addr]float64, len(tm.eps))
	for _, e := range tm.eps {
		out[e.addr] = 0
	}
	for i, t := range tm.ring {
		w := tm.rangeAt(i).Size()
		if s == nil {
			out[tm.eps[tm.ringOwner[i]].addr] += w
			continue
		}
		for _, ep := range s.NaturalEndpoints(tm, t) {
			out[ep] += w
		}
	}
	return out
}
