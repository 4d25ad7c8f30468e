package repair

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
	"testing"
	"time"

	"github.com/ringdb/ringdb/internal/messaging"
	"github.com/ringdb/ringdb/internal/ring"
	"github.com/ringdb/ringdb/internal/schema"
	"github.com/ringdb/ringdb/internal/storage"
	"github.com/ringdb/ringdb/internal/streaming"
)

// memNet delivers requests to the handlers registered by address, in
// process; a node marked down refuses everything.
type memNet struct {
	mu       sync.Mutex
	handlers map[netip.Addr]map[messaging.Verb]messaging.Handler
	down     map[netip.Addr]bool
	silent   map[netip.Addr]bool // requests to it block until their context ends
	calls    map[messaging.Verb]int
}

func newMemNet() *memNet {
	return &memNet{handlers: map[netip.Addr]map[messaging.Verb]messaging.Handler{},
		down: map[netip.Addr]bool{}, silent: map[netip.Addr]bool{}, calls: map[messaging.Verb]int{}}
}

func (n *memNet) setDown(a netip.Addr, down bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.down[a] = down
}

func (n *memNet) alive(a netip.Addr) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return !n.down[a]
}

// count returns the requests of verb v so far and resets the count.
func (n *memNet) count(v messaging.Verb) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	c := n.calls[v]
	n.calls[v] = 0
	return c
}

// endpoint is one node's view of the memNet: its Transport.
type endpoint struct {
	net  *memNet
	self netip.Addr
}

func (e endpoint) Handle(v messaging.Verb, h messaging.Handler) {
	e.net.mu.Lock()
	defer e.net.mu.Unlock()
	if e.net.handlers[e.self] == nil {
		e.net.handlers[e.self] = map[messaging.Verb]messaging.Handler{}
	}
	e.net.handlers[e.self][v] = h
}

func (e endpoint) Request(ctx context.Context, to netip.Addr, v messaging.Verb, payload []byte) ([]byte, error) {
	e.net.mu.Lock()
	h, down := e.net.handlers[to][v], e.net.down[to] || e.net.down[e.self]
	silent := e.net.silent[to]
	e.net.calls[v]++
	e.net.mu.Unlock()
	if silent { // a peer that died before the failure detector noticed
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if down || h == nil {
		return nil, fmt.Errorf("%s to %s: %w", v, to, messaging.ErrConnectionLost)
	}
	resp, err := h(ctx, e.self, bytes.Clone(payload))
	if err != nil {
		return nil, &messaging.RemoteError{From: to, Verb: v, Message: err.Error()}
	}
	return resp, nil
}

// testNode is one node of a test cluster.
type testNode struct {
	addr   netip.Addr
	engine *storage.Engine
	stream *streaming.Service
	repair *Service
}

// testCluster is n nodes on one memNet, 4 tokens each, keyspace ks at RF
// 3 with tables t and u.
type testCluster struct {
	net    *memNet
	tm     *ring.TokenMetadata
	sch    *schema.Schema
	nodes  []*testNode
	tables map[string]storage.TableID
}

func newTestCluster(t *testing.T, n int, opts func(*Options)) *testCluster {
	t.Helper()
	c := &testCluster{net: newMemNet(), tm: ring.NewTokenMetadata(), sch: testSchema(3, "t", "u"), tables: map[string]storage.TableID{}}
	for name, tb := range c.sch.Keyspace("ks").Tables {
		c.tables[name] = storage.TableID(tb.ID)
	}
	const perNode = 4
	step := math.MaxUint64 / uint64(n*perNode)
	for i := 1; i <= n; i++ {
		var toks []ring.Token
		for k := range perNode {
			toks = append(toks, ring.Token(minTokBits+uint64(k*n+i)*step))
		}
		var err error
		if c.tm, err = c.tm.WithEndpoint(addr(i), toks, "dc1", "r1"); err != nil {
			t.Fatal(err)
		}
	}
	member := func(a netip.Addr) bool { return c.tm.IsMember(a) }
	quiet := slog.New(slog.DiscardHandler)
	for i := 1; i <= n; i++ {
		nd := &testNode{addr: addr(i)}
		e, err := storage.Open(t.TempDir(), storage.Options{CacheSize: 8 << 20})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.Close() })
		nd.engine = e
		tr := endpoint{c.net, nd.addr}
		if nd.stream, err = streaming.New(streaming.Options{Engine: e, Transport: tr, Admitted: member,
			ChunkBytes: 4096, ThroughputMiB: -1, RetryBackoff: time.Millisecond, Logger: quiet}); err != nil {
			t.Fatal(err)
		}
		o := Options{Self: nd.addr, Engine: e, Transport: tr, Streamer: nd.stream,
			Ring: func() *ring.TokenMetadata { return c.tm }, Schema: func() *schema.Schema { return c.sch },
			IsAlive: c.net.alive, Admitted: member, Depth: 8, ScanBatch: 16, Logger: quiet}
		if opts != nil {
			opts(&o)
		}
		if nd.repair, err = New(o); err != nil {
			t.Fatal(err)
		}
		c.nodes = append(c.nodes, nd)
	}
	return c
}

