package protocol

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/ringdb/ringdb/internal/protocol/frame"
	"github.com/ringdb/ringdb/internal/query"
	"github.com/ringdb/ringdb/internal/schema"
	"github.com/ringdb/ringdb/internal/storage"
)

// blockingStore is the local store, except that a range scan blocks until
// its context is done (or the test releases it) and reports which.
type blockingStore struct {
	query.LocalStore
	entered chan struct{} // a scan has started
	result  chan error    // what the scan saw: ctx.Err(), or nil when released
	release chan struct{}
}

func (b *blockingStore) ScanPartitions(ctx context.Context, _ *schema.Table, _ storage.PartitionPos, _ int64, _ storage.PartitionQuery, _ frame.Consistency, _ func(int64, []byte, query.RowsFunc) bool) error {
	select {
	case b.entered <- struct{}{}:
	default:
	}
	var err error
	select {
	case <-ctx.Done():
		err = ctx.Err()
	case <-b.release:
	}
	select {
	case b.result <- err:
	default:
	}
	return err
}

// newBlockingProcessor returns a processor over a fresh engine with table
// ks.t, whose range scans block in the returned store.
func newBlockingProcessor(t *testing.T) (*query.Processor, *blockingStore) {
	t.Helper()
	eng, err := storage.Open(t.TempDir(), storage.Options{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	sm, err := schema.NewManager(eng, schema.SystemKeyspaces(), nil)
	if err != nil {
		t.Fatal(err)
	}
	bs := &blockingStore{LocalStore: query.LocalStore{Engine: eng}, entered: make(chan struct{}, 1),
		result: make(chan error, 1), release: make(chan struct{})}
	p := query.New(query.Options{Schema: sm, Engine: eng, Store: bs, Logger: quietLogger()})
	for _, q := range []string{
		"CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
		"CREATE TABLE ks.t (k int PRIMARY KEY, v int)",
		"INSERT INTO ks.t (k, v) VALUES (1, 1)",
	} {
		if _, err := p.Query(context.Background(), &query.Session{}, q, &query.Params{Consistency: frame.One}); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return p, bs
}

// startBlockedScan connects a client, checks that an ordinary request is
// served, then starts a range scan and waits until it blocks in the store.
func startBlockedScan(t *testing.T, s *Server, bs *blockingStore) *client {
	t.Helper()
	nc, err := net.DialTimeout("tcp", s.Addr().String(), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	cl := newClient(t, nc)
	cl.startup()
	// A request on a live connection is not cancelled.
	cl.send(5, frame.OpQuery, queryBody("SELECT v FROM ks.t WHERE k = 1"))
	if c := frame.NewCursor(cl.expect(5, frame.OpResult)); c.Int() != frame.ResultRows {
		t.Fatal("point read did not return rows")
	}
	cl.send(6, frame.OpQuery, queryBody("SELECT * FROM ks.t"))
	select {
	case <-bs.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the range scan did not reach the store")
	}
	select {
	case err := <-bs.result:
		t.Fatalf("the scan ended before the connection did: %v", err)
	default:
	}
	return cl
}

func expectCancelled(t *testing.T, bs *blockingStore, why string) {
	t.Helper()
	select {
	case err := <-bs.result:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("the scan ended with %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the request's context was not cancelled when %s", why)
	}
}

// A request whose client has closed its connection sees ctx.Done().
func TestRequestCancelledWhenClientDisconnects(t *testing.T) {
	p, bs := newBlockingProcessor(t)
	s := startServer(t, Options{Processor: p}, nil)
	t.Cleanup(func() { close(bs.release) }) // runs before the server's Close
	cl := startBlockedScan(t, s, bs)
	cl.c.Close()
	expectCancelled(t, bs, "the client disconnected")
}

// Server.Close cancels the requests still running instead of waiting for
// them.
func TestRequestCancelledWhenServerCloses(t *testing.T) {
	p, bs := newBlockingProcessor(t)
	s := startServer(t, Options{Processor: p}, nil)
	t.Cleanup(func() { close(bs.release) })
	startBlockedScan(t, s, bs)
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		s.Close()
	}()
	expectCancelled(t, bs, "the server closed")
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return")
	}
}
