package coordinator

import (
	"context"
	"fmt"
	"math"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringdb/ringdb/internal/messaging"
	"github.com/ringdb/ringdb/internal/ring"
	"github.com/ringdb/ringdb/internal/schema"
	"github.com/ringdb/ringdb/internal/storage"
)

// memNet is an in-memory Messenger fabric: a request runs the target
// node's handler on the caller's goroutine. A verb can be held: its
// requests then block until their context ends, which the net counts.
type memNet struct {
	mu       sync.Mutex
	handlers map[netip.Addr]map[messaging.Verb]messaging.Handler
	held     map[messaging.Verb]bool
	down     map[netip.Addr]bool

	heldNow   atomic.Int64 // requests blocked in a held verb right now
	heldTotal atomic.Int64 // requests that entered a held verb
	released  atomic.Int64 // held requests whose context ended
}

func newMemNet() *memNet {
	return &memNet{handlers: map[netip.Addr]map[messaging.Verb]messaging.Handler{},
		held: map[messaging.Verb]bool{}, down: map[netip.Addr]bool{}}
}

// hold makes requests of v block until their context ends.
func (n *memNet) hold(v messaging.Verb, on bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.held[v] = on
}

// endpoint is node self's Messenger.
func (n *memNet) endpoint(self netip.Addr) Messenger { return memEndpoint{n: n, self: self} }

type memEndpoint struct {
	n    *memNet
	self netip.Addr
}

func (e memEndpoint) Handle(v messaging.Verb, h messaging.Handler) {
	e.n.mu.Lock()
	defer e.n.mu.Unlock()
	if e.n.handlers[e.self] == nil {
		e.n.handlers[e.self] = map[messaging.Verb]messaging.Handler{}
	}
	e.n.handlers[e.self][v] = h
}

func (e memEndpoint) Request(ctx context.Context, to netip.Addr, v messaging.Verb, payload []byte) ([]byte, error) {
	e.n.mu.Lock()
	h, held, down := e.n.handlers[to][v], e.n.held[v], e.n.down[to]
	e.n.mu.Unlock()
	if down || h == nil {
		return nil, messaging.ErrClosed
	}
	if held {
		e.n.heldTotal.Add(1)
		e.n.heldNow.Add(1)
		<-ctx.Done()
		e.n.heldNow.Add(-1)
		e.n.released.Add(1)
		return nil, ctx.Err()
	}
	return h(ctx, e.self, append([]byte(nil), payload...))
}

func (e memEndpoint) Send(to netip.Addr, v messaging.Verb, payload []byte) error {
	_, err := e.Request(context.Background(), to, v, payload)
	return err
}

// memTopology is a ring every coordinator of a test shares.
type memTopology struct {
	tm   *ring.TokenMetadata
	ids  map[netip.Addr][16]byte
	dead sync.Map // netip.Addr -> time.Time marked down
}

func (t *memTopology) Ring() *ring.TokenMetadata { return t.tm }
func (t *memTopology) IsAlive(ep netip.Addr) bool {
	_, dead := t.dead.Load(ep)
	return !dead
}
func (t *memTopology) DownSince(ep netip.Addr) (time.Time, bool) {
	v, ok := t.dead.Load(ep)
	if !ok {
		return time.Time{}, false
	}
	return v.(time.Time), true
}
func (t *memTopology) DC(netip.Addr) string { return "dc1" }
func (t *memTopology) HostID(ep netip.Addr) ([16]byte, bool) {
	id, ok := t.ids[ep]
	return id, ok
}
func (t *memTopology) EndpointOf(id [16]byte) (netip.Addr, bool) {
	for ep, x := range t.ids {
		if x == id {
			return ep, true
		}
	}
	return netip.Addr{}, false
}

// memCluster is n coordinators, each with its own engine and a copy of
// one schema (keyspace ks at replication factor rf, table ks.t (k text
// PRIMARY KEY, v text)), joined by a memNet and driven by one fake clock.
type memCluster struct {
	t      *testing.T
	net    *memNet
	clock  *fakeClock
	topo   *memTopology
	addrs  []netip.Addr
	coords []*Coordinator
	eng    []*storage.Engine
	table  *schema.Table
}

