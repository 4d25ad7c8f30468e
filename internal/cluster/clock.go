package cluster

import (
	"context"
	"time"

	"github.com/ringdb/ringdb/internal/gossip"
)

// Clock is a member's source of time. It is a gossip.Clock (Now and
// tickers, which also drive the gossip rounds) with one-shot timers for
// the member's own waits, so that a test can run members on a clock it
// advances by hand.
type Clock interface {
	gossip.Clock
	// AfterFunc calls f on its own goroutine once d has passed; stop
	// cancels the call if it has not started (as time.AfterFunc).
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// SystemClock returns the Clock backed by package time.
func SystemClock() Clock { return systemClock{gossip.SystemClock()} }

type systemClock struct{ gossip.Clock }

// AfterFunc is time.AfterFunc.
func (systemClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}

// sleep waits d on the member's clock. It returns false, early, if the
// member stops first.
func (c *Cluster) sleep(d time.Duration) bool {
	fired := make(chan struct{})
	stop := c.clock.AfterFunc(d, func() { close(fired) })
	defer stop()
	select {
	case <-fired:
		return true
	case <-c.stop:
		return false
	}
}

// withTimeout returns a child of parent that ends d from now on the
// member's clock (with cause context.DeadlineExceeded). It also carries
// that deadline on the wall clock: messaging bounds a request by its
// context's deadline, and by its own shorter default when there is none.
func (c *Cluster) withTimeout(parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	dctx, cancelDeadline := context.WithTimeout(parent, d)
	ctx, cancel := context.WithCancelCause(dctx)
	stop := c.clock.AfterFunc(d, func() { cancel(context.DeadlineExceeded) })
	return ctx, func() {
		stop()
		cancel(nil)
		cancelDeadline()
	}
}
