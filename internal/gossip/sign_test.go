package gossip

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringdb/ringdb/internal/pki"
)

// fakePKI issues fake certificates ("fakecert:<addr>:<n>") with a secret
// each; signatures are HMACs padded to the size of an ECDSA P-256 one. It
// is a cheap stand-in for pki with the same semantics: a certificate
// speaks for its address only, only issued certificates are valid, and a
// revoked one is refused.
type fakePKI struct {
	mu      sync.Mutex
	n       int
	secrets map[string][]byte
	addrs   map[string]netip.Addr
	revoked map[string]bool
}

func newFakePKI() *fakePKI {
	return &fakePKI{secrets: map[string][]byte{}, addrs: map[string]netip.Addr{}, revoked: map[string]bool{}}
}

// fakeSigner is one issued certificate and its secret.
type fakeSigner struct {
	cert   string
	secret []byte
}

func (s *fakeSigner) Sign(payload []byte) ([]byte, error) { return fakeMAC(s.secret, payload), nil }
func (s *fakeSigner) Certificate() []byte                 { return []byte(s.cert) }

func fakeMAC(secret, payload []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write(payload)
	sum := m.Sum(nil)
	return append(append(sum, sum...), sum[:8]...) // 72 bytes, like ECDSA P-256
}

// issue makes a certificate for ep.
func (p *fakePKI) issue(ep netip.Addr) *fakeSigner {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	cert := fmt.Sprintf("fakecert:%s:%d", ep, p.n)
	secret := []byte(fmt.Sprintf("secret-%d", p.n))
	p.secrets[cert], p.addrs[cert] = secret, ep
	return &fakeSigner{cert: cert, secret: secret}
}

func (p *fakePKI) CheckCertificate(ep netip.Addr, cert []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	a, ok := p.addrs[string(cert)]
	switch {
	case !ok:
		return fmt.Errorf("not issued by the test CA")
	case a != ep:
		return fmt.Errorf("certificate is for %s", a)
	case p.revoked[string(cert)]:
		return fmt.Errorf("revoked")
	}
	return nil
}

func (p *fakePKI) Verify(cert, payload, sig []byte) bool {
	p.mu.Lock()
	secret, ok := p.secrets[string(cert)]
	p.mu.Unlock()
	return ok && hmac.Equal(sig, fakeMAC(secret, payload))
}

// newSG is newG with a signer from p and p as verifier.
func newSG(p *fakePKI, self netip.Addr, seeds ...netip.Addr) *Gossiper {
	return New(Config{Self: self, ClusterName: "test", Seeds: seeds, Rand: rand.New(rand.NewPCG(1, 2)),
		Signer: p.issue(self), Verifier: p}, t0)
}

var ipX = addr("127.0.0.159") // an attacker holding a valid certificate for itself

// eventsOf returns the events of kind k.
func eventsOf(evs []Event, k EventKind) []Event {
	var out []Event
	for _, e := range evs {
		if e.Kind == k {
			out = append(out, e)
		}
	}
	return out
}

// ack2 wraps states in an ACK2.
func ack2(states ...GossipState) Message {
	return Message{Kind: KindAck2, Ack2: &Ack2{States: states}}
}

// signedState returns ep's state as signer s would gossip it: every
// value and the heartbeat signed, CERT included.
func signedState(s Signer, ep netip.Addr, gen, hbv int32, kv map[ApplicationState]string) EndpointState {
	st := EndpointState{States: map[ApplicationState]VersionedValue{}}
	v := int32(0)
	kv[AppCert] = string(s.Certificate())
	for _, k := range slices.Sorted(func(yield func(ApplicationState) bool) {
		for k := range kv {
			if !yield(k) {
				return
			}
		}
	}) {
		v++
		sig, _ := s.Sign(StatePayload(ep, gen, k, v, kv[k]))
		st.States[k] = VersionedValue{Value: kv[k], Version: v, Sig: sig}
	}
	hbv = max(hbv, v+1)
	sig, _ := s.Sign(HeartBeatPayload(ep, gen, hbv))
	st.HeartBeat = HeartBeatState{Generation: gen, Version: hbv, Sig: sig}
	return st
}

