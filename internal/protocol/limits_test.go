package protocol

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringdb/ringdb/internal/protocol/frame"
)

// fakeAuth accepts user "app" with password "right", counting concurrent
// checks; each check takes cost.
type fakeAuth struct {
	cost             time.Duration
	running, maxSeen atomic.Int32
	calls            atomic.Int32
}

func (a *fakeAuth) Authenticate(user, password string) (bool, error) {
	a.calls.Add(1)
	n := a.running.Add(1)
	for m := a.maxSeen.Load(); n > m && !a.maxSeen.CompareAndSwap(m, n); m = a.maxSeen.Load() {
	}
	time.Sleep(a.cost)
	a.running.Add(-1)
	if user == "app" && password == "right" {
		return false, nil
	}
	return false, errors.New("bad credentials")
}

func plainToken(user, pass string) []byte {
	return frame.AppendBytes(nil, []byte("\x00"+user+"\x00"+pass))
}

// dialFrom connects to addr from the local address src.
func dialFrom(t *testing.T, src netip.Addr, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: src.AsSlice()}, Timeout: 10 * time.Second}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial from %v: %v", src, err)
	}
	t.Cleanup(func() { nc.Close() })
	return nc
}

// startupAuth sends STARTUP (with compression comp, "" for none) and
// expects AUTHENTICATE.
func (cl *client) startupAuth(comp string) {
	cl.t.Helper()
	opts := map[string]string{frame.OptionCQLVersion: "3.0.0"}
	if comp != "" {
		opts[frame.OptionCompression] = comp
	}
	cl.send(1, frame.OpStartup, frame.AppendStringMap(nil, opts))
	cl.expect(1, frame.OpAuthenticate)
}

// expectClosed reads until the server closes the connection, returning
// the error frames' messages it sent first.
func (cl *client) expectClosed() []string {
	cl.t.Helper()
	var msgs []string
	for {
		_ = cl.c.SetReadDeadline(time.Now().Add(10 * time.Second))
		h, body, err := readResponse(cl.r)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				cl.t.Fatalf("the server did not close the connection (after %q)", msgs)
			}
			return msgs
		}
		if h.Flags&frame.FlagCompression != 0 {
			if body, err = frame.Decompress(frame.LZ4, nil, body, 1<<20); err != nil {
				cl.t.Fatal(err)
			}
		}
		if h.Opcode == frame.OpError {
			c := frame.NewCursor(body)
			c.Int()
			msgs = append(msgs, c.Str())
		}
	}
}

// An unauthenticated client may send only small frames: a 65 KB
// AUTH_RESPONSE is refused before its body is read, and a compressed one
// declaring 16 MiB is refused before anything is decompressed.
func TestPreAuthFramesAreSmall(t *testing.T) {
	s := startServer(t, Options{Auth: &fakeAuth{}}, nil)
	cl := newClient(t, dialFrom(t, netip.MustParseAddr("127.0.0.1"), s.Addr().String()))
	cl.startupAuth("")
	cl.send(2, frame.OpAuthResponse, plainToken("app", strings.Repeat("x", 65000)))
	if msgs := cl.expectClosed(); len(msgs) != 1 || !strings.Contains(msgs[0], "exceeds maximum allowed length 4096") {
		t.Fatalf("errors = %q", msgs)
	}

	cl = newClient(t, dialFrom(t, netip.MustParseAddr("127.0.0.1"), s.Addr().String()))
	cl.startupAuth("lz4")
	cl.sendRaw(2, frame.OpAuthResponse, frame.FlagCompression, lz4Bomb(t, 16<<20, 3000))
	if msgs := cl.expectClosed(); len(msgs) != 1 || !strings.Contains(msgs[0], "over the limit of 4096") {
		t.Fatalf("errors = %q", msgs)
	}
}

// lz4Bomb is a Cassandra lz4 body of at most maxLen bytes that declares
// (and really holds) n decompressed bytes.
func lz4Bomb(t *testing.T, n, maxLen int) []byte {
	t.Helper()
	body, err := frame.Compress(frame.LZ4, nil, make([]byte, n))
	if err != nil {
		t.Fatal(err)
	}
	if len(body) > maxLen {
		body = body[:maxLen] // the declared size is what counts
	}
	return body
}

