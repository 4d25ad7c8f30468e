package cluster

import (
	"context"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/ringdb/ringdb/internal/messaging"
)

// memNet is an in-memory Messenger fabric. A Send is delivered on a new
// goroutine the net owns (close waits for them), like messaging's
// one-way lanes; a Request runs the target's handler on the caller's
// goroutine. A verb can be dropped (its sends are lost) or held (its
// requests block until their context ends); a node can be down.
type memNet struct {
	mu       sync.Mutex
	handlers map[netip.Addr]map[messaging.Verb]messaging.Handler
	down     map[netip.Addr]bool
	dropped  map[messaging.Verb]bool
	held     map[messaging.Verb]bool
	closed   bool
	wg       sync.WaitGroup

	requests  sync.Map     // messaging.Verb -> *atomic.Int64: requests made
	pushes    atomic.Int64 // VerbSchemaPush sends delivered
	heldNow   atomic.Int64 // requests blocked in a held verb right now
	heldTotal atomic.Int64 // requests that entered a held verb
}

func newMemNet() *memNet {
	return &memNet{handlers: map[netip.Addr]map[messaging.Verb]messaging.Handler{}, down: map[netip.Addr]bool{},
		dropped: map[messaging.Verb]bool{}, held: map[messaging.Verb]bool{}}
}

// endpoint is node self's Messenger.
func (n *memNet) endpoint(self netip.Addr) Messenger { return memEndpoint{n: n, self: self} }

// setDown makes ep unreachable (or reachable again).
func (n *memNet) setDown(ep netip.Addr, down bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.down[ep] = down
}

// drop makes sends of v get lost (or delivered again).
func (n *memNet) drop(v messaging.Verb, on bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.dropped[v] = on
}

// hold makes requests of v block until their context ends.
func (n *memNet) hold(v messaging.Verb, on bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.held[v] = on
}

// requestCount returns how many requests of v were made.
func (n *memNet) requestCount(v messaging.Verb) int64 {
	c, _ := n.requests.LoadOrStore(v, new(atomic.Int64))
	return c.(*atomic.Int64).Load()
}

// close refuses further messages and waits for the deliveries in
// flight.
func (n *memNet) close() {
	n.mu.Lock()
	n.closed = true
	n.mu.Unlock()
	n.wg.Wait()
}

// route returns the handler of v at to, or nil when to is unreachable.
func (n *memNet) route(to netip.Addr, v messaging.Verb) (h messaging.Handler, dropped, held bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed || n.down[to] {
		return nil, false, false
	}
	return n.handlers[to][v], n.dropped[v], n.held[v]
}

type memEndpoint struct {
	n    *memNet
	self netip.Addr
}

func (e memEndpoint) Handle(v messaging.Verb, h messaging.Handler) {
	e.n.mu.Lock()
	defer e.n.mu.Unlock()
	if e.n.handlers[e.self] == nil {
		e.n.handlers[e.self] = map[messaging.Verb]messaging.Handler{}
	}
	e.n.handlers[e.self][v] = h
}

func (e memEndpoint) Send(to netip.Addr, v messaging.Verb, payload []byte) error {
	e.n.mu.Lock()
	defer e.n.mu.Unlock()
	h := e.n.handlers[to][v]
	if e.n.closed || e.n.down[to] || e.n.down[e.self] || h == nil {
		return messaging.ErrClosed
	}
	if e.n.dropped[v] {
		return nil
	}
	if v == messaging.VerbSchemaPush {
		e.n.pushes.Add(1)
	}
	payload = append([]byte(nil), payload...)
	e.n.wg.Add(1)
	go func() {
		defer e.n.wg.Done()
		_, _ = h(context.Background(), e.self, payload)
	}()
	return nil
}

func (e memEndpoint) Request(ctx context.Context, to netip.Addr, v messaging.Verb, payload []byte) ([]byte, error) {
	c, _ := e.n.requests.LoadOrStore(v, new(atomic.Int64))
	c.(*atomic.Int64).Add(1)
	h, _, held := e.n.route(to, v)
	if h == nil {
		return nil, messaging.ErrClosed
	}
	if held {
		e.n.heldTotal.Add(1)
		e.n.heldNow.Add(1)
		defer e.n.heldNow.Add(-1)
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return h(ctx, e.self, append([]byte(nil), payload...))
}
