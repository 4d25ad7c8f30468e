package paxos

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// step says how a CAS goes on after one part of a round.
type step int

const (
	stepNext    step = iota // carry on with this round
	stepDone                // the CAS is over (result or error)
	stepRetry               // lost to another proposer: back off, new round
	stepRestart             // an earlier round was finished: new round now
)

// casRun is the state of one CAS call.
type casRun struct {
	p                  *Proposer
	key                string
	replicas           []netip.Addr
	quorum, commitAcks int
	start              time.Time
	contentions        int
	lost               Phase // phase of the last lost round
}

// attempt runs one round with a new ballot.
func (c *casRun) attempt(ctx context.Context, fn CheckFunc) (Outcome, step, error) {
	b := c.p.o.Ballots.Next()
	promises, s, err := c.prepare(ctx, b)
	if s != stepNext {
		return Outcome{}, s, err
	}
	if s, err := c.catchUp(ctx, b, summarize(promises)); s != stepNext {
		return Outcome{}, s, err
	}
	update, apply, err := fn(ctx, b)
	if err != nil {
		return Outcome{}, stepDone, fmt.Errorf("paxos: CAS %q: read and check at %v: %w", c.key, b, err)
	}
	if !apply {
		return Outcome{Ballot: b}, stepDone, nil
	}
	prop := Proposal{Ballot: b, Update: update}
	if s, err := c.propose(ctx, prop); s != stepNext {
		return Outcome{}, s, err
	}
	out := Outcome{Applied: true, Ballot: b}
	if acks, err := c.commitTo(ctx, prop, c.replicas, c.commitAcks); err != nil {
		return out, stepDone, c.timeout(PhaseCommit, acks, c.commitAcks, false, err)
	}
	return out, stepDone, nil
}

// prepare sends a prepare of b to every replica and returns the first
// quorum of promises.
func (c *casRun) prepare(ctx context.Context, b Ballot) ([]reply[PrepareResponse], step, error) {
	r := fanOut(ctx, c.replicas, func(ctx context.Context, to netip.Addr) (PrepareResponse, error) {
		return c.p.o.Transport.Prepare(ctx, to, c.key, b)
	})
	defer r.stop()
	var promises []reply[PrepareResponse]
	var failed int
	for len(promises) < c.quorum {
		rep, ok := r.next()
		switch {
		case !ok:
			return nil, stepDone, c.timeout(PhasePrepare, len(promises), c.quorum, false, ctx.Err())
		case rep.err != nil:
			if failed++; len(c.replicas)-failed < c.quorum {
				return nil, stepDone, c.timeout(PhasePrepare, len(promises), c.quorum, false,
					fmt.Errorf("prepare to %v: %w", rep.to, rep.err))
			}
			continue
		}
		c.observe(rep.val)
		if !rep.val.Promised {
			c.contend(PhasePrepare, b, rep.to, rep.val.Ballot)
			return nil, stepRetry, nil
		}
		promises = append(promises, rep)
	}
	return promises, stepNext, nil
}

// observe tells the ballot generator about every ballot in a response.
func (c *casRun) observe(r PrepareResponse) {
	g := c.p.o.Ballots
	g.Observe(r.Ballot)
	g.Observe(ballotOf(r.Accepted))
	g.Observe(ballotOf(r.Committed))
}

// lose records a round lost in phase.
func (c *casRun) lose(phase Phase) {
	c.contentions++
	c.lost = phase
}

// contend records a round lost in phase to a replica's newer ballot.
func (c *casRun) contend(phase Phase, ours Ballot, to netip.Addr, theirs Ballot) {
	c.lose(phase)
	c.p.o.Logger.Debug("paxos: round lost to a newer ballot", "key", c.key, "phase", phase,
		"ballot", ours, "replica", to, "promised", theirs, "contentions", c.contentions)
}

// summary is what a quorum of promises says about earlier rounds.
type summary struct {
	committed  *Proposal    // the most recent commit among the promisers
	inProgress *Proposal    // the newest accepted proposal after committed
	lagging    []netip.Addr // promisers whose commit is older than committed
}

