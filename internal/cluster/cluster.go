package cluster

import (
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ringdb/ringdb/internal/admin"
	"github.com/ringdb/ringdb/internal/gossip"
	"github.com/ringdb/ringdb/internal/messaging"
	"github.com/ringdb/ringdb/internal/pki"
	"github.com/ringdb/ringdb/internal/query"
	"github.com/ringdb/ringdb/internal/ring"
	"github.com/ringdb/ringdb/internal/schema"
	"github.com/ringdb/ringdb/internal/storage"
)

// Options configure a cluster member.
type Options struct {
	Self        netip.Addr
	ClusterName string
	Seeds       []netip.Addr
	DC, Rack    string
	HostID      [16]byte
	Generation  int32
	NumTokens   int
	// Tokens are this node's tokens if already known (persisted); nil means
	// allocate on join.
	Tokens        []int64
	NativeAddress netip.AddrPort
	StoragePort   int
	Engine        *storage.Engine
	Schema        *schema.Manager
	Messaging     *messaging.Service
	Audit         *pki.AuditLog
	Logger        *slog.Logger
	// GossipInterval is the gossip round; default 1s.
	GossipInterval time.Duration
	// JoinTimeout bounds waiting to learn the ring from seeds on first
	// start. Default 30s.
	JoinTimeout time.Duration
	// SettleTimeout bounds WaitSettled: 0 means DefaultSettleTimeout, a
	// negative value skips the wait.
	SettleTimeout time.Duration
	// SaveTokens persists the tokens chosen on first join.
	SaveTokens func([]int64) error
	// Events receives client-visible changes: status (UP/DOWN), topology
	// (NEW_NODE/REMOVED_NODE) and schema changes learned from peers.
	OnStatus   func(up bool, native netip.AddrPort)
	OnTopology func(change string, native netip.AddrPort)
	OnSchema   func(schema.Change)
	// OnUp is told when a peer comes up (hint replay).
	OnUp func(netip.Addr)
	// Roles, when set, are synchronised cluster-wide like the schema.
	Roles RoleSync
}

// RoleSync is the role store's cluster interface (internal/auth).
type RoleSync interface {
	Export() ([]byte, error)
	Merge(data []byte) (bool, error)
	Version() string
}

// Kinds of metadata exchanged with VerbSchemaPull/VerbSchemaPush (first
// payload byte).
const (
	syncSchema byte = 'S'
	syncRoles  byte = 'A'
)

// Cluster is this node's membership.
type Cluster struct {
	o      Options
	log    *slog.Logger
	gossip *gossip.Runtime
	ring   atomic.Pointer[ring.TokenMetadata]
	tokens []int64
	start  time.Time

	mu        sync.Mutex
	downSince map[netip.Addr]time.Time
	pulling   map[netip.Addr]bool

	// savedPeers are the other ring members saved on the previous run
	// (read-only after New); WaitSettled waits for them too.
	savedPeers  []netip.Addr
	savingPeers atomic.Bool // set by WaitSettled: ring changes are saved
	peersMu     sync.Mutex  // serialises savePeers
	peersSaved  string      // the saved value, guarded by peersMu

	stop   chan struct{}
	wg     sync.WaitGroup
	ctx    context.Context // cancelled by Stop: ends pulls in flight
	cancel context.CancelFunc
}

// spawn runs fn on a goroutine the cluster owns: Stop cancels c.ctx and
// waits for it.
func (c *Cluster) spawn(fn func()) {
	select {
	case <-c.stop:
		return
	default:
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		fn()
	}()
}

type transport struct{ m *messaging.Service }

func (t transport) Send(to netip.Addr, payload []byte) error {
	return t.m.Send(to, messaging.VerbGossipSyn, payload)
}