func newMemCluster(t *testing.T, n, rf int) *memCluster {
	t.Helper()
	mc := &memCluster{t: t, net: newMemNet(), clock: newFakeClock(time.Unix(1_800_000_000, 0)),
		topo: &memTopology{tm: ring.NewTokenMetadata(), ids: map[netip.Addr][16]byte{}}}
	for i := 0; i < n; i++ {
		ep := netip.AddrFrom4([4]byte{127, 0, 0, byte(i + 1)})
		mc.addrs = append(mc.addrs, ep)
		var toks []ring.Token
		for j := 0; j < 4; j++ { // 4 vnodes each, interleaved
			toks = append(toks, ring.Token(int64(j*n+i-2*n)*(1<<59)))
		}
		tm, err := mc.topo.tm.WithEndpoint(ep, toks, "dc1", "r1")
		if err != nil {
			t.Fatal(err)
		}
		mc.topo.tm = tm
		mc.topo.ids[ep] = [16]byte{byte(i + 1)}
	}
	var exported []byte
	for i, ep := range mc.addrs {
		e, err := storage.Open(t.TempDir(), storage.Options{})
		if err != nil {
			t.Fatal(err)
		}
		sm, err := schema.NewManager(e, nil, mc.clock.Now)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if _, err := sm.CreateKeyspace("ks", map[string]string{"class": "SimpleStrategy", "replication_factor": fmt.Sprint(rf)}, true, false); err != nil {
				t.Fatal(err)
			}
			if _, err := sm.CreateTable(schema.TableDef{Keyspace: "ks", Name: "t", PartitionKey: []string{"k"},
				Columns: []schema.ColumnDef{{Name: "k", Type: "text"}, {Name: "v", Type: "text"}}}, false); err != nil {
				t.Fatal(err)
			}
			if exported, err = sm.Export(); err != nil {
				t.Fatal(err)
			}
			mc.table = sm.Current().Table("ks", "t")
		} else if _, _, err := sm.Merge(exported, math.MaxInt64); err != nil {
			t.Fatal(err)
		}
		c := New(Options{Self: ep, LocalDC: "dc1", Engine: e, Schema: sm, Messenger: mc.net.endpoint(ep),
			Topology: mc.topo, Clock: mc.clock, HintReplayInterval: time.Hour})
		mc.coords = append(mc.coords, c)
		mc.eng = append(mc.eng, e)
	}
	t.Cleanup(mc.close)
	return mc
}

// close stops every coordinator, then closes the engines.
func (mc *memCluster) close() {
	for _, c := range mc.coords {
		c.Stop()
	}
	for _, e := range mc.eng {
		_ = e.Close()
	}
	mc.eng = nil
}

// mutation sets ks.t's v for key k at write time ts (microseconds).
func (mc *memCluster) mutation(k, v string, ts int64) *storage.Mutation {
	vcol := mc.table.Column("v")
	return &storage.Mutation{Table: storage.TableID(mc.table.ID), Token: ring.Murmur3Token([]byte(k)), Key: []byte(k),
		Rows: []storage.RowUpdate{{Liveness: storage.LivenessInfo{Timestamp: ts},
			Cells: []storage.Cell{{Column: vcol.ID, Timestamp: ts, Value: []byte(v)}}}}}
}

// localValue reads k's v from node i's engine alone ("" if absent).
func (mc *memCluster) localValue(i int, k string) string {
	mc.t.Helper()
	var v string
	err := mc.eng[i].ReadPartition(storage.TableID(mc.table.ID), ring.Murmur3Token([]byte(k)), []byte(k), storage.PartitionQuery{}, func(r *storage.Row) bool {
		for _, c := range r.Cells {
			v = string(c.Value)
		}
		return true
	})
	if err != nil {
		mc.t.Fatal(err)
	}
	return v
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
