package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ringdb/ringdb/internal/gossip"
	"github.com/ringdb/ringdb/internal/pki"
	"github.com/ringdb/ringdb/internal/ring"
	"github.com/ringdb/ringdb/internal/schema"
	"github.com/ringdb/ringdb/internal/streaming"
)

// maxRemovalEntries bounds the entries of one node's REMOVALS state, and
// of what is read from a peer's.
const maxRemovalEntries = 16

// removalEntry is one removal a node announces on its REMOVALS state.
type removalEntry struct {
	hostID [16]byte
	done   bool  // removed (else removing: re-replication under way)
	expire int64 // for done: when the entry may be dropped, ms since the epoch
}

func (e removalEntry) String() string {
	if e.done {
		return gossip.RemovedStatus(formatUUID(e.hostID), e.expire)
	}
	return gossip.RemovingStatus(formatUUID(e.hostID))
}

// parseRemovals decodes a REMOVALS value, skipping malformed entries and
// keeping at most maxRemovalEntries.
func parseRemovals(v string) []removalEntry {
	if v == "" {
		return nil
	}
	var out []removalEntry
	for _, part := range strings.SplitN(v, ";", maxRemovalEntries+1) {
		st, err := gossip.ParseStatus(part)
		if err != nil || (st.Kind != gossip.StatusRemoving && st.Kind != gossip.StatusRemoved) {
			continue
		}
		id, ok := parseUUID(st.HostID)
		if !ok {
			continue
		}
		out = append(out, removalEntry{hostID: id, done: st.Kind == gossip.StatusRemoved, expire: st.ExpireTime})
		if len(out) == maxRemovalEntries {
			break
		}
	}
	return out
}

func formatRemovals(es []removalEntry) string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.String()
	}
	return strings.Join(parts, ";")
}

// removalJob is the removal this node coordinates.
type removalJob struct {
	hostID    [16]byte
	ep        netip.Addr
	tokens    int
	started   time.Time
	forced    atomic.Bool
	cancel    context.CancelFunc
	mu        sync.Mutex
	receivers []netip.Addr // still streaming
}

func (j *removalJob) waitingFor() []netip.Addr {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.receivers)
}

func (j *removalJob) confirmed(ep netip.Addr) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.receivers = slices.DeleteFunc(j.receivers, func(a netip.Addr) bool { return a == ep })
}

// RemoveNode removes the dead node with host id id from the ring
// (nodetool removenode): it announces the removal on this node's own
// gossip state (the cluster treats the node as leaving: writes for its
// ranges also go to the replicas that gain them), has every gaining
// replica stream the ranges it gains from a surviving replica, then
// announces the node removed. With stream false (nodetool assassinate)
// it announces the removal at once, without re-replicating. The node must
// be down: every member refuses to remove a node it sees alive.
func (c *Cluster) RemoveNode(ctx context.Context, id [16]byte, stream bool, report func(string)) error {
	c.opMu.Lock()
	defer c.opMu.Unlock()
	ep, tm, err := c.checkRemoval(id)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(c.ctx, cancel)
	defer stop()
	job := &removalJob{hostID: id, ep: ep, tokens: len(tm.Tokens(ep)), started: c.clock.Now(), cancel: cancel}
	c.setRemovalJob(job)
	defer c.setRemovalJob(nil)

	report(fmt.Sprintf("removing %s (host id %s, %d tokens)", ep, formatUUID(id), job.tokens))
	c.log.Info("removenode: removing", "endpoint", ep.String(), "host_id", formatUUID(id))
	c.announceRemoval(removalEntry{hostID: id})
	if stream {
		if err := c.reReplicate(ctx, job, tm, report); err != nil {
			if !job.forced.Load() {
				c.withdrawRemoval(id)
				return err
			}
			report("forced: completing the removal without waiting for the streams")
		}
	}
	c.announceRemoval(removalEntry{hostID: id, done: true, expire: c.clock.Now().Add(leftExpiry).UnixMilli()})
	c.markRemoved(id, ep, c.o.Self)
	report(fmt.Sprintf("removed %s (host id %s) from the ring", ep, formatUUID(id)))
	return nil
}

