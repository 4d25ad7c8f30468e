package cluster

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sort"

	"github.com/ringdb/ringdb/internal/ring"
	"github.com/ringdb/ringdb/internal/schema"
	"github.com/ringdb/ringdb/internal/storage"
	"github.com/ringdb/ringdb/internal/streaming"
)

// Streamer moves token spans between nodes (the streaming service).
type Streamer interface {
	// Pull pulls transfers from their peers into the local engine.
	Pull(ctx context.Context, desc string, transfers []streaming.Transfer) error
	// Request asks peer to pull transfers (from the sources they name).
	Request(ctx context.Context, peer netip.Addr, desc string, transfers []streaming.Transfer) error
}

// errRangeMovement refuses a bootstrap while another node is joining: two
// nodes moving into the ring at once could each stream from a replica the
// other takes over (Cassandra's cassandra.consistent.rangemovement).
func errRangeMovement(others []netip.Addr) error {
	return fmt.Errorf("other bootstrapping nodes detected (%s): one node may join at a time; retry once it is NORMAL (as Cassandra with cassandra.consistent.rangemovement=true); a node that was killed while joining stays listed as joining (DJ in nodetool status) until it is restarted or removed with nodetool assassinate", formatAddrs(others))
}

// otherPending returns the endpoints other than self that are bootstrapping.
func otherPending(tm *ring.TokenMetadata, self netip.Addr) []netip.Addr {
	return slices.DeleteFunc(tm.PendingEndpointList(), func(a netip.Addr) bool { return a == self })
}

// bootstrapPlan returns the transfers that bring self every range it will
// replicate once NORMAL: for each user keyspace and each of self's pending
// ranges, every table of the keyspace from one current replica of the
// range. The source is a live replica that loses the range to self when
// there is one (it holds every write to it), else any live replica;
// a range with no live replica fails the plan.
func bootstrapPlan(tm *ring.TokenMetadata, sch *schema.Schema, self netip.Addr, alive func(netip.Addr) bool) ([]streaming.Transfer, error) {
	future, err := futureRing(tm, self)
	if err != nil {
		return nil, err
	}
	var out []streaming.Transfer
	for _, name := range sch.KeyspaceNames() {
		ks := sch.Keyspace(name)
		if ks.System || len(ks.Tables) == 0 {
			continue
		}
		strat, err := ring.NewStrategy(ks.Replication, self)
		if err != nil {
			return nil, fmt.Errorf("keyspace %s: %w", name, err)
		}
		tables := sortedTableIDs(ks)
		for _, r := range ring.PendingRanges(strat, tm, self) {
			src, err := rangeSource(strat, tm, future, r, self, alive)
			if err != nil {
				return nil, fmt.Errorf("keyspace %s: %w", name, err)
			}
			for _, id := range tables {
				for _, sp := range streaming.Spans(id, r) {
					out = append(out, streaming.Transfer{Peer: src, Span: sp})
				}
			}
		}
	}
	return out, nil
}

// futureRing is tm with the pending self as a member.
func futureRing(tm *ring.TokenMetadata, self netip.Addr) (*ring.TokenMetadata, error) {
	toks := tm.Tokens(self)
	if len(toks) == 0 {
		return nil, fmt.Errorf("bootstrap: %s is not in the ring as a joining node", self)
	}
	return tm.WithEndpoint(self, toks, tm.DC(self), tm.Rack(self))
}

// rangeSource picks the replica to stream range r from. A range of the
// future ring lies within one range of the current ring, so the current
// replicas of its end token hold all of it.
func rangeSource(strat ring.ReplicationStrategy, tm, future *ring.TokenMetadata, r ring.Range, self netip.Addr, alive func(netip.Addr) bool) (netip.Addr, error) {
	current := strat.NaturalEndpoints(tm, r.End)
	next := strat.NaturalEndpoints(future, r.End)
	var fallback netip.Addr
	for _, ep := range current {
		if ep == self || !alive(ep) {
			continue
		}
		if !slices.Contains(next, ep) {
			return ep, nil // loses the range to self
		}
		if !fallback.IsValid() {
			fallback = ep
		}
	}
	if fallback.IsValid() {
		return fallback, nil
	}
	return netip.Addr{}, fmt.Errorf("no live replica to stream range %v from (replicas %s)", r, formatAddrs(current))
}

func sortedTableIDs(ks *schema.Keyspace) []storage.TableID {
	ids := make([]storage.TableID, 0, len(ks.Tables))
	for _, t := range ks.Tables {
		ids = append(ids, storage.TableID(t.ID))
	}
	sort.Slice(ids, func(i, j int) bool { return string(ids[i][:]) < string(ids[j][:]) })
	return ids
}
