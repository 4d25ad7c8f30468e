// Package server assembles a ringdb node from a config.Config: storage,
// schema, roles, internode identity (certificates), messaging, gossip and
// the token ring (cluster), the coordinator, the query processor, the
// native protocol listener and the admin endpoint. It owns their
// lifecycles: Start opens everything, Close stops it in reverse order.
package server

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ringdb/ringdb/internal/admin"
	"github.com/ringdb/ringdb/internal/auth"
	"github.com/ringdb/ringdb/internal/cluster"
	"github.com/ringdb/ringdb/internal/config"
	"github.com/ringdb/ringdb/internal/coordinator"
	"github.com/ringdb/ringdb/internal/messaging"
	"github.com/ringdb/ringdb/internal/pki"
	"github.com/ringdb/ringdb/internal/protocol"
	"github.com/ringdb/ringdb/internal/query"
	"github.com/ringdb/ringdb/internal/schema"
	"github.com/ringdb/ringdb/internal/storage"
)

// Node is one running ringdb node.
type Node struct {
	cfg     config.Config
	log     *slog.Logger
	engine  *storage.Engine
	schema  *schema.Manager
	roles   *auth.Manager
	proc    *query.Processor
	native  *protocol.Server
	msg     *messaging.Service
	cluster *cluster.Cluster
	coord   *coordinator.Coordinator
	admin   *admin.Server
	audit   *pki.AuditLog
	done    chan error

	drainMu sync.Mutex
	drained bool

	schemaPtr  atomic.Pointer[schema.Manager]
	graceCache atomic.Pointer[graceCache]
	info       query.NodeInfo
}

