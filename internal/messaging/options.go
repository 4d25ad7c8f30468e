package messaging

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"time"
)

// Defaults and hard limits.
const (
	// DefaultPort is Cassandra's storage_port.
	DefaultPort = 7000
	// DefaultHandshakeTimeout bounds TCP connect, TLS and the ringdb handshake.
	DefaultHandshakeTimeout = 5 * time.Second
	// DefaultRequestTimeout applies to a Request whose context has no deadline.
	DefaultRequestTimeout = 2 * time.Second
	// DefaultMaxFrameSize is the largest bulk-lane payload.
	DefaultMaxFrameSize = 16 << 20
	// UrgentMaxFrameSize is the largest urgent-lane payload (MaxFrameSize if smaller).
	UrgentMaxFrameSize = 1 << 20
	// DefaultMaxQueueBytesPerPeer bounds each lane's outbound queue to one peer.
	DefaultMaxQueueBytesPerPeer = 64 << 20
	// DefaultMaxHandshakes bounds the inbound connections still in the
	// handshake, in total.
	DefaultMaxHandshakes = 128
	// DefaultMaxHandshakesPerSource bounds the inbound connections still in
	// the handshake from one source IP.
	DefaultMaxHandshakesPerSource = 8
	// DefaultMaxConnsPerPeer bounds the authenticated inbound connections
	// from one peer address: its two lanes, twice (room for a redial while
	// the old connection is not yet known to be dead).
	DefaultMaxConnsPerPeer = 2 * numLanes
	// DefaultMaxPeers bounds the peer addresses with authenticated inbound
	// connections (members named by Options.Reserved do not count).
	DefaultMaxPeers = 1024
	// DefaultIdleTimeout closes an authenticated inbound connection that
	// received nothing for that long (the dialer closes its own unused
	// connections after half of it).
	DefaultIdleTimeout = time.Minute
	// DefaultRefusalLogInterval is the least time between two WARN lines
	// about refused or dropped inbound connections.
	DefaultRefusalLogInterval = 10 * time.Second
	// MaxClusterIDLen is the longest cluster id the handshake carries.
	MaxClusterIDLen = 255

	// maxHandlersPerConn bounds concurrently running handlers per inbound
	// connection (and per local lane); beyond it the reader stops reading.
	maxHandlersPerConn = 64
	// writeStallTimeout closes a connection whose peer stops reading.
	writeStallTimeout = 30 * time.Second
	// backoff bounds for redialling a peer.
	minBackoff = 100 * time.Millisecond
	maxBackoff = 10 * time.Second
)

