package cluster

import (
	"bufio"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ringdb/ringdb/internal/gossip"
	"github.com/ringdb/ringdb/internal/pki"
	"github.com/ringdb/ringdb/internal/schema"
	"github.com/ringdb/ringdb/internal/storage"
)

// harness is a set of members on one in-memory net and one fake clock.
// Each member has its own storage, schema and audit log; it runs either
// on a fakeGossip (the test sets what gossip knows) or on real gossip
// over the net.
type harness struct {
	t     *testing.T
	net   *memNet
	clk   *fakeClock
	mu    sync.Mutex
	nodes []*node
	ca    *pki.CA // issues the members' certificates (keys)
}

// node is one member of a harness.
type node struct {
	c     *Cluster
	g     *fakeGossip // nil on real gossip
	addr  netip.Addr
	eng   *storage.Engine
	sm    *schema.Manager
	rec   *recorder
	audit *pki.AuditLog
	path  string    // of the audit log
	saved [][]int64 // SaveTokens calls
}

func newHarness(t *testing.T) *harness {
	h := &harness{t: t, net: newMemNet(), clk: newFakeClock()}
	t.Cleanup(h.close)
	return h
}

// close stops every member, then the net, then closes the storage.
func (h *harness) close() {
	h.mu.Lock()
	nodes := h.nodes
	h.mu.Unlock()
	for _, n := range nodes {
		n.c.Stop()
	}
	h.net.close()
	for _, n := range nodes {
		_ = n.audit.Close()
		_ = n.eng.Close()
	}
}

// addr is 127.0.0.i.
func addr(i int) netip.Addr { return netip.AddrFrom4([4]byte{127, 0, 0, byte(i)}) }

// hostID is member i's host id.
func hostID(i int) [16]byte { return [16]byte{0xaa, byte(i), 15: byte(i)} }

// tokensOf are member i's tokens in tests that give them: four vnodes,
// interleaved with the other members'.
func tokensOf(i int) []int64 {
	return []int64{int64(i)*1000 - 4_000_000, int64(i)*1000 - 1_000_000, int64(i) * 1000, int64(i)*1000 + 3_000_000}
}

// add creates member i (not started) on a fakeGossip when fake, else on
// real gossip. opts adjust its Options.
func (h *harness) add(i int, fake bool, opts ...func(*Options)) *node {
	t := h.t
	t.Helper()
	n := &node{addr: addr(i), rec: &recorder{}}
	dir := t.TempDir()
	var err error
	log := slog.New(slog.DiscardHandler)
	if n.eng, err = storage.Open(filepath.Join(dir, "data"), storage.Options{Logger: log}); err != nil {
		t.Fatal(err)
	}
	if n.sm, err = schema.NewManager(n.eng, schema.SystemKeyspaces(), time.Now); err != nil {
		t.Fatal(err)
	}
	n.path = filepath.Join(dir, "audit.log")
	if n.audit, err = pki.OpenAuditLog(n.path); err != nil {
		t.Fatal(err)
	}
	o := Options{Self: n.addr, ClusterName: "test", DC: "dc1", Rack: "r1", HostID: hostID(i), Generation: 1000 + int32(i),
		NumTokens: 4, NativeAddress: netip.AddrPortFrom(n.addr, 9042), StoragePort: 7000, Engine: n.eng, Schema: n.sm,
		Messaging: h.net.endpoint(n.addr), Audit: n.audit, Logger: log, Clock: h.clk, GossipInterval: time.Second,
		SaveTokens: func(t []int64) error { n.saved = append(n.saved, t); return nil }}
	n.rec.options(&o)
	for _, f := range opts {
		f(&o)
	}
	var g gossipRuntime
	if fake {
		n.g = newFakeGossip(n.addr)
		g = n.g
	}
	if !fake {
		o.StateSigner, o.StateVerifier = h.keys(i)
	}
	if n.c, err = newCluster(o, g); err != nil {
		t.Fatal(err)
	}
	if fake {
		n.g.flush = n.c.flushEvents
	}
	h.mu.Lock()
	h.nodes = append(h.nodes, n)
	h.mu.Unlock()
	return n
}

// keys returns the gossip state signer and verifier of member i, with a
// certificate of the harness's CA for addr(i).
func (h *harness) keys(i int) (*pki.StateSigner, *pki.StateVerifier) { return h.keysFor(addr(i)) }