// checkRemoval finds the endpoint of host id id and returns it with the
// ring that includes it (as leaving), or why it cannot be removed.
func (c *Cluster) checkRemoval(id [16]byte) (netip.Addr, *ring.TokenMetadata, error) {
	if id == c.o.HostID {
		return netip.Addr{}, nil, errors.New("removenode: cannot remove this node itself; use decommission")
	}
	if c.o.Streamer == nil {
		return netip.Addr{}, nil, errors.New("removenode: this node has no streaming service")
	}
	ep, st, ok := c.endpointByHostID(id)
	if !ok {
		return netip.Addr{}, nil, fmt.Errorf("removenode: host id %s is not known to this node", formatUUID(id))
	}
	if c.IsAlive(ep) {
		return netip.Addr{}, nil, fmt.Errorf("removenode: %s (host id %s) is alive: removenode is for dead nodes; decommission a live node instead", ep, formatUUID(id))
	}
	tm := c.removalRing(ep, st)
	if !tm.IsMember(ep) {
		return netip.Addr{}, nil, fmt.Errorf("removenode: %s (host id %s) is not a ring member", ep, formatUUID(id))
	}
	others := slices.Concat(otherPending(tm, c.o.Self), slices.DeleteFunc(tm.LeavingEndpoints(), func(a netip.Addr) bool { return a == ep }))
	if len(others) > 0 && c.hasUserTables() {
		return netip.Addr{}, nil, fmt.Errorf("removenode: other nodes are joining or leaving (%s): one range movement at a time", formatAddrs(others))
	}
	return ep, tm, nil
}

// endpointByHostID finds the endpoint gossiping host id id, or a revoked
// endpoint that did (gossip forgot those), with its last state.
func (c *Cluster) endpointByHostID(id [16]byte) (netip.Addr, gossip.EndpointState, bool) {
	snap := c.gossip.Snapshot()
	c.revokedStates(snap)
	for _, ep := range sortedEndpoints(snap) {
		st := snap[ep]
		if h, ok := hostIDOf(&st); ok && h == id {
			return ep, st, true
		}
	}
	return netip.Addr{}, gossip.EndpointState{}, false
}

// removalRing is the ring with ep (whose last state is st) in it as a
// leaving member, even if it was left out for a revoked certificate: the
// ring whose departure the removal completes.
func (c *Cluster) removalRing(ep netip.Addr, st gossip.EndpointState) *ring.TokenMetadata {
	tm := c.rebuildRing()
	if !tm.IsMember(ep) {
		if toks, ok := ringTokens(&st); ok {
			dc, _ := st.Get(gossip.AppDC)
			rack, _ := st.Get(gossip.AppRack)
			if next, err := tm.WithEndpoint(ep, toks, dc, rack); err == nil {
				tm = next
			}
		}
	}
	return tm.WithLeaving(ep)
}

// reReplicate waits a ring delay, then has every replica that gains a
// range of the removed endpoint stream it from a surviving replica.
func (c *Cluster) reReplicate(ctx context.Context, job *removalJob, tm *ring.TokenMetadata, report func(string)) error {
	delay := c.ringDelay()
	report(fmt.Sprintf("waiting %v for every node to see the removal", delay))
	if !c.sleepCtx(ctx, delay) {
		return errors.New("removenode: stopped while waiting for the ring")
	}
	plan, lost, err := removalPlan(tm, c.o.Schema.Current(), job.ep, c.IsAlive)
	if err != nil {
		return err
	}
	for _, l := range lost {
		report("WARNING: " + l)
		c.log.Warn("removenode: " + l)
	}
	job.mu.Lock()
	for ep := range plan {
		job.receivers = append(job.receivers, ep)
	}
	slices.SortFunc(job.receivers, netip.Addr.Compare)
	job.mu.Unlock()
	return c.streamPlan(ctx, "Removenode", plan, report, job.confirmed)
}

