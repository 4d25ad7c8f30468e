package messaging

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// outLane is one lane (urgent or bulk) to one peer: a byte-bounded queue,
// a writer goroutine that dials lazily and batches writes, and a reader
// goroutine per connection that matches responses to pending requests.
// The writer closes a connection unused (nothing written, no response
// awaited) for IdleTimeout/2, before the acceptor's IdleTimeout, and dials
// again for the next message.
type outLane struct {
	s    *Service
	to   netip.Addr
	lane lane
	cfg  *tls.Config
	wake chan struct{} // capacity 1

	lastActive atomic.Int64 // monoNow of the last write or response

	mu      sync.Mutex
	q       fifo[*outMsg]
	bytes   int
	pending map[uint64]*call
	raw     *tlsRaw // current connection, nil when none
	gen     uint64  // generation of raw; increases per connection
	closed  bool
}

type outMsg struct {
	frame []byte // header + payload
	call  *call  // nil for one-way
}

func newOutLane(s *Service, to netip.Addr, l lane) *outLane {
	cfg := s.clientTLS.Clone()
	if cfg.ServerName == "" {
		cfg.ServerName = to.String()
	}
	return &outLane{s: s, to: to, lane: l, cfg: cfg, wake: make(chan struct{}, 1), pending: make(map[uint64]*call)}
}

// enqueue adds m to the queue, or fails fast with ErrQueueFull. A single
// message is always accepted into an empty queue.
func (l *outLane) enqueue(m *outMsg) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	if l.bytes > 0 && l.bytes+len(m.frame) > l.s.o.MaxQueueBytesPerPeer {
		l.mu.Unlock()
		return ErrQueueFull
	}
	l.bytes += len(m.frame)
	l.q.push(m)
	if m.call != nil {
		l.pending[m.call.id] = m.call
	}
	l.mu.Unlock()
	signal(l.wake)
	return nil
}

// forget drops a request whose caller gave up. If it is still queued, the
// writer skips it.
func (l *outLane) forget(id uint64) {
	l.mu.Lock()
	delete(l.pending, id)
	l.mu.Unlock()
}

func (l *outLane) close() {
	l.mu.Lock()
	l.closed = true
	l.q.drain()
	l.bytes = 0
	raw := l.raw
	l.raw = nil
	for id, c := range l.pending {
		c.deliver(callResult{err: ErrClosed})
		delete(l.pending, id)
	}
	l.mu.Unlock()
	if raw != nil {
		raw.Close()
	}
	signal(l.wake)
}

// run is the writer goroutine: it waits for queued messages, (re)dials
// with backoff when there is no connection, writes through a buffer and
// flushes whenever the queue drains.
func (l *outLane) run() {
	defer l.s.wg.Done()
	var (
		conn     *tlsRaw
		bw       *bufio.Writer
		gen      uint64
		failures int
	)
	for {
		work, ok := l.waitWork(conn)
		if !ok {
			return
		}
		if !work {
			if l.closeIdle(conn) {
				conn = nil
			}
			continue
		}
		if conn != nil && !l.isCurrent(conn) {
			conn = nil
		}
		if conn == nil {
			c, g, err := l.connect()
			if err != nil {
				if errors.Is(err, ErrClosed) || l.s.closing() {
					return
				}
				failures++
				d := backoff(failures)
				l.s.log.Debug("internode dial failed", "peer", l.to, "lane", l.lane, "err", err, "retry_in", d)
				l.pruneExpired()
				if !sleepCtx(l.s.ctx, d) {
					return
				}
				continue
			}
			conn, gen, failures = c, g, 0
			bw = bufio.NewWriterSize(conn.tls, 64<<10)
		}
		if m := l.pop(gen); m != nil {
			conn.SetWriteDeadline(time.Now().Add(writeStallTimeout))
			if _, err := bw.Write(m.frame); err != nil {
				l.connLost(conn, gen, err)
				conn = nil
				continue
			}
			l.touch()
		}
		if bw.Buffered() > 0 && l.empty() {
			conn.SetWriteDeadline(time.Now().Add(writeStallTimeout))
			if err := bw.Flush(); err != nil {
				l.connLost(conn, gen, err)
				conn = nil
			}
		}
	}
}