// New creates the member; call Start.
func New(o Options) (*Cluster, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.JoinTimeout == 0 {
		o.JoinTimeout = 30 * time.Second
	}
	c := &Cluster{o: o, log: o.Logger, downSince: map[netip.Addr]time.Time{}, pulling: map[netip.Addr]bool{}, stop: make(chan struct{}), start: time.Now()}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	if err := c.loadSavedPeers(); err != nil {
		c.cancel()
		return nil, fmt.Errorf("cluster: load saved ring members: %w", err)
	}
	g := gossip.New(gossip.Config{Self: o.Self, ClusterName: o.ClusterName, Seeds: o.Seeds, Generation: o.Generation,
		Rand: rand.New(rand.NewPCG(uint64(o.Generation), uint64(time.Now().UnixNano())))}, time.Now())
	c.gossip = gossip.NewRuntime(g, transport{o.Messaging}, nil, o.GossipInterval, o.Logger)
	deliver := func(_ context.Context, from netip.Addr, payload []byte) ([]byte, error) {
		c.gossip.Deliver(from, payload)
		return nil, nil
	}
	for _, v := range []messaging.Verb{messaging.VerbGossipSyn, messaging.VerbGossipAck, messaging.VerbGossipAck2, messaging.VerbGossipShutdown} {
		o.Messaging.Handle(v, deliver)
	}
	o.Messaging.Handle(messaging.VerbSchemaPull, func(_ context.Context, _ netip.Addr, payload []byte) ([]byte, error) {
		if len(payload) == 1 && payload[0] == syncRoles {
			if o.Roles == nil {
				return nil, fmt.Errorf("this node has no roles (AllowAllAuthenticator)")
			}
			return o.Roles.Export()
		}
		return o.Schema.Export()
	})
	o.Messaging.Handle(messaging.VerbSchemaPush, func(_ context.Context, from netip.Addr, payload []byte) ([]byte, error) {
		if len(payload) == 0 {
			return nil, fmt.Errorf("empty metadata push")
		}
		switch payload[0] {
		case syncRoles:
			c.mergeRoles(from, payload[1:])
		case syncSchema:
			c.mergeSchema(from, payload[1:])
		default:
			return nil, fmt.Errorf("unknown metadata kind %q", payload[0])
		}
		return nil, nil
	})
	o.Messaging.Handle(messaging.VerbEcho, func(context.Context, netip.Addr, []byte) ([]byte, error) { return nil, nil })
	c.ring.Store(ring.NewTokenMetadata())
	c.gossip.Subscribe(c.onEvent)
	return c, nil
}

// Start begins gossiping, learns the ring (allocating tokens on first
// join) and announces this node NORMAL.
func (c *Cluster) Start() error {
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
	c.gossip.Start()
	tokens := o.Tokens
	joining := false
	if len(tokens) == 0 {
		others := slices.DeleteFunc(slices.Clone(o.Seeds), func(a netip.Addr) bool { return a == o.Self })
		tm := ring.NewTokenMetadata()
		if len(others) > 0 {
			// A seed does not wait for a ring (it may be the first node);
			// it only listens briefly so its tokens balance with any
			// member already up. Other nodes join through the seeds.
			joining = true
			timeout := o.JoinTimeout
			if slices.Contains(o.Seeds, o.Self) {
				timeout = 3 * c.interval()
			}
			tm = c.waitForRing(timeout)
		}
		tokens = ring.AllocateTokens(tm, o.NumTokens, o.DC, nil)
		if o.SaveTokens != nil {
			if err := o.SaveTokens(tokens); err != nil {
				return err
			}
		}
	}
	c.tokens = tokens
	c.gossip.SetLocalState(gossip.AppTokens, formatTokens(tokens))
	if joining {
		c.gossip.SetLocalState(gossip.AppStatus, gossip.BootStatus(tokens[0]))
		c.log.Info("joining the ring (BOOT)", "tokens", len(tokens))
		c.rebuildRing()
		// Give the cluster a couple of gossip rounds to see BOOT.
		select {
		case <-time.After(2 * c.interval()):
		case <-c.stop:
		}
	}
	c.gossip.SetLocalState(gossip.AppStatus, gossip.NormalStatus(tokens[0]))
	c.rebuildRing()
	if joining {
		c.pullSchemaFromLive()
		if c.o.Roles != nil {
			for ep, st := range c.gossip.Snapshot() {
				if ep != c.o.Self && st.Alive {
					c.pullRoles(ep)
				}
			}
		}
		if c.hasUserTables() {
			c.log.Warn("this node joined a cluster that already holds tables; ringdb does not stream existing data to joining nodes yet: run repair on the tables this node now replicates (or rely on read repair and hints) before reading at consistency ONE from it")
		}
	}
	if o.Audit != nil {
		_ = o.Audit.Record(pki.AuditEvent{Kind: pki.AuditJoin, Peer: o.Self.String(), HostID: formatUUID(o.HostID), Reason: "local node started NORMAL"})
	}
	c.wg.Add(1)
	go c.loadLoop()
	return nil
}