// write applies muts on the given nodes (1-based).
func (c *testCluster) write(t *testing.T, muts []*storage.Mutation, nodes ...int) {
	t.Helper()
	for _, i := range nodes {
		// Each engine gets its own copy: Apply may keep the slices.
		var cp []*storage.Mutation
		for _, m := range muts {
			x := *m
			cp = append(cp, &x)
		}
		if err := c.nodes[i-1].engine.Apply(cp); err != nil {
			t.Fatal(err)
		}
	}
}

// row returns a write of one row with value v at timestamp ts in
// partition key of table tbl.
func row(tbl storage.TableID, key string, ts int64, v string) *storage.Mutation {
	k := []byte(key)
	return &storage.Mutation{Table: tbl, Token: ring.Murmur3Token(k), Key: k,
		Rows: []storage.RowUpdate{{Liveness: storage.LivenessInfo{Timestamp: ts},
			Cells: []storage.Cell{{Column: 1, Timestamp: ts, Value: []byte(v)}}}}}
}

// deletion deletes partition key of tbl at timestamp ts.
func deletion(tbl storage.TableID, key string, ts int64) *storage.Mutation {
	k := []byte(key)
	return &storage.Mutation{Table: tbl, Token: ring.Murmur3Token(k), Key: k,
		PartitionDeletion: storage.DeletionTime{MarkedForDeleteAt: ts, LocalDeletionTime: time.Now().Unix()}}
}

func rows(tbl storage.TableID, prefix string, from, to int, ts int64) []*storage.Mutation {
	var out []*storage.Mutation
	for i := from; i < to; i++ {
		out = append(out, row(tbl, fmt.Sprintf("%s%d", prefix, i), ts, fmt.Sprintf("v%d", i)))
	}
	return out
}

// liveRows returns the live rows of a partition on a node.
func (c *testCluster) liveRows(t *testing.T, node int, tbl storage.TableID, key string) int {
	t.Helper()
	k := []byte(key)
	m, err := c.nodes[node-1].engine.ReadPartitionRaw(tbl, ring.Murmur3Token(k), k)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	if err := storage.ReadMutation(m, storage.PartitionQuery{}, time.Now(), func(*storage.Row) bool { n++; return true }); err != nil {
		t.Fatal(err)
	}
	return n
}

// sameEverywhere fails unless every node holds the same raw partition for
// every key.
func (c *testCluster) sameEverywhere(t *testing.T, tbl storage.TableID, keys []string) {
	t.Helper()
	for _, key := range keys {
		k := []byte(key)
		var first []byte
		for i, nd := range c.nodes {
			m, err := nd.engine.ReadPartitionRaw(tbl, ring.Murmur3Token(k), k)
			if err != nil {
				t.Fatal(err)
			}
			d := storage.Digest(m)
			if i == 0 {
				first = d
			} else if !bytes.Equal(d, first) {
				t.Fatalf("partition %q differs between %s and %s", key, c.nodes[0].addr, nd.addr)
			}
		}
	}
}

func keysOf(prefix string, from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("%s%d", prefix, i))
	}
	return out
}

