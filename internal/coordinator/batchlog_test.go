package coordinator

import (
	"context"
	"encoding/hex"
	"net/netip"
	"testing"
	"time"

	"github.com/ringdb/ringdb/internal/messaging"
	"github.com/ringdb/ringdb/internal/ring"
	"github.com/ringdb/ringdb/internal/schema"
	"github.com/ringdb/ringdb/internal/storage"
)

// fakeTopology is a one-node ring.
type fakeTopology struct {
	self netip.Addr
	tm   *ring.TokenMetadata
}

func (f fakeTopology) Ring() *ring.TokenMetadata              { return f.tm }
func (f fakeTopology) IsAlive(ep netip.Addr) bool             { return ep == f.self }
func (f fakeTopology) DownSince(netip.Addr) (time.Time, bool) { return time.Time{}, false }
func (f fakeTopology) DC(netip.Addr) string                   { return "dc1" }
func (f fakeTopology) HostID(netip.Addr) ([16]byte, bool)     { return [16]byte{1}, true }
func (f fakeTopology) EndpointOf([16]byte) (netip.Addr, bool) { return f.self, true }

// noNetwork is a Messenger for a node without peers.
type noNetwork struct{}

func (noNetwork) Send(netip.Addr, messaging.Verb, []byte) error { return messaging.ErrClosed }
func (noNetwork) Request(context.Context, netip.Addr, messaging.Verb, []byte) ([]byte, error) {
	return nil, messaging.ErrClosed
}
func (noNetwork) Handle(messaging.Verb, messaging.Handler) {}

// TestBatchlogReplay: a batch left in the batchlog by a coordinator that
// failed part-way is replayed (once old enough) and removed.
func TestBatchlogReplay(t *testing.T) {
	self := netip.MustParseAddr("127.0.0.1")
	e, err := storage.Open(t.TempDir(), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	sm, err := schema.NewManager(e, nil, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sm.CreateKeyspace("ks", map[string]string{"class": "SimpleStrategy", "replication_factor": "1"}, true, false); err != nil {
		t.Fatal(err)
	}
	if _, err := sm.CreateTable(schema.TableDef{Keyspace: "ks", Name: "t", PartitionKey: []string{"k"},
		Columns: []schema.ColumnDef{{Name: "k", Type: "int"}, {Name: "v", Type: "text"}}}, false); err != nil {
		t.Fatal(err)
	}
	tid := storage.TableID(sm.Current().Table("ks", "t").ID)
	tm, err := ring.NewTokenMetadata().WithEndpoint(self, []int64{0}, "dc1", "r1")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	c := New(Options{Self: self, LocalDC: "dc1", Engine: e, Schema: sm, Messenger: noNetwork{},
		Topology: fakeTopology{self: self, tm: tm}, Clock: newFakeClock(now)})
	mut := func(key string) *storage.Mutation {
		return &storage.Mutation{Table: tid, Token: ring.Murmur3Token([]byte(key)), Key: []byte(key), Rows: []storage.RowUpdate{{
			Liveness: storage.LivenessInfo{Timestamp: 10}, Cells: []storage.Cell{{Column: 1, Timestamp: 10, Value: []byte("v")}}}}}
	}
	old := encodeBatch(now.Add(-time.Minute), []*storage.Mutation{mut("a"), mut("b")})
	fresh := encodeBatch(now, []*storage.Mutation{mut("c")})
	if err := e.SetMeta(batchlogPrefix+hex.EncodeToString(make([]byte, 16)), old); err != nil {
		t.Fatal(err)
	}
	if err := e.SetMeta(batchlogPrefix+"ff"+hex.EncodeToString(make([]byte, 15)), fresh); err != nil {
		t.Fatal(err)
	}
	c.replayBatchlog()
	present := func(key string) bool {
		found := false
		m := mut(key)
		if err := e.ReadPartition(tid, m.Token, m.Key, storage.PartitionQuery{}, func(*storage.Row) bool { found = true; return false }); err != nil {
			t.Fatal(err)
		}
		return found
	}
	if !present("a") || !present("b") {
		t.Fatal("old batchlog entry not replayed")
	}
	if present("c") {
		t.Fatal("a fresh batchlog entry (its coordinator may still be working) was replayed")
	}
	left := 0
	_ = e.ListMeta(batchlogPrefix, func(string, []byte) bool { left++; return true })
	if left != 1 || c.BatchesReplayed() != 1 {
		t.Fatalf("entries left %d (want 1), replayed %d (want 1)", left, c.BatchesReplayed())
	}
}