// waitWork blocks until a message is queued (work) or, while the writer
// holds conn, until it has been unused for IdleTimeout/2 (!work); ok is
// false once the lane is closed.
func (l *outLane) waitWork(conn *tlsRaw) (work, ok bool) {
	for {
		l.mu.Lock()
		closed, n := l.closed, l.q.len()
		l.mu.Unlock()
		if closed {
			return false, false
		}
		if n > 0 {
			return true, true
		}
		var idle *time.Timer
		var idleC <-chan time.Time
		if conn != nil {
			d := time.Until(monoTime(l.lastActive.Load()).Add(l.s.o.IdleTimeout / 2))
			if d <= 0 {
				return false, true
			}
			idle = time.NewTimer(d)
			idleC = idle.C
		}
		select {
		case <-l.wake:
		case <-idleC:
		case <-l.s.ctx.Done():
			return false, false
		}
		if idle != nil {
			idle.Stop()
		}
	}
}

// touch records activity on the current connection.
func (l *outLane) touch() { l.lastActive.Store(monoNow()) }

// closeIdle closes conn if it is still the lane's connection, nothing is
// queued and no request written on it awaits its response; a request in
// flight counts as activity. It reports whether conn is gone.
func (l *outLane) closeIdle(conn *tlsRaw) bool {
	l.mu.Lock()
	if l.raw != conn {
		l.mu.Unlock()
		return true
	}
	if l.q.len() > 0 {
		l.mu.Unlock()
		return false
	}
	for _, c := range l.pending {
		if c.gen == l.gen {
			l.touch()
			l.mu.Unlock()
			return false
		}
	}
	l.raw = nil
	l.mu.Unlock()
	conn.Close() // the reader ends; connLost finds l.raw != conn
	l.s.stats.idleOutbound.Add(1)
	l.s.log.Debug("internode connection idle: closed", "peer", l.to, "lane", l.lane, "after", l.s.o.IdleTimeout/2)
	return true
}

func (l *outLane) isCurrent(conn *tlsRaw) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.raw == conn
}

// pop removes the next live message from the queue and its bytes from the
// count, marking a request as written on connection generation gen.
// Requests whose caller gave up are dropped. It returns nil if none is left.
func (l *outLane) pop(gen uint64) *outMsg {
	l.mu.Lock()
	defer l.mu.Unlock()
	for {
		m, ok := l.q.pop()
		if !ok {
			return nil
		}
		l.bytes -= len(m.frame)
		if m.call == nil {
			return m
		}
		if _, live := l.pending[m.call.id]; live && m.call.ctx.Err() == nil {
			m.call.gen = gen
			return m
		}
		delete(l.pending, m.call.id)
	}
}

func (l *outLane) empty() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.q.len() == 0
}

// pruneExpired drops queued requests whose caller gave up, so an
// unreachable peer does not hold their bytes.
func (l *outLane) pruneExpired() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.q.filter(func(m *outMsg) bool {
		if m.call == nil {
			return true
		}
		if _, live := l.pending[m.call.id]; live && m.call.ctx.Err() == nil {
			return true
		}
		delete(l.pending, m.call.id)
		l.bytes -= len(m.frame)
		return false
	})
}

// connect dials, completes TLS and the handshake, installs the connection
// and starts its reader.
func (l *outLane) connect() (*tlsRaw, uint64, error) {
	tc, raw, err := l.s.dial(l.s.ctx, l.to, l.lane, l.cfg)
	if err != nil {
		return nil, 0, err
	}
	conn := &tlsRaw{Conn: raw, tls: tc}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		raw.Close()
		return nil, 0, ErrClosed
	}
	l.gen++
	gen := l.gen
	l.raw = conn
	l.touch()
	l.mu.Unlock()
	l.s.wg.Add(1)
	go l.readResponses(conn, gen)
	l.s.log.Debug("internode connection established", "peer", l.to, "lane", l.lane)
	return conn, gen, nil
}

// readResponses delivers responses arriving on one connection until it
// fails.
func (l *outLane) readResponses(conn *tlsRaw, gen uint64) {
	defer l.s.wg.Done()
	br := bufio.NewReaderSize(conn.tls, 64<<10)
	max := l.s.o.maxFrame(l.lane)
	for {
		f, err := readFrame(br, max)
		if err != nil {
			l.connLost(conn, gen, err)
			return
		}
		if f.kind != kindResponse && f.kind != kindError {
			l.connLost(conn, gen, fmt.Errorf("protocol violation: %v frame from acceptor", f.kind))
			return
		}
		l.touch()
		l.mu.Lock()
		c := l.pending[f.id]
		delete(l.pending, f.id)
		l.mu.Unlock()
		if c == nil {
			continue // the caller gave up
		}
		if f.kind == kindError {
			c.deliver(callResult{remoteErr: string(f.payload)})
		} else {
			c.deliver(callResult{payload: f.payload})
		}
	}
}

