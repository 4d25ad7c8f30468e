package coordinator

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ringdb/ringdb/internal/cqlerr"
	"github.com/ringdb/ringdb/internal/messaging"
	"github.com/ringdb/ringdb/internal/protocol/frame"
	"github.com/ringdb/ringdb/internal/query"
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
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger; default slog.Default().
	Logger *slog.Logger
}

// Coordinator implements query.Store across replicas.
type Coordinator struct {
	o    Options
	log  *slog.Logger
	self netip.Addr

	stratMu sync.Mutex
	strats  map[string]stratEntry

	tables atomic.Pointer[tableIndex]

	stop          chan struct{}
	done          chan struct{}
	wake          chan struct{}
	hinted        atomic.Int64 // hints stored, for metrics/tests
	replay        atomic.Int64 // hints replayed
	batchReplays  atomic.Int64 // batchlog entries replayed
	batchesLogged atomic.Int64 // logged batches written through the batchlog
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

var _ query.Store = (*Coordinator)(nil)

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
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	c := &Coordinator{o: o, log: o.Logger, self: o.Self, strats: map[string]stratEntry{},
		stop: make(chan struct{}), done: make(chan struct{}), wake: make(chan struct{}, 1)}
	c.registerHandlers()
	return c
}

// Start starts the hint replay loop.
func (c *Coordinator) Start() { go c.hintLoop() }

// Stop stops the hint replay loop.
func (c *Coordinator) Stop() {
	select {
	case <-c.stop:
		return
	default:
	}
	close(c.stop)
	<-c.done
}

// HintsStored returns how many hints this coordinator has written.
func (c *Coordinator) HintsStored() int64 { return c.hinted.Load() }

// HintsReplayed returns how many hints were delivered.
func (c *Coordinator) HintsReplayed() int64 { return c.replay.Load() }

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