// The local node signs everything it gossips: its CERT, each state it
// sets and every heartbeat.
func TestLocalStatesAreSigned(t *testing.T) {
	p := newFakePKI()
	a := newSG(p, ipA)
	a.SetLocalState(AppStatus, NormalStatus(1))
	a.Tick(t0)
	st, _ := a.State(ipA)
	cert := []byte(st.States[AppCert].Value)
	if err := p.CheckCertificate(ipA, cert); err != nil {
		t.Fatalf("CERT: %v", err)
	}
	for k, vv := range st.States {
		if !p.Verify(cert, StatePayload(ipA, st.HeartBeat.Generation, k, vv.Version, vv.Value), vv.Sig) {
			t.Errorf("%s not signed", k)
		}
	}
	if !p.Verify(cert, HeartBeatPayload(ipA, st.HeartBeat.Generation, st.HeartBeat.Version), st.HeartBeat.Sig) {
		t.Error("heartbeat not signed")
	}
	// The signatures survive the wire.
	m, err := Unmarshal((&Message{Kind: KindAck2, Ack2: &Ack2{States: []GossipState{{ipA, st}}}}).Marshal())
	if err != nil || !slices.Equal(m.Ack2.States[0].State.States[AppStatus].Sig, st.States[AppStatus].Sig) {
		t.Fatalf("signature lost on the wire: %v", err)
	}
}

