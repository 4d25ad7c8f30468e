package protocol

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringdb/ringdb/internal/protocol/frame"
	"github.com/ringdb/ringdb/internal/schema"
)

// eventCounter reads a client's frames on its own goroutine and counts the
// EVENT frames; wait blocks until n have arrived.
type eventCounter struct {
	n      atomic.Int64
	bad    atomic.Value // first unexpected frame, as a string
	notify chan struct{}
	done   chan error
}

func countEvents(t *testing.T, cl *client) *eventCounter {
	ec := &eventCounter{notify: make(chan struct{}, 1), done: make(chan error, 1)}
	go func() {
		for {
			h, _, err := readResponse(cl.r)
			if err != nil {
				ec.done <- err
				return
			}
			if h.Opcode != frame.OpEvent || h.Stream != frame.EventStream {
				ec.bad.CompareAndSwap(nil, h.Opcode.String())
			}
			ec.n.Add(1)
			select {
			case ec.notify <- struct{}{}:
			default:
			}
		}
	}()
	// The reader ends when its connection is closed.
	t.Cleanup(func() {
		cl.c.Close()
		<-ec.done
	})
	_ = cl.c.SetReadDeadline(time.Time{})
	return ec
}

func (ec *eventCounter) wait(t *testing.T, n int64, within time.Duration) {
	t.Helper()
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	for ec.n.Load() < n {
		select {
		case <-ec.notify:
		case err := <-ec.done:
			t.Fatalf("reading client lost its connection after %d of %d events: %v", ec.n.Load(), n, err)
		case <-deadline.C:
			t.Fatalf("reading client got %d of %d events within %v", ec.n.Load(), n, within)
		}
	}
	if b := ec.bad.Load(); b != nil {
		t.Fatalf("reading client got a %s frame, want only EVENTs", b)
	}
}

// A client registered for events that never reads them must not block the
// publisher (the gossip goroutine): publishing returns promptly every
// time, the slow client is disconnected and counted, and a client that
// does read gets every event.
func TestPublishNeverBlocksOnSlowConsumer(t *testing.T) {
	const queue = 32
	var publishers sync.WaitGroup
	t.Cleanup(publishers.Wait) // runs after the server's Close
	ln := newPipeListener()
	s := startServer(t, Options{EventQueueSize: queue, WriteTimeout: time.Hour}, ln)

	slowConn, slowClosed := ln.dial(t)
	slow := newClient(t, slowConn)
	slow.startup()
	slow.register()
	// From here on the slow client reads nothing.

	fastConn, fastClosed := ln.dial(t)
	fast := newClient(t, fastConn)
	fast.startup()
	fast.register()
	events := countEvents(t, fast)

	const total, burst = 4096, queue / 2 // total is a multiple of burst
	peer := netip.MustParseAddrPort("127.0.0.2:9042")
	var worst time.Duration
	for sent := 0; sent < total; sent += burst {
		published := make(chan time.Duration, 1)
		publishers.Add(1)
		go func(base int) {
			defer publishers.Done()
			var longest time.Duration
			for i := base; i < base+burst; i++ {
				start := time.Now()
				switch i % 3 {
				case 0:
					s.PublishStatusChange(frame.StatusDown, peer)
				case 1:
					s.PublishTopologyChange(frame.TopologyNewNode, peer)
				default:
					s.PublishSchemaChange(schema.Change{Type: schema.Created, Target: "TABLE", Keyspace: "ks", Name: "t"})
				}
				longest = max(longest, time.Since(start))
			}
			published <- longest
		}(sent)
		select {
		case d := <-published:
			worst = max(worst, d)
		case <-time.After(10 * time.Second):
			t.Fatalf("publishing blocked after %d events (slow consumers disconnected: %d)", sent, s.SlowConsumersDisconnected())
		}
		// The reading client keeps up; wait for it so the burst never
		// overflows its queue.
		events.wait(t, int64(sent+burst), 10*time.Second)
	}
	if worst > 2*time.Second {
		t.Errorf("slowest publish took %v", worst)
	}
	select {
	case <-slowClosed:
	case <-time.After(10 * time.Second):
		t.Fatal("the client that reads no events was not disconnected")
	}
	if n := s.SlowConsumersDisconnected(); n != 1 {
		t.Errorf("SlowConsumersDisconnected() = %d, want 1", n)
	}
	select {
	case <-fastClosed:
		t.Fatal("the reading client was disconnected")
	default:
	}
	if got := events.n.Load(); got != total {
		t.Errorf("reading client got %d events, want %d", got, total)
	}
	t.Logf("%d events published, slowest publish %v", total, worst)
}

// A client that stops reading its responses is disconnected after
// WriteTimeout, and other clients are served meanwhile.
func TestWriteTimeoutClosesStuckClient(t *testing.T) {
	ln := newPipeListener()
	startServer(t, Options{WriteTimeout: 200 * time.Millisecond}, ln)

	stuckConn, stuckClosed := ln.dial(t)
	stuck := newClient(t, stuckConn)
	stuck.startup()
	stuck.send(3, frame.OpOptions, nil) // its SUPPORTED is never read

	otherConn, _ := ln.dial(t)
	other := newClient(t, otherConn)
	other.startup()
	other.send(3, frame.OpOptions, nil)
	other.expect(3, frame.OpSupported)

	select {
	case <-stuckClosed:
	case <-time.After(20 * time.Second):
		t.Fatal("a client that does not read its responses was not disconnected")
	}
	// The other connection still works.
	other.send(4, frame.OpOptions, nil)
	other.expect(4, frame.OpSupported)
}
