package protocol

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringdb/ringdb/internal/protocol/frame"
)

// genAuth is fakeAuth with a role generation, so its logins are cached.
type genAuth struct {
	fakeAuth
	gen atomic.Uint64
}

func (a *genAuth) Generation() uint64 { return a.gen.Load() }

// A released check slot goes to the best priority waiting (trusted, then
// clean, then failing), first come first served within one; the reserved
// slot only ever goes to a trusted pair; a waiter whose context ends
// leaves the queue without taking a slot.
func TestCheckLanesPriority(t *testing.T) {
	l := newCheckLanes(1)
	ctx := context.Background()
	release, err := l.acquire(ctx, failingSource)
	if err != nil {
		t.Fatal(err)
	}
	// The general slot is busy: a failing or clean attempt waits, a
	// trusted one takes the reserved slot.
	relReserved, err := l.acquire(ctx, trustedPair)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var order []string
	var wg sync.WaitGroup
	start := func(name string, p priority) {
		wg.Go(func() {
			rel, err := l.acquire(ctx, p)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			order = append(order, name)
			mu.Unlock()
			rel()
		})
	}
	waiters := func() int {
		l.mu.Lock()
		defer l.mu.Unlock()
		return len(l.waiting[0]) + len(l.waiting[1]) + len(l.waiting[2])
	}
	waitUntil := func(n int) {
		deadline := time.Now().Add(10 * time.Second)
		for waiters() != n {
			if time.Now().After(deadline) {
				t.Fatalf("%d waiters, want %d", waiters(), n)
			}
			time.Sleep(time.Millisecond)
		}
	}
	start("failing-1", failingSource)
	waitUntil(1)
	start("clean-1", cleanSource)
	waitUntil(2)
	start("failing-2", failingSource)
	waitUntil(3)
	start("trusted-1", trustedPair)
	waitUntil(4)
	// A waiter that gives up leaves the queue.
	gone, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { _, err := l.acquire(gone, cleanSource); done <- err }()
	waitUntil(5)
	cancel()
	if err := <-done; err == nil {
		t.Fatal("a cancelled waiter got a slot")
	}
	waitUntil(4)
	relReserved() // the reserved slot: only trusted-1 may take it
	waitUntil(3)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		mu.Lock()
		n := len(order)
		mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("trusted-1 did not run on the reserved slot")
		}
	}
	release() // then the general slot serves the rest one at a time
	wg.Wait()
	if fmt.Sprint(order) != "[trusted-1 clean-1 failing-1 failing-2]" {
		t.Fatalf("order %v", order)
	}
	if l.free != 1 || !l.reserved {
		t.Fatalf("after all releases: %d free, reserved free %v", l.free, l.reserved)
	}
}

// The credentials cache answers the same role and password within its
// validity and at the same generation only; a wrong password, an
// expired entry and any role change miss.
func TestCredCache(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	a := &genAuth{}
	c := newCredCache(a, 2*time.Second, 2, func() time.Time { return now })
	if c == nil {
		t.Fatal("no cache for an authenticator with a generation")
	}
	if newCredCache(&fakeAuth{}, time.Second, 2, time.Now) != nil || newCredCache(a, -1, 2, time.Now) != nil {
		t.Fatal("a cache without a generation or with a negative validity")
	}
	c.store("app", "right", true, a.Generation())
	if super, ok := c.lookup("app", "right"); !ok || !super {
		t.Fatalf("lookup = %v, %v", super, ok)
	}
	if _, ok := c.lookup("app", "wrong"); ok {
		t.Fatal("a wrong password hit")
	}
	if _, ok := c.lookup("other", "right"); ok {
		t.Fatal("another role hit")
	}
	a.gen.Add(1) // ALTER ROLE app WITH PASSWORD ..., here or on a peer
	if _, ok := c.lookup("app", "right"); ok {
		t.Fatal("hit after a role change")
	}
	c.store("app", "right", false, a.Generation())
	now = now.Add(2 * time.Second)
	if _, ok := c.lookup("app", "right"); ok {
		t.Fatal("hit after the validity")
	}
	for i := range 10 {
		c.store(fmt.Sprint("role", i), "p", false, a.Generation())
	}
	if len(c.entries) > 2 {
		t.Fatalf("%d entries, max 2", len(c.entries))
	}
	for _, e := range c.entries {
		if string(e.mac[:]) == "p" {
			t.Fatal("the password is stored")
		}
	}
}

