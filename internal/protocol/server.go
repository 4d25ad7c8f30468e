package protocol

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ringdb/ringdb/internal/cqlerr"
	"github.com/ringdb/ringdb/internal/protocol/frame"
	"github.com/ringdb/ringdb/internal/query"
	"github.com/ringdb/ringdb/internal/schema"
	"github.com/ringdb/ringdb/internal/types"
)

// Authenticator checks SASL PLAIN credentials.
type Authenticator interface {
	// Authenticate returns whether the user is a superuser, or an error for
	// bad credentials.
	Authenticate(user, password string) (bool, error)
}

// Options configure a Server.
type Options struct {
	// Addr is the listen address (host:port). Required.
	Addr string
	// Processor executes statements. Required.
	Processor *query.Processor
	// Auth checks passwords; nil means AllowAllAuthenticator.
	Auth Authenticator
	// TLS, if set, is the server side of client TLS
	// (client_encryption_options): every client must complete a TLS
	// handshake, within HandshakeTimeout, before any frame is read; a
	// cleartext client is answered a protocol error and closed. Nil: no
	// TLS.
	TLS *tls.Config
	// TLSOptional, with TLS set, also accepts cleartext clients on the
	// same port (the first byte of a connection tells TLS from CQL).
	TLSOptional bool
	// MaxFrameSize bounds a request body in bytes once the client has
	// authenticated (compressed and decompressed). Default 16 MiB.
	MaxFrameSize int
	// MaxPreAuthFrameSize bounds a request body, compressed or
	// decompressed, before the handshake completes: only small STARTUP,
	// OPTIONS and AUTH_RESPONSE frames are read from a client that has not
	// authenticated. Default 4 KiB.
	MaxPreAuthFrameSize int
	// MaxRequestDataInFlight bounds the request bytes held by all
	// connections together for requests not yet answered: Cassandra's
	// native_transport_max_request_data_in_flight. A request is charged
	// its body as received, its decompressed form, and twice the body's
	// size for the copies processing makes. A reader waits, and stops
	// reading its socket, while the budget is spent. Default 128 MiB;
	// raised to 4 * MaxFrameSize if smaller.
	MaxRequestDataInFlight int64
	// MaxConnections bounds the authenticated connections. A client that
	// completes its handshake while MaxConnections are open is told
	// Overloaded and closed. Default 1024.
	MaxConnections int
	// MaxUnauthenticated bounds the connections still in their handshake,
	// counted apart from MaxConnections so that a flood of idle sockets
	// cannot take the slots of authenticated sessions. When it is reached,
	// a new connection evicts the handshaking connection that has been
	// idle longest among those of the sources holding the most (a real
	// client completes its handshake in milliseconds from a source with
	// one or two connections; an idle flood is what gets evicted).
	// Default 256.
	MaxUnauthenticated int
	// MaxRequestsPerConnection bounds in-flight requests per connection.
	// Default 1024.
	MaxRequestsPerConnection int
	// HandshakeTimeout bounds the time from accept to READY/AUTH_SUCCESS.
	// Default 10s.
	HandshakeTimeout time.Duration
	// MaxUnauthenticatedPerSource bounds the connections one source IP may
	// hold before completing the handshake (STARTUP and authentication), so
	// one host cannot fill MaxUnauthenticated with idle sockets; further
	// connections from it are refused. Default 16.
	MaxUnauthenticatedPerSource int
	// MaxFailedLoginsPerConnection is how many failed AUTH_RESPONSEs close
	// the connection. Default 3.
	MaxFailedLoginsPerConnection int
	// LoginFailuresBeforeBackoff is how many failed logins per source
	// address, and per role, within LoginFailureWindow are answered at
	// once. Past it, an attempt from a source with recent failures waits
	// LoginBackoff, doubled per failure up to LoginBackoffMax, for the
	// source's failures and for the role's (a role being guessed from
	// elsewhere), before its password is checked. A source without recent
	// failures never waits, and a source that logged in as the role in the
	// last 24 hours waits for nothing until it fails that many times
	// itself: guessers cannot lock a role's users out. Default 3.
	LoginFailuresBeforeBackoff int
	// LoginBackoff is the first wait. Default 250 ms.
	LoginBackoff time.Duration
	// LoginBackoffMax caps the wait. Default 5 s (under HandshakeTimeout).
	LoginBackoffMax time.Duration
	// LoginFailureWindow is how long a failed login is remembered.
	// Default 10 minutes.
	LoginFailureWindow time.Duration
	// CredentialsValidity is how long a successful login's credentials
	// are remembered (as an HMAC, per role) so that the same role and
	// password log in again without a password-hash check: Cassandra's
	// credentials_validity. Only with an Authenticator that implements
	// Generationer; any role change ends it. Default 2 s; negative
	// disables the cache.
	CredentialsValidity time.Duration
	// MaxConcurrentPasswordChecks bounds the password hashes checked at
	// once, so that guessing cannot take every core. A free check goes
	// first to a source logging in as a role it logged in as before, then
	// to sources without recent failures, then to failing ones; one more
	// check is reserved for the first kind. Default GOMAXPROCS/2, at
	// least 1.
	MaxConcurrentPasswordChecks int
	// WriteTimeout bounds how long one write to a client socket may make no
	// progress (each chunk of up to 64 KiB gets a fresh deadline, so it is
	// a stall timeout, not a limit on large responses). A client that stops
	// reading is disconnected when it expires, so it cannot hold its
	// connection's writer and request workers forever. Default 10s.
	WriteTimeout time.Duration
	// EventQueueSize bounds the EVENT frames queued for one connection and
	// not yet written. Publishing never waits for a client: when a
	// registered connection's queue is full, the client is not keeping up
	// and the connection is closed (see Server.SlowConsumersDisconnected).
	// Default 256.
	EventQueueSize int
	// Logger; default slog.Default().
	Logger *slog.Logger
}

