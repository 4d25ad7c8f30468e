package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ringdb/ringdb/internal/gossip"
	"github.com/ringdb/ringdb/internal/messaging"
	"github.com/ringdb/ringdb/internal/ring"
)

// loadInterval is how often the member gossips its on-disk load.
const loadInterval = 15 * time.Second

// gossipRuntime is the part of *gossip.Runtime a member uses; tests give
// a member a fake one to set the endpoint states it sees.
type gossipRuntime interface {
	Start()
	Stop()
	AnnounceShutdown()
	Deliver(from netip.Addr, payload []byte)
	SubscribeBatch(fn func([]gossip.Event))
	SetLocalState(k gossip.ApplicationState, v string)
	IsAlive(ep netip.Addr) bool
	Snapshot() map[netip.Addr]gossip.EndpointState
	RemoveEndpoint(ep netip.Addr)
}

// Cluster is this node's membership.
type Cluster struct {
	o      Options
	log    *slog.Logger
	clock  Clock
	gossip gossipRuntime
	ring   atomic.Pointer[ring.TokenMetadata]
	ringMu sync.Mutex // serialises rebuilds: the last stored ring is the newest
	tokens []int64    // set by Start before it returns
	start  time.Time

	// refusedRing are the endpoints the last rebuild kept out of the ring
	// and why (guarded by ringMu), so each refusal is audited once.
	refusedRing map[netip.Addr]string
	// revoked are the endpoints removed from the ring for a revoked
	// certificate on this run (guarded by ringMu; revoked.go).
	revoked map[netip.Addr]revokedEndpoint
	// failedJoins are the endpoints that shut down while joining, with the
	// generation they did it at (guarded by ringMu; ringstate.go).
	failedJoins map[netip.Addr]int32
	// bindings are the address ↔ host id ↔ certificate bindings checked
	// on verified gossip (bindings.go).
	bindings   *bindings
	rebuilds   atomic.Int64 // ring rebuilds so far (tests)
	events     eventQueue   // gossip events waiting for the event loop
	auditLimit auditLimiter // bounds refusal records per sender

	mu        sync.Mutex
	downSince map[netip.Addr]time.Time
	pulling   map[netip.Addr]bool

	refusals refusalAudit // metadata refusals audited (metadata.go)
	// announceMu serialises gossiping the schema and roles versions.
	announceMu sync.Mutex

	// savedPeers are the other ring members saved on the previous run
	// (read-only after New); WaitSettled waits for them too.
	savedPeers  []netip.Addr
	savingPeers atomic.Bool // set by WaitSettled: ring changes are saved
	peersMu     sync.Mutex  // serialises savePeers
	peersSaved  string      // the saved value, guarded by peersMu

	lifeMu  sync.Mutex
	stopped bool          // guarded by lifeMu: no goroutine starts once set
	stop    chan struct{} // closed by Stop
	wg      sync.WaitGroup
	ctx     context.Context // cancelled by Stop: ends pulls in flight
	cancel  context.CancelFunc

	// opMu serialises range movements started here (decommission,
	// removenode); left is set once this node announced LEFT.
	opMu sync.Mutex
	left atomic.Bool

	// removalMu guards removals (the REMOVALS this node gossips) and
	// removal (the one it coordinates).
	removalMu sync.Mutex
	removals  []removalEntry
	removal   *removalJob
	// removed are the host ids removed from the ring (persisted through
	// Options.SaveRemoved, loaded from Options.RemovedHostIDs).
	removedMu sync.Mutex
	removed   map[[16]byte]bool
	// removalRefused are the refusals already logged (guarded by ringMu).
	removalRefused map[string]bool
}

// New creates the member; call Start.
func New(o Options) (*Cluster, error) { return newCluster(o, nil) }

// newCluster creates the member on g, or on a gossip runtime over
// o.Messaging when g is nil.
func newCluster(o Options, g gossipRuntime) (*Cluster, error) {
	o = o.withDefaults()
	c := &Cluster{o: o, log: o.Logger, clock: o.Clock, downSince: map[netip.Addr]time.Time{},
		pulling: map[netip.Addr]bool{}, stop: make(chan struct{}), start: o.Clock.Now(),
		removed: map[[16]byte]bool{}, removalRefused: map[string]bool{},
		refusedRing: map[netip.Addr]string{}, revoked: map[netip.Addr]revokedEndpoint{}, failedJoins: map[netip.Addr]int32{}, bindings: newBindings(), events: eventQueue{wake: make(chan struct{}, 1)}}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	for _, id := range o.RemovedHostIDs {
		c.removed[id] = true
	}
	if err := c.loadSavedPeers(); err != nil {
		c.cancel()
		return nil, fmt.Errorf("cluster: load saved ring members: %w", err)
	}
	if g == nil {
		if o.StateSigner == nil || o.StateVerifier == nil {
			c.cancel()
			return nil, errors.New("cluster: StateSigner and StateVerifier are required: gossip states are signed by their owner")
		}
		g = c.newGossip()
	}
	c.gossip = g
	c.handleVerbs()
	c.ring.Store(ring.NewTokenMetadata())
	c.gossip.SubscribeBatch(c.onEvents)
	c.spawn(c.eventLoop)
	return c, nil
}

