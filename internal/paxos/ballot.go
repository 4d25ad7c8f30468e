package paxos

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// BallotSize is the length of a marshalled Ballot.
const BallotSize = 16

// Ballot identifies one Paxos round of one coordinator. Ballots are totally
// ordered: first by Micros (microseconds since the Unix epoch, the write
// timestamp the round's update is stamped with), then by Tiebreak, a value
// unique to the coordinator that made it (see NewTiebreak). The zero Ballot
// precedes every ballot a BallotGenerator makes and means "none".
//
// Cassandra's ballots are version-1 time UUIDs compared by timestamp then
// by their remaining bits; this is the same order in a fixed layout.
type Ballot struct {
	micros   int64
	tiebreak uint64
}

// NewBallot returns the ballot (micros, tiebreak). A negative micros is
// taken as 0: ballots before the epoch do not exist.
func NewBallot(micros int64, tiebreak uint64) Ballot {
	return Ballot{micros: max(micros, 0), tiebreak: tiebreak}
}

// Micros returns the ballot's timestamp in microseconds since the epoch.
func (b Ballot) Micros() int64 { return b.micros }

// Tiebreak returns the ballot's coordinator-unique tiebreak.
func (b Ballot) Tiebreak() uint64 { return b.tiebreak }

// IsZero reports whether b is the zero Ballot.
func (b Ballot) IsZero() bool { return b == Ballot{} }

// Compare returns -1, 0 or +1 as b is before, equal to or after o.
func (b Ballot) Compare(o Ballot) int {
	switch {
	case b.micros < o.micros:
		return -1
	case b.micros > o.micros:
		return 1
	case b.tiebreak < o.tiebreak:
		return -1
	case b.tiebreak > o.tiebreak:
		return 1
	}
	return 0
}

// After reports whether b is strictly after o.
func (b Ballot) After(o Ballot) bool { return b.Compare(o) > 0 }

// String renders b as "micros:tiebreak" with the tiebreak in hex.
func (b Ballot) String() string { return fmt.Sprintf("%d:%016x", b.micros, b.tiebreak) }

// Marshal returns b's BallotSize-byte encoding: Micros then Tiebreak, both
// big-endian, so that byte order is ballot order.
func (b Ballot) Marshal() []byte { return appendBallot(make([]byte, 0, BallotSize), b) }

// Unmarshal decodes a BallotSize-byte encoding made by Marshal.
func (b *Ballot) Unmarshal(p []byte) error {
	if len(p) != BallotSize {
		return fmt.Errorf("%w of ballot: %d bytes, want %d", ErrCorrupt, len(p), BallotSize)
	}
	d, err := decodeBallot(p)
	if err != nil {
		return fmt.Errorf("%w of ballot: %v", ErrCorrupt, err)
	}
	*b = d
	return nil
}

func appendBallot(dst []byte, b Ballot) []byte {
	dst = binary.BigEndian.AppendUint64(dst, uint64(b.micros))
	return binary.BigEndian.AppendUint64(dst, b.tiebreak)
}

var errBallotMicros = errors.New("timestamp beyond int64 microseconds")

// decodeBallot decodes the first BallotSize bytes of p (len(p) >= BallotSize).
func decodeBallot(p []byte) (Ballot, error) {
	m := binary.BigEndian.Uint64(p)
	if m > math.MaxInt64 {
		return Ballot{}, errBallotMicros
	}
	return Ballot{micros: int64(m), tiebreak: binary.BigEndian.Uint64(p[8:])}, nil
}