// Server is a CQL native protocol server.
type Server struct {
	opts Options
	log  *slog.Logger
	ln   net.Listener

	budget  *dataBudget
	logins  *loginGuard
	creds   *credCache // nil: every login is checked
	refusal *rateLog
	stats   counters

	mu            sync.Mutex
	conns         map[*conn]struct{}
	handshaking   map[*conn]struct{} // connections not yet past the handshake
	pending       map[netip.Addr]int // handshaking connections per source
	authenticated int                // connections holding one of MaxConnections
	closed        bool
	wg            sync.WaitGroup

	// ctx is the parent of every connection's context; Close cancels it.
	ctx    context.Context
	cancel context.CancelFunc

	slowConsumers atomic.Uint64
}

// New returns a server; call Listen then Serve.
func New(opts Options) *Server {
	if opts.MaxFrameSize == 0 {
		opts.MaxFrameSize = 16 << 20
	}
	if opts.MaxConnections == 0 {
		opts.MaxConnections = 1024
	}
	if opts.MaxRequestsPerConnection == 0 {
		opts.MaxRequestsPerConnection = 1024
	}
	if opts.HandshakeTimeout == 0 {
		opts.HandshakeTimeout = 10 * time.Second
	}
	if opts.MaxUnauthenticatedPerSource == 0 {
		opts.MaxUnauthenticatedPerSource = 16
	}
	setDefaultLimits(&opts)
	if opts.WriteTimeout == 0 {
		opts.WriteTimeout = 10 * time.Second
	}
	if opts.EventQueueSize == 0 {
		opts.EventQueueSize = 256
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{opts: opts, log: opts.Logger, conns: map[*conn]struct{}{}, handshaking: map[*conn]struct{}{},
		pending: map[netip.Addr]int{}, ctx: ctx, cancel: cancel,
		budget:  newDataBudget(opts.MaxRequestDataInFlight),
		refusal: newRateLog(opts.Logger, refusalLogEvery),
		logins: newLoginGuard(loginOptions{free: opts.LoginFailuresBeforeBackoff, base: opts.LoginBackoff, max: opts.LoginBackoffMax,
			window: opts.LoginFailureWindow, checks: opts.MaxConcurrentPasswordChecks, trustFor: 24 * time.Hour, maxTracked: 8192}, time.Now),
		creds: newCredCache(opts.Auth, opts.CredentialsValidity, 8192, time.Now)}
}

// refusalLogEvery is the most often one kind of refused connection or
// failed login is logged.
const refusalLogEvery = 10 * time.Second

// setDefaultLimits fills the defaults of the pre-authentication, budget
// and login limits.
func setDefaultLimits(o *Options) {
	if o.MaxPreAuthFrameSize == 0 {
		o.MaxPreAuthFrameSize = 4 << 10
	}
	if o.MaxRequestDataInFlight == 0 {
		o.MaxRequestDataInFlight = 128 << 20
	}
	// One request of the largest size must fit: received, decompressed
	// and processingCopies more.
	o.MaxRequestDataInFlight = max(o.MaxRequestDataInFlight, (2+processingCopies)*int64(o.MaxFrameSize))
	if o.MaxUnauthenticated == 0 {
		o.MaxUnauthenticated = 256
	}
	if o.MaxFailedLoginsPerConnection == 0 {
		o.MaxFailedLoginsPerConnection = 3
	}
	if o.LoginFailuresBeforeBackoff == 0 {
		o.LoginFailuresBeforeBackoff = 3
	}
	if o.LoginBackoff == 0 {
		o.LoginBackoff = 250 * time.Millisecond
	}
	if o.LoginBackoffMax == 0 {
		o.LoginBackoffMax = 5 * time.Second
	}
	if o.LoginFailureWindow == 0 {
		o.LoginFailureWindow = 10 * time.Minute
	}
	if o.CredentialsValidity == 0 {
		o.CredentialsValidity = 2 * time.Second
	}
	if o.MaxConcurrentPasswordChecks == 0 {
		o.MaxConcurrentPasswordChecks = max(1, runtime.GOMAXPROCS(0)/2)
	}
}

// Stats returns the defences' counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	conns, hs := s.authenticated, len(s.handshaking)
	s.mu.Unlock()
	return Stats{Connections: conns, Handshaking: hs,
		RefusedPerSource: s.stats.refusedPerSource.Load(), Evicted: s.stats.evicted.Load(), RefusedFull: s.stats.refusedFull.Load(),
		HandshakeTimeouts: s.stats.handshakeTimeouts.Load(), TLSFailures: s.stats.tlsFailures.Load(), FailedLogins: s.stats.failedLogins.Load(), CachedLogins: s.stats.cachedLogins.Load(),
		ClosedAfterFailedLogins: s.stats.closedAfterFailedLogins.Load(),
		RequestBytesInFlight:    s.budget.used.Load(), PeakRequestBytesInFlight: s.budget.peak.Load(),
		SlowConsumersDisconnected: s.slowConsumers.Load()}
}

// Listen opens the listening socket.
func (s *Server) Listen() error {
	ln, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("native transport: listen on %s: %w", s.opts.Addr, err)
	}
	s.ln = ln
	return nil
}

// Addr returns the bound address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve accepts connections until Close.
func (s *Server) Serve() error {
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return fmt.Errorf("native transport: accept: %w", err)
		}
		s.admit(nc)
	}
}

