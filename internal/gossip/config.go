package gossip

import (
	"errors"
	"hash/fnv"
	"math/rand/v2"
	"net/netip"
	"time"
)

// Defaults for Config fields left zero.
const (
	// DefaultPhiConvictThreshold is cassandra.yaml phi_convict_threshold.
	DefaultPhiConvictThreshold = 8.0
	// DefaultQuarantineDelay is Cassandra's QUARANTINE_DELAY (2 x RING_DELAY).
	DefaultQuarantineDelay = 60 * time.Second
	// DefaultMaxStateBytes bounds one endpoint's application states.
	DefaultMaxStateBytes = 64 << 10
	// DefaultMaxEndpoints bounds the endpoint-state table.
	DefaultMaxEndpoints = 1000
	// DefaultMaxMessageBytes bounds the states packed into one ACK or ACK2.
	DefaultMaxMessageBytes = 1 << 20
	// DefaultFDInitialInterval is Cassandra's FD INITIAL_VALUE: twice the
	// one-second gossip interval (-Dcassandra.fd_initial_value_ms).
	DefaultFDInitialInterval = 2 * time.Second
	// DefaultMaxLocalPause is Cassandra's MAX_LOCAL_PAUSE
	// (-Dcassandra.max_local_pause_in_ms).
	DefaultMaxLocalPause = 5 * time.Second
	// DefaultEchoTimeout is how long an unanswered EchoRequest blocks a
	// new one to the same endpoint.
	DefaultEchoTimeout = 5 * time.Second
	// MaxGenerationDifference is Cassandra's MAX_GENERATION_DIFFERENCE: a
	// generation more than a year ahead of the endpoint's known generation
	// is refused.
	MaxGenerationDifference = 86400 * 365
	// DefaultMaxGenerationSkew bounds how far in the future (of local
	// time) a generation may be.
	DefaultMaxGenerationSkew = 10 * time.Minute
	// DefaultMaxTokens bounds the tokens one endpoint may gossip.
	DefaultMaxTokens = 256
	// DefaultMaxNewEndpoints bounds the endpoints not known before that
	// one message may carry states of.
	DefaultMaxNewEndpoints = 16
)