// maxTokens bounds the tokens of one endpoint, in gossip and in the ring:
// num_tokens or gossip's default (256), whichever is larger.
func (c *Cluster) maxTokens() int { return max(c.o.NumTokens, gossip.DefaultMaxTokens) }

// newGossip returns a gossip runtime for this member that sends over
// o.Messaging and ticks on the member's clock. Its states are signed with
// o.StateSigner and peers' verified with o.StateVerifier; an endpoint may
// gossip at most maxTokens tokens.
func (c *Cluster) newGossip() *gossip.Runtime {
	o, now := c.o, c.clock.Now()
	g := gossip.New(gossip.Config{Self: o.Self, ClusterName: o.ClusterName, Seeds: o.Seeds, Generation: o.Generation,
		Rand:   rand.New(rand.NewPCG(uint64(o.Generation), uint64(now.UnixNano()))),
		Signer: o.StateSigner, Verifier: bindingVerifier{Verifier: o.StateVerifier, c: c}, MaxTokens: c.maxTokens(), MaxGenerationSkew: o.MaxGenerationSkew}, now)
	return gossip.NewRuntime(g, gossipTransport{o.Messaging}, c.clock, o.GossipInterval, o.Logger)
}

// gossipTransport sends gossip messages as VerbGossipSyn (the payload
// names the message kind).
type gossipTransport struct{ m Messenger }

// Send implements gossip.Transport.
func (t gossipTransport) Send(to netip.Addr, payload []byte) error {
	return t.m.Send(to, messaging.VerbGossipSyn, payload)
}

// handleVerbs registers the member's verb handlers: gossip, metadata
// pull and push, and echo.
func (c *Cluster) handleVerbs() {
	deliver := func(_ context.Context, from netip.Addr, payload []byte) ([]byte, error) {
		c.gossip.Deliver(from, payload)
		return nil, nil
	}
	for _, v := range []messaging.Verb{messaging.VerbGossipSyn, messaging.VerbGossipAck, messaging.VerbGossipAck2, messaging.VerbGossipShutdown} {
		c.o.Messaging.Handle(v, deliver)
	}
	c.o.Messaging.Handle(messaging.VerbSchemaPull, c.handlePull)
	c.o.Messaging.Handle(messaging.VerbSchemaPush, c.handlePush)
	c.o.Messaging.Handle(messaging.VerbEcho, func(context.Context, netip.Addr, []byte) ([]byte, error) { return nil, nil })
}

// spawn runs fn on a goroutine the member owns: Stop cancels c.ctx and
// waits for it. Once Stop has begun, fn is not run and spawn reports
// false.
func (c *Cluster) spawn(fn func()) bool {
	c.lifeMu.Lock()
	defer c.lifeMu.Unlock()
	if c.stopped {
		return false
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		fn()
	}()
	return true
}

// Stop announces shutdown (unless the node left the ring) and stops gossip, then waits for every
// goroutine the member started. It may be called more than once.
func (c *Cluster) Stop() {
	c.lifeMu.Lock()
	if c.stopped {
		c.lifeMu.Unlock()
		return
	}
	c.stopped = true
	close(c.stop)
	c.lifeMu.Unlock()
	c.cancel()
	if !c.left.Load() { // a departed node's LEFT must stay its last word
		c.gossip.AnnounceShutdown()
	}
	c.gossip.Stop()
	c.wg.Wait()
}

// startLoadLoop starts gossiping the on-disk load every loadInterval
// (from now) until Stop.
func (c *Cluster) startLoadLoop() {
	t := c.clock.NewTicker(loadInterval)
	if !c.spawn(func() { c.loadLoop(t) }) {
		t.Stop()
	}
}

// loadLoop gossips the on-disk load at every tick of t until Stop, then
// stops t.
func (c *Cluster) loadLoop(t gossip.Ticker) {
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C():
			c.gossip.SetLocalState(gossip.AppLoad, strconv.FormatUint(c.o.Engine.DiskUsage(), 10))
		}
	}
}

// interval is the gossip round.
func (c *Cluster) interval() time.Duration {
	if c.o.GossipInterval > 0 {
		return c.o.GossipInterval
	}
	return time.Second
}
