package cluster

import (
	"fmt"
	"net/netip"
	"runtime"
	"slices"
	"strconv"

	"github.com/ringdb/ringdb/internal/admin"
	"github.com/ringdb/ringdb/internal/gossip"
	"github.com/ringdb/ringdb/internal/query"
	"github.com/ringdb/ringdb/internal/ring"
)

// Names nodetool describecluster reports.
const (
	snitchName      = "org.apache.cassandra.locator.GossipingPropertyFileSnitch"
	partitionerName = "org.apache.cassandra.dht.Murmur3Partitioner"
	unreachable     = "UNREACHABLE"
)

// localNode is what the nodetool views know about this node beyond
// gossip: its address and host id, its on-disk load and its schema
// version (both fresher than what it last gossiped).
type localNode struct {
	self   netip.Addr
	hostID [16]byte
	load   uint64
	schema string
}

// local returns this node's localNode now.
func (c *Cluster) local() localNode {
	return localNode{self: c.o.Self, hostID: c.o.HostID, load: c.o.Engine.DiskUsage(), schema: c.schemaVersion()}
}

// Status implements admin.Node: the ring's endpoints with their state,
// load, host id and ownership (effective ownership of keyspace if set).
func (c *Cluster) Status(keyspace string) (admin.Status, error) {
	strat, err := c.strategyOf(keyspace)
	if err != nil {
		return admin.Status{}, err
	}
	return statusOf(c.ring.Load(), strat, c.gossip.Snapshot(), c.local()), nil
}

// strategyOf returns keyspace's replication strategy, nil for "".
func (c *Cluster) strategyOf(keyspace string) (ring.ReplicationStrategy, error) {
	if keyspace == "" {
		return nil, nil
	}
	k := c.o.Schema.Current().Keyspace(keyspace)
	if k == nil {
		return nil, fmt.Errorf("keyspace %s does not exist", keyspace)
	}
	return ring.NewStrategy(k.Replication, c.o.Self)
}

// statusOf is nodetool status for ring tm as gossip states snap tell it:
// the NORMAL endpoints, then the joining ones. With a strategy,
// ownership is that strategy's (effective); without, primary ranges'.
func statusOf(tm *ring.TokenMetadata, strat ring.ReplicationStrategy, snap map[netip.Addr]gossip.EndpointState, me localNode) admin.Status {
	owns := ring.Ownership(tm, strat)
	out := admin.Status{Effective: strat != nil}
	for _, ep := range append(tm.Endpoints(), tm.PendingEndpointList()...) {
		e := endpointStatus(tm, ep, snap, me)
		if o, ok := owns[ep]; ok {
			e.Owns = &o
		}
		out.Endpoints = append(out.Endpoints, e)
	}
	return out
}

// endpointStatus is one line of nodetool status (without ownership).
func endpointStatus(tm *ring.TokenMetadata, ep netip.Addr, snap map[netip.Addr]gossip.EndpointState, me localNode) admin.Endpoint {
	st := snap[ep]
	e := admin.Endpoint{Address: ep.String(), DC: tm.DC(ep), Rack: tm.Rack(ep), Up: ep == me.self || st.Alive,
		State: "Normal", Tokens: tm.Tokens(ep)}
	switch {
	case tm.IsPending(ep):
		e.State = "Joining"
	case tm.IsLeaving(ep):
		e.State = "Leaving"
	}
	id, ok := hostIDOf(&st)
	if ep == me.self {
		e.LoadBytes, id, ok = me.load, me.hostID, true
	} else if v, _ := st.Get(gossip.AppLoad); v != "" {
		e.LoadBytes, _ = strconv.ParseUint(v, 10, 64)
	}
	if ok {
		e.HostID = formatUUID(id)
	}
	return e
}

// GossipInfo implements admin.Node: every endpoint's gossip state, in
// address order, states by key.
func (c *Cluster) GossipInfo() []admin.GossipEndpoint { return gossipInfoOf(c.gossip.Snapshot()) }

// gossipInfoOf is nodetool gossipinfo for snap.
func gossipInfoOf(snap map[netip.Addr]gossip.EndpointState) []admin.GossipEndpoint {
	var out []admin.GossipEndpoint
	for _, ep := range sortedEndpoints(snap) {
		st := snap[ep]
		g := admin.GossipEndpoint{Address: ep.String(), Generation: st.HeartBeat.Generation, Heartbeat: st.HeartBeat.Version}
		keys := make([]gossip.ApplicationState, 0, len(st.States))
		for k := range st.States {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			v := st.States[k]
			value := v.Value
			if k == gossip.AppCert { // DER: shown as its serial and fingerprint
				serial, fp := certIdentity(value)
				value = "serial=" + serial + " sha256=" + fp
			}
			g.States = append(g.States, admin.GossipState{Name: k.String(), Version: v.Version, Value: value})
		}
		out = append(out, g)
	}
	return out
}

// Describe implements admin.Node: nodetool describecluster, with the
// endpoints grouped by schema version (UNREACHABLE for those down).
func (c *Cluster) Describe() admin.Description {
	return describeOf(c.o.ClusterName, c.gossip.Snapshot(), localNode{self: c.o.Self, schema: c.schemaVersion()})
}

// describeOf is nodetool describecluster for snap; endpoints are listed
// in address order within each version.
func describeOf(clusterName string, snap map[netip.Addr]gossip.EndpointState, me localNode) admin.Description {
	d := admin.Description{Name: clusterName, Snitch: snitchName, Partitioner: partitionerName, SchemaVersions: map[string][]string{}}
	for _, ep := range sortedEndpoints(snap) {
		st := snap[ep]
		v, _ := st.Get(gossip.AppSchema)
		switch {
		case ep == me.self:
			v = me.schema
		case !st.Alive:
			v = unreachable
		}
		d.SchemaVersions[v] = append(d.SchemaVersions[v], ep.String())
	}
	return d
}

// Info implements admin.Node (the node fills in what it owns).
func (c *Cluster) Info() admin.Info {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return admin.Info{HostID: formatUUID(c.o.HostID), Gossip: true, NativeTransport: true, LoadBytes: c.o.Engine.DiskUsage(),
		GenerationNo: c.o.Generation, UptimeSeconds: int64(c.clock.Now().Sub(c.start).Seconds()), HeapMemoryMB: float64(ms.HeapAlloc) / (1 << 20),
		DC: c.o.DC, Rack: c.o.Rack, Tokens: len(c.tokens), ClusterName: c.o.ClusterName, ListenAddress: c.o.Self.String(),
		NativeAddress: c.o.NativeAddress.String(), ReleaseVersion: query.ReleaseVersion}
}

// Mode is this node's ring state as nodetool netstats names it: JOINING
// while it bootstraps, NORMAL once a ring member, LEAVING while it
// decommissions, DECOMMISSIONED once it left, STARTING before joining.
func (c *Cluster) Mode() string {
	tm := c.Ring()
	switch {
	case c.left.Load():
		return "DECOMMISSIONED"
	case tm.IsPending(c.o.Self):
		return "JOINING"
	case tm.IsLeaving(c.o.Self):
		return "LEAVING"
	case tm.IsMember(c.o.Self):
		return "NORMAL"
	}
	return "STARTING"
}
