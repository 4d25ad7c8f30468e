package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/ringdb/ringdb/internal/gossip"
	"github.com/ringdb/ringdb/internal/pki"
	"github.com/ringdb/ringdb/internal/ring"
	"github.com/ringdb/ringdb/internal/schema"
	"github.com/ringdb/ringdb/internal/streaming"
)

// leftExpiry is how long the cluster keeps a departed node's LEFT state
// in gossip (Cassandra's 3 days), so that nodes down during the departure
// learn of it when they return.
const leftExpiry = 72 * time.Hour

// ErrDecommissioned is returned by Start on a node that was decommissioned:
// it left the ring and does not join it again with the same data.
var ErrDecommissioned = errors.New("this node was decommissioned and will not rejoin the ring; to add the machine again, remove (or move away) its data directory and join it as a new node")

// Decommission takes this node out of the ring (nodetool decommission):
// it announces LEAVING, waits for the cluster to route writes for its
// ranges to their future replicas too, streams every range it replicates
// to the endpoints that replicate it once it is gone, then announces LEFT.
// report receives progress lines. On success the node no longer owns
// anything: the caller stops it. On failure before LEFT the node goes back
// to NORMAL and the error says why (it can be run again).
func (c *Cluster) Decommission(ctx context.Context, report func(string)) error {
	c.opMu.Lock()
	defer c.opMu.Unlock()
	tm := c.rebuildRing()
	if err := c.checkDecommission(tm); err != nil {
		return err
	}
	report(fmt.Sprintf("DECOMMISSIONING: announcing LEAVING (%d tokens)", len(c.tokens)))
	c.log.Info("decommission: LEAVING")
	c.gossip.SetLocalState(gossip.AppStatus, gossip.LeavingStatus(c.tokens[0]))
	c.rebuildRing()
	delay := c.ringDelay()
	report(fmt.Sprintf("waiting %v for every node to see this node LEAVING and write to the new replicas too", delay))
	if !c.sleepCtx(ctx, delay) {
		return c.abortLeave(errors.New("decommission: stopped while waiting for the ring"))
	}
	tm = c.rebuildRing()
	plan, err := unbootstrapPlan(tm, c.o.Schema.Current(), c.o.Self)
	if err != nil {
		return c.abortLeave(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(c.ctx, cancel) // the member stops
	defer stop()
	if err := c.streamPlan(ctx, "Unbootstrap", plan, report, func(netip.Addr) {}); err != nil {
		return c.abortLeave(fmt.Errorf("decommission failed, the node stays in the ring (run decommission again): %w", err))
	}
	return c.announceLeft(report)
}

// checkDecommission refuses a decommission the ring cannot take: this
// node must be a NORMAL member, no other node may be joining or leaving
// while the cluster holds tables, and every keyspace must keep its
// replication factor without this node.
func (c *Cluster) checkDecommission(tm *ring.TokenMetadata) error {
	self := c.o.Self
	switch {
	case c.o.Streamer == nil:
		return errors.New("decommission: this node has no streaming service")
	case c.left.Load():
		return errors.New("decommission: this node already left the ring")
	case !tm.IsMember(self):
		return errors.New("decommission: this node is not a NORMAL ring member")
	case tm.IsLeaving(self):
		return errors.New("decommission: this node is already leaving")
	}
	others := slices.Concat(otherPending(tm, self), slices.DeleteFunc(tm.LeavingEndpoints(), func(a netip.Addr) bool { return a == self }))
	if len(others) > 0 && c.hasUserTables() {
		return fmt.Errorf("decommission: other nodes are joining or leaving (%s): one range movement at a time (as Cassandra with cassandra.consistent.rangemovement=true)", formatAddrs(others))
	}
	return keepsReplication(tm.WithLeaving(self), c.o.Schema.Current(), self)
}

// keepsReplication refuses the departure of leaving endpoint ep from tm
// when a keyspace would have fewer replicas without it (Cassandra: "Not
// enough live nodes to maintain replication factor").
func keepsReplication(tm *ring.TokenMetadata, sch *schema.Schema, ep netip.Addr) error {
	after := tm.Departure(ep)
	if after == nil || after.RingSize() == 0 {
		return errors.New("decommission: this is the last node of the ring")
	}
	for _, name := range sch.KeyspaceNames() {
		ks := sch.Keyspace(name)
		if ks.System {
			continue
		}
		strat, err := ring.NewStrategy(ks.Replication, ep)
		if err != nil {
			return fmt.Errorf("keyspace %s: %w", name, err)
		}
		for _, r := range tm.AllRanges() {
			now, later := len(strat.NaturalEndpoints(tm, r.End)), len(strat.NaturalEndpoints(after, r.End))
			if later < now {
				return fmt.Errorf("decommission: not enough nodes to keep the replication factor of keyspace %s without this node (%d replicas now, %d after); add a node or lower the replication factor first", name, now, later)
			}
		}
	}
	return nil
}

// unbootstrapPlan returns, per receiving endpoint, the transfers that give
// the replicas a leaving self leaves behind every range they gain: each
// table of each user keyspace, streamed from self.
func unbootstrapPlan(tm *ring.TokenMetadata, sch *schema.Schema, self netip.Addr) (map[netip.Addr][]streaming.Transfer, error) {
	out := map[netip.Addr][]streaming.Transfer{}
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
		gained := ring.GainedReplicas(strat, tm, self)
		for _, r := range tm.AllRanges() {
			if !slices.Contains(strat.NaturalEndpoints(tm, r.End), self) {
				continue // self holds no data of r to hand over
			}
			for _, to := range gained[r] {
				for _, id := range tables {
					for _, sp := range streaming.Spans(id, r) {
						out[to] = append(out[to], streaming.Transfer{Peer: self, Span: sp})
					}
				}
			}
		}
	}
	return out, nil
}

// abortLeave announces NORMAL again after a failed decommission.
func (c *Cluster) abortLeave(err error) error {
	c.gossip.SetLocalState(gossip.AppStatus, gossip.NormalStatus(c.tokens[0]))
	c.rebuildRing()
	c.log.Warn("decommission failed: NORMAL again", "err", err)
	return err
}

// announceLeft persists the departure, announces LEFT and gives gossip a
// few rounds to spread it.
func (c *Cluster) announceLeft(report func(string)) error {
	if c.o.SaveDecommissioned != nil {
		if err := c.o.SaveDecommissioned(); err != nil {
			return c.abortLeave(fmt.Errorf("decommission: save state: %w", err))
		}
	}
	c.left.Store(true)
	expire := c.clock.Now().Add(leftExpiry).UnixMilli()
	c.gossip.SetLocalState(gossip.AppStatus, gossip.LeftStatus(c.tokens[0], expire))
	c.rebuildRing()
	if c.o.Audit != nil {
		c.record(pki.AuditEvent{Kind: pki.AuditLeave, Peer: c.o.Self.String(), HostID: formatUUID(c.o.HostID), Outcome: "left", Reason: "decommissioned: ranges streamed to their new replicas"})
	}
	report("LEFT: announcing the departure to the cluster")
	c.sleep(2 * c.interval())
	c.log.Info("decommission: LEFT")
	report("DECOMMISSIONED")
	return nil
}

// ringDelay is how long a range movement waits after announcing itself
// for every node to see it (Cassandra's RING_DELAY): a few gossip rounds.
func (c *Cluster) ringDelay() time.Duration {
	if c.o.RingDelay > 0 {
		return c.o.RingDelay
	}
	return 5 * c.interval()
}

// sleepCtx waits d on the member's clock; false if ctx ended or the
// member stopped first.
func (c *Cluster) sleepCtx(ctx context.Context, d time.Duration) bool {
	fired := make(chan struct{})
	stop := c.clock.AfterFunc(d, func() { close(fired) })
	defer stop()
	select {
	case <-fired:
		return true
	case <-ctx.Done():
		return false
	case <-c.stop:
		return false
	}
}