// Start opens the node's storage, joins the cluster and starts serving.
func Start(cfg config.Config, log *slog.Logger) (n *Node, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid configuration:\n%w", err)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	n = &Node{cfg: cfg, log: log, done: make(chan error, 1)}
	defer func() {
		if err != nil {
			n.Close()
		}
	}()
	sync := storage.SyncPeriodic
	if cfg.CommitlogSync == "batch" {
		sync = storage.SyncBatch
	}
	n.engine, err = storage.Open(filepath.Join(cfg.DataDir, "data"), storage.Options{
		SyncMode: sync, SyncPeriod: cfg.CommitlogSyncPeriod, Logger: log, GCGrace: n.gcGrace,
	})
	if err != nil {
		return nil, fmt.Errorf("open storage: %w", err)
	}
	n.schema, err = schema.NewManager(n.engine, schema.SystemKeyspaces(), time.Now)
	if err != nil {
		return nil, err
	}
	n.schemaPtr.Store(n.schema)
	info, err := n.localInfo()
	if err != nil {
		return nil, err
	}
	n.info = info

	// Internode identity: certificates are required; a lone node (no seed
	// but itself) makes its own private CA on first start.
	self := info.ListenAddress
	var seeds []netip.Addr
	lone := true
	for _, s := range cfg.Seeds {
		a, _ := netip.ParseAddr(s)
		seeds = append(seeds, a)
		if a != self {
			lone = false
		}
	}
	if _, statErr := os.Stat(filepath.Join(cfg.CertsDir, pki.NodeCrtFile)); statErr != nil {
		if !lone {
			return nil, fmt.Errorf("no node certificate in %s: create one with `ringdb cert node --dir <ca-dir> --address %s --out %s` (a node joining seeds must carry a certificate of the cluster's CA)", cfg.CertsDir, self, cfg.CertsDir)
		}
		if _, err := pki.EnsureSelfSigned(cfg.CertsDir, cfg.ClusterName, self); err != nil {
			return nil, fmt.Errorf("create internode certificates: %w", err)
		}
		log.Info("created a private cluster CA and node certificate for this single node", "certs_dir", cfg.CertsDir)
	}
	id, err := pki.LoadIdentity(cfg.CertsDir)
	if err != nil {
		return nil, fmt.Errorf("load internode identity: %w", err)
	}
	if id.Address != self {
		return nil, fmt.Errorf("the node certificate in %s is for %s but listen_address is %s", cfg.CertsDir, id.Address, self)
	}
	if n.audit, err = pki.OpenAuditLog(filepath.Join(cfg.DataDir, "membership-audit.log")); err != nil {
		return nil, err
	}
	n.msg, err = messaging.New(messaging.Options{Self: self, Port: cfg.StoragePort, ClusterID: id.ClusterID,
		ServerTLS: id.ServerConfig(), ClientTLS: id.ClientConfig(), PeerAddress: pki.PeerAddress, Logger: log,
		RequestTimeout: cfg.WriteTimeout,
		OnRefused: func(remote netip.AddrPort, reason string) {
			_ = n.audit.Record(pki.AuditEvent{Kind: pki.AuditRefused, Peer: remote.String(), Reason: reason})
		}})
	if err != nil {
		return nil, fmt.Errorf("internode messaging: %w", err)
	}

	var authenticator protocol.Authenticator
	var roles query.RoleManager
	var roleSync cluster.RoleSync
	switch cfg.Authenticator {
	case "PasswordAuthenticator":
		n.roles = auth.New(n.engine)
		authenticator, roles, roleSync = n.roles, n.roles, n.roles
	default:
		log.Warn("INSECURE: AllowAllAuthenticator is on; any client that reaches the native port can read and write every table. Use it for development only.", "native_address", cfg.NativeAddress)
	}

	nativeAP := netip.AddrPortFrom(info.NativeAddress, uint16(cfg.NativePort))
	n.cluster, err = cluster.New(cluster.Options{Self: self, ClusterName: cfg.ClusterName, Seeds: seeds, DC: cfg.DC, Rack: cfg.Rack,
		HostID: info.HostID, Generation: info.GossipGeneration, NumTokens: cfg.NumTokens, Tokens: info.Tokens,
		NativeAddress: nativeAP, StoragePort: cfg.StoragePort, Engine: n.engine, Schema: n.schema, Messaging: n.msg,
		Audit: n.audit, Logger: log, SaveTokens: n.saveTokens, Roles: roleSync,
		OnStatus: func(up bool, ap netip.AddrPort) {
			if n.native != nil {
				ch := "DOWN"
				if up {
					ch = "UP"
				}
				n.native.PublishStatusChange(ch, ap)
			}
		},
		OnTopology: func(change string, ap netip.AddrPort) {
			if n.native != nil {
				n.native.PublishTopologyChange(change, ap)
			}
		},
		OnSchema: func(ch schema.Change) {
			if n.native != nil {
				n.native.PublishSchemaChange(ch)
			}
		},
		OnUp: func(ep netip.Addr) {
			if n.coord != nil {
				n.coord.NotifyUp(ep)
			}
		},
	})
	if err != nil {
		return nil, err
	}
	n.schema.SetDataCenters(func() []string {
		dcs := []string{cfg.DC}
		for dc := range n.cluster.Ring().DCs() {
			if dc != cfg.DC {
				dcs = append(dcs, dc)
			}
		}
		return dcs
	})
	n.coord = coordinator.New(coordinator.Options{Self: self, LocalDC: cfg.DC, Engine: n.engine, Schema: n.schema,
		Messenger: n.msg, Topology: n.cluster, WriteTimeout: cfg.WriteTimeout, ReadTimeout: cfg.ReadTimeout,
		RangeTimeout: cfg.RangeTimeout, DisableHints: !cfg.HintsEnabled(), MaxHintWindow: cfg.MaxHintWindow, Logger: log})
	if n.roles != nil {
		n.roles.SetOnChange(n.cluster.LocalRolesChanged)
	}
	if err := n.msg.Start(); err != nil {
		return nil, fmt.Errorf("internode messaging: %w", err)
	}
	if err := n.cluster.Start(); err != nil {
		return nil, err
	}
	n.info.Tokens = n.tokens()
	n.coord.Start()
	// Roles are cluster-wide. The default superuser is created once, by a
	// lone node or by the first seed (lowest address) when it finds no
	// role after syncing with the live members; every other node receives
	// the cluster's roles.
	if n.roles != nil && (lone || firstSeed(seeds) == self) {
		path, err := n.roles.Bootstrap(cfg.DataDir)
		if err != nil {
			return nil, fmt.Errorf("create default superuser: %w", err)
		}
		if path != "" {
			log.Warn("created default superuser 'cassandra' with a random password; read it from the file, then change it or create your own superuser", "password_file", path)
		}
	}

	n.proc = query.New(query.Options{Schema: n.schema, Engine: n.engine, Roles: roles, Node: n.info, Logger: log,
		Store: n.coord, ReplicatedLWT: n.coord.ReplicatedLWT, Peers: n.cluster.Peers,
		OnSchemaChange: func(ch schema.Change) {
			n.cluster.LocalSchemaChanged()
			if n.native != nil {
				n.native.PublishSchemaChange(ch)
			}
		}})
	n.native = protocol.New(protocol.Options{
		Addr:      net.JoinHostPort(cfg.NativeAddress, strconv.Itoa(cfg.NativePort)),
		Processor: n.proc, Auth: authenticator, MaxFrameSize: cfg.MaxFrameSize,
		MaxConnections: cfg.MaxConnections, MaxRequestsPerConnection: cfg.MaxRequestsPerConnection, Logger: log,
	})
	if err := n.native.Listen(); err != nil {
		return nil, err
	}
	go func() { n.done <- n.native.Serve() }()
	n.admin, err = admin.Start(admin.Options{Addr: cfg.AdminAddress, TokenFile: filepath.Join(cfg.DataDir, "admin.token"),
		Node: adminNode{n}, Logger: log})
	if err != nil {
		return nil, err
	}
	log.Info("ringdb node started", "cluster", cfg.ClusterName, "native", n.native.Addr().String(),
		"internode", netip.AddrPortFrom(self, uint16(cfg.StoragePort)).String(), "admin", n.admin.Addr().String(),
		"data_dir", cfg.DataDir, "commitlog_sync", cfg.CommitlogSync, "authenticator", cfg.Authenticator, "dc", cfg.DC, "rack", cfg.Rack)
	return n, nil
}

