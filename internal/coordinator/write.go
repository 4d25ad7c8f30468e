package coordinator

import (
	"context"
	"fmt"
	"net/netip"
	"slices"

	"github.com/ringdb/ringdb/internal/consistency"
	"github.com/ringdb/ringdb/internal/cqlerr"
	"github.com/ringdb/ringdb/internal/messaging"
	"github.com/ringdb/ringdb/internal/ring"
	"github.com/ringdb/ringdb/internal/storage"
)

// Apply writes mutations at consistency cl. Mutations whose partitions
// have the same replicas (always, on one node) travel together and each
// replica applies them in one atomic storage batch.
//
// ctx bounds the coordinator's wait: when it ends (the client went away)
// Apply returns, but mutations already sent are not withdrawn — replicas
// that do not acknowledge within the write timeout get hints, as for any
// other failed write.
func (c *Coordinator) Apply(ctx context.Context, muts []*storage.Mutation, cl consistency.Level, writeType string) error {
	ctx, end, err := c.begin(ctx)
	if err != nil {
		return err
	}
	defer end()
	if cl.IsSerial() {
		return cqlerr.Invalidf("You must use conditional updates for serializable writes")
	}
	groups, err := c.groupWrites(muts)
	if err != nil {
		return err
	}
	if len(groups) == 1 {
		return c.write(ctx, groups[0], cl, writeType)
	}
	// A logged batch spanning replica sets goes through the batchlog.
	if writeType == consistency.WriteBatch {
		for _, g := range groups {
			if err := c.checkAvailable(g, cl); err != nil {
				return err
			}
		}
		id, holders, err := c.storeBatch(ctx, muts)
		if err != nil {
			return fmt.Errorf("storing the batch in the batchlog: %w", err)
		}
		if err := c.applyGroups(ctx, groups, cl, writeType); err != nil {
			return err // the batchlog entries stay: the batch will be replayed
		}
		c.removeBatch(id, holders)
		c.batchesLogged.Add(1)
		return nil
	}
	return c.applyGroups(ctx, groups, cl, writeType)
}

