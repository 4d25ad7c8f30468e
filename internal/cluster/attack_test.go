package cluster

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ringdb/ringdb/internal/gossip"
	"github.com/ringdb/ringdb/internal/messaging"
)

// Attacks of issue 13 on members running real gossip over the in-memory
// net: an attacker holding a valid certificate of the cluster CA for its
// own address (it never joined) sends crafted gossip.

// signedState returns ep's state with every value and the heartbeat
// signed by signer, CERT first, versions from 1 in key order.
func signedState(t *testing.T, signer gossip.Signer, ep netip.Addr, gen int32, kv map[gossip.ApplicationState]string) gossip.EndpointState {
	t.Helper()
	st := gossip.EndpointState{States: map[gossip.ApplicationState]gossip.VersionedValue{}}
	kv[gossip.AppCert] = string(signer.Certificate())
	keys := make([]gossip.ApplicationState, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		v := int32(i + 1)
		sig, err := signer.Sign(gossip.StatePayload(ep, gen, k, v, kv[k]))
		if err != nil {
			t.Fatal(err)
		}
		st.States[k] = gossip.VersionedValue{Value: kv[k], Version: v, Sig: sig}
	}
	hbv := int32(len(keys) + 1)
	sig, err := signer.Sign(gossip.HeartBeatPayload(ep, gen, hbv))
	if err != nil {
		t.Fatal(err)
	}
	st.HeartBeat = gossip.HeartBeatState{Generation: gen, Version: hbv, Sig: sig}
	return st
}

// sendGossip sends msg from `from` to `to` over the net, as the messaging
// layer delivers it (from is the authenticated sender).
func (h *harness) sendGossip(from, to netip.Addr, msg gossip.Message) {
	h.t.Helper()
	if err := h.net.endpoint(from).Send(to, messaging.VerbGossipSyn, msg.Marshal()); err != nil {
		h.t.Fatal(err)
	}
}

// startRealCluster starts members ids on real gossip through seed
// ids[0] and waits until every one has all in its ring, up.
func startRealCluster(t *testing.T, h *harness, ids ...int) []*node {
	var ns []*node
	var all []netip.Addr
	for _, i := range ids {
		n := h.add(i, false, withSeeds(addr(ids[0])))
		h.startDriven(n)
		ns = append(ns, n)
		all = append(all, n.addr)
	}
	slices.SortFunc(all, netip.Addr.Compare)
	drive(t, h.clk, step, 60*time.Second, "the rings to agree and everyone to be up", func() bool {
		for _, n := range ns {
			if !slices.Equal(n.c.Ring().Endpoints(), all) {
				return false
			}
			for _, m := range ns {
				if !n.c.IsAlive(m.addr) {
					return false
				}
			}
		}
		return true
	})
	return ns
}

// hasAudit reports whether n's audit log has a record with the prefix
// "kind peer" whose text holds every one of parts.
func (n *node) hasAudit(t *testing.T, kindPeer string, parts ...string) bool {
	for _, r := range n.auditRecords(t) {
		if !strings.HasPrefix(r, kindPeer+" ") {
			continue
		}
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(r, p)
		}
		if ok {
			return true
		}
	}
	return false
}

