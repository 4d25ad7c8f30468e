package gossip

import (
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// memTransport delivers payloads to the destination runtime on a new
// goroutine, as a messaging layer would.
type memTransport struct {
	mu    sync.Mutex
	peers map[netip.Addr]*Runtime
	self  netip.Addr
	wg    *sync.WaitGroup
}

func (m *memTransport) Send(to netip.Addr, payload []byte) error {
	m.mu.Lock()
	r := m.peers[to]
	m.mu.Unlock()
	if r == nil {
		return errors.New("unreachable")
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		r.Deliver(m.self, payload)
	}()
	return nil
}

// fakeClock's tickers fire when the test calls advance.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	tickers []*fakeTicker
}

type fakeTicker struct{ c chan time.Time }

func (t *fakeTicker) C() <-chan time.Time { return t.c }
func (t *fakeTicker) Stop()               {}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) NewTicker(time.Duration) Ticker {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTicker{c: make(chan time.Time, 1)}
	c.tickers = append(c.tickers, t)
	return t
}
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	ts := c.tickers
	now := c.now
	c.mu.Unlock()
	for _, t := range ts {
		select {
		case t.c <- now:
		default:
		}
	}
}

func TestRuntimeTwoNodes(t *testing.T) {
	clk := &fakeClock{now: t0}
	var wg sync.WaitGroup
	peers := map[netip.Addr]*Runtime{}
	var trs []*memTransport
	var rts []*Runtime
	events := make(chan Event, 1000)
	for _, ip := range []netip.Addr{ipA, ipB} {
		g := New(Config{Self: ip, ClusterName: "rt", Seeds: []netip.Addr{ipA}}, t0)
		tr := &memTransport{peers: peers, self: ip, wg: &wg}
		r := NewRuntime(g, tr, clk, time.Second, nil)
		trs = append(trs, tr)
		rts = append(rts, r)
	}
	for i, tr := range trs {
		tr.mu.Lock()
		peers[[]netip.Addr{ipA, ipB}[i]] = rts[i]
		tr.mu.Unlock()
	}
	// The peers map is complete before any runtime starts.
	rts[0].Subscribe(func(e Event) { events <- e })
	rts[1].SetLocalState(AppStatus, NormalStatus(9))
	for _, r := range rts {
		r.Start()
		r.Start() // idempotent
	}
	deadline := time.Now().Add(10 * time.Second)
	for !(rts[0].IsAlive(ipB) && rts[1].IsAlive(ipA)) {
		if time.Now().After(deadline) {
			t.Fatal("runtimes did not converge")
		}
		clk.advance(time.Second)
		time.Sleep(5 * time.Millisecond)
	}
	snap := rts[0].Snapshot()
	if st := snap[ipB]; !st.Alive || st.States[AppStatus].Value != NormalStatus(9) {
		t.Fatalf("snapshot %+v", snap)
	}
	var sawAlive bool
	timeout := time.After(5 * time.Second)
	for !sawAlive {
		select {
		case e := <-events:
			sawAlive = e.Kind == EventAlive && e.Endpoint == ipB
		case <-timeout:
			t.Fatal("no alive event delivered to the subscriber")
		}
	}
	rts[1].AnnounceShutdown()
	wg.Wait()
	if rts[0].IsAlive(ipB) {
		t.Fatal("B alive after announcing shutdown")
	}
	var phi float64
	rts[0].Do(func(g *Gossiper, now time.Time) { phi, _ = g.Phi(ipB, now) })
	_ = phi
	rts[0].Deliver(ipB, []byte{0xde, 0xad}) // malformed: logged and dropped
	for _, r := range rts {
		r.Stop()
		r.Stop()
	}
	wg.Wait()
}
