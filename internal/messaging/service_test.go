package messaging

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/ringdb/ringdb/internal/testnet"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

type received struct {
	from    netip.Addr
	payload string
}

// echoNode registers: VerbMutation (one-way, reported on ch), VerbRead
// (answers "re:"+payload), VerbTruncate (fails), VerbEcho (answers "pong").
func echoNode(n *testNode, ch chan received) *testNode {
	n.Handle(VerbMutation, func(_ context.Context, from netip.Addr, p []byte) ([]byte, error) {
		ch <- received{from, string(p)}
		return nil, nil
	})
	n.Handle(VerbRead, func(_ context.Context, from netip.Addr, p []byte) ([]byte, error) {
		return append([]byte("re:"+from.String()+":"), p...), nil
	})
	n.Handle(VerbTruncate, func(context.Context, netip.Addr, []byte) ([]byte, error) {
		return nil, errors.New("boom")
	})
	n.Handle(VerbEcho, func(context.Context, netip.Addr, []byte) ([]byte, error) {
		return []byte("pong"), nil
	})
	return n
}

func recv(t *testing.T, ch chan received) received {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("message not delivered")
		return received{}
	}
}

func TestTwoNodesSendRequestError(t *testing.T) {
	ca := newTestCA(t, testCluster)
	port := testnet.FreePort(t)
	chA, chB := make(chan received, 16), make(chan received, 16)
	a := echoNode(newTestNode(t, ca, "127.0.0.1", port, nil), chA).start(t)
	b := echoNode(newTestNode(t, ca, "127.0.0.2", port, nil), chB).start(t)
	ctx := context.Background()

	if err := a.Send(b.addr, VerbMutation, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if r := recv(t, chB); r.from != a.addr || r.payload != "hello" {
		t.Fatalf("B got %+v", r)
	}
	resp, err := a.Request(ctx, b.addr, VerbRead, []byte("q"))
	if err != nil || string(resp) != "re:127.0.0.1:q" {
		t.Fatalf("A->B request: %q, %v", resp, err)
	}
	resp, err = b.Request(ctx, a.addr, VerbRead, []byte("q2"))
	if err != nil || string(resp) != "re:127.0.0.2:q2" {
		t.Fatalf("B->A request: %q, %v", resp, err)
	}
	// Urgent lane.
	if resp, err := a.Request(ctx, b.addr, VerbEcho, nil); err != nil || string(resp) != "pong" {
		t.Fatalf("echo: %q, %v", resp, err)
	}
	// Handler error.
	_, err = a.Request(ctx, b.addr, VerbTruncate, nil)
	var re *RemoteError
	if !errors.As(err, &re) || re.Message != "boom" || re.From != b.addr || re.Verb != VerbTruncate {
		t.Fatalf("want RemoteError boom, got %v", err)
	}
	// No handler registered.
	if _, err := a.Request(ctx, b.addr, VerbSchemaPull, nil); !errors.As(err, &re) || !strings.Contains(re.Message, "no handler") {
		t.Fatalf("want RemoteError no handler, got %v", err)
	}
	// Many concurrent requests match their own responses.
	errs := make(chan error, 200)
	for i := range 200 {
		go func() {
			p := fmt.Appendf(nil, "%d", i)
			r, err := a.Request(ctx, b.addr, VerbRead, p)
			if err == nil && string(r) != "re:127.0.0.1:"+string(p) {
				err = fmt.Errorf("mismatched response %q for %q", r, p)
			}
			errs <- err
		}()
	}
	for range 200 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	// Oversized payloads fail fast.
	if err := a.Send(b.addr, VerbGossipSyn, make([]byte, UrgentMaxFrameSize+1)); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("want ErrFrameTooLarge, got %v", err)
	}
	if n := len(a.refusals.list) + len(b.refusals.list); n != 0 {
		t.Fatalf("unexpected refusals: %v %v", a.refusals.list, b.refusals.list)
	}
}

func TestSendToSelfIsInProcess(t *testing.T) {
	ca := newTestCA(t, testCluster)
	ch := make(chan received, 4)
	// Not started and on a port nobody listens on: self traffic needs no socket.
	a := echoNode(newTestNode(t, ca, "127.0.0.1", testnet.FreePort(t), nil), ch)
	if err := a.Send(a.addr, VerbMutation, []byte("me")); err != nil {
		t.Fatal(err)
	}
	if r := recv(t, ch); r.from != a.addr || r.payload != "me" {
		t.Fatalf("got %+v", r)
	}
	resp, err := a.Request(context.Background(), a.addr, VerbRead, []byte("x"))
	if err != nil || string(resp) != "re:127.0.0.1:x" {
		t.Fatalf("self request: %q, %v", resp, err)
	}
	var re *RemoteError
	if _, err := a.Request(context.Background(), a.addr, VerbTruncate, nil); !errors.As(err, &re) || re.Message != "boom" {
		t.Fatalf("self handler error: %v", err)
	}
}

