package paxos

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Encodings. Every message starts with a version byte (codecVersion) and a
// flags byte; a ballot is BallotSize bytes (Ballot.Marshal); a proposal is
// its ballot, the uvarint length of its update and the update. A decoder
// refuses unknown versions and flags, truncated input, lengths beyond the
// input, non-minimal lengths and trailing bytes, so it allocates at most
// the input's size and every valid encoding is the only one of its value.
//
//	AcceptorState:   version flags(accepted=1 committed=2) promised [accepted] [committed]
//	PrepareResponse: version flags(accepted=1 committed=2 granted=4) ballot [accepted] [committed]
//	Proposal:        version 0 proposal
//	ProposeResponse: version flags(granted=4) promised
//
// granted is PrepareResponse.Promised or ProposeResponse.Accepted.
const codecVersion = 1

const (
	flagAccepted  = 1 << 0
	flagCommitted = 1 << 1
	flagGranted   = 1 << 2
)

// ErrCorrupt is wrapped by every decoding error.
var ErrCorrupt = errors.New("paxos: corrupt encoding")

// Marshal returns s's encoding.
func (s AcceptorState) Marshal() []byte {
	return appendBody(nil, 0, s.Promised, s.Accepted, s.Committed)
}

// Unmarshal decodes an encoding made by AcceptorState.Marshal.
func (s *AcceptorState) Unmarshal(p []byte) error {
	d := decoder{p: p}
	flags := d.header(flagAccepted | flagCommitted)
	st := AcceptorState{Promised: d.ballot()}
	st.Accepted, st.Committed = d.optional(flags&flagAccepted != 0), d.optional(flags&flagCommitted != 0)
	if err := d.finish("acceptor state"); err != nil {
		return err
	}
	*s = st
	return nil
}

// Marshal returns r's encoding.
func (r PrepareResponse) Marshal() []byte {
	var flags byte
	if r.Promised {
		flags = flagGranted
	}
	return appendBody(nil, flags, r.Ballot, r.Accepted, r.Committed)
}

// Unmarshal decodes an encoding made by PrepareResponse.Marshal.
func (r *PrepareResponse) Unmarshal(p []byte) error {
	d := decoder{p: p}
	flags := d.header(flagAccepted | flagCommitted | flagGranted)
	resp := PrepareResponse{Promised: flags&flagGranted != 0, Ballot: d.ballot()}
	resp.Accepted, resp.Committed = d.optional(flags&flagAccepted != 0), d.optional(flags&flagCommitted != 0)
	if err := d.finish("prepare response"); err != nil {
		return err
	}
	*r = resp
	return nil
}

// Marshal returns p's encoding.
func (p Proposal) Marshal() []byte {
	return appendProposal([]byte{codecVersion, 0}, p)
}

// Unmarshal decodes an encoding made by Proposal.Marshal.
func (p *Proposal) Unmarshal(b []byte) error {
	d := decoder{p: b}
	d.header(0)
	prop := d.proposal()
	if err := d.finish("proposal"); err != nil {
		return err
	}
	*p = prop
	return nil
}

// Marshal returns r's encoding.
func (r ProposeResponse) Marshal() []byte {
	var flags byte
	if r.Accepted {
		flags = flagGranted
	}
	return appendBallot([]byte{codecVersion, flags}, r.Promised)
}

// Unmarshal decodes an encoding made by ProposeResponse.Marshal.
func (r *ProposeResponse) Unmarshal(p []byte) error {
	d := decoder{p: p}
	flags := d.header(flagGranted)
	resp := ProposeResponse{Accepted: flags&flagGranted != 0, Promised: d.ballot()}
	if err := d.finish("propose response"); err != nil {
		return err
	}
	*r = resp
	return nil
}

// appendBody appends version, flags (plus the presence bits of accepted
// and committed), b and the present proposals.
func appendBody(dst []byte, flags byte, b Ballot, accepted, committed *Proposal) []byte {
	if accepted != nil {
		flags |= flagAccepted
	}
	if committed != nil {
		flags |= flagCommitted
	}
	dst = appendBallot(append(dst, codecVersion, flags), b)
	if accepted != nil {
		dst = appendProposal(dst, *accepted)
	}
	if committed != nil {
		dst = appendProposal(dst, *committed)
	}
	return dst
}

func appendProposal(dst []byte, p Proposal) []byte {
	dst = appendBallot(dst, p.Ballot)
	dst = binary.AppendUvarint(dst, uint64(len(p.Update)))
	return append(dst, p.Update...)
}

// decoder reads p front to back; the first problem sticks and later reads
// return zero values.
type decoder struct {
	p   []byte
	err string
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == "" {
		d.err = fmt.Sprintf(format, args...)
	}
}

// header reads the version and flags bytes, refusing flags outside known.
func (d *decoder) header(known byte) byte {
	if len(d.p) < 2 {
		d.fail("%d bytes, too short for a header", len(d.p))
		return 0
	}
	version, flags := d.p[0], d.p[1]
	d.p = d.p[2:]
	if version != codecVersion {
		d.fail("version %d, want %d", version, codecVersion)
	}
	if flags&^known != 0 {
		d.fail("unknown flags %#x", flags&^known)
	}
	return flags
}

func (d *decoder) ballot() Ballot {
	if d.err != "" {
		return Ballot{}
	}
	if len(d.p) < BallotSize {
		d.fail("ballot truncated at %d bytes", len(d.p))
		return Ballot{}
	}
	b, err := decodeBallot(d.p)
	if err != nil {
		d.fail("%v", err)
	}
	d.p = d.p[BallotSize:]
	return b
}

func (d *decoder) proposal() Proposal {
	b := d.ballot()
	if d.err != "" {
		return Proposal{}
	}
	n, k := binary.Uvarint(d.p)
	if k <= 0 || n > uint64(len(d.p)-k) {
		d.fail("update length does not fit the %d bytes left", len(d.p))
		return Proposal{}
	}
	if k != len(binary.AppendUvarint(nil, n)) {
		d.fail("update length not minimally encoded")
		return Proposal{}
	}
	d.p = d.p[k:]
	var update []byte
	if n > 0 {
		update = append([]byte(nil), d.p[:n]...)
	}
	d.p = d.p[n:]
	return Proposal{Ballot: b, Update: update}
}

// optional reads a proposal if present.
func (d *decoder) optional(present bool) *Proposal {
	if !present || d.err != "" {
		return nil
	}
	p := d.proposal()
	if d.err != "" {
		return nil
	}
	return &p
}

// finish returns the first error, or one for trailing bytes, naming what.
func (d *decoder) finish(what string) error {
	if d.err == "" && len(d.p) != 0 {
		d.fail("%d trailing bytes", len(d.p))
	}
	if d.err != "" {
		return fmt.Errorf("%w of %s: %s", ErrCorrupt, what, d.err)
	}
	return nil
}