func (c *Cluster) interval() time.Duration {
	if c.o.GossipInterval > 0 {
		return c.o.GossipInterval
	}
	return time.Second
}

// waitForRing waits until gossip has told us about at least one NORMAL
// member (bounded by JoinTimeout) and returns the ring as then known.
func (c *Cluster) waitForRing(timeout time.Duration) *ring.TokenMetadata {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		c.rebuildRing()
		if tm := c.ring.Load(); len(tm.Endpoints()) > 0 {
			// One more round so that concurrent joiners are seen too.
			time.Sleep(c.interval())
			c.rebuildRing()
			return c.ring.Load()
		}
		select {
		case <-time.After(100 * time.Millisecond):
		case <-c.stop:
			return c.ring.Load()
		}
	}
	if !slices.Contains(c.o.Seeds, c.o.Self) {
		c.log.Warn("no ring member reachable through the seeds; starting with tokens chosen alone", "seeds", fmt.Sprint(c.o.Seeds))
	}
	return c.ring.Load()
}

// Stop announces shutdown and stops gossip.
func (c *Cluster) Stop() {
	select {
	case <-c.stop:
		return
	default:
	}
	close(c.stop)
	c.cancel()
	c.gossip.AnnounceShutdown()
	c.gossip.Stop()
	c.wg.Wait()
}

func (c *Cluster) loadLoop() {
	defer c.wg.Done()
	t := time.NewTicker(15 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			c.gossip.SetLocalState(gossip.AppLoad, strconv.FormatUint(c.o.Engine.DiskUsage(), 10))
		}
	}
}

// ---- ring ----

// rebuildRing recomputes token metadata from gossip.
func (c *Cluster) rebuildRing() {
	snap := c.gossip.Snapshot()
	tm := ring.NewTokenMetadata()
	eps := make([]netip.Addr, 0, len(snap))
	for ep := range snap {
		eps = append(eps, ep)
	}
	sort.Slice(eps, func(i, j int) bool { return eps[i].Less(eps[j]) })
	for _, ep := range eps {
		st := snap[ep]
		status, ok := st.Status()
		if !ok {
			continue
		}
		tv, _ := st.Get(gossip.AppTokens)
		toks := parseTokens(tv)
		if len(toks) == 0 {
			continue
		}
		dc, _ := st.Get(gossip.AppDC)
		rack, _ := st.Get(gossip.AppRack)
		var err error
		switch status.Kind {
		case gossip.StatusNormal, gossip.StatusShutdown, gossip.StatusLeaving:
			var next *ring.TokenMetadata
			next, err = tm.WithEndpoint(ep, toks, dc, rack)
			if err == nil {
				tm = next
			}
		case gossip.StatusBoot:
			var next *ring.TokenMetadata
			next, err = tm.WithPending(ep, toks, dc, rack)
			if err == nil {
				tm = next
			}
		}
		if err != nil {
			c.log.Warn("ignoring endpoint's tokens", "endpoint", ep.String(), "err", err)
		}
	}
	c.ring.Store(tm)
	c.savePeers()
}

