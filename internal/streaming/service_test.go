package streaming

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringdb/ringdb/internal/messaging"
	"github.com/ringdb/ringdb/internal/ring"
	"github.com/ringdb/ringdb/internal/storage"
)

var (
	tbl     = storage.TableID{7}
	srcAddr = netip.MustParseAddr("127.0.0.1")
	dstAddr = netip.MustParseAddr("127.0.0.2")
)

// memNet delivers requests to the handlers registered by address; fail
// may corrupt or drop a response.
type memNet struct {
	mu       sync.Mutex
	handlers map[netip.Addr]map[messaging.Verb]messaging.Handler
	requests int
	fail     func(n int, resp []byte) ([]byte, error)
}

type endpoint struct {
	net  *memNet
	self netip.Addr
}

func (e endpoint) Handle(v messaging.Verb, h messaging.Handler) {
	if v != messaging.VerbStreamPull && v != messaging.VerbStreamRequest {
		panic("unexpected verb")
	}
	e.net.mu.Lock()
	defer e.net.mu.Unlock()
	if e.net.handlers == nil {
		e.net.handlers = map[netip.Addr]map[messaging.Verb]messaging.Handler{}
	}
	if e.net.handlers[e.self] == nil {
		e.net.handlers[e.self] = map[messaging.Verb]messaging.Handler{}
	}
	e.net.handlers[e.self][v] = h
}

func (e endpoint) Request(ctx context.Context, to netip.Addr, v messaging.Verb, payload []byte) ([]byte, error) {
	e.net.mu.Lock()
	h := e.net.handlers[to][v]
	n, fail := 0, e.net.fail
	if v == messaging.VerbStreamPull {
		e.net.requests++
		n = e.net.requests
	}
	e.net.mu.Unlock()
	resp, err := h(ctx, e.self, payload)
	if err != nil {
		return nil, &messaging.RemoteError{From: to, Verb: v, Message: err.Error()}
	}
	if fail != nil && v == messaging.VerbStreamPull {
		return fail(n, bytes.Clone(resp))
	}
	return resp, nil
}