// connLost closes conn and fails the requests written on it. It is called
// by both the writer and the reader; the second call is a no-op.
func (l *outLane) connLost(conn *tlsRaw, gen uint64, err error) {
	conn.Close()
	l.mu.Lock()
	if l.raw != conn {
		l.mu.Unlock()
		return
	}
	l.raw = nil
	for id, c := range l.pending {
		if c.gen == gen {
			c.deliver(callResult{err: fmt.Errorf("%w: %v", ErrConnectionLost, err)})
			delete(l.pending, id)
		}
	}
	l.mu.Unlock()
	signal(l.wake)
	if !l.s.closing() && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
		l.s.log.Info("internode connection lost", "peer", l.to, "lane", l.lane, "err", err)
	} else {
		l.s.log.Debug("internode connection closed", "peer", l.to, "lane", l.lane, "err", err)
	}
}

// tlsRaw pairs a TLS connection with its TCP connection: writes and reads
// go through tls, while Close and deadlines act on the TCP connection so
// that closing never blocks on a close_notify to a stalled peer.
type tlsRaw struct {
	net.Conn
	tls *tls.Conn
}

// dial opens one authenticated connection to peer to on lane ln: TCP from
// Self, TLS 1.3, then the ringdb handshake, all bounded by HandshakeTimeout.
func (s *Service) dial(ctx context.Context, to netip.Addr, ln lane, cfg *tls.Config) (*tls.Conn, net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, s.o.HandshakeTimeout)
	defer cancel()
	remote := netip.AddrPortFrom(to, uint16(s.o.Port))
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: s.o.Self.AsSlice()}}
	raw, err := d.DialContext(ctx, "tcp", remote.String())
	if err != nil {
		return nil, nil, err
	}
	ok := false
	defer func() {
		if !ok {
			raw.Close()
		}
	}()
	deadline, _ := ctx.Deadline()
	raw.SetDeadline(deadline)
	tc := tls.Client(raw, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		// Only our refusal of the peer's certificate is a refused peer; a
		// reset or timeout (peer restarting, overloaded) is an ordinary
		// dial failure, retried with backoff.
		var verr *tls.CertificateVerificationError
		if errors.As(err, &verr) {
			s.refused(remote, "tls handshake (dialing): "+err.Error())
		}
		return nil, nil, fmt.Errorf("tls handshake: %w", err)
	}
	st := tc.ConnectionState()
	if st.Version != tls.VersionTLS13 || len(st.PeerCertificates) == 0 {
		s.refused(remote, "not an authenticated TLS 1.3 connection (dialing)")
		return nil, nil, errors.New("not an authenticated TLS 1.3 connection")
	}
	certAddr, err := s.o.PeerAddress(st)
	if err != nil {
		s.refused(remote, "peer certificate (dialing): "+err.Error())
		return nil, nil, fmt.Errorf("peer certificate: %w", err)
	}
	if certAddr.Unmap() != to {
		reason := fmt.Sprintf("address mismatch (dialing): dialed %v, certificate names %v", to, certAddr)
		s.refused(remote, reason)
		return nil, nil, errors.New(reason)
	}
	h := appendHello(make([]byte, 0, maxHelloLen), hello{
		minVersion: protoMin, maxVersion: protoMax, clusterID: s.o.ClusterID, addr: s.o.Self, lane: ln,
	})
	if _, err := tc.Write(h); err != nil {
		return nil, nil, fmt.Errorf("write handshake: %w", err)
	}
	acc, err := readAccept(tc)
	if err != nil {
		var rej *rejectError
		if errors.As(err, &rej) {
			s.log.Warn("internode handshake refused by peer", "peer", remote, "reason", rej.code.String())
		}
		return nil, nil, fmt.Errorf("read handshake: %w", err)
	}
	if acc.version < protoMin || acc.version > protoMax {
		reason := fmt.Sprintf("bad handshake (dialing): peer chose unsupported version %d", acc.version)
		s.refused(remote, reason)
		return nil, nil, errors.New(reason)
	}
	if acc.addr != to {
		reason := fmt.Sprintf("address mismatch (dialing): dialed %v, peer claims %v", to, acc.addr)
		s.refused(remote, reason)
		return nil, nil, errors.New(reason)
	}
	raw.SetDeadline(time.Time{})
	s.rememberPeer(to)
	ok = true
	return tc, raw, nil
}

// backoff returns the delay before redial attempt n (n >= 1): exponential
// from minBackoff to maxBackoff, with +-25% jitter.
func backoff(n int) time.Duration {
	d := minBackoff
	for i := 1; i < n && d < maxBackoff; i++ {
		d *= 2
	}
	d = min(d, maxBackoff)
	return d - d/4 + rand.N(d/2+1)
}

// sleepCtx sleeps for d, returning false if ctx ends first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