func (c *Cluster) onEvent(e gossip.Event) {
	switch e.Kind {
	case gossip.EventStateChanged:
		switch e.Key {
		case gossip.AppStatus, gossip.AppTokens, gossip.AppDC, gossip.AppRack:
			before := c.ring.Load().IsMember(e.Endpoint)
			c.rebuildRing()
			if !before && c.ring.Load().IsMember(e.Endpoint) && e.Endpoint != c.o.Self {
				c.log.Info("node joined the ring", "endpoint", e.Endpoint.String())
				c.audit(pki.AuditJoin, e.Endpoint, "NORMAL")
				if c.o.OnTopology != nil {
					c.o.OnTopology("NEW_NODE", c.nativeOf(e.Endpoint))
				}
			}
		case gossip.AppSchema:
			if e.Endpoint != c.o.Self && e.Value != formatUUID(c.o.Schema.Current().Version) {
				c.spawn(func() { c.pullSchema(e.Endpoint) })
			}
		case gossip.AppAuthVersion:
			if e.Endpoint != c.o.Self && c.o.Roles != nil && e.Value != c.o.Roles.Version() {
				c.spawn(func() { c.pullRoles(e.Endpoint) })
			}
		}
	case gossip.EventAlive:
		c.mu.Lock()
		delete(c.downSince, e.Endpoint)
		c.mu.Unlock()
		c.rebuildRing()
		c.log.Info("node is up", "endpoint", e.Endpoint.String())
		if c.o.OnStatus != nil {
			c.o.OnStatus(true, c.nativeOf(e.Endpoint))
		}
		if c.o.OnUp != nil {
			c.o.OnUp(e.Endpoint)
		}
		if st, ok := c.stateOf(e.Endpoint); ok {
			if v, _ := st.Get(gossip.AppSchema); v != "" && v != formatUUID(c.o.Schema.Current().Version) {
				c.spawn(func() { c.pullSchema(e.Endpoint) })
			}
			if v, _ := st.Get(gossip.AppAuthVersion); v != "" && c.o.Roles != nil && v != c.o.Roles.Version() {
				c.spawn(func() { c.pullRoles(e.Endpoint) })
			}
		}
	case gossip.EventDead:
		c.mu.Lock()
		if _, ok := c.downSince[e.Endpoint]; !ok {
			c.downSince[e.Endpoint] = time.Now()
		}
		c.mu.Unlock()
		c.log.Warn("node is down", "endpoint", e.Endpoint.String())
		c.audit(pki.AuditStatus, e.Endpoint, "DOWN")
		if c.o.OnStatus != nil {
			c.o.OnStatus(false, c.nativeOf(e.Endpoint))
		}
	case gossip.EventRemoved:
		c.rebuildRing()
		c.audit(pki.AuditRemove, e.Endpoint, "removed from gossip")
		if c.o.OnTopology != nil {
			c.o.OnTopology("REMOVED_NODE", c.nativeOf(e.Endpoint))
		}
	case gossip.EventClusterMismatch:
		c.log.Warn("ignored gossip from another cluster", "endpoint", e.Endpoint.String(), "cluster", e.Value)
		c.audit(pki.AuditRefused, e.Endpoint, "cluster name mismatch: "+e.Value)
	case gossip.EventRejected:
		c.log.Warn("rejected gossip state", "endpoint", e.Endpoint.String(), "reason", e.Reason)
		c.audit(pki.AuditRefused, e.Endpoint, "gossip state rejected: "+e.Reason)
	case gossip.EventJoined, gossip.EventRestarted:
		c.rebuildRing()
	}
}

func (c *Cluster) audit(kind pki.AuditKind, ep netip.Addr, reason string) {
	if c.o.Audit == nil {
		return
	}
	host := ""
	if id, ok := c.HostID(ep); ok {
		host = formatUUID(id)
	}
	if err := c.o.Audit.Record(pki.AuditEvent{Kind: kind, Peer: ep.String(), HostID: host, Reason: reason}); err != nil {
		c.log.Error("membership audit log write failed", "err", err)
	}
}

func (c *Cluster) stateOf(ep netip.Addr) (gossip.EndpointState, bool) {
	st, ok := c.gossip.Snapshot()[ep]
	return st, ok
}