// TestRepairConverges: node 3 missed writes and deletions, node 2 alone
// took some writes, node 1 has a newer version of some rows; after a
// repair run on node 1 every node holds the same data, deleted rows stay
// deleted, and a second repair finds nothing to stream.
func TestRepairConverges(t *testing.T) {
	c := newTestCluster(t, 3, nil)
	tt, tu := c.tables["t"], c.tables["u"]
	c.write(t, rows(tt, "k", 0, 300, 10), 1, 2, 3)
	c.write(t, rows(tu, "k", 0, 50, 10), 1, 2, 3)
	c.write(t, rows(tt, "new", 0, 400, 20), 1, 2) // node 3 was down
	var dels []*storage.Mutation
	for i := 0; i < 300; i += 10 {
		dels = append(dels, deletion(tt, fmt.Sprintf("k%d", i), 30))
	}
	c.write(t, dels, 1, 2)                       // node 3 missed the deletions
	c.write(t, rows(tt, "only2-", 0, 20, 40), 2) // written at ONE to node 2
	c.write(t, rows(tt, "k", 1, 2, 50), 1)       // a newer version of k1 on node 1

	var lines []string
	sum, err := c.nodes[0].repair.Repair(context.Background(), Command{Keyspace: "ks"}, func(l string) { lines = append(lines, l) })
	if err != nil {
		t.Fatalf("repair: %v\n%s", err, strings.Join(lines, "\n"))
	}
	if sum.Failed != 0 || sum.Ranges != 12 || sum.Jobs != 24 || sum.Differing == 0 || sum.SubRanges == 0 {
		t.Fatalf("summary %+v", sum)
	}
	if !strings.HasPrefix(lines[0], "Starting repair command #1, repairing keyspace ks") ||
		!strings.Contains(lines[len(lines)-1], "Repair command #1 finished") {
		t.Fatalf("progress:\n%s", strings.Join(lines, "\n"))
	}
	if got := c.net.count(messaging.VerbRepairValidate); got != 2*24 {
		t.Fatalf("%d remote validations, want 2 per job (48)", got)
	}
	all := append(append(keysOf("k", 0, 300), keysOf("new", 0, 400)...), keysOf("only2-", 0, 20)...)
	c.sameEverywhere(t, tt, all)
	c.sameEverywhere(t, tu, keysOf("k", 0, 50))
	for node := 1; node <= 3; node++ {
		for i := 0; i < 300; i++ {
			want := 1
			if i%10 == 0 {
				want = 0 // deleted: the tombstone reached node 3, nothing came back
			}
			if got := c.liveRows(t, node, tt, fmt.Sprintf("k%d", i)); got != want {
				t.Fatalf("node %d: k%d has %d live rows, want %d", node, i, got, want)
			}
		}
	}
	c.net.count(messaging.VerbStreamPull)
	c.net.count(messaging.VerbStreamRequest)

	lines = nil
	sum, err = c.nodes[1].repair.Repair(context.Background(), Command{Keyspace: "ks", Tables: []string{"t"}}, func(l string) { lines = append(lines, l) })
	if err != nil || sum.Differing != 0 || sum.Jobs != 12 {
		t.Fatalf("second repair: %+v, %v\n%s", sum, err, strings.Join(lines, "\n"))
	}
	if p, r := c.net.count(messaging.VerbStreamPull), c.net.count(messaging.VerbStreamRequest); p != 0 || r != 0 {
		t.Fatalf("second repair streamed: %d pulls, %d requests", p, r)
	}
	if !strings.Contains(lines[1], "3 replicas in sync") {
		t.Fatalf("progress:\n%s", strings.Join(lines, "\n"))
	}
}

// TestRepairPrimaryRangeOnEveryNode: -pr on each node repairs every range
// once, and the data converges.
func TestRepairPrimaryRangeOnEveryNode(t *testing.T) {
	c := newTestCluster(t, 3, nil)
	tt := c.tables["t"]
	c.write(t, rows(tt, "a", 0, 100, 10), 1)
	c.write(t, rows(tt, "b", 0, 100, 10), 2)
	c.write(t, rows(tt, "c", 0, 100, 10), 3)
	ranges := 0
	for _, nd := range c.nodes {
		sum, err := nd.repair.Repair(context.Background(), Command{PrimaryRange: true}, func(string) {})
		if err != nil {
			t.Fatal(err)
		}
		ranges += sum.Ranges
	}
	if ranges != len(c.tm.AllRanges()) {
		t.Fatalf("-pr on every node repaired %d ranges, the ring has %d", ranges, len(c.tm.AllRanges()))
	}
	c.sameEverywhere(t, tt, append(append(keysOf("a", 0, 100), keysOf("b", 0, 100)...), keysOf("c", 0, 100)...))
}

