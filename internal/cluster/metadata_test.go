package cluster

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ringdb/ringdb/internal/gossip"
	"github.com/ringdb/ringdb/internal/messaging"
	"github.com/ringdb/ringdb/internal/schema"
	"github.com/ringdb/ringdb/internal/storage"
)

// trio is members 1, 2 and 3 on fakeGossips, started, each seeing the
// other two NORMAL and up with its own schema version.
func trio(t *testing.T, opts ...func(i int) []func(*Options)) (*harness, []*node) {
	h := newHarness(t)
	var nodes []*node
	for i := 1; i <= 3; i++ {
		o := []func(*Options){withTokens(tokensOf(i))}
		for _, f := range opts {
			o = append(o, f(i)...)
		}
		nodes = append(nodes, h.add(i, true, o...))
	}
	for _, n := range nodes {
		for j, p := range nodes {
			if p != n {
				n.g.put(p.addr, peerState(j+1, true, "", p.schemaVersion()))
			}
		}
		n.start(t)
	}
	return h, nodes
}

// A schema change on one member reaches the others by push: they merge
// it, tell their clients and gossip the new version.
func TestSchemaChangeReachesPeers(t *testing.T) {
	_, ns := trio(t)
	a := ns[0]
	a.createTable(t, "ks", "t")
	a.c.LocalSchemaChanged()
	if got := a.g.local(gossip.AppSchema); got != a.schemaVersion() {
		t.Fatalf("gossiped %s, schema is %s", got, a.schemaVersion())
	}
	for _, n := range ns[1:] {
		waitFor(t, 10*time.Second, n.addr.String()+" to merge the schema", func() bool { return n.g.local(gossip.AppSchema) == a.schemaVersion() })
		if !n.hasTable("ks", "t") {
			t.Fatalf("%s lacks ks.t", n.addr)
		}
		var got []string
		for _, ch := range n.rec.schemaChanges() {
			got = append(got, ch.Target+" "+ch.Keyspace+"."+ch.Name)
		}
		if !slices.Contains(got, "KEYSPACE ks.") || !slices.Contains(got, "TABLE ks.t") {
			t.Fatalf("%s told its clients %q", n.addr, got)
		}
	}
}

// A member that missed a push pulls the schema when gossip shows a peer
// with another version.
func TestSchemaPulledOnVersionMismatch(t *testing.T) {
	h, ns := trio(t)
	a, b := ns[0], ns[1]
	a.createTable(t, "ks", "t") // no LocalSchemaChanged: nobody is pushed to
	b.g.set(a.addr, gossip.AppSchema, a.schemaVersion())
	b.g.emit(gossip.Event{Kind: gossip.EventStateChanged, Endpoint: a.addr, Key: gossip.AppSchema, Value: a.schemaVersion()})
	waitFor(t, 10*time.Second, "the pull and merge", func() bool { return b.g.local(gossip.AppSchema) == a.schemaVersion() })
	if !b.hasTable("ks", "t") {
		t.Fatal("b lacks ks.t")
	}
	if n := h.net.pushes.Load(); n != 0 {
		t.Fatalf("%d pushes", n)
	}
}

// One schema pull per peer at a time; a pull that gets no answer ends
// after pullTimeout on the member's clock, and the next mismatch pulls
// again. Stop ends a pull in flight.
func TestSchemaPullOnePerPeerAndTimeout(t *testing.T) {
	h, ns := trio(t)
	a, b := ns[0], ns[1]
	h.net.hold(messaging.VerbSchemaPull, true)
	mismatch := func() {
		b.g.emit(gossip.Event{Kind: gossip.EventStateChanged, Endpoint: a.addr, Key: gossip.AppSchema, Value: "other"})
	}
	mismatch()
	waitFor(t, 10*time.Second, "a held pull", func() bool { return h.net.heldNow.Load() == 1 })
	// Another pull of the same peer returns at once.
	b.c.pullSchema(a.addr)
	b.c.pullSchema(a.addr)
	if n := h.net.heldTotal.Load(); n != 1 {
		t.Fatalf("%d pulls entered for one peer", n)
	}
	h.clk.Advance(pullTimeout - time.Millisecond)
	if h.net.heldNow.Load() != 1 {
		t.Fatal("pull ended before its timeout")
	}
	h.clk.Advance(time.Millisecond)
	waitFor(t, 10*time.Second, "the pull to time out", func() bool { return h.net.heldNow.Load() == 0 })
	waitFor(t, 10*time.Second, "the claim to be released", func() bool {
		b.c.mu.Lock()
		defer b.c.mu.Unlock()
		return !b.c.pulling[a.addr]
	})
	mismatch()
	waitFor(t, 10*time.Second, "a second pull", func() bool { return h.net.heldTotal.Load() == 2 })
	b.c.Stop() // must not wait for the clock
	if h.net.heldNow.Load() != 0 {
		t.Fatal("pull still in flight after Stop")
	}
	mismatch() // after Stop: nothing starts
	if n := h.net.heldTotal.Load(); n != 2 {
		t.Fatalf("pull started after Stop (%d)", n)
	}
}