// The attack of issue 13 on the gossip core: a peer holding a valid
// certificate for itself (127.0.0.159) sends states about B. Every forgery
// is dropped before anything is applied, reported with the sender, and B
// stays as it was, alive.
func TestForgedRelayedStatesDropped(t *testing.T) {
	p := newFakePKI()
	a, b := newSG(p, ipA, ipA), newSG(p, ipB, ipA)
	b.SetLocalState(AppTokens, "10,20")
	b.SetLocalState(AppStatus, NormalStatus(10))
	converge2(t, a, b, t0)
	before, _ := a.State(ipB)
	x := p.issue(ipX)
	gen := before.HeartBeat.Generation
	bCert := before.States[AppCert]
	next := before.MaxVersion() + 100

	shutdownSigned := func(s Signer, g, v int32) VersionedValue {
		sig, _ := s.Sign(StatePayload(ipB, g, AppStatus, v, ShutdownStatus()))
		return VersionedValue{Value: ShutdownStatus(), Version: v, Sig: sig}
	}
	hb := func(s Signer, g, v int32) HeartBeatState {
		sig, _ := s.Sign(HeartBeatPayload(ipB, g, v))
		return HeartBeatState{Generation: g, Version: v, Sig: sig}
	}
	future := int32(t0.Unix() + 300*86400)
	cases := []struct {
		name  string
		state EndpointState
		kind  EventKind
		why   string
	}{
		{"shutdown with a generation 300 days ahead", EndpointState{HeartBeat: hb(x, future, 1),
			States: map[ApplicationState]VersionedValue{AppStatus: shutdownSigned(x, future, 1)}}, EventRejected, "ahead of local time"},
		{"shutdown in a new generation signed by the sender", signedState(x, ipB, gen+60, 1,
			map[ApplicationState]string{AppStatus: ShutdownStatus()}), EventForged, "certificate of 127.0.0.2"},
		{"new generation, the sender's signatures with B's certificate", func() EndpointState {
			st := signedState(x, ipB, gen+60, 1, map[ApplicationState]string{AppStatus: ShutdownStatus()})
			st.States[AppCert] = VersionedValue{Value: bCert.Value, Version: st.States[AppCert].Version, Sig: st.States[AppCert].Sig}
			return st
		}(), EventForged, "does not verify"},
		{"unsigned STATUS in B's generation", EndpointState{HeartBeat: before.HeartBeat,
			States: map[ApplicationState]VersionedValue{AppStatus: {Value: ShutdownStatus(), Version: next}}}, EventForged, "unsigned STATUS"},
		{"STATUS signed by the sender in B's generation", EndpointState{HeartBeat: before.HeartBeat,
			States: map[ApplicationState]VersionedValue{AppStatus: shutdownSigned(x, gen, next)}}, EventForged, "STATUS signature"},
		{"TOKENS taken over", EndpointState{HeartBeat: before.HeartBeat,
			States: map[ApplicationState]VersionedValue{AppTokens: func() VersionedValue {
				sig, _ := x.Sign(StatePayload(ipB, gen, AppTokens, next, "10"))
				return VersionedValue{Value: "10", Version: next, Sig: sig}
			}()}}, EventForged, "TOKENS signature"},
		{"B's CERT replaced by the sender's", EndpointState{HeartBeat: before.HeartBeat,
			States: map[ApplicationState]VersionedValue{
				AppCert: func() VersionedValue {
					sig, _ := x.Sign(StatePayload(ipB, gen, AppCert, next, x.cert))
					return VersionedValue{Value: x.cert, Version: next, Sig: sig}
				}(),
				AppStatus: shutdownSigned(x, gen, next+1)}}, EventForged, "is for 127.0.0.159"},
		{"heartbeat forced to the highest version, unsigned", EndpointState{HeartBeat: HeartBeatState{Generation: gen, Version: 1 << 30}},
			EventForged, "unsigned heartbeat"},
		{"heartbeat with a forged signature", EndpointState{HeartBeat: hb(x, gen, 1<<30)}, EventForged, "heartbeat signature"},
	}
	now := t0.Add(3 * time.Second)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a.Events()
			// Through the wire, as the attacker would send it.
			m, err := Unmarshal((&Message{Kind: KindAck2, Ack2: &Ack2{States: []GossipState{{ipB, tc.state}}}}).Marshal())
			if err != nil {
				t.Fatal(err)
			}
			if out := a.Handle(now, ipX, m); len(out) != 0 {
				t.Fatalf("replies %+v", out)
			}
			after, _ := a.State(ipB)
			if after.HeartBeat.Generation != before.HeartBeat.Generation || after.HeartBeat.Version != before.HeartBeat.Version ||
				after.MaxVersion() != before.MaxVersion() || after.States[AppStatus].Value != NormalStatus(10) || !a.IsAlive(ipB) {
				t.Fatalf("B changed: %+v", after)
			}
			evs := a.Events()
			refused := eventsOf(evs, tc.kind)
			if len(refused) != 1 || len(evs) != 1 || refused[0].Endpoint != ipB || refused[0].From != ipX ||
				!strings.Contains(refused[0].Reason, tc.why) {
				t.Fatalf("events %v, want one %s about B from %s saying %q", evs, tc.kind, ipX, tc.why)
			}
		})
	}

	// B is told a state of its own newer than its own: a forgery, reported
	// with the sender.
	b.Events()
	b.Handle(now, ipX, ack2(GossipState{ipB, cases[4].state}))
	if st, _ := b.State(ipB); st.States[AppStatus].Value != NormalStatus(10) {
		t.Fatal("B applied a state about itself")
	}
	if evs := b.Events(); len(evs) != 1 || evs[0].Kind != EventForged || evs[0].From != ipX || !strings.Contains(evs[0].Reason, "newer than its own") {
		t.Fatalf("B's events %v", evs)
	}

	// After a forged state the rest of the message is dropped, even valid
	// states (no honest relay sends a forgery).
	a.Events()
	c := newSG(p, ipC, ipA)
	c.SetLocalState(AppStatus, NormalStatus(30))
	cs, _ := c.State(ipC)
	a.Handle(now, ipX, ack2(GossipState{ipB, cases[3].state}, GossipState{ipC, cs}))
	if _, ok := a.State(ipC); ok {
		t.Fatal("a state after a forged one in the same message was applied")
	}
	evs := a.Events()
	if len(eventsOf(evs, EventForged)) != 1 || len(eventsOf(evs, EventRejected)) != 1 || eventsOf(evs, EventRejected)[0].From != ipX {
		t.Fatalf("events %v", evs)
	}
	// The same valid state alone is accepted.
	a.Handle(now, ipX, ack2(GossipState{ipC, cs}))
	if _, ok := a.State(ipC); !ok {
		t.Fatal("a valid relayed state was refused")
	}
}

