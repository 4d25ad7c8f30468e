package repair

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/ringdb/ringdb/internal/messaging"
	"github.com/ringdb/ringdb/internal/ring"
	"github.com/ringdb/ringdb/internal/schema"
	"github.com/ringdb/ringdb/internal/storage"
	"github.com/ringdb/ringdb/internal/streaming"
)

// Transport is the part of the messaging service repair uses.
type Transport interface {
	Request(ctx context.Context, to netip.Addr, v messaging.Verb, payload []byte) ([]byte, error)
	Handle(v messaging.Verb, h messaging.Handler)
}

// Streamer moves token spans between replicas (the streaming service).
type Streamer interface {
	// Pull pulls transfers from their peers into the local engine.
	Pull(ctx context.Context, desc string, transfers []streaming.Transfer) error
	// Request asks peer to pull transfers (from the sources they name).
	Request(ctx context.Context, peer netip.Addr, desc string, transfers []streaming.Transfer) error
}

// Defaults.
const (
	// DefaultMaxValidations is how many validations (tree builds) run at
	// once on a node, for local and remote repairs together.
	DefaultMaxValidations = 2
	// DefaultScanBatch is how many partitions one storage scan of a
	// validation reads before the next resumes after the last.
	DefaultScanBatch = 256
	// DefaultValidationTimeout bounds one validation, waiting for a slot
	// included, on the replica that builds the tree and on the
	// coordinator that asks for it.
	DefaultValidationTimeout = 30 * time.Minute
)

// streamDesc names repair's streams in netstats.
const streamDesc = "Repair"

// Options configure a Service.
type Options struct {
	// Self is this node's address. Required.
	Self netip.Addr
	// Engine is the node's storage, which validations scan. Required.
	Engine *storage.Engine
	// Transport carries REPAIR_VALIDATE (the bulk lane of port 7000).
	// Required.
	Transport Transport
	// Streamer streams the differing sub-ranges. Required.
	Streamer Streamer
	// Ring returns the current token ring. Required.
	Ring func() *ring.TokenMetadata
	// Schema returns the current schema. Required.
	Schema func() *schema.Schema
	// IsAlive reports whether the failure detector holds a peer alive: a
	// range with a replica down is not repaired. Required.
	IsAlive func(netip.Addr) bool
	// Admitted reports whether a peer is a cluster member; others'
	// validation requests are refused. Required.
	Admitted func(netip.Addr) bool
	// Depth is the depth of the trees compared, in [0, MaxWireDepth].
	// Default DefaultDepth (4096 leaves per range and table).
	Depth int
	// MaxValidations bounds the validations running at once on this node.
	// Default DefaultMaxValidations (2).
	MaxValidations int
	// ScanBatch is the partitions per storage scan of a validation.
	// Default DefaultScanBatch (256).
	ScanBatch int
	// ValidationTimeout bounds one validation. Default 30 minutes.
	ValidationTimeout time.Duration
	// Logger receives the progress of repairs. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock for elapsed times. Default time.Now.
	Now func() time.Time
}

func (o *Options) ensureDefaults() error {
	if !o.Self.IsValid() || o.Engine == nil || o.Transport == nil || o.Streamer == nil || o.Ring == nil ||
		o.Schema == nil || o.IsAlive == nil || o.Admitted == nil {
		return errors.New("repair: Self, Engine, Transport, Streamer, Ring, Schema, IsAlive and Admitted are required")
	}
	if o.Depth == 0 {
		o.Depth = DefaultDepth
	}
	if o.Depth < 0 || o.Depth > MaxWireDepth {
		return fmt.Errorf("repair: Depth %d out of [0, %d]", o.Depth, MaxWireDepth)
	}
	if o.MaxValidations == 0 {
		o.MaxValidations = DefaultMaxValidations
	}
	if o.ScanBatch == 0 {
		o.ScanBatch = DefaultScanBatch
	}
	if o.ValidationTimeout == 0 {
		o.ValidationTimeout = DefaultValidationTimeout
	}
	if o.MaxValidations < 0 || o.ScanBatch < 0 || o.ValidationTimeout < 0 {
		return errors.New("repair: MaxValidations, ScanBatch and ValidationTimeout must not be negative")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return nil
}

// Service is one node's repair endpoint: it builds its trees for the
// members that ask (REPAIR_VALIDATE) and coordinates the repairs nodetool
// runs on it. It starts no goroutine of its own: a repair's goroutines end
// before Repair returns.
type Service struct {
	o           Options
	validations chan struct{} // a slot per running validation
	commands    atomic.Int64  // repair commands run, for their numbers
}

// New returns a service and registers its verb handler on the transport
// (before the transport listens).
func New(o Options) (*Service, error) {
	if err := o.ensureDefaults(); err != nil {
		return nil, err
	}
	s := &Service{o: o, validations: make(chan struct{}, o.MaxValidations)}
	o.Transport.Handle(messaging.VerbRepairValidate, s.serveValidate)
	return s, nil
}

// tableKnown reports whether the schema has a table with id.
func tableKnown(sch *schema.Schema, id storage.TableID) bool {
	for _, ks := range sch.Keyspaces {
		for _, t := range ks.Tables {
			if storage.TableID(t.ID) == id {
				return true
			}
		}
	}
	return false
}
