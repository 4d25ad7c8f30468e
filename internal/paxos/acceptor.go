package paxos

import (
	"errors"
	"fmt"
	"hash/maphash"
	"sync"
)

// DefaultStripes is AcceptorOptions.Stripes' default: the number of
// per-key locks (Cassandra stripes its Paxos state locks the same way).
const DefaultStripes = 1024

// Store keeps each partition's AcceptorState durably (ringdb: a key of the
// node's Pebble instance, written with a synced batch). An Acceptor
// serialises all calls for one key; calls for different keys may run
// concurrently, so a Store must be safe for concurrent use.
type Store interface {
	// Load returns the state saved for key; found is false (and st zero)
	// when there is none.
	Load(key string) (st AcceptorState, found bool, err error)
	// Save replaces the state of key. It must be durable before it
	// returns: the acceptor answers only afterwards, and a promise or
	// acceptance it forgets after a crash breaks Paxos.
	Save(key string, st AcceptorState) error
}

// ApplyFunc applies a committed update to the replica's data (ringdb: the
// storage engine's ordinary mutation path). It may be called more than once
// for the same update, and for updates older than data already applied:
// the update carries its own write timestamp, so reconciliation makes the
// replay harmless.
type ApplyFunc func(key string, update []byte) error

// AcceptorOptions configures an Acceptor.
type AcceptorOptions struct {
	// Store keeps the per-partition state. Required.
	Store Store
	// Apply applies committed updates. Required.
	Apply ApplyFunc
	// Stripes is the number of per-key locks; keys hashing to the same
	// stripe are serialised together. Default DefaultStripes (1024).
	Stripes int
}

// Acceptor is the replica side of Paxos for every partition of a node:
// Cassandra's PaxosState. All methods are safe for concurrent use; calls for
// the same key are serialised by a striped lock (no global lock), and each
// reads the state from the Store, decides, and saves before it answers.
type Acceptor struct {
	store   Store
	apply   ApplyFunc
	seed    maphash.Seed
	stripes []sync.Mutex
}

// NewAcceptor returns an Acceptor, or an error naming every problem in o.
func NewAcceptor(o AcceptorOptions) (*Acceptor, error) {
	var errs []error
	if o.Store == nil {
		errs = append(errs, errors.New("paxos: AcceptorOptions.Store is required"))
	}
	if o.Apply == nil {
		errs = append(errs, errors.New("paxos: AcceptorOptions.Apply is required"))
	}
	if o.Stripes < 0 {
		errs = append(errs, fmt.Errorf("paxos: AcceptorOptions.Stripes is %d, want > 0", o.Stripes))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if o.Stripes == 0 {
		o.Stripes = DefaultStripes
	}
	return &Acceptor{store: o.Store, apply: o.Apply, seed: maphash.MakeSeed(), stripes: make([]sync.Mutex, o.Stripes)}, nil
}

// lock locks key's stripe and returns its unlock.
func (a *Acceptor) lock(key string) func() {
	m := &a.stripes[a.stripe(key)]
	m.Lock()
	return m.Unlock
}

func (a *Acceptor) stripe(key string) uint64 {
	return maphash.String(a.seed, key) % uint64(len(a.stripes))
}

func (a *Acceptor) load(op, key string) (AcceptorState, error) {
	st, _, err := a.store.Load(key)
	if err != nil {
		return AcceptorState{}, fmt.Errorf("paxos: %s %q: load state: %w", op, key, err)
	}
	return st, nil
}

func (a *Acceptor) save(op, key string, st AcceptorState) error {
	if err := a.store.Save(key, st); err != nil {
		return fmt.Errorf("paxos: %s %q: save state: %w", op, key, err)
	}
	return nil
}

// Prepare handles a prepare of ballot b: if b is after the ballot promised,
// the acceptor promises b, saves the promise durably and then answers
// Promised; otherwise it answers not Promised with the ballot it promised.
// Either way the response carries the accepted proposal and the most recent
// commit. On error nothing was promised.
func (a *Acceptor) Prepare(key string, b Ballot) (PrepareResponse, error) {
	defer a.lock(key)()
	st, err := a.load("prepare", key)
	if err != nil {
		return PrepareResponse{}, err
	}
	resp := PrepareResponse{Ballot: st.Promised, Accepted: st.Accepted, Committed: st.Committed}
	if !b.After(st.Promised) {
		return resp, nil
	}
	st.Promised = b
	if err := a.save("prepare", key, st); err != nil {
		return PrepareResponse{}, err
	}
	resp.Promised, resp.Ballot = true, b
	return resp, nil
}

// Propose handles a proposal: if its ballot is not before the ballot
// promised, the acceptor accepts it (Accepted and Promised become the
// proposal and its ballot), saves durably and answers accepted; otherwise
// it refuses, answering the ballot it promised. A proposal with the zero
// ballot is an error.
func (a *Acceptor) Propose(key string, p Proposal) (accepted bool, promised Ballot, err error) {
	if p.Ballot.IsZero() {
		return false, Ballot{}, fmt.Errorf("paxos: propose %q: zero ballot", key)
	}
	defer a.lock(key)()
	st, err := a.load("propose", key)
	if err != nil {
		return false, Ballot{}, err
	}
	if st.Promised.After(p.Ballot) {
		return false, st.Promised, nil
	}
	st.Promised, st.Accepted = p.Ballot, &p
	if err := a.save("propose", key, st); err != nil {
		return false, Ballot{}, err
	}
	return true, p.Ballot, nil
}

// Commit handles a commit: it applies the update first (always, even for a
// ballot older than the most recent commit: replays are the data layer's
// business); then, if the ballot is after the most recent commit, the
// proposal becomes Committed and Promised is raised to its ballot if it was
// behind (a decided ballot is never re-opened: refusing older ballots is
// always safe); an accepted proposal whose ballot is not after the
// committed ballot is cleared. The state is saved when it changed. A commit
// with the zero ballot is an error; on an Apply error nothing is saved.
func (a *Acceptor) Commit(key string, p Proposal) error {
	if p.Ballot.IsZero() {
		return fmt.Errorf("paxos: commit %q: zero ballot", key)
	}
	defer a.lock(key)()
	st, err := a.load("commit", key)
	if err != nil {
		return err
	}
	if err := a.apply(key, p.Update); err != nil {
		return fmt.Errorf("paxos: commit %q at %v: apply: %w", key, p.Ballot, err)
	}
	next, changed := committed(st, p)
	if !changed {
		return nil
	}
	return a.save("commit", key, next)
}

// committed returns st after the commit of p, and whether it changed.
func committed(st AcceptorState, p Proposal) (AcceptorState, bool) {
	changed := false
	if p.Ballot.After(ballotOf(st.Committed)) {
		st.Committed, changed = &p, true
		if p.Ballot.After(st.Promised) {
			st.Promised = p.Ballot
		}
	}
	if st.Accepted != nil && !st.Accepted.Ballot.After(p.Ballot) {
		st.Accepted, changed = nil, true
	}
	return st, changed
}