// keysFor is keys for any address.
func (h *harness) keysFor(a netip.Addr) (*pki.StateSigner, *pki.StateVerifier) {
	id := h.identity(a)
	s, err := id.StateSigner()
	if err != nil {
		h.t.Fatal(err)
	}
	return s, id.StateVerifier()
}

// identity issues a node certificate of the harness's CA for a and loads
// it.
func (h *harness) identity(a netip.Addr) *pki.Identity {
	t := h.t
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ca == nil {
		ca, err := pki.InitCA(filepath.Join(t.TempDir(), "ca"), "test")
		if err != nil {
			t.Fatal(err)
		}
		h.ca = ca
	}
	dir := filepath.Join(t.TempDir(), a.String())
	if err := h.ca.IssueNode(a, dir); err != nil {
		t.Fatal(err)
	}
	id, err := pki.LoadIdentity(dir)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// withTokens gives a member its tokens (so Start does not wait for a
// ring).
func withTokens(toks []int64) func(*Options) { return func(o *Options) { o.Tokens = toks } }

// withSeeds sets the seeds.
func withSeeds(seeds ...netip.Addr) func(*Options) { return func(o *Options) { o.Seeds = seeds } }

// withRoles gives a member role sync.
func withRoles(r RoleSync) func(*Options) { return func(o *Options) { o.Roles = r } }

// start starts n (whose Start must not wait for the clock).
func (n *node) start(t *testing.T) {
	t.Helper()
	if err := n.c.Start(); err != nil {
		t.Fatal(err)
	}
}

// startDriven starts n on its own goroutine and advances the clock until
// Start returns.
func (h *harness) startDriven(n *node) {
	h.t.Helper()
	done := make(chan error, 1)
	go func() { done <- n.c.Start() }()
	var err error
	drive(h.t, h.clk, 100*time.Millisecond, 60*time.Second, "Start of "+n.addr.String(), func() bool {
		select {
		case err = <-done:
			return true
		default:
			return false
		}
	})
	if err != nil {
		h.t.Fatal(err)
	}
}

// peerState is what gossip says about member i: NORMAL (or the given
// STATUS) with its tokens, dc1/r1, host id, native address, load 1234 and
// schema version schemaV.
func peerState(i int, alive bool, status, schemaV string) gossip.EndpointState {
	if status == "" {
		status = gossip.NormalStatus(tokensOf(i)[0])
	}
	return endpointState(alive, map[gossip.ApplicationState]string{
		gossip.AppStatus: status, gossip.AppTokens: formatTokens(tokensOf(i)), gossip.AppDC: "dc1", gossip.AppRack: "r1",
		gossip.AppHostID: formatUUID(hostID(i)), gossip.AppNativeAddressAndPort: addr(i).String() + ":9142",
		gossip.AppLoad: strconv.Itoa(1234 * i), gossip.AppSchema: schemaV, gossip.AppReleaseVersion: "4.1.0"})
}

// auditRecords reads n's audit log back.
func (n *node) auditRecords(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(n.path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l struct {
			Kind   string `json:"kind"`
			Peer   string `json:"peer"`
			HostID string `json:"host_id"`
			Reason string `json:"reason"`
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s %s %s %s", l.Kind, l.Peer, l.HostID, l.Reason))
	}
	return out
}

// createTable creates keyspace ks (if needed) and table ks.name on n's
// schema.
func (n *node) createTable(t *testing.T, ks, name string) {
	t.Helper()
	if _, err := n.sm.CreateKeyspace(ks, map[string]string{"class": "SimpleStrategy", "replication_factor": "3"}, true, true); err != nil {
		t.Fatal(err)
	}
	if _, err := n.sm.CreateTable(schema.TableDef{Keyspace: ks, Name: name, PartitionKey: []string{"k"},
		Columns: []schema.ColumnDef{{Name: "k", Type: "text"}, {Name: "v", Type: "text"}}}, false); err != nil {
		t.Fatal(err)
	}
}

// hasTable reports whether n's schema has ks.name.
func (n *node) hasTable(ks, name string) bool { return n.sm.Current().Table(ks, name) != nil }

// schemaVersion is n's schema version as gossiped.
func (n *node) schemaVersion() string { return formatUUID(n.sm.Current().Version) }
