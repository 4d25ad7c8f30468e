package cluster

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/ringdb/ringdb/internal/gossip"
	"github.com/ringdb/ringdb/internal/ring"
	"github.com/ringdb/ringdb/internal/schema"
	"github.com/ringdb/ringdb/internal/streaming"
)

// replaces reports whether this start replaces a dead node
// (replace_address_first_boot): an address is given and the node has not
// joined yet (no saved tokens, or a replacement that did not complete).
func (c *Cluster) replaces() bool {
	return c.o.ReplaceAddress.IsValid() && (len(c.o.Tokens) == 0 || c.o.BootstrapInterrupted)
}

// replaceTokens learns the ring from the seeds and returns the tokens of
// the node this one replaces, once sure it is dead: it must be a ring
// member that neither this node's failure detector marks alive nor whose
// heartbeat advances during a ring delay. The tokens are saved.
func (c *Cluster) replaceTokens() ([]int64, error) {
	x := c.o.ReplaceAddress
	if x == c.o.Self {
		return nil, errors.New("replace: replacing a node at this node's own address is not supported yet; give the replacement another address")
	}
	tm := c.waitForRing(c.o.JoinTimeout)
	if !tm.IsMember(x) {
		return nil, fmt.Errorf("replace: %s is not a ring member as the seeds tell it (nodetool status on a live node lists the members)", x)
	}
	before := c.gossip.Snapshot()[x].HeartBeat
	delay := c.ringDelay()
	c.log.Info("replace: checking that the node to replace is dead", "replaces", x.String(), "wait", delay)
	if !c.sleep(delay) {
		return nil, errors.New("replace: stopped")
	}
	if after := c.gossip.Snapshot()[x].HeartBeat; c.IsAlive(x) || after.Generation != before.Generation || after.Version != before.Version {
		return nil, fmt.Errorf("replace: %s is alive; a live node cannot be replaced (stop it, or decommission it)", x)
	}
	tokens := c.rebuildRing().Tokens(x)
	if len(tokens) == 0 {
		return nil, fmt.Errorf("replace: %s left the ring", x)
	}
	if c.o.SaveTokens != nil {
		if err := c.o.SaveTokens(tokens); err != nil {
			return nil, err
		}
	}
	return tokens, nil
}

// replace announces BOOT_REPLACE, streams every range the replaced node
// replicates from the other live replicas, and announces the replaced
// node removed; the caller then announces NORMAL with its tokens.
func (c *Cluster) replace() error {
	x := c.o.ReplaceAddress
	if c.o.Streamer == nil {
		return errors.New("replace: this node has no streaming service")
	}
	id, ok := hostIDOf(new(c.gossip.Snapshot()[x]))
	if !ok {
		return fmt.Errorf("replace: %s gossips no host id", x)
	}
	c.gossip.SetLocalState(gossip.AppStatus, gossip.BootReplaceStatus(x.String()))
	c.log.Info("replacing a dead node (BOOT_REPLACE)", "replaces", x.String(), "host_id", formatUUID(id), "tokens", len(c.tokens))
	c.rebuildRing()
	c.sleep(2 * c.interval())
	c.catchUp()
	tm := c.rebuildRing()
	if tm.Replaces(c.o.Self) != x {
		return fmt.Errorf("replace: this node could not take %s's place in the ring (see the log)", x)
	}
	plan, err := replacePlan(tm, c.o.Schema.Current(), c.o.Self, x, c.IsAlive)
	if err != nil {
		return err
	}
	if err := c.saveBootstrapping(true); err != nil {
		return err
	}
	c.log.Info("replace: streaming the replaced node's ranges", "spans", len(plan))
	if err := c.o.Streamer.Pull(c.ctx, "Bootstrap (replace)", plan); err != nil {
		return fmt.Errorf("replace failed (restart the node with the same --replace-address to run it again): %w", err)
	}
	c.announceRemoval(removalEntry{hostID: id, done: true, expire: c.clock.Now().Add(leftExpiry).UnixMilli()})
	c.markRemoved(id, x, c.o.Self)
	if err := c.saveBootstrapping(false); err != nil {
		return err
	}
	c.log.Info("replace: complete", "replaced", x.String(), "spans", len(plan))
	return nil
}

// replacePlan returns the transfers that bring replacement self every
// range the replaced node x replicates, each table of each user keyspace,
// from a live replica other than x; a range with none fails the plan.
func replacePlan(tm *ring.TokenMetadata, sch *schema.Schema, self, x netip.Addr, alive func(netip.Addr) bool) ([]streaming.Transfer, error) {
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
			replicas := strat.NaturalEndpoints(tm, r.End)
			i := slices.IndexFunc(replicas, func(ep netip.Addr) bool { return ep != x && ep != self && alive(ep) })
			if i < 0 {
				return nil, fmt.Errorf("replace: keyspace %s, range (%d, %d]: no live replica other than %s to stream it from (replicas %s); its only copy was on the replaced node", name, r.Start, r.End, x, formatAddrs(replicas))
			}
			for _, id := range tables {
				for _, sp := range streaming.Spans(id, r) {
					out = append(out, streaming.Transfer{Peer: replicas[i], Span: sp})
				}
			}
		}
	}
	return out, nil
}
