package messaging

import (
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Inbound connection budgets (see Options, "Connection budgets"). Every
// accepted connection is an inConn in exactly one budget at a time: the
// handshake budget (Service.handshakes, Service.handshaking) until
// authenticate moves it to its peer's slots (Service.peerSlots), and
// release takes it out of whichever it is in when it ends.

// inConn is one accepted inbound connection.
type inConn struct {
	raw net.Conn
	src netip.AddrPort

	// Guarded by Service.mu.
	peer    netip.Addr // authenticated address; invalid while handshaking
	lane    lane
	dropped bool // no longer in any budget (evicted, or refused after TLS)

	lastActive atomic.Int64 // monoNow of the last byte read or response written
	running    atomic.Int32 // handlers in flight
}

// touch records activity now.
func (c *inConn) touch() { c.lastActive.Store(monoNow()) }

func (c *inConn) last() time.Time { return monoTime(c.lastActive.Load()) }

// epoch is the origin of monoNow.
var epoch = time.Now()

// monoNow returns the monotonic time since epoch in nanoseconds, for
// activity stamps kept in an atomic.Int64 (wall-clock steps do not make a
// connection look idle or busy).
func monoNow() int64 { return int64(time.Since(epoch)) }

// monoTime converts a monoNow value back to a time.Time.
func monoTime(n int64) time.Time { return epoch.Add(time.Duration(n)) }

// peerSlots are one peer address's authenticated connections, oldest first.
type peerSlots struct {
	conns    []*inConn
	reserved bool // Options.Reserved said so when the first one arrived
}

// Causes of refused or dropped inbound connections, as logged.
const (
	causeHandshakes      = "MaxHandshakes"
	causeSourceHandshake = "MaxHandshakesPerSource"
	causePeers           = "MaxPeers"
	causeConnsPerPeer    = "MaxConnsPerPeer"
	causeRefused         = "refused peer"
)

// reserved reports whether Options.Reserved names addr. It is called
// without Service.mu held.
func (s *Service) reserved(addr netip.Addr) bool {
	return s.o.Reserved != nil && s.o.Reserved(addr)
}

// admit puts a new connection in the handshake budget, or refuses it. A
// member's source (Reserved, or known since Start) is bound only by
// MaxHandshakesPerSource.
func (s *Service) admit(raw net.Conn, src netip.AddrPort) (*inConn, bool) {
	reserved := s.reserved(src.Addr())
	s.mu.Lock()
	cause := ""
	switch {
	case s.closed:
		s.mu.Unlock()
		return nil, false
	case s.handshaking[src.Addr()] >= s.o.MaxHandshakesPerSource:
		cause = causeSourceHandshake
		s.stats.refusedSource.Add(1)
	case s.handshakes >= s.o.MaxHandshakes && !reserved && !s.isKnown(src.Addr()):
		cause = causeHandshakes
		s.stats.refusedHandshakes.Add(1)
	}
	if cause != "" {
		s.mu.Unlock()
		s.limited(src, cause, "connection closed before TLS")
		return nil, false
	}
	ic := &inConn{raw: raw, src: src}
	ic.touch()
	s.inbound[raw] = ic
	s.handshakes++
	s.handshaking[src.Addr()]++
	s.mu.Unlock()
	return ic, true
}

// authenticate moves ic from the handshake budget to the slots of peer,
// closing that peer's least recently active connection if it already has
// MaxConnsPerPeer. It refuses ic (the caller sends rejectBusy) when peer
// would be one address too many for MaxPeers, or the Service is closing.
func (s *Service) authenticate(ic *inConn, peer netip.Addr, ln lane) (reason string, ok bool) {
	reserved := s.reserved(peer)
	s.mu.Lock()
	s.leaveHandshake(ic)
	ic.peer, ic.lane = peer, ln
	if s.closed {
		ic.dropped = true
		s.mu.Unlock()
		return "closing", false
	}
	ps := s.peerSlots[peer]
	if ps == nil {
		if !reserved && s.unreservedPeers >= s.o.MaxPeers {
			ic.dropped = true
			s.stats.refusedPeers.Add(1)
			s.mu.Unlock()
			return fmt.Sprintf("%s: %d peer addresses already connected", causePeers, s.o.MaxPeers), false
		}
		ps = &peerSlots{reserved: reserved}
		s.peerSlots[peer] = ps
		if !reserved {
			s.unreservedPeers++
		}
	}
	var victim *inConn
	if len(ps.conns) >= s.o.MaxConnsPerPeer {
		i := 0
		for j, c := range ps.conns {
			if c.lastActive.Load() < ps.conns[i].lastActive.Load() {
				i = j
			}
		}
		victim = ps.conns[i]
		victim.dropped = true
		ps.conns = slices.Delete(ps.conns, i, i+1)
		s.stats.evicted.Add(1)
	}
	ps.conns = append(ps.conns, ic)
	s.authenticated++
	s.remember(peer)
	s.mu.Unlock()
	if victim != nil {
		victim.raw.Close()
		s.limited(victim.src, causeConnsPerPeer, fmt.Sprintf("least recently active %v connection closed for a new %v connection", victim.lane, ln))
	}
	return "", true
}

// leaveHandshake takes ic out of the handshake budget. s.mu must be held.
func (s *Service) leaveHandshake(ic *inConn) {
	s.handshakes--
	src := ic.src.Addr()
	if s.handshaking[src]--; s.handshaking[src] <= 0 {
		delete(s.handshaking, src)
	}
}

// release takes an ended connection out of the Service and of its budget.
func (s *Service) release(ic *inConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.inbound, ic.raw)
	switch {
	case !ic.peer.IsValid():
		s.leaveHandshake(ic)
	case ic.dropped:
	default:
		ps := s.peerSlots[ic.peer]
		if i := slices.Index(ps.conns, ic); i >= 0 {
			ps.conns = slices.Delete(ps.conns, i, i+1)
			s.authenticated--
		}
		if len(ps.conns) == 0 {
			delete(s.peerSlots, ic.peer)
			if !ps.reserved {
				s.unreservedPeers--
			}
		}
	}
	ic.dropped = true
}

