package streaming

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/ringdb/ringdb/internal/messaging"
	"github.com/ringdb/ringdb/internal/storage"
)

// Service is one node's streaming endpoint: it serves chunks of its data
// to members that pull them (throttled by stream_throughput_outbound) and
// pulls spans from peers into its engine, tracking both for netstats.
type Service struct {
	o       Options
	limiter *rate.Limiter // nil: unthrottled
	progress
}

// New returns a service and registers its verb handler on the transport.
func New(o Options) (*Service, error) {
	if err := o.ensureDefaults(); err != nil {
		return nil, err
	}
	s := &Service{o: o}
	s.progress.now = o.Now
	if o.ThroughputMiB > 0 {
		bps := o.ThroughputMiB * (1 << 20)
		s.limiter = rate.NewLimiter(rate.Limit(bps), throttleBurst)
	}
	o.Transport.Handle(messaging.VerbStreamPull, s.serve)
	o.Transport.Handle(messaging.VerbStreamRequest, s.serveRequest)
	return s, nil
}

// throttleBurst is the limiter's bucket; larger sends wait in pieces.
const throttleBurst = 1 << 20

// serve answers one pull request with the next chunk of the span.
func (s *Service) serve(ctx context.Context, from netip.Addr, payload []byte) ([]byte, error) {
	if !s.o.Admitted(from) {
		return nil, fmt.Errorf("%s refused: %s %s", messaging.VerbStreamPull, from, notMember)
	}
	req, err := decodePullRequest(payload)
	if err != nil {
		return nil, err
	}
	st := s.outgoing(req.session, from)
	enc := newChunkEncoder(make([]byte, 0, int(req.maxBytes)+4096))
	_, more, err := s.o.Engine.ExportSpan(req.span, req.after, int(req.maxBytes), func(p storage.StreamPair) error {
		enc.add(p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := enc.finish(more)
	if err := s.throttle(ctx, len(out)); err != nil {
		return nil, err
	}
	st.add(int64(len(out)), int64(enc.n))
	return out, nil
}

// throttle waits until n bytes may be sent under stream_throughput_outbound.
func (s *Service) throttle(ctx context.Context, n int) error {
	if s.limiter == nil {
		return nil
	}
	for n > 0 {
		k := min(n, throttleBurst)
		if err := s.limiter.WaitN(ctx, k); err != nil {
			return fmt.Errorf("streaming: throttle: %w", err)
		}
		n -= k
	}
	return nil
}

// Transfer is one span to pull from one peer.
type Transfer struct {
	// Peer is the source replica.
	Peer netip.Addr
	// Span is the table and tokens to pull.
	Span storage.TokenSpan
}

// Pull streams every transfer into the local engine, in order, and
// returns the first error (naming the peer and span) or nil once all
// arrived. A chunk that fails (timeout, lost connection, bad checksum) is
// asked for again from the same resume key up to Options.Retries times;
// what was applied stays applied (streaming is idempotent: pairs merge),
// so running the whole operation again completes it. desc names the
// operation in netstats ("Bootstrap", "Repair", ...).
func (s *Service) Pull(ctx context.Context, desc string, transfers []Transfer) error {
	st := s.incoming(desc, transfers)
	defer st.finish()
	last := s.o.Now()
	for _, t := range transfers {
		if err := s.pullSpan(ctx, st, t); err != nil {
			st.fail(err)
			return err
		}
		st.spanDone()
		if now := s.o.Now(); now.Sub(last) >= progressLogInterval {
			last = now
			i := st.info()
			s.o.Logger.Info("stream progress", "operation", desc, "spans_done", i.SpansDone, "spans", i.SpansTotal,
				"percent", 100*i.SpansDone/max(i.SpansTotal, 1), "bytes", i.Bytes, "pairs", i.Pairs)
		}
	}
	return nil
}

// progressLogInterval is how often a pull logs its progress.
const progressLogInterval = 10 * time.Second

// pullSpan pulls one span chunk by chunk until the source says it is done.
func (s *Service) pullSpan(ctx context.Context, st *Stream, t Transfer) error {
	req := pullRequest{session: st.id, span: t.Span, maxBytes: uint32(s.o.ChunkBytes)}
	for {
		c, raw, err := s.fetch(ctx, t.Peer, req)
		if err != nil {
			return fmt.Errorf("streaming from %s, table %x tokens [%d, %d]: %w", t.Peer, t.Span.Table[:4], t.Span.First, t.Span.Last, err)
		}
		if err := s.o.Engine.ImportSpan(t.Span, req.after, c.pairs); err != nil {
			return fmt.Errorf("streaming from %s: chunk refused: %w", t.Peer, err)
		}
		st.add(int64(raw), int64(len(c.pairs)))
		if !c.more {
			return nil
		}
		req.after = append([]byte(nil), c.pairs[len(c.pairs)-1].Key...)
	}
}

// notMember ends the refusal a source sends a peer it does not know as a
// member; the receiver recognises it (see fetch).
const notMember = "is not a member of this cluster"

// fetch asks for one chunk, retrying transient failures with backoff. A
// refusal because the source does not know this node as a member yet is
// retried for up to AdmissionWait without counting against Retries.
func (s *Service) fetch(ctx context.Context, peer netip.Addr, req pullRequest) (chunk, int, error) {
	payload := appendPullRequest(nil, req)
	wait := s.o.RetryBackoff
	var last error
	var refusedSince time.Time
	for attempt := 0; attempt <= s.o.Retries; {
		if err := ctx.Err(); err != nil {
			return chunk{}, 0, err
		}
		if s.o.PeerAlive != nil && !s.o.PeerAlive(peer) {
			return chunk{}, 0, fmt.Errorf("source %s is down (the failure detector convicted it)", peer)
		}
		resp, err := s.request(ctx, peer, messaging.VerbStreamPull, payload, s.o.ChunkTimeout)
		if err == nil {
			c, derr := decodeChunk(resp)
			if derr == nil {
				return c, len(resp), nil
			}
			err = derr
		}
		if ctx.Err() != nil {
			return chunk{}, 0, err
		}
		pause := wait
		switch {
		case s.refusedAsNonMember(err, &refusedSince):
			s.o.Logger.Info("stream source does not know this node as a member yet, retrying", "peer", peer.String())
			pause = s.o.RetryBackoff
		case isRemote(err):
			return chunk{}, 0, err // the source refused: retrying changes nothing
		default:
			attempt++
			last = err
			if attempt > s.o.Retries {
				continue
			}
			s.o.Logger.Warn("stream chunk failed, retrying", "peer", peer.String(), "attempt", attempt, "err", err)
			wait *= 2
		}
		if !sleep(ctx, pause) {
			return chunk{}, 0, ctx.Err()
		}
	}
	return chunk{}, 0, fmt.Errorf("gave up after %d attempts: %w", s.o.Retries+1, last)
}

// refusedAsNonMember reports whether err is the source's refusal of a
// non-member that should be retried: the first such refusal starts the
// AdmissionWait clock in *since.
func (s *Service) refusedAsNonMember(err error, since *time.Time) bool {
	var remote *messaging.RemoteError
	if !errors.As(err, &remote) || !strings.HasSuffix(remote.Message, notMember) || s.o.AdmissionWait < 0 {
		return false
	}
	now := s.o.Now()
	if since.IsZero() {
		*since = now
	}
	return now.Sub(*since) < s.o.AdmissionWait
}

func isRemote(err error) bool {
	var remote *messaging.RemoteError
	return errors.As(err, &remote)
}

// peerCheckInterval is how often a chunk request checks that its source
// is still alive.
const peerCheckInterval = 500 * time.Millisecond

// request sends one request of verb v to peer, bounded by timeout and
// abandoned when the failure detector convicts the peer.
func (s *Service) request(ctx context.Context, peer netip.Addr, v messaging.Verb, payload []byte, timeout time.Duration) ([]byte, error) {
	rctx, cancel := context.WithTimeoutCause(ctx, timeout, fmt.Errorf("no answer from %s within %v", peer, timeout))
	defer cancel()
	if s.o.PeerAlive != nil {
		var down context.CancelCauseFunc
		rctx, down = context.WithCancelCause(rctx)
		done := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(peerCheckInterval)
			defer t.Stop()
			for {
				select {
				case <-done:
					return
				case <-rctx.Done():
					return
				case <-t.C:
					if !s.o.PeerAlive(peer) {
						down(fmt.Errorf("%s is down (the failure detector convicted it)", peer))
						return
					}
				}
			}
		}()
		defer func() { close(done); wg.Wait() }()
	}
	resp, err := s.o.Transport.Request(rctx, peer, v, payload)
	if err != nil && ctx.Err() == nil {
		if cause := context.Cause(rctx); cause != nil && rctx.Err() != nil {
			return nil, fmt.Errorf("%w (%v)", cause, err)
		}
	}
	return resp, err
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// progress tracks the streams of this node for netstats.
type progress struct {
	now    func() time.Time
	mu     sync.Mutex
	active map[[16]byte]*Stream
	recent []*Stream // finished, newest last, at most maxRecent
}

const (
	maxRecent = 16
	// maxOutgoing bounds the outgoing streams tracked at once (a member
	// pulling with fresh session ids cannot grow the table without bound).
	maxOutgoing = 256
	// outgoingIdle is how long an outgoing stream without a request stays
	// in the active table.
	outgoingIdle = 2 * time.Minute
)

func (p *progress) incoming(desc string, transfers []Transfer) *Stream {
	var id [16]byte
	_, _ = rand.Read(id[:])
	st := &Stream{id: id, Direction: "in", Description: desc, SpansTotal: len(transfers), Started: p.now(), now: p.now}
	for _, t := range transfers {
		st.Peers = appendUnique(st.Peers, t.Peer)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.active == nil {
		p.active = map[[16]byte]*Stream{}
	}
	p.active[id] = st
	st.owner = p
	return st
}

// outgoing returns the stream a peer's pull request belongs to.
func (p *progress) outgoing(id [16]byte, peer netip.Addr) *Stream {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.active == nil {
		p.active = map[[16]byte]*Stream{}
	}
	now := p.now()
	if st := p.active[id]; st != nil && st.Direction == "out" {
		st.touch(now)
		return st
	}
	p.expireOutgoing(now)
	st := &Stream{id: id, Direction: "out", Description: "Stream", Peers: []netip.Addr{peer}, Started: now, now: p.now}
	st.touch(now)
	if len(p.active) < maxOutgoing {
		p.active[id] = st
	}
	return st
}

// expireOutgoing moves idle outgoing streams to the recent list; the
// caller holds mu.
func (p *progress) expireOutgoing(now time.Time) {
	for id, st := range p.active {
		if st.Direction == "out" && now.Sub(st.lastSeen()) > outgoingIdle {
			delete(p.active, id)
			p.remember(st)
		}
	}
}

func (p *progress) remember(st *Stream) {
	p.recent = append(p.recent, st)
	if len(p.recent) > maxRecent {
		p.recent = p.recent[len(p.recent)-maxRecent:]
	}
}

// Streams returns a snapshot of the active streams and the recently
// finished ones.
func (s *Service) Streams() (active, recent []StreamInfo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireOutgoing(s.now())
	for _, st := range s.active {
		active = append(active, st.info())
	}
	for _, st := range s.recent {
		recent = append(recent, st.info())
	}
	return active, recent
}

func appendUnique(as []netip.Addr, a netip.Addr) []netip.Addr {
	for _, x := range as {
		if x == a {
			return as
		}
	}
	return append(as, a)
}