// removalPlan returns, per gaining replica, the transfers that bring it
// the ranges it gains from the departure of ep, each from a live
// surviving replica of the range, and a line per range that has none
// (its data is lost unless ep's disks are restored).
func removalPlan(tm *ring.TokenMetadata, sch *schema.Schema, ep netip.Addr, alive func(netip.Addr) bool) (map[netip.Addr][]streaming.Transfer, []string, error) {
	out := map[netip.Addr][]streaming.Transfer{}
	var lost []string
	for _, name := range sch.KeyspaceNames() {
		ks := sch.Keyspace(name)
		if ks.System || len(ks.Tables) == 0 {
			continue
		}
		strat, err := ring.NewStrategy(ks.Replication, ep)
		if err != nil {
			return nil, nil, fmt.Errorf("keyspace %s: %w", name, err)
		}
		tables := sortedTableIDs(ks)
		gained := ring.GainedReplicas(strat, tm, ep)
		for _, r := range tm.AllRanges() {
			for _, to := range gained[r] {
				src, ok := survivingSource(strat.NaturalEndpoints(tm, r.End), ep, to, alive)
				if !ok {
					lost = append(lost, fmt.Sprintf("keyspace %s, range (%d, %d]: no live replica other than the removed node holds it; its data there is lost", name, r.Start, r.End))
					continue
				}
				for _, id := range tables {
					for _, sp := range streaming.Spans(id, r) {
						out[to] = append(out[to], streaming.Transfer{Peer: src, Span: sp})
					}
				}
			}
		}
	}
	return out, lost, nil
}

// survivingSource picks a live replica of a range other than the removed
// endpoint and the receiver.
func survivingSource(replicas []netip.Addr, removed, to netip.Addr, alive func(netip.Addr) bool) (netip.Addr, bool) {
	for _, ep := range replicas {
		if ep != removed && ep != to && alive(ep) {
			return ep, true
		}
	}
	return netip.Addr{}, false
}

// streamPlan has every receiver of plan pull its transfers (this node
// pulls its own directly), all receivers at once; done is told of each
// receiver that completed.
func (c *Cluster) streamPlan(ctx context.Context, desc string, plan map[netip.Addr][]streaming.Transfer, report func(string), done func(netip.Addr)) error {
	if len(plan) == 0 {
		report("no range to stream")
		return nil
	}
	receivers := make([]netip.Addr, 0, len(plan))
	spans := 0
	for ep, ts := range plan {
		receivers = append(receivers, ep)
		spans += len(ts)
	}
	slices.SortFunc(receivers, netip.Addr.Compare)
	report(fmt.Sprintf("streaming %d spans to %d nodes (%s)", spans, len(receivers), formatAddrs(receivers)))
	errs := make([]error, len(receivers))
	var wg sync.WaitGroup
	var finished atomic.Int64
	stopProgress := c.progressLines(desc, len(receivers), &finished, report)
	defer stopProgress()
	for i, ep := range receivers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := c.clock.Now()
			if ep == c.o.Self {
				errs[i] = c.o.Streamer.Pull(ctx, desc, plan[ep])
			} else {
				errs[i] = c.o.Streamer.Request(ctx, ep, desc, plan[ep])
			}
			finished.Add(1)
			if errs[i] == nil {
				done(ep)
				report(fmt.Sprintf("stream to %s complete: %d spans in %v", ep, len(plan[ep]), c.clock.Now().Sub(start).Round(time.Millisecond)))
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%s: streaming failed (run it again): %w", strings.ToLower(desc), err)
	}
	return nil
}

// progressInterval is how often a range movement reports its progress.
const progressInterval = 10 * time.Second

// progressLines reports, every progressInterval until the returned stop
// is called, how many of total receivers have finished.
func (c *Cluster) progressLines(desc string, total int, finished *atomic.Int64, report func(string)) (stop func()) {
	t := c.clock.NewTicker(progressInterval)
	quit := make(chan struct{})
	start := c.clock.Now()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C():
				n := finished.Load()
				line := fmt.Sprintf("%s: %d of %d nodes done (%d%%), %v elapsed; nodetool netstats shows the streams", desc, n, total, 100*n/int64(total), c.clock.Now().Sub(start).Round(time.Second))
				report(line)
				c.log.Info(line)
			}
		}
	}()
	return func() { close(quit); wg.Wait() }
}