// ReplicatedLWT reports whether k has more than one replica (conditional
// statements then need Paxos).
func (c *Coordinator) ReplicatedLWT(k *schema.Keyspace) bool {
	_, rf, err := c.strategy(k)
	if err != nil {
		return true
	}
	n := 0
	for _, v := range rf {
		n += v
	}
	return n > 1
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

// ---- writes ----

// Apply implements query.Store. Mutations whose partitions have the same
// replicas (always, on one node) travel together and each replica applies
// them in one atomic storage batch.
func (c *Coordinator) Apply(ctx context.Context, muts []*storage.Mutation, cl frame.Consistency, writeType string) error {
	if cl.IsSerial() {
		return cqlerr.Invalidf("You must use conditional updates for serializable writes")
	}
	groups, err := c.groupWrites(muts)
	if err != nil {
		return err
	}
	if len(groups) == 1 {
		return c.write(groups[0], cl, writeType)
	}
	// A logged batch spanning replica sets goes through the batchlog.
	if writeType == query.WriteBatch {
		for _, g := range groups {
			if err := c.checkAvailable(g, cl); err != nil {
				return err
			}
		}
		id, holders, err := c.storeBatch(muts)
		if err != nil {
			return fmt.Errorf("storing the batch in the batchlog: %w", err)
		}
		if err := c.applyGroups(groups, cl, writeType); err != nil {
			return err // the batchlog entries stay: the batch will be replayed
		}
		c.removeBatch(id, holders)
		c.batchesLogged.Add(1)
		return nil
	}
	return c.applyGroups(groups, cl, writeType)
}

// applyGroups writes the groups concurrently and returns the first error.
func (c *Coordinator) applyGroups(groups []*writeGroup, cl frame.Consistency, writeType string) error {
	errs := make(chan error, len(groups))
	for _, g := range groups {
		go func(g *writeGroup) { errs <- c.write(g, cl, writeType) }(g)
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

// checkAvailable returns Unavailable when too few of g's replicas are up
// for cl (ANY needs none).
func (c *Coordinator) checkAvailable(g *writeGroup, cl frame.Consistency) error {
	if cl == frame.Any {
		return nil
	}
	block, perDC, err := blockFor(cl, g.rf, c.o.LocalDC)
	if err != nil {
		return err
	}
	if perDC == nil {
		block += g.pending
	}
	var live []netip.Addr
	for _, ep := range g.targets {
		if c.alive(ep) {
			live = append(live, ep)
		}
	}
	return newTracker(cl, block, perDC, c.o.LocalDC, c.dcOf).available(live)
}

func (c *Coordinator) write(g *writeGroup, cl frame.Consistency, writeType string) error {
	targets := g.targets
	block, perDC, err := blockFor(cl, g.rf, c.o.LocalDC)
	if err != nil {
		return err
	}
	if perDC == nil && cl != frame.Any {
		block += g.pending
	}
	tr := newTracker(cl, block, perDC, c.o.LocalDC, c.dcOf)
	var live []netip.Addr
	for _, ep := range targets {
		if c.alive(ep) {
			live = append(live, ep)
		}
	}
	hint := func(ep netip.Addr, force bool) error {
		for _, m := range g.muts {
			if err := c.storeHint(ep, m, force); err != nil {
				return err
			}
		}
		return nil
	}
	if cl == frame.Any {
		if len(live) == 0 {
			for _, ep := range targets {
				if err := hint(ep, true); err != nil {
					return err
				}
			}
			return nil
		}
	} else if err := tr.available(live); err != nil {
		return err
	}
	// Fast path: the only replica is this node.
	if len(targets) == 1 && targets[0] == c.self {
		if err := c.o.Engine.Apply(g.muts); err != nil {
			return err
		}
		tr.ack(c.self)
		if tr.done() || cl == frame.Any {
			return nil
		}
		return writeTimeout(cl, tr.received, block, writeType)
	}
	var payload []byte
	results := make(chan response, len(targets))
	sent := 0
	local := false
	for _, ep := range targets {
		if !c.alive(ep) {
			_ = hint(ep, false)
			continue
		}
		sent++
		if ep == c.self {
			local = true // applied below, on this goroutine
			continue
		}
		if payload == nil {
			payload = encodeMutations(g.muts)
		}
		go func(ep netip.Addr) {
			rctx, cancel := context.WithTimeout(context.Background(), c.o.WriteTimeout)
			defer cancel()
			_, err := c.o.Messenger.Request(rctx, ep, messaging.VerbMutation, payload)
			if err != nil {
				_ = hint(ep, false) // timed out or failed: hint it
			}
			results <- response{ep: ep, err: err}
		}(ep)
	}
	if local {
		results <- response{ep: c.self, err: c.o.Engine.Apply(g.muts)}
	}
	timer := time.NewTimer(c.o.WriteTimeout)
	defer timer.Stop()
	got := 0
	for got < sent {
		select {
		case r := <-results:
			got++
			if r.err == nil {
				if cl == frame.Any {
					return nil
				}
				tr.ack(r.ep)
				if tr.done() {
					return nil
				}
			}
		case <-timer.C:
			return writeTimeout(cl, tr.received, block, writeType)
		}
	}
	if cl == frame.Any {
		return nil // hints stored for the failures
	}
	return writeTimeout(cl, tr.received, block, writeType)
}

// storeHint keeps m for ep if hints are on and ep has not been down
// longer than the hint window. force ignores the window (CL ANY).
func (c *Coordinator) storeHint(ep netip.Addr, m *storage.Mutation, force bool) error {
	if c.o.DisableHints && !force {
		return nil
	}
	if since, down := c.o.Topology.DownSince(ep); down && !force && c.o.Now().Sub(since) > c.o.MaxHintWindow {
		return nil
	}
	id, ok := c.o.Topology.HostID(ep)
	if !ok {
		return nil
	}
	if err := c.o.Engine.StoreHint(id, c.o.Now(), m); err != nil {
		c.log.Error("storing hint failed", "target", ep.String(), "err", err)
		return err
	}
	c.hinted.Add(1)
	return nil
}

// ---- single-partition reads ----

// readTargets picks the replicas a read contacts: the closest live ones,
// enough for cl (per DC for EACH_QUORUM, local DC for LOCAL_*).
func (c *Coordinator) readTargets(k *schema.Keyspace, token int64, cl frame.Consistency) ([]netip.Addr, int, error) {
	strat, rf, err := c.strategy(k)
	if err != nil {
		return nil, 0, err
	}
	natural := strat.NaturalEndpoints(c.o.Topology.Ring(), token)
	if len(natural) == 0 {
		natural = []netip.Addr{c.self}
	}
	block, perDC, err := blockFor(cl, rf, c.o.LocalDC)
	if err != nil {
		return nil, 0, err
	}
	if cl == frame.Any {
		return nil, 0, cqlerr.Invalidf("ANY ConsistencyLevel is only supported for writes")
	}
	tr := newTracker(cl, block, perDC, c.o.LocalDC, c.dcOf)
	var live []netip.Addr
	for _, ep := range c.sortByProximity(natural) {
		if c.alive(ep) {
			live = append(live, ep)
		}
	}
	if err := tr.available(live); err != nil {
		return nil, 0, err
	}
	var targets []netip.Addr
	if perDC != nil {
		need := map[string]int{}
		for dc, n := range perDC {
			need[dc] = n
		}
		for _, ep := range live {
			if dc := c.dcOf(ep); need[dc] > 0 {
				need[dc]--
				targets = append(targets, ep)
			}
		}
	} else {
		for _, ep := range live {
			if len(targets) == block {
				break
			}
			if isLocalCL(cl) && c.dcOf(ep) != c.o.LocalDC {
				continue
			}
			targets = append(targets, ep)
		}
	}
	return targets, block, nil
}

// digestOf is the digest of a (possibly absent) partition.
func digestOf(m *storage.Mutation) []byte {
	if m == nil {
		return []byte{0}
	}
	return storage.Digest(m)
}

// ReadPartition implements query.Store.
func (c *Coordinator) ReadPartition(ctx context.Context, t *schema.Table, token int64, key []byte, q storage.PartitionQuery, cl frame.Consistency, fn func(*storage.Row) bool) error {
	k, err := c.keyspaceOf(storage.TableID(t.ID))
	if err != nil {
		return err
	}
	targets, block, err := c.readTargets(k, token, cl)
	if err != nil {
		return err
	}
	tid := storage.TableID(t.ID)
	if len(targets) == 1 && targets[0] == c.self {
		return c.o.Engine.ReadPartition(tid, token, key, q, fn)
	}
	// Replicas answer the whole slice: with a row limit, replicas that
	// disagree could each stop at different rows and the merge could not
	// tell a row deleted on one replica from a row it never read (the
	// short-read problem). The limit applies after reconciliation.
	rq := q
	rq.Limit = 0
	m, err := c.readReconciled(tid, token, key, rq, cl, targets, block)
	if err != nil {
		return err
	}
	if m == nil {
		return nil
	}
	return storage.ReadMutation(m, q, c.o.Now(), fn)
}

// readFrom asks one replica for data or a digest.
func (c *Coordinator) readFrom(ctx context.Context, ep netip.Addr, cmd *readCommand) response {
	if ep == c.self {
		m, err := c.o.Engine.ReadPartitionRawQuery(cmd.table, cmd.token, cmd.key, cmd.q)
		if err != nil {
			return response{ep: ep, err: err}
		}
		if cmd.digest {
			return response{ep: ep, data: digestOf(m)}
		}
		return response{ep: ep, m: m, data: digestOf(m)}
	}
	verb := messaging.VerbRead
	if cmd.digest {
		verb = messaging.VerbReadDigest
	}
	b, err := c.o.Messenger.Request(ctx, ep, verb, encodeRead(cmd))
	if err != nil {
		return response{ep: ep, err: err}
	}
	if cmd.digest {
		return response{ep: ep, data: b}
	}
	ms, err := decodeMutations(b)
	if err != nil {
		return response{ep: ep, err: err}
	}
	var m *storage.Mutation
	if len(ms) > 0 {
		m = ms[0]
	}
	return response{ep: ep, m: m, data: digestOf(m)}
}

// readReconciled runs the data + digest protocol and, on a digest
// mismatch, full data reads and blocking read repair.
func (c *Coordinator) readReconciled(tid storage.TableID, token int64, key []byte, q storage.PartitionQuery, cl frame.Consistency, targets []netip.Addr, block int) (*storage.Mutation, error) {
	ctx, cancel := context.WithTimeout(context.Background(), c.o.ReadTimeout)
	defer cancel()
	results := make(chan response, len(targets))
	for i, ep := range targets {
		cmd := &readCommand{table: tid, token: token, key: key, q: q, digest: i > 0}
		go func(ep netip.Addr) { results <- c.readFrom(ctx, ep, cmd) }(ep)
	}
	var data *response
	digests := map[netip.Addr][]byte{}
	received := 0
	for i := 0; i < len(targets); i++ {
		select {
		case r := <-results:
			if r.err != nil {
				continue
			}
			received++
			digests[r.ep] = r.data
			if r.ep == targets[0] {
				rr := r
				data = &rr
			}
		case <-ctx.Done():
			return nil, readTimeout(cl, received, block, data != nil)
		}
	}
	if received < len(targets) || data == nil {
		return nil, readTimeout(cl, received, block, data != nil)
	}
	match := true
	for _, d := range digests {
		if !bytes.Equal(d, data.data) {
			match = false
		}
	}
	if match {
		return data.m, nil
	}
	// Digest mismatch: full data from every target, reconcile, repair.
	full := make(chan response, len(targets))
	for _, ep := range targets {
		cmd := &readCommand{table: tid, token: token, key: key, q: q}
		go func(ep netip.Addr) { full <- c.readFrom(ctx, ep, cmd) }(ep)
	}
	versions := map[netip.Addr]*storage.Mutation{}
	var all []*storage.Mutation
	for i := 0; i < len(targets); i++ {
		select {
		case r := <-full:
			if r.err != nil {
				return nil, readTimeout(cl, len(versions), block, true)
			}
			versions[r.ep] = r.m
			if r.m != nil {
				all = append(all, r.m)
			}
		case <-ctx.Done():
			return nil, readTimeout(cl, len(versions), block, true)
		}
	}
	if len(all) == 0 {
		return nil, nil
	}
	merged := storage.MergeMutations(all...)
	want := digestOf(merged)
	payload := encodeMutations([]*storage.Mutation{merged})
	repairs := make(chan error, len(targets))
	n := 0
	for ep, m := range versions {
		if bytes.Equal(digestOf(m), want) {
			continue
		}
		n++
		go func(ep netip.Addr) {
			if ep == c.self {
				repairs <- c.o.Engine.Apply([]*storage.Mutation{merged})
				return
			}
			_, err := c.o.Messenger.Request(ctx, ep, messaging.VerbMutation, payload)
			repairs <- err
		}(ep)
	}
	for i := 0; i < n; i++ {
		select {
		case err := <-repairs:
			if err != nil {
				c.log.Warn("read repair failed", "err", err)
			}
		case <-ctx.Done():
			return nil, readTimeout(cl, block, block, true)
		}
	}
	if n > 0 {
		c.log.Debug("read repair", "replicas_repaired", n)
	}
	return merged, nil
}

// ---- range reads ----

// rangePiece is a contiguous token interval (start excluded unless
// startInclusive, end included) with one replica set.
type rangePiece struct {
	start          int64
	startInclusive bool
	end            int64
	replicaToken   int64
}

// pieces splits the ring into pieces in token order from MinToken.
func pieces(tm *ring.TokenMetadata) []rangePiece {
	toks := tm.SortedTokens()
	if len(toks) == 0 {
		return []rangePiece{{start: ring.MinToken, startInclusive: true, end: ring.MaxToken, replicaToken: ring.MinToken}}
	}
	var out []rangePiece
	out = append(out, rangePiece{start: ring.MinToken, startInclusive: true, end: toks[0], replicaToken: toks[0]})
	for i := 1; i < len(toks); i++ {
		out = append(out, rangePiece{start: toks[i-1], end: toks[i], replicaToken: toks[i]})
	}
	if toks[len(toks)-1] != ring.MaxToken {
		out = append(out, rangePiece{start: toks[len(toks)-1], end: ring.MaxToken, replicaToken: toks[0]})
	}
	return out
}

// ScanPartitions implements query.Store.
func (c *Coordinator) ScanPartitions(ctx context.Context, t *schema.Table, start storage.PartitionPos, endToken int64, q storage.PartitionQuery, cl frame.Consistency, fn func(int64, []byte, query.RowsFunc) bool) error {
	k, err := c.keyspaceOf(storage.TableID(t.ID))
	if err != nil {
		return err
	}
	tid := storage.TableID(t.ID)
	pos := start
	for _, pc := range pieces(c.o.Topology.Ring()) {
		// Skip pieces entirely before the start position or after the end.
		if pc.end < pos.Token || (pc.end == pos.Token && pos.Key == nil && !pos.Inclusive) {
			continue
		}
		if !pc.startInclusive && pc.start >= endToken {
			break
		}
		if pc.startInclusive && pc.start > endToken {
			break
		}
		pieceStart := pos
		if pc.start > pos.Token || (pc.start == pos.Token && !pc.startInclusive && (pos.Key != nil || pos.Inclusive)) {
			pieceStart = storage.PartitionPos{Token: pc.start, Inclusive: pc.startInclusive}
		}
		pieceEnd := min(pc.end, endToken)
		cont, err := c.scanPiece(ctx, k, tid, pc.replicaToken, pieceStart, pieceEnd, q, cl, fn)
		if err != nil || !cont {
			return err
		}
		if pieceEnd == endToken {
			return nil
		}
		pos = storage.PartitionPos{Token: pieceEnd, Inclusive: false}
	}
	return nil
}

const rangePage = 128

func (c *Coordinator) scanPiece(ctx context.Context, k *schema.Keyspace, tid storage.TableID, replicaToken int64, start storage.PartitionPos, end int64, q storage.PartitionQuery, cl frame.Consistency, fn func(int64, []byte, query.RowsFunc) bool) (bool, error) {
	targets, block, err := c.readTargets(k, replicaToken, cl)
	if err != nil {
		return false, err
	}
	if len(targets) == 1 && targets[0] == c.self {
		cont := true
		err := c.o.Engine.ScanPartitions(tid, start, end, func(token int64, key []byte) bool {
			kk := append([]byte(nil), key...)
			cont = fn(token, kk, func(rf func(*storage.Row) bool) error {
				return c.o.Engine.ReadPartition(tid, token, kk, q, rf)
			})
			return cont && ctx.Err() == nil
		})
		return cont, err
	}
	for {
		rctx, cancel := context.WithTimeout(context.Background(), c.o.RangeTimeout)
		cmd := &rangeCommand{table: tid, start: start, endToken: end, q: q, maxPartitions: rangePage}
		results := make(chan struct {
			ep  netip.Addr
			ms  []*storage.Mutation
			err error
		}, len(targets))
		for _, ep := range targets {
			go func(ep netip.Addr) {
				var ms []*storage.Mutation
				var err error
				if ep == c.self {
					ms, err = c.localRange(cmd)
				} else {
					var b []byte
					if b, err = c.o.Messenger.Request(rctx, ep, messaging.VerbRangeRead, encodeRange(cmd)); err == nil {
						ms, err = decodeMutations(b)
					}
				}
				results <- struct {
					ep  netip.Addr
					ms  []*storage.Mutation
					err error
				}{ep, ms, err}
			}(ep)
		}
		var lists [][]*storage.Mutation
		var from []netip.Addr
		var limit *storage.Mutation // smallest last partition among full pages
		for range targets {
			r := <-results
			if r.err != nil {
				cancel()
				return false, readTimeout(cl, len(lists), block, false)
			}
			lists = append(lists, r.ms)
			from = append(from, r.ep)
			if len(r.ms) == rangePage {
				last := r.ms[len(r.ms)-1]
				if limit == nil || posLess(last, limit) {
					limit = last
				}
			}
		}
		cancel()
		merged := mergeLists(lists, limit)
		if len(lists) > 1 {
			c.repairRange(from, lists, merged)
		}
		for _, m := range merged {
			mm := m
			if !fn(m.Token, m.Key, func(rf func(*storage.Row) bool) error {
				return storage.ReadMutation(mm, q, c.o.Now(), rf)
			}) {
				return false, nil
			}
		}
		if limit == nil {
			return true, nil
		}
		start = storage.PartitionPos{Token: limit.Token, Key: limit.Key, Inclusive: false}
	}
}

// repairRange sends each replica the reconciled version of every
// partition it returned differently or not at all (blocking read repair of
// a range read), bounded by the write timeout.
func (c *Coordinator) repairRange(from []netip.Addr, lists [][]*storage.Mutation, merged []*storage.Mutation) {
	type pos struct {
		token int64
		key   string
	}
	repairs := map[netip.Addr][]*storage.Mutation{}
	for i, l := range lists {
		have := make(map[pos]*storage.Mutation, len(l))
		for _, m := range l {
			have[pos{m.Token, string(m.Key)}] = m
		}
		for _, m := range merged {
			if !bytes.Equal(digestOf(have[pos{m.Token, string(m.Key)}]), digestOf(m)) {
				repairs[from[i]] = append(repairs[from[i]], m)
			}
		}
	}
	if len(repairs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.o.WriteTimeout)
	defer cancel()
	done := make(chan error, len(repairs))
	for ep, ms := range repairs {
		go func(ep netip.Addr, ms []*storage.Mutation) {
			if ep == c.self {
				done <- c.o.Engine.Apply(ms)
				return
			}
			_, err := c.o.Messenger.Request(ctx, ep, messaging.VerbMutation, encodeMutations(ms))
			done <- err
		}(ep, ms)
	}
	for range repairs {
		if err := <-done; err != nil {
			c.log.Warn("range read repair failed", "err", err)
		}
	}
}

func posLess(a, b *storage.Mutation) bool {
	if a.Token != b.Token {
		return a.Token < b.Token
	}
	return bytes.Compare(a.Key, b.Key) < 0
}

// mergeLists merges replicas' partition lists by (token, key), keeping
// only partitions up to and including limit (when set).
func mergeLists(lists [][]*storage.Mutation, limit *storage.Mutation) []*storage.Mutation {
	var all []*storage.Mutation
	for _, l := range lists {
		for _, m := range l {
			if limit != nil && posLess(limit, m) {
				continue
			}
			all = append(all, m)
		}
	}
	slices.SortStableFunc(all, func(a, b *storage.Mutation) int {
		if posLess(a, b) {
			return -1
		}
		if posLess(b, a) {
			return 1
		}
		return 0
	})
	var out []*storage.Mutation
	for i := 0; i < len(all); {
		j := i + 1
		for j < len(all) && all[j].Token == all[i].Token && bytes.Equal(all[j].Key, all[i].Key) {
			j++
		}
		if j-i == 1 {
			out = append(out, all[i])
		} else {
			out = append(out, storage.MergeMutations(all[i:j]...))
		}
		i = j
	}
	return out
}

func (c *Coordinator) localRange(cmd *rangeCommand) ([]*storage.Mutation, error) {
	var out []*storage.Mutation
	err := c.o.Engine.ScanRaw(cmd.table, cmd.start, cmd.endToken, cmd.q, cmd.maxPartitions, func(m *storage.Mutation) bool {
		out = append(out, m)
		return true
	})
	return out, err
}

// ---- truncate ----

// Truncate implements query.Store: every node must be up.
func (c *Coordinator) Truncate(ctx context.Context, t *schema.Table) error {
	tid := storage.TableID(t.ID)
	eps := c.o.Topology.Ring().Endpoints()
	for _, ep := range eps {
		if !c.alive(ep) {
			return &cqlerr.Error{Code: cqlerr.Unavailable, Consistency: uint16(frame.All), Required: int32(len(eps)),
				Message: "Cannot achieve consistency level ALL: truncate needs every node up (" + ep.String() + " is down)"}
		}
	}
	if !slices.Contains(eps, c.self) {
		eps = append(eps, c.self)
	}
	rctx, cancel := context.WithTimeout(context.Background(), c.o.RangeTimeout)
	defer cancel()
	errs := make(chan error, len(eps))
	for _, ep := range eps {
		go func(ep netip.Addr) {
			if ep == c.self {
				errs <- c.o.Engine.TruncateTable(tid, c.o.Now())
				return
			}
			_, err := c.o.Messenger.Request(rctx, ep, messaging.VerbTruncate, tid[:])
			errs <- err
		}(ep)
	}
	for range eps {
		if err := <-errs; err != nil {
			return &cqlerr.Error{Code: cqlerr.TruncateError, Message: "Error during truncate: " + err.Error()}
		}
	}
	return nil
}

// ---- replica side ----

func (c *Coordinator) registerHandlers() {
	m := c.o.Messenger
	if m == nil {
		return
	}
	apply := func(_ context.Context, _ netip.Addr, payload []byte) ([]byte, error) {
		ms, err := decodeMutations(payload)
		if err != nil {
			return nil, err
		}
		for _, mu := range ms {
			if _, err := c.keyspaceOf(mu.Table); err != nil {
				return nil, fmt.Errorf("mutation for unknown table %x: schema not yet in agreement", mu.Table[:])
			}
		}
		return nil, c.o.Engine.Apply(ms)
	}
	m.Handle(messaging.VerbMutation, apply)
	m.Handle(messaging.VerbHint, apply)
	read := func(_ context.Context, _ netip.Addr, payload []byte) ([]byte, error) {
		cmd, err := decodeRead(payload)
		if err != nil {
			return nil, err
		}
		mu, err := c.o.Engine.ReadPartitionRawQuery(cmd.table, cmd.token, cmd.key, cmd.q)
		if err != nil {
			return nil, err
		}
		if cmd.digest {
			return digestOf(mu), nil
		}
		if mu == nil {
			return encodeMutations(nil), nil
		}
		return encodeMutations([]*storage.Mutation{mu}), nil
	}
	m.Handle(messaging.VerbRead, read)
	m.Handle(messaging.VerbReadDigest, read)
	m.Handle(messaging.VerbRangeRead, func(_ context.Context, _ netip.Addr, payload []byte) ([]byte, error) {
		cmd, err := decodeRange(payload)
		if err != nil {
			return nil, err
		}
		if cmd.maxPartitions <= 0 || cmd.maxPartitions > 1000 {
			cmd.maxPartitions = rangePage
		}
		ms, err := c.localRange(cmd)
		if err != nil {
			return nil, err
		}
		return encodeMutations(ms), nil
	})
	c.registerBatchlogHandlers()
	m.Handle(messaging.VerbTruncate, func(_ context.Context, _ netip.Addr, payload []byte) ([]byte, error) {
		if len(payload) != 16 {
			return nil, fmt.Errorf("bad truncate payload")
		}
		var tid storage.TableID
		copy(tid[:], payload)
		return nil, c.o.Engine.TruncateTable(tid, c.o.Now())
	})
}

// ---- hints ----

func (c *Coordinator) hintLoop() {
	defer close(c.done)
	t := time.NewTicker(c.o.HintReplayInterval)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		case <-c.wake:
		}
		c.replayHints()
		c.replayBatchlog()
	}
}

// replayHints delivers stored hints to every live target, oldest first,
// deleting each once acknowledged.
func (c *Coordinator) replayHints() {
	if n, err := c.o.Engine.DeleteHintsOlderThan(c.o.Now().Add(-c.o.HintTTL)); err != nil {
		c.log.Error("expiring old hints failed", "err", err)
	} else if n > 0 {
		c.log.Warn("dropped undelivered hints older than the hint TTL; run repair on their targets", "count", n)
	}
	targets, err := c.o.Engine.HintTargets()
	if err != nil {
		c.log.Error("listing hint targets failed", "err", err)
		return
	}
	for _, id := range targets {
		ep, ok := c.o.Topology.EndpointOf(id)
		if !ok || !c.alive(ep) {
			continue
		}
		delivered := 0
		_ = c.o.Engine.Hints(id, func(hid []byte, created time.Time, m *storage.Mutation) bool {
			select {
			case <-c.stop:
				return false
			default:
			}
			if at, ok, err := c.o.Engine.TruncatedAt(m.Table); err == nil && ok && created.Before(at) {
				_ = c.o.Engine.DeleteHint(id, append([]byte(nil), hid...)) // the table was truncated since
				return true
			}
			ctx, cancel := context.WithTimeout(context.Background(), c.o.WriteTimeout)
			defer cancel()
			var err error
			if ep == c.self {
				err = c.o.Engine.Apply([]*storage.Mutation{m})
			} else {
				_, err = c.o.Messenger.Request(ctx, ep, messaging.VerbHint, encodeMutations([]*storage.Mutation{m}))
			}
			if err != nil {
				c.log.Debug("hint delivery failed; will retry", "target", ep.String(), "err", err)
				return false
			}
			if err := c.o.Engine.DeleteHint(id, append([]byte(nil), hid...)); err != nil {
				c.log.Error("deleting delivered hint failed", "err", err)
				return false
			}
			delivered++
			c.replay.Add(1)
			return true
		})
		if delivered > 0 {
			c.log.Info("replayed hints", "target", ep.String(), "count", delivered)
		}
	}
}
