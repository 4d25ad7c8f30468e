package cluster

import (
	"encoding/json"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ringdb/ringdb/internal/gossip"
	"github.com/ringdb/ringdb/internal/schema"
)

// fakeGossip is a gossipRuntime whose endpoint states the test sets.
// SetLocalState and emit call the subscribers synchronously, on the
// caller's goroutine (the real runtime calls them on its own); emit then
// waits until the member's event loop has handled the event (flush).
type fakeGossip struct {
	self netip.Addr
	// flush waits for the member's event loop (set by the harness).
	flush func()

	mu       sync.Mutex
	states   map[netip.Addr]gossip.EndpointState
	subs     []func([]gossip.Event)
	history  map[gossip.ApplicationState][]string // local values set, in order
	removed  []netip.Addr                         // RemoveEndpoint calls
	version  int32
	started  bool
	stopped  bool
	shutdown bool
}

func newFakeGossip(self netip.Addr) *fakeGossip {
	return &fakeGossip{self: self, history: map[gossip.ApplicationState][]string{},
		states: map[netip.Addr]gossip.EndpointState{self: {Alive: true, States: map[gossip.ApplicationState]gossip.VersionedValue{}}}}
}

func (f *fakeGossip) Start()                     { f.mu.Lock(); f.started = true; f.mu.Unlock() }
func (f *fakeGossip) Stop()                      { f.mu.Lock(); f.stopped = true; f.mu.Unlock() }
func (f *fakeGossip) AnnounceShutdown()          { f.mu.Lock(); f.shutdown = true; f.mu.Unlock() }
func (f *fakeGossip) Deliver(netip.Addr, []byte) {}

func (f *fakeGossip) SubscribeBatch(fn func([]gossip.Event)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subs = append(f.subs, fn)
}

func (f *fakeGossip) SetLocalState(k gossip.ApplicationState, v string) {
	f.mu.Lock()
	f.version++
	f.states[f.self].States[k] = gossip.VersionedValue{Value: v, Version: f.version}
	f.history[k] = append(f.history[k], v)
	f.mu.Unlock()
	f.deliver(gossip.Event{Kind: gossip.EventStateChanged, Endpoint: f.self, Key: k, Value: v})
}

func (f *fakeGossip) IsAlive(ep netip.Addr) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.states[ep].Alive
}

func (f *fakeGossip) Snapshot() map[netip.Addr]gossip.EndpointState {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[netip.Addr]gossip.EndpointState, len(f.states))
	for ep, st := range f.states {
		out[ep] = st.Clone()
	}
	return out
}

// RemoveEndpoint forgets ep and hands EventRemoved to the subscribers
// (as the real runtime does), if gossip knew it.
func (f *fakeGossip) RemoveEndpoint(ep netip.Addr) {
	f.mu.Lock()
	_, ok := f.states[ep]
	delete(f.states, ep)
	f.removed = append(f.removed, ep)
	f.mu.Unlock()
	if ok {
		f.deliver(gossip.Event{Kind: gossip.EventRemoved, Endpoint: ep})
	}
}

// removedEndpoints returns the endpoints RemoveEndpoint was called for.
func (f *fakeGossip) removedEndpoints() []netip.Addr {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.removed)
}

// put replaces what gossip knows about ep (no event).
func (f *fakeGossip) put(ep netip.Addr, st gossip.EndpointState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.states[ep] = st.Clone()
}

// set changes one application state of ep (no event).
func (f *fakeGossip) set(ep netip.Addr, k gossip.ApplicationState, v string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.states[ep]
	if st.States == nil {
		st.States = map[gossip.ApplicationState]gossip.VersionedValue{}
	}
	st.States[k] = gossip.VersionedValue{Value: v, Version: st.MaxVersion() + 1}
	f.states[ep] = st
}

// setAlive changes ep's liveness (no event).
func (f *fakeGossip) setAlive(ep netip.Addr, alive bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.states[ep]
	st.Alive = alive
	f.states[ep] = st
}

// emit hands the events to the subscribers as one batch and waits until
// the member has handled them.
func (f *fakeGossip) emit(evs ...gossip.Event) {
	f.deliver(evs...)
	if f.flush != nil {
		f.flush()
	}
}

// deliver hands the events to the subscribers as one batch.
func (f *fakeGossip) deliver(evs ...gossip.Event) {
	f.mu.Lock()
	subs := slices.Clone(f.subs)
	f.mu.Unlock()
	for _, fn := range subs {
		fn(evs)
	}
}

// local returns the value this node gossips for k.
func (f *fakeGossip) local(k gossip.ApplicationState) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.states[f.self].States[k].Value
}

// localHistory returns the values this node set for k, in order.
func (f *fakeGossip) localHistory(k gossip.ApplicationState) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.history[k])
}

// endpointState builds an endpoint state from name/value pairs.
func endpointState(alive bool, kv map[gossip.ApplicationState]string) gossip.EndpointState {
	st := gossip.EndpointState{Alive: alive, HeartBeat: gossip.HeartBeatState{Generation: 7, Version: 42},
		States: map[gossip.ApplicationState]gossip.VersionedValue{}}
	for k, v := range kv {
		st.States[k] = gossip.VersionedValue{Value: v, Version: int32(k) + 1}
	}
	return st
}

// recorder keeps what a member told its callbacks.
type recorder struct {
	mu      sync.Mutex
	client  []string // "UP 127.0.0.2:9042", "NEW_NODE 127.0.0.2:9042", ...
	up      []netip.Addr
	changes []schema.Change
}

func (r *recorder) options(o *Options) {
	o.OnStatus = func(up bool, ap netip.AddrPort) {
		ch := changeDown
		if up {
			ch = changeUp
		}
		r.add(ch + " " + ap.String())
	}
	o.OnTopology = func(change string, ap netip.AddrPort) { r.add(change + " " + ap.String()) }
	o.OnSchema = func(ch schema.Change) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.changes = append(r.changes, ch)
	}
	o.OnUp = func(ep netip.Addr) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.up = append(r.up, ep)
	}
}

func (r *recorder) add(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.client = append(r.client, s)
}

func (r *recorder) clientEvents() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.client)
}

func (r *recorder) hasClientEvent(s string) bool { return slices.Contains(r.clientEvents(), s) }

func (r *recorder) upNotices() []netip.Addr {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.up)
}

func (r *recorder) schemaChanges() []schema.Change {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.changes)
}

// fakeRoles is a RoleSync holding a set of role names; merging is union.
type fakeRoles struct {
	mu       sync.Mutex
	names    map[string]bool
	versions atomic.Int64 // calls of Version
}

func newFakeRoles(names ...string) *fakeRoles {
	r := &fakeRoles{names: map[string]bool{}}
	for _, n := range names {
		r.names[n] = true
	}
	return r
}

func (r *fakeRoles) Export() ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return json.Marshal(slices.Sorted(maps.Keys(r.names)))
}

func (r *fakeRoles) Merge(data []byte, _ int64) (bool, error) {
	var in []string
	if err := json.Unmarshal(data, &in); err != nil {
		return false, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	changed := false
	for _, n := range in {
		if !r.names[n] {
			r.names[n], changed = true, true
		}
	}
	return changed, nil
}

func (r *fakeRoles) Version() string {
	r.versions.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	return "roles:" + strings.Join(slices.Sorted(maps.Keys(r.names)), ",")
}

func (r *fakeRoles) add(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.names[name] = true
}

func (r *fakeRoles) has(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.names[name]
}
