package gossip

import (
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"
)

// Transport sends an encoded gossip message to a peer: one-way and best
// effort (ringdb's messaging layer, urgent lane). Send must not block for
// long; errors are logged at debug level and otherwise ignored.
type Transport interface {
	Send(to netip.Addr, payload []byte) error
}

// maxPendingEvents bounds the events queued for subscribers; beyond it
// events are dropped and a warning logged.
const maxPendingEvents = 1 << 16

// Runtime drives a Gossiper: it owns the ticker goroutine, serialises every
// call into the Gossiper with a mutex, encodes and sends outgoing messages,
// and delivers Events to subscribers on its own goroutine.
type Runtime struct {
	mu  sync.Mutex // guards g
	g   *Gossiper
	t   Transport
	clk Clock
	iv  time.Duration
	log *slog.Logger

	subMu   sync.Mutex
	subs    []func(Event)
	batches []func([]Event)

	evMu    sync.Mutex
	pending []Event
	dropped int
	wake    chan struct{}

	// mismatchLogged is when the last cluster-mismatch WARN was written
	// and mismatchSuppressed how many were not written since (only the
	// dispatch goroutine touches them): one line per mismatchLogInterval,
	// so a peer sending foreign gossip cannot fill the node log.
	mismatchLogged     time.Time
	mismatchSuppressed int

	lifeMu  sync.Mutex
	started bool
	stopped bool
	stop    chan struct{}
	done    chan struct{}
}

// NewRuntime wraps g. interval is the gossip round interval (Cassandra's is
// one second; 0 means one second); log may be nil (discard).
func NewRuntime(g *Gossiper, t Transport, clock Clock, interval time.Duration, log *slog.Logger) *Runtime {
	if interval <= 0 {
		interval = time.Second
	}
	if clock == nil {
		clock = SystemClock()
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Runtime{g: g, t: t, clk: clock, iv: interval, log: log.With("component", "gossip"),
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
}

// Start launches the gossip goroutine. Calling it again, or after Stop,
// does nothing.
func (r *Runtime) Start() {
	r.lifeMu.Lock()
	defer r.lifeMu.Unlock()
	if r.started || r.stopped {
		return
	}
	r.started = true
	go r.loop()
}

// Stop stops the goroutine and waits for it. Events not yet delivered are
// delivered first. Stop does not announce shutdown: call AnnounceShutdown
// before it.
func (r *Runtime) Stop() {
	r.lifeMu.Lock()
	if r.stopped {
		r.lifeMu.Unlock()
		return
	}
	r.stopped = true
	started := r.started
	close(r.stop)
	r.lifeMu.Unlock()
	if started {
		<-r.done
	}
}

func (r *Runtime) loop() {
	defer close(r.done)
	tk := r.clk.NewTicker(r.iv)
	defer tk.Stop()
	for {
		select {
		case <-r.stop:
			r.dispatch()
			return
		case <-tk.C():
			r.mu.Lock()
			now := r.clk.Now()
			out := r.g.Tick(now)
			ev := r.g.Events()
			r.mu.Unlock()
			r.send(out)
			r.enqueue(ev)
			r.dispatch()
		case <-r.wake:
			r.dispatch()
		}
	}
}

// Deliver handles a gossip payload received from a peer (called by the
// messaging layer on any goroutine). Malformed payloads are logged and
// dropped.
func (r *Runtime) Deliver(from netip.Addr, payload []byte) {
	m, err := Unmarshal(payload)
	if err != nil {
		r.log.Warn("dropping malformed gossip message", "from", from, "err", err)
		return
	}
	r.mu.Lock()
	out := r.g.Handle(r.clk.Now(), from, m)
	ev := r.g.Events()
	r.mu.Unlock()
	r.send(out)
	r.enqueue(ev)
}

// Subscribe registers fn to receive every subsequent Event, on the runtime
// goroutine, in order. fn must not block for long and must not call Stop.
func (r *Runtime) Subscribe(fn func(Event)) {
	r.subMu.Lock()
	r.subs = append(r.subs, fn)
	r.subMu.Unlock()
}

// SubscribeBatch registers fn to receive every subsequent Event, on the
// runtime goroutine, in order, a batch at a time: the events of one or more
// gossip calls (a received message, a round) that were pending together. A
// subscriber that reacts to a batch as a whole (rebuilds the ring once)
// does work per batch, not per event. fn must not block for long, must not
// keep the slice and must not call Stop.
func (r *Runtime) SubscribeBatch(fn func([]Event)) {
	r.subMu.Lock()
	r.batches = append(r.batches, fn)
	r.subMu.Unlock()
}

// SetLocalState sets a local application state (see Gossiper.SetLocalState).
func (r *Runtime) SetLocalState(k ApplicationState, v string) {
	r.mu.Lock()
	r.g.SetLocalState(k, v)
	ev := r.g.Events()
	r.mu.Unlock()
	r.enqueue(ev)
}

// RemoveEndpoint forgets ep (see Gossiper.RemoveEndpoint).
func (r *Runtime) RemoveEndpoint(ep netip.Addr) {
	r.mu.Lock()
	r.g.RemoveEndpoint(ep, r.clk.Now())
	ev := r.g.Events()
	r.mu.Unlock()
	r.enqueue(ev)
}

// IsAlive reports whether ep is up.
func (r *Runtime) IsAlive(ep netip.Addr) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.g.IsAlive(ep)
}

// Snapshot returns a copy of every endpoint's state; EndpointState.Alive
// carries liveness.
func (r *Runtime) Snapshot() map[netip.Addr]EndpointState {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[netip.Addr]EndpointState, len(r.g.order))
	for _, ep := range r.g.order {
		st, _ := r.g.State(ep)
		out[ep] = st
	}
	return out
}