// applyGroups writes the groups concurrently and returns the first error.
func (c *Coordinator) applyGroups(ctx context.Context, groups []*writeGroup, cl consistency.Level, writeType string) error {
	errs := make(chan error, len(groups))
	for _, g := range groups {
		if !c.goOwned(func() { errs <- c.write(ctx, g, cl, writeType) }) {
			errs <- errStopping
		}
	}
	var first error
	for range groups {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// writeGroup is mutations of one keyspace sharing their replicas.
type writeGroup struct {
	muts    []*storage.Mutation
	targets []netip.Addr
	pending int
	rf      map[string]int
}

func (c *Coordinator) groupWrites(muts []*storage.Mutation) ([]*writeGroup, error) {
	tm := c.o.Topology.Ring()
	var groups []*writeGroup
	index := map[string]*writeGroup{}
	for _, m := range muts {
		k, err := c.keyspaceOf(m.Table)
		if err != nil {
			return nil, err
		}
		strat, rf, err := c.strategy(k)
		if err != nil {
			return nil, err
		}
		natural := strat.NaturalEndpoints(tm, m.Token)
		pending := ring.PendingEndpoints(strat, tm, m.Token)
		targets := slices.Clone(natural)
		np := 0
		for _, p := range pending {
			if !slices.Contains(targets, p) {
				targets = append(targets, p)
				np++
			}
		}
		if len(targets) == 0 {
			targets = []netip.Addr{c.self} // no ring yet (single node starting)
		}
		if len(muts) == 1 {
			return []*writeGroup{{muts: muts, targets: targets, pending: np, rf: rf}}, nil
		}
		key := k.Name
		for _, t := range targets {
			key += "|" + t.String()
		}
		g := index[key]
		if g == nil {
			g = &writeGroup{targets: targets, pending: np, rf: rf}
			index[key] = g
			groups = append(groups, g)
		}
		g.muts = append(g.muts, m)
	}
	return groups, nil
}

type response struct {
	ep   netip.Addr
	data []byte
	m    *storage.Mutation
	err  error
}

// blockForWrite is how many acknowledgements a write of g at cl waits
// for: pending replicas (a bootstrapping node) add to it, as Cassandra
// counts them, except per-DC levels and ANY.
func (c *Coordinator) blockForWrite(g *writeGroup, cl consistency.Level) (*tracker, int, error) {
	block, perDC, err := blockFor(cl, g.rf, c.o.LocalDC)
	if err != nil {
		return nil, 0, err
	}
	if perDC == nil && cl != consistency.Any {
		block += g.pending
	}
	return newTracker(cl, block, perDC, c.o.LocalDC, c.dcOf), block, nil
}

// liveTargets returns the targets the failure detector considers up.
func (c *Coordinator) liveTargets(targets []netip.Addr) []netip.Addr {
	var live []netip.Addr
	for _, ep := range targets {
		if c.alive(ep) {
			live = append(live, ep)
		}
	}
	return live
}

// checkAvailable returns Unavailable when too few of g's replicas are up
// for cl (ANY needs none).
func (c *Coordinator) checkAvailable(g *writeGroup, cl consistency.Level) error {
	if cl == consistency.Any {
		return nil
	}
	tr, _, err := c.blockForWrite(g, cl)
	if err != nil {
		return err
	}
	return tr.available(c.liveTargets(g.targets))
}

// hintAll stores g's mutations as hints for ep.
func (c *Coordinator) hintAll(g *writeGroup, ep netip.Addr, force bool) error {
	for _, m := range g.muts {
		if err := c.storeHint(ep, m, force); err != nil {
			return err
		}
	}
	return nil
}

// write sends g to every live target and waits until cl is met, the
// write timeout passes (WriteTimeout error) or ctx ends.
func (c *Coordinator) write(ctx context.Context, g *writeGroup, cl consistency.Level, writeType string) error {
	tr, block, err := c.blockForWrite(g, cl)
	if err != nil {
		return err
	}
	live := c.liveTargets(g.targets)
	if cl == consistency.Any && len(live) == 0 {
		for _, ep := range g.targets {
			if err := c.hintAll(g, ep, true); err != nil {
				return err
			}
		}
		return nil
	}
	if cl != consistency.Any {
		if err := tr.available(live); err != nil {
			return err
		}
	}
	// Fast path: the only replica is this node.
	if len(g.targets) == 1 && g.targets[0] == c.self {
		if err := c.o.Engine.Apply(g.muts); err != nil {
			return err
		}
		if tr.ack(c.self); tr.done() || cl == consistency.Any {
			return nil
		}
		return writeTimeout(cl, tr.received, block, writeType)
	}
	results, sent := c.sendWrites(g)
	wctx, cancel := c.withTimeout(ctx, c.o.WriteTimeout)
	defer cancel()
	for got := 0; got < sent; got++ {
		select {
		case r := <-results:
			if r.err != nil {
				continue
			}
			if cl == consistency.Any {
				return nil
			}
			if tr.ack(r.ep); tr.done() {
				return nil
			}
		case <-wctx.Done():
			return c.ended(wctx, func() error { return writeTimeout(cl, tr.received, block, writeType) })
		}
	}
	if cl == consistency.Any {
		return nil // hints stored for the failures
	}
	return writeTimeout(cl, tr.received, block, writeType)
}

// ended counts a request interrupted by its client or Stop and returns
// the error for ctx's end.
func (c *Coordinator) ended(ctx context.Context, timeoutErr func() error) error {
	if !timedOut(ctx) {
		c.cancelled.Add(1)
	}
	return interrupted(ctx, timeoutErr)
}

// sendWrites sends g to its live targets (applying it locally when this
// node is one) and hints the down ones. Each remote send runs on an owned
// goroutine bounded by the write timeout, independent of the client's
// context: a mutation that may have been delivered is hinted if it is not
// acknowledged, never silently dropped. It returns the channel the
// acknowledgements arrive on and how many will arrive.
func (c *Coordinator) sendWrites(g *writeGroup) (chan response, int) {
	results := make(chan response, len(g.targets))
	var payload []byte
	sent, local := 0, false
	for _, ep := range g.targets {
		if !c.alive(ep) {
			_ = c.hintAll(g, ep, false)
			continue
		}
		sent++
		if ep == c.self {
			local = true
			continue
		}
		if payload == nil {
			payload = encodeMutations(g.muts)
		}
		ok := c.goOwned(func() {
			rctx, cancel := c.withTimeout(c.ctx, c.o.WriteTimeout)
			defer cancel()
			_, err := c.o.Messenger.Request(rctx, ep, messaging.VerbMutation, payload)
			if err != nil {
				_ = c.hintAll(g, ep, false) // timed out or failed: hint it
			}
			results <- response{ep: ep, err: err}
		})
		if !ok {
			_ = c.hintAll(g, ep, false)
			results <- response{ep: ep, err: errStopping}
		}
	}
	if local {
		results <- response{ep: c.self, err: c.o.Engine.Apply(g.muts)}
	}
	return results, sent
}

// storeHint keeps m for ep if hints are on and ep has not been down
// longer than the hint window. force ignores the window (CL ANY).
func (c *Coordinator) storeHint(ep netip.Addr, m *storage.Mutation, force bool) error {
	if c.o.DisableHints && !force {
		return nil
	}
	if since, down := c.o.Topology.DownSince(ep); down && !force && c.now().Sub(since) > c.o.MaxHintWindow {
		return nil
	}
	id, ok := c.o.Topology.HostID(ep)
	if !ok {
		return nil
	}
	if err := c.o.Engine.StoreHint(id, c.now(), m); err != nil {
		c.log.Error("storing hint failed", "target", ep.String(), "err", err)
		return err
	}
	c.hinted.Add(1)
	return nil
}
