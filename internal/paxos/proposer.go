package paxos

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"
)

// Defaults for ProposerOptions fields left zero.
const (
	// DefaultContentionTimeout is cassandra.yaml cas_contention_timeout
	// (1000 ms).
	DefaultContentionTimeout = time.Second
	// DefaultInitialBackoff bounds the first randomised wait after losing
	// a round to another proposer.
	DefaultInitialBackoff = 10 * time.Millisecond
	// DefaultMaxBackoff bounds every such wait (Cassandra waits a uniform
	// 0-100 ms).
	DefaultMaxBackoff = 100 * time.Millisecond
)

// Transport carries the proposer's messages to one replica's Acceptor and
// returns its answer (ringdb: internode verbs over the messaging layer,
// served by Acceptor's methods of the same names). Implementations must be
// safe for concurrent use and must return soon after ctx is done. A call
// hands its request to the network before it waits for the answer:
// cancelling ctx abandons the wait, not the request, since the proposer
// cancels the calls still running once it has the answers it needs (in
// particular the commits beyond the acknowledgements it waits for must
// still be delivered). An error means no answer; wrap ErrNotDelivered when
// the request certainly never reached the replica.
type Transport interface {
	// Prepare asks the replica to promise b for key (Acceptor.Prepare).
	Prepare(ctx context.Context, to netip.Addr, key string, b Ballot) (PrepareResponse, error)
	// Propose asks the replica to accept p for key (Acceptor.Propose).
	Propose(ctx context.Context, to netip.Addr, key string, p Proposal) (ProposeResponse, error)
	// Commit asks the replica to apply and record p for key
	// (Acceptor.Commit); nil means it did.
	Commit(ctx context.Context, to netip.Addr, key string, p Proposal) error
}

// CheckFunc is a CAS statement's read-and-check, called once per round
// that reaches it with the round's promised ballot b: it reads the
// partition at quorum, evaluates the statement's conditions and, when they
// hold, returns apply true and the encoded update with its cells stamped at
// b.Micros(). A SERIAL read is a CheckFunc that never applies. An error
// ends the CAS (nothing was proposed).
type CheckFunc func(ctx context.Context, b Ballot) (update []byte, apply bool, err error)

// Outcome is the result of a CAS.
type Outcome struct {
	// Applied is true when the update was accepted by a quorum: it is
	// decided and committed (or being committed, with a PhaseCommit
	// TimeoutError).
	Applied bool
	// Ballot is the ballot of the round that called the CheckFunc last.
	Ballot Ballot
	// Contentions counts the rounds lost to other proposers (Cassandra's
	// CAS contention metric).
	Contentions int
}

// ProposerOptions configures a Proposer. Zero fields take the documented
// defaults.
type ProposerOptions struct {
	// Transport reaches the replicas. Required.
	Transport Transport
	// Ballots makes this coordinator's ballots; share one per node.
	// Required.
	Ballots *BallotGenerator
	// Clock times backoffs and the contention timeout. Default
	// SystemClock().
	Clock Clock
	// Rand draws the backoff waits; used under a lock. Default a PCG
	// seeded from Clock.Now().
	Rand *rand.Rand
	// ContentionTimeout bounds the time spent retrying rounds lost to
	// other proposers (cas_contention_timeout). Default 1 s.
	ContentionTimeout time.Duration
	// InitialBackoff bounds the first randomised wait after a lost round;
	// the bound doubles at each further loss, up to MaxBackoff. Default
	// 10 ms.
	InitialBackoff time.Duration
	// MaxBackoff bounds every randomised wait. Default 100 ms.
	MaxBackoff time.Duration
	// Logger receives debug lines about contention and repairs. Default
	// slog.Default().
	Logger *slog.Logger
}

// Proposer is the coordinator side of Paxos: it runs CAS rounds for any
// partition against the partition's replicas. Safe for concurrent use.
type Proposer struct {
	o      ProposerOptions
	randMu sync.Mutex
}

// NewProposer returns a Proposer, or an error naming every problem in o.
func NewProposer(o ProposerOptions) (*Proposer, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	o.setDefaults()
	return &Proposer{o: o}, nil
}

