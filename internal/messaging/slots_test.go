package messaging

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"github.com/ringdb/ringdb/internal/testnet"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// dialAs completes TLS and the ringdb handshake to a node as ip (its
// certificate, its source address) on lane ln, like a peer's dialer would,
// and returns the connection with no deadline.
func dialAs(t *testing.T, ca *testCA, cert tls.Certificate, ip string, to netip.Addr, port int, ln lane) *tls.Conn {
	t.Helper()
	tc := tlsFrom(t, ip, to, port, clientConfig(ca, cert))
	h := appendHello(nil, hello{minVersion: protoMin, maxVersion: protoMax, clusterID: testCluster, addr: netip.MustParseAddr(ip), lane: ln})
	if _, err := tc.Write(h); err != nil {
		t.Fatal(err)
	}
	acc, err := readAccept(tc)
	if err != nil || acc.addr != to {
		t.Fatalf("handshake as %s: %+v, %v", ip, acc, err)
	}
	tc.SetDeadline(time.Time{})
	return tc
}

// roundTrip sends one request frame on a hand-made connection and reads
// the response (within 5 s).
func roundTrip(c *tls.Conn, v Verb, id uint64, payload []byte) (frame, error) {
	c.SetDeadline(time.Now().Add(5 * time.Second))
	defer c.SetDeadline(time.Time{})
	if _, err := c.Write(encodeFrame(v, kindRequest, id, payload)); err != nil {
		return frame{}, err
	}
	return readFrame(c, DefaultMaxFrameSize)
}

// closedWithin waits up to d for the node to close c and returns how long
// that took, or an error if c is still open (or received data).
func closedWithin(c net.Conn, d time.Duration) (time.Duration, error) {
	start := time.Now()
	c.SetReadDeadline(start.Add(d))
	n, err := io.Copy(io.Discard, c)
	took := time.Since(start)
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return took, fmt.Errorf("still open after %v", d)
	case n > 0:
		return took, fmt.Errorf("received %d bytes", n)
	}
	return took, nil
}

// slotsOf returns the authenticated inbound connections n holds for peer.
func slotsOf(n *testNode, peer string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	if ps := n.peerSlots[netip.MustParseAddr(peer)]; ps != nil {
		return len(ps.conns)
	}
	return 0
}

// dropOutbound closes n's outbound connections to peer (as a network fault
// would) and waits until both lanes have noticed, so the next message
// dials again.
func dropOutbound(t *testing.T, n *testNode, peer netip.Addr) {
	t.Helper()
	n.mu.Lock()
	p := n.peers[peer]
	n.mu.Unlock()
	if p == nil {
		return
	}
	for _, l := range p {
		if l == nil {
			continue
		}
		l.mu.Lock()
		raw := l.raw
		l.mu.Unlock()
		if raw != nil {
			raw.Close()
		}
	}
	waitUntil(t, 5*time.Second, "outbound lanes notice the dropped connections", func() bool {
		for _, l := range p {
			if l != nil && !l.isCurrent(nil) {
				return false
			}
		}
		return true
	})
}

// waitUntil polls cond every 10 ms until it holds or d passes.
func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting until %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// idleFlood keeps perSource idle TCP connections (no TLS, no byte written)
// from each source to one node until stop or its duration is up, taking a
// slot again at once when the node closes one it held, and after a pause
// when the node refused one. At most maxDials dials.
type idleFlood struct {
	end     time.Time
	stopped chan struct{}
	wg      sync.WaitGroup
	dials   atomic.Int64
	open    atomic.Int64

	mu   sync.Mutex
	left []net.Conn // open when the flood ended
}

func startIdleFlood(t *testing.T, to netip.AddrPort, sources []string, perSource int, d time.Duration, maxDials int64) *idleFlood {
	f := &idleFlood{end: time.Now().Add(d), stopped: make(chan struct{})}
	for _, src := range sources {
		for range perSource {
			f.wg.Add(1)
			go f.hold(src, to, maxDials)
		}
	}
	t.Cleanup(func() {
		f.stop()
		for _, c := range f.left {
			c.Close()
		}
	})
	return f
}