// TestForgedGossipAndTokenTakeoverRefused: 127.0.0.2 (a valid certificate,
// never joined) announces that member 3 shut down with a generation 300
// days ahead, then in 3's own generation, then announces itself NORMAL
// with 3's tokens. Member 3 stays in every ring with its tokens and up,
// and both members audit 127.0.0.2 as the sender. (The attacker's address
// is below the victim's: the former address-order rule gave it the
// tokens.)
func TestForgedGossipAndTokenTakeoverRefused(t *testing.T) {
	h := newHarness(t)
	ns := startRealCluster(t, h, 1, 3)
	one, three := ns[0], ns[1]
	attacker := addr(2)
	signer, _ := h.keys(2)
	victim, _ := one.c.stateOf(three.addr)
	gen := victim.HeartBeat.Generation
	now := h.clk.Now()

	shutdown := func(g, v int32) gossip.GossipState {
		st := signedState(t, signer, three.addr, g, map[gossip.ApplicationState]string{gossip.AppStatus: gossip.ShutdownStatus()})
		st.States[gossip.AppCert] = victim.States[gossip.AppCert] // 3's own certificate and signature
		st.States[gossip.AppStatus] = gossip.VersionedValue{Value: gossip.ShutdownStatus(), Version: v, Sig: st.States[gossip.AppStatus].Sig}
		return gossip.GossipState{Endpoint: three.addr, State: st}
	}
	// 1. Shutdown with a generation 300 days ahead.
	h.sendGossip(attacker, one.addr, gossip.Message{Kind: gossip.KindAck2,
		Ack2: &gossip.Ack2{States: []gossip.GossipState{shutdown(int32(now.Add(300*24*time.Hour).Unix()), 100)}}})
	// 2. Shutdown in 3's generation at a version above all of 3's.
	h.sendGossip(attacker, one.addr, gossip.Message{Kind: gossip.KindAck2,
		Ack2: &gossip.Ack2{States: []gossip.GossipState{shutdown(gen, victim.MaxVersion()+100)}}})
	// 3. Itself NORMAL with 3's tokens, properly signed with its own key.
	mine := signedState(t, signer, attacker, int32(now.Unix()), map[gossip.ApplicationState]string{
		gossip.AppStatus: gossip.NormalStatus(three.c.tokens[0]), gossip.AppTokens: formatTokens(three.c.tokens),
		gossip.AppDC: "dc1", gossip.AppRack: "r1", gossip.AppHostID: formatUUID(hostID(2))})
	h.sendGossip(attacker, one.addr, gossip.Message{Kind: gossip.KindAck2, Ack2: &gossip.Ack2{States: []gossip.GossipState{{Endpoint: attacker, State: mine}}}})

	waitFor(t, 10*time.Second, "1 to audit the refusals with the sender", func() bool {
		return one.hasAudit(t, "refused 127.0.0.2", "ahead of local time", "state of 127.0.0.3, sent by 127.0.0.2") &&
			one.hasAudit(t, "forged_state 127.0.0.2", "STATUS signature", "state of 127.0.0.3, sent by 127.0.0.2") &&
			one.hasAudit(t, "refused 127.0.0.2", "token takeover refused", "127.0.0.3")
	})
	// A few rounds: 1 relays the attacker's (validly signed) state to 3,
	// which refuses the takeover too.
	for range 30 {
		h.clk.Advance(step)
		time.Sleep(time.Millisecond)
	}
	waitFor(t, 10*time.Second, "3 to refuse the takeover", func() bool {
		return three.hasAudit(t, "refused 127.0.0.2", "token takeover refused")
	})
	for _, n := range ns {
		n.c.flushEvents()
		tm := n.c.Ring()
		if !slices.Equal(tm.Endpoints(), []netip.Addr{one.addr, three.addr}) || tm.IsPending(attacker) {
			t.Fatalf("%s: ring %v (pending %v)", n.addr, tm.Endpoints(), tm.PendingEndpointList())
		}
		if !slices.Equal(tm.Tokens(three.addr), three.c.tokens) {
			t.Fatalf("%s: 3's tokens %v, want %v", n.addr, tm.Tokens(three.addr), three.c.tokens)
		}
		if n.c.Admitted(attacker) {
			t.Fatalf("%s admits the attacker", n.addr)
		}
	}
	st, _ := one.c.stateOf(three.addr)
	if st.HeartBeat.Generation != gen || st.States[gossip.AppStatus].Value != gossip.NormalStatus(three.c.tokens[0]) || !one.c.IsAlive(three.addr) {
		t.Fatalf("1's view of 3 changed: generation %d, STATUS %q, up %v", st.HeartBeat.Generation, st.States[gossip.AppStatus].Value, one.c.IsAlive(three.addr))
	}
	if one.rec.hasClientEvent("DOWN 127.0.0.3:9042") || one.hasAudit(t, "status 127.0.0.3", "DOWN") {
		t.Fatal("1 saw 3 DOWN")
	}
}

