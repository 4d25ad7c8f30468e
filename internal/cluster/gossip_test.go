package cluster

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/ringdb/ringdb/internal/messaging"
)

// step is how far the fake clock moves per step on real gossip: a tenth
// of the one-second gossip round.
const step = 100 * time.Millisecond

// Three members on real gossip over the in-memory net, all on one fake
// clock: they join one after the other through seed 1 and agree on the
// ring; clients hear of the new nodes; a schema change reaches the others
// by push, and, with pushes lost, through the gossiped version and a pull;
// a member that stops is DOWN for the others.
func TestThreeMembersOverGossip(t *testing.T) {
	h := newHarness(t)
	var ns []*node
	for i := 1; i <= 3; i++ {
		n := h.add(i, false, withSeeds(addr(1)))
		h.startDriven(n)
		ns = append(ns, n)
	}
	all := []netip.Addr{addr(1), addr(2), addr(3)}
	drive(t, h.clk, step, 60*time.Second, "the rings to agree and everyone to be up", func() bool {
		for _, n := range ns {
			tm := n.c.Ring()
			if !slices.Equal(tm.Endpoints(), all) {
				return false
			}
			for _, m := range ns {
				if !slices.Equal(tm.Tokens(m.addr), m.c.tokens) || !n.c.IsAlive(m.addr) {
					return false
				}
			}
		}
		return true
	})
	one := ns[0]
	if got := one.c.Peers(); len(got) != 2 || got[0].Address != addr(2) || got[1].Address != addr(3) ||
		got[0].HostID != hostID(2) || got[1].NativePort != 9042 {
		t.Fatalf("peers of 1: %+v", got)
	}
	// The ring is published before clients are told.
	waitFor(t, 10*time.Second, "1 to tell its clients of 2 and 3", func() bool {
		return one.rec.hasClientEvent("NEW_NODE 127.0.0.2:9042") && one.rec.hasClientEvent("NEW_NODE 127.0.0.3:9042")
	})
	if ep, ok := one.c.EndpointOf(hostID(3)); !ok || ep != addr(3) {
		t.Fatalf("EndpointOf(host 3) = %s %v", ep, ok)
	}

	three := ns[2]
	three.createTable(t, "ks", "pushed")
	three.c.LocalSchemaChanged()
	drive(t, h.clk, step, 60*time.Second, "the pushed table everywhere", func() bool {
		return one.hasTable("ks", "pushed") && ns[1].hasTable("ks", "pushed")
	})

	h.net.drop(messaging.VerbSchemaPush, true)
	one.createTable(t, "ks", "pulled")
	one.c.LocalSchemaChanged()
	drive(t, h.clk, step, 60*time.Second, "the pulled table everywhere", func() bool {
		return ns[1].hasTable("ks", "pulled") && three.hasTable("ks", "pulled")
	})
	for _, n := range ns {
		if n.schemaVersion() != one.schemaVersion() {
			t.Fatalf("%s schema %s, want %s", n.addr, n.schemaVersion(), one.schemaVersion())
		}
	}

	two := ns[1]
	two.c.Stop()
	h.net.setDown(two.addr, true)
	stopped := h.clk.Now()
	drive(t, h.clk, step, 60*time.Second, "1 to tell its clients 2 is down", func() bool {
		return one.rec.hasClientEvent("DOWN 127.0.0.2:9042")
	})
	if since, down := one.c.DownSince(two.addr); !down || since.Before(stopped) {
		t.Fatalf("DownSince(2) = %v %v, stopped at %v", since, down, stopped)
	}
	if !one.c.Ring().IsMember(two.addr) {
		t.Fatal("a member that shut down left the ring")
	}
	if got := one.c.Describe().SchemaVersions[unreachable]; !slices.Equal(got, []string{"127.0.0.2"}) {
		t.Fatalf("unreachable %v", got)
	}
	if got := one.c.GossipInfo(); len(got) != 3 {
		t.Fatalf("gossipinfo lists %d endpoints", len(got))
	}
}
