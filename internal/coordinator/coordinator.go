package coordinator

import (
	"context"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ringdb/ringdb/internal/cqlerr"
	"github.com/ringdb/ringdb/internal/messaging"
	"github.com/ringdb/ringdb/internal/paxos"
	"github.com/ringdb/ringdb/internal/ring"
	"github.com/ringdb/ringdb/internal/schema"
	"github.com/ringdb/ringdb/internal/storage"
)

// Messenger is the part of internal/messaging the coordinator uses.
type Messenger interface {
	Send(to netip.Addr, v messaging.Verb, payload []byte) error
	Request(ctx context.Context, to netip.Addr, v messaging.Verb, payload []byte) ([]byte, error)
	Handle(v messaging.Verb, h messaging.Handler)
}

// Topology is what the coordinator needs to know about the cluster.
type Topology interface {
	// Ring returns the current token metadata.
	Ring() *ring.TokenMetadata
	// IsAlive reports whether the failure detector considers ep up.
	IsAlive(ep netip.Addr) bool
	// DownSince returns when ep was marked down (false if it is up).
	DownSince(ep netip.Addr) (time.Time, bool)
	// DC returns ep's data center.
	DC(ep netip.Addr) string
	// HostID returns ep's host id.
	HostID(ep netip.Addr) ([16]byte, bool)
	// EndpointOf returns the endpoint with a host id.
	EndpointOf(id [16]byte) (netip.Addr, bool)
}

// Options configure a Coordinator. Defaults are Cassandra's.
type Options struct {
	Self      netip.Addr
	LocalDC   string
	Engine    *storage.Engine
	Schema    *schema.Manager
	Messenger Messenger
	Topology  Topology
	// WriteTimeout is write_request_timeout. Default 2s.
	WriteTimeout time.Duration
	// ReadTimeout is read_request_timeout. Default 5s.
	ReadTimeout time.Duration
	// RangeTimeout is range_request_timeout. Default 10s.
	RangeTimeout time.Duration
	// HintsEnabled is hinted_handoff_enabled. Default true (set
	// DisableHints to turn them off).
	DisableHints bool
	// MaxHintWindow is max_hint_window: no hints for a node down longer.
	// Default 3h.
	MaxHintWindow time.Duration
	// HintReplayInterval is how often stored hints are offered to live
	// targets. Default 10s.
	HintReplayInterval time.Duration
	// HintTTL is how long an undelivered hint is kept (Cassandra bounds it
	// by gc_grace_seconds, after which replaying it could resurrect
	// deleted data). Default 10 days.
	HintTTL time.Duration
	// Clock is the time source for timestamps and timeouts. Default the
	// system clock.
	Clock Clock
	// Admitted reports whether a peer may use the replica verbs (write,
	// read, hint, batchlog, truncate): the cluster's admitted members. A
	// peer whose certificate the CA signed but that never joined gets a
	// refusal, never data. Default: every authenticated peer.
	Admitted func(netip.Addr) bool
	// OnRefused is told, at most once per peer per RefusalReportInterval,
	// that a peer that is not admitted used a replica verb (for the
	// membership audit log); refused counts the refusals since the last
	// report. Optional.
	OnRefused func(from netip.Addr, verb messaging.Verb, refused int)
	// RefusalReportInterval bounds how often OnRefused hears of one peer.
	// Default 1 minute.
	RefusalReportInterval time.Duration
	// Logger; default slog.Default().
	Logger *slog.Logger
}

// Coordinator implements the query processor's Store across replicas.
//
// Every goroutine it starts is owned: client requests are admitted by
// begin, per-replica work runs through goOwned, and Stop cancels both and
// waits for them, so nothing touches the engine after Stop returns.
type Coordinator struct {
	o    Options
	log  *slog.Logger
	self netip.Addr

	// ctx is cancelled by Stop; every request context derives from it.
	ctx     context.Context
	cancel  context.CancelFunc
	lifeMu  sync.Mutex
	stopped bool
	wg      sync.WaitGroup

	stratMu sync.Mutex
	strats  map[string]stratEntry

	tables atomic.Pointer[tableIndex]

	wake          chan struct{}
	hinted        atomic.Int64 // hints stored, for metrics/tests
	replay        atomic.Int64 // hints replayed
	batchReplays  atomic.Int64 // batchlog entries replayed
	batchesLogged atomic.Int64 // logged batches written through the batchlog
	rangeRequests atomic.Int64 // range-read requests sent to replicas
	cancelled     atomic.Int64 // requests ended early by their client or Stop
	readRepairs   atomic.Int64 // replicas repaired by blocking read repair
	refusedVerbs  atomic.Int64 // replica verbs refused to peers that are not admitted

	refusalMu sync.Mutex
	refusals  map[netip.Addr]*refusalReport

	// acceptor and proposer are the replica and coordinator sides of
	// Paxos for conditional statements (paxos.go); nil without an engine.
	acceptor *paxos.Acceptor
	proposer *paxos.Proposer
}

type stratEntry struct {
	ks    *schema.Keyspace
	repl  map[string]string
	strat ring.ReplicationStrategy
	rf    map[string]int
}

