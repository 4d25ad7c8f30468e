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
	"sync"
	"sync/atomic"
	"time"

	"github.com/ringdb/ringdb/internal/admin"
	"github.com/ringdb/ringdb/internal/admission"
	"github.com/ringdb/ringdb/internal/auth"
	"github.com/ringdb/ringdb/internal/cluster"
	"github.com/ringdb/ringdb/internal/config"
	"github.com/ringdb/ringdb/internal/coordinator"
	"github.com/ringdb/ringdb/internal/messaging"
	"github.com/ringdb/ringdb/internal/pki"
	"github.com/ringdb/ringdb/internal/protocol"
	"github.com/ringdb/ringdb/internal/query"
	"github.com/ringdb/ringdb/internal/repair"
	"github.com/ringdb/ringdb/internal/revocation"
	"github.com/ringdb/ringdb/internal/schema"
	"github.com/ringdb/ringdb/internal/storage"
	"github.com/ringdb/ringdb/internal/streaming"
)

// Node is one running ringdb node.
type Node struct {
	startOpts startOptions
	cfg       config.Config
	log       *slog.Logger
	engine    *storage.Engine
	schema    *schema.Manager
	roles     *auth.Manager
	proc      *query.Processor
	msg       *messaging.Service
	cluster   *cluster.Cluster
	// stream is set before the cluster is created and never cleared.
	stream *streaming.Service
	// coord is set before gossip starts and never cleared, so the gossip
	// callbacks (OnUp) read it without synchronisation.
	coord *coordinator.Coordinator
	admin *admin.Server
	audit *pki.AuditLog
	done  chan error
	// revocation is set before gossip starts and never cleared, like coord.
	revocation *revocation.Service
	// issuer is set (before the storage port opens) only on a member
	// started with ca_dir: it issues join tokens and certifies joiners.
	issuer *admission.Issuer
	// repair is set before the storage port listens and never cleared.
	repair *repair.Service

	// native is read by gossip and schema callbacks on other goroutines
	// while Start sets it and Drain or Close clear it.
	native     atomic.Pointer[protocol.Server]
	nativeAddr net.Addr

	// Start-up state handed from one step of Start to the next.
	identity *pki.Identity
	seeds    []netip.Addr
	lone     bool // no seed but this node: it may make its own CA
	authn    protocol.Authenticator
	roleMgr  query.RoleManager
	authz    query.PermissionManager // nil: AllowAllAuthorizer
	roleSync cluster.RoleSync

	closeMu sync.Mutex
	closers []closer // what Start opened, released in reverse by Close

	drainMu sync.Mutex
	drained bool

	schemaPtr  atomic.Pointer[schema.Manager]
	graceCache atomic.Pointer[graceCache]
	info       query.NodeInfo
}

// closer releases one thing Start opened.
type closer struct {
	what string
	fn   func() error
}

// onClose registers fn to run when the node closes (or Start fails), after
// the closers registered later.
func (n *Node) onClose(what string, fn func() error) {
	n.closeMu.Lock()
	n.closers = append(n.closers, closer{what, fn})
	n.closeMu.Unlock()
}

// Start opens the node's storage, joins the cluster and starts serving.
// Each step registers what it opened with onClose; when a step fails,
// everything opened so far is released in reverse order and the error,
// naming its cause on one line, is returned.
func Start(cfg config.Config, log *slog.Logger) (*Node, error) {
	return start(cfg, log, startOptions{})
}

// startOptions are knobs of Start that only tests turn.
type startOptions struct {
	// skipListenCheck turns checkListeners off, so tests reach the
	// failure paths of the real listeners.
	skipListenCheck bool
}

