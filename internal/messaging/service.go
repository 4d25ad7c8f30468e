package messaging

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Handler serves one verb. from is the peer's authenticated address (Self
// for local delivery). payload belongs to the handler. For a request the
// returned bytes are sent back (a non-nil error is sent as its text and
// surfaces at the caller as a *RemoteError); for a one-way message both are
// ignored. ctx is cancelled when the connection or the Service closes, and
// for local requests carries the caller's deadline. Handlers run
// concurrently, at most 64 per connection; a handler that ignores ctx
// delays Close.
type Handler func(ctx context.Context, from netip.Addr, payload []byte) ([]byte, error)

// Service is one node's internode messaging endpoint: the mTLS listener on
// Self:Port, two lanes of outbound connections per peer, and the in-process
// loopback to Self. It is safe for concurrent use.
type Service struct {
	o         Options
	log       *slog.Logger
	serverTLS *tls.Config
	clientTLS *tls.Config
	handlers  [256]atomic.Pointer[Handler]
	nextID    atomic.Uint64

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	closed  bool
	started bool
	ln      net.Listener
	peers   map[netip.Addr]*[numLanes]*outLane
	local   [numLanes]*localLane

	// Inbound connection budgets (slots.go).
	inbound         map[net.Conn]*inConn      // every accepted connection, for Close
	handshakes      int                       // connections in the handshake budget
	handshaking     map[netip.Addr]int        // of which per source IP
	peerSlots       map[netip.Addr]*peerSlots // authenticated connections per peer address
	unreservedPeers int                       // entries of peerSlots that MaxPeers bounds
	authenticated   int                       // connections in peerSlots
	known           map[netip.Addr]time.Time  // addresses authenticated since Start

	stats      counters
	refusalLog refusalLog

	authed authConns // inbound connections past the handshake (revoke.go)

	joinProto string // the join exchange's ALPN protocol; "" when joins are off (join.go)
}

// New validates o, fills its defaults and returns a Service that is not yet
// listening. All problems in o are reported at once.
func New(o Options) (*Service, error) {
	o.ensureDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	s := &Service{
		o:           o,
		log:         o.Logger.With("component", "messaging", "self", o.Self),
		serverTLS:   o.ServerTLS.Clone(),
		clientTLS:   o.ClientTLS.Clone(),
		peers:       make(map[netip.Addr]*[numLanes]*outLane),
		inbound:     make(map[net.Conn]*inConn),
		handshaking: make(map[netip.Addr]int),
		peerSlots:   make(map[netip.Addr]*peerSlots),
		known:       make(map[netip.Addr]time.Time),
		refusalLog:  refusalLog{interval: o.RefusalLogInterval},
	}
	// TLS 1.3 only, full handshakes only, on both sides.
	for _, c := range []*tls.Config{s.serverTLS, s.clientTLS} {
		c.MinVersion = tls.VersionTLS13
		c.MaxVersion = 0
		c.SessionTicketsDisabled = true
		c.ClientSessionCache = nil
		c.NextProtos = nil
	}
	if o.Join != nil {
		s.acceptJoins(o.JoinTLS)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// Handle registers h for verb v, replacing any earlier handler (nil
// unregisters). Register before Start so that no message arrives before its
// handler: messages for a verb without a handler are dropped (one-way) or
// answered with a *RemoteError (request). Handle is safe to call at any
// time.
func (s *Service) Handle(v Verb, h Handler) {
	if h == nil {
		s.handlers[v].Store(nil)
		return
	}
	s.handlers[v].Store(&h)
}

// Start listens on Self:Port and serves inbound connections until Close.
func (s *Service) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.started {
		return errors.New("messaging: already started")
	}
	addr := netip.AddrPortFrom(s.o.Self, uint16(s.o.Port))
	ln, err := net.Listen("tcp", addr.String())
	if err != nil {
		return fmt.Errorf("messaging: listen on %v: %w", addr, err)
	}
	s.ln, s.started = ln, true
	s.wg.Add(1)
	go s.acceptLoop(ln)
	s.log.Info("internode listener started", "addr", addr)
	return nil
}

// Close stops the listener, closes every connection, fails pending requests
// with ErrClosed and waits for all goroutines (including running handlers)
// to finish. Queued messages are dropped. Close is idempotent.
func (s *Service) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.wg.Wait()
		return nil
	}
	s.closed = true
	s.cancel()
	var err error
	if s.ln != nil {
		err = s.ln.Close()
	}
	for c := range s.inbound {
		c.Close()
	}
	for _, p := range s.peers {
		for _, l := range p {
			if l != nil {
				l.close()
			}
		}
	}
	for _, l := range s.local {
		if l != nil {
			l.close()
		}
	}
	s.mu.Unlock()
	s.wg.Wait()
	s.refusalLog.flush(s.log)
	return err
}