type tableIndex struct {
	sch *schema.Schema
	ks  map[storage.TableID]*schema.Keyspace
}

// New returns a coordinator and registers the replica-side handlers.
func New(o Options) *Coordinator {
	if o.WriteTimeout == 0 {
		o.WriteTimeout = 2 * time.Second
	}
	if o.ReadTimeout == 0 {
		o.ReadTimeout = 5 * time.Second
	}
	if o.RangeTimeout == 0 {
		o.RangeTimeout = 10 * time.Second
	}
	if o.MaxHintWindow == 0 {
		o.MaxHintWindow = 3 * time.Hour
	}
	if o.HintReplayInterval == 0 {
		o.HintReplayInterval = 10 * time.Second
	}
	if o.HintTTL == 0 {
		o.HintTTL = 10 * 24 * time.Hour
	}
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	if o.RefusalReportInterval == 0 {
		o.RefusalReportInterval = time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	c := &Coordinator{o: o, log: o.Logger, self: o.Self, strats: map[string]stratEntry{}, wake: make(chan struct{}, 1)}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	if o.Engine != nil {
		if err := c.initPaxos(); err != nil {
			c.log.Error("paxos unavailable: conditional statements will fail", "err", err)
		}
	}
	c.registerHandlers()
	return c
}

// HintsStored returns how many hints this coordinator has written.
func (c *Coordinator) HintsStored() int64 { return c.hinted.Load() }

// HintsReplayed returns how many hints were delivered.
func (c *Coordinator) HintsReplayed() int64 { return c.replay.Load() }

// RangeRequestsSent returns how many range-read requests this coordinator
// sent to replicas (each asks one replica for one page of one range).
func (c *Coordinator) RangeRequestsSent() int64 { return c.rangeRequests.Load() }

// ReadRepairs returns how many replica versions blocking read repair
// (single-partition reads) has sent.
func (c *Coordinator) ReadRepairs() int64 { return c.readRepairs.Load() }

// RequestsCancelled returns how many requests ended early because their
// client went away or the coordinator stopped.
func (c *Coordinator) RequestsCancelled() int64 { return c.cancelled.Load() }

// NotifyUp tells the coordinator a node came up (replay its hints now).
func (c *Coordinator) NotifyUp(netip.Addr) {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// keyspaceOf maps a table id to its keyspace in the current schema.
func (c *Coordinator) keyspaceOf(id storage.TableID) (*schema.Keyspace, error) {
	sch := c.o.Schema.Current()
	ti := c.tables.Load()
	if ti == nil || ti.sch != sch {
		ti = &tableIndex{sch: sch, ks: map[storage.TableID]*schema.Keyspace{}}
		for _, k := range sch.Keyspaces {
			for _, t := range k.Tables {
				ti.ks[storage.TableID(t.ID)] = k
			}
		}
		c.tables.Store(ti)
	}
	k := ti.ks[id]
	if k == nil {
		return nil, cqlerr.Invalidf("unknown table %x (dropped concurrently?)", id[:])
	}
	return k, nil
}

// strategy returns the keyspace's replication strategy and RF per DC,
// cached per keyspace definition (definitions are immutable snapshots).
func (c *Coordinator) strategy(k *schema.Keyspace) (ring.ReplicationStrategy, map[string]int, error) {
	c.stratMu.Lock()
	e, ok := c.strats[k.Name]
	c.stratMu.Unlock()
	if ok && (e.ks == k || maps.Equal(e.repl, k.Replication)) {
		return e.strat, e.rf, nil
	}
	s, err := ring.NewStrategy(k.Replication, c.self)
	if err != nil {
		return nil, nil, cqlerr.ConfigErrorf("keyspace %s: %v", k.Name, err)
	}
	rf := map[string]int{}
	if k.ReplicationClass() == "NetworkTopologyStrategy" {
		for dc := range k.Replication {
			if dc != "class" {
				rf[dc] = s.ReplicationFactor(dc)
			}
		}
	} else {
		rf[""] = s.ReplicationFactor("")
	}
	c.stratMu.Lock()
	c.strats[k.Name] = stratEntry{ks: k, repl: maps.Clone(k.Replication), strat: s, rf: rf}
	c.stratMu.Unlock()
	return s, rf, nil
}

func (c *Coordinator) alive(ep netip.Addr) bool {
	return ep == c.self || c.o.Topology.IsAlive(ep)
}

func (c *Coordinator) dcOf(ep netip.Addr) string {
	if ep == c.self {
		return c.o.LocalDC
	}
	return c.o.Topology.DC(ep)
}

// sortByProximity orders replicas: self, then the local DC, then others.
func (c *Coordinator) sortByProximity(eps []netip.Addr) []netip.Addr {
	out := slices.Clone(eps)
	rank := func(ep netip.Addr) int {
		switch {
		case ep == c.self:
			return 0
		case c.dcOf(ep) == c.o.LocalDC:
			return 1
		}
		return 2
	}
	slices.SortStableFunc(out, func(a, b netip.Addr) int { return rank(a) - rank(b) })
	return out
}