// admit registers a new connection as handshaking and starts serving it,
// unless its source already has MaxUnauthenticatedPerSource handshaking;
// when MaxUnauthenticated are handshaking, the idlest connection of the
// busiest source is evicted to make room.
func (s *Server) admit(nc net.Conn) {
	c := newConn(s, nc)
	if ap, err := netip.ParseAddrPort(nc.RemoteAddr().String()); err == nil {
		c.source = ap.Addr().Unmap()
	}
	c.touch()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		nc.Close()
		return
	}
	if s.pending[c.source] >= s.opts.MaxUnauthenticatedPerSource {
		s.mu.Unlock()
		nc.Close()
		s.stats.refusedPerSource.Add(1)
		s.refusal.warn("refusing client connections: too many from one source still handshaking",
			"remote", nc.RemoteAddr().String(), "max_per_source", s.opts.MaxUnauthenticatedPerSource)
		return
	}
	var victim *conn
	if len(s.handshaking) >= s.opts.MaxUnauthenticated {
		victim = s.idlestHandshakingLocked()
		s.dropPendingLocked(victim)
	}
	s.pending[c.source]++
	c.pendingHeld = true
	s.handshaking[c] = struct{}{}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	if victim != nil {
		victim.close()
		s.stats.evicted.Add(1)
		s.refusal.warn("closing idle handshaking client connections: too many connections handshaking",
			"evicted", victim.nc.RemoteAddr().String(), "max_unauthenticated", s.opts.MaxUnauthenticated)
	}
	go func() {
		defer s.wg.Done()
		c.serve()
		s.mu.Lock()
		delete(s.conns, c)
		if c.slotHeld {
			c.slotHeld = false
			s.authenticated--
		}
		s.mu.Unlock()
		c.releasePending()
	}()
}

// idlestHandshakingLocked returns the eviction victim: of the sources
// holding the most handshaking connections, the connection whose last
// frame (or accept) is oldest. Taking it from the busiest source means a
// flood that re-dials as fast as it is evicted only ever evicts itself: a
// real client with one connection in its handshake is never the victim
// while any source holds more. s.mu is held; MaxUnauthenticated bounds
// the scan.
func (s *Server) idlestHandshakingLocked() *conn {
	most := 0
	for _, n := range s.pending {
		most = max(most, n)
	}
	var v *conn
	for c := range s.handshaking {
		if s.pending[c.source] < most {
			continue
		}
		if v == nil || c.lastActive.Load() < v.lastActive.Load() {
			v = c
		}
	}
	return v
}

// Close stops accepting, closes every connection, cancels the context of
// every request still running and waits for the connections' goroutines.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	s.cancel()
	for c := range s.conns {
		c.close()
	}
	s.mu.Unlock()
	var err error
	if s.ln != nil {
		err = s.ln.Close()
	}
	s.wg.Wait()
	return err
}

// PublishSchemaChange sends a SCHEMA_CHANGE event to every connection
// registered for it. Like every Publish method it never waits for a
// client: see broadcast.
func (s *Server) PublishSchemaChange(ch schema.Change) {
	s.broadcast(frame.EventSchemaChange, frame.AppendEventSchemaChange(nil, toFrameChange(ch)))
}

// PublishStatusChange sends a STATUS_CHANGE (UP/DOWN) event to every
// connection registered for it, without waiting for any client.
func (s *Server) PublishStatusChange(change string, addr netip.AddrPort) {
	s.broadcast(frame.EventStatusChange, frame.AppendEventStatusChange(nil, change, addr))
}

// PublishTopologyChange sends a TOPOLOGY_CHANGE event to every connection
// registered for it, without waiting for any client.
func (s *Server) PublishTopologyChange(change string, addr netip.AddrPort) {
	s.broadcast(frame.EventTopologyChange, frame.AppendEventTopologyChange(nil, change, addr))
}

// SlowConsumersDisconnected returns how many connections were closed
// because their queue of unwritten events was full (Options.EventQueueSize):
// clients registered for events that did not read them fast enough.
func (s *Server) SlowConsumersDisconnected() uint64 { return s.slowConsumers.Load() }

// broadcast queues an EVENT frame with the given body on every connection
// registered for event. It is called from the cluster's gossip goroutine
// and from requests, so it must never block on a client: each connection
// has a bounded event queue, and a connection whose queue is full is
// closed: neither waited for, nor left open with a gap in its events. A driver
// whose control connection drops reconnects and re-reads the topology and
// schema it may have missed, so closing is safe; silently skipping a
// SCHEMA_CHANGE would leave it with stale metadata.
func (s *Server) broadcast(event string, body []byte) {
	s.mu.Lock()
	var targets []*conn
	for c := range s.conns {
		if c.registered(event) {
			targets = append(targets, c)
		}
	}
	s.mu.Unlock()
	for _, c := range targets {
		c.sendEvent(body)
	}
}

func toFrameChange(ch schema.Change) *frame.SchemaChange {
	return &frame.SchemaChange{ChangeType: string(ch.Type), Target: ch.Target, Keyspace: ch.Keyspace, Name: ch.Name}
}

// conn is one client connection.
type conn struct {
	s  *Server
	nc net.Conn
	// io is what requests are read from and responses written to: nc, or
	// the TLS connection over it (set by serve before the writer starts).
	io net.Conn

	// ctx is cancelled when the connection ends (read error, client
	// disconnect, write failure, slow consumer, server Close); every
	// request runs under a child of it.
	ctx     context.Context
	cancel  context.CancelFunc
	closing atomic.Bool // set by close and when the reader stops; no more events are queued

	// out carries finished response frames to the writer goroutine; senders
	// wait for room (backpressure on this connection only, bounded by the
	// writer's WriteTimeout).
	out chan []byte
	// evq carries EVENT frames to the writer; senders never wait (a full
	// queue closes the connection).
	evq  chan []byte
	done chan struct{}
	fw   frame.FrameWriter
	fwMu sync.Mutex

	stateMu     sync.Mutex
	session     query.Session
	ready       bool
	authPending bool
	events      map[string]bool
	compression frame.Compression

	inflight chan struct{}
	reqWG    sync.WaitGroup
	workerWG sync.WaitGroup // the workers' goroutines

	source      netip.Addr
	pendingHeld bool         // counted in s.pending and s.handshaking until the handshake completes (guarded by s.mu)
	slotHeld    bool         // holds one of MaxConnections (guarded by s.mu)
	lastActive  atomic.Int64 // unix nanoseconds of the last frame read (or of the accept)
	// failedLogins counts this connection's bad credentials (reader
	// goroutine only).
	failedLogins int
	// handshakeDeadline is when the handshake must be complete (set
	// before reading starts).
	handshakeDeadline time.Time
	// reserved is the budget held by the frame being read (reader
	// goroutine only).
	reserved int64
	// tasks feeds the connection's workers: long-lived goroutines (so
	// their grown stacks are reused) started on demand up to maxWorkers.
	tasks   chan task
	workers int          // started workers; owned by the reader goroutine
	idle    atomic.Int32 // workers waiting for a task
}