func (cl *client) sendRaw(stream int16, op frame.Opcode, flags byte, body []byte) {
	cl.t.Helper()
	hdr := frame.AppendHeader(nil, frame.Header{Version: frame.VersionRequest, Flags: flags, Stream: stream, Opcode: op, Length: int32(len(body))})
	_ = cl.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := cl.c.Write(append(hdr, body...)); err != nil {
		cl.t.Fatalf("send %s: %v", op, err)
	}
}

// The decompression bomb of the security review: 64 connections each
// sending a compressed AUTH_RESPONSE that declares 16 MiB. Before the
// fix each kept a 16 MiB buffer (1 GiB in all); now nothing is
// decompressed and the heap barely moves.
func TestDecompressionBombBeforeAuthCostsNoMemory(t *testing.T) {
	s := startServer(t, Options{Auth: &fakeAuth{}, MaxUnauthenticatedPerSource: 64}, nil)
	before := heapInUse()
	var clients []*client
	for range 64 {
		cl := newClient(t, dialFrom(t, netip.MustParseAddr("127.0.0.1"), s.Addr().String()))
		cl.startupAuth("lz4")
		cl.sendRaw(2, frame.OpAuthResponse, frame.FlagCompression, lz4Bomb(t, 16<<20, 3000))
		clients = append(clients, cl)
	}
	for _, cl := range clients {
		cl.expectClosed()
	}
	if grown := int64(heapInUse()) - int64(before); grown > 32<<20 {
		t.Fatalf("heap grew by %d MiB during the bomb", grown>>20)
	}
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// A connection is closed after three failed logins; a fourth guess is
// never read.
func TestConnectionClosedAfterFailedLogins(t *testing.T) {
	a := &fakeAuth{}
	s := startServer(t, Options{Auth: a, LoginBackoff: time.Millisecond, LoginBackoffMax: time.Millisecond}, nil)
	cl := newClient(t, dialFrom(t, netip.MustParseAddr("127.0.0.1"), s.Addr().String()))
	cl.startupAuth("")
	for i := range 3 {
		cl.send(int16(2+i), frame.OpAuthResponse, plainToken("app", fmt.Sprint("guess", i)))
	}
	cl.send(9, frame.OpAuthResponse, plainToken("app", "right"))
	msgs := cl.expectClosed()
	if len(msgs) != 3 {
		t.Fatalf("errors = %q, want three bad-credentials errors and a close", msgs)
	}
	if a.calls.Load() != 3 {
		t.Fatalf("%d passwords checked, want 3", a.calls.Load())
	}
	if st := s.Stats(); st.FailedLogins != 3 || st.ClosedAfterFailedLogins != 1 {
		t.Fatalf("stats = %+v", st)
	}
}

// login performs STARTUP and one AUTH_RESPONSE, returning the opcode of
// the answer.
func login(t *testing.T, addr string, src netip.Addr, user, pass string) frame.Opcode {
	t.Helper()
	cl := newClient(t, dialFrom(t, src, addr))
	cl.startupAuth("")
	cl.send(2, frame.OpAuthResponse, plainToken(user, pass))
	h, _ := cl.recv()
	cl.c.Close()
	return h.Opcode
}

// After three failures from one source, its further attempts wait a
// doubling backoff before their password is checked; another source (and
// the same source's later success) is unaffected by that source's
// backoff.
func TestLoginBackoffPerSource(t *testing.T) {
	a := &fakeAuth{}
	s := startServer(t, Options{Auth: a, LoginBackoff: 200 * time.Millisecond}, nil)
	guesser := netip.MustParseAddr("127.0.0.31")
	for i := range 3 {
		if op := login(t, s.Addr().String(), guesser, "nobody", fmt.Sprint(i)); op != frame.OpError {
			t.Fatalf("guess %d answered %s", i, op)
		}
	}
	start := time.Now()
	login(t, s.Addr().String(), guesser, "nobody", "again")
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Fatalf("the fourth guess was answered after %v, before the 200 ms backoff", d)
	}
	start = time.Now()
	login(t, s.Addr().String(), guesser, "nobody", "again")
	if d := time.Since(start); d < 400*time.Millisecond {
		t.Fatalf("the fifth guess was answered after %v, before the doubled backoff", d)
	}
	if op := login(t, s.Addr().String(), netip.MustParseAddr("127.0.0.32"), "app", "right"); op != frame.OpAuthSuccess {
		t.Fatalf("another source's login answered %s", op)
	}
}

