package cluster

import (
	"crypto/x509"
	"math/big"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/ringdb/ringdb/internal/gossip"
)

// certState is peerState(i) gossiping a certificate of the harness's CA
// for addr(i) (a new one at each call), and that certificate's serial.
func certState(t *testing.T, h *harness, i int) (gossip.EndpointState, *big.Int) {
	t.Helper()
	signer, _ := h.keys(i)
	cert, err := x509.ParseCertificate(signer.Certificate())
	if err != nil {
		t.Fatal(err)
	}
	st := peerState(i, true, "", "")
	st.States[gossip.AppCert] = gossip.VersionedValue{Value: string(signer.Certificate()), Version: 100}
	return st, cert.SerialNumber
}

// A revoked node leaves the ring: Revoked drops it from gossip and from
// the ring (one rebuild), tells clients REMOVED_NODE with its gossiped
// native address, audits the revocation and the removal with its host
// id, and later gossip about it under the revoked certificate does not
// bring it back; a new certificate for the address (a replacement the
// operator issued) does. A revoked serial the node no longer gossips
// (rotation) removes nothing.
func TestRevokedLeavesTheRing(t *testing.T) {
	h, n := startedUnit(t)
	p2, p3 := addr(2), addr(3)
	st2, serial2 := certState(t, h, 2)
	st3, serial3 := certState(t, h, 3)
	n.g.put(p2, st2)
	n.g.put(p3, st3)
	n.g.emit(gossip.Event{Kind: gossip.EventStateChanged, Endpoint: p2, Key: gossip.AppStatus},
		gossip.Event{Kind: gossip.EventStateChanged, Endpoint: p3, Key: gossip.AppStatus})
	if !n.c.Ring().IsMember(p2) || !n.c.Ring().IsMember(p3) {
		t.Fatal("peers not in the ring")
	}

	// Rotation: node 2 gossips another certificate than the revoked one.
	if n.c.Revoked(p2, new(big.Int).Add(serial2, big.NewInt(1))) {
		t.Fatal("Revoked removed a node that gossips another certificate")
	}
	if n.c.Revoked(n.addr, serial2) {
		t.Fatal("Revoked removed this node")
	}

	rebuilds := n.c.rebuilds.Load()
	if !n.c.Revoked(p3, serial3) {
		t.Fatal("Revoked did not remove node 3")
	}
	n.c.flushEvents()
	if got := n.c.rebuilds.Load() - rebuilds; got != 1 {
		t.Errorf("%d ring rebuilds, want 1", got)
	}
	if r := n.c.Ring(); r.IsMember(p3) || r.IsPending(p3) || !r.IsMember(p2) {
		t.Fatalf("ring members %v after revoking node 3", r.Endpoints())
	}
	if _, ok := n.g.Snapshot()[p3]; ok || !slices.Equal(n.g.removedEndpoints(), []netip.Addr{p3}) {
		t.Fatalf("node 3 in gossip's endpoint table: %v; gossip removed %v", ok, n.g.removedEndpoints())
	}
	if got, want := n.rec.clientEvents(), []string{"NEW_NODE 127.0.0.2:9142", "NEW_NODE 127.0.0.3:9142", "REMOVED_NODE 127.0.0.3:9142"}; !slices.Equal(got, want) {
		t.Fatalf("client events %q, want %q", got, want)
	}
	id3 := formatUUID(hostID(3))
	audit := n.auditRecords(t)
	for _, want := range []string{"revocation 127.0.0.3 " + id3 + " certificate revoked: removed from the ring",
		"remove 127.0.0.3 " + id3 + " removed from gossip"} {
		if !slices.Contains(audit, want) {
			t.Errorf("audit %q lacks %q", audit, want)
		}
	}
	if n.c.Revoked(p3, serial3) {
		t.Fatal("a second Revoked of the same serial acted again")
	}

	// Gossip about node 3 under its revoked certificate (a peer relaying
	// its old state) does not bring it back.
	n.g.put(p3, st3)
	n.g.emit(gossip.Event{Kind: gossip.EventJoined, Endpoint: p3},
		gossip.Event{Kind: gossip.EventStateChanged, Endpoint: p3, Key: gossip.AppStatus})
	if n.c.Ring().IsMember(p3) {
		t.Fatal("gossip under the revoked certificate brought node 3 back into the ring")
	}
	for _, e := range n.rec.clientEvents()[3:] {
		if strings.HasPrefix(e, changeNewNode) {
			t.Fatalf("client told %q", e)
		}
	}
	// Without a certificate it stays out too.
	noCert := st3.Clone()
	delete(noCert.States, gossip.AppCert)
	n.g.put(p3, noCert)
	n.g.emit(gossip.Event{Kind: gossip.EventStateChanged, Endpoint: p3, Key: gossip.AppStatus})
	if n.c.Ring().IsMember(p3) {
		t.Fatal("node 3 back in the ring without a certificate")
	}

	// A new certificate for the address: the operator replaced the node.
	st3b, _ := certState(t, h, 3)
	n.g.put(p3, st3b)
	n.g.emit(gossip.Event{Kind: gossip.EventStateChanged, Endpoint: p3, Key: gossip.AppCert},
		gossip.Event{Kind: gossip.EventStateChanged, Endpoint: p3, Key: gossip.AppStatus})
	if !n.c.Ring().IsMember(p3) {
		t.Fatal("node 3 under a new certificate not back in the ring")
	}
}
