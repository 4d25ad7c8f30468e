package streaming

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"time"

	"github.com/ringdb/ringdb/internal/messaging"
	"github.com/ringdb/ringdb/internal/storage"
)

// Transport is the part of the messaging service streaming uses.
type Transport interface {
	Request(ctx context.Context, to netip.Addr, v messaging.Verb, payload []byte) ([]byte, error)
	Handle(v messaging.Verb, h messaging.Handler)
}

// Defaults.
const (
	// DefaultThroughputMiB is stream_throughput_outbound's default in MiB/s
	// (Cassandra 4's 24 MiB/s).
	DefaultThroughputMiB = 24
	// DefaultChunkBytes is the size of one chunk a receiver asks for.
	DefaultChunkBytes = 1 << 20
	// DefaultChunkTimeout bounds one chunk request, throttling included.
	DefaultChunkTimeout = 60 * time.Second
	// DefaultRetries is how many times a failed chunk request is retried
	// (from the same resume key) before the stream fails.
	DefaultRetries = 3
	// DefaultAdmissionWait is how long a pull refused because the source
	// does not know this node as a member yet is retried.
	DefaultAdmissionWait = 30 * time.Second
)

// Options configure a Service.
type Options struct {
	// Engine is the node's storage: the source exports from it, the
	// receiver imports into it. Required.
	Engine *storage.Engine
	// Transport carries the chunks (the bulk lane of port 7000). Required.
	Transport Transport
	// Admitted reports whether a peer is a cluster member; other peers'
	// pull requests are refused (a certificate that never joined cannot
	// read a replica's data by streaming it). Required.
	Admitted func(netip.Addr) bool
	// ThroughputMiB is stream_throughput_outbound in MiB/s: the bytes per
	// second this node sends to all its receivers together. 0 means the
	// default (24); a negative value means unthrottled.
	ThroughputMiB float64
	// ChunkBytes is the chunk size a receiver asks for. Default 1 MiB; at
	// most MaxChunkBytes.
	ChunkBytes int
	// ChunkTimeout bounds one chunk request. Default 60 s.
	ChunkTimeout time.Duration
	// Retries is the number of retries of a failed chunk request. Default 3.
	Retries int
	// RetryBackoff is the wait before the first retry, doubled after each.
	// Default 500 ms.
	RetryBackoff time.Duration
	// AdmissionWait is how long a chunk request refused because the
	// source does not (yet) know this node as a member is retried, every
	// RetryBackoff: a joining node's BOOT reaches the sources by gossip,
	// a few rounds after it starts. Such refusals do not count against
	// Retries. Default 30 s; negative: not retried.
	AdmissionWait time.Duration
	// PeerAlive, if set, reports whether the failure detector holds a peer
	// alive: a pull from a source marked down fails at once (and a chunk
	// request waiting on it is abandoned) instead of waiting out
	// ChunkTimeout and the retries. Nil: no check.
	PeerAlive func(netip.Addr) bool
	// Logger receives progress and failures. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock for progress rates. Default time.Now.
	Now func() time.Time
}

func (o *Options) ensureDefaults() error {
	if o.Engine == nil || o.Transport == nil || o.Admitted == nil {
		return errors.New("streaming: Engine, Transport and Admitted are required")
	}
	if o.ThroughputMiB == 0 {
		o.ThroughputMiB = DefaultThroughputMiB
	}
	if o.ChunkBytes == 0 {
		o.ChunkBytes = DefaultChunkBytes
	}
	if o.ChunkBytes < 0 || o.ChunkBytes > MaxChunkBytes {
		return errors.New("streaming: ChunkBytes outside (0, MaxChunkBytes]")
	}
	if o.ChunkTimeout == 0 {
		o.ChunkTimeout = DefaultChunkTimeout
	}
	if o.Retries == 0 {
		o.Retries = DefaultRetries
	}
	if o.RetryBackoff == 0 {
		o.RetryBackoff = 500 * time.Millisecond
	}
	if o.AdmissionWait == 0 {
		o.AdmissionWait = DefaultAdmissionWait
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return nil
}