func openEngine(t *testing.T) *storage.Engine {
	t.Helper()
	e, err := storage.Open(t.TempDir(), storage.Options{CacheSize: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func newPair(t *testing.T, admitted func(netip.Addr) bool) (*memNet, *Service, *Service, *storage.Engine, *storage.Engine) {
	t.Helper()
	n := &memNet{}
	se, de := openEngine(t), openEngine(t)
	opts := func(e *storage.Engine, self netip.Addr) Options {
		return Options{Engine: e, Transport: endpoint{n, self}, Admitted: admitted, ChunkBytes: 2048, ThroughputMiB: -1, RetryBackoff: time.Millisecond, AdmissionWait: 200 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)}
	}
	src, err := New(opts(se, srcAddr))
	if err != nil {
		t.Fatal(err)
	}
	dst, err := New(opts(de, dstAddr))
	if err != nil {
		t.Fatal(err)
	}
	return n, src, dst, se, de
}

func fill(t *testing.T, e *storage.Engine, n int) []*storage.Mutation {
	t.Helper()
	var muts []*storage.Mutation
	for i := 0; i < n; i++ {
		k := []byte(fmt.Sprintf("key-%d", i))
		m := &storage.Mutation{Table: tbl, Token: ring.Murmur3Token(k), Key: k}
		m.Rows = []storage.RowUpdate{{Liveness: storage.LivenessInfo{Timestamp: int64(10 + i)},
			Cells: []storage.Cell{{Column: 1, Timestamp: int64(10 + i), Value: []byte(strings.Repeat("x", 100))}}}}
		if i%10 == 0 {
			m.Rows[0].Cells[0] = storage.Cell{Column: 1, Timestamp: int64(20 + i), Tombstone: true, LocalDeletionTime: 1_700_000_000}
		}
		muts = append(muts, m)
	}
	if err := e.Apply(muts); err != nil {
		t.Fatal(err)
	}
	return muts
}

func wholeRing() []Transfer {
	var ts []Transfer
	for _, s := range Spans(tbl, ring.Range{Start: 0, End: 0}) {
		ts = append(ts, Transfer{Peer: srcAddr, Span: s})
	}
	return ts
}

func sameData(t *testing.T, a, b *storage.Engine, muts []*storage.Mutation) {
	t.Helper()
	for _, m := range muts {
		x, err := a.ReadPartitionRaw(tbl, m.Token, m.Key)
		if err != nil {
			t.Fatal(err)
		}
		y, err := b.ReadPartitionRaw(tbl, m.Token, m.Key)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(storage.Digest(x), storage.Digest(y)) {
			t.Fatalf("partition %s differs", m.Key)
		}
	}
}

func allowAll(netip.Addr) bool { return true }

func TestPullCopiesEverythingInChunks(t *testing.T) {
	n, src, dst, se, de := newPair(t, allowAll)
	muts := fill(t, se, 500)
	if err := dst.Pull(context.Background(), "Bootstrap", wholeRing()); err != nil {
		t.Fatal(err)
	}
	sameData(t, se, de, muts)
	if n.requests < 20 {
		t.Fatalf("%d requests: chunks not bounded", n.requests)
	}
	_, recent := dst.Streams()
	if len(recent) != 1 || recent[0].SpansDone != 2 || recent[0].Pairs != 500 || recent[0].Err != "" {
		t.Fatalf("receiver progress %+v", recent)
	}
	active, _ := src.Streams()
	if len(active) != 1 || active[0].Direction != "out" || active[0].Pairs != 500 {
		t.Fatalf("source progress %+v", active)
	}
}

func TestPullResumesAfterLostAndCorruptChunks(t *testing.T) {
	n, _, dst, se, de := newPair(t, allowAll)
	muts := fill(t, se, 300)
	n.fail = func(i int, resp []byte) ([]byte, error) {
		switch i % 4 {
		case 1:
			return nil, errors.New("connection lost")
		case 2:
			resp[len(resp)-1] ^= 0xFF // corrupted in transit: checksum
			return resp, nil
		}
		return resp, nil
	}
	if err := dst.Pull(context.Background(), "Bootstrap", wholeRing()); err != nil {
		t.Fatal(err)
	}
	sameData(t, se, de, muts)
}

func TestPullFailsCleanlyAndCanBeRunAgain(t *testing.T) {
	n, _, dst, se, de := newPair(t, allowAll)
	muts := fill(t, se, 300)
	n.fail = func(i int, resp []byte) ([]byte, error) {
		if i > 5 {
			return nil, errors.New("source killed")
		}
		return resp, nil
	}
	err := dst.Pull(context.Background(), "Bootstrap", wholeRing())
	if err == nil || !strings.Contains(err.Error(), "source killed") || !strings.Contains(err.Error(), srcAddr.String()) {
		t.Fatalf("err = %v", err)
	}
	_, recent := dst.Streams()
	if len(recent) != 1 || recent[0].Err == "" {
		t.Fatalf("failed stream not reported: %+v", recent)
	}
	n.fail = nil
	if err := dst.Pull(context.Background(), "Bootstrap", wholeRing()); err != nil {
		t.Fatal(err)
	}
	sameData(t, se, de, muts)
}

func TestPullRefusedForNonMembers(t *testing.T) {
	_, _, dst, se, de := newPair(t, func(a netip.Addr) bool { return a != dstAddr })
	fill(t, se, 10)
	err := dst.Pull(context.Background(), "Bootstrap", wholeRing())
	if err == nil || !strings.Contains(err.Error(), "not a member") {
		t.Fatalf("err = %v", err)
	}
	if has, _ := de.SpanHasData(storage.TokenSpan{Table: tbl, First: math.MinInt64, Last: math.MaxInt64}); has {
		t.Fatal("a non-member got data")
	}
}

func TestPullHonoursCancellation(t *testing.T) {
	_, _, dst, se, _ := newPair(t, allowAll)
	fill(t, se, 10)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := dst.Pull(ctx, "Bootstrap", wholeRing()); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

func TestThrottleWaitsAndHonoursContext(t *testing.T) {
	n := &memNet{}
	s, err := New(Options{Engine: openEngine(t), Transport: endpoint{n, srcAddr}, Admitted: allowAll, ThroughputMiB: 1})
	if err != nil {
		t.Fatal(err)
	}
	// The bucket holds 1 MiB: a 3 MiB send must wait for about 2 s of
	// tokens, which a 50 ms deadline does not allow.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.throttle(ctx, 3<<20); err == nil {
		t.Fatal("3 MiB passed a 1 MiB/s throttle within 50 ms")
	}
}

func TestSpans(t *testing.T) {
	cases := []struct {
		r    ring.Range
		want []storage.TokenSpan
	}{
		{ring.Range{Start: -10, End: 20}, []storage.TokenSpan{{Table: tbl, First: -9, Last: 20}}},
		{ring.Range{Start: 20, End: -10}, []storage.TokenSpan{{Table: tbl, First: 21, Last: math.MaxInt64}, {Table: tbl, First: math.MinInt64, Last: -10}}},
		{ring.Range{Start: 5, End: 5}, []storage.TokenSpan{{Table: tbl, First: 6, Last: math.MaxInt64}, {Table: tbl, First: math.MinInt64, Last: 5}}},
		{ring.Range{Start: math.MaxInt64, End: 3}, []storage.TokenSpan{{Table: tbl, First: math.MinInt64, Last: 3}}},
	}
	for _, c := range cases {
		got := Spans(tbl, c.r)
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("Spans(%v) = %v, want %v", c.r, got, c.want)
		}
	}
}

func TestRequestMakesThePeerPull(t *testing.T) {
	_, src, _, se, de := newPair(t, allowAll)
	muts := fill(t, se, 200)
	// The source hands its data to the receiver (as a decommission does).
	if err := src.Request(context.Background(), dstAddr, "Unbootstrap", wholeRing()); err != nil {
		t.Fatal(err)
	}
	sameData(t, se, de, muts)
}

func TestRequestRefusedForNonMembersAndForeignSources(t *testing.T) {
	_, src, _, se, de := newPair(t, func(a netip.Addr) bool { return a != netip.MustParseAddr("127.0.0.9") })
	fill(t, se, 10)
	ts := wholeRing()
	ts[0].Peer = netip.MustParseAddr("127.0.0.9")
	err := src.Request(context.Background(), dstAddr, "Repair", ts)
	if err == nil || !strings.Contains(err.Error(), "source 127.0.0.9 is not a member") {
		t.Fatalf("err = %v", err)
	}
	if has, _ := de.SpanHasData(storage.TokenSpan{Table: tbl, First: math.MinInt64, Last: math.MaxInt64}); has {
		t.Fatal("a refused request pulled data")
	}
	_, src2, _, se2, _ := newPair(t, func(a netip.Addr) bool { return a != srcAddr })
	fill(t, se2, 10)
	if err := src2.Request(context.Background(), dstAddr, "Repair", wholeRing()); err == nil || !strings.Contains(err.Error(), "not a member") {
		t.Fatalf("non-member's request: %v", err)
	}
}

func TestPullFailsFastWhenTheSourceIsConvicted(t *testing.T) {
	n, _, dst, se, _ := newPair(t, allowAll)
	fill(t, se, 10)
	var alive atomic.Bool
	alive.Store(true)
	dst.o.PeerAlive = func(netip.Addr) bool { return alive.Load() }
	dst.o.ChunkTimeout = time.Hour
	n.mu.Lock()
	n.handlers[srcAddr][messaging.VerbStreamPull] = func(ctx context.Context, _ netip.Addr, _ []byte) ([]byte, error) {
		alive.Store(false) // the source dies with the request in flight
		<-ctx.Done()
		return nil, ctx.Err()
	}
	n.mu.Unlock()
	done := make(chan error, 1)
	go func() { done <- dst.Pull(context.Background(), "Bootstrap", wholeRing()) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "is down") || !strings.Contains(err.Error(), srcAddr.String()) {
			t.Fatalf("err = %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the pull kept waiting on a convicted source")
	}
}

func TestPullRetriesWhileTheSourceDoesNotKnowTheJoinerYet(t *testing.T) {
	var refusals atomic.Int32
	admitted := func(a netip.Addr) bool {
		// The source learns of the joiner's BOOT after three refusals.
		return a != dstAddr || refusals.Add(1) > 3
	}
	_, _, dst, se, de := newPair(t, admitted)
	muts := fill(t, se, 50)
	if err := dst.Pull(context.Background(), "Bootstrap", wholeRing()); err != nil {
		t.Fatal(err)
	}
	sameData(t, se, de, muts)
}

func TestPullGivesUpOnANonMemberRefusalAfterAdmissionWait(t *testing.T) {
	n := &memNet{}
	se, de := openEngine(t), openEngine(t)
	fill(t, se, 10)
	mk := func(e *storage.Engine, self netip.Addr) *Service {
		s, err := New(Options{Engine: e, Transport: endpoint{n, self}, Admitted: func(a netip.Addr) bool { return a != dstAddr },
			ThroughputMiB: -1, RetryBackoff: time.Millisecond, AdmissionWait: 50 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	mk(se, srcAddr)
	dst := mk(de, dstAddr)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := dst.Pull(ctx, "Bootstrap", wholeRing())
	if err == nil || !strings.Contains(err.Error(), "is not a member of this cluster") {
		t.Fatalf("err = %v", err)
	}
	if ctx.Err() != nil {
		t.Fatal("the refusal was retried past AdmissionWait")
	}
}