func (c *Cluster) nativeOf(ep netip.Addr) netip.AddrPort {
	if st, ok := c.stateOf(ep); ok {
		if v, _ := st.Get(gossip.AppNativeAddressAndPort); v != "" {
			if ap, err := netip.ParseAddrPort(v); err == nil {
				return ap
			}
		}
	}
	return netip.AddrPortFrom(ep, c.o.NativeAddress.Port())
}

// ---- coordinator.Topology ----

// Ring returns the current token metadata.
func (c *Cluster) Ring() *ring.TokenMetadata { return c.ring.Load() }

// IsAlive reports whether ep is up (self always is).
func (c *Cluster) IsAlive(ep netip.Addr) bool { return ep == c.o.Self || c.gossip.IsAlive(ep) }

// DownSince returns when ep was marked down.
func (c *Cluster) DownSince(ep netip.Addr) (time.Time, bool) {
	if c.IsAlive(ep) {
		return time.Time{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.downSince[ep]
	if !ok {
		return c.start, true
	}
	return t, true
}

// DC returns ep's data center.
func (c *Cluster) DC(ep netip.Addr) string {
	if ep == c.o.Self {
		return c.o.DC
	}
	if dc := c.ring.Load().DC(ep); dc != "" {
		return dc
	}
	if st, ok := c.stateOf(ep); ok {
		v, _ := st.Get(gossip.AppDC)
		return v
	}
	return ""
}

// HostID returns ep's host id.
func (c *Cluster) HostID(ep netip.Addr) ([16]byte, bool) {
	if ep == c.o.Self {
		return c.o.HostID, true
	}
	st, ok := c.stateOf(ep)
	if !ok {
		return [16]byte{}, false
	}
	v, _ := st.Get(gossip.AppHostID)
	return parseUUID(v)
}

// EndpointOf returns the endpoint with a host id.
func (c *Cluster) EndpointOf(id [16]byte) (netip.Addr, bool) {
	if id == c.o.HostID {
		return c.o.Self, true
	}
	for ep, st := range c.gossip.Snapshot() {
		v, _ := st.Get(gossip.AppHostID)
		if got, ok := parseUUID(v); ok && got == id {
			return ep, true
		}
	}
	return netip.Addr{}, false
}

// ---- peers ----

// Peers lists the other ring members for system.peers.
func (c *Cluster) Peers() []query.PeerInfo {
	tm := c.ring.Load()
	snap := c.gossip.Snapshot()
	var out []query.PeerInfo
	for ep, st := range snap {
		if ep == c.o.Self || !(tm.IsMember(ep) || tm.IsPending(ep)) {
			continue
		}
		p := query.PeerInfo{Address: ep, Port: c.o.StoragePort, Tokens: tm.Tokens(ep), DC: tm.DC(ep), Rack: tm.Rack(ep)}
		v, _ := st.Get(gossip.AppHostID)
		p.HostID, _ = parseUUID(v)
		v, _ = st.Get(gossip.AppSchema)
		p.SchemaVersion, _ = parseUUID(v)
		p.Release, _ = st.Get(gossip.AppReleaseVersion)
		na := c.nativeOf(ep)
		p.NativeAddress, p.NativePort = na.Addr(), int(na.Port())
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Address.Less(out[j].Address) })
	return out
}

// ---- schema ----

// LocalSchemaChanged gossips the new schema version and pushes the
// schema to live peers.
func (c *Cluster) LocalSchemaChanged() {
	c.gossip.SetLocalState(gossip.AppSchema, formatUUID(c.o.Schema.Current().Version))
	data, err := c.o.Schema.Export()
	if err != nil {
		return
	}
	c.pushToLive(append([]byte{syncSchema}, data...))
}

// LocalRolesChanged gossips the new roles version and pushes the roles to
// live peers.
func (c *Cluster) LocalRolesChanged() {
	if c.o.Roles == nil {
		return
	}
	c.gossip.SetLocalState(gossip.AppAuthVersion, c.o.Roles.Version())
	data, err := c.o.Roles.Export()
	if err != nil {
		return
	}
	c.pushToLive(append([]byte{syncRoles}, data...))
}

func (c *Cluster) pushToLive(payload []byte) {
	for ep, st := range c.gossip.Snapshot() {
		if ep == c.o.Self || !st.Alive {
			continue
		}
		if err := c.o.Messaging.Send(ep, messaging.VerbSchemaPush, payload); err != nil {
			c.log.Debug("metadata push failed", "endpoint", ep.String(), "err", err)
		}
	}
}

// pullRoles fetches a peer's roles and merges them.
func (c *Cluster) pullRoles(ep netip.Addr) {
	ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
	defer cancel()
	data, err := c.o.Messaging.Request(ctx, ep, messaging.VerbSchemaPull, []byte{syncRoles})
	if err != nil {
		c.log.Debug("roles pull failed", "endpoint", ep.String(), "err", err)
		return
	}
	c.mergeRoles(ep, data)
}

func (c *Cluster) mergeRoles(from netip.Addr, data []byte) {
	if c.o.Roles == nil {
		return
	}
	changed, err := c.o.Roles.Merge(data)
	if err != nil {
		c.log.Warn("roles merge failed", "from", from.String(), "err", err)
		return
	}
	if changed {
		c.log.Info("roles merged from peer", "from", from.String())
		c.gossip.SetLocalState(gossip.AppAuthVersion, c.o.Roles.Version())
	}
}

func (c *Cluster) pullSchemaFromLive() {
	for ep, st := range c.gossip.Snapshot() {
		if ep != c.o.Self && st.Alive {
			c.pullSchema(ep)
		}
	}
}

// pullSchema fetches a peer's schema and merges it (one pull per peer at
// a time).
func (c *Cluster) pullSchema(ep netip.Addr) {
	c.mu.Lock()
	if c.pulling[ep] {
		c.mu.Unlock()
		return
	}
	c.pulling[ep] = true
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pulling, ep)
		c.mu.Unlock()
	}()
	ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
	defer cancel()
	data, err := c.o.Messaging.Request(ctx, ep, messaging.VerbSchemaPull, nil)
	if err != nil {
		c.log.Debug("schema pull failed", "endpoint", ep.String(), "err", err)
		return
	}
	c.mergeSchema(ep, data)
}