// A peer that does not sign is not believed, not even about itself.
func TestUnsignedStateRefused(t *testing.T) {
	p := newFakePKI()
	a := newSG(p, ipA, ipA)
	b := newG(ipB, ipA) // no Signer
	b.SetLocalState(AppStatus, NormalStatus(2))
	n := testNet{ipA: a, ipB: b}
	for i := range 5 {
		now := t0.Add(time.Duration(i) * time.Second)
		n.pump(t, now, ipB, b.Tick(now))
	}
	if _, ok := a.State(ipB); ok {
		t.Fatal("unsigned state applied")
	}
	forged := eventsOf(a.Events(), EventForged)
	if len(forged) == 0 || forged[0].From != ipB || !strings.Contains(forged[0].Reason, "no certificate") {
		t.Fatalf("events %v", forged)
	}
	// With a CERT but no signatures: still refused.
	st, _ := b.State(ipB)
	st.States[AppCert] = VersionedValue{Value: p.issue(ipB).cert, Version: st.MaxVersion() + 1}
	a.Handle(t0, ipB, ack2(GossipState{ipB, st}))
	if _, ok := a.State(ipB); ok {
		t.Fatal("unsigned state with a certificate applied")
	}
	if forged := eventsOf(a.Events(), EventForged); len(forged) != 1 || !strings.Contains(forged[0].Reason, "unsigned") {
		t.Fatalf("events %v", forged)
	}
}

// Signed states still spread epidemically: C learns B's state from A
// alone, verifies it and, once B's CERT is revoked, refuses B's news.
func TestSignedStatesRelayed(t *testing.T) {
	p := newFakePKI()
	a, b, c := newSG(p, ipA, ipA), newSG(p, ipB, ipA), newSG(p, ipC, ipA)
	b.SetLocalState(AppStatus, NormalStatus(2))
	converge2(t, a, b, t0)
	// C talks to A only.
	n := testNet{ipA: a, ipC: c}
	now := t0
	for range 4 {
		now = now.Add(time.Second)
		n.pump(t, now, ipC, c.Tick(now))
		n.pump(t, now, ipA, a.Tick(now))
	}
	sb, _ := b.State(ipB)
	sc, ok := c.State(ipB)
	if !ok || sc.HeartBeat.Generation != sb.HeartBeat.Generation || sc.States[AppStatus].Value != NormalStatus(2) ||
		sc.States[AppCert].Value != sb.States[AppCert].Value {
		t.Fatalf("C's view of B %+v", sc)
	}
	if evs := c.Events(); len(eventsOf(evs, EventForged))+len(eventsOf(evs, EventRejected)) != 0 {
		t.Fatalf("refusals %v", evs)
	}
	// B shuts down: its signed shutdown STATUS reaches A first-hand and C
	// through A.
	out := b.Shutdown(now)
	for _, m := range out {
		n.pump(t, now, ipB, []Message{m})
	}
	if st, _ := a.State(ipB); st.States[AppStatus].Value != ShutdownStatus() || a.IsAlive(ipB) {
		t.Fatalf("A's view of B after its shutdown: %+v", st.States[AppStatus])
	}
	for range 4 {
		now = now.Add(time.Second)
		n.pump(t, now, ipC, c.Tick(now))
	}
	if st, _ := c.State(ipB); st.States[AppStatus].Value != ShutdownStatus() {
		t.Fatalf("C's view of B after its shutdown: %+v", st.States[AppStatus])
	}
	if evs := c.Events(); len(eventsOf(evs, EventForged)) != 0 {
		t.Fatalf("refusals %v", evs)
	}

	// B restarts; its certificate is revoked meanwhile: C no longer
	// accepts B's states, whoever relays them.
	b2 := New(Config{Self: ipB, ClusterName: "test", Seeds: []netip.Addr{ipA}, Generation: int32(now.Unix()) + 1,
		Signer: &fakeSigner{cert: sb.States[AppCert].Value, secret: p.secrets[sb.States[AppCert].Value]}, Verifier: p}, now)
	b2.SetLocalState(AppStatus, NormalStatus(2))
	p.mu.Lock()
	p.revoked[sb.States[AppCert].Value] = true
	p.mu.Unlock()
	st, _ := b2.State(ipB)
	c.Handle(now, ipA, ack2(GossipState{ipB, st}))
	if got, _ := c.State(ipB); got.HeartBeat.Generation != sb.HeartBeat.Generation {
		t.Fatal("state of a revoked certificate applied")
	}
	if forged := eventsOf(c.Events(), EventForged); len(forged) != 1 || forged[0].From != ipA || !strings.Contains(forged[0].Reason, "revoked") {
		t.Fatalf("events %v", forged)
	}
}

