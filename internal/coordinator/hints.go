package coordinator

import (
	"time"

	"github.com/ringdb/ringdb/internal/messaging"
	"github.com/ringdb/ringdb/internal/storage"
)

// hintLoop replays hints and the batchlog every HintReplayInterval and
// when a node comes up, until Stop.
func (c *Coordinator) hintLoop() {
	tick := make(chan struct{}, 1)
	for {
		stop := c.o.Clock.AfterFunc(c.o.HintReplayInterval, func() {
			select {
			case tick <- struct{}{}:
			default:
			}
		})
		select {
		case <-c.ctx.Done():
			stop()
			return
		case <-tick:
		case <-c.wake:
			stop()
		}
		c.replayHints()
		c.replayBatchlog()
	}
}

// replayHints delivers stored hints to every live target, oldest first,
// deleting each once acknowledged.
func (c *Coordinator) replayHints() {
	if n, err := c.o.Engine.DeleteHintsOlderThan(c.now().Add(-c.o.HintTTL)); err != nil {
		c.log.Error("expiring old hints failed", "err", err)
	} else if n > 0 {
		c.log.Warn("dropped undelivered hints older than the hint TTL; run repair on their targets", "count", n)
	}
	targets, err := c.o.Engine.HintTargets()
	if err != nil {
		c.log.Error("listing hint targets failed", "err", err)
		return
	}
	for _, id := range targets {
		ep, ok := c.o.Topology.EndpointOf(id)
		if !ok || !c.alive(ep) {
			continue
		}
		delivered := 0
		_ = c.o.Engine.Hints(id, func(hid []byte, created time.Time, m *storage.Mutation) bool {
			if c.ctx.Err() != nil {
				return false
			}
			if at, ok, err := c.o.Engine.TruncatedAt(m.Table); err == nil && ok && created.Before(at) {
				_ = c.o.Engine.DeleteHint(id, append([]byte(nil), hid...)) // the table was truncated since
				return true
			}
			ctx, cancel := c.withTimeout(c.ctx, c.o.WriteTimeout)
			defer cancel()
			var err error
			if ep == c.self {
				err = c.o.Engine.Apply([]*storage.Mutation{m})
			} else {
				_, err = c.o.Messenger.Request(ctx, ep, messaging.VerbHint, encodeMutations([]*storage.Mutation{m}))
			}
			if err != nil {
				c.log.Debug("hint delivery failed; will retry", "target", ep.String(), "err", err)
				return false
			}
			if err := c.o.Engine.DeleteHint(id, append([]byte(nil), hid...)); err != nil {
				c.log.Error("deleting delivered hint failed", "err", err)
				return false
			}
			delivered++
			c.replay.Add(1)
			return true
		})
		if delivered > 0 {
			c.log.Info("replayed hints", "target", ep.String(), "count", delivered)
		}
	}
}