// Roles: a local change is gossiped and pushed; a peer without role sync
// refuses to be pulled from.
func TestRolesSync(t *testing.T) {
	h, ns := trio(t, func(i int) []func(*Options) {
		if i == 3 {
			return nil
		}
		return []func(*Options){withRoles(newFakeRoles())}
	})
	a, b, c := ns[0], ns[1], ns[2]
	ra, rb := a.c.o.Roles.(*fakeRoles), b.c.o.Roles.(*fakeRoles)
	ra.add("carol")
	a.c.LocalRolesChanged()
	if got := a.g.local(gossip.AppAuthVersion); got != "roles:carol" {
		t.Fatalf("a gossips roles version %q", got)
	}
	waitFor(t, 10*time.Second, "b to merge the roles", func() bool { return rb.has("carol") })
	waitFor(t, 10*time.Second, "b to gossip the new version", func() bool { return b.g.local(gossip.AppAuthVersion) == "roles:carol" })
	c.c.LocalRolesChanged() // no role sync: nothing happens
	if _, err := h.net.endpoint(a.addr).Request(context.Background(), c.addr, messaging.VerbSchemaPull, []byte{syncRoles}); err == nil ||
		!strings.Contains(err.Error(), "no roles") {
		t.Fatalf("roles pull from a node without roles: %v", err)
	}
	// A pull from it fails quietly.
	before := b.g.local(gossip.AppAuthVersion)
	b.c.pullRoles(c.addr)
	if b.g.local(gossip.AppAuthVersion) != before {
		t.Fatal("failed pull changed the roles version")
	}
	// A push that does not decode changes nothing.
	b.c.mergeRoles(a.addr, "push", []byte("{not json"))
	if b.g.local(gossip.AppAuthVersion) != before {
		t.Fatal("bad roles merged")
	}
}

// The metadata handlers answer a schema pull with the schema and refuse
// pushes they cannot read; a bad schema is not merged.
func TestMetadataHandlers(t *testing.T) {
	h, ns := trio(t)
	a, b := ns[0], ns[1]
	a.createTable(t, "ks", "t")
	m := h.net.endpoint(b.addr)
	data, err := m.Request(context.Background(), a.addr, messaging.VerbSchemaPull, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := a.sm.Export(); string(data) != string(want) {
		t.Fatal("schema pull did not answer the schema")
	}
	for _, tc := range []struct {
		payload []byte
		err     string
	}{
		{nil, "empty metadata push"},
		{[]byte{'X', 1}, "unknown metadata kind 'X'"},
	} {
		if _, err := m.Request(context.Background(), a.addr, messaging.VerbSchemaPush, tc.payload); err == nil || err.Error() != tc.err {
			t.Errorf("push %q: %v, want %s", tc.payload, err, tc.err)
		}
	}
	before := b.schemaVersion()
	if _, err := h.net.endpoint(a.addr).Request(context.Background(), b.addr, messaging.VerbSchemaPush, []byte("S{garbage")); err != nil {
		t.Fatalf("a bad schema push is logged, not refused: %v", err)
	}
	if b.schemaVersion() != before || b.g.local(gossip.AppSchema) != before {
		t.Fatal("bad schema merged")
	}
	// A good push through the handler.
	push, _ := a.sm.Export()
	if _, err := h.net.endpoint(a.addr).Request(context.Background(), b.addr, messaging.VerbSchemaPush, append([]byte{syncSchema}, push...)); err != nil {
		t.Fatal(err)
	}
	if !b.hasTable("ks", "t") {
		t.Fatal("push not merged")
	}
}

// Pushes go to live peers only.
func TestPushGoesToLivePeersOnly(t *testing.T) {
	h, ns := trio(t)
	a := ns[0]
	a.g.setAlive(ns[2].addr, false)
	a.createTable(t, "ks", "t")
	a.c.LocalSchemaChanged()
	waitFor(t, 10*time.Second, "the push to 2", func() bool { return ns[1].hasTable("ks", "t") })
	h.net.close() // waits for deliveries in flight
	if n := h.net.pushes.Load(); n != 1 {
		t.Fatalf("%d pushes", n)
	}
	if ns[2].hasTable("ks", "t") {
		t.Fatal("down peer was pushed to")
	}
}

// A table dropped by a merged schema loses its data on this node.
func TestMergedDropRemovesTableData(t *testing.T) {
	_, ns := trio(t)
	a, b := ns[0], ns[1]
	a.createTable(t, "ks", "t")
	a.c.LocalSchemaChanged()
	waitFor(t, 10*time.Second, "b to learn ks.t", func() bool { return b.hasTable("ks", "t") })
	tab := b.sm.Current().Table("ks", "t")
	m := &storage.Mutation{Table: storage.TableID(tab.ID), Token: 1, Key: []byte("k"),
		Rows: []storage.RowUpdate{{Liveness: storage.LivenessInfo{Timestamp: 1},
			Cells: []storage.Cell{{Column: tab.Column("v").ID, Timestamp: 1, Value: []byte("v")}}}}}
	if err := b.eng.Apply([]*storage.Mutation{m}); err != nil {
		t.Fatal(err)
	}
	rows := func() int {
		n := 0
		if err := b.eng.ReadPartition(storage.TableID(tab.ID), 1, []byte("k"), storage.PartitionQuery{}, func(*storage.Row) bool { n++; return true }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if rows() != 1 {
		t.Fatal("row not written")
	}
	if _, _, err := a.sm.DropTable("ks", "t", false); err != nil {
		t.Fatal(err)
	}
	a.c.LocalSchemaChanged()
	// Clients are told after the data is gone.
	waitFor(t, 10*time.Second, "b to tell its clients of the drop", func() bool {
		got := b.rec.schemaChanges()
		return got[len(got)-1] == schema.Change{Type: schema.Dropped, Target: "TABLE", Keyspace: "ks", Name: "t"}
	})
	if b.hasTable("ks", "t") {
		t.Fatal("b still has ks.t")
	}
	if n := rows(); n != 0 {
		t.Fatalf("%d rows left in the dropped table", n)
	}
}
