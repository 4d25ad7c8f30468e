package messaging

import (
	"context"
	"sync"
)

// localLane delivers messages addressed to Self in-process, with the same
// byte bound and handler concurrency bound as a network lane, so the
// coordinator can treat the local node like any other replica.
type localLane struct {
	s    *Service
	lane lane
	sem  chan struct{} // bounds running handlers
	wake chan struct{} // capacity 1

	mu     sync.Mutex
	q      fifo[*localMsg]
	bytes  int
	closed bool
}

type localMsg struct {
	verb    Verb
	payload []byte
	call    *call // nil for one-way
}

// size is what a message counts against MaxQueueBytesPerPeer: its frame size.
func (m *localMsg) size() int { return frameHeaderLen + len(m.payload) }

func newLocalLane(s *Service, l lane) *localLane {
	return &localLane{s: s, lane: l, sem: make(chan struct{}, maxHandlersPerConn), wake: make(chan struct{}, 1)}
}

func (l *localLane) enqueue(m *localMsg) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	if l.bytes > 0 && l.bytes+m.size() > l.s.o.MaxQueueBytesPerPeer {
		l.mu.Unlock()
		return ErrQueueFull
	}
	l.bytes += m.size()
	l.q.push(m)
	l.mu.Unlock()
	signal(l.wake)
	return nil
}

func (l *localLane) close() {
	l.mu.Lock()
	l.closed = true
	l.q.drain()
	l.bytes = 0
	l.mu.Unlock()
	signal(l.wake)
}

// run dispatches queued messages to handlers, at most maxHandlersPerConn at
// a time.
func (l *localLane) run() {
	defer l.s.wg.Done()
	var hwg sync.WaitGroup
	defer hwg.Wait()
	for {
		select {
		case l.sem <- struct{}{}:
		case <-l.s.ctx.Done():
			return
		}
		m := l.next()
		if m == nil {
			return
		}
		hwg.Add(1)
		go func() {
			defer hwg.Done()
			defer func() { <-l.sem }()
			l.handle(m)
		}()
	}
}

// next blocks until a live message is queued (dropping requests whose caller
// gave up) and returns it, or returns nil once the lane is closed.
func (l *localLane) next() *localMsg {
	for {
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			return nil
		}
		m, ok := l.q.pop()
		if ok {
			l.bytes -= m.size()
		}
		l.mu.Unlock()
		if !ok {
			select {
			case <-l.wake:
			case <-l.s.ctx.Done():
				return nil
			}
			continue
		}
		if m.call != nil && m.call.ctx.Err() != nil {
			continue
		}
		return m
	}
}

func (l *localLane) handle(m *localMsg) {
	if m.call == nil {
		if _, err := l.s.invoke(l.s.ctx, l.s.o.Self, m.verb, m.payload); err != nil {
			l.s.log.Debug("local one-way handler failed", "verb", m.verb, "err", err)
		}
		return
	}
	ctx, cancel := context.WithCancel(m.call.ctx)
	stop := context.AfterFunc(l.s.ctx, cancel)
	defer stop()
	defer cancel()
	resp, err := l.s.invoke(ctx, l.s.o.Self, m.verb, m.payload)
	if err != nil {
		m.call.deliver(callResult{remoteErr: truncate(err.Error())})
		return
	}
	if len(resp) > l.s.o.maxFrame(l.lane) {
		m.call.deliver(callResult{remoteErr: "response exceeds maximum frame size"})
		return
	}
	m.call.deliver(callResult{payload: clone(resp)})
}

// signal wakes the goroutine waiting on c without blocking.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

func truncate(s string) string {
	if len(s) > maxErrorLen {
		return s[:maxErrorLen]
	}
	return s
}