// firstSeed returns the lowest seed address (invalid if none).
func firstSeed(seeds []netip.Addr) netip.Addr {
	var min netip.Addr
	for _, s := range seeds {
		if !min.IsValid() || s.Less(min) {
			min = s
		}
	}
	return min
}

// NativeAddr returns the bound CQL address.
func (n *Node) NativeAddr() net.Addr { return n.native.Addr() }

// AdminAddr returns the bound admin address.
func (n *Node) AdminAddr() net.Addr { return n.admin.Addr() }

// Done reports the native server's exit.
func (n *Node) Done() <-chan error { return n.done }

// Coordinator exposes the coordinator (tests, metrics).
func (n *Node) Coordinator() *coordinator.Coordinator { return n.coord }

// Close stops the node: clients first, then the cluster (announcing the
// shutdown), messaging, and storage (which syncs).
func (n *Node) Close() error {
	var errs []error
	if n.admin != nil {
		errs = append(errs, n.admin.Close())
		n.admin = nil
	}
	if n.native != nil {
		n.drainMu.Lock()
		drained := n.drained
		n.drainMu.Unlock()
		if !drained {
			errs = append(errs, n.native.Close())
		}
		n.native = nil
	}
	if n.coord != nil {
		n.coord.Stop()
	}
	if n.cluster != nil {
		n.cluster.Stop()
		n.cluster = nil
	}
	if n.msg != nil {
		errs = append(errs, n.msg.Close())
		n.msg = nil
	}
	if n.audit != nil {
		errs = append(errs, n.audit.Close())
		n.audit = nil
	}
	if n.engine != nil {
		errs = append(errs, n.engine.Close())
		n.engine = nil
	}
	return errors.Join(errs...)
}

// gcGrace returns a table's gc_grace_seconds for the storage engine's
// compactions. It is called from Pebble's goroutines, possibly before the
// schema is loaded (WAL replay), so it reads only atomics.
func (n *Node) gcGrace(id storage.TableID) time.Duration {
	const def = 10 * 24 * time.Hour
	sm := n.schemaPtr.Load()
	if sm == nil {
		return def
	}
	sch := sm.Current()
	c := n.graceCache.Load()
	if c == nil || c.sch != sch {
		c = &graceCache{sch: sch, m: map[storage.TableID]time.Duration{}}
		for _, k := range sch.Keyspaces {
			for _, t := range k.Tables {
				c.m[storage.TableID(t.ID)] = time.Duration(t.Options.GCGraceSeconds) * time.Second
			}
		}
		n.graceCache.Store(c)
	}
	if d, ok := c.m[id]; ok {
		return d
	}
	return def
}

