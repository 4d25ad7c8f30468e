package coordinator

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/ringdb/ringdb/internal/consistency"
	"github.com/ringdb/ringdb/internal/cqlerr"
	"github.com/ringdb/ringdb/internal/messaging"
	"github.com/ringdb/ringdb/internal/paxos"
	"github.com/ringdb/ringdb/internal/ring"
	"github.com/ringdb/ringdb/internal/schema"
	"github.com/ringdb/ringdb/internal/storage"
)

// Paxos for conditional statements (decision 018): the replica side is a
// paxos.Acceptor whose per-partition state lives in the engine's metadata
// (synced writes) and whose commits are ordinary mutations; the
// coordinator side is a paxos.Proposer reaching the replicas with the
// PAXOS_* verbs (the local replica directly).

// paxosMetaPrefix prefixes the metadata keys of acceptor states.
const paxosMetaPrefix = "paxos/"

// paxosKey is a partition's key in the Paxos state: its table id, then its
// partition key.
func paxosKey(t storage.TableID, key []byte) string { return string(t[:]) + string(key) }

// paxosStore keeps acceptor states in the engine's metadata.
type paxosStore struct{ e *storage.Engine }

// Load implements paxos.Store.
func (s paxosStore) Load(key string) (paxos.AcceptorState, bool, error) {
	var st paxos.AcceptorState
	v, ok, err := s.e.GetMeta(paxosMetaPrefix + key)
	if err != nil || !ok {
		return st, false, err
	}
	if err := st.Unmarshal(v); err != nil {
		return st, false, fmt.Errorf("paxos state of a partition: %w", err)
	}
	return st, true, nil
}

// Save implements paxos.Store (SetMeta syncs before it returns).
func (s paxosStore) Save(key string, st paxos.AcceptorState) error {
	return s.e.SetMeta(paxosMetaPrefix+key, st.Marshal())
}

// applyCommitted applies a committed update (encoded mutations of the
// partition) to the local engine.
func (c *Coordinator) applyCommitted(key string, update []byte) error {
	ms, err := decodeMutations(update)
	if err != nil {
		return fmt.Errorf("paxos commit: %w", err)
	}
	for _, m := range ms {
		if paxosKey(m.Table, m.Key) != key {
			return errors.New("paxos commit: a mutation of another partition")
		}
		if _, err := c.keyspaceOf(m.Table); err != nil {
			return fmt.Errorf("paxos commit for unknown table %x: schema not yet in agreement", m.Table[:])
		}
	}
	return c.o.Engine.Apply(ms)
}

// initPaxos builds the node's acceptor and proposer. Ballots break ties
// by this node's address and per-process randomness.
func (c *Coordinator) initPaxos() error {
	a, err := paxos.NewAcceptor(paxos.AcceptorOptions{Store: paxosStore{c.o.Engine}, Apply: c.applyCommitted})
	if err != nil {
		return err
	}
	var r [4]byte
	_, _ = rand.Read(r[:])
	tb := paxos.NewTiebreak(c.self.AsSlice(), binary.BigEndian.Uint32(r[:]))
	p, err := paxos.NewProposer(paxos.ProposerOptions{Transport: paxosTransport{c}, Ballots: paxos.NewBallotGenerator(time.Now, tb),
		Logger: c.log})
	if err != nil {
		return err
	}
	c.acceptor, c.proposer = a, p
	return nil
}

// encodePaxos frames a PAXOS_* request: the partition's Paxos key, then
// the body (a ballot or a proposal).
func encodePaxos(key string, body []byte) []byte {
	b := binary.AppendUvarint(make([]byte, 0, len(key)+len(body)+4), uint64(len(key)))
	return append(append(b, key...), body...)
}

// maxPaxosKey bounds the key of a PAXOS_* request (a table id and a
// partition key of at most 64 KiB).
const maxPaxosKey = 16 + 64<<10

func decodePaxos(p []byte) (string, []byte, error) {
	n, w := binary.Uvarint(p)
	if w <= 0 || n > maxPaxosKey || n > uint64(len(p)-w) {
		return "", nil, errors.New("paxos request: bad key length")
	}
	return string(p[w : w+int(n)]), p[w+int(n):], nil
}

