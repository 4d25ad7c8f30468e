package cluster

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/ringdb/ringdb/internal/gossip"
	"github.com/ringdb/ringdb/internal/messaging"
)

// startedUnit is member 1 started on a fakeGossip with its own tokens.
func startedUnit(t *testing.T, opts ...func(*Options)) (*harness, *node) {
	h := newHarness(t)
	n := h.add(1, true, append([]func(*Options){withTokens(tokensOf(1))}, opts...)...)
	n.start(t)
	return h, n
}

// A peer's life as clients and the audit log see it: NEW_NODE when it
// enters the ring, DOWN and UP (with its gossiped native address), and
// REMOVED_NODE, each audited with its host id where Cassandra would.
func TestMembershipEventsReachClientsAndAudit(t *testing.T) {
	_, n := startedUnit(t)
	p := addr(2)
	n.g.put(p, peerState(2, true, "", n.schemaVersion()))
	n.g.emit(gossip.Event{Kind: gossip.EventStateChanged, Endpoint: p, Key: gossip.AppStatus})
	n.g.emit(gossip.Event{Kind: gossip.EventStateChanged, Endpoint: p, Key: gossip.AppTokens}) // no second NEW_NODE
	n.g.setAlive(p, false)
	n.g.emit(gossip.Event{Kind: gossip.EventDead, Endpoint: p})
	n.g.setAlive(p, true)
	n.g.emit(gossip.Event{Kind: gossip.EventAlive, Endpoint: p})
	n.g.put(p, peerState(2, false, gossip.LeftStatus(tokensOf(2)[0], 1), ""))
	n.g.emit(gossip.Event{Kind: gossip.EventRemoved, Endpoint: p})
	n.g.emit(gossip.Event{Kind: gossip.EventClusterMismatch, Endpoint: addr(9), Value: "elsewhere"})
	n.g.emit(gossip.Event{Kind: gossip.EventRejected, Endpoint: addr(9), Reason: "generation skew"})

	native := "127.0.0.2:9142"
	want := []string{"NEW_NODE " + native, "DOWN " + native, "UP " + native, "REMOVED_NODE " + native}
	if got := n.rec.clientEvents(); !slices.Equal(got, want) {
		t.Fatalf("client events %q, want %q", got, want)
	}
	if got := n.rec.upNotices(); !slices.Equal(got, []netip.Addr{p}) {
		t.Fatalf("OnUp told %v", got)
	}
	id := formatUUID(hostID(2))
	wantAudit := []string{
		"join 127.0.0.1 " + formatUUID(hostID(1)) + " local node started NORMAL",
		"join 127.0.0.2 " + id + " NORMAL",
		"status 127.0.0.2 " + id + " DOWN",
		"remove 127.0.0.2 " + id + " removed from gossip",
		"refused 127.0.0.9  cluster name mismatch: elsewhere",
		"refused 127.0.0.9  gossip state rejected: generation skew",
	}
	if got := n.auditRecords(t); !slices.Equal(got, wantAudit) {
		t.Fatalf("audit\n got %q\nwant %q", got, wantAudit)
	}
	if n.c.Ring().IsMember(p) {
		t.Fatal("LEFT peer still in the ring after removal")
	}
}

// A client event about a peer gossip knows nothing about goes to its
// address at this node's native port.
func TestClientEventFallsBackToLocalNativePort(t *testing.T) {
	_, n := startedUnit(t)
	n.g.emit(gossip.Event{Kind: gossip.EventDead, Endpoint: addr(7)})
	if got := n.rec.clientEvents(); !slices.Equal(got, []string{"DOWN 127.0.0.7:9042"}) {
		t.Fatalf("client events %q", got)
	}
}

// DownSince: up peers are not down; a peer marked down is down since the
// first time it was marked (on the member's clock) until it comes back;
// a peer never seen down but not up has been down since the start.
func TestDownSince(t *testing.T) {
	h, n := startedUnit(t)
	p := addr(2)
	if _, down := n.c.DownSince(n.addr); down {
		t.Fatal("self is down")
	}
	if since, down := n.c.DownSince(addr(8)); !down || !since.Equal(t0) {
		t.Fatalf("unknown peer: %v %v, want down since the start", since, down)
	}
	n.g.put(p, peerState(2, true, "", ""))
	if _, down := n.c.DownSince(p); down {
		t.Fatal("live peer is down")
	}
	h.clk.Advance(time.Minute)
	n.g.setAlive(p, false)
	n.g.emit(gossip.Event{Kind: gossip.EventDead, Endpoint: p})
	h.clk.Advance(time.Minute)
	n.g.emit(gossip.Event{Kind: gossip.EventDead, Endpoint: p}) // again: the first time stays
	if since, down := n.c.DownSince(p); !down || !since.Equal(t0.Add(time.Minute)) {
		t.Fatalf("DownSince = %v %v, want %v", since, down, t0.Add(time.Minute))
	}
	n.g.setAlive(p, true)
	n.g.emit(gossip.Event{Kind: gossip.EventAlive, Endpoint: p})
	if _, down := n.c.DownSince(p); down {
		t.Fatal("peer still down after it came up")
	}
	h.clk.Advance(time.Minute)
	n.g.setAlive(p, false)
	n.g.emit(gossip.Event{Kind: gossip.EventDead, Endpoint: p})
	if since, _ := n.c.DownSince(p); !since.Equal(t0.Add(3 * time.Minute)) {
		t.Fatalf("second outage since %v", since)
	}
}

// An event about a peer whose versions differ makes the member pull
// them (Alive: schema and roles; state change: the changed one).
func TestEventsTriggerPulls(t *testing.T) {
	h := newHarness(t)
	a := h.add(1, true, withTokens(tokensOf(1)), withRoles(newFakeRoles("alice")))
	b := h.add(2, true, withTokens(tokensOf(2)), withRoles(newFakeRoles("bob")))
	a.start(t)
	b.start(t)
	b.createTable(t, "ks", "t")
	b.g.put(a.addr, peerState(1, true, "", "")) // b answers pulls of a ring member only
	b.c.rebuildRing()
	a.g.put(b.addr, peerState(2, true, "", b.schemaVersion()))
	a.g.set(b.addr, gossip.AppAuthVersion, "roles:bob")
	a.g.emit(gossip.Event{Kind: gossip.EventAlive, Endpoint: b.addr})
	// The merges end by gossiping the new versions.
	waitFor(t, 10*time.Second, "schema and roles pulled on UP", func() bool {
		return a.g.local(gossip.AppSchema) == b.schemaVersion() && a.g.local(gossip.AppAuthVersion) == "roles:alice,bob"
	})
	if !a.hasTable("ks", "t") {
		t.Fatal("a lacks ks.t")
	}
	pulls := h.net.requestCount(messaging.VerbSchemaPull)
	// Same versions again: nothing to pull.
	a.g.emit(gossip.Event{Kind: gossip.EventStateChanged, Endpoint: b.addr, Key: gossip.AppSchema, Value: b.schemaVersion()})
	b.createTable(t, "ks", "t2")
	a.g.emit(gossip.Event{Kind: gossip.EventStateChanged, Endpoint: b.addr, Key: gossip.AppSchema, Value: b.schemaVersion()})
	waitFor(t, 10*time.Second, "schema pulled on a SCHEMA change", func() bool { return a.hasTable("ks", "t2") })
	if got := h.net.requestCount(messaging.VerbSchemaPull) - pulls; got != 1 {
		t.Fatalf("%d pulls for one new version", got)
	}
}