// floodState is fake endpoint i of a flood: NORMAL with n random tokens,
// signed by signer when set (else unsigned).
func floodState(t *testing.T, signer gossip.Signer, i, n int, gen int32) gossip.GossipState {
	ep := netip.AddrFrom4([4]byte{127, 0, 1, byte(i + 1)})
	rng := rand.New(rand.NewPCG(uint64(i), 13))
	toks := make([]int64, n)
	for j := range toks {
		toks[j] = int64(rng.Uint64())
	}
	kv := map[gossip.ApplicationState]string{gossip.AppStatus: gossip.NormalStatus(toks[0]), gossip.AppTokens: formatTokens(toks),
		gossip.AppDC: "dc1", gossip.AppRack: "r1"}
	if signer != nil {
		return gossip.GossipState{Endpoint: ep, State: signedState(t, signer, ep, gen, kv)}
	}
	st := gossip.EndpointState{HeartBeat: gossip.HeartBeatState{Generation: gen, Version: 9}, States: map[gossip.ApplicationState]gossip.VersionedValue{}}
	for k, v := range kv {
		st.States[k] = gossip.VersionedValue{Value: v, Version: int32(k) + 1}
	}
	return gossip.GossipState{Endpoint: ep, State: st}
}

// The 818 KB ACK2 (40 fake endpoints with 1,000 tokens each), sent
// unsigned and with every endpoint signed by a certificate of the cluster
// CA for its address (as only the CA key's holder could): the message is
// refused before anything of it is applied, the ring does not change and
// is not rebuilt, and the refusal is audited with the sender.
func TestFloodOfFakeEndpointsChangesNothing(t *testing.T) {
	h := newHarness(t)
	ns := startRealCluster(t, h, 1, 3)
	one := ns[0]
	attacker := addr(2)
	gen := int32(h.clk.Now().Unix())
	for _, signed := range []bool{false, true} {
		var states []gossip.GossipState
		for i := range 40 {
			var s gossip.Signer
			if signed {
				s, _ = h.keysFor(netip.AddrFrom4([4]byte{127, 0, 1, byte(i + 1)}))
			}
			states = append(states, floodState(t, s, i, 1000, gen))
		}
		msg := gossip.Message{Kind: gossip.KindAck2, Ack2: &gossip.Ack2{States: states}}
		if n := len(msg.Marshal()); n < 800_000 || n > 1<<20 {
			t.Fatalf("the flood is %d bytes", n)
		}
		one.c.flushEvents()
		ringBefore, rebuildsBefore := one.c.Ring(), one.c.rebuilds.Load()
		endpointsBefore := len(one.c.gossip.Snapshot())
		h.sendGossip(attacker, one.addr, msg)
		waitFor(t, 10*time.Second, "the refusal to be audited", func() bool {
			return one.hasAudit(t, "refused 127.0.0.2", "message refused", "tokens (max 256)") ||
				one.hasAudit(t, "refused 127.0.0.2", "message refused", "40 unknown endpoints")
		})
		one.c.flushEvents()
		if got := one.c.Ring(); got != ringBefore {
			t.Fatalf("signed=%v: the ring changed: %v", signed, got.Endpoints())
		}
		if n := one.c.rebuilds.Load() - rebuildsBefore; n > 1 {
			t.Fatalf("signed=%v: %d ring rebuilds", signed, n)
		}
		if got := len(one.c.gossip.Snapshot()); got != endpointsBefore {
			t.Fatalf("signed=%v: gossip learned %d endpoints", signed, got-endpointsBefore)
		}
	}
	if !one.c.IsAlive(addr(3)) || len(one.c.Ring().Endpoints()) != 2 {
		t.Fatal("the cluster suffered")
	}
}