// registerPaxosHandlers serves the acceptor's verbs to admitted members.
func (c *Coordinator) registerPaxosHandlers(m membersOnly) {
	m.Handle(messaging.VerbPaxosPrepare, func(_ context.Context, _ netip.Addr, payload []byte) ([]byte, error) {
		key, body, err := decodePaxos(payload)
		if err != nil {
			return nil, err
		}
		var b paxos.Ballot
		if err := b.Unmarshal(body); err != nil {
			return nil, err
		}
		r, err := c.acceptor.Prepare(key, b)
		if err != nil {
			return nil, err
		}
		return r.Marshal(), nil
	})
	m.Handle(messaging.VerbPaxosPropose, func(_ context.Context, _ netip.Addr, payload []byte) ([]byte, error) {
		key, prop, err := decodeProposal(payload)
		if err != nil {
			return nil, err
		}
		ok, promised, err := c.acceptor.Propose(key, prop)
		if err != nil {
			return nil, err
		}
		return paxos.ProposeResponse{Accepted: ok, Promised: promised}.Marshal(), nil
	})
	m.Handle(messaging.VerbPaxosCommit, func(_ context.Context, _ netip.Addr, payload []byte) ([]byte, error) {
		key, prop, err := decodeProposal(payload)
		if err != nil {
			return nil, err
		}
		return nil, c.acceptor.Commit(key, prop)
	})
}

func decodeProposal(payload []byte) (string, paxos.Proposal, error) {
	var p paxos.Proposal
	key, body, err := decodePaxos(payload)
	if err != nil {
		return "", p, err
	}
	return key, p, p.Unmarshal(body)
}

// paxosTransport reaches acceptors: this node's directly, others with the
// PAXOS_* verbs.
type paxosTransport struct{ c *Coordinator }

// Prepare implements paxos.Transport.
func (t paxosTransport) Prepare(ctx context.Context, to netip.Addr, key string, b paxos.Ballot) (paxos.PrepareResponse, error) {
	if to == t.c.self {
		return t.c.acceptor.Prepare(key, b)
	}
	var r paxos.PrepareResponse
	resp, err := t.c.o.Messenger.Request(ctx, to, messaging.VerbPaxosPrepare, encodePaxos(key, b.Marshal()))
	if err != nil {
		return r, err
	}
	return r, r.Unmarshal(resp)
}

// Propose implements paxos.Transport.
func (t paxosTransport) Propose(ctx context.Context, to netip.Addr, key string, p paxos.Proposal) (paxos.ProposeResponse, error) {
	if to == t.c.self {
		ok, promised, err := t.c.acceptor.Propose(key, p)
		return paxos.ProposeResponse{Accepted: ok, Promised: promised}, err
	}
	var r paxos.ProposeResponse
	resp, err := t.c.o.Messenger.Request(ctx, to, messaging.VerbPaxosPropose, encodePaxos(key, p.Marshal()))
	if err != nil {
		return r, err
	}
	return r, r.Unmarshal(resp)
}

// Commit implements paxos.Transport.
func (t paxosTransport) Commit(ctx context.Context, to netip.Addr, key string, p paxos.Proposal) error {
	if to == t.c.self {
		return t.c.acceptor.Commit(key, p)
	}
	_, err := t.c.o.Messenger.Request(ctx, to, messaging.VerbPaxosCommit, encodePaxos(key, p.Marshal()))
	return err
}