// maxWorkers bounds the goroutines executing one connection's requests;
// further requests queue (up to MaxRequestsPerConnection in flight).
const maxWorkers = 128

type task struct {
	h        frame.Header
	body     []byte
	reserved int64 // budget released once the request is answered
}

func (c *conn) worker() {
	defer c.workerWG.Done()
	for {
		c.idle.Add(1)
		t, ok := <-c.tasks
		c.idle.Add(-1)
		if !ok {
			return
		}
		c.handle(t.h, t.body)
		c.s.budget.release(t.reserved)
		<-c.inflight
		c.reqWG.Done()
	}
}

func newConn(s *Server, nc net.Conn) *conn {
	ctx, cancel := context.WithCancel(s.ctx)
	return &conn{s: s, nc: nc, io: nc, ctx: ctx, cancel: cancel, out: make(chan []byte, 128),
		evq: make(chan []byte, s.opts.EventQueueSize), done: make(chan struct{}),
		events: map[string]bool{}, inflight: make(chan struct{}, s.opts.MaxRequestsPerConnection),
		tasks: make(chan task, s.opts.MaxRequestsPerConnection)}
}

// close closes the socket and cancels the connection's context, so its
// reader stops, its writer fails fast and its running requests see
// ctx.Done(). It reports whether this call was the first to close.
func (c *conn) close() bool {
	first := c.closing.CompareAndSwap(false, true)
	c.cancel()
	_ = c.nc.Close()
	return first
}

func (c *conn) registered(event string) bool {
	c.stateMu.Lock()
	defer c.stateMu.Unlock()
	return c.events[event]
}

func (c *conn) serve() {
	defer c.nc.Close()
	c.handshakeDeadline = time.Now().Add(c.s.opts.HandshakeTimeout)
	rw, err := c.secure()
	if err != nil {
		c.closing.Store(true)
		if !errors.Is(err, errCleartextRefused) && c.ctx.Err() == nil {
			c.s.stats.tlsFailures.Add(1)
			c.s.refusal.warn("closing client connections: TLS handshake failed", "remote", c.nc.RemoteAddr().String(), "err", err)
		} else if errors.Is(err, errCleartextRefused) {
			c.s.stats.tlsFailures.Add(1)
			c.s.refusal.warn("closing client connections: cleartext client on a TLS-only native port", "remote", c.nc.RemoteAddr().String())
		}
		return
	}
	c.io = rw
	writerDone := make(chan struct{})
	go c.writer(writerDone)
	defer func() {
		// No more requests will be read: the client is gone or the
		// connection is closing. Cancel what the running ones are doing,
		// then wait for them, the workers and the writer. Events are no
		// longer queued for it.
		c.closing.Store(true)
		c.cancel()
		c.reqWG.Wait()
		close(c.tasks)
		c.workerWG.Wait()
		close(c.done)
		<-writerDone
	}()
	_ = c.nc.SetReadDeadline(c.handshakeDeadline)
	r := frame.NewReader(bufio.NewReaderSize(c.io, 64<<10), c.s.opts.MaxPreAuthFrameSize)
	r.SetBeforeBody(c.reserveBody)
	for {
		ok := c.readOne(r)
		c.s.budget.release(c.reserved)
		c.reserved = 0
		if !ok {
			return
		}
	}
}

// processingCopies is how many times its body's size a request is
// charged to the budget beyond the bytes received and decompressed: the
// copy handed to the worker (uncompressed frames) or the statement text,
// and the parse. Measured: 32 pipelined 16 MB statements on 4
// connections took RSS to 900 MB with a 128 MiB budget counting received
// and decompressed bytes only.
const processingCopies = 2

// reserveBody reserves a frame's body from the server's budget before it
// is read (frame.Reader's before-body hook), with processingCopies times
// more for a body processing uses as it is (an uncompressed frame, or the
// decompressed size of a compressed one). Handshake frames are not
// counted: MaxPreAuthFrameSize and MaxUnauthenticated bound them, and a
// spent budget must not keep new clients from logging in.
func (c *conn) reserveBody(h frame.Header) error {
	if !c.isReady() {
		return nil
	}
	n := int64(h.Length)
	if !h.Has(frame.FlagCompression) {
		// The body processing works on (as read, or decompressed): its
		// copies are reserved with it, in one acquisition.
		n *= 1 + processingCopies
	}
	if err := c.s.budget.acquire(c.ctx, n); err != nil {
		return err
	}
	c.reserved += n
	return nil
}

