package e2e

import (
	"bufio"
	"encoding/json"
	"encoding/pem"
	"fmt"
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
	"github.com/ringdb/ringdb/internal/protocol/frame"
)

// TestForgedGossipAttack is issue 13's forged membership attack on a
// 3-node in-process cluster. An outsider holding a certificate the cluster
// CA signed for 127.0.0.159 (an address that never joined) sends every node
// crafted gossip:
//
//   - node 2 shut down, with a generation 300 days ahead;
//   - node 2 shut down, in node 2's own generation at a version above all
//     of node 2's;
//   - itself NORMAL with node 2's tokens (validly signed with its own key).
//
// Node 2 stays in every node's ring and UP, no token moves, QUORUM writes
// and reads keep working on every coordinator throughout, and every node's
// membership audit log names 127.0.0.159 as the sender of a refused state.
func TestForgedGossipAttack(t *testing.T) {
	addrs := []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"}
	ic := startInProcessCluster(t, addrs)
	conns := make([]*client.Client, len(addrs))
	admins := make([]*admin.Client, len(addrs))
	for i, a := range addrs {
		conns[i] = loginWithin(t, a+":"+strconv.Itoa(ic.nativePort), "cassandra", ic.password, 30*time.Second)
		tok, err := os.ReadFile(filepath.Join(ic.dir, a, "admin.token"))
		if err != nil {
			t.Fatal(err)
		}
		admins[i] = admin.NewClient(ic.nodes[i].AdminAddr().String(), string(tok))
	}
	mustQuery(t, conns[0], "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}")
	mustQuery(t, conns[0], "CREATE TABLE ks.t (k int PRIMARY KEY, v int)")
	eventually(t, 60*time.Second, "the cluster to form", func() bool {
		for _, c := range conns {
			if _, err := c.QueryCL("INSERT INTO ks.t (k, v) VALUES (0, 0)", frame.All, 0, nil); err != nil {
				return false
			}
		}
		return true
	})
	ringBefore := ringViews(t, admins)
	for i, v := range ringBefore {
		if len(v) != 3 {
			t.Fatalf("%s sees %d endpoints", addrs[i], len(v))
		}
	}
	node2 := netip.MustParseAddr("127.0.0.2")
	tokens2 := ringBefore[0]["127.0.0.2"].Tokens

	// The outsider: messaging as 127.0.0.159, and its own signing key.
	certs := issueCert(t, ic, "127.0.0.159")
	outsider := internodeAs(t, ic, "127.0.0.159", certs)
	id, err := pki.LoadIdentity(certs)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := id.StateSigner()
	if err != nil {
		t.Fatal(err)
	}
	self := netip.MustParseAddr("127.0.0.159")
	gen2, max2 := gossipOf(t, admins[0], "127.0.0.2")
	cert2 := nodeCertDER(t, filepath.Join(ic.dir, "127.0.0.2", "certs", pki.NodeCrtFile))

	// sign returns v signed by the outsider as a value of ep.
	sign := func(ep netip.Addr, gen int32, k gossip.ApplicationState, ver int32, v string) gossip.VersionedValue {
		sig, err := signer.Sign(gossip.StatePayload(ep, gen, k, ver, v))
		if err != nil {
			t.Fatal(err)
		}
		return gossip.VersionedValue{Value: v, Version: ver, Sig: sig}
	}
	hb := func(ep netip.Addr, gen, ver int32) gossip.HeartBeatState {
		sig, err := signer.Sign(gossip.HeartBeatPayload(ep, gen, ver))
		if err != nil {
			t.Fatal(err)
		}
		return gossip.HeartBeatState{Generation: gen, Version: ver, Sig: sig}
	}
	shutdown2 := func(gen, ver int32) gossip.GossipState {
		return gossip.GossipState{Endpoint: node2, State: gossip.EndpointState{HeartBeat: hb(node2, gen, ver),
			States: map[gossip.ApplicationState]gossip.VersionedValue{
				gossip.AppCert:   {Value: string(cert2), Version: 1}, // node 2's certificate, no valid signature
				gossip.AppStatus: sign(node2, gen, gossip.AppStatus, ver, gossip.ShutdownStatus()),
			}}}
	}
	now := time.Now()
	future := int32(now.Add(300 * 24 * time.Hour).Unix())
	ownGen := int32(now.Unix())
	own := gossip.EndpointState{HeartBeat: hb(self, ownGen, 10), States: map[gossip.ApplicationState]gossip.VersionedValue{
		gossip.AppCert:   sign(self, ownGen, gossip.AppCert, 1, string(signer.Certificate())),
		gossip.AppDC:     sign(self, ownGen, gossip.AppDC, 2, "datacenter1"),
		gossip.AppRack:   sign(self, ownGen, gossip.AppRack, 3, "rack1"),
		gossip.AppHostID: sign(self, ownGen, gossip.AppHostID, 4, "0159aaaa-0000-0000-0000-000000000159"),
		gossip.AppTokens: sign(self, ownGen, gossip.AppTokens, 5, joinTokens(tokens2)),
		gossip.AppStatus: sign(self, ownGen, gossip.AppStatus, 6, gossip.NormalStatus(tokens2[0])),
	}}
	attacks := []gossip.Message{
		{Kind: gossip.KindAck2, Ack2: &gossip.Ack2{States: []gossip.GossipState{shutdown2(future, 1)}}},
		{Kind: gossip.KindAck2, Ack2: &gossip.Ack2{States: []gossip.GossipState{shutdown2(gen2, max2+1000)}}},
		{Kind: gossip.KindAck2, Ack2: &gossip.Ack2{States: []gossip.GossipState{{Endpoint: self, State: own}}}},
	}

	// Clients keep writing and reading at QUORUM on every coordinator
	// while the attack runs.
	stop := make(chan struct{})
	errs := make(chan error, len(conns))
	for w, c := range conns {
		go func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					errs <- nil
					return
				default:
				}
				k := 1000*(w+1) + i
				if _, err := c.QueryCL(fmt.Sprintf("INSERT INTO ks.t (k, v) VALUES (%d, %d)", k, k), frame.Quorum, 0, nil); err != nil {
					errs <- fmt.Errorf("QUORUM write on %s: %w", addrs[w], err)
					return
				}
				if _, err := c.QueryCL(fmt.Sprintf("SELECT v FROM ks.t WHERE k = %d", k), frame.Quorum, 0, nil); err != nil {
					errs <- fmt.Errorf("QUORUM read on %s: %w", addrs[w], err)
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	for _, m := range attacks {
		for _, a := range addrs {
			if err := outsider.Send(netip.MustParseAddr(a), messaging.VerbGossipSyn, m.Marshal()); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Every node audits the outsider as the sender of a refused state.
	eventually(t, 20*time.Second, "every node to audit 127.0.0.159", func() bool {
		for _, a := range addrs {
			if len(auditedFrom(t, filepath.Join(ic.dir, a, "membership-audit.log"), "127.0.0.159")) == 0 {
				return false
			}
		}
		return true
	})
	// Several gossip rounds more, with the attack repeated: whatever was
	// accepted would have spread and taken effect by now.
	for range 3 {
		time.Sleep(time.Second)
		for _, a := range addrs {
			_ = outsider.Send(netip.MustParseAddr(a), messaging.VerbGossipSyn, attacks[1].Marshal())
		}
	}
	close(stop)
	for range conns {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}

	// Node 2 is in every ring, UP, with its tokens; no token moved; the
	// outsider is in no ring.
	after := ringViews(t, admins)
	for i, v := range after {
		if len(v) != 3 {
			t.Errorf("%s sees %v", addrs[i], v)
		}
		for ep, e := range v {
			if !e.Up || !slices.Equal(e.Tokens, ringBefore[i][ep].Tokens) {
				t.Errorf("%s sees %s up=%v tokens changed=%v", addrs[i], ep, e.Up, !slices.Equal(e.Tokens, ringBefore[i][ep].Tokens))
			}
		}
	}
	if g, _ := gossipOf(t, admins[0], "127.0.0.2"); g != gen2 {
		t.Errorf("node 1 holds generation %d for node 2, want %d", g, gen2)
	}
	for _, a := range addrs {
		got := auditedFrom(t, filepath.Join(ic.dir, a, "membership-audit.log"), "127.0.0.159")
		t.Logf("%s's audit of 127.0.0.159: %q", a, got)
		if !slices.ContainsFunc(got, func(r string) bool { return strings.Contains(r, "token takeover refused") }) {
			t.Errorf("%s's audit log lacks the refused token takeover: %q", a, got)
		}
		if a != "127.0.0.2" && !slices.ContainsFunc(got, func(r string) bool {
			return strings.HasPrefix(r, "forged_state") && strings.Contains(r, "state of 127.0.0.2, sent by 127.0.0.159")
		}) {
			t.Errorf("%s's audit log lacks the forged state of node 2: %q", a, got)
		}
		if a == "127.0.0.2" && !slices.ContainsFunc(got, func(r string) bool { return strings.Contains(r, "newer than its own") }) {
			t.Errorf("node 2's audit log lacks the forgery about itself: %q", got)
		}
	}
}

// ringViews returns each node's nodetool status, by endpoint address.
func ringViews(t *testing.T, admins []*admin.Client) []map[string]admin.Endpoint {
	t.Helper()
	var out []map[string]admin.Endpoint
	for _, c := range admins {
		st, err := c.Status("")
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]admin.Endpoint{}
		for _, e := range st.Endpoints {
			m[e.Address] = e
		}
		out = append(out, m)
	}
	return out
}

// gossipOf returns the generation and highest version a node's gossip
// holds for ep.
func gossipOf(t *testing.T, c *admin.Client, ep string) (gen, maxVersion int32) {
	t.Helper()
	info, err := c.GossipInfo()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range info {
		if e.Address == ep {
			maxVersion = e.Heartbeat
			for _, s := range e.States {
				maxVersion = max(maxVersion, s.Version)
			}
			return e.Generation, maxVersion
		}
	}
	t.Fatalf("no gossip state for %s", ep)
	return 0, 0
}

// nodeCertDER reads a PEM certificate file.
func nodeCertDER(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("%s: no PEM", path)
	}
	return blk.Bytes
}

func joinTokens(toks []int64) string {
	s := make([]string, len(toks))
	for i, v := range toks {
		s[i] = strconv.FormatInt(v, 10)
	}
	return strings.Join(s, ",")
}

// auditedFrom reads a membership audit log: "kind: reason" of every
// record whose peer is peer.
func auditedFrom(t *testing.T, path, peer string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l struct{ Kind, Peer, Reason string }
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if l.Peer == peer {
			out = append(out, l.Kind+": "+l.Reason)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
