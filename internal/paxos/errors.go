package paxos

import (
	"errors"
	"fmt"
)

// Phase names the step of a CAS round that an error comes from.
type Phase string

// The phases of a CAS round.
const (
	// PhasePrepare covers the prepare and everything before the round's own
	// proposal: finishing an earlier round found in progress and repairing
	// replicas that missed the most recent commit (Cassandra's
	// beginAndRepairPaxos). The update was not proposed: not applied.
	PhasePrepare Phase = "prepare"
	// PhasePropose is the round's own proposal. With TimeoutError.Unknown
	// the update may have been accepted by some acceptors and may be
	// applied by a later round; without it, it was accepted nowhere.
	PhasePropose Phase = "propose"
	// PhaseCommit is the commit of the round's own, accepted, proposal:
	// the update is decided and will be applied everywhere, even if fewer
	// replicas than asked acknowledged it so far.
	PhaseCommit Phase = "commit"
)

// ErrContention is the Cause of a TimeoutError when the contention timeout
// (ProposerOptions.ContentionTimeout) ran out while other proposers kept
// pre-empting this one.
var ErrContention = errors.New("paxos: contention timeout")

// ErrNotDelivered may be wrapped by a Transport error to say that the
// request certainly did not reach the replica (no connection, refused
// before sending). Such a replica certainly did not accept a proposal,
// which lets a proposal refused by every other replica be retried instead
// of ending with an unknown outcome.
var ErrNotDelivered = errors.New("paxos: request not delivered")

// TimeoutError reports a CAS that did not gather the answers it needed in
// time. Mapping to Cassandra's errors (the caller's job): PhasePrepare and
// PhasePropose are a WriteTimeout with writeType CAS (for a SERIAL read, a
// ReadTimeout) with received Acks and blockFor Required; PhaseCommit is a
// WriteTimeout with writeType SIMPLE (the update is decided).
type TimeoutError struct {
	// Phase is where the CAS stopped.
	Phase Phase
	// Acks is the number of positive answers gathered in that phase.
	Acks int
	// Required is the number of answers that phase needed.
	Required int
	// Contentions counts the rounds lost to other proposers before.
	Contentions int
	// Unknown is true when the update may or may not be applied later
	// (PhasePropose only): some acceptor may hold it as accepted.
	Unknown bool
	// Cause is what ended the wait: ErrContention, the context's error,
	// or the last replica error; may be nil.
	Cause error
}

// Error renders the error as Cassandra words CAS timeouts, then the phase.
func (e *TimeoutError) Error() string {
	msg := fmt.Sprintf("CAS operation timed out: received %d of %d required responses after %d contention retries",
		e.Acks, e.Required, e.Contentions)
	if e.Phase == PhaseCommit {
		msg = fmt.Sprintf("Operation timed out - received only %d responses.", e.Acks)
	}
	msg += fmt.Sprintf(" (paxos %s", e.Phase)
	if e.Unknown {
		msg += ", outcome unknown"
	}
	if e.Cause != nil {
		msg += ": " + e.Cause.Error()
	}
	return msg + ")"
}

// Unwrap returns Cause.
func (e *TimeoutError) Unwrap() error { return e.Cause }