// The guard's decisions on an injected clock: a failing source's
// backoff doubles to its cap; the role's backoff reaches only sources
// that fail themselves (a fresh source is never delayed, so guessers
// cannot lock a role's users out); a trusted pair waits for nothing
// until it fails three times itself; failures are forgotten after the
// window; every map stays bounded.
func TestLoginGuardBackoffAndTrust(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	g := newLoginGuard(loginOptions{free: 3, base: 100 * time.Millisecond, max: time.Second, window: time.Minute,
		checks: 1, trustFor: time.Hour, maxTracked: 4}, func() time.Time { return now })
	a, b, c := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.0.3")
	var got []time.Duration
	for range 8 {
		got = append(got, g.delay(a, "r"))
		g.failed(a, "r")
	}
	want := []time.Duration{0, 0, 0, 100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, time.Second}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("delays %v, want %v", got, want)
	}
	g.failed(a, "r")
	if d := g.delay(a, "r"); d != time.Second {
		t.Fatalf("delay %v, want the 1 s cap", d)
	}
	if p := g.priorityOf(a, "r"); p != failingSource {
		t.Fatalf("guesser's priority %v", p)
	}
	// The role is being guessed, but a source without failures of its
	// own is not delayed: the role's users are not locked out.
	if d, p := g.delay(b, "r"), g.priorityOf(b, "r"); d != 0 || p != cleanSource {
		t.Fatalf("fresh source: delay %v, priority %v", d, p)
	}
	// Once it fails itself, the role's backoff applies to it.
	g.failed(c, "r")
	if d := g.delay(c, "r"); d != time.Second {
		t.Fatalf("source with one failure on a guessed role: delay %v, want the role's 1 s", d)
	}
	// A success forgets the source's failures and trusts the pair.
	g.succeeded(c, "r")
	if d, p := g.delay(c, "r"), g.priorityOf(c, "r"); d != 0 || p != trustedPair {
		t.Fatalf("trusted pair: delay %v, priority %v", d, p)
	}
	// A trusted pair that fails three times is trusted no more.
	for range 3 {
		g.failed(c, "r")
	}
	if d, p := g.delay(c, "r"), g.priorityOf(c, "r"); d == 0 || p != failingSource {
		t.Fatalf("pair after 3 failures of its own: delay %v, priority %v", d, p)
	}
	// Failures are forgotten after the window.
	now = now.Add(2 * time.Minute)
	if d := g.delay(a, "r"); d != 0 {
		t.Fatalf("delay after the window %v", d)
	}
	// The maps stay bounded whatever the sources and roles.
	for i := range 100 {
		g.failed(netip.AddrFrom4([4]byte{10, 1, 0, byte(i)}), fmt.Sprint("role", i))
		g.succeeded(netip.AddrFrom4([4]byte{10, 2, 0, byte(i)}), fmt.Sprint("role", i))
	}
	if len(g.sources) > 4 || len(g.roles) > 4 || len(g.trusted) > 4 {
		t.Fatalf("tracked %d sources, %d roles, %d trusted pairs; max 4", len(g.sources), len(g.roles), len(g.trusted))
	}
}

// Many clients guessing at once never run more than
// MaxConcurrentPasswordChecks hash checks (plus the reserved one).
func TestPasswordChecksBounded(t *testing.T) {
	a := &fakeAuth{cost: 20 * time.Millisecond}
	s := startServer(t, Options{Auth: a, MaxConcurrentPasswordChecks: 2, LoginFailuresBeforeBackoff: 1000}, nil)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			src := netip.AddrFrom4([4]byte{127, 0, 0, byte(40 + i)})
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: src.AsSlice()}, Timeout: 10 * time.Second}
			nc, err := d.Dial("tcp", s.Addr().String())
			if err != nil {
				t.Error(err)
				return
			}
			defer nc.Close()
			cl := newClient(t, nc)
			cl.send(1, frame.OpStartup, frame.AppendStringMap(nil, map[string]string{frame.OptionCQLVersion: "3.0.0"}))
			cl.recv()
			for j := range 3 {
				cl.send(int16(2+j), frame.OpAuthResponse, plainToken("app", "wrong"))
				cl.recv()
			}
		}()
	}
	wg.Wait()
	if m := a.maxSeen.Load(); m > 3 {
		t.Fatalf("%d password checks ran at once, want at most 2 (+1 reserved)", m)
	}
	if a.calls.Load() != 48 {
		t.Fatalf("%d checks, want 48", a.calls.Load())
	}
}

