package gossip

import (
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

var (
	ipA = addr("127.0.0.1")
	ipB = addr("127.0.0.2")
	ipC = addr("127.0.0.3")
)

func newG(self netip.Addr, seeds ...netip.Addr) *Gossiper {
	return New(Config{Self: self, ClusterName: "test", Seeds: seeds, Rand: rand.New(rand.NewPCG(1, 2))}, t0)
}

// net delivers messages among gossipers until none are left.
type testNet map[netip.Addr]*Gossiper

func (n testNet) pump(t *testing.T, now time.Time, from netip.Addr, out []Message) {
	t.Helper()
	type env struct {
		from netip.Addr
		m    Message
	}
	q := make([]env, 0, len(out))
	for _, m := range out {
		q = append(q, env{from, m})
	}
	for steps := 0; len(q) > 0; steps++ {
		if steps > 10000 {
			t.Fatal("message storm")
		}
		e := q[0]
		q = q[1:]
		g := n[e.m.To]
		if g == nil {
			continue
		}
		// Round-trip through the wire encoding.
		m, err := Unmarshal(e.m.Marshal())
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range g.Handle(now, e.from, m) {
			q = append(q, env{e.m.To, r})
		}
	}
}

func hasEvent(evs []Event, k EventKind, ep netip.Addr) bool {
	return slices.ContainsFunc(evs, func(e Event) bool { return e.Kind == k && e.Endpoint == ep })
}

func TestFirstRoundGossipsToSeedAndEchoesBeforeAlive(t *testing.T) {
	a, b := newG(ipA, ipA), newG(ipB, ipA)
	a.SetLocalState(AppStatus, NormalStatus(1))
	b.SetLocalState(AppStatus, NormalStatus(2))
	a.Events()
	b.Events()

	// A is its own only seed and knows nobody: no gossip.
	if out := a.Tick(t0); len(out) != 0 {
		t.Fatalf("seed alone should not gossip: %v", out)
	}
	out := b.Tick(t0)
	if len(out) != 1 || out[0].To != ipA || out[0].Kind != KindSyn {
		t.Fatalf("want one SYN to the seed, got %+v", out)
	}
	// Step by step: SYN -> ACK (A requests B) -> ACK2 (B's state) -> A echoes B.
	ack := a.Handle(t0, ipB, out[0])
	if len(ack) != 1 || ack[0].Kind != KindAck || len(ack[0].Ack.Digests) != 1 || ack[0].Ack.Digests[0].Endpoint != ipB {
		t.Fatalf("want ACK requesting B, got %+v", ack)
	}
	ack2 := b.Handle(t0, ipA, ack[0])
	if len(ack2) != 1 || ack2[0].Kind != KindAck2 {
		t.Fatalf("want ACK2, got %+v", ack2)
	}
	echo := a.Handle(t0, ipB, ack2[0])
	if len(echo) != 1 || echo[0].Kind != KindEchoRequest || echo[0].To != ipB {
		t.Fatalf("want echo to B, got %+v", echo)
	}
	if st, ok := a.State(ipB); !ok || st.States[AppStatus].Value != NormalStatus(2) {
		t.Fatalf("A should know B's state: %+v", st)
	}
	if a.IsAlive(ipB) {
		t.Fatal("B must not be alive before its echo response")
	}
	evs := a.Events()
	if !hasEvent(evs, EventJoined, ipB) || hasEvent(evs, EventAlive, ipB) {
		t.Fatalf("events %v", evs)
	}
	// An echo response from someone we did not echo changes nothing.
	a.Handle(t0, ipC, Message{Kind: KindEchoResponse})
	if a.IsAlive(ipC) || len(a.Events()) != 0 {
		t.Fatal("unsolicited echo response had an effect")
	}
	rsp := b.Handle(t0, ipA, echo[0])
	if len(rsp) != 1 || rsp[0].Kind != KindEchoResponse {
		t.Fatalf("want echo response, got %+v", rsp)
	}
	a.Handle(t0, ipB, rsp[0])
	if !a.IsAlive(ipB) || !hasEvent(a.Events(), EventAlive, ipB) {
		t.Fatal("B should be alive after echo")
	}
	// A now gossips to B (live), and B learns A.
	n := testNet{ipA: a, ipB: b}
	n.pump(t, t0.Add(time.Second), ipA, a.Tick(t0.Add(time.Second)))
	if !b.IsAlive(ipA) {
		t.Fatal("B should see A alive after A's round")
	}
	if st, _ := b.State(ipA); st.States[AppStatus].Value != NormalStatus(1) {
		t.Fatalf("B's view of A: %+v", st)
	}
}

// converge2 makes a and b know each other alive.
func converge2(t *testing.T, a, b *Gossiper, now time.Time) {
	n := testNet{a.Self(): a, b.Self(): b}
	for i := 0; i < 3; i++ {
		n.pump(t, now, b.Self(), b.Tick(now))
		n.pump(t, now, a.Self(), a.Tick(now))
	}
	if !a.IsAlive(b.Self()) || !b.IsAlive(a.Self()) {
		t.Fatal("did not converge")
	}
	a.Events()
	b.Events()
}

func stateMsg(ep netip.Addr, gen, hbv int32, kv ...any) Message {
	st := EndpointState{HeartBeat: HeartBeatState{Generation: gen, Version: hbv}, States: map[ApplicationState]VersionedValue{}}
	for i := 0; i < len(kv); i += 3 {
		st.States[kv[i].(ApplicationState)] = VersionedValue{Value: kv[i+1].(string), Version: int32(kv[i+2].(int))}
	}
	return Message{Kind: KindAck2, Ack2: &Ack2{States: []GossipState{{Endpoint: ep, State: st}}}}
}

func TestMergeByVersion(t *testing.T) {
	a := newG(ipA)
	gen := int32(t0.Unix())
	a.Handle(t0, ipC, stateMsg(ipB, gen, 5, AppStatus, "NORMAL,1", 3, AppDC, "dc1", 4))
	a.Events()
	// Newer heartbeat, one newer state, one older state.
	a.Handle(t0, ipC, stateMsg(ipB, gen, 9, AppStatus, "LEAVING,1", 8, AppDC, "dc-old", 2, AppRack, "r1", 7))
	st, _ := a.State(ipB)
	if st.HeartBeat.Version != 9 || st.States[AppStatus].Value != "LEAVING,1" || st.States[AppDC].Value != "dc1" ||
		st.States[AppRack].Value != "r1" {
		t.Fatalf("merge: %+v", st)
	}
	evs := a.Events()
	var changed []string
	for _, e := range evs {
		if e.Kind == EventStateChanged {
			changed = append(changed, e.Key.String())
		}
	}
	// STATUS is reported last so consumers see the states it depends on first.
	if strings.Join(changed, ",") != "RACK,STATUS" {
		t.Fatalf("changed %v", changed)
	}
	// Entirely older state: ignored.
	a.Handle(t0, ipC, stateMsg(ipB, gen, 4, AppStatus, "BOOT,1", 1))
	if st, _ := a.State(ipB); st.States[AppStatus].Value != "LEAVING,1" || st.HeartBeat.Version != 9 {
		t.Fatalf("older state applied: %+v", st)
	}
	// Older generation: ignored.
	a.Handle(t0, ipC, stateMsg(ipB, gen-10, 100, AppStatus, "BOOT,1", 100))
	if st, _ := a.State(ipB); st.HeartBeat.Generation != gen {
		t.Fatalf("older generation applied: %+v", st)
	}
	// States about ourselves are never applied.
	a.Handle(t0, ipC, stateMsg(ipA, gen+5, 100, AppStatus, "LEFT,1,1", 100))
	if st, _ := a.State(ipA); st.HeartBeat.Generation == gen+5 {
		t.Fatal("applied remote state about self")
	}
}

func TestNewGenerationReplacesState(t *testing.T) {
	a, b := newG(ipA, ipA), newG(ipB, ipA)
	b.SetLocalState(AppSchema, "v1")
	b.SetLocalState(AppLoad, "100")
	converge2(t, a, b, t0)

	// B restarts with a newer generation and no LOAD.
	b2 := New(Config{Self: ipB, ClusterName: "test", Seeds: []netip.Addr{ipA}, Generation: int32(t0.Unix()) + 60}, t0.Add(time.Minute))
	b2.SetLocalState(AppSchema, "v2")
	now := t0.Add(time.Minute)
	out := b2.Tick(now)
	// Deliver only up to the echo request, to observe the interim state.
	ack := a.Handle(now, ipB, out[0])
	ack2 := b2.Handle(now, ipA, ack[0])
	echo := a.Handle(now, ipB, ack2[0])
	st, _ := a.State(ipB)
	if st.HeartBeat.Generation != int32(t0.Unix())+60 || st.States[AppSchema].Value != "v2" {
		t.Fatalf("new generation not applied: %+v", st)
	}
	if _, ok := st.States[AppLoad]; ok {
		t.Fatal("old generation's LOAD survived: the whole state must be replaced")
	}
	if a.IsAlive(ipB) {
		t.Fatal("restarted node alive before echo")
	}
	if !hasEvent(a.Events(), EventRestarted, ipB) {
		t.Fatal("no restarted event")
	}
	if len(echo) != 1 || echo[0].Kind != KindEchoRequest {
		t.Fatalf("want echo, got %+v", echo)
	}
	a.Handle(now, ipB, b2.Handle(now, ipA, echo[0])[0])
	if !a.IsAlive(ipB) {
		t.Fatal("restarted node not alive after echo")
	}
}

func TestClusterNameMismatchIgnored(t *testing.T) {
	a := newG(ipA)
	other := New(Config{Self: ipB, ClusterName: "evil", Seeds: []netip.Addr{ipA}}, t0)
	out := other.Tick(t0)
	if r := a.Handle(t0, ipB, out[0]); len(r) != 0 {
		t.Fatalf("answered a foreign SYN: %+v", r)
	}
	evs := a.Events()
	if len(evs) != 1 || evs[0].Kind != EventClusterMismatch || evs[0].Value != "evil" || evs[0].Endpoint != ipB {
		t.Fatalf("events %v", evs)
	}
	if _, ok := a.State(ipB); ok {
		t.Fatal("learned about a foreign node")
	}
}

func TestGenerationSkewRejected(t *testing.T) {
	a := newG(ipA)
	// More than a year ahead, and more than MaxGenerationSkew (10 min)
	// ahead of local time: refused, attributed to the sender.
	for _, ahead := range []int64{MaxGenerationDifference + 10, 300 * 86400, 11 * 60} {
		a.Handle(t0, ipC, stateMsg(ipB, int32(t0.Unix()+ahead), 1))
		if _, ok := a.State(ipB); ok {
			t.Fatalf("accepted a generation %d s ahead", ahead)
		}
		if evs := a.Events(); len(evs) != 1 || evs[0].Kind != EventRejected || evs[0].Endpoint != ipB || evs[0].From != ipC {
			t.Fatalf("%d s ahead: events %v", ahead, evs)
		}
	}
	// Within the skew: accepted.
	a.Handle(t0, ipC, stateMsg(ipB, int32(t0.Unix()+9*60), 1))
	if _, ok := a.State(ipB); !ok {
		t.Fatal("rejected a plausible generation")
	}
	// The bound is a Config field.
	b := New(Config{Self: ipA, MaxGenerationSkew: time.Hour}, t0)
	b.Handle(t0, ipC, stateMsg(ipB, int32(t0.Unix()+50*60), 1))
	if _, ok := b.State(ipB); !ok {
		t.Fatal("MaxGenerationSkew not honoured")
	}
}

func TestBounds(t *testing.T) {
	a := New(Config{Self: ipA, MaxEndpoints: 2, MaxStateBytes: 100}, t0)
	gen := int32(t0.Unix())
	a.Handle(t0, ipC, stateMsg(ipB, gen, 1, AppDC, strings.Repeat("x", 200), 1))
	if _, ok := a.State(ipB); ok {
		t.Fatal("accepted an oversized state")
	}
	a.Handle(t0, ipC, stateMsg(ipB, gen, 1, AppDC, "dc1", 1))
	if _, ok := a.State(ipB); !ok {
		t.Fatal("rejected a small state")
	}
	// Growing past the bound by merge is refused; the old state stays.
	a.Handle(t0, ipC, stateMsg(ipB, gen, 2, AppRack, strings.Repeat("y", 95), 2))
	if st, _ := a.State(ipB); st.HeartBeat.Version != 1 || len(st.States) != 1 {
		t.Fatalf("oversized merge applied: %+v", st)
	}
	// Endpoint count bound (self + B = 2).
	a.Handle(t0, ipB, stateMsg(ipC, gen, 1))
	if _, ok := a.State(ipC); ok {
		t.Fatal("exceeded MaxEndpoints")
	}
	var rejected int
	for _, e := range a.Events() {
		if e.Kind == EventRejected {
			rejected++
		}
	}
	if rejected != 3 {
		t.Fatalf("want 3 rejections, got %d", rejected)
	}
	// Local state is bounded too.
	a.SetLocalState(AppSchema, strings.Repeat("z", 200))
	if st, _ := a.State(ipA); len(st.States) != 0 {
		t.Fatal("oversized local state accepted")
	}
	if evs := a.Events(); len(evs) != 1 || evs[0].Kind != EventRejected {
		t.Fatalf("events %v", evs)
	}
}

func TestShutdownMarksDeadImmediately(t *testing.T) {
	a, b := newG(ipA, ipA), newG(ipB, ipA)
	b.SetLocalState(AppStatus, NormalStatus(7))
	converge2(t, a, b, t0)
	stale, _ := a.State(ipB) // what a third node might still gossip

	now := t0.Add(2 * time.Second)
	out := b.Shutdown(now)
	if len(out) != 1 || out[0].Kind != KindShutdown || out[0].To != ipA {
		t.Fatalf("want SHUTDOWN to A, got %+v", out)
	}
	if st, _ := b.State(ipB); st.States[AppStatus].Value != ShutdownStatus() {
		t.Fatal("local STATUS not shutdown")
	}
	if b.Tick(now) != nil || b.Handle(now, ipA, Message{Kind: KindEchoRequest}) != nil {
		t.Fatal("stopped gossiper still talks")
	}
	a.Handle(now, ipB, out[0])
	if a.IsAlive(ipB) {
		t.Fatal("B still alive after shutdown")
	}
	evs := a.Events()
	if !hasEvent(evs, EventDead, ipB) {
		t.Fatalf("events %v", evs)
	}
	st, _ := a.State(ipB)
	if s, _ := st.Status(); s.Kind != StatusShutdown {
		t.Fatalf("status %+v", st.States[AppStatus])
	}
	// Stale same-generation gossip must not revive it (and must not echo).
	stale.HeartBeat.Version += 3
	if r := a.Handle(now, ipC, Message{Kind: KindAck2, Ack2: &Ack2{States: []GossipState{{Endpoint: ipB, State: stale}}}}); len(r) != 0 {
		t.Fatalf("echoed a shut-down node: %+v", r)
	}
	if a.IsAlive(ipB) || slices.Contains(a.LiveEndpoints(), ipB) || !slices.Contains(a.UnreachableEndpoints(), ipB) {
		t.Fatal("stale gossip revived a shut-down node")
	}
}

func TestShutdownStatusLearnedByGossipMarksDead(t *testing.T) {
	a := newG(ipA)
	gen := int32(t0.Unix())
	a.Handle(t0, ipC, stateMsg(ipB, gen, 1, AppStatus, NormalStatus(1), 1))
	a.Handle(t0, ipB, Message{Kind: KindEchoResponse}) // the echo was sent
	if !a.IsAlive(ipB) {
		t.Fatal("setup")
	}
	a.Handle(t0, ipC, stateMsg(ipB, gen, 5, AppStatus, ShutdownStatus(), 5))
	if a.IsAlive(ipB) {
		t.Fatal("shutdown status learned via gossip did not mark dead")
	}
}

func TestConvictionAndRecovery(t *testing.T) {
	a, b := newG(ipA, ipA), newG(ipB, ipA)
	n := testNet{ipA: a, ipB: b}
	now := t0
	for i := 0; i < 30; i++ {
		now = now.Add(time.Second)
		n.pump(t, now, ipB, b.Tick(now))
		n.pump(t, now, ipA, a.Tick(now))
	}
	if !a.IsAlive(ipB) {
		t.Fatal("setup")
	}
	a.Events()
	// B goes silent; A keeps ticking alone.
	var convicted time.Duration
	for i := 1; i <= 60; i++ {
		now = now.Add(time.Second)
		a.Tick(now)
		if !a.IsAlive(ipB) {
			convicted = time.Duration(i) * time.Second
			break
		}
	}
	// Mean ~1 s: phi = 0.434 * t/1s > 8 at t > 18.4 s.
	if convicted < 15*time.Second || convicted > 25*time.Second {
		t.Fatalf("convicted after %v", convicted)
	}
	if !hasEvent(a.Events(), EventDead, ipB) {
		t.Fatal("no dead event")
	}
	// B returns: A gossips to the unreachable B (only peer: probability 1).
	for i := 0; i < 3 && !a.IsAlive(ipB); i++ {
		now = now.Add(time.Second)
		n.pump(t, now, ipB, b.Tick(now))
		n.pump(t, now, ipA, a.Tick(now))
	}
	if !a.IsAlive(ipB) {
		t.Fatal("B not alive again")
	}
}

func TestRemoveEndpointQuarantine(t *testing.T) {
	a, b := newG(ipA, ipA), newG(ipB, ipA)
	converge2(t, a, b, t0)
	a.RemoveEndpoint(ipB, t0)
	if _, ok := a.State(ipB); ok || !hasEvent(a.Events(), EventRemoved, ipB) {
		t.Fatal("not removed")
	}
	n := testNet{ipA: a, ipB: b}
	now := t0.Add(10 * time.Second)
	n.pump(t, now, ipB, b.Tick(now))
	if _, ok := a.State(ipB); ok {
		t.Fatal("quarantined endpoint re-added")
	}
	now = t0.Add(DefaultQuarantineDelay + 2*time.Second)
	a.Tick(now) // ends the quarantine
	n.pump(t, now, ipB, b.Tick(now))
	if _, ok := a.State(ipB); !ok {
		t.Fatal("endpoint not re-learned after quarantine")
	}
}

func TestLeftExpires(t *testing.T) {
	a := newG(ipA)
	gen := int32(t0.Unix())
	exp := t0.Add(time.Hour).UnixMilli()
	a.Handle(t0, ipC, stateMsg(ipB, gen, 1, AppStatus, LeftStatus(5, exp), 1))
	if a.IsAlive(ipB) {
		t.Fatal("LEFT node alive")
	}
	a.Tick(t0.Add(30 * time.Minute))
	if _, ok := a.State(ipB); !ok {
		t.Fatal("expired too early")
	}
	a.Tick(t0.Add(2 * time.Hour))
	if _, ok := a.State(ipB); ok {
		t.Fatal("LEFT endpoint not evicted after its expire time")
	}
}

func TestHighVersionsAndDigests(t *testing.T) {
	// A SYN digest older than ours makes us send what is newer; newer makes
	// us request from our max version.
	a := newG(ipA)
	gen := int32(t0.Unix())
	a.Handle(t0, ipC, stateMsg(ipB, gen, 10, AppDC, "dc1", 4, AppRack, "r1", 9))
	syn := Message{Kind: KindSyn, Syn: &Syn{ClusterName: "test", Digests: []GossipDigest{
		{Endpoint: ipB, Generation: gen, MaxVersion: 5},
		{Endpoint: ipC, Generation: gen, MaxVersion: 3},
	}}}
	r := a.Handle(t0, ipC, syn)
	ack := r[0].Ack
	if len(ack.States) != 1 || ack.States[0].Endpoint != ipB || len(ack.States[0].State.States) != 1 ||
		ack.States[0].State.States[AppRack].Value != "r1" || ack.States[0].State.HeartBeat.Version != 10 {
		t.Fatalf("ACK states %+v", ack.States)
	}
	if len(ack.Digests) != 1 || ack.Digests[0] != (GossipDigest{Endpoint: ipC, Generation: gen}) {
		t.Fatalf("ACK digests %+v", ack.Digests)
	}
	// Same generation, remote ahead: request from our max version.
	syn.Syn.Digests = []GossipDigest{{Endpoint: ipB, Generation: gen, MaxVersion: 50}}
	r = a.Handle(t0, ipC, syn)
	if d := r[0].Ack.Digests; len(d) != 1 || d[0].MaxVersion != 10 {
		t.Fatalf("request %+v", d)
	}
	// Up to date: no ACK at all.
	syn.Syn.Digests = []GossipDigest{{Endpoint: ipB, Generation: gen, MaxVersion: 10}}
	if r = a.Handle(t0, ipC, syn); len(r) != 0 {
		t.Fatalf("ACK for an up-to-date digest: %+v", r)
	}
}

func TestMaxMessageBytesSplitsAck(t *testing.T) {
	a := New(Config{Self: ipA, MaxMessageBytes: 300}, t0)
	gen := int32(t0.Unix())
	var ds []GossipDigest
	for i := 0; i < 10; i++ {
		ep := netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)})
		a.Handle(t0, ipC, stateMsg(ep, gen, 1, AppDC, strings.Repeat("d", 100), 1))
		ds = append(ds, GossipDigest{Endpoint: ep, Generation: gen})
	}
	r := a.Handle(t0, ipC, Message{Kind: KindSyn, Syn: &Syn{Digests: ds}})
	if n := len(r[0].Ack.States); n < 1 || n > 3 {
		t.Fatalf("ACK carried %d states, want a bounded few", n)
	}
}

