package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
	"github.com/ringdb/ringdb/internal/streaming"
)

// The steps of Start, in order. Each registers what it opened with
// onClose before it can fail past that point.

// Listener names used in start-up errors.
const (
	nativeListener  = "native transport"
	storageListener = "storage port (internode messaging)"
	adminListener   = "admin endpoint"
)

// checkListeners opens and closes each listening address once, so that a
// port already in use stops the start before storage is opened or the
// node announces itself to the cluster. The real listeners still report
// their own failures (the port may be taken in between).
func (n *Node) checkListeners() error {
	if n.startOpts.skipListenCheck {
		return nil
	}
	for _, l := range []struct{ name, addr string }{
		{nativeListener, n.nativeListenAddr()},
		{storageListener, n.storageListenAddr()},
		{adminListener, n.cfg.AdminAddress},
	} {
		ln, err := net.Listen("tcp", l.addr)
		if err != nil {
			return listenFailure(l.name, l.addr, err)
		}
		if err := ln.Close(); err != nil {
			return listenFailure(l.name, l.addr, err)
		}
	}
	return nil
}

func (n *Node) nativeListenAddr() string {
	return net.JoinHostPort(n.cfg.NativeAddress, strconv.Itoa(n.cfg.NativePort))
}

func (n *Node) storageListenAddr() string {
	return net.JoinHostPort(n.cfg.ListenAddress, strconv.Itoa(n.cfg.StoragePort))
}

// openStorage creates the data directory, opens the storage engine and
// the schema, and loads (or creates) the node's local state.
func (n *Node) openStorage() error {
	cfg := n.cfg
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data directory %s: %w", cfg.DataDir, err)
	}
	mode := storage.SyncPeriodic
	if cfg.CommitlogSync == "batch" {
		mode = storage.SyncBatch
	}
	path := filepath.Join(cfg.DataDir, "data")
	engine, err := storage.Open(path, storage.Options{
		SyncMode: mode, SyncPeriod: cfg.CommitlogSyncPeriod, Logger: n.log, GCGrace: n.gcGrace,
	})
	if err != nil {
		return fmt.Errorf("data directory %s: %w", cfg.DataDir, err) // err names the storage path
	}
	n.engine = engine
	n.onClose("storage", engine.Close)
	if n.schema, err = schema.NewManager(engine, schema.SystemKeyspaces(), time.Now); err != nil {
		return fmt.Errorf("storage: load schema from %s: %w", path, err)
	}
	n.schemaPtr.Store(n.schema)
	if n.info, err = n.localInfo(); err != nil {
		return fmt.Errorf("storage: local node state in %s: %w", path, err)
	}
	return nil
}

// loadIdentity loads the internode certificates (a lone node, with no
// seed but itself, makes its own private CA on first start) and opens the
// membership audit log.
func (n *Node) loadIdentity() error {
	cfg, self := n.cfg, n.info.ListenAddress
	n.lone = true
	for _, s := range cfg.Seeds {
		a, _ := netip.ParseAddr(s) // Validate checked them
		n.seeds = append(n.seeds, a)
		if a != self {
			n.lone = false
		}
	}
	if _, err := os.Stat(filepath.Join(cfg.CertsDir, pki.NodeCrtFile)); err != nil {
		switch {
		case cfg.JoinToken != "":
			// Admission by join token (admission.go).
			if err := n.joinWithToken(); err != nil {
				return err
			}
		case !n.lone:
			return fmt.Errorf("no node certificate in %s: start with --join-token <token from `ringdb nodetool join-token create` on a member started with --ca-dir>, or create one offline with `ringdb cert node --dir <ca-dir> --address %s --out %s` (a node joining seeds must carry a certificate of the cluster's CA)", cfg.CertsDir, self, cfg.CertsDir)
		default:
			if _, err := pki.EnsureSelfSigned(cfg.CertsDir, cfg.ClusterName, self); err != nil {
				return fmt.Errorf("internode certificates: create in %s: %w", cfg.CertsDir, err)
			}
			n.log.Info("created a private cluster CA and node certificate for this single node", "certs_dir", cfg.CertsDir)
		}
	} else if cfg.JoinToken != "" {
		n.log.Info("the node has a certificate: join token not used", "certs_dir", cfg.CertsDir)
	}
	id, err := pki.LoadIdentity(cfg.CertsDir)
	if err != nil {
		return fmt.Errorf("internode certificates: %w", err)
	}
	if id.Address != self {
		return fmt.Errorf("internode certificates: the node certificate in %s is for %s but listen_address is %s", cfg.CertsDir, id.Address, self)
	}
	n.identity = id
	audit, err := pki.OpenAuditLog(filepath.Join(cfg.DataDir, "membership-audit.log"))
	if err != nil {
		return fmt.Errorf("membership audit log: %w", err)
	}
	n.audit = audit
	n.onClose("membership audit log", audit.Close)
	return nil
}