// Per-message and per-endpoint bounds are checked before anything is
// applied: a message that breaks one is refused whole, reported with its
// sender.
func TestMessageLimits(t *testing.T) {
	p := newFakePKI()
	gen := int32(t0.Unix())
	endpoint := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}) }
	mk := func(i, tokens int) GossipState {
		toks := make([]int64, tokens)
		rng := rand.New(rand.NewPCG(uint64(i), 7))
		for j := range toks {
			toks[j] = int64(rng.Uint64()) // 19-20 characters, as real tokens
		}
		return GossipState{endpoint(i), signedState(p.issue(endpoint(i)), endpoint(i), gen, 1,
			map[ApplicationState]string{AppStatus: NormalStatus(toks[0]), AppTokens: FormatTokens(toks)})}
	}
	refusedWhole := func(t *testing.T, a *Gossiper, m Message, why string) {
		t.Helper()
		m, err := Unmarshal(m.Marshal())
		if err != nil {
			t.Fatal(err)
		}
		known := len(a.Endpoints())
		a.Events()
		a.Handle(t0, ipX, m)
		if got := len(a.Endpoints()); got != known {
			t.Fatalf("%d endpoints learned from a refused message", got-known)
		}
		evs := a.Events()
		if len(evs) != 1 || evs[0].Kind != EventRejected || evs[0].From != ipX || !strings.Contains(evs[0].Reason, why) {
			t.Fatalf("events %v, want one refusal from %s saying %q", evs, ipX, why)
		}
	}

	t.Run("tokens per endpoint", func(t *testing.T) {
		a := newSG(p, ipA)
		refusedWhole(t, a, ack2(mk(1, 4), mk(2, DefaultMaxTokens+1)), "257 tokens (max 256)")
		a.Handle(t0, ipX, ack2(mk(1, 4), mk(2, DefaultMaxTokens)))
		if len(a.Endpoints()) != 3 {
			t.Fatal("states within the bound refused")
		}
		b := New(Config{Self: ipA, MaxTokens: 1000, Verifier: p}, t0)
		b.Handle(t0, ipX, ack2(mk(3, 1000)))
		if len(b.Endpoints()) != 2 {
			t.Fatal("MaxTokens not honoured")
		}
	})
	t.Run("unknown endpoints per message", func(t *testing.T) {
		a := newSG(p, ipA)
		var states []GossipState
		for i := range DefaultMaxNewEndpoints + 1 {
			states = append(states, mk(10+i, 1))
		}
		refusedWhole(t, a, ack2(states...), "17 unknown endpoints (max 16")
		a.Handle(t0, ipX, ack2(states[:DefaultMaxNewEndpoints]...))
		if len(a.Endpoints()) != 1+DefaultMaxNewEndpoints {
			t.Fatalf("%d endpoints", len(a.Endpoints()))
		}
		// Known endpoints do not count.
		a.Handle(t0, ipX, ack2(states...))
		if len(a.Endpoints()) != 2+DefaultMaxNewEndpoints {
			t.Fatalf("%d endpoints", len(a.Endpoints()))
		}
		// And an ACK requests at most that many unknown endpoints.
		var ds []GossipDigest
		for i := range 40 {
			ds = append(ds, GossipDigest{Endpoint: endpoint(100 + i), Generation: gen, MaxVersion: 5})
		}
		r := a.Handle(t0, ipX, Message{Kind: KindSyn, Syn: &Syn{ClusterName: "test", Digests: ds}})
		if len(r) != 1 || len(r[0].Ack.Digests) != DefaultMaxNewEndpoints {
			t.Fatalf("ACK requests %d unknown endpoints", len(r[0].Ack.Digests))
		}
	})
	t.Run("state size", func(t *testing.T) {
		a := New(Config{Self: ipA, Verifier: p, MaxStateBytes: 4096, MaxMessageBytes: 12 << 10}, t0)
		refusedWhole(t, a, ack2(mk(1, 4), mk(2, 250)), "bytes (max 4096)")
		var states []GossipState
		for i := range 8 {
			states = append(states, mk(20+i, 100))
		}
		refusedWhole(t, a, ack2(states...), "exceed 12288")
		a.Handle(t0, ipX, ack2(states[:4]...))
		if len(a.Endpoints()) != 5 {
			t.Fatalf("%d endpoints", len(a.Endpoints()))
		}
	})
	t.Run("the 818 KB flood: 40 endpoints with 1000 tokens each", func(t *testing.T) {
		a := newSG(p, ipA)
		var states []GossipState
		for i := range 40 {
			states = append(states, mk(200+i, 1000))
		}
		m := ack2(states...)
		if n := len(m.Marshal()); n < 800<<10 || n > 1<<20 {
			t.Fatalf("flood is %d bytes", n)
		}
		refusedWhole(t, a, m, "tokens (max 256)")
	})
}

