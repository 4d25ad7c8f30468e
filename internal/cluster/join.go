package cluster

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ringdb/ringdb/internal/gossip"
	"github.com/ringdb/ringdb/internal/pki"
	"github.com/ringdb/ringdb/internal/query"
	"github.com/ringdb/ringdb/internal/ring"
	"github.com/ringdb/ringdb/internal/streaming"
)

// ringPoll is how often waitForRing looks for a ring member.
const ringPoll = 100 * time.Millisecond

// Start begins gossiping, learns the ring (allocating tokens on first
// join) and announces this node NORMAL.
func (c *Cluster) Start() error {
	if c.o.Decommissioned {
		return ErrDecommissioned
	}
	c.announceLocalState()
	c.gossip.Start()
	replacing := c.replaces()
	var tokens []int64
	var joining bool
	var err error
	if replacing {
		tokens, err = c.replaceTokens()
	} else {
		tokens, joining, err = c.chooseTokens()
	}
	if err != nil {
		return err
	}
	c.tokens = tokens
	c.gossip.SetLocalState(gossip.AppTokens, formatTokens(tokens))
	// A seed does not bootstrap on its first start, as in Cassandra
	// ("configured to be a seed node"): seeds of a new cluster start
	// together and each would wait for the others to be NORMAL first.
	seed := slices.Contains(c.o.Seeds, c.o.Self)
	bootstrap := c.o.Streamer != nil && c.o.AutoBootstrap && ((joining && !seed) || c.o.BootstrapInterrupted)
	switch {
	case replacing:
		if err := c.replace(); err != nil {
			return err
		}
	case joining || bootstrap:
		if err := c.join(tokens, bootstrap); err != nil {
			return err
		}
	}
	c.gossip.SetLocalState(gossip.AppStatus, gossip.NormalStatus(tokens[0]))
	c.rebuildRing()
	if joining && !bootstrap {
		c.warnNoStreaming()
	}
	if c.o.Audit != nil {
		_ = c.o.Audit.Record(pki.AuditEvent{Kind: pki.AuditJoin, Peer: c.o.Self.String(), HostID: formatUUID(c.o.HostID), Reason: "local node started NORMAL"})
	}
	c.startLoadLoop()
	return nil
}

// announceLocalState sets the application states this node gossips from
// the start (all but TOKENS and STATUS).
func (c *Cluster) announceLocalState() {
	o := c.o
	c.gossip.SetLocalState(gossip.AppHostID, formatUUID(o.HostID))
	c.gossip.SetLocalState(gossip.AppDC, o.DC)
	c.gossip.SetLocalState(gossip.AppRack, o.Rack)
	c.gossip.SetLocalState(gossip.AppReleaseVersion, query.ReleaseVersion)
	c.gossip.SetLocalState(gossip.AppNativeAddressAndPort, o.NativeAddress.String())
	c.gossip.SetLocalState(gossip.AppSchema, formatUUID(o.Schema.Current().Version))
	c.gossip.SetLocalState(gossip.AppLoad, strconv.FormatUint(o.Engine.DiskUsage(), 10))
	if o.Roles != nil {
		c.gossip.SetLocalState(gossip.AppAuthVersion, o.Roles.Version())
	}
}

