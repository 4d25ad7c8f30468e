package ring

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
)

// ReplicationStrategy places replicas of a keyspace on the ring, as
// Cassandra's AbstractReplicationStrategy. Implementations are immutable and
// safe for concurrent use.
type ReplicationStrategy interface {
	// Name returns the strategy's class name as Cassandra reports it in
	// system_schema.keyspaces.replication, e.g.
	// "org.apache.cassandra.locator.SimpleStrategy".
	Name() string
	// NaturalEndpoints returns the replicas of token t on ring tm, primary
	// replica first, in Cassandra's order. The returned slice may be shared
	// with other callers: it must not be modified (copy it with slices.Clone
	// before sorting it by proximity); appending to it is safe. It is empty
	// for an empty ring.
	NaturalEndpoints(tm *TokenMetadata, t Token) []netip.Addr
	// ReplicationFactor returns the configured replication factor: per
	// datacenter dc for NetworkTopologyStrategy (0 for an unlisted DC), the
	// total for SimpleStrategy and 1 for LocalStrategy (dc is ignored by
	// both). It is the configured value: the replica count is lower when the
	// ring (or the DC) has fewer endpoints.
	ReplicationFactor(dc string) int
}

// Class names accepted by NewStrategy, short or qualified with
// "org.apache.cassandra.locator.".
const (
	SimpleStrategyClass          = "org.apache.cassandra.locator.SimpleStrategy"
	NetworkTopologyStrategyClass = "org.apache.cassandra.locator.NetworkTopologyStrategy"
	LocalStrategyClass           = "org.apache.cassandra.locator.LocalStrategy"
)

const classPrefix = "org.apache.cassandra.locator."

// NewStrategy builds a strategy from a keyspace's replication options, keyed
// as in system_schema.keyspaces.replication and CQL's CREATE KEYSPACE:
//
//	{"class": "SimpleStrategy", "replication_factor": "3"}
//	{"class": "NetworkTopologyStrategy", "dc1": "3", "dc2": "2"}
//	{"class": "LocalStrategy"}
//
// The class may be short or qualified with "org.apache.cassandra.locator.".
// local is this node's address; only LocalStrategy uses it (its only replica
// is the local node), so callers building other strategies may pass the zero
// Addr.
//
// Replication factors are non-negative decimal integers. Rejected, with an
// error naming the option: an unknown class or option, a missing
// replication_factor for SimpleStrategy, transient replication ("3/1"), and
// "replication_factor" in NetworkTopologyStrategy options: Cassandra 4 expands
// it into one entry per known datacenter when the keyspace is created, which
// is the schema layer's job (it knows the datacenters).
func NewStrategy(replication map[string]string, local netip.Addr) (ReplicationStrategy, error) {
	class, ok := replication["class"]
	if !ok {
		return nil, fmt.Errorf("ring: replication option \"class\" is missing")
	}
	short := strings.TrimPrefix(class, classPrefix)
	switch short {
	case "SimpleStrategy":
		var rf int
		seen := false
		for k, v := range replication {
			switch k {
			case "class":
			case "replication_factor":
				n, err := parseRF(k, v)
				if err != nil {
					return nil, err
				}
				rf, seen = n, true
			default:
				return nil, fmt.Errorf("ring: unrecognized strategy option %q passed to SimpleStrategy", k)
			}
		}
		if !seen {
			return nil, fmt.Errorf("ring: SimpleStrategy requires a replication_factor option")
		}
		return NewSimpleStrategy(rf), nil
	case "NetworkTopologyStrategy":
		dcs := make(map[string]int, len(replication))
		for k, v := range replication {
			if k == "class" {
				continue
			}
			if strings.EqualFold(k, "replication_factor") {
				return nil, fmt.Errorf("ring: replication_factor is an option for SimpleStrategy; NetworkTopologyStrategy takes one replication factor per datacenter")
			}
			n, err := parseRF(k, v)
			if err != nil {
				return nil, err
			}
			dcs[k] = n
		}
		return NewNetworkTopologyStrategy(dcs), nil
	case "LocalStrategy":
		for k := range replication {
			if k != "class" {
				return nil, fmt.Errorf("ring: unrecognized strategy option %q passed to LocalStrategy", k)
			}
		}
		return NewLocalStrategy(local), nil
	default:
		return nil, fmt.Errorf("ring: unknown replication strategy class %q", class)
	}
}

func parseRF(key, v string) (int, error) {
	if strings.Contains(v, "/") {
		return 0, fmt.Errorf("ring: replication factor %q for %q: transient replication is not supported", v, key)
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return 0, fmt.Errorf("ring: replication factor %q for %q is not a non-negative integer", v, key)
	}
	return n, nil
}

// replicaCache memoises a strategy's replica lists for one snapshot. Both
// built-in ring strategies place replicas by the token's ring position only
// (the index of the first ring token >= t), so there is one entry per ring
// token, filled on first use.
type replicaCache struct {
	entries []atomic.Pointer[[]netip.Addr]
}

// cacheRef remembers the last snapshot a strategy served, so the common case
// (one current snapshot) costs a pointer comparison instead of a map lookup.
type cacheRef struct {
	tm    *TokenMetadata
	cache *replicaCache
}

// cachedReplicas returns the replicas for ring position idx of tm, computing
// them with compute on a miss. key identifies the strategy's settings; last
// is the strategy's fast-path slot.
func cachedReplicas(last *atomic.Pointer[cacheRef], key string, tm *TokenMetadata, idx int, compute func(*TokenMetadata, int) []netip.Addr) []netip.Addr {
	var c *replicaCache
	if ref := last.Load(); ref != nil && ref.tm == tm {
		c = ref.cache
	} else {
		v, ok := tm.caches.Load(key)
		if !ok {
			v, _ = tm.caches.LoadOrStore(key, &replicaCache{entries: make([]atomic.Pointer[[]netip.Addr], len(tm.ring))})
		}
		c = v.(*replicaCache)
		last.Store(&cacheRef{tm: tm, cache: c})
	}
	if p := c.entries[idx].Load(); p != nil {
		return *p
	}
	r := compute(tm, idx)
	r = slices.Clip(r)
	c.entries[idx].Store(&r)
	return r
}