// logCounter counts log lines by message.
type logCounter struct {
	mu    sync.Mutex
	lines map[string]int
}

func (l *logCounter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range bytes.Split(bytes.TrimSpace(p), []byte("\n")) {
		_, msg, _ := bytes.Cut(line, []byte("msg=\""))
		msg, _, _ = bytes.Cut(msg, []byte("\""))
		l.lines[string(msg)]++
	}
	return len(p), nil
}

func (l *logCounter) total() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, c := range l.lines {
		n += c
	}
	return n
}

// A flood of idle sockets from many sources fills the handshaking budget
// only: a real client still logs in and queries every time, idle flood
// connections are evicted, a source over its share is refused, and the
// whole flood costs a bounded number of log lines.
func TestIdleFloodDoesNotStarveRealClients(t *testing.T) {
	p, _ := newBlockingProcessor(t)
	logs := &logCounter{lines: map[string]int{}}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	s := startServer(t, Options{Processor: p, Auth: &fakeAuth{}, MaxUnauthenticated: 32, MaxUnauthenticatedPerSource: 4,
		MaxConnections: 8, HandshakeTimeout: time.Minute, Logger: log}, nil)
	// A source over its share is refused (checked before the budget
	// fills: once it is full, a source's extra connections evict its own).
	for range 5 {
		dialFrom(t, netip.AddrFrom4([4]byte{127, 0, 1, 100}), s.Addr().String())
	}
	waitFor(t, "per-source refusal counted", func() bool { return s.Stats().RefusedPerSource >= 1 })
	var flood []net.Conn
	for i := range 200 {
		src := netip.AddrFrom4([4]byte{127, 0, 1, byte(1 + i/4)}) // 50 sources, 4 each
		flood = append(flood, dialFrom(t, src, s.Addr().String()))
	}
	waitFor(t, "flood accepted", func() bool { st := s.Stats(); return st.Evicted+uint64(st.Handshaking) >= 200 })
	for i := range 10 {
		cl := newClient(t, dialFrom(t, netip.MustParseAddr("127.0.0.1"), s.Addr().String()))
		cl.startupAuth("")
		cl.send(2, frame.OpAuthResponse, plainToken("app", "right"))
		cl.expect(2, frame.OpAuthSuccess)
		cl.send(3, frame.OpQuery, queryBody("SELECT v FROM ks.t WHERE k = 1"))
		cl.expect(3, frame.OpResult)
		if i < 9 {
			cl.c.Close()
		}
	}
	st := s.Stats()
	if st.Handshaking > 32 || st.Evicted < 150 {
		t.Fatalf("stats = %+v: want at most 32 handshaking and the idle flood evicted", st)
	}
	if n := logs.total(); n > 10 {
		t.Fatalf("%d log lines for the flood: %v", n, logs.lines)
	}
	for _, c := range flood {
		c.Close()
	}
}

