package paxos

import (
	"encoding/binary"
	"hash/fnv"
	"sync"
	"time"
)

// BallotGenerator makes the ballots of one coordinator. Every ballot it
// returns is strictly after every ballot it returned before and every
// ballot it was told about with Observe, and its Micros is
// max(now, last+1): the coordinator's clock when that is ahead, one
// microsecond past the newest known ballot otherwise (Cassandra's
// ClientState.getTimestampForPaxos). Safe for concurrent use.
type BallotGenerator struct {
	now      func() time.Time
	tiebreak uint64

	mu   sync.Mutex
	last int64 // newest Micros returned or observed
}

// NewBallotGenerator returns a generator reading time from now and stamping
// every ballot with tiebreak, which must be unique to this generator in the
// cluster and across its restarts (NewTiebreak makes one): two generators
// sharing a tiebreak could make equal ballots, and two proposers holding
// the same ballot break Paxos.
func NewBallotGenerator(now func() time.Time, tiebreak uint64) *BallotGenerator {
	return &BallotGenerator{now: now, tiebreak: tiebreak}
}

// Next returns a new ballot.
func (g *BallotGenerator) Next() Ballot {
	now := g.now().UnixMicro()
	g.mu.Lock()
	defer g.mu.Unlock()
	g.last = max(now, g.last+1)
	return NewBallot(g.last, g.tiebreak)
}

// Observe tells the generator about a ballot seen elsewhere (a higher
// promise, an accepted or committed proposal), so that Next returns a later
// one.
func (g *BallotGenerator) Observe(b Ballot) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.last = max(g.last, b.Micros())
}

// NewTiebreak returns a ballot tiebreak for a generator: the high 32 bits
// are the FNV-1a hash of node (a stable identity such as the host id), the
// low 32 bits are random, drawn at each process start, so that a restarted
// node whose clock went backwards still makes ballots no earlier life made.
func NewTiebreak(node []byte, random uint32) uint64 {
	h := fnv.New32a()
	h.Write(node)
	var b [8]byte
	copy(b[:4], h.Sum(nil))
	binary.BigEndian.PutUint32(b[4:], random)
	return binary.BigEndian.Uint64(b[:])
}