func TestTickTargets(t *testing.T) {
	// With no live peers, a node gossips to a seed other than itself.
	g := New(Config{Self: ipA, Seeds: []netip.Addr{ipA, ipB}}, t0)
	for i := 0; i < 10; i++ {
		out := g.Tick(t0.Add(time.Duration(i) * time.Second))
		if len(out) != 1 || out[0].To != ipB {
			t.Fatalf("tick %d: %+v", i, out)
		}
		if len(out[0].Syn.Digests) != 1 || out[0].Syn.Digests[0].Endpoint != ipA {
			t.Fatalf("digests %+v", out[0].Syn.Digests)
		}
	}
	// The heartbeat version rises every tick, from the shared counter.
	g.SetLocalState(AppLoad, "1")
	st, _ := g.State(ipA)
	if st.HeartBeat.Version != 10 || st.States[AppLoad].Version != 11 {
		t.Fatalf("versions %+v", st)
	}
}

func TestDeterministicReplay(t *testing.T) {
	run := func() (int, int, []string) {
		c := newSimCluster(t, 30, 3, 42)
		c.stepUntil(15, func() bool { return false })
		var views []string
		for _, g := range c.gs {
			views = append(views, strings.Join(func() []string {
				var s []string
				for _, ep := range g.LiveEndpoints() {
					s = append(s, ep.String())
				}
				return s
			}(), ","))
		}
		return c.msgs, c.bytes, views
	}
	m1, b1, v1 := run()
	m2, b2, v2 := run()
	if m1 != m2 || b1 != b2 || !slices.Equal(v1, v2) {
		t.Fatalf("same seed, different runs: %d/%d msgs, %d/%d bytes", m1, m2, b1, b2)
	}
}

