package coordinator

import (
	"context"
	"errors"
	"time"

	"github.com/ringdb/ringdb/internal/cqlerr"
)

// Clock is the coordinator's time source: write timestamps of hints, hint
// windows and every request timeout go through it, so tests can run the
// coordinator on a clock they advance by hand.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// AfterFunc calls f on its own goroutine once d has passed; stop
	// cancels the call if it has not started (as time.AfterFunc).
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
func (realClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}

// errTimedOut is the cancellation cause of a context whose request
// timeout (write, read or range) expired.
var errTimedOut = errors.New("coordinator: request timed out")

// errStopping is returned for work refused or cut short because the
// coordinator is stopping.
var errStopping = errors.New("coordinator: stopping")

// now is the coordinator's clock.
func (c *Coordinator) now() time.Time { return c.o.Clock.Now() }

// begin admits one client request: it returns a context cancelled when
// the caller's ctx ends or the coordinator stops, and an end function the
// request calls when it returns. Stop waits for every admitted request,
// so no request touches the engine after Stop returns.
func (c *Coordinator) begin(ctx context.Context) (context.Context, func(), error) {
	c.lifeMu.Lock()
	if c.stopped {
		c.lifeMu.Unlock()
		return nil, nil, cqlerr.Serverf("the node is shutting down")
	}
	c.wg.Add(1)
	c.lifeMu.Unlock()
	rctx, cancel := context.WithCancelCause(ctx)
	stopAfter := context.AfterFunc(c.ctx, func() { cancel(errStopping) })
	return rctx, func() {
		stopAfter()
		cancel(nil)
		c.wg.Done()
	}, nil
}

// goOwned runs f on a goroutine the coordinator owns (Stop waits for it).
// It reports false, without running f, once Stop has begun.
func (c *Coordinator) goOwned(f func()) bool {
	c.lifeMu.Lock()
	defer c.lifeMu.Unlock()
	if c.stopped {
		return false
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		f()
	}()
	return true
}

// withTimeout returns a child of parent cancelled with errTimedOut after
// d on the coordinator's clock.
func (c *Coordinator) withTimeout(parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(parent)
	stop := c.o.Clock.AfterFunc(d, func() { cancel(errTimedOut) })
	return ctx, func() {
		stop()
		cancel(nil)
	}
}

// timedOut reports whether ctx ended because its request timeout expired
// (rather than because the client went away or the node is stopping).
func timedOut(ctx context.Context) bool { return errors.Is(context.Cause(ctx), errTimedOut) }

// interrupted is the error of a request whose context ended: timeoutErr
// when its timeout expired, else the reason it was cancelled.
func interrupted(ctx context.Context, timeoutErr func() error) error {
	if timedOut(ctx) {
		return timeoutErr()
	}
	if errors.Is(context.Cause(ctx), errStopping) {
		return cqlerr.Serverf("the node is shutting down")
	}
	return cqlerr.Serverf("request cancelled: %v", context.Cause(ctx))
}

// Start starts the hint and batchlog replay loop.
func (c *Coordinator) Start() {
	c.goOwned(c.hintLoop)
}

// Stop cancels every request in flight and the replay loop, and returns
// once all of the coordinator's goroutines have ended. It may be called
// without Start, and more than once.
func (c *Coordinator) Stop() {
	c.lifeMu.Lock()
	c.stopped = true
	c.lifeMu.Unlock()
	c.cancel()
	c.wg.Wait()
}