// A batch of legitimate news (16 new endpoints with 256 tokens each, the
// most one message may carry) rebuilds the ring once, off gossip's
// goroutine, and each new node is announced to clients once.
func TestRingRebuiltOncePerBatch(t *testing.T) {
	h := newHarness(t)
	ns := startRealCluster(t, h, 1)
	one := ns[0]
	gen := int32(h.clk.Now().Unix())
	var states []gossip.GossipState
	for i := range gossip.DefaultMaxNewEndpoints {
		s, _ := h.keysFor(netip.AddrFrom4([4]byte{127, 0, 1, byte(i + 1)}))
		states = append(states, floodState(t, s, i, gossip.DefaultMaxTokens, gen))
	}
	one.c.flushEvents()
	before := one.c.rebuilds.Load()
	h.sendGossip(addr(2), one.addr, gossip.Message{Kind: gossip.KindAck2, Ack2: &gossip.Ack2{States: states}})
	waitFor(t, 10*time.Second, "the 16 endpoints in the ring", func() bool { return len(one.c.Ring().Endpoints()) == 17 })
	one.c.flushEvents()
	if n := one.c.rebuilds.Load() - before; n != 1 {
		t.Fatalf("%d rebuilds for one batch", n)
	}
	var newNodes int
	for _, e := range one.rec.clientEvents() {
		if strings.HasPrefix(e, "NEW_NODE 127.0.1.") {
			newNodes++
		}
	}
	if newNodes != gossip.DefaultMaxNewEndpoints {
		t.Fatalf("%d NEW_NODE events for %d new nodes", newNodes, gossip.DefaultMaxNewEndpoints)
	}
}

// The same on a fake gossip: any number of ring events delivered together
// cost one rebuild.
func TestRebuildOncePerEventBatch(t *testing.T) {
	_, n := startedUnit(t)
	var batch []gossip.Event
	for i := 2; i < 200; i++ {
		n.g.put(addr(i), peerState(i, true, "", ""))
		batch = append(batch, gossip.Event{Kind: gossip.EventJoined, Endpoint: addr(i)},
			gossip.Event{Kind: gossip.EventStateChanged, Endpoint: addr(i), Key: gossip.AppTokens},
			gossip.Event{Kind: gossip.EventStateChanged, Endpoint: addr(i), Key: gossip.AppStatus})
	}
	before := n.c.rebuilds.Load()
	n.g.emit(batch...)
	if got := n.c.rebuilds.Load() - before; got != 1 {
		t.Fatalf("%d rebuilds for one batch", got)
	}
	if got := len(n.c.Ring().Endpoints()); got != 199 {
		t.Fatalf("ring of %d", got)
	}
}

// Refusals are audited with their sender, at most senderAuditBurst per
// sender a minute: a certificate holder sending forgery after forgery
// cannot flood the fsynced membership log. The next record counts the
// refusals left out.
func TestForgedStateAuditsAreRateLimited(t *testing.T) {
	h, n := startedUnit(t)
	sender := netip.MustParseAddr("127.0.0.159")
	forged := gossip.Event{Kind: gossip.EventForged, Endpoint: addr(2), From: sender, Reason: "forged: STATUS signature does not verify"}
	for range 50 {
		n.g.emit(forged)
	}
	count := func() (recs []string) {
		for _, r := range n.auditRecords(t) {
			if strings.HasPrefix(r, "forged_state 127.0.0.159 ") {
				recs = append(recs, r)
			}
		}
		return recs
	}
	recs := count()
	if len(recs) != senderAuditBurst || !strings.Contains(recs[0], "(state of 127.0.0.2, sent by 127.0.0.159)") {
		t.Fatalf("%d records: %q", len(recs), recs)
	}
	// Another sender is not held back by the first.
	other := forged
	other.From = addr(7)
	n.g.emit(other)
	if !n.hasAudit(t, "forged_state 127.0.0.7", "sent by 127.0.0.7") {
		t.Fatal("another sender's refusal not audited")
	}
	h.clk.Advance(senderAuditWindow)
	n.g.emit(forged)
	if recs = count(); len(recs) != senderAuditBurst+1 || !strings.Contains(recs[len(recs)-1], "and 40 more such refusals") {
		t.Fatalf("after a minute: %q", recs[len(recs)-1])
	}
}
