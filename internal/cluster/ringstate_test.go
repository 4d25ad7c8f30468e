package cluster

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/ringdb/ringdb/internal/gossip"
)

// ringEntry is an endpoint's place in a built ring.
type ringEntry struct {
	pending  bool
	tokens   []int64
	dc, rack string
}

// st is an endpoint state with STATUS, TOKENS, DC and RACK ("" leaves a
// state out).
func st(status, tokens, dc, rack string) gossip.EndpointState {
	kv := map[gossip.ApplicationState]string{}
	for k, v := range map[gossip.ApplicationState]string{gossip.AppStatus: status, gossip.AppTokens: tokens, gossip.AppDC: dc, gossip.AppRack: rack} {
		if v != "" {
			kv[k] = v
		}
	}
	return endpointState(true, kv)
}

func TestBuildRing(t *testing.T) {
	a, b, c := addr(1), addr(2), addr(3)
	normal := gossip.NormalStatus(10)
	for _, tc := range []struct {
		name       string
		states     map[netip.Addr]gossip.EndpointState
		incumbents []netip.Addr
		maxTokens  int
		want       map[netip.Addr]ringEntry
		refused    []netip.Addr
		takeovers  []netip.Addr
	}{
		{name: "no endpoints", states: nil, want: map[netip.Addr]ringEntry{}},
		{name: "NORMAL is a member with its tokens, DC and RACK",
			states: map[netip.Addr]gossip.EndpointState{a: st(normal, "10,20", "dc1", "r1"), b: st(gossip.NormalStatus(30), "30", "dc2", "r9")},
			want:   map[netip.Addr]ringEntry{a: {tokens: []int64{10, 20}, dc: "dc1", rack: "r1"}, b: {tokens: []int64{30}, dc: "dc2", rack: "r9"}}},
		{name: "BOOT is pending",
			states: map[netip.Addr]gossip.EndpointState{a: st(normal, "10", "dc1", "r1"), b: st(gossip.BootStatus(20), "20,40", "dc1", "r2")},
			want:   map[netip.Addr]ringEntry{a: {tokens: []int64{10}, dc: "dc1", rack: "r1"}, b: {pending: true, tokens: []int64{20, 40}, dc: "dc1", rack: "r2"}}},
		{name: "LEAVING is still a member",
			states: map[netip.Addr]gossip.EndpointState{a: st(gossip.LeavingStatus(10), "10", "dc1", "r1")},
			want:   map[netip.Addr]ringEntry{a: {tokens: []int64{10}, dc: "dc1", rack: "r1"}}},
		{name: "shutdown keeps its tokens",
			states: map[netip.Addr]gossip.EndpointState{a: st(gossip.ShutdownStatus(), "10", "dc1", "r1")},
			want:   map[netip.Addr]ringEntry{a: {tokens: []int64{10}, dc: "dc1", rack: "r1"}}},
		{name: "LEFT, removing, removed and hibernate are out",
			states: map[netip.Addr]gossip.EndpointState{
				a:       st(gossip.LeftStatus(10, 99), "10", "dc1", "r1"),
				b:       st(gossip.RemovingStatus("x"), "20", "dc1", "r1"),
				c:       st(gossip.RemovedStatus("x", 99), "30", "dc1", "r1"),
				addr(4): st("hibernate,true", "40", "dc1", "r1"),
			},
			want: map[netip.Addr]ringEntry{}},
		{name: "unknown status kinds are out",
			states: map[netip.Addr]gossip.EndpointState{a: st("MOVING,10", "10", "dc1", "r1")},
			want:   map[netip.Addr]ringEntry{}},
		{name: "no STATUS, malformed STATUS, no TOKENS, malformed TOKENS are out",
			states: map[netip.Addr]gossip.EndpointState{
				a:       st("", "10", "dc1", "r1"),
				b:       st("NORMAL", "20", "dc1", "r1"),
				c:       st(normal, "", "dc1", "r1"),
				addr(4): st(normal, "40,x", "dc1", "r1"),
				addr(5): st(gossip.NormalStatus(50), "50", "dc1", "r1"),
			},
			want: map[netip.Addr]ringEntry{addr(5): {tokens: []int64{50}, dc: "dc1", rack: "r1"}}},
		{name: "no DC or RACK gossiped yet",
			states: map[netip.Addr]gossip.EndpointState{a: st(normal, "10", "", "")},
			want:   map[netip.Addr]ringEntry{a: {tokens: []int64{10}}}},
		{name: "a token claimed twice stays with the lower address",
			states:  map[netip.Addr]gossip.EndpointState{c: st(normal, "10,30", "dc1", "r1"), a: st(normal, "10", "dc1", "r1"), b: st(gossip.NormalStatus(20), "20", "dc1", "r1")},
			want:    map[netip.Addr]ringEntry{a: {tokens: []int64{10}, dc: "dc1", rack: "r1"}, b: {tokens: []int64{20}, dc: "dc1", rack: "r1"}},
			refused: []netip.Addr{c}},
		{name: "a NORMAL endpoint cannot take a pending endpoint's token",
			states:  map[netip.Addr]gossip.EndpointState{a: st(gossip.BootStatus(10), "10", "dc1", "r1"), b: st(normal, "10", "dc1", "r1")},
			want:    map[netip.Addr]ringEntry{a: {pending: true, tokens: []int64{10}, dc: "dc1", rack: "r1"}},
			refused: []netip.Addr{b}},
		{name: "duplicate tokens of one endpoint",
			states:  map[netip.Addr]gossip.EndpointState{a: st(normal, "10,10", "dc1", "r1")},
			want:    map[netip.Addr]ringEntry{},
			refused: []netip.Addr{a}},
		// Issue 13: a new endpoint claiming a member's tokens does not get
		// them, whatever the addresses; the member keeps all of its own.
		{name: "a newcomer with a lower address cannot take a member's token",
			states:     map[netip.Addr]gossip.EndpointState{a: st(normal, "10", "dc1", "r1"), c: st(normal, "10,30", "dc1", "r1")},
			incumbents: []netip.Addr{c},
			want:       map[netip.Addr]ringEntry{c: {tokens: []int64{10, 30}, dc: "dc1", rack: "r1"}},
			refused:    []netip.Addr{a}, takeovers: []netip.Addr{a}},
		{name: "nor can a newcomer claiming a shut-down member's tokens",
			states:     map[netip.Addr]gossip.EndpointState{a: st(normal, "30", "dc1", "r1"), b: st(gossip.ShutdownStatus(), "30", "dc1", "r1")},
			incumbents: []netip.Addr{b},
			want:       map[netip.Addr]ringEntry{b: {tokens: []int64{30}, dc: "dc1", rack: "r1"}},
			refused:    []netip.Addr{a}, takeovers: []netip.Addr{a}},
		{name: "nor a joining member's",
			states:     map[netip.Addr]gossip.EndpointState{a: st(normal, "20", "dc1", "r1"), b: st(gossip.BootStatus(20), "20", "dc1", "r1")},
			incumbents: []netip.Addr{b},
			want:       map[netip.Addr]ringEntry{b: {pending: true, tokens: []int64{20}, dc: "dc1", rack: "r1"}},
			refused:    []netip.Addr{a}, takeovers: []netip.Addr{a}},
		{name: "a newcomer with tokens of its own joins beside the members",
			states:     map[netip.Addr]gossip.EndpointState{a: st(normal, "5", "dc1", "r1"), c: st(normal, "10", "dc1", "r1")},
			incumbents: []netip.Addr{c},
			want:       map[netip.Addr]ringEntry{a: {tokens: []int64{5}, dc: "dc1", rack: "r1"}, c: {tokens: []int64{10}, dc: "dc1", rack: "r1"}}},
		{name: "more tokens than the bound are refused",
			states:    map[netip.Addr]gossip.EndpointState{a: st(normal, "1,2,3", "dc1", "r1"), b: st(gossip.NormalStatus(4), "4,5", "dc1", "r1")},
			maxTokens: 2,
			want:      map[netip.Addr]ringEntry{b: {tokens: []int64{4, 5}, dc: "dc1", rack: "r1"}},
			refused:   []netip.Addr{a}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var incumbent func(netip.Addr) bool
			if tc.incumbents != nil {
				incumbent = func(ep netip.Addr) bool { return slices.Contains(tc.incumbents, ep) }
			}
			tm, refused := buildRing(tc.states, incumbent, tc.maxTokens)
			got := map[netip.Addr]ringEntry{}
			for _, ep := range append(tm.Endpoints(), tm.PendingEndpointList()...) {
				got[ep] = ringEntry{pending: tm.IsPending(ep), tokens: tm.Tokens(ep), dc: tm.DC(ep), rack: tm.Rack(ep)}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("ring %v, want %v", got, tc.want)
			}
			for ep, w := range tc.want {
				g, ok := got[ep]
				if !ok || g.pending != w.pending || !slices.Equal(g.tokens, w.tokens) || g.dc != w.dc || g.rack != w.rack {
					t.Errorf("%s: got %+v (present %v), want %+v", ep, g, ok, w)
				}
			}
			var refusedEps, takeovers []netip.Addr
			for _, r := range refused {
				if r.err == nil {
					t.Errorf("%s refused without a reason", r.ep)
				}
				refusedEps = append(refusedEps, r.ep)
				if r.takeover {
					takeovers = append(takeovers, r.ep)
				}
			}
			if !slices.Equal(refusedEps, tc.refused) || !slices.Equal(takeovers, tc.takeovers) {
				t.Errorf("refused %v (takeovers %v), want %v (%v)", refusedEps, takeovers, tc.refused, tc.takeovers)
			}
		})
	}
}