func TestThreeNodes(t *testing.T) {
	ca := newTestCA(t, testCluster)
	port := testnet.FreePort(t)
	var nodes []*testNode
	var chans []chan received
	for _, ip := range []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"} {
		ch := make(chan received, 16)
		nodes = append(nodes, echoNode(newTestNode(t, ca, ip, port, nil), ch).start(t))
		chans = append(chans, ch)
	}
	for i, from := range nodes {
		for j, to := range nodes {
			if err := from.Send(to.addr, VerbMutation, []byte(from.addr.String())); err != nil {
				t.Fatal(err)
			}
			if r := recv(t, chans[j]); r.from != from.addr || r.payload != from.addr.String() {
				t.Fatalf("%d->%d: got %+v", i, j, r)
			}
			resp, err := from.Request(context.Background(), to.addr, VerbRead, nil)
			if want := "re:" + from.addr.String() + ":"; err != nil || string(resp) != want {
				t.Fatalf("%d->%d: %q, %v", i, j, resp, err)
			}
		}
	}
}

func TestRequestTimeout(t *testing.T) {
	ca := newTestCA(t, testCluster)
	port := testnet.FreePort(t)
	a := newTestNode(t, ca, "127.0.0.1", port, func(o *Options) { o.RequestTimeout = 300 * time.Millisecond }).start(t)
	b := newTestNode(t, ca, "127.0.0.2", port, nil)
	b.Handle(VerbRead, func(ctx context.Context, _ netip.Addr, _ []byte) ([]byte, error) {
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Second):
		}
		return []byte("late"), nil
	})
	b.start(t)

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := a.Request(ctx, b.addr, VerbRead, nil); !errors.Is(err, ErrTimeout) {
		t.Fatalf("ctx deadline: want ErrTimeout, got %v", err)
	}
	// No deadline on ctx: RequestTimeout applies.
	if _, err := a.Request(context.Background(), b.addr, VerbRead, nil); !errors.Is(err, ErrTimeout) {
		t.Fatalf("RequestTimeout: want ErrTimeout, got %v", err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Fatalf("timeouts took %v", d)
	}
	// A cancelled context is not a timeout.
	ctx2, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if _, err := a.Request(ctx2, b.addr, VerbRead, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
}

func TestReconnectAfterPeerRestart(t *testing.T) {
	ca := newTestCA(t, testCluster)
	port := testnet.FreePort(t)
	chA := make(chan received, 16)
	a := echoNode(newTestNode(t, ca, "127.0.0.1", port, nil), chA).start(t)
	b := echoNode(newTestNode(t, ca, "127.0.0.2", port, nil), make(chan received, 16)).start(t)
	if _, err := a.Request(context.Background(), b.addr, VerbRead, nil); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	// While B is down, requests fail (timeout or lost connection) but do not hang.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	_, err := a.Request(ctx, b.addr, VerbRead, nil)
	cancel()
	if err == nil {
		t.Fatal("request to a closed peer succeeded")
	}
	// Now the dial itself fails and the lane backs off.
	ctx, cancel = context.WithTimeout(context.Background(), 300*time.Millisecond)
	_, err = a.Request(ctx, b.addr, VerbRead, nil)
	cancel()
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("request to a down peer: want ErrTimeout, got %v", err)
	}
	chB := make(chan received, 16)
	b2 := echoNode(newTestNode(t, ca, "127.0.0.2", port, nil), chB).start(t)
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		resp, err := a.Request(ctx, b2.addr, VerbRead, []byte("again"))
		cancel()
		if err == nil {
			if string(resp) != "re:127.0.0.1:again" {
				t.Fatalf("got %q", resp)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no reconnect: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := a.Send(b2.addr, VerbMutation, []byte("m")); err != nil {
		t.Fatal(err)
	}
	recv(t, chB)
}

func TestUrgentLaneDuringBulkFlood(t *testing.T) {
	ca := newTestCA(t, testCluster)
	port := testnet.FreePort(t)
	a := newTestNode(t, ca, "127.0.0.1", port, nil).start(t)
	b := newTestNode(t, ca, "127.0.0.2", port, nil)
	var bulkDone atomic.Int64
	release := make(chan struct{})
	b.Handle(VerbMutation, func(ctx context.Context, _ netip.Addr, _ []byte) ([]byte, error) {
		select { // slow replica: the bulk lane backs up
		case <-release:
		case <-time.After(20 * time.Millisecond):
		case <-ctx.Done():
		}
		bulkDone.Add(1)
		return nil, nil
	})
	b.Handle(VerbEcho, func(context.Context, netip.Addr, []byte) ([]byte, error) { return []byte("pong"), nil })
	b.start(t)
	// Establish both lanes first.
	if _, err := a.Request(context.Background(), b.addr, VerbEcho, nil); err != nil {
		t.Fatal(err)
	}

	const n, size = 50, 1 << 20 // 50 MB of mutations
	payload := bytes.Repeat([]byte{'x'}, size)
	for i := range n {
		if err := a.Send(b.addr, VerbMutation, payload); err != nil {
			t.Fatalf("bulk send %d: %v", i, err)
		}
	}
	var worst time.Duration
	for range 5 {
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		resp, err := a.Request(ctx, b.addr, VerbEcho, []byte("ping"))
		cancel()
		if err != nil || string(resp) != "pong" {
			t.Fatalf("echo during bulk flood: %q, %v", resp, err)
		}
		worst = max(worst, time.Since(start))
	}
	done := bulkDone.Load()
	t.Logf("worst echo latency %v with %d/%d bulk messages still pending", worst, n-int(done), n)
	if worst > 5*time.Second {
		t.Fatalf("echo took %v during bulk flood", worst)
	}
	close(release)
	deadline := time.Now().Add(30 * time.Second)
	for bulkDone.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d/%d bulk messages delivered", bulkDone.Load(), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestQueueFullToUnreachablePeer(t *testing.T) {
	ca := newTestCA(t, testCluster)
	a := newTestNode(t, ca, "127.0.0.1", testnet.FreePort(t), func(o *Options) { o.MaxQueueBytesPerPeer = 64 << 10 })
	unreachable := netip.MustParseAddr("127.0.0.9") // nothing listens there
	payload := make([]byte, 1000)
	for i := range 10000 {
		err := a.Send(unreachable, VerbMutation, payload)
		if errors.Is(err, ErrQueueFull) {
			if i < 50 {
				t.Fatalf("queue full after only %d messages", i)
			}
			t.Logf("ErrQueueFull after %d messages", i)
			// The urgent lane has its own budget.
			if err := a.Send(unreachable, VerbGossipSyn, payload); err != nil {
				t.Fatalf("urgent lane: %v", err)
			}
			// Requests fail fast too.
			if _, err := a.Request(context.Background(), unreachable, VerbRead, payload); !errors.Is(err, ErrQueueFull) {
				t.Fatalf("request: want ErrQueueFull, got %v", err)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Fatal("Send never returned ErrQueueFull")
}

func TestCloseFailsPendingAndLaterCalls(t *testing.T) {
	ca := newTestCA(t, testCluster)
	port := testnet.FreePort(t)
	a := newTestNode(t, ca, "127.0.0.1", port, nil).start(t)
	b := newTestNode(t, ca, "127.0.0.2", port, nil)
	b.Handle(VerbRead, func(ctx context.Context, _ netip.Addr, _ []byte) ([]byte, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	})
	b.start(t)
	errc := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_, err := a.Request(ctx, b.addr, VerbRead, nil)
		errc <- err
	}()
	time.Sleep(200 * time.Millisecond)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Fatalf("pending request: want ErrClosed, got %v", err)
	}
	if err := a.Send(b.addr, VerbMutation, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("send after close: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestOptionsValidation(t *testing.T) {
	_, err := New(Options{Port: 70000, ClusterID: strings.Repeat("x", 300)})
	if err == nil {
		t.Fatal("want error")
	}
	for _, key := range []string{"Self", "storage_port", "ClusterID", "ServerTLS", "ClientTLS", "PeerAddress"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("error does not name %s: %v", key, err)
		}
	}
	// A certificate that does not name Self is refused up front.
	ca := newTestCA(t, testCluster)
	cert := ca.leaf(t, "127.0.0.2", testCluster)
	_, err = New(Options{
		Self: netip.MustParseAddr("127.0.0.1"), ClusterID: testCluster,
		ServerTLS: serverConfig(ca, cert), ClientTLS: clientConfig(ca, cert), PeerAddress: testPeerAddress,
	})
	if err == nil || !strings.Contains(err.Error(), "do not include listen address") {
		t.Fatalf("want certificate/listen address error, got %v", err)
	}
	// A server config that does not require client certificates is refused.
	cert = ca.leaf(t, "127.0.0.1", testCluster)
	sc := serverConfig(ca, cert)
	sc.ClientAuth = 0
	_, err = New(Options{
		Self: netip.MustParseAddr("127.0.0.1"), ClusterID: testCluster,
		ServerTLS: sc, ClientTLS: clientConfig(ca, cert), PeerAddress: testPeerAddress,
	})
	if err == nil || !strings.Contains(err.Error(), "ClientAuth") {
		t.Fatalf("want ClientAuth error, got %v", err)
	}
}

func TestVerbTable(t *testing.T) {
	for v := range 256 {
		verb := Verb(v)
		if !verb.Known() {
			if verb.Urgent() || !strings.HasPrefix(verb.String(), "Verb(") {
				t.Errorf("unknown verb %d: %v urgent=%v", v, verb, verb.Urgent())
			}
			continue
		}
		urgent := verb == VerbEcho || verb == VerbGossipSyn || verb == VerbGossipAck || verb == VerbGossipAck2 || verb == VerbGossipShutdown
		if verb.Urgent() != urgent {
			t.Errorf("%v: urgent=%v", verb, verb.Urgent())
		}
	}
	if VerbTruncate.String() != "TRUNCATE" {
		t.Error(VerbTruncate.String())
	}
}
