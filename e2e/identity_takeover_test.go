package e2e

import (
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ringdb/ringdb/internal/admin"
	"github.com/ringdb/ringdb/internal/client"
	"github.com/ringdb/ringdb/internal/gossip"
	"github.com/ringdb/ringdb/internal/messaging"
	"github.com/ringdb/ringdb/internal/pki"
)

// TestSecondCertificateTakeoverRefused is the stranger's attack on issue
// 13: a second CA-signed certificate for the live member 127.0.0.2 (as
// offline issuance gives without complaint), held at 127.0.0.159, signs a
// new generation of node 2's state under node 2's host id — its own
// certificate as CERT, another DC, rack and native address — and relays
// it from 127.0.0.159 to every member. No member may take it: node 2
// keeps its generation, DC and rack everywhere, stays UP, and every
// member's audit log names 127.0.0.159 as the sender.
func TestSecondCertificateTakeoverRefused(t *testing.T) {
	addrs := []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"}
	ic := startInProcessCluster(t, addrs)
	admins := make([]*admin.Client, len(addrs))
	var conns []*client.Client
	for i, a := range addrs {
		conns = append(conns, loginWithin(t, a+":"+strconv.Itoa(ic.nativePort), "cassandra", ic.password, 30*time.Second))
		tok, err := os.ReadFile(filepath.Join(ic.dir, a, "admin.token"))
		if err != nil {
			t.Fatal(err)
		}
		admins[i] = admin.NewClient(ic.nodes[i].AdminAddr().String(), string(tok))
	}
	eventually(t, 60*time.Second, "every node to see three UP members", func() bool {
		for _, v := range ringViews(t, admins) {
			if len(v) != 3 {
				return false
			}
			for _, e := range v {
				if !e.Up {
					return false
				}
			}
		}
		return true
	})
	node2 := netip.MustParseAddr("127.0.0.2")
	before := ringViews(t, admins)
	host2 := before[0]["127.0.0.2"].HostID
	gen2, _ := gossipOf(t, admins[0], "127.0.0.2")

	// The relay: a certificate for 127.0.0.159 that never joined.
	relay := internodeAs(t, ic, "127.0.0.159", issueCert(t, ic, "127.0.0.159"))
	// The second certificate for node 2's address, held by the attacker.
	evil, err := pki.LoadIdentity(issueCert(t, ic, "127.0.0.2"))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := evil.StateSigner()
	if err != nil {
		t.Fatal(err)
	}
	gen := gen2 + 1
	sign := func(k gossip.ApplicationState, ver int32, v string) gossip.VersionedValue {
		sig, err := signer.Sign(gossip.StatePayload(node2, gen, k, ver, v))
		if err != nil {
			t.Fatal(err)
		}
		return gossip.VersionedValue{Value: v, Version: ver, Sig: sig}
	}
	hbSig, err := signer.Sign(gossip.HeartBeatPayload(node2, gen, 1_000_000))
	if err != nil {
		t.Fatal(err)
	}
	forged := gossip.EndpointState{HeartBeat: gossip.HeartBeatState{Generation: gen, Version: 1_000_000, Sig: hbSig},
		States: map[gossip.ApplicationState]gossip.VersionedValue{
			gossip.AppCert:                 sign(gossip.AppCert, 1, string(signer.Certificate())),
			gossip.AppHostID:               sign(gossip.AppHostID, 2, host2),
			gossip.AppDC:                   sign(gossip.AppDC, 3, "evildc"),
			gossip.AppRack:                 sign(gossip.AppRack, 4, "evilrack"),
			gossip.AppNativeAddressAndPort: sign(gossip.AppNativeAddressAndPort, 5, "127.0.0.159:9042"),
			gossip.AppTokens:               sign(gossip.AppTokens, 6, joinTokens(before[0]["127.0.0.2"].Tokens)),
			gossip.AppStatus:               sign(gossip.AppStatus, 7, gossip.NormalStatus(before[0]["127.0.0.2"].Tokens[0])),
		}}
	msg := gossip.Message{Kind: gossip.KindAck2, Ack2: &gossip.Ack2{States: []gossip.GossipState{{Endpoint: node2, State: forged}}}}
	for range 3 {
		for _, a := range addrs {
			if err := relay.Send(netip.MustParseAddr(a), messaging.VerbGossipSyn, msg.Marshal()); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(time.Second)
	}
	eventually(t, 20*time.Second, "nodes 1 and 3 to audit 127.0.0.159", func() bool {
		for _, a := range []string{"127.0.0.1", "127.0.0.3"} {
			got := auditedFrom(t, filepath.Join(ic.dir, a, "membership-audit.log"), "127.0.0.159")
			if !slices.ContainsFunc(got, func(r string) bool { return strings.Contains(r, "bound to host id") }) {
				return false
			}
		}
		return true
	})
	// A few gossip rounds: whatever a member accepted would have spread.
	time.Sleep(3 * time.Second)
	for i, v := range ringViews(t, admins) {
		e := v["127.0.0.2"]
		if e.DC != "datacenter1" || e.Rack != "rack1" || e.HostID != host2 || !e.Up {
			t.Errorf("%s sees node 2 as %+v", addrs[i], e)
		}
	}
	for i, c := range admins {
		if g, _ := gossipOf(t, c, "127.0.0.2"); g != gen2 {
			t.Errorf("%s holds generation %d for node 2, want %d", addrs[i], g, gen2)
		}
	}
	r, err := conns[0].Query("SELECT data_center, rack, native_address FROM system.peers_v2 WHERE peer = '127.0.0.2'", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Rows) != 1 || string(r.Rows[0][0]) != "datacenter1" || string(r.Rows[0][1]) != "rack1" {
		t.Errorf("system.peers_v2 on node 1 for node 2: %q", r.Rows)
	}
}