func TestRepairReplicaDown(t *testing.T) {
	c := newTestCluster(t, 3, nil)
	c.write(t, rows(c.tables["t"], "k", 0, 50, 10), 1, 2)
	c.net.setDown(addr(3), true)
	var lines []string
	sum, err := c.nodes[0].repair.Repair(context.Background(), Command{Keyspace: "ks"}, func(l string) { lines = append(lines, l) })
	if err == nil || !strings.Contains(err.Error(), "repair: replica 127.0.0.3 is down") {
		t.Fatalf("repair with a replica down: %v", err)
	}
	if sum.Failed != sum.Jobs || sum.Jobs != 24 {
		t.Fatalf("summary %+v", sum)
	}
	if c.net.count(messaging.VerbRepairValidate) != 0 || c.net.count(messaging.VerbStreamRequest) != 0 {
		t.Fatal("a range with a replica down was compared or streamed")
	}
	if !strings.Contains(lines[1], "failed: repair: replica 127.0.0.3 is down") {
		t.Fatalf("progress:\n%s", strings.Join(lines, "\n"))
	}
}

// A replica that dies during a repair, before the failure detector marks
// it down, does not hang the repair until it comes back (an outside
// tester waited 10 minutes): once it is marked down, its jobs fail naming
// it.
func TestRepairReplicaDiesDuring(t *testing.T) {
	c := newTestCluster(t, 3, nil)
	c.write(t, rows(c.tables["t"], "k", 0, 50, 10), 1, 2)
	c.net.mu.Lock()
	c.net.silent[addr(3)] = true
	c.net.mu.Unlock()
	done := make(chan error, 1)
	go func() {
		_, err := c.nodes[0].repair.Repair(context.Background(), Command{Keyspace: "ks"}, func(string) {})
		done <- err
	}()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		c.net.mu.Lock()
		n := c.net.calls[messaging.VerbRepairValidate]
		c.net.mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no validation request")
		}
	}
	c.net.setDown(addr(3), true) // the failure detector notices
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "127.0.0.3") {
			t.Fatalf("repair: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the repair still waits for a replica marked down")
	}
}

// TestRepairRefusesBadTrees: a tree of another range than asked for fails
// the job.
func TestRepairRefusesBadTrees(t *testing.T) {
	c := newTestCluster(t, 3, nil)
	endpoint{c.net, addr(2)}.Handle(messaging.VerbRepairValidate, func(context.Context, netip.Addr, []byte) ([]byte, error) {
		return mustTree(t, rng(1, 2), 8).AppendBinary(nil), nil
	})
	_, err := c.nodes[0].repair.Repair(context.Background(), Command{Keyspace: "ks", Tables: []string{"t"}}, func(string) {})
	if err == nil || !strings.Contains(err.Error(), "tree of 127.0.0.2 covers (1,2]") {
		t.Fatalf("repair with a bad tree: %v", err)
	}
	endpoint{c.net, addr(2)}.Handle(messaging.VerbRepairValidate, func(context.Context, netip.Addr, []byte) ([]byte, error) {
		return []byte{WireVersion, 1, 2}, nil
	})
	_, err = c.nodes[0].repair.Repair(context.Background(), Command{Keyspace: "ks", Tables: []string{"t"}}, func(string) {})
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("repair with a truncated tree: %v", err)
	}
}

func TestRepairCancelled(t *testing.T) {
	c := newTestCluster(t, 3, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.nodes[0].repair.Repair(ctx, Command{}, func(string) {}); err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("cancelled repair: %v", err)
	}
}