func (c *Cluster) mergeSchema(from netip.Addr, data []byte) {
	before := c.o.Schema.Current().Version
	changes, dropped, err := c.o.Schema.Merge(data)
	if err != nil {
		c.log.Warn("schema merge failed", "from", from.String(), "err", err)
		return
	}
	for _, t := range dropped {
		if err := c.o.Engine.DropTable(storage.TableID(t.ID)); err != nil {
			c.log.Error("removing dropped table data failed", "table", t.Keyspace+"."+t.Name, "err", err)
		}
	}
	for _, ch := range changes {
		if c.o.OnSchema != nil {
			c.o.OnSchema(ch)
		}
	}
	if after := c.o.Schema.Current().Version; after != before {
		c.log.Info("schema merged from peer", "from", from.String(), "changes", len(changes), "version", formatUUID(after))
		c.gossip.SetLocalState(gossip.AppSchema, formatUUID(after))
	}
}

func (c *Cluster) hasUserTables() bool {
	for _, k := range c.o.Schema.Current().Keyspaces {
		if !k.System && len(k.Tables) > 0 {
			return true
		}
	}
	return false
}

// ---- admin.Node ----

// Status implements admin.Node.
func (c *Cluster) Status(keyspace string) (admin.Status, error) {
	tm := c.ring.Load()
	var strat ring.ReplicationStrategy
	effective := false
	if keyspace != "" {
		k := c.o.Schema.Current().Keyspace(keyspace)
		if k == nil {
			return admin.Status{}, fmt.Errorf("keyspace %s does not exist", keyspace)
		}
		s, err := ring.NewStrategy(k.Replication, c.o.Self)
		if err != nil {
			return admin.Status{}, err
		}
		strat, effective = s, true
	}
	owns := ring.Ownership(tm, strat)
	snap := c.gossip.Snapshot()
	var out admin.Status
	out.Effective = effective
	eps := append(tm.Endpoints(), tm.PendingEndpointList()...)
	for _, ep := range eps {
		st := snap[ep]
		e := admin.Endpoint{Address: ep.String(), DC: tm.DC(ep), Rack: tm.Rack(ep), Up: c.IsAlive(ep), State: "Normal", Tokens: tm.Tokens(ep)}
		if tm.IsPending(ep) {
			e.State = "Joining"
		}
		if ep == c.o.Self {
			e.LoadBytes = c.o.Engine.DiskUsage()
		} else if v, _ := st.Get(gossip.AppLoad); v != "" {
			e.LoadBytes, _ = strconv.ParseUint(v, 10, 64)
		}
		if id, ok := c.HostID(ep); ok {
			e.HostID = formatUUID(id)
		}
		if o, ok := owns[ep]; ok {
			e.Owns = &o
		}
		out.Endpoints = append(out.Endpoints, e)
	}
	return out, nil
}