// A flood that re-dials as fast as it is evicted keeps the handshaking
// budget full all the time. Eviction takes the idlest connection of the
// busiest source, so the flood evicts only itself: a slow real client
// (300 ms between STARTUP and its credentials, as over a long link) from
// a source of its own still logs in every time.
func TestChurningFloodEvictsOnlyItself(t *testing.T) {
	p, _ := newBlockingProcessor(t)
	s := startServer(t, Options{Processor: p, Auth: &fakeAuth{}, MaxUnauthenticated: 32, MaxUnauthenticatedPerSource: 4,
		HandshakeTimeout: time.Minute, Logger: slog.New(slog.DiscardHandler)}, nil)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var dials atomic.Int64
	for i := range 80 { // 20 sources, 4 re-dialling sockets each
		src := &net.TCPAddr{IP: netip.AddrFrom4([4]byte{127, 0, 2, byte(1 + i/4)}).AsSlice()}
		wg.Go(func() {
			d := net.Dialer{LocalAddr: src, Timeout: time.Second}
			buf := make([]byte, 64)
			for dials.Load() < 50000 {
				select {
				case <-stop:
					return
				default:
				}
				nc, err := d.Dial("tcp", s.Addr().String())
				if err != nil {
					continue
				}
				dials.Add(1)
				nc.SetReadDeadline(time.Now().Add(5 * time.Second))
				nc.Read(buf) // returns when the server evicts it
				nc.Close()
			}
		})
	}
	defer func() { close(stop); wg.Wait() }()
	waitFor(t, "budget full", func() bool { return s.Stats().Evicted > 100 })
	for range 5 {
		cl := newClient(t, dialFrom(t, netip.MustParseAddr("127.0.0.1"), s.Addr().String()))
		cl.startupAuth("")
		time.Sleep(300 * time.Millisecond) // the slow client, not an assertion
		cl.send(2, frame.OpAuthResponse, plainToken("app", "right"))
		cl.expect(2, frame.OpAuthSuccess)
		cl.c.Close()
	}
	if st := s.Stats(); st.Evicted < 500 {
		t.Fatalf("stats = %+v: the flood did not churn (%d dials)", st, dials.Load())
	}
}

// A client that completes its handshake while MaxConnections are open is
// told Overloaded and closed; the open sessions are unaffected.
func TestAuthenticatedSlotsFull(t *testing.T) {
	s := startServer(t, Options{MaxConnections: 2}, nil)
	for range 2 {
		nc := dialFrom(t, netip.MustParseAddr("127.0.0.1"), s.Addr().String())
		newClient(t, nc).startup()
	}
	cl := newClient(t, dialFrom(t, netip.MustParseAddr("127.0.0.1"), s.Addr().String()))
	cl.send(1, frame.OpStartup, frame.AppendStringMap(nil, map[string]string{frame.OptionCQLVersion: "3.0.0"}))
	if msgs := cl.expectClosed(); len(msgs) != 1 || !strings.Contains(msgs[0], "Too many connections (max 2)") {
		t.Fatalf("errors = %q", msgs)
	}
	if st := s.Stats(); st.Connections != 2 || st.RefusedFull != 1 {
		t.Fatalf("stats = %+v", st)
	}
}

// Requests held by a blocked store keep their bodies reserved; once the
// budget is spent the server stops reading further frames until the
// requests finish, and the budget never goes over its bound.
func TestRequestBudgetBoundsMemory(t *testing.T) {
	p, bs := newBlockingProcessor(t)
	// Each request is charged about 150 KiB (its 50 KiB body, plus twice
	// that for processing copies): three fit, the fourth waits.
	const frameMax, budget = 64 << 10, 512 << 10
	s := startServer(t, Options{Processor: p, MaxFrameSize: frameMax, MaxRequestDataInFlight: budget}, nil)
	big := func() []byte {
		// A range scan (blocks in the store) padded with a long comment.
		return queryBody("SELECT * FROM ks.t /* " + strings.Repeat("x", 50<<10) + " */")
	}
	var cls []*client
	for i := range 4 {
		cl := newClient(t, dialFrom(t, netip.MustParseAddr("127.0.0.1"), s.Addr().String()))
		cl.startup()
		cl.send(int16(10+i), frame.OpQuery, big())
		cls = append(cls, cl)
	}
	waitFor(t, "budget spent", func() bool { return s.Stats().RequestBytesInFlight > budget-(150<<10) })
	if st := s.Stats(); st.PeakRequestBytesInFlight > budget {
		t.Fatalf("peak %d over the budget %d", st.PeakRequestBytesInFlight, budget)
	}
	close(bs.release)
	for i, cl := range cls {
		cl.expect(int16(10+i), frame.OpResult)
	}
	waitFor(t, "budget returned", func() bool { return s.Stats().RequestBytesInFlight == 0 })
	if st := s.Stats(); st.PeakRequestBytesInFlight > budget {
		t.Fatalf("peak %d over the budget %d", st.PeakRequestBytesInFlight, budget)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
