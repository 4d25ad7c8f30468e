package paxos

// Proposal is a value proposed, accepted or committed at a ballot. Update is
// opaque to this package: an encoded mutation whose cells the caller
// stamped with a write timestamp of Ballot.Micros() (or, for an in-progress
// proposal another round re-proposes, with its original ballot's), so that
// the data layer's last-write-wins reconciliation orders committed updates
// as Paxos chose them.
type Proposal struct {
	// Ballot is the round that proposed (or re-proposed) Update.
	Ballot Ballot
	// Update is the encoded mutation; this package never looks inside.
	Update []byte
}

// AcceptorState is what an acceptor keeps per partition: Cassandra's
// system.paxos row (in_progress_ballot, proposal_ballot and proposal,
// most_recent_commit_at and most_recent_commit). It is stored by the Store
// and also travels over the network; Marshal and Unmarshal are its
// versioned encoding.
type AcceptorState struct {
	// Promised is the newest ballot promised (or accepted, or committed);
	// zero when none.
	Promised Ballot
	// Accepted is the newest proposal accepted and not yet known
	// committed; nil when none.
	Accepted *Proposal
	// Committed is the newest commit this acceptor applied; nil when none.
	Committed *Proposal
}

// PrepareResponse is an acceptor's answer to a prepare (Cassandra's
// PrepareResponse): whether it promised, the ballot it has promised, and,
// in every case, its accepted proposal and most recent commit, from which a
// proposer finishes an interrupted round and repairs replicas that missed
// the last commit.
type PrepareResponse struct {
	// Promised is true when the acceptor promised the prepared ballot.
	Promised bool
	// Ballot is the acceptor's promise after the call: the prepared ballot
	// when Promised, the newer ballot that refused it otherwise.
	Ballot Ballot
	// Accepted is the acceptor's accepted proposal, if any.
	Accepted *Proposal
	// Committed is the acceptor's most recent commit, if any.
	Committed *Proposal
}

// ProposeResponse is an acceptor's answer to a proposal.
type ProposeResponse struct {
	// Accepted is true when the acceptor accepted the proposal.
	Accepted bool
	// Promised is the acceptor's promise after the call: the proposal's
	// ballot when Accepted, the newer ballot that refused it otherwise.
	Promised Ballot
}

// newer returns whichever of a and b has the later ballot, nil counting as
// before everything.
func newer(a, b *Proposal) *Proposal {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	case b.Ballot.After(a.Ballot):
		return b
	}
	return a
}

// ballotOf returns p's ballot, zero for nil.
func ballotOf(p *Proposal) Ballot {
	if p == nil {
		return Ballot{}
	}
	return p.Ballot
}
