package paxos

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

func sampleStates() []AcceptorState {
	p := func(m int64, u string) *Proposal {
		var upd []byte
		if u != "" {
			upd = []byte(u)
		}
		return &Proposal{Ballot: NewBallot(m, uint64(m)*3), Update: upd}
	}
	return []AcceptorState{
		{},
		{Promised: NewBallot(5, 1)},
		{Promised: NewBallot(9, 1), Accepted: p(9, "accepted update")},
		{Promised: NewBallot(9, 1), Committed: p(8, "")},
		{Promised: NewBallot(12, 1), Accepted: p(12, "a"), Committed: p(11, string(make([]byte, 300)))},
	}
}

func TestAcceptorStateRoundTrip(t *testing.T) {
	for _, st := range sampleStates() {
		var got AcceptorState
		if err := got.Unmarshal(st.Marshal()); err != nil {
			t.Fatalf("%+v: %v", st, err)
		}
		if !reflect.DeepEqual(got, st) {
			t.Errorf("round trip: got %+v, want %+v", got, st)
		}
	}
}

func TestMessagesRoundTrip(t *testing.T) {
	for _, st := range sampleStates() {
		for _, promised := range []bool{false, true} {
			r := PrepareResponse{Promised: promised, Ballot: st.Promised, Accepted: st.Accepted, Committed: st.Committed}
			var got PrepareResponse
			if err := got.Unmarshal(r.Marshal()); err != nil || !reflect.DeepEqual(got, r) {
				t.Errorf("PrepareResponse round trip: %+v %v, want %+v", got, err, r)
			}
		}
		if st.Accepted != nil {
			var got Proposal
			if err := got.Unmarshal(st.Accepted.Marshal()); err != nil || !reflect.DeepEqual(got, *st.Accepted) {
				t.Errorf("Proposal round trip: %+v %v", got, err)
			}
		}
	}
	for _, r := range []ProposeResponse{{}, {Accepted: true, Promised: NewBallot(3, 4)}, {Promised: NewBallot(8, 1)}} {
		var got ProposeResponse
		if err := got.Unmarshal(r.Marshal()); err != nil || got != r {
			t.Errorf("ProposeResponse round trip: %+v %v, want %+v", got, err, r)
		}
	}
}

func TestAcceptorStateEncodingLayout(t *testing.T) {
	st := AcceptorState{Promised: NewBallot(2, 3), Committed: &Proposal{Ballot: NewBallot(1, 1), Update: []byte("xy")}}
	want := []byte{codecVersion, flagCommitted}
	want = append(want, NewBallot(2, 3).Marshal()...)
	want = append(want, NewBallot(1, 1).Marshal()...)
	want = append(want, 2, 'x', 'y')
	if got := st.Marshal(); !bytes.Equal(got, want) {
		t.Errorf("encoding\n got %x\nwant %x", got, want)
	}
}

func TestAcceptorStateDecodeErrors(t *testing.T) {
	good := AcceptorState{Promised: NewBallot(2, 3), Accepted: &Proposal{Ballot: NewBallot(2, 3), Update: []byte("xyz")}}.Marshal()
	edit := func(f func(p []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	cases := map[string][]byte{
		"empty":          nil,
		"version only":   {codecVersion},
		"bad version":    edit(func(p []byte) []byte { p[0] = 2; return p }),
		"unknown flag":   edit(func(p []byte) []byte { p[1] |= 0x80; return p }),
		"granted flag":   edit(func(p []byte) []byte { p[1] |= flagGranted; return p }),
		"short ballot":   good[:10],
		"no proposal":    good[:2+BallotSize],
		"short update":   good[:len(good)-1],
		"trailing byte":  append(append([]byte(nil), good...), 0),
		"huge length":    append(append([]byte(nil), good[:2+2*BallotSize]...), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f),
		"bad varint":     append(append([]byte(nil), good[:2+2*BallotSize]...), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01),
		"micros too big": edit(func(p []byte) []byte { p[2] = 0x80; return p }),
		"missing commit": edit(func(p []byte) []byte { p[1] |= flagCommitted; return p }),
	}
	for name, p := range cases {
		st := AcceptorState{Promised: NewBallot(77, 7)}
		err := st.Unmarshal(p)
		if err == nil {
			t.Errorf("%s: decoded %+v", name, st)
			continue
		}
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: error %v does not wrap ErrCorrupt", name, err)
		}
		if st.Promised != NewBallot(77, 7) {
			t.Errorf("%s: failed Unmarshal changed the state", name)
		}
	}
}

func TestDecodedUpdateDoesNotAliasInput(t *testing.T) {
	enc := Proposal{Ballot: NewBallot(1, 1), Update: []byte("abc")}.Marshal()
	var p Proposal
	if err := p.Unmarshal(enc); err != nil {
		t.Fatal(err)
	}
	enc[len(enc)-1] = 'X'
	if string(p.Update) != "abc" {
		t.Errorf("decoded update aliases the input: %q", p.Update)
	}
}

// updateBytes is the total update size a state holds.
func updateBytes(ps ...*Proposal) int {
	n := 0
	for _, p := range ps {
		if p != nil {
			n += len(p.Update)
		}
	}
	return n
}

func FuzzDecodeAcceptorState(f *testing.F) {
	for _, st := range sampleStates() {
		f.Add(st.Marshal())
	}
	f.Add([]byte{codecVersion, flagAccepted})
	f.Fuzz(func(t *testing.T, p []byte) {
		var st AcceptorState
		if err := st.Unmarshal(p); err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		if n := updateBytes(st.Accepted, st.Committed); n > len(p) {
			t.Fatalf("decoded %d update bytes from %d input bytes", n, len(p))
		}
		// A valid encoding is canonical: it re-encodes to itself.
		if enc := st.Marshal(); !bytes.Equal(enc, p) {
			t.Fatalf("%x decodes to %+v which encodes to %x", p, st, enc)
		}
	})
}

func FuzzDecodeMessages(f *testing.F) {
	for _, st := range sampleStates() {
		f.Add(PrepareResponse{Promised: true, Ballot: st.Promised, Accepted: st.Accepted, Committed: st.Committed}.Marshal())
	}
	f.Add(Proposal{Ballot: NewBallot(4, 4), Update: []byte("u")}.Marshal())
	f.Add(ProposeResponse{Accepted: true, Promised: NewBallot(4, 4)}.Marshal())
	f.Fuzz(func(t *testing.T, p []byte) {
		var r PrepareResponse
		if err := r.Unmarshal(p); err == nil {
			if n := updateBytes(r.Accepted, r.Committed); n > len(p) || !bytes.Equal(r.Marshal(), p) {
				t.Fatalf("PrepareResponse %x: %+v", p, r)
			}
		}
		var prop Proposal
		if err := prop.Unmarshal(p); err == nil && !bytes.Equal(prop.Marshal(), p) {
			t.Fatalf("Proposal %x: %+v", p, prop)
		}
		var pr ProposeResponse
		if err := pr.Unmarshal(p); err == nil && !bytes.Equal(pr.Marshal(), p) {
			t.Fatalf("ProposeResponse %x: %+v", p, pr)
		}
	})
}