// CAS runs a compare-and-set on one partition with Paxos across its
// replicas (Cassandra's StorageProxy.cas; query.CASStore). check is the
// read-and-check of the statement, called once this coordinator holds a
// quorum's promise for the partition: it reads the partition at the
// serial consistency's quorum, evaluates the conditions and, when they
// hold, returns the mutations stamped at ts (the ballot's time). serial
// is SERIAL or LOCAL_SERIAL (the participants: every replica, pending
// ones included, or those of the local DC), commit the consistency the
// decided update is committed at. CAS reports whether the update was
// applied. Errors are Cassandra's: Unavailable when too few
// participants are alive, WriteTimeout with writeType CAS when the round
// did not complete (outcome unknown when the proposal may have been
// accepted), with writeType SIMPLE when the decided update was committed
// on fewer replicas than commit asks.
func (c *Coordinator) CAS(ctx context.Context, t *schema.Table, token int64, key []byte, serial, commit consistency.Level,
	check func(ctx context.Context, ts int64) ([]*storage.Mutation, bool, error)) (bool, error) {
	if !serial.IsSerial() {
		return false, cqlerr.Invalidf("Invalid serial consistency level %s", serial)
	}
	if commit.IsSerial() {
		return false, cqlerr.Invalidf("Cannot use %s as the commit consistency of a conditional update", commit)
	}
	if c.proposer == nil {
		return false, cqlerr.Serverf("Paxos is not available on this node")
	}
	ctx, end, err := c.begin(ctx)
	if err != nil {
		return false, err
	}
	defer end()
	participants, quorum, commitAcks, err := c.paxosParticipants(t, token, serial, commit)
	if err != nil {
		return false, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.o.WriteTimeout+paxos.DefaultContentionTimeout)
	defer cancel()
	out, err := c.proposer.CAS(ctx, paxosKey(storage.TableID(t.ID), key), participants, quorum, commitAcks,
		func(ctx context.Context, b paxos.Ballot) ([]byte, bool, error) {
			muts, apply, err := check(ctx, b.Micros())
			if err != nil || !apply {
				return nil, false, err
			}
			return encodeMutations(muts), true, nil
		})
	var te *paxos.TimeoutError
	if errors.As(err, &te) {
		return out.Applied, paxosTimeout(te, serial, commit)
	}
	return out.Applied, err
}

// paxosParticipants returns the live replicas a CAS on token runs with
// (natural and pending, of the local DC for LOCAL_SERIAL), the quorum of
// promises and acceptances it needs (Cassandra's requiredParticipants: a
// quorum of the natural replicas plus every pending one), and the commit
// acks (the commit consistency's, at least 1).
func (c *Coordinator) paxosParticipants(t *schema.Table, token int64, serial, commit consistency.Level) ([]netip.Addr, int, int, error) {
	k := c.o.Schema.Current().Keyspace(t.Keyspace)
	if k == nil {
		return nil, 0, 0, cqlerr.Invalidf("Keyspace %s does not exist", t.Keyspace)
	}
	strat, rf, err := c.strategy(k)
	if err != nil {
		return nil, 0, 0, err
	}
	tm := c.o.Topology.Ring()
	natural := strat.NaturalEndpoints(tm, token)
	pending := ring.PendingEndpoints(strat, tm, token)
	if len(natural) == 0 {
		natural = []netip.Addr{c.self} // no ring yet: a single node starting
	}
	inScope := func(ep netip.Addr) bool { return serial != consistency.LocalSerial || c.dcOf(ep) == c.o.LocalDC }
	var participants []netip.Addr
	nNatural := 0
	for _, ep := range natural {
		if inScope(ep) {
			participants = append(participants, ep)
			nNatural++
		}
	}
	for _, ep := range pending {
		if inScope(ep) && !slices.Contains(participants, ep) {
			participants = append(participants, ep)
		}
	}
	quorum := nNatural/2 + 1 + (len(participants) - nNatural)
	live := slices.DeleteFunc(participants, func(ep netip.Addr) bool { return !c.alive(ep) })
	if nNatural == 0 || len(live) < quorum {
		return nil, 0, 0, unavailable(serial, quorum, len(live))
	}
	acks, _, err := blockFor(commit, rf, c.o.LocalDC)
	if err != nil {
		return nil, 0, 0, err
	}
	return live, quorum, min(max(acks, 1), len(live)), nil
}

// paxosTimeout maps a Paxos timeout to Cassandra's error.
func paxosTimeout(te *paxos.TimeoutError, serial, commit consistency.Level) error {
	if te.Phase == paxos.PhaseCommit {
		return writeTimeout(commit, te.Acks, te.Required, consistency.WriteSimple)
	}
	e := writeTimeout(serial, te.Acks, te.Required, consistency.WriteCAS).(*cqlerr.Error)
	e.Message = te.Error()
	return e
}
