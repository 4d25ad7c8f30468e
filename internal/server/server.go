// Package server assembles a ringdb node: storage engine, schema, roles,
// query processor and the native protocol listener, from a config.Config.
// It owns their lifecycles: Start opens everything, Close stops it in
// reverse order.
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
	"sync/atomic"
	"time"

	"github.com/ringdb/ringdb/internal/auth"
	"github.com/ringdb/ringdb/internal/config"
	"github.com/ringdb/ringdb/internal/protocol"
	"github.com/ringdb/ringdb/internal/query"
	"github.com/ringdb/ringdb/internal/schema"
	"github.com/ringdb/ringdb/internal/storage"
)

// Node is one running ringdb node.
type Node struct {
	cfg    config.Config
	log    *slog.Logger
	engine *storage.Engine
	schema *schema.Manager
	roles  *auth.Manager
	proc   *query.Processor
	native *protocol.Server
	done   chan error

	schemaPtr  atomic.Pointer[schema.Manager]
	graceCache atomic.Pointer[graceCache]
}

// Start opens the node's storage and starts serving clients.
func Start(cfg config.Config, log *slog.Logger) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid configuration:\n%w", err)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	n := &Node{cfg: cfg, log: log, done: make(chan error, 1)}
	sync := storage.SyncPeriodic
	if cfg.CommitlogSync == "batch" {
		sync = storage.SyncBatch
	}
	var err error
	n.engine, err = storage.Open(filepath.Join(cfg.DataDir, "data"), storage.Options{
		SyncMode: sync, SyncPeriod: cfg.CommitlogSyncPeriod, Logger: log,
		GCGrace: n.gcGrace,
	})
	if err != nil {
		return nil, fmt.Errorf("open storage: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			n.engine.Close()
		}
	}()
	n.schema, err = schema.NewManager(n.engine, schema.SystemKeyspaces(), time.Now)
	if err != nil {
		return nil, err
	}
	n.schemaPtr.Store(n.schema)
	info, err := n.localInfo()
	if err != nil {
		return nil, err
	}
	var authenticator protocol.Authenticator
	var roles query.RoleManager
	switch cfg.Authenticator {
	case "PasswordAuthenticator":
		n.roles = auth.New(n.engine)
		path, err := n.roles.Bootstrap(cfg.DataDir)
		if err != nil {
			return nil, fmt.Errorf("create default superuser: %w", err)
		}
		if path != "" {
			log.Warn("created default superuser 'cassandra' with a random password; read it from the file, then change it or create your own superuser", "password_file", path)
		}
		authenticator, roles = n.roles, n.roles
	default:
		log.Warn("INSECURE: AllowAllAuthenticator is on; any client that reaches the native port can read and write every table. Use it for development only.", "native_address", cfg.NativeAddress)
	}
	n.proc = query.New(query.Options{Schema: n.schema, Engine: n.engine, Roles: roles, Node: info, Logger: log,
		OnSchemaChange: func(ch schema.Change) {
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
	ok = true
	log.Info("ringdb node started", "cluster", cfg.ClusterName, "native", n.native.Addr().String(),
		"data_dir", cfg.DataDir, "commitlog_sync", cfg.CommitlogSync, "authenticator", cfg.Authenticator)
	return n, nil
}

// NativeAddr returns the bound CQL address.
func (n *Node) NativeAddr() net.Addr { return n.native.Addr() }

// Done reports the native server's exit.
func (n *Node) Done() <-chan error { return n.done }

// Close stops the node: clients first, then storage (which syncs).
func (n *Node) Close() error {
	var errs []error
	if n.native != nil {
		errs = append(errs, n.native.Close())
	}
	if n.engine != nil {
		errs = append(errs, n.engine.Close())
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

// localInfo loads (or creates on first start) the host id and tokens, and
// bumps the gossip generation.
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
	if v, ok, err := n.engine.GetMeta("local/tokens"); err != nil {
		return info, err
	} else if ok && len(v)%8 == 0 && len(v) > 0 {
		for i := 0; i < len(v); i += 8 {
			info.Tokens = append(info.Tokens, int64(binary.BigEndian.Uint64(v[i:])))
		}
	} else {
		var buf []byte
		for i := 0; i < cfg.NumTokens; i++ {
			var b [8]byte
			_, _ = rand.Read(b[:])
			tok := int64(binary.BigEndian.Uint64(b[:]))
			info.Tokens = append(info.Tokens, tok)
			buf = binary.BigEndian.AppendUint64(buf, uint64(tok))
		}
		if err := n.engine.SetMeta("local/tokens", buf); err != nil {
			return info, err
		}
	}
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
