package exposure

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/ringdb/ringdb/internal/config"
)

// DefaultPorts are the ports probed on a target given without a port:
// internode (7000), Cassandra's TLS internode port (7001), native CQL
// (9042) and management (7199: JMX for Cassandra, the admin endpoint for
// ringdb).
var DefaultPorts = []int{7000, 7001, 9042, 7199}

// Defaults of Options.
const (
	// DefaultTimeout bounds every dial, TLS handshake and read.
	DefaultTimeout = 3 * time.Second
	// DefaultMaxConnsPerTarget is the connection budget of one target.
	DefaultMaxConnsPerTarget = 16
	// DefaultConcurrency is how many targets are probed at once.
	DefaultConcurrency = 4
	// DefaultMaxRead is how many bytes are read at most from one connection.
	DefaultMaxRead = 64 << 10
)

// DialFunc opens a TCP connection; net.Dialer's DialContext has this shape.
type DialFunc func(ctx context.Context, network, address string) (net.Conn, error)

// ResolveFunc resolves a host name to its addresses.
type ResolveFunc func(ctx context.Context, host string) ([]netip.Addr, error)

// Options configure Run. The zero value is usable: every zero field takes
// the default given in its comment.
type Options struct {
	// Ports are probed on a target given without a port. Default
	// DefaultPorts.
	Ports []int
	// Timeout bounds each dial, TLS handshake and read. Default
	// DefaultTimeout (3 s).
	Timeout time.Duration
	// AllowPublic scans public (globally routable) addresses too. Default
	// false: such a target is reported ("public address, not scanned") and
	// never dialled.
	AllowPublic bool
	// MaxConnsPerTarget is the most connections opened to one target
	// address over the whole run. Default DefaultMaxConnsPerTarget (16).
	MaxConnsPerTarget int
	// Concurrency is how many targets are probed at once; each has one
	// connection open at a time. Default DefaultConcurrency (4).
	Concurrency int
	// MaxRead is the most bytes read from one connection. Default
	// DefaultMaxRead (64 KiB).
	MaxRead int64
	// Dial opens connections. Default a net.Dialer with Timeout.
	Dial DialFunc
	// Resolve resolves target host names. Default net.DefaultResolver.
	Resolve ResolveFunc
	// IsPublic reports whether an address is globally routable. Default
	// config.IsPublic.
	IsPublic func(netip.Addr) bool
	// IsLoopback reports whether an address is only reachable from the
	// machine itself; it raises the severity of a reachable management
	// port. Default netip.Addr.IsLoopback.
	IsLoopback func(netip.Addr) bool
	// Now is the clock certificates' expiry is judged by. Default time.Now.
	Now func() time.Time
	// Logger receives debug records of each probe step. Default discards.
	Logger *slog.Logger
}

// withDefaults returns o with every zero field set to its default.
func (o Options) withDefaults() Options {
	if len(o.Ports) == 0 {
		o.Ports = DefaultPorts
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxConnsPerTarget <= 0 {
		o.MaxConnsPerTarget = DefaultMaxConnsPerTarget
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.MaxRead <= 0 {
		o.MaxRead = DefaultMaxRead
	}
	if o.Dial == nil {
		d := &net.Dialer{Timeout: o.Timeout}
		o.Dial = d.DialContext
	}
	if o.Resolve == nil {
		o.Resolve = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	if o.IsPublic == nil {
		o.IsPublic = config.IsPublic
	}
	if o.IsLoopback == nil {
		o.IsLoopback = netip.Addr.IsLoopback
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return o
}