func summarize(promises []reply[PrepareResponse]) summary {
	var s summary
	for _, p := range promises {
		s.committed = newer(s.committed, p.val.Committed)
		s.inProgress = newer(s.inProgress, p.val.Accepted)
	}
	if s.inProgress != nil && !s.inProgress.Ballot.After(ballotOf(s.committed)) {
		s.inProgress = nil
	}
	for _, p := range promises {
		if s.committed != nil && s.committed.Ballot.After(ballotOf(p.val.Committed)) {
			s.lagging = append(s.lagging, p.to)
		}
	}
	return s
}

// catchUp makes sure nothing earlier is pending before the round's own
// proposal: an accepted proposal after the most recent commit is finished
// (then a new round starts), and promisers that missed the most recent
// commit receive it (the round goes on once they acknowledged: a commit
// does not invalidate the promises). A most recent commit whose timestamp
// is not before the ballot's also starts a new round, since the round's
// update, stamped at the ballot's micros, must be newer than every
// committed one for reconciliation to keep Paxos's order.
func (c *casRun) catchUp(ctx context.Context, b Ballot, s summary) (step, error) {
	switch {
	case s.committed != nil && s.committed.Ballot.Micros() >= b.Micros():
		c.p.o.Logger.Debug("paxos: most recent commit not older than the ballot", "key", c.key,
			"ballot", b, "committed", s.committed.Ballot)
		return stepRestart, nil
	case s.inProgress != nil:
		return c.finish(ctx, Proposal{Ballot: b, Update: s.inProgress.Update}, s.inProgress.Ballot)
	case len(s.lagging) > 0:
		return c.repair(ctx, *s.committed, s.lagging)
	}
	return stepNext, nil
}

// finish re-proposes an interrupted round's update with the round's own
// ballot and commits it to a quorum.
func (c *casRun) finish(ctx context.Context, prop Proposal, was Ballot) (step, error) {
	c.p.o.Logger.Debug("paxos: finishing an interrupted round", "key", c.key, "ballot", prop.Ballot, "accepted", was)
	t := c.gatherAccepts(ctx, prop, func(t proposeTally) bool { return !t.possible(c.quorum) })
	switch {
	case t.accepts >= c.quorum:
	case t.timedOut:
		return stepDone, c.timeout(PhasePrepare, t.accepts, c.quorum, false, ctx.Err())
	case t.refusals > 0:
		c.contend(PhasePrepare, prop.Ballot, t.refuser, t.promised)
		return stepRetry, nil
	default:
		return stepDone, c.timeout(PhasePrepare, t.accepts, c.quorum, false, t.lastErr)
	}
	if acks, err := c.commitTo(ctx, prop, c.replicas, c.quorum); err != nil {
		return stepDone, c.timeout(PhasePrepare, acks, c.quorum, false, err)
	}
	return stepRestart, nil
}

// repair commits the most recent commit to the promisers that missed it. A
// replica's failure loses the round (retried after a backoff, since a new
// quorum may not need that replica).
func (c *casRun) repair(ctx context.Context, mrc Proposal, lagging []netip.Addr) (step, error) {
	c.p.o.Logger.Debug("paxos: repairing replicas that missed the most recent commit", "key", c.key,
		"committed", mrc.Ballot, "replicas", lagging)
	acks, err := c.commitTo(ctx, mrc, lagging, len(lagging))
	switch {
	case err == nil:
		return stepNext, nil
	case ctx.Err() != nil:
		return stepDone, c.timeout(PhasePrepare, acks, len(lagging), false, ctx.Err())
	}
	c.lose(PhasePrepare)
	c.p.o.Logger.Debug("paxos: repair failed", "key", c.key, "error", err)
	return stepRetry, nil
}