// chooseTokens returns the saved tokens, or allocates (and saves) new
// ones balanced against the ring learned from the seeds. joining reports
// that this node joins through other seeds.
func (c *Cluster) chooseTokens() (tokens []int64, joining bool, err error) {
	o := c.o
	if len(o.Tokens) > 0 {
		return o.Tokens, false, nil
	}
	tm := ring.NewTokenMetadata()
	if others := slices.DeleteFunc(slices.Clone(o.Seeds), func(a netip.Addr) bool { return a == o.Self }); len(others) > 0 {
		joining = true
		tm = c.waitForRing(c.joinWait())
		// A node that is not a seed joins an existing cluster: alone it
		// would pick tokens against an empty ring and, once it reaches the
		// cluster, own ranges it has no data for (Cassandra refuses to
		// start: "Unable to gossip with any peers").
		select {
		case <-c.stop:
			return nil, false, errors.New("cluster: stopped while waiting for the seeds")
		default:
		}
		seed := slices.Contains(o.Seeds, o.Self)
		if !seed && len(tm.Endpoints()) == 0 {
			return nil, false, fmt.Errorf("unable to gossip with any seed (%s) within %v: a node that is not a seed joins an existing cluster; start a seed first, or check the seeds list and the network", formatAddrs(others), c.joinWait())
		}
		if seed && len(tm.Endpoints()) == 0 {
			tm = c.waitForLowerSeeds(c.o.JoinTimeout)
		}
	}
	tokens = ring.AllocateTokens(tm, o.NumTokens, o.DC, nil)
	if o.SaveTokens != nil {
		if err := o.SaveTokens(tokens); err != nil {
			return nil, false, err
		}
	}
	return tokens, joining, nil
}

// joinWait is how long a first start waits for the ring. A seed does not
// wait for a ring (it may be the first node); it only listens briefly so
// its tokens balance with any member already up. Other nodes join
// through the seeds.
func (c *Cluster) joinWait() time.Duration {
	if slices.Contains(c.o.Seeds, c.o.Self) {
		return 3 * c.interval()
	}
	return c.o.JoinTimeout
}

// waitForRing waits until gossip has told us about at least one NORMAL
// member (bounded by timeout on the member's clock, and by Stop) and
// returns the ring as then known.
func (c *Cluster) waitForRing(timeout time.Duration) *ring.TokenMetadata {
	deadline := c.clock.Now().Add(timeout)
	for c.clock.Now().Before(deadline) {
		if tm := c.rebuildRing(); len(tm.Endpoints()) > 0 {
			// One more round so that concurrent joiners are seen too.
			c.sleep(c.interval())
			return c.rebuildRing()
		}
		if !c.sleep(ringPoll) {
			return c.ring.Load()
		}
	}
	return c.ring.Load()
}

// waitForLowerSeeds is how seeds of a new cluster started together
// choose tokens in turn, so that each balances against those before it
// (alone, each would space its tokens evenly from a random offset, and
// two seeds could end up owning 8% and 92%): it waits until every live
// seed with a lower address is in the ring (pending or NORMAL) or any
// member is NORMAL, bounded by timeout and by Stop, and returns the ring
// as then known. The lowest live seed waits for nobody.
func (c *Cluster) waitForLowerSeeds(timeout time.Duration) *ring.TokenMetadata {
	deadline := c.clock.Now().Add(timeout)
	for {
		tm := c.rebuildRing()
		waiting := slices.ContainsFunc(c.o.Seeds, func(s netip.Addr) bool {
			return s.Less(c.o.Self) && c.IsAlive(s) && !tm.IsMember(s) && !tm.IsPending(s)
		})
		if !waiting || len(tm.Endpoints()) > 0 || !c.clock.Now().Before(deadline) {
			return tm
		}
		if !c.sleep(ringPoll) {
			return tm
		}
	}
}

// announceBoot gossips STATUS BOOT and gives the cluster a couple of
// gossip rounds to see it (less if the member stops).
func (c *Cluster) announceBoot(tokens []int64) {
	c.gossip.SetLocalState(gossip.AppStatus, gossip.BootStatus(tokens[0]))
	c.log.Info("joining the ring (BOOT)", "tokens", len(tokens))
	c.rebuildRing()
	c.sleep(2 * c.interval())
}

// join announces BOOT, catches up on schema and roles and, when
// bootstrap is set, streams every range this node takes over before the
// caller announces NORMAL. When the cluster holds user tables it refuses
// to bootstrap while another node is joining.
func (c *Cluster) join(tokens []int64, bootstrap bool) error {
	if bootstrap && !slices.ContainsFunc(c.rebuildRing().Endpoints(), c.isPeer) {
		c.waitForRing(c.o.JoinTimeout) // a restart resuming its bootstrap
	}
	c.announceBoot(tokens)
	if bootstrap {
		// Streaming needs the schema: a joiner no member answers (the
		// cluster refused it) must not go NORMAL with nothing streamed.
		if err := c.joinSchema(); err != nil {
			return err
		}
	}
	c.catchUp()
	if !bootstrap {
		return nil
	}
	// Nodes of a new cluster (no user table yet, nothing to stream) may
	// start together; with data, one node joins at a time.
	if others := otherPending(c.rebuildRing(), c.o.Self); len(others) > 0 && c.hasUserTables() {
		return errRangeMovement(others)
	}
	return c.bootstrap()
}