// remember records that addr authenticated (as a peer that dialled us, or
// as the peer we dialled): its handshakes no longer wait for
// MaxHandshakes. The set holds at most MaxPeers addresses, forgetting the
// least recent. s.mu must be held.
func (s *Service) remember(addr netip.Addr) {
	if _, ok := s.known[addr]; !ok && len(s.known) >= s.o.MaxPeers {
		oldest, at := netip.Addr{}, time.Time{}
		for a, t := range s.known {
			if !oldest.IsValid() || t.Before(at) {
				oldest, at = a, t
			}
		}
		delete(s.known, oldest)
	}
	s.known[addr] = time.Now()
}

// rememberPeer is remember for callers without s.mu.
func (s *Service) rememberPeer(addr netip.Addr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.remember(addr)
}

// isKnown reports whether addr has authenticated since Start. s.mu must
// be held.
func (s *Service) isKnown(addr netip.Addr) bool {
	_, ok := s.known[addr]
	return ok
}

// Stats is a snapshot of the inbound connection budgets and of the
// counters of refused and closed connections since New.
type Stats struct {
	// Handshaking is the number of inbound connections in the handshake now.
	Handshaking int
	// Authenticated is the number of authenticated inbound connections now.
	Authenticated int
	// Peers is the number of peer addresses with authenticated inbound
	// connections now.
	Peers int
	// RefusedMaxHandshakes counts connections closed at accept because
	// MaxHandshakes connections were in the handshake.
	RefusedMaxHandshakes uint64
	// RefusedMaxHandshakesPerSource counts connections closed at accept
	// because their source had MaxHandshakesPerSource in the handshake.
	RefusedMaxHandshakesPerSource uint64
	// RefusedMaxPeers counts authenticated connections refused because
	// MaxPeers other addresses were connected.
	RefusedMaxPeers uint64
	// HandshakeFailures counts inbound connections that failed the
	// handshake (TLS, certificate, cluster, address, version, malformed,
	// HandshakeTimeout); each was reported to OnRefused.
	HandshakeFailures uint64
	// HandshakeTimeouts counts the HandshakeFailures where HandshakeTimeout
	// passed.
	HandshakeTimeouts uint64
	// EvictedMaxConnsPerPeer counts authenticated connections closed
	// because their peer opened one more than MaxConnsPerPeer.
	EvictedMaxConnsPerPeer uint64
	// IdleClosedInbound counts authenticated inbound connections closed
	// after IdleTimeout without traffic.
	IdleClosedInbound uint64
	// IdleClosedOutbound counts outbound connections closed by this node
	// after IdleTimeout/2 unused.
	IdleClosedOutbound uint64
	// JoinExchanges counts inbound connections that negotiated the join
	// protocol and were handed to Options.Join (never to a peer's slots).
	JoinExchanges uint64
	// JoinFailures counts the JoinExchanges whose Join returned an error.
	JoinFailures uint64
}