// The same checks with ringdb's real verifier: certificates of the
// cluster CA, ECDSA P-256 signatures.
func TestForgeryRefusedWithRealKeys(t *testing.T) {
	signers, v := realPKI(t, ipA, ipB, ipX)
	mk := func(self netip.Addr) *Gossiper {
		return New(Config{Self: self, ClusterName: "test", Seeds: []netip.Addr{ipA}, Signer: signers[self], Verifier: v}, t0)
	}
	a, b := mk(ipA), mk(ipB)
	b.SetLocalState(AppStatus, NormalStatus(2))
	converge2(t, a, b, t0)
	before, _ := a.State(ipB)
	if !a.IsAlive(ipB) || before.States[AppStatus].Value != NormalStatus(2) {
		t.Fatal("signed states did not converge")
	}
	// 127.0.0.159 announces B's shutdown in B's generation, and in a new
	// one, signed with its own (valid) key.
	gen := before.HeartBeat.Generation
	for _, g := range []int32{gen, gen + 30} {
		st := signedState(signers[ipX], ipB, g, before.MaxVersion()+10, map[ApplicationState]string{AppStatus: ShutdownStatus()})
		st.States[AppCert] = before.States[AppCert] // B's certificate, its signature
		a.Handle(t0, ipX, ack2(GossipState{ipB, st}))
	}
	if after, _ := a.State(ipB); after.HeartBeat.Generation != gen || after.States[AppStatus].Value != NormalStatus(2) || !a.IsAlive(ipB) {
		t.Fatalf("forgery applied: %+v", after.States[AppStatus])
	}
	forged := eventsOf(a.Events(), EventForged)
	if len(forged) != 2 || forged[0].From != ipX || forged[1].From != ipX {
		t.Fatalf("events %v", forged)
	}
}

// realPKI issues pki node certificates for addrs from one test CA and
// returns their signers and a verifier of that cluster.
func realPKI(t testing.TB, addrs ...netip.Addr) (map[netip.Addr]Signer, Verifier) {
	t.Helper()
	dir := t.TempDir()
	ca, err := pki.InitCA(filepath.Join(dir, "ca"), "gossip")
	if err != nil {
		t.Fatal(err)
	}
	signers := map[netip.Addr]Signer{}
	var v Verifier
	for _, a := range addrs {
		d := filepath.Join(dir, a.String())
		if err := ca.IssueNode(a, d); err != nil {
			t.Fatal(err)
		}
		id, err := pki.LoadIdentity(d)
		if err != nil {
			t.Fatal(err)
		}
		s, err := id.StateSigner()
		if err != nil {
			t.Fatal(err)
		}
		signers[a] = s
		if v == nil {
			v = id.StateVerifier()
		}
	}
	return signers, v
}