func (c *Cluster) isPeer(ep netip.Addr) bool { return ep != c.o.Self }

// bootstrapPlanWait plans the bootstrap, waiting (bounded by JoinTimeout
// and Stop) while a range has no live replica yet: on a first start the
// failure detector may not have marked every member up.
func (c *Cluster) bootstrapPlanWait() ([]streaming.Transfer, error) {
	deadline := c.clock.Now().Add(c.o.JoinTimeout)
	for {
		plan, err := bootstrapPlan(c.rebuildRing(), c.o.Schema.Current(), c.o.Self, c.IsAlive)
		if err == nil || !c.clock.Now().Before(deadline) {
			return plan, err
		}
		if !c.sleep(ringPoll) {
			return nil, errors.New("stopped")
		}
	}
}

// bootstrap streams this node's pending ranges from the current replicas,
// persisting that a bootstrap is under way until it completed.
func (c *Cluster) bootstrap() error {
	plan, err := c.bootstrapPlanWait()
	if err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	if err := c.saveBootstrapping(true); err != nil {
		return err
	}
	c.log.Info("bootstrap: streaming the ranges this node takes over", "spans", len(plan))
	if err := c.o.Streamer.Pull(c.ctx, "Bootstrap", plan); err != nil {
		return fmt.Errorf("bootstrap failed (restart the node to bootstrap again): %w", err)
	}
	if err := c.saveBootstrapping(false); err != nil {
		return err
	}
	c.log.Info("bootstrap: complete", "spans", len(plan))
	return nil
}

func (c *Cluster) saveBootstrapping(v bool) error {
	if c.o.SaveBootstrapping == nil {
		return nil
	}
	if err := c.o.SaveBootstrapping(v); err != nil {
		return fmt.Errorf("bootstrap: save state: %w", err)
	}
	return nil
}

// catchUp pulls the schema and roles of the live members when joining.
// joinSchema pulls the schema from a live member, retrying for a few
// gossip rounds (a member may not have seen this node's BOOT yet), and
// fails when none answers: the members refuse this node (their logs say
// why, e.g. an address still bound to the identity of a node that left).
func (c *Cluster) joinSchema() error {
	for range 10 {
		if c.pullSchemaOnce() {
			return nil
		}
		if !c.sleep(c.interval()) {
			return errors.New("cluster: stopped while pulling the schema")
		}
	}
	return fmt.Errorf("join: no member answered this node's schema pull (live peers: %s): the cluster does not admit it; the members' logs say why (for example, an address that belonged to a node which left stays bound to that node's identity: give this node another address)", formatAddrs(c.livePeers()))
}

func (c *Cluster) catchUp() {
	c.pullSchemaFromLive()
	if c.o.Roles != nil {
		for _, ep := range c.livePeers() {
			c.pullRoles(ep)
		}
	}
}

// warnNoStreaming warns when a node joined a cluster holding tables
// without streaming them (auto_bootstrap off).
func (c *Cluster) warnNoStreaming() {
	if !c.hasUserTables() {
		return
	}
	why := "auto_bootstrap is false"
	if slices.Contains(c.o.Seeds, c.o.Self) {
		why = "a seed does not bootstrap; add nodes as non-seeds and make them seeds once they have joined"
	}
	c.log.Warn("this node joined a cluster that already holds tables without bootstrapping (" + why + "): run repair on the tables this node now replicates before reading at consistency ONE from it")
}

// formatAddrs lists addresses as "a, b".
func formatAddrs(as []netip.Addr) string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.String()
	}
	return strings.Join(out, ", ")
}
