package cluster

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ringdb/ringdb/internal/gossip"
)

// Peers whose STATUS says they are out of service are not waited for.
func TestNotServing(t *testing.T) {
	for _, tc := range []struct {
		status string
		want   bool
	}{
		{"", false},
		{"garbage", false},
		{gossip.NormalStatus(1), false},
		{gossip.BootStatus(1), false},
		{gossip.LeavingStatus(1), false},
		{gossip.ShutdownStatus(), true},
		{gossip.LeftStatus(1, 2), true},
		{gossip.RemovingStatus("x"), true},
		{gossip.RemovedStatus("x", 2), true},
		{"hibernate,true", true},
	} {
		st := endpointState(false, map[gossip.ApplicationState]string{})
		if tc.status != "" {
			st.States[gossip.AppStatus] = gossip.VersionedValue{Value: tc.status}
		}
		if got := notServing(&st); got != tc.want {
			t.Errorf("notServing(%q) = %v", tc.status, got)
		}
	}
}

// The peers WaitSettled waits for: saved and current ring members, not
// self, neither up nor out of service.
func TestUnsettledPeers(t *testing.T) {
	h := newHarness(t)
	n := h.add(1, true, withTokens(tokensOf(1)), func(o *Options) {
		if err := o.Engine.SetMeta(peersMetaKey, []byte("127.0.0.1,127.0.0.5,bogus,127.0.0.6")); err != nil {
			t.Fatal(err)
		}
	})
	n.start(t)
	if got := n.c.savedPeers; !slices.Equal(got, []netip.Addr{addr(1), addr(5), addr(6)}) {
		t.Fatalf("saved peers %v (unparsable ones are skipped)", got)
	}
	n.g.put(addr(2), peerState(2, true, "", ""))                       // up
	n.g.put(addr(3), peerState(3, false, "", ""))                      // down
	n.g.put(addr(4), peerState(4, false, gossip.ShutdownStatus(), "")) // announced its shutdown
	n.g.put(addr(6), peerState(6, false, gossip.LeftStatus(1, 2), "")) // saved, has left since
	n.c.rebuildRing()
	if got := n.c.unsettledPeers(); !slices.Equal(got, []netip.Addr{addr(3), addr(5)}) {
		t.Fatalf("unsettled %v, want 127.0.0.3 and 127.0.0.5", got)
	}
}

// WaitSettled on the member's clock: it waits for a saved peer until
// the settle timeout, returns as soon as gossip marks the peer up, and
// from then on saves the ring members.
func TestWaitSettledOnClock(t *testing.T) {
	h := newHarness(t)
	settle := func(n *node) chan error {
		done := make(chan error, 1)
		go func() { done <- n.c.WaitSettled(context.Background()) }()
		return done
	}
	// A peer saved by the previous run that never comes up.
	n := h.add(1, true, withTokens(tokensOf(1)), func(o *Options) {
		o.SettleTimeout = 4 * time.Second
		if err := o.Engine.SetMeta(peersMetaKey, []byte("127.0.0.2")); err != nil {
			t.Fatal(err)
		}
	})
	n.start(t)
	done := settle(n)
	var err error
	drive(t, h.clk, settlePoll, 10*time.Second, "the settle timeout", func() bool {
		select {
		case err = <-done:
			return true
		default:
			return false
		}
	})
	if took := h.clk.Now().Sub(t0); took < 4*time.Second {
		t.Fatalf("gave up after %s, before the timeout", took)
	}
	if err == nil || !strings.Contains(err.Error(), "127.0.0.2") || !strings.Contains(err.Error(), "deadline exceeded") {
		t.Fatalf("WaitSettled: %v", err)
	}

	// The peer comes up: the wait ends at the next poll.
	m := h.add(3, true, withTokens(tokensOf(3)), func(o *Options) {
		if err := o.Engine.SetMeta(peersMetaKey, []byte("127.0.0.2")); err != nil {
			t.Fatal(err)
		}
	})
	m.start(t)
	done = settle(m)
	h.clk.Advance(settlePoll)
	select {
	case err := <-done:
		t.Fatalf("settled with the peer down: %v", err)
	default:
	}
	m.g.put(addr(2), peerState(2, true, "", ""))
	m.c.rebuildRing()
	drive(t, h.clk, settlePoll, 10*time.Second, "settling", func() bool {
		select {
		case err = <-done:
			return true
		default:
			return false
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	// Saving has started: a ring change is saved.
	m.g.put(addr(4), peerState(4, true, "", ""))
	m.c.rebuildRing()
	if v, _, _ := m.eng.GetMeta(peersMetaKey); string(v) != "127.0.0.2,127.0.0.4" {
		t.Fatalf("saved ring members %q", v)
	}
}