// newMessaging creates the internode messaging service; it listens later
// (join), once every handler is registered.
func (n *Node) newMessaging() error {
	cfg, id := n.cfg, n.identity
	msg, err := messaging.New(messaging.Options{Self: n.info.ListenAddress, Port: cfg.StoragePort, ClusterID: id.ClusterID,
		ServerTLS: id.ServerConfig(), ClientTLS: id.ClientConfig(), PeerAddress: pki.PeerAddress, Logger: n.log,
		RequestTimeout: cfg.WriteTimeout, JoinTLS: n.joinTLS(), Join: n.joinHandler(),
		// Members keep their slots under a flood (n.cluster is set before
		// the port listens).
		Reserved: func(a netip.Addr) bool { return n.cluster != nil && n.cluster.Reserved(a) },
		OnRefused: func(remote netip.AddrPort, reason string) {
			// Handshake noise: counted per source per minute in the noise
			// log, never in the membership log (pki package doc).
			_ = n.audit.Record(pki.AuditEvent{Kind: pki.AuditHandshake, Peer: remote.String(), Reason: reason})
		}})
	if err != nil {
		return fmt.Errorf("internode messaging: %w", err)
	}
	n.msg = msg
	n.onClose("internode messaging", msg.Close)
	return nil
}

// newStreaming creates the streaming service (its verb handler is
// registered before the storage port listens).
func (n *Node) newStreaming() error {
	s, err := streaming.New(streaming.Options{Engine: n.engine, Transport: n.msg, Logger: n.log,
		ThroughputMiB: n.cfg.StreamThroughputMiB(),
		// n.cluster is set by the next step, before the port listens.
		Admitted:  func(a netip.Addr) bool { return n.cluster != nil && n.cluster.Admitted(a) },
		PeerAlive: func(a netip.Addr) bool { return n.cluster == nil || n.cluster.IsAlive(a) }})
	if err != nil {
		return fmt.Errorf("streaming: %w", err)
	}
	n.stream = s
	return nil
}

// newCluster creates the cluster member (gossip, ring) with the callbacks
// that turn its events into client EVENTs and hint replays.
func (n *Node) newCluster() error {
	cfg, info := n.cfg, n.info
	switch cfg.Authenticator {
	case "PasswordAuthenticator":
		n.roles = auth.New(n.engine)
		n.authn, n.roleMgr, n.roleSync = n.roles, n.roles, n.roles
		if cfg.Authorizer == "CassandraAuthorizer" {
			n.authz = n.roles
		} else {
			n.log.Warn("INSECURE: AllowAllAuthorizer is on; every logged-in role may read, write and drop every table (GRANT/REVOKE are refused). Use CassandraAuthorizer.", "authorizer", cfg.Authorizer)
		}
	default:
		n.log.Warn("INSECURE: AllowAllAuthenticator is on; any client that reaches the native port can read and write every table. Use it for development only.", "native_address", cfg.NativeAddress)
		if cfg.Authorizer == "CassandraAuthorizer" {
			n.log.Warn("authorizer CassandraAuthorizer needs PasswordAuthenticator: with AllowAllAuthenticator no permission is checked (AllowAllAuthorizer in effect)")
		}
	}
	// Gossip states are signed with the node certificate's key and
	// verified against the cluster CA (decision 010).
	signer, err := n.identity.StateSigner()
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	c, err := cluster.New(cluster.Options{Self: info.ListenAddress, ClusterName: cfg.ClusterName, Seeds: n.seeds,
		StateSigner: signer, StateVerifier: n.identity.StateVerifier(),
		DC: cfg.DC, Rack: cfg.Rack, HostID: info.HostID, Generation: info.GossipGeneration, NumTokens: cfg.NumTokens,
		Tokens: info.Tokens, NativeAddress: netip.AddrPortFrom(info.NativeAddress, uint16(cfg.NativePort)),
		StoragePort: cfg.StoragePort, Engine: n.engine, Schema: n.schema, Messaging: n.msg, Audit: n.audit, Logger: n.log,
		SaveTokens: n.saveTokens, Roles: n.roleSync,
		Streamer: n.stream, AutoBootstrap: cfg.Bootstraps(), BootstrapInterrupted: n.bootstrapInterruptedMarker(),
		SaveBootstrapping: n.saveBootstrapping, Decommissioned: n.decommissionedMarker(), SaveDecommissioned: n.saveDecommissioned,
		RemovedHostIDs: n.removedHostIDs(), SaveRemoved: n.saveRemoved, ReplaceAddress: replaceAddress(cfg),
		MetadataClockSkew: cfg.MetadataClockSkew,
		OnStatus: func(up bool, ap netip.AddrPort) {
			if s := n.native.Load(); s != nil {
				ch := "DOWN"
				if up {
					ch = "UP"
				}
				s.PublishStatusChange(ch, ap)
			}
		},
		OnTopology: func(change string, ap netip.AddrPort) {
			if s := n.native.Load(); s != nil {
				s.PublishTopologyChange(change, ap)
			}
		},
		OnSchema: n.publishSchemaChange,
		// Gossip starts in join, after newCoordinator has set n.coord
		// (never cleared), so this read needs no synchronisation.
		OnUp: func(ep netip.Addr) {
			if c := n.coord; c != nil {
				c.NotifyUp(ep)
			}
			if r := n.revocation; r != nil {
				r.PeerUp(ep) // a member back from down catches up on the CRL
			}
		},
	})
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	n.cluster = c
	n.onClose("cluster", func() error { c.Stop(); return nil })
	n.schema.SetDataCenters(func() []string {
		dcs := []string{cfg.DC}
		for dc := range c.Ring().DCs() {
			if dc != cfg.DC {
				dcs = append(dcs, dc)
			}
		}
		return dcs
	})
	return nil
}

