// Package paxos implements the consensus under ringdb's lightweight
// transactions (INSERT ... IF NOT EXISTS, UPDATE ... IF, SELECT at SERIAL):
// Cassandra's Paxos "v1" (CASSANDRA-5062), one sequence of decisions per
// partition, among that partition's replicas.
//
// It owns ballots (Ballot, BallotGenerator), the per-partition acceptor
// state and its encoding (AcceptorState; Proposal, PrepareResponse and
// ProposeResponse for the wire), the replica side (Acceptor: prepare and
// promise, propose and accept, commit) and the coordinator side (Proposer:
// the CAS round with contention backoff, finishing interrupted rounds and
// repairing replicas that missed a commit). See
// docs/decisions/018-paxos.md.
//
// It is pure logic with the world injected (STYLE.md 2 and 3): the Acceptor
// stores through a Store and applies committed updates through an
// ApplyFunc; the Proposer reaches replicas through a Transport, reads time
// from a Clock and draws backoffs from a *rand.Rand. It never opens a
// socket, never touches the storage engine and never looks inside an
// update: updates are opaque bytes the caller encodes and stamps.
//
// Invariants:
//   - an acceptor answers a prepare or a proposal only after the state it
//     answers from is durable (Store.Save returned);
//   - an acceptor's Promised never decreases, and a proposal is accepted
//     only at a ballot not before it; its Committed never moves back;
//   - a ballot from a BallotGenerator is after every ballot it made or was
//     shown, and a round proposes its own update only when its ballot's
//     micros are after the most recent commit's (updates are stamped with
//     them, so last-write-wins keeps Paxos's order);
//   - a round proposes its own update only after every promiser holds the
//     most recent commit and no accepted proposal after it is pending;
//   - a CAS retries its own proposal only when every replica answered and
//     none accepted it; otherwise a failure is reported with
//     TimeoutError.Unknown;
//   - no goroutine started by CAS outlives it.
package paxos