// announceRemoval sets e on this node's REMOVALS state (replacing an
// entry for the same host id), drops expired entries, and rebuilds the
// ring.
func (c *Cluster) announceRemoval(e removalEntry) {
	c.removalMu.Lock()
	now := c.clock.Now().UnixMilli()
	c.removals = slices.DeleteFunc(c.removals, func(x removalEntry) bool {
		return x.hostID == e.hostID || (x.done && x.expire < now)
	})
	c.removals = append(c.removals, e)
	if len(c.removals) > maxRemovalEntries {
		c.removals = c.removals[len(c.removals)-maxRemovalEntries:]
	}
	v := formatRemovals(c.removals)
	c.removalMu.Unlock()
	c.gossip.SetLocalState(gossip.AppRemovals, v)
	c.rebuildRing()
}

// withdrawRemoval drops the removing entry for id after a failed removal.
func (c *Cluster) withdrawRemoval(id [16]byte) {
	c.removalMu.Lock()
	c.removals = slices.DeleteFunc(c.removals, func(x removalEntry) bool { return x.hostID == id && !x.done })
	v := formatRemovals(c.removals)
	c.removalMu.Unlock()
	c.gossip.SetLocalState(gossip.AppRemovals, v)
	c.rebuildRing()
}

func (c *Cluster) setRemovalJob(j *removalJob) {
	c.removalMu.Lock()
	c.removal = j
	c.removalMu.Unlock()
}

// RemovalStatus is nodetool removenode status: the removal this node
// coordinates, if any.
func (c *Cluster) RemovalStatus() string {
	c.removalMu.Lock()
	j := c.removal
	c.removalMu.Unlock()
	if j == nil {
		return "RemovalStatus: No removals in process."
	}
	s := fmt.Sprintf("RemovalStatus: Removing %s (host id %s, %d tokens) since %s.", j.ep, formatUUID(j.hostID), j.tokens, j.started.UTC().Format(time.RFC3339))
	if w := j.waitingFor(); len(w) > 0 {
		s += " Waiting for replication confirmation from [" + formatAddrs(w) + "]."
	}
	return s
}

// ForceRemoval is nodetool removenode force: the removal in progress
// stops waiting for its streams and completes.
func (c *Cluster) ForceRemoval() error {
	c.removalMu.Lock()
	j := c.removal
	c.removalMu.Unlock()
	if j == nil {
		return errors.New("removenode force: no removal in process")
	}
	c.log.Warn("removenode: forced to complete", "endpoint", j.ep.String(), "waiting_for", formatAddrs(j.waitingFor()))
	j.forced.Store(true)
	j.cancel()
	return nil
}

// markRemoved records that host id id (last seen at ep) was removed from
// the ring, as announced by by: persisted, so that the node stays out of
// the ring if it comes back, and audited once.
func (c *Cluster) markRemoved(id [16]byte, ep, by netip.Addr) {
	c.removedMu.Lock()
	if c.removed[id] {
		c.removedMu.Unlock()
		return
	}
	c.removed[id] = true
	c.removedMu.Unlock()
	if c.o.SaveRemoved != nil {
		if err := c.o.SaveRemoved(id); err != nil {
			c.log.Error("removenode: persisting a removed host id failed", "host_id", formatUUID(id), "err", err)
		}
	}
	c.log.Info("node removed from the ring", "endpoint", ep.String(), "host_id", formatUUID(id), "by", by.String())
	if c.o.Audit != nil {
		c.record(pki.AuditEvent{Kind: pki.AuditRemove, Peer: ep.String(), HostID: formatUUID(id), Outcome: "removed", Reason: "removed from the ring by " + by.String()})
	}
}

func (c *Cluster) isRemoved(id [16]byte) bool {
	c.removedMu.Lock()
	defer c.removedMu.Unlock()
	return c.removed[id]
}

