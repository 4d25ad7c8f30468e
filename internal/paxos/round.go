package paxos

import (
	"context"
	"net/netip"
	"sync"
)

// reply is one replica's answer in a round.
type reply[T any] struct {
	to  netip.Addr
	val T
	err error
}

// round is one message fanned out to several replicas, one goroutine each.
// The replies channel has room for every reply, so no goroutine ever
// blocks on it; stop cancels the calls still running and waits for every
// goroutine, so none outlives the round (the Transport must return soon
// after its context is done).
type round[T any] struct {
	ctx     context.Context
	cancel  context.CancelFunc
	replies chan reply[T]
	wg      sync.WaitGroup
	pending int
}

// fanOut calls call(ctx, to) for every replica concurrently.
func fanOut[T any](ctx context.Context, replicas []netip.Addr, call func(context.Context, netip.Addr) (T, error)) *round[T] {
	ctx, cancel := context.WithCancel(ctx)
	r := &round[T]{ctx: ctx, cancel: cancel, replies: make(chan reply[T], len(replicas)), pending: len(replicas)}
	r.wg.Add(len(replicas))
	for _, to := range replicas {
		go func() {
			defer r.wg.Done()
			v, err := call(ctx, to)
			r.replies <- reply[T]{to: to, val: v, err: err}
		}()
	}
	return r
}

// next returns the next reply; ok is false when none is pending or the
// context is done first.
func (r *round[T]) next() (rep reply[T], ok bool) {
	if r.pending == 0 {
		return rep, false
	}
	select {
	case rep = <-r.replies:
		r.pending--
		return rep, true
	case <-r.ctx.Done():
		return rep, false
	}
}

// stop cancels the calls still running and waits for them to return.
func (r *round[T]) stop() {
	r.cancel()
	r.wg.Wait()
}
