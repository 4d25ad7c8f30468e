package cluster

import (
	"context"
	"log/slog"
	"net/netip"
	"time"

	"github.com/ringdb/ringdb/internal/gossip"
	"github.com/ringdb/ringdb/internal/messaging"
	"github.com/ringdb/ringdb/internal/pki"
	"github.com/ringdb/ringdb/internal/schema"
	"github.com/ringdb/ringdb/internal/storage"
)

// Options configure a cluster member.
type Options struct {
	// Self is this node's internode address (listen_address).
	Self netip.Addr
	// ClusterName is cluster_name: gossip from another cluster is refused.
	ClusterName string
	// Seeds are the seed provider's addresses; Self may be among them.
	Seeds []netip.Addr
	// DC and Rack place this node (GossipingPropertyFileSnitch).
	DC, Rack string
	// HostID is this node's host id.
	HostID [16]byte
	// Generation is this process's gossip generation (larger than the
	// previous run's).
	Generation int32
	// NumTokens is num_tokens: how many tokens a first start allocates.
	NumTokens int
	// Tokens are this node's tokens if already known (persisted); nil means
	// allocate on join.
	Tokens []int64
	// NativeAddress is this node's CQL address, gossiped for drivers; its
	// port is assumed for peers that do not gossip theirs.
	NativeAddress netip.AddrPort
	// StoragePort is the internode port every node listens on
	// (system.peers).
	StoragePort int
	// Engine is this node's storage: its load, the saved ring members,
	// and the data of tables a merged schema dropped.
	Engine *storage.Engine
	// Schema is this node's schema, synchronised cluster-wide.
	Schema *schema.Manager
	// Messaging carries gossip and metadata to the peers (in production a
	// *messaging.Service).
	Messaging Messenger
	// Audit, when set, records membership changes and refusals.
	Audit *pki.AuditLog
	// StateSigner signs every gossip value this member publishes about
	// itself with its node certificate's key, and StateVerifier checks
	// that every value received about an endpoint is signed by that
	// endpoint's own certificate (pki.Identity.StateSigner and
	// StateVerifier; docs/decisions/010-owner-signed-gossip.md). Both are
	// required.
	StateSigner   gossip.Signer
	StateVerifier gossip.Verifier
	// MaxGenerationSkew: a gossip generation (a process's start time)
	// more than this far ahead of this member's clock is refused. Zero
	// means gossip.DefaultMaxGenerationSkew (10 minutes).
	MaxGenerationSkew time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Clock measures every wait of the member (join, settle, load
	// refresh, metadata pulls) and drives gossip rounds; nil is the
	// system clock.
	Clock Clock
	// GossipInterval is the gossip round; default 1s.
	GossipInterval time.Duration
	// JoinTimeout bounds waiting to learn the ring from seeds on first
	// start. Default 30s.
	JoinTimeout time.Duration
	// SettleTimeout bounds WaitSettled: 0 means DefaultSettleTimeout, a
	// negative value skips the wait.
	SettleTimeout time.Duration
	// SaveTokens persists the tokens chosen on first join.
	SaveTokens func([]int64) error
	// Streamer streams the ranges a joining node takes over (bootstrap).
	// Nil: a joining node streams nothing (it only warns when the cluster
	// holds tables).
	Streamer Streamer
	// AutoBootstrap is auto_bootstrap: with a Streamer, a node joining a
	// cluster announces BOOT, streams its future ranges and only then
	// announces NORMAL. Default false here; the server passes the config's
	// (default true).
	AutoBootstrap bool
	// BootstrapInterrupted reports that an earlier bootstrap of this node
	// did not complete (its tokens are saved, its data is not): Start
	// bootstraps again.
	BootstrapInterrupted bool
	// SaveBootstrapping persists whether a bootstrap is under way (true
	// before streaming starts, false once it completed), so that a node
	// killed mid-bootstrap bootstraps again on restart. Nil: not saved.
	SaveBootstrapping func(bool) error
	// Decommissioned reports that this node left the ring by decommission
	// on an earlier run: Start refuses with ErrDecommissioned.
	Decommissioned bool
	// SaveDecommissioned persists that this node was decommissioned,
	// before it announces LEFT. Nil: not saved.
	SaveDecommissioned func() error
	// ReplaceAddress is replace_address_first_boot: on a first start (no
	// Tokens, or an interrupted bootstrap), this node takes the place of
	// the dead member at this address (replace.go). Zero: none.
	ReplaceAddress netip.Addr
	// RemovedHostIDs are the host ids removed from the ring on earlier runs
	// (nodetool removenode): they stay out of the ring.
	RemovedHostIDs [][16]byte
	// SaveRemoved persists a host id removed from the ring. Nil: not saved.
	SaveRemoved func(hostID [16]byte) error
	// RingDelay is how long a range movement (decommission, removenode)
	// waits after announcing itself for every node to see it before it
	// streams (Cassandra's RING_DELAY). Default 5 gossip rounds.
	RingDelay time.Duration
	// OnStatus, OnTopology and OnSchema receive client-visible changes:
	// status (UP/DOWN), topology (NEW_NODE/REMOVED_NODE) and schema
	// changes learned from peers. OnStatus and OnTopology are called on
	// gossip's goroutine, OnSchema on the one that merged the schema (a
	// pull's, Start's or a messaging handler's); none may block.
	OnStatus   func(up bool, native netip.AddrPort)
	OnTopology func(change string, native netip.AddrPort)
	OnSchema   func(schema.Change)
	// OnUp is told when a peer comes up (hint replay).
	OnUp func(netip.Addr)
	// Roles, when set, are synchronised cluster-wide like the schema.
	Roles RoleSync
	// MetadataClockSkew bounds the timestamps this member accepts in a
	// peer's schema and roles (pushed or pulled): one later than now plus
	// MetadataClockSkew on Clock refuses the whole push or pull, audited
	// with the sender. Zero means DefaultMetadataClockSkew (10 minutes).
	// Cassandra has no such check; it is ringdb's trust rule, so that no
	// peer can plant a definition or a drop that outlives every later
	// change. Members' clocks must agree within it (NTP).
	MetadataClockSkew time.Duration
}

// defaultJoinTimeout is Options.JoinTimeout when zero.
const defaultJoinTimeout = 30 * time.Second

// withDefaults returns o with its zero defaults filled in.
func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.JoinTimeout == 0 {
		o.JoinTimeout = defaultJoinTimeout
	}
	if o.Clock == nil {
		o.Clock = SystemClock()
	}
	if o.MetadataClockSkew <= 0 {
		o.MetadataClockSkew = DefaultMetadataClockSkew
	}
	return o
}

// RoleSync is the role store's cluster interface (internal/auth).
type RoleSync interface {
	// Export encodes every role (and tombstone) for a peer.
	Export() ([]byte, error)
	// Merge folds a peer's export in and reports whether anything
	// changed. Data holding a timestamp (µs) later than notAfter is
	// refused whole, before anything is applied, with an error whose
	// chain holds a FutureTimestamp() bool method (auth.TimestampError).
	Merge(data []byte, notAfter int64) (bool, error)
	// Version identifies the roles' content (gossiped as AUTH_VERSION).
	Version() string
}

// Messenger is the part of internal/messaging a member uses: one-way
// sends (gossip, metadata pushes), requests (metadata pulls) and the
// handlers for the verbs it serves. *messaging.Service implements it.
type Messenger interface {
	// Send queues payload for peer to, best effort, without blocking on
	// the network.
	Send(to netip.Addr, v messaging.Verb, payload []byte) error
	// Request sends payload to peer to and waits for the answer until
	// ctx ends.
	Request(ctx context.Context, to netip.Addr, v messaging.Verb, payload []byte) ([]byte, error)
	// Handle registers the handler of verb v.
	Handle(v messaging.Verb, h messaging.Handler)
}