func TestServeValidateRefusals(t *testing.T) {
	c := newTestCluster(t, 3, nil)
	req := ValidateRequest{Table: c.tables["t"], Range: rng(0, 0), Depth: 4}.AppendBinary(nil)
	stranger := endpoint{c.net, netip.MustParseAddr("10.9.9.9")}
	if _, err := stranger.Request(context.Background(), addr(1), messaging.VerbRepairValidate, req); err == nil || !strings.Contains(err.Error(), "not a member") {
		t.Fatalf("validation for a non-member: %v", err)
	}
	peer := endpoint{c.net, addr(2)}
	unknown := ValidateRequest{Table: storage.TableID{0x77}, Range: rng(0, 0), Depth: 4}.AppendBinary(nil)
	if _, err := peer.Request(context.Background(), addr(1), messaging.VerbRepairValidate, unknown); err == nil || !strings.Contains(err.Error(), "not in this node's schema") {
		t.Fatalf("validation of an unknown table: %v", err)
	}
	if _, err := peer.Request(context.Background(), addr(1), messaging.VerbRepairValidate, req[:5]); err == nil || !strings.Contains(err.Error(), "malformed") {
		t.Fatalf("malformed request: %v", err)
	}
	resp, err := peer.Request(context.Background(), addr(1), messaging.VerbRepairValidate, req)
	if err != nil {
		t.Fatal(err)
	}
	if tr, err := DecodeTree(resp); err != nil || tr.Depth() != 4 || tr.Range() != rng(0, 0) {
		t.Fatalf("answer: %v, %v", tr, err)
	}
}

// TestValidateScanBatchesAndFolds: the tree does not depend on the scan's
// batch size; partitions sharing a token fold into one entry whose digest
// covers each of them.
func TestValidateScanBatchesAndFolds(t *testing.T) {
	c := newTestCluster(t, 1, nil)
	tt := c.tables["t"]
	muts := rows(tt, "k", 0, 200, 10)
	for i := range 3 { // three keys at one token, as a collision
		m := row(tt, fmt.Sprintf("collide%d", i), 10, "x")
		m.Token = 42
		muts = append(muts, m)
	}
	c.write(t, muts, 1)
	s := c.nodes[0].repair
	whole := rng(minTok, minTok)
	var roots [][HashSize]byte
	for _, batch := range []int{1, 2, 7, 1000} {
		s.o.ScanBatch = batch
		tr, err := s.Validate(context.Background(), tt, whole, 10)
		if err != nil {
			t.Fatal(err)
		}
		if tr.Count() != 201 {
			t.Fatalf("batch %d: %d tokens, want 201 (200 + one folded)", batch, tr.Count())
		}
		roots = append(roots, tr.Root())
	}
	for _, r := range roots[1:] {
		if r != roots[0] {
			t.Fatal("the tree depends on the scan's batch size")
		}
	}
	// Changing one of the colliding partitions changes the tree.
	m := row(tt, "collide1", 20, "y")
	m.Token = 42
	c.write(t, []*storage.Mutation{m}, 1)
	tr, err := s.Validate(context.Background(), tt, whole, 10)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Root() == roots[0] {
		t.Fatal("a change to a folded partition left the tree unchanged")
	}
	// A wrapping range sees the tokens on both sides of the ring's end.
	tr, err = s.Validate(context.Background(), tt, rng(0, -1), 6)
	if err != nil || tr.Count() != 201 {
		t.Fatalf("wrapping range almost the whole ring: %v tokens, %v", tr.Count(), err)
	}
}

// TestValidationSlots: at most MaxValidations run at once; a validation
// waiting for a slot gives up with its context.
func TestValidationSlots(t *testing.T) {
	c := newTestCluster(t, 1, func(o *Options) { o.MaxValidations = 1 })
	s := c.nodes[0].repair
	s.validations <- struct{}{} // a validation in progress
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.Validate(ctx, c.tables["t"], rng(0, 0), 4); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("validation without a free slot: %v", err)
	}
	<-s.validations
	if _, err := s.Validate(context.Background(), c.tables["t"], rng(0, 0), 4); err != nil {
		t.Fatalf("validation with a free slot: %v", err)
	}
}

func TestOptionsValidation(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Fatal("New without the required options succeeded")
	}
	c := newTestCluster(t, 1, nil)
	o := c.nodes[0].repair.o
	o.Depth = MaxWireDepth + 1
	if _, err := New(o); err == nil || !strings.Contains(err.Error(), "Depth") {
		t.Fatalf("depth above the wire bound: %v", err)
	}
}