type graceCache struct {
	sch *schema.Schema
	m   map[storage.TableID]time.Duration
}

func (n *Node) tokens() []int64 {
	v, ok, err := n.engine.GetMeta("local/tokens")
	if err != nil || !ok {
		return nil
	}
	var out []int64
	for i := 0; i+8 <= len(v); i += 8 {
		out = append(out, int64(binary.BigEndian.Uint64(v[i:])))
	}
	return out
}

func (n *Node) saveTokens(t []int64) error {
	var buf []byte
	for _, tok := range t {
		buf = binary.BigEndian.AppendUint64(buf, uint64(tok))
	}
	return n.engine.SetMeta("local/tokens", buf)
}

// localInfo loads (or creates on first start) the host id, loads the
// tokens if this node has joined before, and bumps the gossip generation.
func (n *Node) localInfo() (query.NodeInfo, error) {
	cfg := n.cfg
	info := query.NodeInfo{ClusterName: cfg.ClusterName, StoragePort: cfg.StoragePort, NativePort: cfg.NativePort, DC: cfg.DC, Rack: cfg.Rack}
	var err error
	if info.ListenAddress, err = netip.ParseAddr(cfg.ListenAddress); err != nil {
		return info, err
	}
	if info.NativeAddress, err = netip.ParseAddr(cfg.NativeAddress); err != nil {
		return info, err
	}
	if v, ok, err := n.engine.GetMeta("local/host_id"); err != nil {
		return info, err
	} else if ok && len(v) == 16 {
		copy(info.HostID[:], v)
	} else {
		_, _ = rand.Read(info.HostID[:])
		info.HostID[6] = (info.HostID[6] & 0x0f) | 0x40
		info.HostID[8] = (info.HostID[8] & 0x3f) | 0x80
		if err := n.engine.SetMeta("local/host_id", info.HostID[:]); err != nil {
			return info, err
		}
	}
	info.Tokens = n.tokens()
	gen := int32(time.Now().Unix())
	if v, ok, err := n.engine.GetMeta("local/generation"); err != nil {
		return info, err
	} else if ok && len(v) == 4 {
		if prev := int32(binary.BigEndian.Uint32(v)); prev >= gen {
			gen = prev + 1
		}
	}
	if err := n.engine.SetMeta("local/generation", binary.BigEndian.AppendUint32(nil, uint32(gen))); err != nil {
		return info, err
	}
	info.GossipGeneration = gen
	return info, nil
}

// adminNode adapts the node to admin.Node.
type adminNode struct{ n *Node }

func (a adminNode) Status(ks string) (admin.Status, error) { return a.n.cluster.Status(ks) }
func (a adminNode) GossipInfo() []admin.GossipEndpoint     { return a.n.cluster.GossipInfo() }
func (a adminNode) Describe() admin.Description            { return a.n.cluster.Describe() }
func (a adminNode) Info() admin.Info {
	i := a.n.cluster.Info()
	i.CommitlogSync = a.n.cfg.CommitlogSync
	if targets, err := a.n.engine.HintTargets(); err == nil {
		for _, t := range targets {
			_ = a.n.engine.Hints(t, func([]byte, time.Time, *storage.Mutation) bool { i.PendingHints++; return true })
		}
	}
	return i
}
func (a adminNode) Flush() error { return a.n.engine.Flush() }

// Drain stops the native transport (clients move to other nodes), leaves
// gossip with a shutdown announcement and flushes the memtables; the
// server process then shuts down (its native transport has ended).
func (a adminNode) Drain() error {
	n := a.n
	n.drainMu.Lock()
	defer n.drainMu.Unlock()
	if n.drained {
		return nil
	}
	n.drained = true
	n.log.Info("draining: closing the native transport, announcing shutdown, flushing")
	if err := n.native.Close(); err != nil {
		return err
	}
	n.coord.Stop()
	n.cluster.Stop()
	return n.engine.Flush()
}
func (a adminNode) Compact() error { return a.n.engine.Compact() }