// GossipInfo implements admin.Node.
func (c *Cluster) GossipInfo() []admin.GossipEndpoint {
	var out []admin.GossipEndpoint
	for ep, st := range c.gossip.Snapshot() {
		g := admin.GossipEndpoint{Address: ep.String(), Generation: st.HeartBeat.Generation, Heartbeat: st.HeartBeat.Version}
		keys := make([]gossip.ApplicationState, 0, len(st.States))
		for k := range st.States {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
		for _, k := range keys {
			v := st.States[k]
			g.States = append(g.States, admin.GossipState{Name: k.String(), Version: v.Version, Value: v.Value})
		}
		out = append(out, g)
	}
	return out
}

// Describe implements admin.Node.
func (c *Cluster) Describe() admin.Description {
	d := admin.Description{Name: c.o.ClusterName, Snitch: "org.apache.cassandra.locator.GossipingPropertyFileSnitch",
		Partitioner: "org.apache.cassandra.dht.Murmur3Partitioner", SchemaVersions: map[string][]string{}}
	for ep, st := range c.gossip.Snapshot() {
		if !c.IsAlive(ep) {
			d.SchemaVersions["UNREACHABLE"] = append(d.SchemaVersions["UNREACHABLE"], ep.String())
			continue
		}
		v, _ := st.Get(gossip.AppSchema)
		if ep == c.o.Self {
			v = formatUUID(c.o.Schema.Current().Version)
		}
		d.SchemaVersions[v] = append(d.SchemaVersions[v], ep.String())
	}
	return d
}

// Info implements admin.Node (the node fills in what it owns).
func (c *Cluster) Info() admin.Info {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return admin.Info{HostID: formatUUID(c.o.HostID), Gossip: true, NativeTransport: true, LoadBytes: c.o.Engine.DiskUsage(),
		GenerationNo: c.o.Generation, UptimeSeconds: int64(time.Since(c.start).Seconds()), HeapMemoryMB: float64(ms.HeapAlloc) / (1 << 20),
		DC: c.o.DC, Rack: c.o.Rack, Tokens: len(c.tokens), ClusterName: c.o.ClusterName, ListenAddress: c.o.Self.String(),
		NativeAddress: c.o.NativeAddress.String(), ReleaseVersion: query.ReleaseVersion}
}

// ---- helpers ----

func formatTokens(t []int64) string {
	parts := make([]string, len(t))
	for i, v := range t {
		parts[i] = strconv.FormatInt(v, 10)
	}
	return strings.Join(parts, ",")
}

func parseTokens(s string) []int64 {
	if s == "" {
		return nil
	}
	var out []int64
	for _, p := range strings.Split(s, ",") {
		v, err := strconv.ParseInt(p, 10, 64)
		if err != nil {
			return nil
		}
		out = append(out, v)
	}
	return out
}

func formatUUID(u [16]byte) string {
	h := hex.EncodeToString(u[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func parseUUID(s string) ([16]byte, bool) {
	var u [16]byte
	h := strings.ReplaceAll(s, "-", "")
	if len(h) != 32 {
		return u, false
	}
	b, err := hex.DecodeString(h)
	if err != nil {
		return u, false
	}
	copy(u[:], b)
	return u, true
}