// Guessers on many sources push role "app" into backoff (a minute here,
// so that any delay of the real login would be unmistakable); a fresh
// source still logs in as app with the right password at once. The
// guessers themselves wait.
func TestGuessedRoleDoesNotLockOutItsUsers(t *testing.T) {
	a := &fakeAuth{}
	s := startServer(t, Options{Auth: a, LoginBackoff: time.Minute, LoginBackoffMax: time.Minute,
		HandshakeTimeout: 2 * time.Minute, CredentialsValidity: -1}, nil)
	for i := range 8 {
		src := netip.AddrFrom4([4]byte{127, 0, 4, byte(1 + i)})
		if op := login(t, s.Addr().String(), src, "app", "guess"); op != frame.OpError {
			t.Fatalf("guess %d answered %s", i, op)
		}
	}
	done := make(chan frame.Opcode, 1)
	go func() { done <- login(t, s.Addr().String(), netip.MustParseAddr("127.0.4.100"), "app", "right") }()
	select {
	case op := <-done:
		if op != frame.OpAuthSuccess {
			t.Fatalf("the real login answered %s", op)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the real login from a fresh source waited for the role's backoff")
	}
	// A guessing source that tries again waits (its own failure, the
	// role's backoff): no answer while the backoff runs.
	cl := newClient(t, dialFrom(t, netip.AddrFrom4([4]byte{127, 0, 4, 1}), s.Addr().String()))
	cl.startupAuth("")
	cl.send(2, frame.OpAuthResponse, plainToken("app", "right"))
	if err := cl.c.SetReadDeadline(time.Now().Add(500 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	var b [1]byte
	if n, err := cl.c.Read(b[:]); err == nil || n > 0 {
		t.Fatal("a failing source's attempt was answered during its backoff")
	}
}

// A fleet reconnecting at once with the same credentials costs one
// password-hash check, not one per connection: the others are answered
// from the credentials cache, in the queue for the check slot.
func TestReconnectStormCostsOneCheck(t *testing.T) {
	a := &genAuth{fakeAuth: fakeAuth{cost: 30 * time.Millisecond}}
	s := startServer(t, Options{Auth: a, MaxConcurrentPasswordChecks: 1}, nil)
	var wg sync.WaitGroup
	var ok atomic.Int32
	for i := range 48 {
		wg.Go(func() {
			src := netip.AddrFrom4([4]byte{127, 0, 5, byte(1 + i)})
			if login(t, s.Addr().String(), src, "app", "right") == frame.OpAuthSuccess {
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 48 {
		t.Fatalf("%d of 48 logins succeeded", ok.Load())
	}
	if n := a.calls.Load(); n > 2 {
		t.Fatalf("%d password checks for 48 logins with the same credentials", n)
	}
	if st := s.Stats(); st.CachedLogins < 46 {
		t.Fatalf("stats %+v", st)
	}
	// A wrong password is never answered from the cache.
	if op := login(t, s.Addr().String(), netip.MustParseAddr("127.0.5.100"), "app", "wrong"); op != frame.OpError {
		t.Fatalf("wrong password answered %s", op)
	}
	// A role change ends the cached credentials.
	before := a.calls.Load()
	a.gen.Add(1)
	if op := login(t, s.Addr().String(), netip.MustParseAddr("127.0.5.101"), "app", "right"); op != frame.OpAuthSuccess || a.calls.Load() != before+1 {
		t.Fatalf("after a role change: %s, %d checks", op, a.calls.Load()-before)
	}
}