// Send queues a one-way message to peer to on v's lane and returns without
// waiting for the network; delivery is best effort (a message in flight when
// a connection fails is lost). The connection is dialled lazily and redialled
// with exponential backoff (100ms..10s, jittered) while messages are queued.
// Send copies payload. It fails fast with ErrQueueFull when the lane's
// queue to the peer is full, ErrFrameTooLarge for an oversized payload and
// ErrClosed after Close; it never blocks on the network. Sending to Self
// delivers in-process.
func (s *Service) Send(to netip.Addr, v Verb, payload []byte) error {
	to = to.Unmap()
	if err := s.check(to, v, payload); err != nil {
		return err
	}
	if to == s.o.Self {
		l, err := s.localLane(v.lane())
		if err != nil {
			return err
		}
		return l.enqueue(&localMsg{verb: v, payload: clone(payload)})
	}
	l, err := s.outLane(to, v.lane())
	if err != nil {
		return err
	}
	return l.enqueue(&outMsg{frame: encodeFrame(v, kindOneWay, 0, payload)})
}

// Request sends payload to peer to and waits for the response, matched by
// message id. The deadline is ctx's, or RequestTimeout from now if ctx has
// none; when it passes Request returns an error matching ErrTimeout. A
// handler error at the peer comes back as a *RemoteError; a connection
// failure after the request was written as ErrConnectionLost. Request to
// Self runs the handler in-process with ctx. Request copies payload.
func (s *Service) Request(ctx context.Context, to netip.Addr, v Verb, payload []byte) ([]byte, error) {
	to = to.Unmap()
	if err := s.check(to, v, payload); err != nil {
		return nil, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.o.RequestTimeout)
		defer cancel()
	}
	c := &call{id: s.nextID.Add(1), done: make(chan callResult, 1), ctx: ctx}
	var forget func()
	if to == s.o.Self {
		l, err := s.localLane(v.lane())
		if err != nil {
			return nil, err
		}
		if err := l.enqueue(&localMsg{verb: v, payload: clone(payload), call: c}); err != nil {
			return nil, err
		}
		forget = func() {}
	} else {
		l, err := s.outLane(to, v.lane())
		if err != nil {
			return nil, err
		}
		if err := l.enqueue(&outMsg{frame: encodeFrame(v, kindRequest, c.id, payload), call: c}); err != nil {
			return nil, err
		}
		forget = func() { l.forget(c.id) }
	}
	select {
	case r := <-c.done:
		if r.err != nil {
			return nil, r.err
		}
		if r.remoteErr != "" {
			return nil, &RemoteError{From: to, Verb: v, Message: r.remoteErr}
		}
		return r.payload, nil
	case <-ctx.Done():
		forget()
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("%w: %v to %v", ErrTimeout, v, to)
		}
		return nil, ctx.Err()
	case <-s.ctx.Done():
		forget()
		return nil, ErrClosed
	}
}

// check validates a Send or Request before anything is queued.
func (s *Service) check(to netip.Addr, v Verb, payload []byte) error {
	if !to.IsValid() || to.IsUnspecified() {
		return fmt.Errorf("messaging: invalid peer address %v", to)
	}
	if !v.Known() {
		return fmt.Errorf("messaging: unknown verb %v", v)
	}
	if len(payload) > s.o.maxFrame(v.lane()) {
		return fmt.Errorf("%w: %v payload of %d bytes, limit %d", ErrFrameTooLarge, v, len(payload), s.o.maxFrame(v.lane()))
	}
	if s.ctx.Err() != nil {
		return ErrClosed
	}
	return nil
}

// outLane returns (creating and starting it on first use) the outbound lane
// to a peer.
func (s *Service) outLane(to netip.Addr, ln lane) (*outLane, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	p := s.peers[to]
	if p == nil {
		p = new([numLanes]*outLane)
		s.peers[to] = p
	}
	if p[ln] == nil {
		p[ln] = newOutLane(s, to, ln)
		s.wg.Add(1)
		go p[ln].run()
	}
	return p[ln], nil
}

// localLane returns (creating and starting it on first use) the in-process
// lane to Self.
func (s *Service) localLane(ln lane) (*localLane, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if s.local[ln] == nil {
		s.local[ln] = newLocalLane(s, ln)
		s.wg.Add(1)
		go s.local[ln].run()
	}
	return s.local[ln], nil
}

// invoke runs the handler for v, turning a missing handler or a panic into
// an error.
func (s *Service) invoke(ctx context.Context, from netip.Addr, v Verb, payload []byte) (resp []byte, err error) {
	hp := s.handlers[v].Load()
	if hp == nil {
		return nil, fmt.Errorf("no handler for verb %v", v)
	}
	h := *hp
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("handler panic", "verb", v, "from", from, "panic", r)
			resp, err = nil, fmt.Errorf("handler panic for verb %v", v)
		}
	}()
	return h(ctx, from, payload)
}

// refused reports a refused peer to OnRefused and to the rate-limited log
// (refusalLog).
func (s *Service) refused(remote netip.AddrPort, reason string) {
	s.refusalLog.note(s.log, causeRefused, remote, reason)
	if s.o.OnRefused != nil {
		s.o.OnRefused(remote, reason)
	}
}

// call is a Request waiting for its response.
type call struct {
	id   uint64
	done chan callResult // capacity 1; written at most once
	ctx  context.Context
	gen  uint64 // connection generation it was written on; 0 = not yet written
}

type callResult struct {
	payload   []byte
	remoteErr string // non-empty: the handler's error text
	err       error  // local failure (ErrConnectionLost, ErrClosed)
}

// deliver completes c without blocking.
func (c *call) deliver(r callResult) {
	select {
	case c.done <- r:
	default:
	}
}

func clone(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}

// closing reports whether Close has begun.
func (s *Service) closing() bool { return s.ctx.Err() != nil }