func start(cfg config.Config, log *slog.Logger, so startOptions) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid configuration: %w", flatError{err})
	}
	n := &Node{cfg: cfg, log: log, done: make(chan error, 1), startOpts: so}
	steps := []func() error{
		n.checkListeners, // fail fast, before touching storage or the cluster
		n.openStorage,
		n.loadIdentity,
		n.newIssuer, // with ca_dir: join tokens (admission.go)
		n.newMessaging,
		n.newStreaming,
		n.newCluster,
		n.newRevocation, // installs the stored CRL before the storage port opens
		n.newCoordinator,
		n.newRepair,
		n.startAdmin, // before join: netstats shows a bootstrap's streams
		n.join,
		n.startNative,
	}
	for _, step := range steps {
		if err := step(); err != nil {
			if cerr := n.Close(); cerr != nil {
				log.Warn("releasing what a failed start opened", "err", cerr)
			}
			return nil, err
		}
	}
	log.Info("ringdb node started", "cluster", cfg.ClusterName, "native", n.nativeAddr.String(),
		"internode", netip.AddrPortFrom(n.info.ListenAddress, uint16(cfg.StoragePort)).String(), "admin", n.admin.Addr().String(),
		"data_dir", cfg.DataDir, "commitlog_sync", cfg.CommitlogSync, "authenticator", cfg.Authenticator, "authorizer", n.effectiveAuthorizer(), "dc", cfg.DC, "rack", cfg.Rack)
	return n, nil
}

// NativeAddr returns the bound CQL address.
func (n *Node) NativeAddr() net.Addr { return n.nativeAddr }

// AdminAddr returns the bound admin address.
func (n *Node) AdminAddr() net.Addr { return n.admin.Addr() }

// Done reports the native server's exit.
func (n *Node) Done() <-chan error { return n.done }

// Coordinator exposes the coordinator (tests, metrics).
func (n *Node) Coordinator() *coordinator.Coordinator { return n.coord }

// Close stops the node, releasing what Start opened in reverse order:
// clients first (admin, native transport), then the coordinator, the
// cluster (announcing the shutdown), messaging, the audit log and storage
// (which syncs). Calling it again does nothing.
func (n *Node) Close() error {
	n.closeMu.Lock()
	cs := n.closers
	n.closers = nil
	n.closeMu.Unlock()
	var errs []error
	for i := len(cs) - 1; i >= 0; i-- {
		if err := cs[i].fn(); err != nil {
			errs = append(errs, fmt.Errorf("close %s: %w", cs[i].what, err))
		}
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

// bootstrapInterrupted reports that a bootstrap of this node started and
// did not complete.
func (n *Node) bootstrapInterruptedMarker() bool {
	v, ok, err := n.engine.GetMeta(metaBootstrapping)
	return err == nil && ok && len(v) == 1 && v[0] == 1
}

// saveBootstrapping persists whether a bootstrap is under way.
func (n *Node) saveBootstrapping(on bool) error {
	v := []byte{0}
	if on {
		v[0] = 1
	}
	return n.engine.SetMeta(metaBootstrapping, v)
}

// metaBootstrapping is the metadata key of the bootstrap marker.
const metaBootstrapping = "local/bootstrapping"

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
	if s := n.native.Swap(nil); s != nil {
		if err := s.Close(); err != nil {
			return fmt.Errorf("close native transport: %w", err)
		}
	}
	n.coord.Stop()
	n.cluster.Stop()
	return n.engine.Flush()
}
func (a adminNode) Compact() error { return a.n.engine.Compact() }

// streamsAdmin is the admin API's view of the streaming service.
type streamsAdmin struct{ n *Node }

// Netstats reports the node's ring mode and its streams.
func (a streamsAdmin) Netstats() admin.Netstats {
	out := admin.Netstats{Mode: a.n.cluster.Mode()}
	active, recent := a.n.stream.Streams()
	for _, s := range active {
		out.Active = append(out.Active, streamInfo(s))
	}
	for _, s := range recent {
		out.Recent = append(out.Recent, streamInfo(s))
	}
	return out
}

func streamInfo(s streaming.StreamInfo) admin.StreamInfo {
	in := admin.StreamInfo{ID: fmt.Sprintf("%x", s.ID[:8]), Direction: s.Direction, Description: s.Description,
		SpansTotal: s.SpansTotal, SpansDone: s.SpansDone, Bytes: s.Bytes, Pairs: s.Pairs, Rate: s.Rate,
		Started: s.Started, Ended: s.Ended, Err: s.Err}
	for _, p := range s.Peers {
		in.Peers = append(in.Peers, p.String())
	}
	return in
}

// effectiveAuthorizer is the authorizer in effect: CassandraAuthorizer
// only checks permissions with PasswordAuthenticator.
func (n *Node) effectiveAuthorizer() string {
	if n.authz == nil {
		return "AllowAllAuthorizer"
	}
	return "CassandraAuthorizer"
}