func (o ProposerOptions) validate() error {
	var errs []error
	if o.Transport == nil {
		errs = append(errs, errors.New("paxos: ProposerOptions.Transport is required"))
	}
	if o.Ballots == nil {
		errs = append(errs, errors.New("paxos: ProposerOptions.Ballots is required"))
	}
	for _, f := range []struct {
		name string
		d    time.Duration
	}{{"ContentionTimeout", o.ContentionTimeout}, {"InitialBackoff", o.InitialBackoff}, {"MaxBackoff", o.MaxBackoff}} {
		if f.d < 0 {
			errs = append(errs, fmt.Errorf("paxos: ProposerOptions.%s is %v, want >= 0", f.name, f.d))
		}
	}
	return errors.Join(errs...)
}

func (o *ProposerOptions) setDefaults() {
	if o.Clock == nil {
		o.Clock = SystemClock()
	}
	if o.Rand == nil {
		seed := uint64(o.Clock.Now().UnixNano())
		o.Rand = rand.New(rand.NewPCG(seed, seed>>32|1))
	}
	if o.ContentionTimeout == 0 {
		o.ContentionTimeout = DefaultContentionTimeout
	}
	if o.InitialBackoff == 0 {
		o.InitialBackoff = DefaultInitialBackoff
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	o.InitialBackoff = min(o.InitialBackoff, o.MaxBackoff)
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// CAS runs Cassandra's Paxos (v1) for key over replicas until fn's update
// is committed, fn declines to apply, or it fails:
//
//  1. prepare a new ballot on every replica and wait for quorum promises;
//     a refusal loses the round (back off, retry);
//  2. if the promises show a proposal accepted after the most recent
//     commit, re-propose it with this ballot and commit it, then start
//     again; if they show promisers that missed the most recent commit,
//     commit it to them and wait for their acknowledgements;
//  3. call fn; if it does not apply, return Outcome{Applied: false};
//  4. propose fn's update and wait for quorum acceptances; if every
//     replica refused, the round is lost (back off, retry); if some
//     replica accepted or may have, without a quorum, the outcome is
//     unknown (TimeoutError.Unknown): a later round may finish it;
//  5. commit to every replica and wait for commitAcks acknowledgements.
//
// quorum is the number of promises and acceptances needed (more than half
// of replicas, pending replicas included, as Cassandra's
// requiredParticipants); commitAcks is the statement's commit consistency
// (1 for ONE or ANY, quorum for QUORUM). Lost rounds are retried while
// ContentionTimeout allows; every wait also ends with ctx. Failures are a
// *TimeoutError (see Phase for what each phase means for the update) or an
// error wrapping fn's; on a PhaseCommit timeout the Outcome is returned
// too. Every goroutine CAS starts has returned when it returns.
func (p *Proposer) CAS(ctx context.Context, key string, replicas []netip.Addr, quorum, commitAcks int, fn CheckFunc) (Outcome, error) {
	if err := checkCAS(replicas, quorum, commitAcks, fn); err != nil {
		return Outcome{}, fmt.Errorf("paxos: CAS %q: %w", key, err)
	}
	c := &casRun{p: p, key: key, replicas: replicas, quorum: quorum, commitAcks: commitAcks,
		start: p.o.Clock.Now(), lost: PhasePrepare}
	for {
		out, s, err := c.attempt(ctx, fn)
		out.Contentions = c.contentions
		switch s {
		case stepDone:
			return out, err
		case stepRetry:
			if err := c.backoff(ctx); err != nil {
				return out, err
			}
		}
		if p.o.Clock.Now().Sub(c.start) >= p.o.ContentionTimeout {
			return out, c.timeout(c.lost, 0, quorum, false, ErrContention)
		}
	}
}

func checkCAS(replicas []netip.Addr, quorum, commitAcks int, fn CheckFunc) error {
	n := len(replicas)
	switch {
	case fn == nil:
		return errors.New("nil CheckFunc")
	case quorum <= n/2 || quorum > n:
		return fmt.Errorf("quorum %d of %d replicas, want more than half and at most all", quorum, n)
	case commitAcks < 1 || commitAcks > n:
		return fmt.Errorf("commitAcks %d of %d replicas, want 1 to %d", commitAcks, n, n)
	}
	for i, a := range replicas {
		for _, b := range replicas[i+1:] {
			if a == b {
				return fmt.Errorf("replica %v listed twice", a)
			}
		}
	}
	return nil
}

// random returns a uniform duration in [0, d].
func (p *Proposer) random(d time.Duration) time.Duration {
	p.randMu.Lock()
	defer p.randMu.Unlock()
	return time.Duration(p.o.Rand.Int64N(int64(d) + 1))
}