// Options configures a Service. Zero values take the documented default.
//
// # Connection budgets
//
// An inbound connection is in one of two budgets, never both:
//
//   - Handshake: from TCP accept until the ringdb handshake has been
//     accepted (TLS 1.3 with a verified certificate, then the hello). At most
//     MaxHandshakesPerSource per source IP and MaxHandshakes in total, each
//     for at most HandshakeTimeout. A connection beyond a bound is closed at
//     once, before TLS, counted (Stats) and reported to OnLimit. A member's
//     address (Reserved, or an address that has authenticated with us since
//     Start, either way round) is held only to MaxHandshakesPerSource: no
//     flood of strangers can keep a member from handshaking.
//   - Authenticated: after the handshake, at most MaxConnsPerPeer per peer
//     address. These slots are the peer's own: only the holder of that
//     address's certificate, connecting from that address, can use them.
//     When a peer opens one more, its least recently active connection is
//     closed (the newest connection is the one its dialer uses). At most
//     MaxPeers addresses hold authenticated connections besides the
//     Reserved ones; a further address is refused with a reject code.
//     A connection that receives nothing (not a byte) for IdleTimeout while
//     no handler of it runs is closed.
//
// The dialer closes a connection it has not used (nothing written, no
// response awaited) for IdleTimeout/2, before the acceptor would, so an
// idle close never races a request.
type Options struct {
	// Self is this node's listen address (cassandra.yaml listen_address). It
	// must be a specific address, equal to the IP SAN of our certificate;
	// outbound connections are bound to it. Required.
	Self netip.Addr
	// Port is the internode port (storage_port). Every node uses the same
	// port. Default 7000.
	Port int
	// ClusterID must equal the peer's in the handshake. Required, at most
	// 255 bytes.
	ClusterID string
	// ServerTLS is the acceptor's TLS configuration: TLS 1.3, client
	// certificates required and verified against the cluster CA (ClientAuth
	// RequireAndVerifyClientCert, or RequireAnyClientCert with a
	// VerifyConnection/VerifyPeerCertificate callback). Required.
	ServerTLS *tls.Config
	// ClientTLS is the dialer's TLS configuration: TLS 1.3 with a client
	// certificate; the server certificate is verified (no InsecureSkipVerify
	// unless a VerifyConnection/VerifyPeerCertificate callback verifies it).
	// ServerName, if empty, is set to the dialed IP. Required.
	ClientTLS *tls.Config
	// PeerAddress returns the node address in the verified peer certificate
	// (its IP SAN). Required.
	PeerAddress func(tls.ConnectionState) (netip.Addr, error)
	// HandshakeTimeout bounds connect + TLS + ringdb handshake, per
	// connection; an inbound connection that has not completed its
	// handshake by then is closed. Default 5s.
	HandshakeTimeout time.Duration
	// RequestTimeout applies to a Request whose context has no deadline.
	// Default 2s (Cassandra's write_request_timeout).
	RequestTimeout time.Duration
	// MaxFrameSize is the largest payload in bytes on the bulk lane; the
	// urgent lane allows at most min(MaxFrameSize, 1 MiB). Default 16 MiB.
	MaxFrameSize int
	// MaxQueueBytesPerPeer bounds, in bytes, the outbound queue of each lane
	// to each peer (and to Self). Send fails with ErrQueueFull beyond it.
	// Default 64 MiB.
	MaxQueueBytesPerPeer int
	// MaxHandshakes bounds the inbound connections that have not completed
	// the handshake, in total; further ones are closed at once unless their
	// source is a member (see Connection budgets). They never count against
	// authenticated connections. Default 128.
	MaxHandshakes int
	// MaxHandshakesPerSource bounds the inbound connections from one source
	// IP that have not completed the handshake; further ones are closed at
	// once. Default 8.
	MaxHandshakesPerSource int
	// MaxConnsPerPeer bounds the authenticated inbound connections from one
	// peer address; one more closes that peer's least recently active
	// connection. Default 4 (two lanes, twice). At least 2.
	MaxConnsPerPeer int
	// MaxPeers bounds the peer addresses, other than Reserved ones, with
	// authenticated inbound connections; a further address is refused after
	// TLS with a reject code. Default 1024.
	MaxPeers int
	// IdleTimeout closes an authenticated inbound connection that received
	// nothing for that long while none of its handlers ran. Outbound
	// connections are closed by their dialer after IdleTimeout/2 unused.
	// Gossip keeps a live peer's urgent lane busy (a message every second);
	// an idle lane is redialled on its next message. Default 1 minute.
	IdleTimeout time.Duration
	// Reserved, if set, reports whether an address belongs to a cluster
	// member: its handshakes are held only to MaxHandshakesPerSource (not
	// MaxHandshakes) and its authenticated connections do not count against
	// MaxPeers. Addresses that have authenticated with this Service since
	// Start (inbound or outbound) are treated as members for handshakes
	// without it. Called on the accept path: it must be fast and must not
	// call the Service.
	Reserved func(netip.Addr) bool
	// RefusalLogInterval is the least time between two WARN lines about
	// refused or dropped inbound connections; each line carries the counts
	// since the previous one (every refusal is logged at DEBUG and counted
	// in Stats). Default 10s.
	RefusalLogInterval time.Duration
	// Logger receives operational logs. Default: discard.
	Logger *slog.Logger
	// OnRefused, if set, is called for every refused peer (TLS failure or
	// handshake timeout, wrong cluster, address mismatch, bad handshake,
	// MaxPeers), on either side of a connection. It must not block for long.
	OnRefused func(remote netip.AddrPort, reason string)
	// OnLimit, if set, is called for every inbound connection closed by a
	// connection budget before TLS (MaxHandshakes, MaxHandshakesPerSource)
	// and for every authenticated connection closed by MaxConnsPerPeer. It
	// runs on the accept path during a flood: it must be fast and must not
	// block.
	OnLimit func(remote netip.AddrPort, reason string)

	// JoinTLS and Join, both set or both nil, accept the join exchange
	// (admission by join token, docs/decisions/011) on the storage port:
	// a ClientHello that offers JoinTLS's single application protocol
	// (NextProtos, pki.JoinALPN) is served with JoinTLS (TLS 1.3, no client
	// certificate: ClientAuth NoClientCert) instead of ServerTLS, and once
	// that protocol is negotiated the connection is handed to Join and
	// closed when Join returns. It never becomes a peer: no ringdb
	// handshake, no verb, no slot; it stays in the handshake budget and
	// under HandshakeTimeout (its deadline is set on the connection) all
	// along. Every other connection still needs ServerTLS's mutual TLS. A
	// non-nil error from Join is reported like a refused handshake
	// (OnRefused).
	JoinTLS *tls.Config
	Join    func(ctx context.Context, conn net.Conn, remote netip.AddrPort) error
}