// A member publishes the ring its gossip states describe, on every
// event that can change it.
func TestRebuildRingOnEvents(t *testing.T) {
	h := newHarness(t)
	n := h.add(1, true, withTokens(tokensOf(1)))
	n.start(t)
	if got := n.c.Ring().Endpoints(); !slices.Equal(got, []netip.Addr{addr(1)}) {
		t.Fatalf("ring after Start: %v", got)
	}
	n.g.put(addr(2), peerState(2, true, gossip.BootStatus(tokensOf(2)[0]), ""))
	n.g.emit(gossip.Event{Kind: gossip.EventStateChanged, Endpoint: addr(2), Key: gossip.AppStatus})
	if tm := n.c.Ring(); !tm.IsPending(addr(2)) || tm.IsMember(addr(2)) {
		t.Fatal("BOOT peer not pending")
	}
	// A state that is not part of the ring does not rebuild it.
	n.g.set(addr(2), gossip.AppStatus, gossip.NormalStatus(tokensOf(2)[0]))
	n.g.emit(gossip.Event{Kind: gossip.EventStateChanged, Endpoint: addr(2), Key: gossip.AppLoad})
	if n.c.Ring().IsMember(addr(2)) {
		t.Fatal("LOAD change rebuilt the ring")
	}
	for _, e := range []gossip.Event{
		{Kind: gossip.EventStateChanged, Endpoint: addr(2), Key: gossip.AppTokens},
		{Kind: gossip.EventStateChanged, Endpoint: addr(2), Key: gossip.AppDC},
		{Kind: gossip.EventStateChanged, Endpoint: addr(2), Key: gossip.AppRack},
		{Kind: gossip.EventAlive, Endpoint: addr(2)},
		{Kind: gossip.EventJoined, Endpoint: addr(2)},
		{Kind: gossip.EventRestarted, Endpoint: addr(2)},
		{Kind: gossip.EventRemoved, Endpoint: addr(2)},
	} {
		n.g.set(addr(2), gossip.AppStatus, gossip.BootStatus(tokensOf(2)[0]))
		n.c.rebuildRing()
		n.g.set(addr(2), gossip.AppStatus, gossip.NormalStatus(tokensOf(2)[0]))
		n.g.emit(e)
		if !n.c.Ring().IsMember(addr(2)) {
			t.Errorf("%v did not rebuild the ring", e)
		}
	}
}
