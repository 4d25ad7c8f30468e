package cluster

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/ringdb/ringdb/internal/gossip"
	"github.com/ringdb/ringdb/internal/query"
)

// topologyUnit is member 1 seeing: 2 NORMAL and up, 3 NORMAL and down
// in dc2, 4 BOOT (pending), 5 LEFT, 6 known to gossip without STATUS or
// TOKENS (DC dc3 only).
// schemaV2 is the schema version member 2 gossips in topologyUnit.
var schemaV2 = [16]byte{0x5c, 2}

func topologyUnit(t *testing.T) *node {
	_, n := startedUnit(t)
	n.g.put(addr(2), peerState(2, true, "", formatUUID(schemaV2)))
	s3 := peerState(3, false, "", "")
	s3.States[gossip.AppDC] = gossip.VersionedValue{Value: "dc2", Version: 99}
	n.g.put(addr(3), s3)
	n.g.put(addr(4), peerState(4, true, gossip.BootStatus(tokensOf(4)[0]), ""))
	n.g.put(addr(5), peerState(5, false, gossip.LeftStatus(tokensOf(5)[0], 1), ""))
	n.g.put(addr(6), endpointState(true, map[gossip.ApplicationState]string{gossip.AppDC: "dc3", gossip.AppHostID: "not-a-uuid"}))
	n.c.rebuildRing()
	return n
}

func TestTopologyAnswers(t *testing.T) {
	n := topologyUnit(t)
	c := n.c
	tm := c.Ring()
	if got := tm.Endpoints(); !slices.Equal(got, []netip.Addr{addr(1), addr(2), addr(3)}) {
		t.Fatalf("ring members %v", got)
	}
	if !tm.IsPending(addr(4)) {
		t.Fatal("BOOT member not pending")
	}
	for _, tc := range []struct {
		ep    netip.Addr
		alive bool
		dc    string
		id    [16]byte
		idOK  bool
	}{
		{addr(1), true, "dc1", hostID(1), true}, // self: from Options
		{addr(2), true, "dc1", hostID(2), true},
		{addr(3), false, "dc2", hostID(3), true},
		{addr(4), true, "dc1", hostID(4), true},
		{addr(5), false, "dc1", hostID(5), true}, // not in the ring: gossiped DC
		{addr(6), true, "dc3", [16]byte{}, false},
		{addr(7), false, "", [16]byte{}, false}, // unknown
	} {
		if got := c.IsAlive(tc.ep); got != tc.alive {
			t.Errorf("IsAlive(%s) = %v", tc.ep, got)
		}
		if got := c.DC(tc.ep); got != tc.dc {
			t.Errorf("DC(%s) = %q, want %q", tc.ep, got, tc.dc)
		}
		if id, ok := c.HostID(tc.ep); ok != tc.idOK || id != tc.id {
			t.Errorf("HostID(%s) = %x %v", tc.ep, id, ok)
		}
		if tc.idOK {
			if ep, ok := c.EndpointOf(tc.id); !ok || ep != tc.ep {
				t.Errorf("EndpointOf(%x) = %s %v, want %s", tc.id, ep, ok, tc.ep)
			}
		}
	}
	if _, ok := c.EndpointOf(hostID(77)); ok {
		t.Error("EndpointOf an unknown host id")
	}
}

// Peers lists the other ring members, NORMAL or joining, with what they
// gossip; the native address falls back to this node's port.
func TestPeers(t *testing.T) {
	n := topologyUnit(t)
	n.g.set(addr(3), gossip.AppNativeAddressAndPort, "garbage")
	got := n.c.Peers()
	var eps []netip.Addr
	for _, p := range got {
		eps = append(eps, p.Address)
	}
	if !slices.Equal(eps, []netip.Addr{addr(2), addr(3), addr(4)}) {
		t.Fatalf("peers %v", eps)
	}
	want := query.PeerInfo{Address: addr(2), Port: 7000, NativeAddress: addr(2), NativePort: 9142, DC: "dc1", Rack: "r1",
		HostID: hostID(2), SchemaVersion: schemaV2, Tokens: tokensOf(2), Release: "4.1.0"}
	if p := got[0]; p.Address != want.Address || p.Port != want.Port || p.NativeAddress != want.NativeAddress ||
		p.NativePort != want.NativePort || p.DC != want.DC || p.Rack != want.Rack || p.HostID != want.HostID ||
		p.SchemaVersion != want.SchemaVersion || !slices.Equal(p.Tokens, want.Tokens) || p.Release != want.Release {
		t.Fatalf("peer 2:\n got %+v\nwant %+v", p, want)
	}
	if p := got[1]; p.NativeAddress != addr(3) || p.NativePort != 9042 || p.DC != "dc2" {
		t.Fatalf("peer 3 (unparsable native address): %+v", p)
	}
	if p := got[2]; !slices.Equal(p.Tokens, tokensOf(4)) {
		t.Fatalf("joining peer's tokens %v", p.Tokens)
	}
}
