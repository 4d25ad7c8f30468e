package cluster

import (
	"sync"
	"testing"
	"time"

	"github.com/ringdb/ringdb/internal/gossip"
)

// fakeClock is a Clock that moves only when the test advances it.
// Tickers deliver at most one pending tick (as time.Ticker drops ticks
// for a slow reader); timers run their function on a new goroutine (as
// time.AfterFunc).
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	tickers []*fakeTicker
	timers  []*fakeTimer
}

type fakeTicker struct {
	clk     *fakeClock
	c       chan time.Time
	period  time.Duration
	next    time.Time
	stopped bool // guarded by clk.mu
}

type fakeTimer struct {
	at   time.Time
	f    func()
	done bool // fired or stopped; guarded by the clock's mu
}

// t0 is where every fake clock starts.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func newFakeClock() *fakeClock { return &fakeClock{now: t0} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTicker(d time.Duration) gossip.Ticker {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTicker{clk: c, c: make(chan time.Time, 1), period: d, next: c.now.Add(d)}
	c.tickers = append(c.tickers, t)
	return t
}

func (t *fakeTicker) C() <-chan time.Time { return t.c }

func (t *fakeTicker) Stop() {
	t.clk.mu.Lock()
	defer t.clk.mu.Unlock()
	t.stopped = true
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		was := !t.done
		t.done = true
		return was
	}
}

// Advance moves the clock by d, ticks the tickers that became due and
// runs the timers that did.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	now := c.now
	for _, t := range c.tickers {
		if t.stopped || t.next.After(now) {
			continue
		}
		select {
		case t.c <- now:
		default:
		}
		for !t.next.After(now) {
			t.next = t.next.Add(t.period)
		}
	}
	var due []func()
	keep := c.timers[:0]
	for _, t := range c.timers {
		switch {
		case t.done:
		case !t.at.After(now):
			t.done = true
			due = append(due, t.f)
		default:
			keep = append(keep, t)
		}
	}
	c.timers = keep
	c.mu.Unlock()
	for _, f := range due {
		go f()
	}
}

// timersArmed returns how many timers wait to fire.
func (c *fakeClock) timersArmed() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, t := range c.timers {
		if !t.done {
			n++
		}
	}
	return n
}

// advanceToNext moves the clock to the earliest armed timer and fires
// it; false if no timer is armed.
func (c *fakeClock) advanceToNext() bool {
	c.mu.Lock()
	var next time.Time
	for _, t := range c.timers {
		if !t.done && (next.IsZero() || t.at.Before(next)) {
			next = t.at
		}
	}
	d := next.Sub(c.now)
	c.mu.Unlock()
	if next.IsZero() {
		return false
	}
	c.Advance(d)
	return true
}

// driveTimers moves clk from timer to timer (waiting for one to be armed
// when there is none) until cond holds; it fails the test after within of
// real time. For code that waits on one timer at a time, the clock then
// reads exactly the time the code waited.
func driveTimers(t *testing.T, clk *fakeClock, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out (at %s on the fake clock) waiting for %s", clk.Now().Sub(t0), what)
		}
		if !clk.advanceToNext() {
			time.Sleep(time.Millisecond)
		}
	}
}

// waitFor polls cond (without moving any clock) until it holds, failing
// the test after within.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// drive advances clk by step until cond holds, giving the goroutines a
// moment between steps; it fails the test after within of real time.
func drive(t *testing.T, clk *fakeClock, step, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out (at %s on the fake clock) waiting for %s", clk.Now().Sub(t0), what)
		}
		clk.Advance(step)
		time.Sleep(time.Millisecond)
	}
}

// The fake clock's own contract: tickers tick once per due period (one
// pending tick at most), stopped ones never; timers fire when due unless
// stopped.
func TestFakeClock(t *testing.T) {
	clk := newFakeClock()
	tk := clk.NewTicker(time.Second)
	clk.Advance(999 * time.Millisecond)
	select {
	case <-tk.C():
		t.Fatal("ticked early")
	default:
	}
	clk.Advance(3 * time.Second)
	if got := <-tk.C(); !got.Equal(t0.Add(3999 * time.Millisecond)) {
		t.Fatalf("tick at %v", got)
	}
	select {
	case <-tk.C():
		t.Fatal("more than one pending tick")
	default:
	}
	tk.Stop()
	clk.Advance(time.Hour)
	select {
	case <-tk.C():
		t.Fatal("stopped ticker ticked")
	default:
	}
	fired := make(chan struct{})
	clk.AfterFunc(time.Second, func() { close(fired) })
	stop := clk.AfterFunc(time.Second, func() { t.Error("stopped timer fired") })
	if !stop() || stop() {
		t.Fatal("stop reports wrongly")
	}
	clk.Advance(time.Second)
	<-fired
	if n := clk.timersArmed(); n != 0 {
		t.Fatalf("%d timers armed", n)
	}
}