// readOne reads one frame and handles it (inline during the handshake,
// by a worker after); it reports false when the connection must close.
// The budget left in c.reserved is released by the caller; what a
// queued request holds moves to its task.
func (c *conn) readOne(r *frame.Reader) bool {
	h, body, err := r.Next()
	if err != nil {
		c.readError(err)
		return false
	}
	c.touch()
	c.stateMu.Lock()
	comp, ready := c.compression, c.ready
	c.stateMu.Unlock()
	limit := c.s.opts.MaxPreAuthFrameSize
	if ready {
		limit = c.s.opts.MaxFrameSize
	}
	if h.Has(frame.FlagCompression) && comp != frame.NoCompression {
		// Reserve the declared decompressed size before decompressing
		// (OpenRequest refuses a size over the limit before allocating).
		if n, err := frame.DecompressedLen(comp, body); err == nil && n <= limit {
			if err := c.reserveBody(frame.Header{Length: int32(n)}); err != nil {
				return false
			}
		}
	}
	req, _, err := frame.OpenRequest(h, body, comp, limit, nil)
	if err != nil {
		c.sendError(h.Stream, cqlerr.Protocolf("%v", err))
		return false
	}
	// Requests before the handshake completes run inline, in order.
	if !ready {
		if !c.handshake(h, req.Body) {
			return false
		}
		if c.isReady() {
			r.SetMaxBody(c.s.opts.MaxFrameSize)
		}
		return true
	}
	// A decompressed body is a fresh buffer; the reader reuses its buffer
	// for the next frame, so an uncompressed body is copied.
	reqBody := req.Body
	if !h.Has(frame.FlagCompression) {
		reqBody = append([]byte(nil), req.Body...)
	}
	select {
	case c.inflight <- struct{}{}:
	default:
		c.sendError(h.Stream, &cqlerr.Error{Code: cqlerr.Overloaded, Message: fmt.Sprintf("Too many in-flight requests on this connection (max %d)", c.s.opts.MaxRequestsPerConnection)})
		return true
	}
	c.reqWG.Add(1)
	c.tasks <- task{h: h, body: reqBody, reserved: c.reserved} // never blocks: inflight bounds it
	c.reserved = 0
	if c.idle.Load() == 0 && c.workers < maxWorkers {
		c.workers++
		c.workerWG.Add(1)
		go c.worker()
	}
	return true
}

// touch records that the connection was active now.
func (c *conn) touch() { c.lastActive.Store(time.Now().UnixNano()) }

func (c *conn) isReady() bool {
	c.stateMu.Lock()
	defer c.stateMu.Unlock()
	return c.ready
}

func (c *conn) readError(err error) {
	var uv *frame.UnsupportedVersionError
	var tooBig *frame.FrameTooLargeError
	var pe *frame.ProtocolError
	switch {
	case errors.As(err, &uv):
		c.s.log.Debug("client asked for an unsupported protocol version", "remote", c.nc.RemoteAddr().String(), "version", uv.Version)
		c.send(uv.AppendResponse(nil))
	case errors.As(err, &tooBig):
		c.sendError(tooBig.Stream, cqlerr.Protocolf("Request is too big: length %d exceeds maximum allowed length %d.", tooBig.Length, tooBig.Max))
	case errors.As(err, &pe):
		c.sendError(pe.Stream, cqlerr.Protocolf("%s", pe.Message))
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed), c.ctx.Err() != nil:
	default:
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			c.s.stats.handshakeTimeouts.Add(1)
			c.s.refusal.warn("closing client connections: handshake not completed in time", "remote", c.nc.RemoteAddr().String(),
				"handshake_timeout", c.s.opts.HandshakeTimeout)
			return
		}
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			c.sendError(0, cqlerr.Protocolf("%v", err))
		}
	}
}

// handshake handles OPTIONS, STARTUP and AUTH_RESPONSE; it reports false
// when the connection must close.
func (c *conn) handshake(h frame.Header, body []byte) bool {
	switch h.Opcode {
	case frame.OpOptions:
		c.sendSupported(h.Stream)
		return true
	case frame.OpStartup:
		opts, err := frame.DecodeStartup(body)
		if err != nil {
			c.sendError(h.Stream, cqlerr.Protocolf("%v", err))
			return false
		}
		comp := frame.NoCompression
		if name := opts[frame.OptionCompression]; name != "" {
			var ok bool
			if comp, ok = frame.ParseCompression(strings.ToLower(name)); !ok {
				c.sendError(h.Stream, cqlerr.Protocolf("Unknown compression algorithm: %s", name))
				return false
			}
		}
		if v := opts[frame.OptionCQLVersion]; v != "" && !strings.HasPrefix(v, "3.") {
			c.sendError(h.Stream, cqlerr.Protocolf("Invalid or unsupported CQL version %s; supported is 3.4.5", v))
			return false
		}
		if c.s.opts.Auth != nil {
			c.reply(h.Stream, frame.OpAuthenticate, func(dst []byte) []byte {
				return frame.AppendAuthenticate(dst, "org.apache.cassandra.auth.PasswordAuthenticator")
			})
			c.setCompression(comp)
			c.stateMu.Lock()
			c.authPending = true
			c.stateMu.Unlock()
			return true
		}
		if !c.takeSlot(h.Stream) {
			return false
		}
		c.reply(h.Stream, frame.OpReady, func(dst []byte) []byte { return dst })
		c.setCompression(comp)
		c.markReady(query.Session{})
		return true
	case frame.OpAuthResponse:
		c.stateMu.Lock()
		pending := c.authPending
		c.stateMu.Unlock()
		if !pending {
			c.sendError(h.Stream, cqlerr.Protocolf("Unexpected AUTH_RESPONSE before STARTUP"))
			return false
		}
		token, err := frame.DecodeAuthResponse(body)
		if err != nil {
			c.sendError(h.Stream, cqlerr.Protocolf("%v", err))
			return false
		}
		return c.login(h.Stream, token)
	default:
		c.stateMu.Lock()
		pending := c.authPending
		c.stateMu.Unlock()
		if pending {
			c.sendError(h.Stream, &cqlerr.Error{Code: cqlerr.Unauthorized, Message: "You have not logged in"})
			return true
		}
		c.sendError(h.Stream, cqlerr.Protocolf("Unexpected message %s, expecting STARTUP or OPTIONS", h.Opcode))
		return true
	}
}