func TestStatusHelpers(t *testing.T) {
	cases := []struct {
		v    string
		want Status
	}{
		{BootStatus(-5), Status{Kind: StatusBoot, Token: -5}},
		{NormalStatus(math.MaxInt64), Status{Kind: StatusNormal, Token: math.MaxInt64}},
		{LeavingStatus(3), Status{Kind: StatusLeaving, Token: 3}},
		{LeftStatus(3, 1234), Status{Kind: StatusLeft, Token: 3, ExpireTime: 1234}},
		{ShutdownStatus(), Status{Kind: StatusShutdown}},
		{RemovingStatus("h1"), Status{Kind: StatusRemoving, HostID: "h1"}},
		{RemovedStatus("h1", 9), Status{Kind: StatusRemoved, HostID: "h1", ExpireTime: 9}},
		{BootReplaceStatus("127.0.0.4"), Status{Kind: StatusBootReplace, Replaces: "127.0.0.4"}},
	}
	for _, c := range cases {
		got, err := ParseStatus(c.v)
		if err != nil || got != c.want {
			t.Errorf("ParseStatus(%q) = %+v, %v", c.v, got, err)
		}
	}
	if ShutdownStatus() != "shutdown,true" || NormalStatus(42) != "NORMAL,42" || BootStatus(1) != "BOOT,1" {
		t.Error("status spelling differs from Cassandra's")
	}
	for _, bad := range []string{"", "NORMAL", "NORMAL,x", "LEFT,1", "removed,h", "BOOT_REPLACE", "BOOT_REPLACE,"} {
		if _, err := ParseStatus(bad); err == nil {
			t.Errorf("ParseStatus(%q) accepted", bad)
		}
	}
	toks := []int64{math.MinInt64, 0, 42}
	got, err := ParseTokens(FormatTokens(toks))
	if err != nil || !slices.Equal(got, toks) {
		t.Fatalf("tokens %v %v", got, err)
	}
	if AppStatus.String() != "STATUS" || AppNativeAddressAndPort.String() != "NATIVE_ADDRESS_AND_PORT" ||
		ApplicationState(40).String() != "APPLICATION_STATE_40" {
		t.Fatal("ApplicationState names")
	}
}

func TestConfigValidate(t *testing.T) {
	err := Config{PhiConvictThreshold: -1, MaxEndpoints: -1}.Validate()
	if err == nil || !strings.Contains(err.Error(), "Self") || !strings.Contains(err.Error(), "phi_convict_threshold") ||
		!strings.Contains(err.Error(), "MaxEndpoints") {
		t.Fatalf("Validate: %v", err)
	}
	if err := (Config{Self: ipA}).Validate(); err != nil {
		t.Fatal(err)
	}
}