// ensureDefaults fills zero fields with their defaults.
func (o *Options) ensureDefaults() {
	if o.Port == 0 {
		o.Port = DefaultPort
	}
	if o.HandshakeTimeout == 0 {
		o.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if o.RequestTimeout == 0 {
		o.RequestTimeout = DefaultRequestTimeout
	}
	if o.MaxFrameSize == 0 {
		o.MaxFrameSize = DefaultMaxFrameSize
	}
	if o.MaxQueueBytesPerPeer == 0 {
		o.MaxQueueBytesPerPeer = DefaultMaxQueueBytesPerPeer
	}
	if o.MaxHandshakes == 0 {
		o.MaxHandshakes = DefaultMaxHandshakes
	}
	if o.MaxHandshakesPerSource == 0 {
		o.MaxHandshakesPerSource = DefaultMaxHandshakesPerSource
	}
	if o.MaxConnsPerPeer == 0 {
		o.MaxConnsPerPeer = DefaultMaxConnsPerPeer
	}
	if o.MaxPeers == 0 {
		o.MaxPeers = DefaultMaxPeers
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.RefusalLogInterval == 0 {
		o.RefusalLogInterval = DefaultRefusalLogInterval
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.Self = o.Self.Unmap()
}

// validate returns every problem at once.
func (o *Options) validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("messaging: %s: "+format, append([]any{key}, args...)...))
	}
	if !o.Self.IsValid() || o.Self.IsUnspecified() || o.Self.IsMulticast() {
		bad("listen_address (Self)", "must be a specific unicast address, got %v", o.Self)
	}
	if o.Port < 1 || o.Port > 65535 {
		bad("storage_port (Port)", "out of range: %d", o.Port)
	}
	if o.ClusterID == "" || len(o.ClusterID) > MaxClusterIDLen {
		bad("ClusterID", "must be 1..%d bytes, got %d", MaxClusterIDLen, len(o.ClusterID))
	}
	if o.ServerTLS == nil {
		bad("ServerTLS", "required (there is no plaintext internode path)")
	} else {
		switch {
		case o.ServerTLS.ClientAuth == tls.RequireAndVerifyClientCert:
		case o.ServerTLS.ClientAuth == tls.RequireAnyClientCert &&
			(o.ServerTLS.VerifyConnection != nil || o.ServerTLS.VerifyPeerCertificate != nil):
		default:
			bad("ServerTLS.ClientAuth", "must require and verify client certificates, got %v", o.ServerTLS.ClientAuth)
		}
		if o.ServerTLS.MaxVersion != 0 && o.ServerTLS.MaxVersion < tls.VersionTLS13 {
			bad("ServerTLS.MaxVersion", "must allow TLS 1.3")
		}
		if err := certCovers(o.ServerTLS.Certificates, o.Self); err != nil {
			bad("ServerTLS.Certificates", "%v", err)
		}
	}
	if o.ClientTLS == nil {
		bad("ClientTLS", "required (there is no plaintext internode path)")
	} else {
		if o.ClientTLS.InsecureSkipVerify && o.ClientTLS.VerifyConnection == nil && o.ClientTLS.VerifyPeerCertificate == nil {
			bad("ClientTLS.InsecureSkipVerify", "set without a verification callback")
		}
		if o.ClientTLS.MaxVersion != 0 && o.ClientTLS.MaxVersion < tls.VersionTLS13 {
			bad("ClientTLS.MaxVersion", "must allow TLS 1.3")
		}
		if len(o.ClientTLS.Certificates) == 0 && o.ClientTLS.GetClientCertificate == nil {
			bad("ClientTLS.Certificates", "a client certificate is required")
		}
		if err := certCovers(o.ClientTLS.Certificates, o.Self); err != nil {
			bad("ClientTLS.Certificates", "%v", err)
		}
	}
	if o.PeerAddress == nil {
		bad("PeerAddress", "required")
	}
	switch {
	case (o.JoinTLS == nil) != (o.Join == nil):
		bad("JoinTLS/Join", "set both or neither")
	case o.JoinTLS != nil:
		if len(o.JoinTLS.NextProtos) != 1 || o.JoinTLS.NextProtos[0] == "" {
			bad("JoinTLS.NextProtos", "must name exactly one application protocol (the join protocol), got %q", o.JoinTLS.NextProtos)
		}
		if o.JoinTLS.ClientAuth != tls.NoClientCert {
			bad("JoinTLS.ClientAuth", "must be NoClientCert: a join connection never authenticates a peer")
		}
		if o.JoinTLS.MaxVersion != 0 && o.JoinTLS.MaxVersion < tls.VersionTLS13 {
			bad("JoinTLS.MaxVersion", "must allow TLS 1.3")
		}
		if len(o.JoinTLS.Certificates) == 0 {
			bad("JoinTLS.Certificates", "a server certificate is required")
		}
	}
	if o.HandshakeTimeout < 0 {
		bad("HandshakeTimeout", "negative: %v", o.HandshakeTimeout)
	}
	if o.RequestTimeout < 0 {
		bad("RequestTimeout", "negative: %v", o.RequestTimeout)
	}
	if o.MaxFrameSize < 0 || o.MaxFrameSize > maxFrameSizeLimit {
		bad("MaxFrameSize", "must be 1..%d bytes, got %d", maxFrameSizeLimit, o.MaxFrameSize)
	}
	if o.MaxQueueBytesPerPeer < 0 {
		bad("MaxQueueBytesPerPeer", "negative: %d", o.MaxQueueBytesPerPeer)
	}
	if o.MaxHandshakes < 0 {
		bad("MaxHandshakes", "negative: %d", o.MaxHandshakes)
	}
	if o.MaxHandshakesPerSource < 0 {
		bad("MaxHandshakesPerSource", "negative: %d", o.MaxHandshakesPerSource)
	}
	if o.MaxConnsPerPeer < numLanes {
		// One connection per peer would make its two lanes evict each other.
		bad("MaxConnsPerPeer", "must be at least %d (one per lane), got %d", numLanes, o.MaxConnsPerPeer)
	}
	if o.MaxPeers < 0 {
		bad("MaxPeers", "negative: %d", o.MaxPeers)
	}
	if o.IdleTimeout < 0 {
		bad("IdleTimeout", "negative: %v", o.IdleTimeout)
	}
	if o.RefusalLogInterval < 0 {
		bad("RefusalLogInterval", "negative: %v", o.RefusalLogInterval)
	}
	return errors.Join(errs...)
}

// certCovers checks that the first configured certificate, if any, names
// self among its IP SANs: a node whose certificate names another address
// would be refused by every peer.
func certCovers(certs []tls.Certificate, self netip.Addr) error {
	if len(certs) == 0 || len(certs[0].Certificate) == 0 || !self.IsValid() {
		return nil
	}
	leaf := certs[0].Leaf
	if leaf == nil {
		var err error
		if leaf, err = x509.ParseCertificate(certs[0].Certificate[0]); err != nil {
			return fmt.Errorf("parse leaf: %w", err)
		}
	}
	if !slices.ContainsFunc(leaf.IPAddresses, func(ip net.IP) bool {
		a, ok := netip.AddrFromSlice(ip)
		return ok && a.Unmap() == self
	}) {
		return fmt.Errorf("certificate IP SANs %v do not include listen address %v", leaf.IPAddresses, self)
	}
	return nil
}

// maxFrame returns the payload limit of a lane.
func (o *Options) maxFrame(l lane) int {
	if l == laneUrgent {
		return min(o.MaxFrameSize, UrgentMaxFrameSize)
	}
	return o.MaxFrameSize
}