// counters are the Stats counters.
type counters struct {
	refusedHandshakes, refusedSource, refusedPeers atomic.Uint64
	handshakeFailures, handshakeTimeouts           atomic.Uint64
	evicted, idleInbound, idleOutbound             atomic.Uint64
	joins, joinFailures                            atomic.Uint64
}

// Stats returns the current budgets and counters.
func (s *Service) Stats() Stats {
	s.mu.Lock()
	st := Stats{Handshaking: s.handshakes, Authenticated: s.authenticated, Peers: len(s.peerSlots)}
	s.mu.Unlock()
	c := &s.stats
	st.RefusedMaxHandshakes = c.refusedHandshakes.Load()
	st.RefusedMaxHandshakesPerSource = c.refusedSource.Load()
	st.RefusedMaxPeers = c.refusedPeers.Load()
	st.HandshakeFailures = c.handshakeFailures.Load()
	st.HandshakeTimeouts = c.handshakeTimeouts.Load()
	st.EvictedMaxConnsPerPeer = c.evicted.Load()
	st.IdleClosedInbound = c.idleInbound.Load()
	st.IdleClosedOutbound = c.idleOutbound.Load()
	st.JoinExchanges = c.joins.Load()
	st.JoinFailures = c.joinFailures.Load()
	return st
}

// limited reports a connection closed by a budget: OnLimit, and the
// rate-limited log.
func (s *Service) limited(remote netip.AddrPort, cause, detail string) {
	if s.o.OnLimit != nil {
		s.o.OnLimit(remote, cause+": "+detail)
	}
	s.refusalLog.note(s.log, cause, remote, detail)
}

// refusalLog writes every refused or dropped inbound connection at DEBUG
// and at most one WARN line per interval, carrying the counts by cause since
// the previous WARN line, so that a flood costs one line per interval.
type refusalLog struct {
	interval time.Duration

	mu     sync.Mutex
	last   time.Time // of the last WARN line; zero before the first
	counts map[string]uint64
}

func (r *refusalLog) note(log *slog.Logger, cause string, remote netip.AddrPort, detail string) {
	log.Debug("internode connection refused", "cause", cause, "remote", remote, "reason", detail)
	r.mu.Lock()
	if r.counts == nil {
		r.counts = make(map[string]uint64)
	}
	r.counts[cause]++
	now := time.Now()
	if !r.last.IsZero() && now.Sub(r.last) < r.interval {
		r.mu.Unlock()
		return
	}
	counts, since := r.counts, r.last
	r.counts, r.last = nil, now
	r.mu.Unlock()
	attrs := []any{"remote", remote, "cause", cause, "reason", detail, slog.Group("counts", countAttrs(counts)...)}
	if !since.IsZero() {
		attrs = append(attrs, "since", since)
	}
	log.Warn("internode connections refused", attrs...)
}

// flush writes the counts not yet logged, if any.
func (r *refusalLog) flush(log *slog.Logger) {
	r.mu.Lock()
	counts, since := r.counts, r.last
	r.counts = nil
	r.mu.Unlock()
	if len(counts) > 0 {
		log.Warn("internode connections refused", slog.Group("counts", countAttrs(counts)...), "since", since)
	}
}

func countAttrs(m map[string]uint64) []any {
	var out []any
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, slog.Uint64(k, m[k]))
	}
	return out
}
