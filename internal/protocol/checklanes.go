package protocol

import (
	"context"
	"sync"
)

// checkLanes is a semaphore of password-hash checks with priorities: n
// slots for everyone plus one reserved for trustedPair. A released slot
// goes to the longest-waiting attempt of the best priority waiting, so a
// queue of guesses from failing sources never delays a clean or trusted
// login by more than the checks already running.
type checkLanes struct {
	mu       sync.Mutex
	free     int  // general slots free
	reserved bool // the reserved slot is free
	waiting  [failingSource + 1][]*laneWaiter
}

// laneWaiter is one attempt waiting for a slot; granted is set, and ch
// closed, when a slot is handed to it.
type laneWaiter struct {
	ch       chan struct{}
	granted  bool
	reserved bool // the slot handed over is the reserved one
}

func newCheckLanes(n int) *checkLanes {
	return &checkLanes{free: max(n, 1), reserved: true}
}

// acquire waits for a slot for an attempt of priority p and returns the
// function that releases it, or ctx's error.
func (l *checkLanes) acquire(ctx context.Context, p priority) (func(), error) {
	l.mu.Lock()
	if l.free > 0 {
		l.free--
		l.mu.Unlock()
		return func() { l.release(false) }, nil
	}
	if p == trustedPair && l.reserved {
		l.reserved = false
		l.mu.Unlock()
		return func() { l.release(true) }, nil
	}
	w := &laneWaiter{ch: make(chan struct{})}
	l.waiting[p] = append(l.waiting[p], w)
	l.mu.Unlock()
	select {
	case <-w.ch:
		return func() { l.release(w.reserved) }, nil
	case <-ctx.Done():
		l.mu.Lock()
		granted := w.granted
		if !granted {
			q := l.waiting[p]
			for i, x := range q {
				if x == w {
					l.waiting[p] = append(q[:i:i], q[i+1:]...)
					break
				}
			}
		}
		l.mu.Unlock()
		if granted { // handed a slot as ctx ended: pass it on
			l.release(w.reserved)
		}
		return nil, ctx.Err()
	}
}

// release frees a slot: the reserved one goes to the first trusted
// waiter; a general one to the first waiter of the best priority.
func (l *checkLanes) release(reserved bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	last := failingSource
	if reserved {
		last = trustedPair
	}
	for p := trustedPair; p <= last; p++ {
		if q := l.waiting[p]; len(q) > 0 {
			w := q[0]
			q[0] = nil
			l.waiting[p] = q[1:]
			w.granted, w.reserved = true, reserved
			close(w.ch)
			return
		}
	}
	if reserved {
		l.reserved = true
	} else {
		l.free++
	}
}