// login checks a SASL PLAIN token (after the guard's backoff, from the
// credentials cache or within the guard's bound on concurrent hash
// checks) and answers AUTH_SUCCESS or
// BadCredentials; it reports false when the connection must close: after
// MaxFailedLoginsPerConnection failures, when no connection slot is free,
// or when the connection ended while waiting.
func (c *conn) login(stream int16, token []byte) bool {
	user, pass, ok := parsePlain(token)
	if !ok {
		c.sendError(stream, &cqlerr.Error{Code: cqlerr.BadCredentials, Message: "Invalid SASL PLAIN token"})
		return c.loginFailed(user)
	}
	g := c.s.logins
	// The handshake deadline bounds the backoff and the wait for a hash
	// check as it bounds reading the handshake's frames.
	ctx, cancel := context.WithDeadline(c.ctx, c.handshakeDeadline)
	defer cancel()
	if !wait(ctx, g.delay(c.source, user)) {
		c.s.stats.handshakeTimeouts.Add(1)
		return false
	}
	super, cached := c.s.creds.lookup(user, pass)
	if !cached {
		var err error
		super, err = g.check(ctx, g.priorityOf(c.source, user), func() (bool, error) {
			// Clients reconnecting together queue here with the same
			// credentials: the first check answers the others.
			if super, ok := c.s.creds.lookup(user, pass); ok {
				cached = true
				return super, nil
			}
			gen := c.s.creds.generation()
			super, err := c.s.opts.Auth.Authenticate(user, pass)
			if err == nil {
				c.s.creds.store(user, pass, super, gen)
			}
			return super, err
		})
		if ctx.Err() != nil {
			c.s.stats.handshakeTimeouts.Add(1)
			return false
		}
		if err != nil {
			g.failed(c.source, user)
			c.sendError(stream, &cqlerr.Error{Code: cqlerr.BadCredentials, Message: "Provided username " + user + " and/or password are incorrect"})
			return c.loginFailed(user)
		}
	}
	if cached {
		c.s.stats.cachedLogins.Add(1)
	}
	g.succeeded(c.source, user)
	if !c.takeSlot(stream) {
		return false
	}
	c.reply(stream, frame.OpAuthSuccess, func(dst []byte) []byte { return frame.AppendAuthSuccess(dst, nil) })
	c.markReady(query.Session{User: user, Superuser: super})
	return true
}

// loginFailed counts a failed login; it reports false (close) once the
// connection reached MaxFailedLoginsPerConnection.
func (c *conn) loginFailed(user string) bool {
	c.s.stats.failedLogins.Add(1)
	c.failedLogins++
	c.s.refusal.warn("client authentication failed", "remote", c.nc.RemoteAddr().String(), "user", user)
	if c.failedLogins >= c.s.opts.MaxFailedLoginsPerConnection {
		c.s.stats.closedAfterFailedLogins.Add(1)
		return false
	}
	return true
}

// takeSlot moves the connection from the handshaking budget to one of
// MaxConnections; when none is free it answers Overloaded and reports
// false.
func (c *conn) takeSlot(stream int16) bool {
	c.s.mu.Lock()
	if c.s.authenticated >= c.s.opts.MaxConnections {
		c.s.mu.Unlock()
		c.s.stats.refusedFull.Add(1)
		c.s.refusal.warn("refusing client connections: too many connections", "remote", c.nc.RemoteAddr().String(), "max", c.s.opts.MaxConnections)
		c.sendError(stream, &cqlerr.Error{Code: cqlerr.Overloaded, Message: fmt.Sprintf("Too many connections (max %d)", c.s.opts.MaxConnections)})
		return false
	}
	c.s.authenticated++
	c.slotHeld = true
	c.s.dropPendingLocked(c)
	c.s.mu.Unlock()
	return true
}

func (c *conn) setCompression(comp frame.Compression) {
	c.stateMu.Lock()
	c.compression = comp
	c.stateMu.Unlock()
	c.fwMu.Lock()
	c.fw.Compression = comp
	c.fwMu.Unlock()
}

func (c *conn) markReady(s query.Session) {
	c.stateMu.Lock()
	c.ready, c.authPending, c.session = true, false, s
	c.stateMu.Unlock()
	_ = c.nc.SetReadDeadline(time.Time{})
	c.releasePending()
}

// releasePending stops counting the connection as handshaking.
func (c *conn) releasePending() {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	c.s.dropPendingLocked(c)
}

// dropPendingLocked stops counting c as handshaking; s.mu is held.
func (s *Server) dropPendingLocked(c *conn) {
	if !c.pendingHeld {
		return
	}
	c.pendingHeld = false
	delete(s.handshaking, c)
	if s.pending[c.source]--; s.pending[c.source] <= 0 {
		delete(s.pending, c.source)
	}
}

// parsePlain splits a SASL PLAIN token: [authzid] NUL authcid NUL passwd.
func parsePlain(tok []byte) (string, string, bool) {
	parts := strings.Split(string(tok), "\x00")
	if len(parts) != 3 {
		return "", "", false
	}
	return parts[1], parts[2], true
}

func (c *conn) sendSupported(stream int16) {
	c.reply(stream, frame.OpSupported, func(dst []byte) []byte {
		return frame.AppendSupported(dst, map[string][]string{
			frame.OptionCQLVersion:       {"3.4.5"},
			frame.OptionCompression:      frame.SupportedCompressions,
			frame.OptionProtocolVersions: frame.SupportedProtocolVersions,
		})
	})
}

