package cluster

import (
	"maps"
	"math"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ringdb/ringdb/internal/admin"
	"github.com/ringdb/ringdb/internal/gossip"
	"github.com/ringdb/ringdb/internal/query"
	"github.com/ringdb/ringdb/internal/ring"
)

// viewStates is what gossip says in the views' tests: self (1) and 2
// NORMAL and up, 3 NORMAL and down with an unparsable LOAD, 4 BOOT, 5
// LEFT and down.
func viewStates() map[netip.Addr]gossip.EndpointState {
	s3 := peerState(3, false, "", "v-old")
	s3.States[gossip.AppLoad] = gossip.VersionedValue{Value: "lots", Version: 99}
	return map[netip.Addr]gossip.EndpointState{
		addr(1): peerState(1, true, "", "v-gossiped-by-self"),
		addr(2): peerState(2, true, "", "v-new"),
		addr(3): s3,
		addr(4): peerState(4, true, gossip.BootStatus(tokensOf(4)[0]), "v-new"),
		addr(5): peerState(5, false, gossip.LeftStatus(tokensOf(5)[0], 1), "v-old"),
	}
}

var viewSelf = localNode{self: addr(1), hostID: hostID(1), load: 555, schema: "v-new"}

func TestStatusView(t *testing.T) {
	snap := viewStates()
	tm, _ := buildRing(snap, nil, 0)
	got := statusOf(tm, nil, snap, viewSelf)
	if got.Effective {
		t.Fatal("effective ownership without a keyspace")
	}
	type line struct {
		addr, state string
		up          bool
		load        uint64
		host        string
		owns        bool
	}
	want := []line{
		{"127.0.0.1", "Normal", true, 555, formatUUID(hostID(1)), true}, // self: its own load, not gossip's
		{"127.0.0.2", "Normal", true, 2468, formatUUID(hostID(2)), true},
		{"127.0.0.3", "Normal", false, 0, formatUUID(hostID(3)), true},
		{"127.0.0.4", "Joining", true, 4936, formatUUID(hostID(4)), false},
	}
	if len(got.Endpoints) != len(want) {
		t.Fatalf("endpoints %+v", got.Endpoints)
	}
	sum := 0.0
	for i, e := range got.Endpoints {
		w := want[i]
		g := line{e.Address, e.State, e.Up, e.LoadBytes, e.HostID, e.Owns != nil}
		if g != w {
			t.Errorf("line %d: got %+v, want %+v", i, g, w)
		}
		if e.DC != "dc1" || e.Rack != "r1" || !slices.Equal(e.Tokens, tokensOf(i+1)) {
			t.Errorf("line %d: dc %q rack %q tokens %v", i, e.DC, e.Rack, e.Tokens)
		}
		if e.Owns != nil {
			sum += *e.Owns
		}
	}
	if math.Abs(sum-1) > 1e-9 {
		t.Fatalf("primary ownership sums to %v", sum)
	}

	eff := statusOf(tm, ring.NewSimpleStrategy(3), snap, viewSelf)
	if !eff.Effective {
		t.Fatal("not effective with a strategy")
	}
	for _, e := range eff.Endpoints[:3] {
		if e.Owns == nil || math.Abs(*e.Owns-1) > 1e-9 {
			t.Fatalf("RF 3 on 3 nodes: %s owns %v", e.Address, e.Owns)
		}
	}
}

// Status by keyspace: effective ownership of its replication; an
// unknown keyspace is an error.
func TestStatusOfKeyspace(t *testing.T) {
	_, n := startedUnit(t)
	if _, err := n.c.Status("nope"); err == nil || !strings.Contains(err.Error(), "keyspace nope does not exist") {
		t.Fatalf("unknown keyspace: %v", err)
	}
	n.createTable(t, "ks", "t")
	st, err := n.c.Status("ks")
	if err != nil {
		t.Fatal(err)
	}
	if !st.Effective || len(st.Endpoints) != 1 || st.Endpoints[0].Owns == nil || *st.Endpoints[0].Owns != 1 {
		t.Fatalf("status ks: %+v", st)
	}
	if st.Endpoints[0].LoadBytes != n.eng.DiskUsage() {
		t.Fatalf("self load %d, engine says %d", st.Endpoints[0].LoadBytes, n.eng.DiskUsage())
	}
}

func TestGossipInfoView(t *testing.T) {
	snap := map[netip.Addr]gossip.EndpointState{
		addr(2): endpointState(true, map[gossip.ApplicationState]string{gossip.AppLoad: "9", gossip.AppStatus: "NORMAL,1", gossip.ApplicationState(40): "x"}),
		addr(1): endpointState(false, nil),
	}
	got := gossipInfoOf(snap)
	want := []admin.GossipEndpoint{
		{Address: "127.0.0.1", Generation: 7, Heartbeat: 42},
		{Address: "127.0.0.2", Generation: 7, Heartbeat: 42, States: []admin.GossipState{
			{Name: "STATUS", Version: 1, Value: "NORMAL,1"},
			{Name: "LOAD", Version: int32(gossip.AppLoad) + 1, Value: "9"},
			{Name: "APPLICATION_STATE_40", Version: 41, Value: "x"},
		}},
	}
	if len(got) != len(want) {
		t.Fatalf("gossipinfo %+v", got)
	}
	for i := range want {
		if got[i].Address != want[i].Address || got[i].Generation != want[i].Generation ||
			got[i].Heartbeat != want[i].Heartbeat || !slices.Equal(got[i].States, want[i].States) {
			t.Errorf("endpoint %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
	if gossipInfoOf(nil) != nil {
		t.Fatal("gossipinfo of nothing")
	}
}

// describecluster groups the endpoints by schema version: self by its
// current schema (not what it last gossiped), down endpoints as
// UNREACHABLE.
func TestDescribeView(t *testing.T) {
	got := describeOf("prod", viewStates(), viewSelf)
	if got.Name != "prod" || got.Snitch != snitchName || got.Partitioner != partitionerName {
		t.Fatalf("names %+v", got)
	}
	want := map[string][]string{
		"v-new":       {"127.0.0.1", "127.0.0.2", "127.0.0.4"},
		"UNREACHABLE": {"127.0.0.3", "127.0.0.5"},
	}
	if !maps.EqualFunc(got.SchemaVersions, want, slices.Equal) {
		t.Fatalf("schema versions %v, want %v", got.SchemaVersions, want)
	}
}

// Describe and Info of a running member.
func TestDescribeAndInfo(t *testing.T) {
	h, n := startedUnit(t)
	n.g.put(addr(2), peerState(2, true, "", "other"))
	d := n.c.Describe()
	if want := map[string][]string{n.schemaVersion(): {"127.0.0.1"}, "other": {"127.0.0.2"}}; !maps.EqualFunc(d.SchemaVersions, want, slices.Equal) || d.Name != "test" {
		t.Fatalf("describe %+v", d)
	}
	h.clk.Advance(90 * time.Second)
	got := n.c.Info()
	want := admin.Info{HostID: formatUUID(hostID(1)), Gossip: true, NativeTransport: true, GenerationNo: 1001, UptimeSeconds: 90,
		DC: "dc1", Rack: "r1", Tokens: 4, ClusterName: "test", ListenAddress: "127.0.0.1", NativeAddress: "127.0.0.1:9042",
		ReleaseVersion: query.ReleaseVersion}
	if got.HeapMemoryMB <= 0 {
		t.Fatalf("heap %v", got.HeapMemoryMB)
	}
	got.HeapMemoryMB, got.LoadBytes = 0, 0
	if got != want {
		t.Fatalf("info\n got %+v\nwant %+v", got, want)
	}
}