// Config configures a Gossiper. Zero fields take the documented defaults.
type Config struct {
	// Self is this node's internode address (cassandra.yaml listen_address).
	// Required.
	Self netip.Addr
	// ClusterName must match a peer's for its SYNs to be answered
	// (cluster_name). Default "" (all peers must also use "").
	ClusterName string
	// Seeds are the seed provider's addresses (seed_provider.parameters.seeds).
	// Self may be among them.
	Seeds []netip.Addr
	// PhiConvictThreshold is phi_convict_threshold. Default 8.
	PhiConvictThreshold float64
	// Generation is this process's heartbeat generation. Default: the
	// start time in seconds since the epoch (as Cassandra), from New's now.
	Generation int32
	// Rand is the only random source used. Default: a PCG seeded from Self
	// and Generation (deterministic).
	Rand *rand.Rand
	// QuarantineDelay is how long a removed endpoint's gossip is ignored.
	// Default 60 s.
	QuarantineDelay time.Duration
	// MaxStateBytes bounds one endpoint's application states (value bytes
	// plus 8 per state); larger updates are refused. Default 64 KiB.
	MaxStateBytes int
	// MaxEndpoints bounds the number of known endpoints, self included;
	// new endpoints beyond it are refused. Default 1000.
	MaxEndpoints int
	// MaxMessageBytes bounds the encoded states in one ACK or ACK2; the
	// rest follows in later rounds. Default 1 MiB.
	MaxMessageBytes int
	// FDInitialInterval seeds each arrival window and, unless
	// FDMaxInterval is set, is the longest interval recorded. Default 2 s.
	FDInitialInterval time.Duration
	// FDMaxInterval: longer heartbeat intervals are not recorded
	// (-Dcassandra.fd_max_interval_ms). Default FDInitialInterval.
	FDMaxInterval time.Duration
	// MaxLocalPause: if the failure detector itself was not run for this
	// long (GC pause, stopped VM), it convicts nobody until that much time
	// has passed again. Default 5 s.
	MaxLocalPause time.Duration
	// EchoTimeout is how long an unanswered EchoRequest suppresses another
	// to the same endpoint. Default 5 s.
	EchoTimeout time.Duration

	// Signer signs every value the local node gossips about itself (its
	// heartbeat at each Tick, each SetLocalState) and provides the
	// certificate gossiped as CERT. nil: local values go out unsigned
	// (protocol tests only; peers that verify refuse them).
	Signer Signer
	// Verifier checks, before anything is applied, that every heartbeat and
	// application state received about an endpoint is signed by that
	// endpoint's own certificate (its CERT state). Unsigned, forged or
	// unverifiable states are dropped and reported as EventForged with the
	// sending peer. nil: nothing is verified (protocol tests only;
	// ringdb's cluster member always sets one).
	Verifier Verifier
	// MaxGenerationSkew: a generation more than this far ahead of local
	// time is refused (a process's generation is its start time, so only a
	// wrong clock or a forgery is ahead). Default 10 minutes.
	MaxGenerationSkew time.Duration
	// MaxTokens bounds the tokens in one endpoint's TOKENS state; a
	// message carrying more is refused whole. Default 256 (ringdb sets
	// max(num_tokens, 256)).
	MaxTokens int
	// MaxNewEndpoints bounds the endpoints not known before that one
	// message may carry states of; a message carrying more is refused
	// whole, and an ACK requests at most this many unknown endpoints (the
	// rest in later rounds). Default 16.
	MaxNewEndpoints int
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	if !c.Self.IsValid() || c.Self.IsUnspecified() {
		errs = append(errs, errors.New("gossip: Self (listen_address) must be a specific address"))
	}
	if c.Self.Zone() != "" {
		errs = append(errs, errors.New("gossip: Self (listen_address) must not carry a zone"))
	}
	for _, s := range c.Seeds {
		if !s.IsValid() || s.IsUnspecified() {
			errs = append(errs, errors.New("gossip: Seeds (seed_provider) contains an invalid address"))
			break
		}
	}
	if c.PhiConvictThreshold < 0 {
		errs = append(errs, errors.New("gossip: PhiConvictThreshold (phi_convict_threshold) must be positive"))
	}
	if c.MaxStateBytes < 0 || c.MaxEndpoints < 0 || c.MaxMessageBytes < 0 || c.MaxTokens < 0 || c.MaxNewEndpoints < 0 {
		errs = append(errs, errors.New("gossip: MaxStateBytes, MaxEndpoints, MaxMessageBytes, MaxTokens and MaxNewEndpoints must not be negative"))
	}
	if c.QuarantineDelay < 0 || c.FDInitialInterval < 0 || c.FDMaxInterval < 0 || c.MaxLocalPause < 0 || c.EchoTimeout < 0 ||
		c.MaxGenerationSkew < 0 {
		errs = append(errs, errors.New("gossip: durations must not be negative"))
	}
	return errors.Join(errs...)
}

// withDefaults returns c with zero fields filled.
func (c Config) withDefaults(now time.Time) Config {
	if c.PhiConvictThreshold == 0 {
		c.PhiConvictThreshold = DefaultPhiConvictThreshold
	}
	if c.Generation == 0 {
		c.Generation = int32(now.Unix())
	}
	if c.Rand == nil {
		h := fnv.New64a()
		b, _ := c.Self.MarshalBinary()
		h.Write(b)
		c.Rand = rand.New(rand.NewPCG(h.Sum64(), uint64(c.Generation)))
	}
	if c.QuarantineDelay == 0 {
		c.QuarantineDelay = DefaultQuarantineDelay
	}
	if c.MaxStateBytes == 0 {
		c.MaxStateBytes = DefaultMaxStateBytes
	}
	if c.MaxEndpoints == 0 {
		c.MaxEndpoints = DefaultMaxEndpoints
	}
	if c.MaxMessageBytes == 0 {
		c.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if c.FDInitialInterval == 0 {
		c.FDInitialInterval = DefaultFDInitialInterval
	}
	if c.FDMaxInterval == 0 {
		c.FDMaxInterval = c.FDInitialInterval
	}
	if c.MaxLocalPause == 0 {
		c.MaxLocalPause = DefaultMaxLocalPause
	}
	if c.EchoTimeout == 0 {
		c.EchoTimeout = DefaultEchoTimeout
	}
	if c.MaxGenerationSkew == 0 {
		c.MaxGenerationSkew = DefaultMaxGenerationSkew
	}
	if c.MaxTokens == 0 {
		c.MaxTokens = DefaultMaxTokens
	}
	if c.MaxNewEndpoints == 0 {
		c.MaxNewEndpoints = DefaultMaxNewEndpoints
	}
	return c
}