// publishSchemaChange tells the native transport's clients of a schema
// change (none while it is not open).
func (n *Node) publishSchemaChange(ch schema.Change) {
	if s := n.native.Load(); s != nil {
		s.PublishSchemaChange(ch)
	}
}

// newCoordinator creates the coordinator; it starts in join.
func (n *Node) newCoordinator() error {
	cfg := n.cfg
	n.coord = coordinator.New(coordinator.Options{Self: n.info.ListenAddress, LocalDC: cfg.DC, Engine: n.engine,
		Schema: n.schema, Messenger: n.msg, Topology: n.cluster, WriteTimeout: cfg.WriteTimeout, ReadTimeout: cfg.ReadTimeout,
		RangeTimeout: cfg.RangeTimeout, DisableHints: !cfg.HintsEnabled(), MaxHintWindow: cfg.MaxHintWindow, Logger: n.log,
		Admitted: n.cluster.Admitted, OnRefused: n.auditRefusedVerb})
	if n.roles != nil {
		n.roles.SetOnChange(n.cluster.LocalRolesChanged)
	}
	return nil
}

// join opens the storage port, starts gossip (joining the ring on first
// start), starts the coordinator, waits for gossip to settle and creates
// the default superuser where this node is the one to.
func (n *Node) join() error {
	if n.decommissionedMarker() {
		return fmt.Errorf("cluster: %w", cluster.ErrDecommissioned)
	}
	if err := n.msg.Start(); err != nil {
		return listenFailure(storageListener, n.storageListenAddr(), err)
	}
	if err := n.cluster.Start(); err != nil {
		return fmt.Errorf("cluster: join: %w", err)
	}
	n.info.Tokens = n.tokens()
	n.coord.Start()
	n.onClose("coordinator", func() error { n.coord.Stop(); return nil })
	// A restarted node must not serve clients while it still believes its
	// peers are down: wait (bounded) until gossip has marked them up.
	if err := n.cluster.WaitSettled(context.Background()); err != nil {
		n.log.Warn("starting before gossip settled; requests needing the peers not yet up may fail for a while", "err", err)
	}
	// Roles are cluster-wide. The default superuser is created once, by a
	// lone node or by the first seed (lowest address) when it finds no
	// role after syncing with the live members; every other node receives
	// the cluster's roles.
	if n.roles != nil && (n.lone || firstSeed(n.seeds) == n.info.ListenAddress) {
		path, err := n.roles.Bootstrap(n.cfg.DataDir)
		if err != nil {
			return fmt.Errorf("create default superuser: %w", err)
		}
		if path != "" {
			n.log.Warn("created default superuser 'cassandra' with a random password; read it from the file, then change it or create your own superuser", "password_file", path)
		}
	}
	return nil
}

