package cluster

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ringdb/ringdb/internal/gossip"
)

// stubVerifier accepts every certificate but those in bad.
type stubVerifier struct{ bad map[string]bool }

func (v stubVerifier) CheckCertificate(_ netip.Addr, der []byte) error {
	if v.bad[string(der)] {
		return errors.New("revoked")
	}
	return nil
}
func (stubVerifier) Verify([]byte, []byte, []byte) bool { return true }

// The binding rules: the first (host id, certificate) is bound; a new
// certificate under the bound host id (rotation) or a new host id under
// the bound certificate rebinds only first-hand (from the address itself,
// never relayed: a second certificate for a live member's address held
// elsewhere cannot take its identity); both new is refused while the
// bound certificate verifies, accepted once it does not (revoked,
// expired) or the binding was released (Revoked); no host id yet binds
// nothing.
func TestCheckBinding(t *testing.T) {
	_, n := startedUnit(t)
	bad := map[string]bool{}
	v := bindingVerifier{Verifier: stubVerifier{bad: bad}, c: n.c}
	ep := addr(3)
	for i, tc := range []struct {
		cert, host string
		firstHand  bool
		refused    bool
	}{
		{"certA", "", false, false},      // nothing bound yet
		{"certA", "host1", false, false}, // bound (relayed is fine the first time): (host1, certA)
		{"certA", "host1", false, false},
		{"certB", "host1", false, true}, // a second certificate, relayed: the takeover attempt
		{"certA", "host9", false, true}, // a new host id under the bound certificate, relayed
		{"certB", "host1", true, false}, // rotation, first-hand: (host1, certB)
		{"certB", "host2", true, false}, // same certificate, new host id, first-hand: (host2, certB)
		{"certC", "host3", true, true},  // another node under a second certificate
		{"certA", "host1", false, true}, // the old certificate and host id: both differ from (host2, certB)
	} {
		err := v.CheckBinding(ep, []byte(tc.cert), tc.host, tc.firstHand)
		if (err != nil) != tc.refused {
			t.Fatalf("step %d (%s, %s, first-hand %v): %v", i, tc.cert, tc.host, tc.firstHand, err)
		}
	}
	if err := v.CheckBinding(n.addr, []byte("x"), "y", false); err != nil {
		t.Fatalf("this node's own state: %v", err)
	}
	bad["certB"] = true // the bound certificate is revoked: the address may be rebound
	if err := v.CheckBinding(ep, []byte("certC"), "host3", false); err != nil {
		t.Fatalf("after the bound certificate stopped verifying: %v", err)
	}
	n.c.bindings.release(ep)
	if err := v.CheckBinding(ep, []byte("certD"), "host4", false); err != nil {
		t.Fatalf("after release: %v", err)
	}
	// The table is saved (with the ring members) and reads back.
	saved, ok := n.c.bindings.changed()
	if !ok {
		t.Fatal("bindings not marked changed")
	}
	b := newBindings()
	if err := b.load(saved); err != nil || b.by[ep].HostID != "host4" || string(b.by[ep].Cert) != "certD" {
		t.Fatalf("saved bindings %s read back as %v, %v", saved, b.by, err)
	}
}

// A second certificate for live member 3's address, gossiping another
// host id (another node taking over the address), is refused by member 1
// and audited as a forged state naming the peer that sent it; 3 keeps
// its state, tokens and place in the ring. The binding is saved with the
// ring members.
func TestSecondCertificateUnderAnotherHostIDRefused(t *testing.T) {
	h := newHarness(t)
	ns := startRealCluster(t, h, 1, 3)
	one, three := ns[0], ns[1]
	victim, _ := one.c.stateOf(three.addr)
	signer, _ := h.keys(3) // a second certificate for 127.0.0.3
	st := signedState(t, signer, three.addr, victim.HeartBeat.Generation+1, map[gossip.ApplicationState]string{
		gossip.AppStatus: gossip.NormalStatus(three.c.tokens[0]), gossip.AppTokens: formatTokens(three.c.tokens),
		gossip.AppDC: "dc1", gossip.AppRack: "r1", gossip.AppHostID: formatUUID(hostID(9))})
	relay := addr(2)
	h.sendGossip(relay, one.addr, gossip.Message{Kind: gossip.KindAck2, Ack2: &gossip.Ack2{States: []gossip.GossipState{{Endpoint: three.addr, State: st}}}})
	waitFor(t, 10*time.Second, "1 to audit the refusal with the sender", func() bool {
		return one.hasAudit(t, "forged_state 127.0.0.2", "identity binding", "bound to host id "+formatUUID(hostID(3)),
			"state of 127.0.0.3, sent by 127.0.0.2")
	})
	one.c.flushEvents()
	got, _ := one.c.stateOf(three.addr)
	if got.HeartBeat.Generation != victim.HeartBeat.Generation || got.States[gossip.AppHostID].Value != formatUUID(hostID(3)) {
		t.Fatalf("1's view of 3 changed: generation %d, host id %s", got.HeartBeat.Generation, got.States[gossip.AppHostID].Value)
	}
	if tm := one.c.Ring(); !slices.Equal(tm.Tokens(three.addr), three.c.tokens) {
		t.Fatalf("3's tokens %v", tm.Tokens(three.addr))
	}
	one.c.startSavingPeers() // as WaitSettled does
	v, ok, err := one.eng.GetMeta(bindingsMetaKey)
	if err != nil || !ok || !strings.Contains(string(v), formatUUID(hostID(3))) {
		t.Fatalf("saved bindings %s, %v, %v", v, ok, err)
	}
}
