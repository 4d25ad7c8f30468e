package cluster

import (
	"context"
	"github.com/ringdb/ringdb/internal/testnet"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringdb/ringdb/internal/messaging"
	"github.com/ringdb/ringdb/internal/pki"
	"github.com/ringdb/ringdb/internal/schema"
	"github.com/ringdb/ringdb/internal/storage"
)

// generations makes every test member's gossip generation larger than
// the previous one's, as a restart's must be, even within one second.
var generations atomic.Int32

// testMember is one cluster member with its own storage and messaging on
// a loopback address; the port is shared by every member of a test.
type testMember struct {
	c      *Cluster
	engine *storage.Engine
	msg    *messaging.Service
}

// newMember opens storage in dir (kept across restarts), starts
// messaging and the cluster member. settle is Options.SettleTimeout.
func newMember(t *testing.T, ca *pki.CA, dir string, self string, port int, seeds []string, settle time.Duration) *testMember {
	t.Helper()
	addr := netip.MustParseAddr(self)
	certs := filepath.Join(dir, "certs")
	if _, err := os.Stat(certs); err != nil { // first start
		if err := ca.IssueNode(addr, certs); err != nil {
			t.Fatal(err)
		}
	}
	id, err := pki.LoadIdentity(certs)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	engine, err := storage.Open(filepath.Join(dir, "data"), storage.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	sm, err := schema.NewManager(engine, schema.SystemKeyspaces(), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := messaging.New(messaging.Options{Self: addr, Port: port, ClusterID: id.ClusterID, ServerTLS: id.ServerConfig(),
		ClientTLS: id.ClientConfig(), PeerAddress: pki.PeerAddress, Logger: log, RequestTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var seedAddrs []netip.Addr
	for _, s := range seeds {
		seedAddrs = append(seedAddrs, netip.MustParseAddr(s))
	}
	var tokens []int64
	if v, ok, _ := engine.GetMeta("test/tokens"); ok {
		tokens = parseTokens(string(v))
	}
	signer, err := id.StateSigner()
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Options{Self: addr, ClusterName: "settle", Seeds: seedAddrs, DC: "dc1", Rack: "r1",
		StateSigner: signer, StateVerifier: id.StateVerifier(),
		HostID: [16]byte{addr.As4()[3]}, Generation: int32(time.Now().Unix()) + generations.Add(1), NumTokens: 4, Tokens: tokens,
		NativeAddress: netip.AddrPortFrom(addr, 9042), StoragePort: port, Engine: engine, Schema: sm, Messaging: msg,
		Logger: log, GossipInterval: 100 * time.Millisecond, JoinTimeout: 10 * time.Second, SettleTimeout: settle,
		SaveTokens: func(t []int64) error { return engine.SetMeta("test/tokens", []byte(formatTokens(t))) }})
	if err != nil {
		t.Fatal(err)
	}
	if err := msg.Start(); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	m := &testMember{c: c, engine: engine, msg: msg}
	t.Cleanup(m.stop)
	return m
}

// stop stops the member (again is harmless).
func (m *testMember) stop() {
	if m.engine == nil {
		return
	}
	m.c.Stop()
	m.msg.Close()
	m.engine.Close()
	m.engine = nil
}

func newCA(t *testing.T) *pki.CA {
	t.Helper()
	ca, err := pki.InitCA(filepath.Join(t.TempDir(), "ca"), "settle")
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// A lone node (no seed but itself, nothing saved) does not wait, however
// long the settle timeout.
func TestWaitSettledLoneNodeDoesNotWait(t *testing.T) {
	m := newMember(t, newCA(t), t.TempDir(), "127.0.0.1", testnet.FreePort(t), []string{"127.0.0.1"}, time.Hour)
	done := make(chan error, 1)
	go func() { done <- m.c.WaitSettled(context.Background()) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("lone node: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a lone node waited for gossip to settle")
	}
}

// A member restarted next to a live peer waits until gossip has marked
// the peer up (the peer is known from the saved ring members: the
// restarted node is the seed and has no other seed to gossip to), and a
// saved peer that never answers ends the wait at the timeout with an
// error naming it.
func TestWaitSettledWaitsForSavedPeers(t *testing.T) {
	ca, port := newCA(t), testnet.FreePort(t)
	dirA, dirB := t.TempDir(), t.TempDir()
	seeds := []string{"127.0.0.1"}
	a := newMember(t, ca, dirA, "127.0.0.1", port, seeds, time.Minute)
	if err := a.c.WaitSettled(context.Background()); err != nil {
		t.Fatalf("first node: %v", err)
	}
	b := newMember(t, ca, dirB, "127.0.0.2", port, seeds, time.Minute)
	if err := b.c.WaitSettled(context.Background()); err != nil {
		t.Fatalf("joining node: %v", err)
	}
	if !b.c.IsAlive(a.c.o.Self) {
		t.Fatal("WaitSettled returned before the seed was up")
	}
	// A saves B once it is a ring member.
	deadline := time.Now().Add(30 * time.Second)
	for {
		v, _, err := a.engine.GetMeta(peersMetaKey)
		if err != nil {
			t.Fatal(err)
		}
		if string(v) == "127.0.0.2" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("seed saved ring members %q, want 127.0.0.2", v)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Restart A: it must wait for B, whom it knows only from what it saved.
	a.stop()
	a = newMember(t, ca, dirA, "127.0.0.1", port, seeds, time.Minute)
	if got := a.c.savedPeers; len(got) != 1 || got[0].String() != "127.0.0.2" {
		t.Fatalf("saved peers after restart: %v", got)
	}
	if err := a.c.WaitSettled(context.Background()); err != nil {
		t.Fatalf("restarted seed: %v", err)
	}
	if !a.c.IsAlive(b.c.o.Self) {
		t.Fatal("WaitSettled returned before the peer was up")
	}

	// Stop B without a trace in A's memory (restart A after B is gone):
	// A waits for B until the timeout, then reports it.
	b.stop()
	a.stop()
	a = newMember(t, ca, dirA, "127.0.0.1", port, seeds, 500*time.Millisecond)
	start := time.Now()
	err := a.c.WaitSettled(context.Background())
	if err == nil || !strings.Contains(err.Error(), "127.0.0.2") {
		t.Fatalf("want a timeout naming 127.0.0.2, got %v", err)
	}
	if waited := time.Since(start); waited < 400*time.Millisecond || waited > 10*time.Second {
		t.Fatalf("waited %s for a 500ms settle timeout", waited)
	}
}

// WaitSettled ends when the cluster stops, and skips the wait when the
// timeout is negative.
func TestWaitSettledStopAndSkip(t *testing.T) {
	ca, dir := newCA(t), t.TempDir()
	// restart starts a member whose previous run saved a peer that is
	// not running.
	restart := func(settle time.Duration) *testMember {
		m := newMember(t, ca, dir, "127.0.0.1", testnet.FreePort(t), nil, settle)
		if err := m.engine.SetMeta(peersMetaKey, []byte("127.0.0.9")); err != nil {
			t.Fatal(err)
		}
		m.stop()
		return newMember(t, ca, dir, "127.0.0.1", testnet.FreePort(t), nil, settle)
	}

	m := restart(-1)
	if err := m.c.WaitSettled(context.Background()); err != nil {
		t.Fatalf("negative timeout: %v", err)
	}
	m.stop()

	m = restart(time.Hour)
	done := make(chan error, 1)
	go func() { done <- m.c.WaitSettled(context.Background()) }()
	m.c.Stop()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("WaitSettled returned nil after Stop with a peer down")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("WaitSettled did not end at Stop")
	}
}