// propose proposes the round's own update. The round is lost (retried)
// only when every replica answered and none accepted; once some replica
// may have accepted without a quorum, the outcome is unknown.
func (c *casRun) propose(ctx context.Context, prop Proposal) (step, error) {
	if err := ctx.Err(); err != nil {
		return stepDone, c.timeout(PhasePropose, 0, c.quorum, false, err)
	}
	t := c.gatherAccepts(ctx, prop, func(t proposeTally) bool {
		return !t.possible(c.quorum) && (t.accepts > 0 || t.failed > 0 || t.pending == 0)
	})
	switch {
	case t.accepts >= c.quorum:
		return stepNext, nil
	case t.timedOut:
		return stepDone, c.timeout(PhasePropose, t.accepts, c.quorum, true, ctx.Err())
	case t.accepts > 0 || t.failed > 0:
		return stepDone, c.timeout(PhasePropose, t.accepts, c.quorum, true, t.lastErr)
	case t.refusals > 0:
		c.contend(PhasePropose, prop.Ballot, t.refuser, t.promised)
		return stepRetry, nil
	}
	return stepDone, c.timeout(PhasePropose, 0, c.quorum, false, t.lastErr)
}

// proposeTally counts the answers to a proposal.
type proposeTally struct {
	accepts, refusals, failed, undelivered, pending int
	refuser                                         netip.Addr // the last replica that refused
	promised                                        Ballot     // the ballot it had promised
	lastErr                                         error
	timedOut                                        bool // ctx ended first
}

// possible reports whether quorum acceptances can still be reached.
func (t proposeTally) possible(quorum int) bool { return t.accepts+t.pending >= quorum }

// gatherAccepts proposes prop to every replica and counts the answers until
// a quorum accepted, settled says the outcome is known, or ctx ends.
func (c *casRun) gatherAccepts(ctx context.Context, prop Proposal, settled func(proposeTally) bool) proposeTally {
	r := fanOut(ctx, c.replicas, func(ctx context.Context, to netip.Addr) (ProposeResponse, error) {
		return c.p.o.Transport.Propose(ctx, to, c.key, prop)
	})
	defer r.stop()
	t := proposeTally{pending: len(c.replicas)}
	for t.accepts < c.quorum && !settled(t) {
		rep, ok := r.next()
		if !ok {
			t.timedOut = true
			return t
		}
		t.pending--
		switch {
		case errors.Is(rep.err, ErrNotDelivered):
			t.undelivered++
			t.lastErr = fmt.Errorf("propose to %v: %w", rep.to, rep.err)
		case rep.err != nil:
			t.failed++
			t.lastErr = fmt.Errorf("propose to %v: %w", rep.to, rep.err)
		case rep.val.Accepted:
			t.accepts++
		default:
			t.refusals++
			t.refuser, t.promised = rep.to, rep.val.Promised
			c.p.o.Ballots.Observe(rep.val.Promised)
		}
	}
	return t
}

// commitTo commits prop to targets and waits for need acknowledgements; it
// returns the acknowledgements and, when fewer than need, why.
func (c *casRun) commitTo(ctx context.Context, prop Proposal, targets []netip.Addr, need int) (int, error) {
	r := fanOut(ctx, targets, func(ctx context.Context, to netip.Addr) (struct{}, error) {
		return struct{}{}, c.p.o.Transport.Commit(ctx, to, c.key, prop)
	})
	defer r.stop()
	acks, failed := 0, 0
	for acks < need {
		rep, ok := r.next()
		switch {
		case !ok:
			return acks, ctx.Err()
		case rep.err != nil:
			if failed++; len(targets)-failed < need {
				return acks, fmt.Errorf("commit to %v: %w", rep.to, rep.err)
			}
		default:
			acks++
		}
	}
	return acks, nil
}

// backoff waits a random time, uniform up to a bound that starts at
// InitialBackoff and doubles with each lost round, up to MaxBackoff.
func (c *casRun) backoff(ctx context.Context) error {
	o := c.p.o
	bound := o.InitialBackoff
	for i := 1; i < c.contentions && bound < o.MaxBackoff; i++ {
		bound *= 2
	}
	if err := o.Clock.Sleep(ctx, c.p.random(min(bound, o.MaxBackoff))); err != nil {
		return c.timeout(c.lost, 0, c.quorum, false, err)
	}
	return nil
}

func (c *casRun) timeout(phase Phase, acks, required int, unknown bool, cause error) *TimeoutError {
	return &TimeoutError{Phase: phase, Acks: acks, Required: required, Contentions: c.contentions,
		Unknown: unknown, Cause: cause}
}
