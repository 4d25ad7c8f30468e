package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/ringdb/ringdb/internal/gossip"
)

// DefaultSettleTimeout bounds WaitSettled when Options.SettleTimeout is
// zero. Like Cassandra's block_for_peers_timeout_in_secs (10 s), it lets a
// restarted node learn that its peers are up before it serves clients, and
// still lets it start (with a warning) when a peer is really down.
const DefaultSettleTimeout = 10 * time.Second

// settlePoll is how often WaitSettled re-checks the peers' liveness.
const settlePoll = 50 * time.Millisecond

// peersMetaKey is the storage metadata entry holding the other ring
// members as last seen (comma-separated addresses), so that a restarted
// node knows whom to wait for before gossip has told it anything.
const peersMetaKey = "cluster/peers"

// WaitSettled blocks until gossip has settled: every peer this node
// expects, that is every ring member it saved on its previous run and
// every ring member gossip reports now, has been heard from and has
// answered an echo (gossip marks it UP), unless its gossiped STATUS says
// it is out of service (shutdown, left, removed or hibernating). It returns nil at
// once when there is no such peer (a lone node, or the first node of a new
// cluster).
//
// The wait is bounded by Options.SettleTimeout on the member's clock
// (DefaultSettleTimeout when zero; a negative timeout skips the wait,
// like Cassandra's cassandra.skip_wait_for_gossip_to_settle=0) and by
// ctx. When either
// ends the wait first, or Stop is called, WaitSettled returns an error
// naming the peers still not up; the caller logs it and starts anyway.
//
// Cassandra waits for gossip to settle (Gossiper.waitToSettle) and for
// its peers to be UP (StartupClusterConnectivityChecker) before it opens
// the native transport; without this wait a restarted node believes its
// peers are down for a gossip round or two and answers QUORUM requests
// with Unavailable. From the first call on, the node saves its ring
// members whenever they change, for the next start.
func (c *Cluster) WaitSettled(ctx context.Context) error {
	defer c.startSavingPeers()
	timeout := c.o.SettleTimeout
	if timeout == 0 {
		timeout = DefaultSettleTimeout
	}
	if timeout < 0 {
		return nil
	}
	waiting := c.unsettledPeers()
	if len(waiting) == 0 {
		return nil
	}
	c.log.Info("waiting for gossip to settle before serving clients", "peers_not_up", addrList(waiting), "timeout", timeout)
	return c.awaitPeers(ctx, timeout, waiting)
}

// awaitPeers polls until no expected peer is unsettled (waiting are the
// ones now), for at most timeout on the member's clock.
func (c *Cluster) awaitPeers(ctx context.Context, timeout time.Duration, waiting []netip.Addr) error {
	ctx, cancel := c.withTimeout(ctx, timeout)
	defer cancel()
	start := c.clock.Now()
	tick := c.clock.NewTicker(settlePoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("gossip did not settle within %s (%w): peers not yet up: %s",
				c.since(start), context.Cause(ctx), addrList(waiting))
		case <-c.stop:
			return errors.New("cluster stopped while waiting for gossip to settle")
		case <-tick.C():
		}
		if waiting = c.unsettledPeers(); len(waiting) == 0 {
			c.log.Info("gossip settled: every peer is up", "after", c.since(start))
			return nil
		}
	}
}

// since is the time passed on the member's clock since start, to the
// millisecond.
func (c *Cluster) since(start time.Time) time.Duration {
	return c.clock.Now().Sub(start).Round(time.Millisecond)
}

// unsettledPeers returns the expected peers (saved ring members and
// current ring members, not this node) that are neither UP nor known to be
// out of service, sorted.
func (c *Cluster) unsettledPeers() []netip.Addr {
	expected := slices.Concat(c.savedPeers, c.ring.Load().Endpoints())
	slices.SortFunc(expected, netip.Addr.Compare)
	expected = slices.Compact(expected)
	snap := c.gossip.Snapshot()
	var out []netip.Addr
	for _, ep := range expected {
		if ep == c.o.Self {
			continue
		}
		st, known := snap[ep]
		if known && (st.Alive || notServing(&st)) {
			continue
		}
		out = append(out, ep)
	}
	return out
}

// notServing reports whether st's STATUS says the endpoint is not serving
// (it announced a shutdown, left the ring, is being removed or
// hibernates), so it is not waited for.
func notServing(st *gossip.EndpointState) bool {
	s, ok := st.Status()
	if !ok {
		return false
	}
	switch s.Kind {
	case gossip.StatusShutdown, gossip.StatusLeft, gossip.StatusRemoving, gossip.StatusRemoved, gossip.StatusHibernate:
		return true
	}
	return false
}

// loadSavedPeers reads the ring members saved on the previous run.
func (c *Cluster) loadSavedPeers() error {
	if c.o.Engine == nil {
		return nil
	}
	if v, ok, err := c.o.Engine.GetMeta(bindingsMetaKey); err != nil {
		return err
	} else if ok {
		if err := c.bindings.load(v); err != nil {
			c.log.Warn("ignoring unparsable saved identity bindings", "err", err)
		}
	}
	v, ok, err := c.o.Engine.GetMeta(peersMetaKey)
	if err != nil || !ok {
		return err
	}
	c.peersSaved = string(v)
	for _, s := range strings.Split(string(v), ",") {
		if s == "" {
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			c.log.Warn("ignoring unparsable saved peer", "peer", s, "err", err)
			continue
		}
		c.savedPeers = append(c.savedPeers, a)
	}
	return nil
}

// startSavingPeers saves the ring members now and, from now on, whenever
// the ring changes. Saving starts only once gossip has settled (or the
// wait ended) so that a start that has not heard from its peers yet does
// not overwrite the saved list with an empty ring.
func (c *Cluster) startSavingPeers() {
	c.savingPeers.Store(true)
	c.savePeers()
}

// savePeers persists the other ring members if they changed since the
// last save (called after every ring rebuild once saving has started).
func (c *Cluster) savePeers() {
	if !c.savingPeers.Load() || c.o.Engine == nil {
		return
	}
	c.peersMu.Lock()
	defer c.peersMu.Unlock()
	// Read the ring under the lock: the last caller saves the last ring.
	var eps []string
	for _, ep := range c.ring.Load().Endpoints() {
		if ep != c.o.Self {
			eps = append(eps, ep.String())
		}
	}
	slices.Sort(eps)
	if b, ok := c.bindings.changed(); ok {
		if err := c.o.Engine.SetMeta(bindingsMetaKey, b); err != nil {
			c.bindings.markDirty()
			c.log.Warn("saving the identity bindings failed", "err", err)
		}
	}
	v := strings.Join(eps, ",")
	if v == c.peersSaved {
		return
	}
	if err := c.o.Engine.SetMeta(peersMetaKey, []byte(v)); err != nil {
		c.log.Warn("saving the ring members failed; the next start may serve clients before its peers are known to be up", "err", err)
		return
	}
	c.peersSaved = v
}

func addrList(eps []netip.Addr) string {
	s := make([]string, len(eps))
	for i, ep := range eps {
		s[i] = ep.String()
	}
	return strings.Join(s, ",")
}
