package revocation

import (
	"context"
	"crypto/x509"
	"errors"
	"github.com/ringdb/ringdb/internal/testnet"
	"log/slog"
	"math/big"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringdb/ringdb/internal/messaging"
	"github.com/ringdb/ringdb/internal/pki"
)

// audits records audit events.
type audits struct {
	mu  sync.Mutex
	evs []pki.AuditEvent
}

func (a *audits) Record(ev pki.AuditEvent) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.evs = append(a.evs, ev)
	return nil
}

// find returns the events with outcome whose peer and serial match (""
// matches any).
func (a *audits) find(outcome, peer, serial string) []pki.AuditEvent {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []pki.AuditEvent
	for _, ev := range a.evs {
		if ev.Kind == pki.AuditRevocation && ev.Outcome == outcome && (peer == "" || ev.Peer == peer) && (serial == "" || ev.Serial == serial) {
			out = append(out, ev)
		}
	}
	return out
}

// waitFor waits (bounded) until cond holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// testCluster is a CA plus nodes, each a messaging service and a
// revocation service on its own loopback address.
type testCluster struct {
	t     *testing.T
	ca    *pki.CA
	port  int
	base  string
	nodes map[string]*node
}

type node struct {
	addr    netip.Addr
	dir     string
	id      *pki.Identity
	msg     *messaging.Service
	rev     *Service
	audit   *audits
	revoked chan string // "addr serial" per OnRevoked call

	peersMu sync.Mutex
	peersFn func() []netip.Addr // the live members; all other nodes unless set
}

func (n *node) peers() []netip.Addr {
	n.peersMu.Lock()
	defer n.peersMu.Unlock()
	return n.peersFn()
}

// setPeers makes addrs the node's live members.
func (n *node) setPeers(addrs ...netip.Addr) {
	n.peersMu.Lock()
	defer n.peersMu.Unlock()
	n.peersFn = func() []netip.Addr { return addrs }
}

func newTestCluster(t *testing.T) *testCluster {
	t.Helper()
	base := t.TempDir()
	ca, err := pki.InitCA(filepath.Join(base, "ca"), "x")
	if err != nil {
		t.Fatal(err)
	}
	return &testCluster{t: t, ca: ca, port: testnet.FreePort(t), base: base, nodes: map[string]*node{}}
}

func logger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// issue gives addr a certificate (once).
func (c *testCluster) issue(addr string) string {
	dir := filepath.Join(c.base, addr)
	if _, err := os.Stat(filepath.Join(dir, "certs", pki.NodeCrtFile)); err != nil {
		if err := c.ca.IssueNode(netip.MustParseAddr(addr), filepath.Join(dir, "certs")); err != nil {
			c.t.Fatal(err)
		}
	}
	return dir
}

// start starts (or restarts, with the same directory) the node at addr;
// its peers are all the other nodes of the cluster.
func (c *testCluster) start(addr string) *node {
	t := c.t
	t.Helper()
	dir := c.issue(addr)
	id, err := pki.LoadIdentity(filepath.Join(dir, "certs"))
	if err != nil {
		t.Fatal(err)
	}
	n := &node{addr: id.Address, dir: dir, id: id, audit: &audits{}, revoked: make(chan string, 16)}
	msg, err := messaging.New(messaging.Options{Self: id.Address, Port: c.port, ClusterID: id.ClusterID,
		ServerTLS: id.ServerConfig(), ClientTLS: id.ClientConfig(), PeerAddress: pki.PeerAddress,
		HandshakeTimeout: 3 * time.Second, RequestTimeout: 3 * time.Second, Logger: logger()})
	if err != nil {
		t.Fatal(err)
	}
	msg.Handle(messaging.VerbEcho, func(context.Context, netip.Addr, []byte) ([]byte, error) { return []byte("pong"), nil })
	n.msg = msg
	n.peersFn = func() []netip.Addr {
		var out []netip.Addr
		for a := range c.nodes {
			if a != addr {
				out = append(out, netip.MustParseAddr(a))
			}
		}
		slices.SortFunc(out, netip.Addr.Compare)
		return out
	}
	rev, err := New(Options{Identity: id, Messaging: msg, Path: filepath.Join(dir, "crl.pem"), Audit: n.audit,
		Peers: n.peers, Interval: time.Hour, RequestTimeout: 3 * time.Second, Logger: logger(),
		OnRevoked: func(a netip.Addr, s *big.Int) { n.revoked <- a.String() + " " + s.String() }})
	if err != nil {
		msg.Close()
		t.Fatal(err)
	}
	n.rev = rev
	if err := msg.Start(); err != nil {
		t.Fatal(err)
	}
	rev.Start()
	t.Cleanup(n.stop)
	c.nodes[addr] = n
	return n
}