// handle executes one request after the handshake, under a child of the
// connection's context: a request whose client has gone is cancelled.
func (c *conn) handle(h frame.Header, body []byte) {
	p := c.s.opts.Processor
	ctx, cancel := context.WithCancel(c.ctx)
	defer cancel()
	c.stateMu.Lock()
	sess := c.session
	c.stateMu.Unlock()
	var res *query.Result
	var err error
	switch h.Opcode {
	case frame.OpOptions:
		c.sendSupported(h.Stream)
		return
	case frame.OpStartup, frame.OpAuthResponse:
		c.sendError(h.Stream, cqlerr.Protocolf("Unexpected message %s, the connection is already initialised", h.Opcode))
		return
	case frame.OpQuery:
		q, derr := frame.DecodeQuery(body)
		if derr != nil {
			c.sendError(h.Stream, cqlerr.Protocolf("%v", derr))
			return
		}
		params := toParams(&q.Params)
		res, err = p.Query(ctx, &sess, q.Query, params)
		c.writeResult(h.Stream, res, err, params.SkipMetadata, nil)
	case frame.OpPrepare:
		q, derr := frame.DecodePrepare(body)
		if derr != nil {
			c.sendError(h.Stream, cqlerr.Protocolf("%v", derr))
			return
		}
		ps, perr := p.Prepare(ctx, &sess, q)
		if perr != nil {
			c.sendError(h.Stream, perr)
			return
		}
		c.reply(h.Stream, frame.OpResult, func(dst []byte) []byte {
			pr := &frame.PreparedResult{ID: ps.ID, BindColumns: toSpecs(ps.Vars), PKIndexes: ps.PKIndexes}
			if ps.ResultColumns == nil {
				pr.Result = frame.RowsMetadata{NoMetadata: true}
			} else {
				pr.Result = frame.RowsMetadata{Columns: toSpecs(ps.ResultColumns)}
			}
			return frame.AppendResultPrepared(dst, pr)
		})
		return
	case frame.OpExecute:
		e, derr := frame.DecodeExecute(body)
		if derr != nil {
			c.sendError(h.Stream, cqlerr.Protocolf("%v", derr))
			return
		}
		params := toParams(&e.Params)
		res, err = p.Execute(ctx, &sess, e.ID, params)
		c.writeResult(h.Stream, res, err, params.SkipMetadata, nil)
	case frame.OpBatch:
		b, derr := frame.DecodeBatch(body)
		if derr != nil {
			c.sendError(h.Stream, cqlerr.Protocolf("%v", derr))
			return
		}
		entries := make([]query.BatchEntry, len(b.Statements))
		for i, st := range b.Statements {
			entries[i] = query.BatchEntry{Query: st.Query, ID: st.ID, Prepared: st.Prepared, Values: toValues(st.Values)}
		}
		params := &query.Params{Consistency: b.Consistency, SerialConsistency: b.SerialConsistency, Timestamp: b.DefaultTimestamp, HasTimestamp: b.HasTimestamp}
		res, err = p.Batch(ctx, &sess, b.Type, entries, params)
		c.writeResult(h.Stream, res, err, false, nil)
	case frame.OpRegister:
		evs, derr := frame.DecodeRegister(body)
		if derr != nil {
			c.sendError(h.Stream, cqlerr.Protocolf("%v", derr))
			return
		}
		c.stateMu.Lock()
		for _, e := range evs {
			switch e {
			case frame.EventSchemaChange, frame.EventStatusChange, frame.EventTopologyChange:
				c.events[e] = true
			default:
				c.stateMu.Unlock()
				c.sendError(h.Stream, cqlerr.Protocolf("Invalid value '%s' for Event.Type", e))
				return
			}
		}
		c.stateMu.Unlock()
		c.reply(h.Stream, frame.OpReady, func(dst []byte) []byte { return dst })
		return
	default:
		c.sendError(h.Stream, cqlerr.Protocolf("Unknown or unexpected opcode %s", h.Opcode))
		return
	}
	if err == nil && res != nil && res.Kind == query.ResultSetKeyspace {
		c.stateMu.Lock()
		c.session.Keyspace = res.Keyspace
		c.stateMu.Unlock()
	}
}

func toParams(q *frame.QueryParams) *query.Params {
	return &query.Params{Consistency: q.Consistency, Values: toValues(q.Values), Names: q.Names, PageSize: q.PageSize,
		PagingState: q.PagingState, SerialConsistency: q.SerialConsistency, Timestamp: q.DefaultTimestamp,
		HasTimestamp: q.HasTimestamp, SkipMetadata: q.SkipMetadata}
}

// toValues converts decoded bound values to the processor's type.
func toValues(vs []frame.Value) []query.Value {
	if vs == nil {
		return nil
	}
	out := make([]query.Value, len(vs))
	for i, v := range vs {
		out[i] = query.Value(v)
	}
	return out
}

func toSpecs(cols []query.ColumnSpec) []frame.ColumnSpec {
	out := make([]frame.ColumnSpec, len(cols))
	for i, col := range cols {
		out[i] = frame.ColumnSpec{Keyspace: col.Keyspace, Table: col.Table, Name: col.Name, Type: types.AppendOption(nil, col.Type)}
	}
	return out
}

func (c *conn) writeResult(stream int16, res *query.Result, err error, skipMeta bool, _ []string) {
	if err != nil {
		if c.ctx.Err() != nil {
			// The request was cut short because its connection is gone:
			// there is no one to answer, and nothing to log as a failure.
			return
		}
		c.sendError(stream, err)
		return
	}
	var x *frame.Extras
	if len(res.Warnings) > 0 {
		x = &frame.Extras{Warnings: res.Warnings}
	}
	c.replyExtras(stream, frame.OpResult, x, func(dst []byte) []byte {
		switch res.Kind {
		case query.ResultRows:
			md := &frame.RowsMetadata{PagingState: res.Rows.PagingState}
			if skipMeta {
				md.NoMetadata = true
				md.Columns = make([]frame.ColumnSpec, len(res.Rows.Columns))
			} else {
				md.Columns = toSpecs(res.Rows.Columns)
			}
			dst = frame.AppendInt(dst, frame.ResultRows)
			dst = frame.AppendRowsMetadata(dst, md)
			dst = frame.AppendInt(dst, int32(res.Rows.Count))
			return append(dst, res.Rows.Data...)
		case query.ResultSetKeyspace:
			return frame.AppendResultSetKeyspace(dst, res.Keyspace)
		case query.ResultSchemaChange:
			return frame.AppendResultSchemaChange(dst, toFrameChange(res.Change))
		}
		return frame.AppendResultVoid(dst)
	})
}