// applyRemovals applies to snap, before the ring is built from it, the
// removals that members announce: an endpoint whose host id was removed
// (announced now, or remembered from before) is deleted from snap; the
// endpoints being removed are returned, for the ring to mark them leaving.
// Only ring members of prev (or this node) remove nodes, or a node that
// claims exactly the removed node's tokens (it replaced it), and a removal of
// this node or of an endpoint this node sees alive is refused (logged and
// audited once per announcer and host id). The caller holds ringMu.
func (c *Cluster) applyRemovals(snap map[netip.Addr]gossip.EndpointState, prev *ring.TokenMetadata) []netip.Addr {
	byID := make(map[[16]byte]netip.Addr, len(snap))
	for ep, st := range snap {
		if id, ok := hostIDOf(&st); ok {
			byID[id] = ep
		}
	}
	var leaving []netip.Addr
	for _, owner := range sortedEndpoints(snap) {
		st := snap[owner]
		v, _ := st.Get(gossip.AppRemovals)
		if v == "" {
			continue
		}
		member := owner == c.o.Self || prev.IsMember(owner)
		for _, e := range parseRemovals(v) {
			if c.isRemoved(e.hostID) {
				continue
			}
			ep, known := byID[e.hostID]
			if !member && !(known && e.done && replacesTokens(&st, snap[ep])) {
				continue // only members, or a node taking over the removed one's tokens (replace), remove nodes
			}
			if known && (ep == c.o.Self || snap[ep].Alive) {
				c.refuseRemoval(owner, e.hostID, ep)
				continue
			}
			switch {
			case e.done:
				c.markRemoved(e.hostID, ep, owner)
			case known:
				leaving = append(leaving, ep)
			}
		}
	}
	for id, ep := range byID {
		if c.isRemoved(id) && ep != c.o.Self {
			if st := snap[ep]; st.Alive {
				c.warnRemovedBack(ep, id)
			}
			delete(snap, ep)
		}
	}
	return leaving
}

// replacesTokens reports whether st claims exactly the tokens that
// replaced gossips: a replacement removing the node it replaced.
func replacesTokens(st *gossip.EndpointState, replaced gossip.EndpointState) bool {
	a, _ := st.Get(gossip.AppTokens)
	b, _ := replaced.Get(gossip.AppTokens)
	x, y := parseTokens(a), parseTokens(b)
	slices.Sort(x)
	slices.Sort(y)
	return len(x) > 0 && slices.Equal(x, y)
}

// refuseRemoval logs and audits, once, a removal of a live endpoint (or
// of this node) that owner announced.
func (c *Cluster) refuseRemoval(owner netip.Addr, id [16]byte, ep netip.Addr) {
	key := owner.String() + "|" + formatUUID(id)
	if c.removalRefused[key] {
		return
	}
	c.removalRefused[key] = true
	c.log.Warn("refusing the removal of a node this node sees alive", "announced_by", owner.String(), "endpoint", ep.String(), "host_id", formatUUID(id))
	if c.o.Audit != nil {
		c.record(pki.AuditEvent{Kind: pki.AuditRefused, Peer: owner.String(), HostID: formatUUID(id), Outcome: "refused",
			Reason: fmt.Sprintf("removal of %s refused: it is alive here", ep)})
	}
}

// warnRemovedBack warns, once, that a removed node is gossiping again.
func (c *Cluster) warnRemovedBack(ep netip.Addr, id [16]byte) {
	key := "back|" + formatUUID(id)
	if c.removalRefused[key] {
		return
	}
	c.removalRefused[key] = true
	c.log.Warn("a node removed from the ring is running again: it stays out of the ring; wipe its data directory and join it as a new node",
		"endpoint", ep.String(), "host_id", formatUUID(id))
}

// HostIDAt returns the host id endpoint ep gossips (or gossiped, when it
// was revoked), for nodetool assassinate.
func (c *Cluster) HostIDAt(ep netip.Addr) ([16]byte, bool) {
	snap := c.gossip.Snapshot()
	c.revokedStates(snap)
	st, ok := snap[ep]
	if !ok {
		return [16]byte{}, false
	}
	return hostIDOf(&st)
}

// ParseHostID parses a host id as nodetool prints it.
func ParseHostID(s string) ([16]byte, bool) { return parseUUID(s) }