func (n *node) stop() {
	n.rev.Close()
	n.msg.Close()
}

func (n *node) echo(to *node, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	_, err := n.msg.Request(ctx, to.addr, messaging.VerbEcho, nil)
	return err
}

func (n *node) serial() string { return pki.FormatSerial(n.id.Serial()) }

func (c *testCluster) revoke(req pki.RevokeRequest) []byte {
	c.t.Helper()
	r, err := c.ca.Revoke(req)
	if err != nil {
		c.t.Fatal(err)
	}
	return r.CRL.PEM()
}

// TestSubmitSpreadsAndClosesConnections: a list handed to node 1 is
// installed, stored and pushed to node 2 before Submit returns; both close
// their open connections with node 3, refuse it from then on in both
// directions and audit it, while they keep talking to each other.
func TestSubmitSpreadsAndClosesConnections(t *testing.T) {
	c := newTestCluster(t)
	one, two, three := c.start("127.0.0.1"), c.start("127.0.0.2"), c.start("127.0.0.3")
	for _, p := range [][2]*node{{one, two}, {two, one}, {one, three}, {three, one}, {two, three}, {three, two}} {
		if err := p[0].echo(p[1], 5*time.Second); err != nil {
			t.Fatalf("%v -> %v before the revocation: %v", p[0].addr, p[1].addr, err)
		}
	}

	res, err := one.rev.Submit(context.Background(), c.revoke(pki.RevokeRequest{Addresses: []netip.Addr{three.addr}}))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Installed || res.Number.Int64() != 1 || len(res.Newly) != 1 || pki.FormatSerial(res.Newly[0]) != three.serial() {
		t.Fatalf("Submit: %+v", res)
	}
	closedIn, closedOut := false, false
	for _, rc := range res.Closed {
		if rc.Peer != three.addr {
			t.Fatalf("closed a connection of %v", rc.Peer)
		}
		closedIn, closedOut = closedIn || rc.Inbound, closedOut || !rc.Inbound
	}
	if !closedIn || !closedOut {
		t.Fatalf("closed %+v, want node 3's inbound and outbound connections", res.Closed)
	}
	if len(res.Pushed) != 1 || res.Pushed[0].Peer != two.addr || res.Pushed[0].Err != "" || res.Pushed[0].Number.Int64() != 1 {
		t.Fatalf("pushed %+v, want node 2 only (node 3's connections were just closed as revoked)", res.Pushed)
	}
	// Node 2 installed, stored and applied it before answering the push.
	for _, n := range []*node{one, two} {
		if got := n.rev.Number().Int64(); got != 1 {
			t.Fatalf("%v holds CRL number %d", n.addr, got)
		}
		data, err := os.ReadFile(filepath.Join(n.dir, "crl.pem"))
		if err != nil {
			t.Fatalf("%v did not store the list: %v", n.addr, err)
		}
		if stored, err := pki.ParseCRL(data, c.ca.Cert); err != nil || stored.Number.Int64() != 1 {
			t.Fatalf("%v stored %v, %v", n.addr, stored, err)
		}
		if len(n.audit.find("connection_closed", "127.0.0.3", three.serial())) == 0 {
			t.Fatalf("%v: no audit of the closed connection; audits %+v", n.addr, n.audit.evs)
		}
		if len(n.audit.find("revoked", "", three.serial())) != 1 {
			t.Fatalf("%v: no audit of the revoked serial", n.addr)
		}
		select {
		case got := <-n.revoked:
			if got != "127.0.0.3 "+three.serial() {
				t.Fatalf("%v: OnRevoked(%s)", n.addr, got)
			}
		default:
			t.Fatalf("%v: OnRevoked not called", n.addr)
		}
	}
	if ev := one.audit.find("accepted", AdminSource, ""); len(ev) != 1 {
		t.Fatalf("node 1: accepted audits %+v", ev)
	}
	if ev := two.audit.find("accepted", "127.0.0.1", ""); len(ev) != 1 {
		t.Fatalf("node 2: accepted audits %+v (want the sender named)", ev)
	}

	// Node 3 reaches nobody, and nobody reaches node 3; 1 and 2 still talk.
	var wg sync.WaitGroup
	for _, p := range [][2]*node{{three, one}, {three, two}, {one, three}, {two, three}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p[0].echo(p[1], 2*time.Second); err == nil {
				t.Errorf("%v -> %v works after the revocation", p[0].addr, p[1].addr)
			}
		}()
	}
	wg.Wait()
	if err := one.echo(two, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := two.echo(one, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	// The refused handshakes are audited with node 3's serial and address,
	// as server (node 3 dialed in) and as client (we dialed node 3).
	for _, n := range []*node{one, two} {
		waitFor(t, "refused-handshake audits", func() bool {
			evs := n.audit.find("refused", "127.0.0.3", three.serial())
			in, out := false, false
			for _, ev := range evs {
				in = in || strings.Contains(ev.Reason, "a client presented")
				out = out || strings.Contains(ev.Reason, "the server this node dialed")
			}
			return in && out
		})
	}

	// Submitting the same list again changes nothing and pushes it again.
	data, err := os.ReadFile(filepath.Join(c.ca.Dir, pki.CRLFile))
	if err != nil {
		t.Fatal(err)
	}
	one.setPeers(two.addr)
	res, err = one.rev.Submit(context.Background(), data)
	if err != nil || res.Installed || res.Number.Int64() != 1 || len(res.Pushed) != 1 || res.Pushed[0].Err != "" {
		t.Fatalf("Submit of the installed list: %+v, %v", res, err)
	}
	if n := len(one.audit.find("accepted", "", "")); n != 1 {
		t.Fatalf("%d accepted audits after a resubmission", n)
	}
}

// TestLateMemberCatchesUp: a member down during the push gets the list by
// pull when it is back (either side can start it), and a restarted node
// loads its stored list before it listens.
func TestLateMemberCatchesUp(t *testing.T) {
	c := newTestCluster(t)
	one := c.start("127.0.0.1")
	c.issue("127.0.0.9")
	// Node 2 is down: the push to it fails.
	one.setPeers(netip.MustParseAddr("127.0.0.2"))
	res, err := one.rev.Submit(context.Background(), c.revoke(pki.RevokeRequest{Addresses: []netip.Addr{netip.MustParseAddr("127.0.0.9")}}))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Pushed) != 1 || res.Pushed[0].Err == "" {
		t.Fatalf("push to a down member: %+v", res.Pushed)
	}

	// Node 2 comes up and sees node 1 up: it pulls.
	two := c.start("127.0.0.2")
	if two.rev.Number().Sign() != 0 {
		t.Fatal("node 2 has a list before pulling")
	}
	if err := two.rev.Pull(context.Background(), one.addr); err != nil {
		t.Fatal(err)
	}
	if got := two.rev.Number().Int64(); got != 1 {
		t.Fatalf("node 2 holds number %d after pulling", got)
	}
	if ev := two.audit.find("accepted", "127.0.0.1", ""); len(ev) != 1 {
		t.Fatalf("node 2 accepted audits %+v", ev)
	}

	// A newer list reaches only node 2 (it has no live peer to push to).
	// When node 1 sees node 2 come up it pulls, offering its older number,
	// and gets the newer list.
	two.setPeers()
	if _, err := two.rev.Submit(context.Background(), c.revoke(pki.RevokeRequest{Serials: []*big.Int{big.NewInt(1000)}})); err != nil {
		t.Fatal(err)
	}
	// (Node 1's lane to node 2 may still be backing off from the failed
	// push: PeerUp is repeated until a pull gets through, as gossip's UP
	// events and the periodic pull do. PeerUp runs one pull at a time.)
	waitFor(t, "node 1 to pull CRL number 2", func() bool {
		one.rev.PeerUp(two.addr)
		return one.rev.Number().Int64() == 2
	})

	// The other way round: node 2 (again alone with a newer list) pulls
	// from node 1, offering its newer number; node 1 has nothing newer to
	// answer with and pulls from node 2 in turn.
	if _, err := two.rev.Submit(context.Background(), c.revoke(pki.RevokeRequest{Serials: []*big.Int{big.NewInt(1001)}})); err != nil {
		t.Fatal(err)
	}
	if err := two.rev.Pull(context.Background(), one.addr); err != nil {
		t.Fatal(err)
	}
	// Node 1 pulls back asynchronously over its lane to node 2, which may
	// be backing off: repeat the trigger as gossip's UP events would.
	waitFor(t, "node 1 to pull back CRL number 3", func() bool {
		one.rev.PeerUp(two.addr)
		return one.rev.Number().Int64() == 3
	})

	// Restart node 2: the stored list is installed by New, before the
	// node listens.
	two.stop()
	id, err := pki.LoadIdentity(filepath.Join(two.dir, "certs"))
	if err != nil {
		t.Fatal(err)
	}
	msg, err := messaging.New(messaging.Options{Self: id.Address, Port: c.port, ClusterID: id.ClusterID,
		ServerTLS: id.ServerConfig(), ClientTLS: id.ClientConfig(), PeerAddress: pki.PeerAddress})
	if err != nil {
		t.Fatal(err)
	}
	defer msg.Close()
	rev, err := New(Options{Identity: id, Messaging: msg, Path: filepath.Join(two.dir, "crl.pem"), Peers: func() []netip.Addr { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer rev.Close()
	if got := id.CRL(); got == nil || got.Number.Int64() != 3 {
		t.Fatalf("restarted node holds %v", got)
	}
}

// TestRefusesForgedOlderAndGarbage: lists that do not verify against the
// cluster CA, or are not newer, are refused over the wire and through
// Submit, change nothing, and are audited naming the sender (once per
// sender per AuditInterval).
func TestRefusesForgedOlderAndGarbage(t *testing.T) {
	c := newTestCluster(t)
	one, two := c.start("127.0.0.1"), c.start("127.0.0.2")
	one.setPeers()
	first := c.revoke(pki.RevokeRequest{Serials: []*big.Int{big.NewInt(7)}})
	second := c.revoke(pki.RevokeRequest{Serials: []*big.Int{big.NewInt(8)}})
	if _, err := one.rev.Submit(context.Background(), second); err != nil {
		t.Fatal(err)
	}

	other, err := pki.InitCA(filepath.Join(t.TempDir(), "other"), "x")
	if err != nil {
		t.Fatal(err)
	}
	var foreign []byte
	for i := int64(1); i <= 5; i++ { // numbered higher than ours
		r, err := other.Revoke(pki.RevokeRequest{Serials: []*big.Int{big.NewInt(i)}})
		if err != nil {
			t.Fatal(err)
		}
		foreign = r.CRL.DER()
	}
	push := func(payload []byte) ([]byte, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return two.msg.Request(ctx, one.addr, messaging.VerbCRLPush, payload)
	}
	for name, payload := range map[string][]byte{"foreign CA": foreign, "garbage": []byte("not a CRL"), "empty": nil} {
		_, err := push(payload)
		var re *messaging.RemoteError
		if !errors.As(err, &re) || !strings.Contains(re.Message, "CRL refused") {
			t.Fatalf("push of %s: %v", name, err)
		}
	}
	// An older list is answered with the newer number (the pusher then
	// pulls), not installed.
	resp, err := push(first)
	if err != nil || new(big.Int).SetBytes(resp).Int64() != 2 {
		t.Fatalf("push of an older list: %x, %v", resp, err)
	}
	if _, err := one.rev.Submit(context.Background(), first); !errors.Is(err, ErrNotNewer) {
		t.Fatalf("Submit of an older list: %v", err)
	}
	if got := one.rev.Number().Int64(); got != 2 {
		t.Fatalf("number %d after refusals", got)
	}
	data, _ := os.ReadFile(filepath.Join(one.dir, "crl.pem"))
	if stored, err := pki.ParseCRL(data, c.ca.Cert); err != nil || stored.Number.Int64() != 2 {
		t.Fatalf("stored %v, %v", stored, err)
	}
	// Audited with the sender; further refusals from the same sender within
	// AuditInterval are only logged.
	evs := one.audit.find("refused", "127.0.0.2", "")
	if len(evs) != 1 || !strings.Contains(evs[0].Reason, "from 127.0.0.2") {
		t.Fatalf("refusal audits %+v, want one naming 127.0.0.2", evs)
	}
	if evs := one.audit.find("refused", AdminSource, ""); len(evs) != 1 || !strings.Contains(evs[0].Reason, "not greater") {
		t.Fatalf("admin refusal audits %+v", evs)
	}

	// A pull request with an oversized number is refused.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := two.msg.Request(ctx, one.addr, messaging.VerbCRLPull, make([]byte, 21)); err == nil {
		t.Fatal("pull with a 21-byte number succeeded")
	}
}

// TestNewRefusesBadStoredList: a stored list that does not verify, or that
// revokes the node's own certificate, stops the start.
func TestNewRefusesBadStoredList(t *testing.T) {
	c := newTestCluster(t)
	dir := c.issue("127.0.0.1")
	id, err := pki.LoadIdentity(filepath.Join(dir, "certs"))
	if err != nil {
		t.Fatal(err)
	}
	msg, err := messaging.New(messaging.Options{Self: id.Address, Port: c.port, ClusterID: id.ClusterID,
		ServerTLS: id.ServerConfig(), ClientTLS: id.ClientConfig(), PeerAddress: pki.PeerAddress})
	if err != nil {
		t.Fatal(err)
	}
	defer msg.Close()
	path := filepath.Join(dir, "crl.pem")
	opts := Options{Identity: id, Messaging: msg, Path: path, Peers: func() []netip.Addr { return nil }}
	for name, tc := range map[string]struct {
		data []byte
		want string
	}{
		"garbage": {[]byte("garbage"), "move it away"},
		"own":     {c.revoke(pki.RevokeRequest{Serials: []*big.Int{id.Serial()}}), "this node's certificate"},
	} {
		if err := os.WriteFile(path, tc.data, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := New(opts); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("%s: New = %v, want an error containing %q", name, err, tc.want)
		}
	}
	if _, err := New(Options{}); err == nil {
		t.Fatal("New without options succeeded")
	}
}

// fakeMessenger records the handlers and never reaches a peer.
type fakeMessenger struct {
	handlers map[messaging.Verb]messaging.Handler
}

func (f *fakeMessenger) Handle(v messaging.Verb, h messaging.Handler) { f.handlers[v] = h }
func (f *fakeMessenger) Request(context.Context, netip.Addr, messaging.Verb, []byte) ([]byte, error) {
	return nil, errors.New("no network")
}
func (f *fakeMessenger) CloseRevoked(func(*x509.Certificate) bool) []messaging.RevokedConn {
	return nil
}

// FuzzCRLPush feeds arbitrary bytes to the CRL_PUSH handler as a peer
// would send them: it never panics, and the installed list only ever
// changes to a newer list signed by the cluster CA.
func FuzzCRLPush(f *testing.F) {
	base := f.TempDir()
	ca, err := pki.InitCA(filepath.Join(base, "ca"), "x")
	if err != nil {
		f.Fatal(err)
	}
	if err := ca.IssueNode(netip.MustParseAddr("127.0.0.1"), filepath.Join(base, "n")); err != nil {
		f.Fatal(err)
	}
	other, err := pki.InitCA(filepath.Join(base, "other"), "x")
	if err != nil {
		f.Fatal(err)
	}
	for i := int64(1); i <= 3; i++ {
		r, err := ca.Revoke(pki.RevokeRequest{Serials: []*big.Int{big.NewInt(i)}})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(r.CRL.DER())
		f.Add(r.CRL.PEM())
		o, err := other.Revoke(pki.RevokeRequest{Serials: []*big.Int{big.NewInt(i)}})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(o.CRL.DER())
	}
	f.Add([]byte{})
	f.Add([]byte("-----BEGIN X509 CRL-----\n-----END X509 CRL-----\n"))
	f.Add([]byte{0x30, 0x82, 0xff, 0xff})

	id, err := pki.LoadIdentity(filepath.Join(base, "n"))
	if err != nil {
		f.Fatal(err)
	}
	fm := &fakeMessenger{handlers: map[messaging.Verb]messaging.Handler{}}
	s, err := New(Options{Identity: id, Messaging: fm, Path: filepath.Join(base, "crl.pem"), Peers: func() []netip.Addr { return nil }})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	push := fm.handlers[messaging.VerbCRLPush]
	from := netip.MustParseAddr("127.0.0.2")
	f.Fuzz(func(t *testing.T, payload []byte) {
		before := s.Number()
		resp, err := push(context.Background(), from, payload)
		after := id.CRL()
		if after == nil {
			if before.Sign() != 0 {
				t.Fatal("the installed list disappeared")
			}
			return
		}
		if after.Number.Cmp(before) < 0 {
			t.Fatalf("number went back from %s to %s", before, after.Number)
		}
		if after.Number.Cmp(before) > 0 {
			if err != nil {
				t.Fatalf("installed number %s but answered %v", after.Number, err)
			}
			if _, perr := pki.ParseCRL(after.DER(), ca.Cert); perr != nil {
				t.Fatalf("installed a list that does not verify: %v", perr)
			}
		}
		if err == nil && new(big.Int).SetBytes(resp).Cmp(after.Number) != 0 {
			t.Fatalf("answered number %x, installed %s", resp, after.Number)
		}
	})
}

// TestPullAnswers: CRL_PULL is answered with the list only when it is
// newer than the asker's and not expired.
func TestPullAnswers(t *testing.T) {
	base := t.TempDir()
	ca, err := pki.InitCA(filepath.Join(base, "ca"), "x")
	if err != nil {
		t.Fatal(err)
	}
	if err := ca.IssueNode(netip.MustParseAddr("127.0.0.1"), filepath.Join(base, "n")); err != nil {
		t.Fatal(err)
	}
	id, err := pki.LoadIdentity(filepath.Join(base, "n"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := ca.Revoke(pki.RevokeRequest{Serials: []*big.Int{big.NewInt(5)}})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	now := time.Now()
	fm := &fakeMessenger{handlers: map[messaging.Verb]messaging.Handler{}}
	s, err := New(Options{Identity: id, Messaging: fm, Path: filepath.Join(base, "crl.pem"), Peers: func() []netip.Addr { return nil },
		Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	pull := fm.handlers[messaging.VerbCRLPull]
	from := netip.MustParseAddr("127.0.0.2")
	if resp, err := pull(context.Background(), from, nil); err != nil || len(resp) != 0 {
		t.Fatalf("pull from a node without a list: %x, %v", resp, err)
	}
	if _, err := s.Submit(context.Background(), r.CRL.DER()); err != nil {
		t.Fatal(err)
	}
	for offered, want := range map[int64]bool{0: true, 1: false, 2: false} {
		resp, err := pull(context.Background(), from, big.NewInt(offered).Bytes())
		if err != nil || (len(resp) > 0) != want {
			t.Fatalf("pull offering %d: %d bytes, %v; want the list: %v", offered, len(resp), err, want)
		}
	}
	mu.Lock()
	now = r.CRL.NextUpdate.Add(time.Second)
	mu.Unlock()
	if resp, err := pull(context.Background(), from, nil); err != nil || len(resp) != 0 {
		t.Fatalf("pull of an expired list: %d bytes, %v", len(resp), err)
	}
}