func (f *idleFlood) hold(src string, to netip.AddrPort, maxDials int64) {
	defer f.wg.Done()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: time.Second}
	for time.Now().Before(f.end) && f.dials.Add(1) <= maxDials {
		c, err := d.Dial("tcp", to.String())
		if err != nil {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		f.open.Add(1)
		opened := time.Now()
		c.SetReadDeadline(f.end)
		go func() {
			<-f.stopped
			c.SetReadDeadline(time.Now())
		}()
		_, err = io.Copy(io.Discard, c)
		f.open.Add(-1)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			f.mu.Lock()
			f.left = append(f.left, c)
			f.mu.Unlock()
			return
		}
		c.Close()
		if time.Since(opened) < 200*time.Millisecond {
			time.Sleep(50 * time.Millisecond) // refused: try again shortly
		}
	}
}

// stop ends the flood now and waits for its goroutines.
func (f *idleFlood) stop() {
	select {
	case <-f.stopped:
	default:
		close(f.stopped)
	}
	f.wg.Wait()
}

func (f *idleFlood) remaining() []net.Conn {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.left
}

func floodSources(n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("127.0.0.%d", 100+i))
	}
	return out
}

// TestIdleFloodTakesNoPeerSlot is issue 13's slot exhaustion at the
// messaging level: 320 idle TCP connections (no TLS) from 40 source
// addresses, held and re-taken, fill the handshake budget; meanwhile two
// members keep exchanging requests on both lanes, their connections dropped
// and re-handshaken before every round, and a third member (Reserved) that
// never talked to the node before connects. Once the flood stops, the node
// closes its connections within HandshakeTimeout and its handshake budget
// empties.
func TestIdleFloodTakesNoPeerSlot(t *testing.T) {
	ca := newTestCA(t, testCluster)
	port := testnet.FreePort(t)
	const handshakeTimeout = time.Second
	c3 := netip.MustParseAddr("127.0.0.3")
	a := echoNode(newTestNode(t, ca, "127.0.0.1", port, func(o *Options) {
		o.HandshakeTimeout = handshakeTimeout
		o.Reserved = func(addr netip.Addr) bool { return addr == c3 }
	}), make(chan received, 1)).start(t)
	b := echoNode(newTestNode(t, ca, "127.0.0.2", port, nil), make(chan received, 1)).start(t)
	c := newTestNode(t, ca, "127.0.0.3", port, nil).start(t)

	exchange := func(t *testing.T, what string) {
		t.Helper()
		for _, pair := range [][2]*testNode{{b, a}, {a, b}} {
			for _, v := range []Verb{VerbEcho, VerbRead} {
				ctx, cancel := context.WithTimeout(context.Background(), DefaultRequestTimeout)
				_, err := pair[0].Request(ctx, pair[1].addr, v, []byte("x"))
				cancel()
				if err != nil {
					t.Fatalf("%s: %v -> %v %v: %v", what, pair[0].addr, pair[1].addr, v, err)
				}
			}
		}
	}
	exchange(t, "before the flood")

	f := startIdleFlood(t, netip.AddrPortFrom(a.addr, uint16(port)), floodSources(40), 8, 4*time.Second, 40000)
	waitUntil(t, 3*time.Second, "the flood fills the handshake budget", func() bool {
		st := a.Stats()
		return st.Handshaking >= DefaultMaxHandshakes && st.RefusedMaxHandshakes > 0
	})
	rounds := 0
	for time.Now().Before(f.end.Add(-handshakeTimeout)) {
		dropOutbound(t, b, a.addr)
		dropOutbound(t, a, b.addr)
		// Give the flood time to take the slots the members just freed.
		time.Sleep(100 * time.Millisecond)
		exchange(t, fmt.Sprintf("round %d of the flood (%+v)", rounds, a.Stats()))
		rounds++
	}
	// A member that never connected before, named by Reserved.
	ctx, cancel := context.WithTimeout(context.Background(), DefaultRequestTimeout)
	if _, err := c.Request(ctx, a.addr, VerbEcho, nil); err != nil {
		t.Fatalf("reserved member's first connection during the flood: %v (%+v)", err, a.Stats())
	}
	cancel()
	st := a.Stats()
	t.Logf("%d rounds; %d flood dials; %+v", rounds, f.dials.Load(), st)
	if rounds < 3 {
		t.Fatalf("only %d rounds during the flood", rounds)
	}
	if st.Handshaking > DefaultMaxHandshakes+2*DefaultMaxHandshakesPerSource {
		t.Fatalf("%d connections in the handshake, budget %d", st.Handshaking, DefaultMaxHandshakes)
	}
	if st.Authenticated > 3*numLanes {
		t.Fatalf("%d authenticated connections, want at most %d", st.Authenticated, 3*numLanes)
	}

	// The flood stops: whatever it still holds is closed by the node
	// within HandshakeTimeout.
	f.stop()
	left := f.remaining()
	var wg sync.WaitGroup
	var stuck atomic.Int64
	for _, fc := range left {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := closedWithin(fc, handshakeTimeout+3*time.Second); err != nil {
				stuck.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := stuck.Load(); n > 0 {
		t.Fatalf("%d of %d flood connections outlived HandshakeTimeout", n, len(left))
	}
	waitUntil(t, 5*time.Second, "the handshake budget empties", func() bool { return a.Stats().Handshaking == 0 })
	exchange(t, "after the flood")
}

// TestHandshakeDeadline: a connection that stops before TLS, and one that
// completes TLS but never sends its hello, are closed once HandshakeTimeout
// has passed (not before), counted and reported.
func TestHandshakeDeadline(t *testing.T) {
	ca := newTestCA(t, testCluster)
	port := testnet.FreePort(t)
	const timeout = 500 * time.Millisecond
	a := newTestNode(t, ca, "127.0.0.1", port, func(o *Options) { o.HandshakeTimeout = timeout }).start(t)

	tcpOnly := tcpFrom(t, "127.0.0.21", a.addr, port)
	noHello := tlsFrom(t, "127.0.0.22", a.addr, port, clientConfig(ca, ca.leaf(t, "127.0.0.22", testCluster)))
	for _, c := range []net.Conn{tcpOnly, noHello} {
		took, err := closedWithin(c, 5*time.Second)
		if err != nil {
			t.Fatalf("connection from %v: %v", c.LocalAddr(), err)
		}
		if took > timeout+3*time.Second {
			t.Fatalf("connection from %v closed after %v, HandshakeTimeout %v", c.LocalAddr(), took, timeout)
		}
	}
	a.refusals.waitFor(t, "127.0.0.21", "tls handshake")
	a.refusals.waitFor(t, "127.0.0.22", "bad handshake")
	waitUntil(t, 5*time.Second, "both timeouts are counted and the budget is empty", func() bool {
		st := a.Stats()
		return st.HandshakeTimeouts >= 2 && st.HandshakeFailures >= 2 && st.Handshaking == 0
	})
}

// TestHandshakeDeadlineNotBefore: the node does not cut a handshake early:
// a connection that waits just under HandshakeTimeout before TLS still
// completes it.
func TestHandshakeDeadlineNotBefore(t *testing.T) {
	ca := newTestCA(t, testCluster)
	port := testnet.FreePort(t)
	const timeout = 2 * time.Second
	a := echoNode(newTestNode(t, ca, "127.0.0.1", port, func(o *Options) { o.HandshakeTimeout = timeout }), make(chan received, 1)).start(t)
	raw := tcpFrom(t, "127.0.0.9", a.addr, port)
	time.Sleep(timeout / 4)
	cfg := clientConfig(ca, ca.leaf(t, "127.0.0.9", testCluster))
	cfg.ServerName = a.addr.String()
	tc := tls.Client(raw, cfg)
	tc.SetDeadline(time.Now().Add(5 * time.Second))
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	tc.Write(helloBytes(testCluster, "127.0.0.9"))
	if acc, err := readAccept(tc); err != nil || acc.addr != a.addr {
		t.Fatalf("slow but timely handshake refused: %+v %v", acc, err)
	}
}

// TestPeerAllowance: one certificate holder opening 20 authenticated
// connections never holds more than MaxConnsPerPeer; each new one closes
// its least recently active connection; another member's slots and
// traffic are untouched.
func TestPeerAllowance(t *testing.T) {
	ca := newTestCA(t, testCluster)
	port := testnet.FreePort(t)
	a := echoNode(newTestNode(t, ca, "127.0.0.1", port, nil), make(chan received, 1)).start(t)
	b := newTestNode(t, ca, "127.0.0.2", port, nil).start(t)
	bRequests := func() {
		t.Helper()
		for _, v := range []Verb{VerbEcho, VerbRead} {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, err := b.Request(ctx, a.addr, v, nil)
			cancel()
			if err != nil {
				t.Fatalf("member's %v request: %v", v, err)
			}
		}
	}
	bRequests()
	if n := slotsOf(a, "127.0.0.2"); n != numLanes {
		t.Fatalf("member holds %d slots, want %d", n, numLanes)
	}

	const holder = "127.0.0.9"
	cert := ca.leaf(t, holder, testCluster)
	var conns []*tls.Conn
	for i := range 20 {
		conns = append(conns, dialAs(t, ca, cert, holder, a.addr, port, lane(i%numLanes)))
		if n := slotsOf(a, holder); n > DefaultMaxConnsPerPeer {
			t.Fatalf("after %d connections the holder has %d slots", i+1, n)
		}
	}
	// The 16 oldest were closed, the 4 newest work.
	for i, c := range conns[:20-DefaultMaxConnsPerPeer] {
		if _, err := closedWithin(c, 5*time.Second); err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
	}
	live := conns[20-DefaultMaxConnsPerPeer:]
	for i, c := range live {
		if f, err := roundTrip(c, VerbEcho, uint64(i+1), nil); err != nil || string(f.payload) != "pong" {
			t.Fatalf("newest connection %d: %+v %v", i, f, err)
		}
	}
	// Least recently active, not oldest: live[0] is the oldest but the
	// second most recently used; live[1] was used before it.
	if _, err := roundTrip(live[1], VerbEcho, 100, nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range append(live[2:], live[0]) {
		if _, err := roundTrip(c, VerbEcho, 101, nil); err != nil {
			t.Fatal(err)
		}
	}
	dialAs(t, ca, cert, holder, a.addr, port, laneBulk)
	if _, err := closedWithin(live[1], 5*time.Second); err != nil {
		t.Fatalf("least recently active connection: %v", err)
	}
	if _, err := roundTrip(live[0], VerbEcho, 102, nil); err != nil {
		t.Fatalf("oldest but recently used connection was closed: %v", err)
	}
	if st := a.Stats(); st.EvictedMaxConnsPerPeer != 17 {
		t.Fatalf("evicted %d, want 17 (%+v)", st.EvictedMaxConnsPerPeer, st)
	}
	if n := slotsOf(a, "127.0.0.2"); n != numLanes {
		t.Fatalf("member holds %d slots after the holder's flood, want %d", n, numLanes)
	}
	bRequests()
}

// TestMaxPeersAndReserved: beyond MaxPeers another address is refused with
// a reject code and reported; a Reserved address is admitted anyway; a
// freed slot admits the refused address.
func TestMaxPeersAndReserved(t *testing.T) {
	ca := newTestCA(t, testCluster)
	port := testnet.FreePort(t)
	reserved := netip.MustParseAddr("127.0.0.4")
	a := echoNode(newTestNode(t, ca, "127.0.0.1", port, func(o *Options) {
		o.MaxPeers = 1
		o.Reserved = func(addr netip.Addr) bool { return addr == reserved }
	}), make(chan received, 1)).start(t)

	first := dialAs(t, ca, ca.leaf(t, "127.0.0.2", testCluster), "127.0.0.2", a.addr, port, laneUrgent)
	cert3 := ca.leaf(t, "127.0.0.3", testCluster)
	tc := tlsFrom(t, "127.0.0.3", a.addr, port, clientConfig(ca, cert3))
	tc.Write(helloBytes(testCluster, "127.0.0.3"))
	if got, _ := readAllBounded(tc); string(got) != string([]byte{byte(rejectBusy)}) {
		t.Fatalf("want reject code %d only, got %q", rejectBusy, got)
	}
	a.refusals.waitFor(t, "127.0.0.3", "MaxPeers")
	dialAs(t, ca, ca.leaf(t, "127.0.0.4", testCluster), "127.0.0.4", a.addr, port, laneUrgent)
	if st := a.Stats(); st.RefusedMaxPeers != 1 || st.Peers != 2 {
		t.Fatalf("%+v", st)
	}
	first.Close()
	waitUntil(t, 5*time.Second, "the first peer's slot is freed", func() bool { return slotsOf(a, "127.0.0.2") == 0 })
	dialAs(t, ca, cert3, "127.0.0.3", a.addr, port, laneUrgent)
}

// TestIdleTimeout: an authenticated connection that carries nothing is
// closed after IdleTimeout (not before); one that keeps sending, or whose
// handler runs longer than IdleTimeout, is not; the dialer closes its own
// unused connections first (IdleTimeout/2) and dials again when needed.
func TestIdleTimeout(t *testing.T) {
	ca := newTestCA(t, testCluster)
	port := testnet.FreePort(t)
	const idle = 400 * time.Millisecond
	short := func(o *Options) { o.IdleTimeout = idle }
	a := echoNode(newTestNode(t, ca, "127.0.0.1", port, short), make(chan received, 1))
	a.Handle(VerbHint, func(ctx context.Context, _ netip.Addr, _ []byte) ([]byte, error) {
		select {
		case <-time.After(3 * idle):
			return []byte("slow"), nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	})
	a.start(t)
	// b listens from the start: the shared port is free on 127.0.0.2 now,
	// but another package's test could bind it during the subtests below.
	b := newTestNode(t, ca, "127.0.0.2", port, short).start(t)
	cert := ca.leaf(t, "127.0.0.9", testCluster)

	t.Run("silent connection closed", func(t *testing.T) {
		start := time.Now()
		c := dialAs(t, ca, cert, "127.0.0.9", a.addr, port, laneBulk)
		if _, err := closedWithin(c, 5*time.Second); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took < idle {
			t.Fatalf("closed after %v, IdleTimeout %v", took, idle)
		}
		waitUntil(t, 5*time.Second, "the idle close is counted", func() bool { return a.Stats().IdleClosedInbound >= 1 })
	})
	t.Run("busy connection kept", func(t *testing.T) {
		c := dialAs(t, ca, cert, "127.0.0.9", a.addr, port, laneUrgent)
		for i := range 12 { // 3 x IdleTimeout
			if f, err := roundTrip(c, VerbEcho, uint64(i+1), nil); err != nil || string(f.payload) != "pong" {
				t.Fatalf("request %d: %+v %v", i, f, err)
			}
			time.Sleep(idle / 4)
		}
	})
	t.Run("long handler kept", func(t *testing.T) {
		c := dialAs(t, ca, cert, "127.0.0.9", a.addr, port, laneBulk)
		if f, err := roundTrip(c, VerbHint, 1, nil); err != nil || string(f.payload) != "slow" {
			t.Fatalf("request outliving IdleTimeout: %+v %v", f, err)
		}
	})
	t.Run("dialer closes first", func(t *testing.T) {
		before := a.Stats().IdleClosedInbound
		for round := range 2 {
			if _, err := b.Request(context.Background(), a.addr, VerbRead, nil); err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			waitUntil(t, 5*time.Second, "the dialer closes its unused connection", func() bool {
				return b.Stats().IdleClosedOutbound >= uint64(round+1) && slotsOf(a, "127.0.0.2") == 0
			})
		}
		if after := a.Stats().IdleClosedInbound; after != before {
			t.Fatalf("the acceptor timed out %d of the dialer's connections", after-before)
		}
	})
}

// TestRefusalLogIsRateLimited: a burst of refusals writes one WARN line,
// not one per refusal, while every one is counted and reported.
func TestRefusalLogIsRateLimited(t *testing.T) {
	ca := newTestCA(t, testCluster)
	port := testnet.FreePort(t)
	var buf lockedBuffer
	a := newTestNode(t, ca, "127.0.0.1", port, func(o *Options) {
		o.Logger = newTextLogger(&buf)
		o.MaxHandshakesPerSource = 1
		o.RefusalLogInterval = time.Hour
	}).start(t)
	hold := tcpFrom(t, "127.0.0.30", a.addr, port) // takes the source's only handshake slot
	defer hold.Close()
	waitUntil(t, 5*time.Second, "the first connection is in the handshake", func() bool { return a.Stats().Handshaking == 1 })
	for range 50 {
		c := tcpFrom(t, "127.0.0.30", a.addr, port)
		if _, err := closedWithin(c, 5*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if st := a.Stats(); st.RefusedMaxHandshakesPerSource != 50 {
		t.Fatalf("%+v", st)
	}
	if n := strings.Count(buf.String(), "level=WARN"); n != 1 {
		t.Fatalf("%d WARN lines for 50 refusals:\n%s", n, buf.String())
	}
}

// lockedBuffer is a strings.Builder safe for the logger's concurrent writes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newTextLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
