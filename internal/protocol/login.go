package protocol

import (
	"context"
	"net/netip"
	"sync"
	"time"
)

// loginGuard slows password guessing: it remembers recent failed logins
// per source address and per role, makes further attempts wait an
// exponentially growing backoff before their password is checked, and
// bounds how many password hashes are checked at once (a hash check is
// deliberately expensive), handing free check slots to trusted pairs
// first, then to sources without recent failures, then to failing ones,
// with one more slot reserved for trusted pairs, so that guessing cannot
// starve real clients of CPU or of logins.
//
// Who waits: a source with recent failures waits its own backoff and, as
// long as the role is being guessed, the role's. A source without recent
// failures never waits, so a distributed guesser cannot lock a role's
// legitimate users out (it gets one batch of free guesses per fresh
// address, then that address is slowed for every role it tries). A
// (source, role) pair that logged in recently is trusted and waits for
// nothing until it fails free times itself. Whether the role exists plays
// no part in any decision (timing stays uniform).
type loginGuard struct {
	o   loginOptions
	now func() time.Time

	mu      sync.Mutex
	sources map[netip.Addr]*failures
	roles   map[string]*failures
	trusted map[trustKey]*trust

	lanes *checkLanes
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

// trust is a pair's last successful login and its failures since.
type trust struct {
	at    time.Time
	fails int
}

func newLoginGuard(o loginOptions, now func() time.Time) *loginGuard {
	return &loginGuard{o: o, now: now, sources: map[netip.Addr]*failures{}, roles: map[string]*failures{},
		trusted: map[trustKey]*trust{}, lanes: newCheckLanes(o.checks)}
}

// delay is how long an attempt from source as role must wait before its
// password is checked.
func (g *loginGuard) delay(source netip.Addr, role string) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	if g.trustedLocked(source, role, now) {
		return 0
	}
	f := g.sources[source]
	if !g.recent(f, now) {
		return 0
	}
	return max(g.backoff(f, now), g.backoff(g.roles[role], now))
}

// recent reports whether f holds a failure within the window.
func (g *loginGuard) recent(f *failures, now time.Time) bool {
	return f != nil && f.n > 0 && now.Sub(f.last) <= g.o.window
}

func (g *loginGuard) backoff(f *failures, now time.Time) time.Duration {
	if !g.recent(f, now) || f.n < g.o.free {
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
	return ok && now.Sub(t.at) < g.o.trustFor && t.fails < g.o.free
}

// priority is the order in which waiting hash checks get a free slot.
type priority int

const (
	trustedPair   priority = iota // logged in as the role recently
	cleanSource                   // no recent failure
	failingSource                 // failed recently
)

// priorityOf ranks an attempt from source as role.
func (g *loginGuard) priorityOf(source netip.Addr, role string) priority {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	switch {
	case g.trustedLocked(source, role, now):
		return trustedPair
	case g.recent(g.sources[source], now):
		return failingSource
	default:
		return cleanSource
	}
}

// failed records a failed login.
func (g *loginGuard) failed(source netip.Addr, role string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	bump(g.sources, source, now, g.o)
	bump(g.roles, role, now, g.o)
	if t, ok := g.trusted[trustKey{source, role}]; ok {
		t.fails++
	}
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
		pruneOldest(g.trusted, func(t *trust) time.Time { return t.at })
	}
	g.trusted[k] = &trust{at: now}
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

// check runs fn (a password hash check) once a hash-check slot is given
// to this attempt (by priority, see checkLanes), or returns ctx's error.
func (g *loginGuard) check(ctx context.Context, p priority, fn func() (bool, error)) (bool, error) {
	release, err := g.lanes.acquire(ctx, p)
	if err != nil {
		return false, err
	}
	defer release()
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
