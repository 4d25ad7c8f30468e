package protocol

import (
	"context"
	"net/netip"
	"sync"
	"time"
)

// loginGuard slows password guessing: it remembers recent failed logins
// per source address and per role, makes further attempts wait an
// exponentially growing backoff, and bounds how many password hashes are
// checked at once (a hash check is deliberately expensive), keeping a
// reserved lane for a (source, role) pair that logged in successfully
// before, so that guessing cannot starve real clients of CPU or of
// logins.
//
// The role backoff applies only to sources that have not logged in as
// that role recently: a distributed guesser slows new sources for the
// role, not the application servers already using it. Whether the role
// exists plays no part in any decision (timing stays uniform).
type loginGuard struct {
	o   loginOptions
	now func() time.Time

	mu      sync.Mutex
	sources map[netip.Addr]*failures
	roles   map[string]*failures
	trusted map[trustKey]time.Time

	lane     chan struct{} // hash checks for everyone
	reserved chan struct{} // an extra hash check for trusted pairs
}

// loginOptions are the guard's settings (from Options).
type loginOptions struct {
	free       int           // failures within window before backoff starts
	base, max  time.Duration // first backoff, doubled per further failure up to max
	window     time.Duration // a failure older than this is forgotten
	checks     int           // concurrent hash checks
	trustFor   time.Duration // how long a successful login makes a pair trusted
	maxTracked int           // entries per map
}

type failures struct {
	n    int
	last time.Time
}

type trustKey struct {
	source netip.Addr
	role   string
}

func newLoginGuard(o loginOptions, now func() time.Time) *loginGuard {
	return &loginGuard{o: o, now: now, sources: map[netip.Addr]*failures{}, roles: map[string]*failures{},
		trusted: map[trustKey]time.Time{}, lane: make(chan struct{}, o.checks), reserved: make(chan struct{}, 1)}
}

// delay is how long an attempt from source as role must wait before its
// password is checked.
func (g *loginGuard) delay(source netip.Addr, role string) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	d := g.backoff(g.sources[source], now)
	if !g.trustedLocked(source, role, now) {
		d = max(d, g.backoff(g.roles[role], now))
	}
	return d
}

func (g *loginGuard) backoff(f *failures, now time.Time) time.Duration {
	if f == nil || now.Sub(f.last) > g.o.window || f.n < g.o.free {
		return 0
	}
	d := g.o.base
	for i := g.o.free; i < f.n && d < g.o.max; i++ {
		d *= 2
	}
	return min(d, g.o.max)
}

func (g *loginGuard) trustedLocked(source netip.Addr, role string, now time.Time) bool {
	t, ok := g.trusted[trustKey{source, role}]
	return ok && now.Sub(t) < g.o.trustFor
}

// isTrusted reports whether source logged in as role recently.
func (g *loginGuard) isTrusted(source netip.Addr, role string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.trustedLocked(source, role, g.now())
}

// failed records a failed login.
func (g *loginGuard) failed(source netip.Addr, role string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	bump(g.sources, source, now, g.o)
	bump(g.roles, role, now, g.o)
}

// succeeded records a successful login: the pair becomes trusted and the
// source's failures are forgotten (the role's are not: other sources may
// still be guessing it).
func (g *loginGuard) succeeded(source netip.Addr, role string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	delete(g.sources, source)
	k := trustKey{source, role}
	if _, ok := g.trusted[k]; !ok && len(g.trusted) >= g.o.maxTracked {
		pruneOldest(g.trusted, func(t time.Time) time.Time { return t })
	}
	g.trusted[k] = now
}

func bump[K comparable](m map[K]*failures, k K, now time.Time, o loginOptions) {
	f := m[k]
	if f == nil {
		if len(m) >= o.maxTracked {
			pruneOldest(m, func(f *failures) time.Time { return f.last })
		}
		f = &failures{}
		m[k] = f
	}
	if now.Sub(f.last) > o.window {
		f.n = 0
	}
	f.n++
	f.last = now
}

// pruneOldest deletes the entry with the oldest time (one scan; only
// reached when a map is full, that is under attack).
func pruneOldest[K comparable, V any](m map[K]V, at func(V) time.Time) {
	var oldest K
	var t time.Time
	first := true
	for k, v := range m {
		if x := at(v); first || x.Before(t) {
			oldest, t, first = k, x, false
		}
	}
	if !first {
		delete(m, oldest)
	}
}

// check runs fn (a password hash check) once a hash-check slot is free,
// or returns ctx's error. A trusted pair may also use the reserved slot.
func (g *loginGuard) check(ctx context.Context, trusted bool, fn func() (bool, error)) (bool, error) {
	reserved := g.reserved
	if !trusted {
		reserved = nil // a nil channel never receives the send
	}
	var release chan struct{}
	select {
	case g.lane <- struct{}{}:
		release = g.lane
	case reserved <- struct{}{}:
		release = reserved
	case <-ctx.Done():
		return false, ctx.Err()
	}
	defer func() { <-release }()
	return fn()
}

// wait sleeps d or until ctx is done; it reports whether d passed.
func wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