// startNative creates the query processor and opens the CQL native
// transport; its Serve goroutine ends when the transport is closed.
func (n *Node) startNative() error {
	cfg := n.cfg
	n.proc = query.New(query.Options{Schema: n.schema, Engine: n.engine, Roles: n.roleMgr, Authorizer: n.authz, Node: n.info, Logger: n.log,
		Store: n.coord, Peers: n.cluster.Peers,
		BatchSizeWarnThreshold: cfg.BatchSizeWarnThreshold(), BatchSizeFailThreshold: cfg.BatchSizeFailThreshold(),
		OnSchemaChange: func(ch schema.Change) {
			n.cluster.LocalSchemaChanged()
			n.publishSchemaChange(ch)
		}})
	addr := n.nativeListenAddr()
	tlsCfg, err := ClientTLSConfig(cfg.ClientEncryption)
	if err != nil {
		return err
	}
	n.warnClientTLS()
	var inFlight int64
	if cfg.MaxRequestDataInFlight != nil {
		inFlight = int64(*cfg.MaxRequestDataInFlight)
	}
	creds := cfg.CredentialsCache()
	if creds == 0 {
		creds = -1 // credentials_validity: 0 turns the cache off
	}
	srv := protocol.New(protocol.Options{
		Addr: addr, Processor: n.proc, Auth: n.authn, MaxFrameSize: cfg.MaxFrameSize,
		MaxConnections: cfg.MaxConnections, MaxRequestsPerConnection: cfg.MaxRequestsPerConnection, Logger: n.log,
		TLS: tlsCfg, TLSOptional: cfg.ClientEncryption.Optional, MaxRequestDataInFlight: inFlight,
		CredentialsValidity: creds,
	})
	if err := srv.Listen(); err != nil {
		return listenFailure(nativeListener, addr, err)
	}
	n.nativeAddr = srv.Addr()
	n.native.Store(srv)
	n.onClose(nativeListener, func() error {
		if s := n.native.Swap(nil); s != nil { // nil after Drain
			return s.Close()
		}
		return nil
	})
	go func() { n.done <- srv.Serve() }()
	return nil
}

// warnClientTLS logs, loudly, a native port that carries passwords in
// clear where that matters: a public address allowed without TLS, or TLS
// made optional.
func (n *Node) warnClientTLS() {
	e := n.cfg.ClientEncryption
	if a, err := netip.ParseAddr(n.cfg.NativeAddress); err == nil && config.IsPublic(a) && !e.TLSRequired() {
		n.log.Warn("INSECURE: the native port listens on a public address without required TLS (allow_public_rpc_address_without_tls); passwords and data cross the network in clear. Enable client_encryption_options.",
			"rpc_address", n.cfg.NativeAddress)
	}
	if e.Enabled && e.Optional {
		n.log.Warn("client_encryption_options.optional is true: cleartext clients are still accepted on the native port; set optional: false once every client uses TLS")
	}
}

// startAdmin opens the admin endpoint (nodetool).
func (n *Node) startAdmin() error {
	a, err := admin.Start(admin.Options{Addr: n.cfg.AdminAddress, TokenFile: filepath.Join(n.cfg.DataDir, "admin.token"),
		Node: adminNode{n}, Logger: n.log, MembershipLog: n.audit, Revocation: revocationAdmin{n.revocation},
		JoinTokens: joinTokensAdmin{n}, Streams: streamsAdmin{n}, Operations: n.operations()})
	if err != nil {
		return listenFailure(adminListener, n.cfg.AdminAddress, err)
	}
	n.admin = a
	n.onClose(adminListener, a.Close)
	return nil
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

// listenError is a listener that could not open. Its message names the
// listener and the address and ends with the system's reason (for example
// "address already in use"); it unwraps to the cause.
type listenError struct {
	listener, addr string
	err            error
}

func (e *listenError) Error() string {
	var cause error = e.err
	var se *os.SyscallError
	if errors.As(e.err, &se) {
		cause = se.Err
	}
	return fmt.Sprintf("%s: listen on %s: %v", e.listener, e.addr, cause)
}

func (e *listenError) Unwrap() error { return e.err }

// listenFailure describes err, returned while opening the listener on
// addr: a *listenError when the listen itself failed, else err wrapped
// with the listener's name.
func listenFailure(listener, addr string, err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "listen" {
		return &listenError{listener: listener, addr: addr, err: err}
	}
	return fmt.Errorf("%s: %w", listener, err)
}

// flatError is err with its message on one line (OneLine).
type flatError struct{ err error }

func (e flatError) Error() string { return OneLine(e.err) }
func (e flatError) Unwrap() error { return e.err }

// OneLine returns err's message on one line, for a command's one-line
// error report: the lines of a multi-line message (errors.Join, YAML) are
// trimmed and joined with "; " (with " " after a line ending in ":").
func OneLine(err error) string {
	var b strings.Builder
	for _, l := range strings.Split(err.Error(), "\n") {
		if l = strings.TrimSpace(l); l == "" {
			continue
		}
		if b.Len() > 0 {
			if strings.HasSuffix(b.String(), ":") {
				b.WriteString(" ")
			} else {
				b.WriteString("; ")
			}
		}
		b.WriteString(l)
	}
	return b.String()
}

// auditRefusedVerb records that a peer which is not an admitted member
// used a replica verb (the coordinator reports each peer at most once a
// minute, with the count).
func (n *Node) auditRefusedVerb(from netip.Addr, v messaging.Verb, refused int) {
	_ = n.audit.Record(pki.AuditEvent{Kind: pki.AuditRefused, Peer: from.String(), Outcome: "refused",
		Reason: fmt.Sprintf("%s from a peer that is not a member of this cluster (%d refused since the last record)", v, refused)})
}
