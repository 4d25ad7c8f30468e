package protocol

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"
)

// dataBudget is the global budget of request bytes in flight
// (native_transport_max_request_data_in_flight): a frame's body is
// reserved from it before it is read, and released when the request has
// been answered. When it is spent, readers wait (and stop reading their
// sockets) until requests finish, so memory for requests stays bounded
// whatever the clients send.
type dataBudget struct {
	sem  *semaphore.Weighted
	used atomic.Int64
	peak atomic.Int64
}

func newDataBudget(max int64) *dataBudget {
	return &dataBudget{sem: semaphore.NewWeighted(max)}
}

// acquire reserves n bytes, waiting until they are free or ctx is done.
func (b *dataBudget) acquire(ctx context.Context, n int64) error {
	if n <= 0 {
		return nil
	}
	if err := b.sem.Acquire(ctx, n); err != nil {
		return err
	}
	u := b.used.Add(n)
	for p := b.peak.Load(); u > p && !b.peak.CompareAndSwap(p, u); p = b.peak.Load() {
	}
	return nil
}

// release returns n reserved bytes.
func (b *dataBudget) release(n int64) {
	if n <= 0 {
		return
	}
	b.used.Add(-n)
	b.sem.Release(n)
}

// rateLog writes at most one line per reason every interval; a line says
// how many events happened since the previous one, so a flood of refused
// connections costs a few log lines, not one per connection.
type rateLog struct {
	log   *slog.Logger
	every time.Duration
	now   func() time.Time

	mu     sync.Mutex
	last   map[string]time.Time
	counts map[string]int
}

func newRateLog(log *slog.Logger, every time.Duration) *rateLog {
	return &rateLog{log: log, every: every, now: time.Now, last: map[string]time.Time{}, counts: map[string]int{}}
}

// warn logs msg at WARN unless a line for the same msg was written less
// than every ago; attrs describe the latest event.
func (l *rateLog) warn(msg string, attrs ...any) {
	l.mu.Lock()
	l.counts[msg]++
	now := l.now()
	if last, ok := l.last[msg]; ok && now.Sub(last) < l.every {
		l.mu.Unlock()
		return
	}
	n := l.counts[msg]
	l.counts[msg] = 0
	l.last[msg] = now
	l.mu.Unlock()
	l.log.Warn(msg, append(attrs, "events_since_last_line", n)...)
}

// Stats are counters of the native transport's defences.
type Stats struct {
	// Connections is the number of authenticated (ready) connections.
	Connections int
	// Handshaking is the number of connections not yet past STARTUP and
	// authentication.
	Handshaking int
	// RefusedPerSource counts connections refused because their source
	// already had MaxUnauthenticatedPerSource connections handshaking.
	RefusedPerSource uint64
	// Evicted counts handshaking connections closed to make room for a
	// new one when MaxUnauthenticated were handshaking.
	Evicted uint64
	// RefusedFull counts connections that completed the handshake when
	// MaxConnections were already open (told Overloaded and closed).
	RefusedFull uint64
	// HandshakeTimeouts counts connections closed for not completing the
	// handshake within HandshakeTimeout.
	HandshakeTimeouts uint64
	// TLSFailures counts connections closed because their TLS handshake
	// failed, or because they spoke cleartext to a TLS-only port.
	TLSFailures uint64
	// FailedLogins counts AUTH_RESPONSEs with bad credentials.
	FailedLogins uint64
	// ClosedAfterFailedLogins counts connections closed after
	// MaxFailedLoginsPerConnection failures.
	ClosedAfterFailedLogins uint64
	// CachedLogins counts logins answered from the credentials cache
	// (no password-hash check).
	CachedLogins uint64
	// RequestBytesInFlight is the budget in use now.
	RequestBytesInFlight int64
	// PeakRequestBytesInFlight is the most of the budget ever in use.
	PeakRequestBytesInFlight int64
	// SlowConsumersDisconnected is SlowConsumersDisconnected().
	SlowConsumersDisconnected uint64
}

// counters are the Server's atomic counters behind Stats.
type counters struct {
	refusedPerSource, evicted, refusedFull, handshakeTimeouts atomic.Uint64
	failedLogins, closedAfterFailedLogins, tlsFailures        atomic.Uint64
	cachedLogins                                              atomic.Uint64
}