// Do runs fn with exclusive access to the Gossiper (for reads such as Phi or
// LiveEndpoints); events it produces are delivered to subscribers. fn must
// not keep g.
func (r *Runtime) Do(fn func(g *Gossiper, now time.Time)) {
	r.mu.Lock()
	fn(r.g, r.clk.Now())
	ev := r.g.Events()
	r.mu.Unlock()
	r.enqueue(ev)
}

// AnnounceShutdown sets STATUS to shutdown,true and tells every live peer
// (GOSSIP_SHUTDOWN); gossip stops. Cassandra then waits
// shutdown_announce_in_ms (2 s) before closing connections; the caller
// decides.
func (r *Runtime) AnnounceShutdown() {
	r.mu.Lock()
	out := r.g.Shutdown(r.clk.Now())
	ev := r.g.Events()
	r.mu.Unlock()
	r.send(out)
	r.enqueue(ev)
}

func (r *Runtime) send(out []Message) {
	for i := range out {
		if err := r.t.Send(out[i].To, out[i].Marshal()); err != nil {
			r.log.Debug("gossip send failed", "to", out[i].To, "kind", out[i].Kind, "err", err)
		}
	}
}

func (r *Runtime) enqueue(ev []Event) {
	if len(ev) == 0 {
		return
	}
	r.evMu.Lock()
	room := maxPendingEvents - len(r.pending)
	if len(ev) > room {
		r.dropped += len(ev) - room
		ev = ev[:room]
	}
	r.pending = append(r.pending, ev...)
	r.evMu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *Runtime) dispatch() {
	r.evMu.Lock()
	ev, dropped := r.pending, r.dropped
	r.pending, r.dropped = nil, 0
	r.evMu.Unlock()
	if dropped > 0 {
		r.log.Warn("gossip events dropped: subscribers too slow", "dropped", dropped)
	}
	r.subMu.Lock()
	subs, batches := r.subs, r.batches
	r.subMu.Unlock()
	for _, e := range ev {
		switch e.Kind {
		case EventStateChanged:
			v := e.Value
			if e.Key == AppCert {
				v = fmt.Sprintf("(%d bytes of DER)", len(v))
			}
			r.log.Debug("gossip state changed", "endpoint", e.Endpoint, "key", e.Key.String(), "value", v)
		case EventClusterMismatch:
			r.logMismatch(e)
		case EventRejected, EventForged:
			// Subscribers (the cluster member) log and audit refusals
			// within a rate limit.
			r.log.Debug("gossip state refused", "endpoint", e.Endpoint, "from", e.From, "kind", e.Kind.String(), "reason", e.Reason)
		default:
			r.log.Info("gossip: endpoint "+e.Kind.String(), "endpoint", e.Endpoint)
		}
		for _, fn := range subs {
			fn(e)
		}
	}
	if len(ev) > 0 {
		for _, fn := range batches {
			fn(ev)
		}
	}
}

// mismatchLogInterval bounds the cluster-mismatch WARN lines to one per
// interval.
const mismatchLogInterval = time.Minute

// logMismatch writes at most one cluster-mismatch WARN per
// mismatchLogInterval, with the count of those not written since.
func (r *Runtime) logMismatch(e Event) {
	now := r.clk.Now()
	if !r.mismatchLogged.IsZero() && now.Sub(r.mismatchLogged) < mismatchLogInterval {
		r.mismatchSuppressed++
		return
	}
	r.log.Warn("ignoring gossip from another cluster", "endpoint", e.Endpoint, "from", e.From, "cluster", e.Value,
		"suppressed_since_last", r.mismatchSuppressed)
	r.mismatchLogged, r.mismatchSuppressed = now, 0
}