// sendError writes an ERROR frame for err.
func (c *conn) sendError(stream int16, err error) {
	e := cqlerr.From(err)
	if e.Code == cqlerr.ServerError {
		c.s.log.Error("request failed", "remote", c.nc.RemoteAddr().String(), "err", e.Message)
	}
	er := &frame.ErrorResponse{Code: frame.ErrorCode(e.Code), Message: e.Message, Consistency: frame.Consistency(e.Consistency),
		Required: e.Required, Alive: e.Alive, Received: e.Alive, BlockFor: e.Required, NumFailures: e.NumFailures,
		WriteType: e.WriteType, DataPresent: e.DataPresent, Keyspace: e.Keyspace, Table: e.Table, UnpreparedID: e.ID}
	c.reply(stream, frame.OpError, func(dst []byte) []byte { return frame.AppendError(dst, er) })
}

func (c *conn) reply(stream int16, op frame.Opcode, body func([]byte) []byte) {
	c.replyExtras(stream, op, nil, body)
}

func (c *conn) replyExtras(stream int16, op frame.Opcode, x *frame.Extras, body func([]byte) []byte) {
	buf, start := c.fw.Begin(make([]byte, 0, 256), stream, op, x)
	buf = body(buf)
	c.fwMu.Lock()
	out, err := c.fw.Finish(buf, start)
	c.fwMu.Unlock()
	if err != nil {
		c.s.log.Error("encoding response failed", "err", err)
		if op != frame.OpError {
			c.sendError(stream, cqlerr.Serverf("%v", err))
		}
		return
	}
	c.send(out)
}

// sendEvent queues an EVENT frame with the given body without blocking. A
// full event queue means the client has stopped reading (or cannot keep
// up): the connection is closed and counted as a slow consumer.
func (c *conn) sendEvent(body []byte) {
	if c.closing.Load() {
		return
	}
	buf, start := c.fw.Begin(make([]byte, 0, frame.HeaderSize+len(body)), frame.EventStream, frame.OpEvent, nil)
	buf = append(buf, body...)
	c.fwMu.Lock()
	out, err := c.fw.Finish(buf, start)
	c.fwMu.Unlock()
	if err != nil {
		c.s.log.Error("encoding event failed", "err", err)
		return
	}
	select {
	case c.evq <- out:
	case <-c.done:
	default:
		if c.close() {
			c.s.slowConsumers.Add(1)
			c.s.log.Warn("closing client connection: it is not reading its events fast enough",
				"remote", c.nc.RemoteAddr().String(), "queued_events", cap(c.evq))
		}
	}
}

func (c *conn) send(b []byte) {
	select {
	case c.out <- b:
	case <-c.done:
	}
}

// writeChunk is the most one socket write sends under one deadline.
const writeChunk = 64 << 10

// deadlineWriter writes to a connection in chunks, each under a fresh
// write deadline: the timeout bounds a stall (a client that stopped
// reading), not the time a large response takes.
type deadlineWriter struct {
	nc      net.Conn
	timeout time.Duration
}

func (w deadlineWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		chunk := p[:min(len(p), writeChunk)]
		if err := w.nc.SetWriteDeadline(time.Now().Add(w.timeout)); err != nil {
			return n, err
		}
		m, err := w.nc.Write(chunk)
		n += m
		if err != nil {
			return n, err
		}
		p = p[m:]
	}
	return n, nil
}

// queued returns how many frames wait for the writer.
func (c *conn) queued() int { return len(c.out) + len(c.evq) }

// writer writes queued responses and events, flushing when both queues are
// empty. A write that makes no progress for WriteTimeout closes the
// connection.
func (c *conn) writer(done chan struct{}) {
	defer close(done)
	w := bufio.NewWriterSize(deadlineWriter{nc: c.io, timeout: c.s.opts.WriteTimeout}, 64<<10)
	for {
		var b []byte
		select {
		case b = <-c.out:
		case b = <-c.evq:
		case <-c.done:
			c.flushRest(w)
			return
		}
		if _, err := w.Write(b); err != nil {
			c.writeFailed(err)
			return
		}
		if c.queued() == 0 {
			// Let other frames that are about to be queued join this
			// write: one syscall for many small frames.
			runtime.Gosched()
		}
		if c.queued() == 0 {
			if err := w.Flush(); err != nil {
				c.writeFailed(err)
				return
			}
		}
	}
}

// flushRest writes what is still queued once the connection is done (each
// write still bounded by the deadline).
func (c *conn) flushRest(w *bufio.Writer) {
	for {
		var b []byte
		select {
		case b = <-c.out:
		case b = <-c.evq:
		default:
			_ = w.Flush()
			return
		}
		if _, err := w.Write(b); err != nil {
			return
		}
	}
}

// writeFailed closes the connection after a failed write and discards
// what is queued until the connection is done, so senders never block.
func (c *conn) writeFailed(err error) {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.s.log.Info("closing client connection: it has not read its responses for the write timeout",
			"remote", c.nc.RemoteAddr().String(), "write_timeout", c.s.opts.WriteTimeout)
	}
	c.close()
	for {
		select {
		case <-c.out:
		case <-c.evq:
		case <-c.done:
			return
		}
	}
}
