package gossip

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

func sampleMessages() []Message {
	st := EndpointState{HeartBeat: HeartBeatState{Generation: 1700000000, Version: 42},
		States: map[ApplicationState]VersionedValue{AppStatus: {Value: "NORMAL,1", Version: 3, Sig: []byte("sig-of-status")},
			AppDC: {Value: "dc1", Version: 40}, 50: {Value: "future", Version: 41, Sig: bytes.Repeat([]byte{7}, MaxWireSigBytes)}}}
	v6 := addr("fd00::1")
	return []Message{
		{Kind: KindSyn, Syn: &Syn{ClusterName: "Test Cluster", Digests: []GossipDigest{{ipA, 1700000000, 42}, {v6, 1, 0}}}},
		{Kind: KindAck, Ack: &Ack{Digests: []GossipDigest{{ipB, 5, 0}}, States: []GossipState{{ipA, st}, {v6, EndpointState{HeartBeat: HeartBeatState{Generation: 1, Version: 2, Sig: []byte{1, 2, 3}}}}}}},
		{Kind: KindAck2, Ack2: &Ack2{States: []GossipState{{ipC, st}}}},
		{Kind: KindEchoRequest},
		{Kind: KindEchoResponse},
		{Kind: KindShutdown, Shutdown: &Shutdown{}},
		{Kind: KindShutdown, Shutdown: &Shutdown{States: []GossipState{{ipB, st}}}},
		{Kind: KindSyn, Syn: &Syn{}},
	}
}

func TestWireRoundTrip(t *testing.T) {
	for _, m := range sampleMessages() {
		b := m.Marshal()
		if b[0] != WireVersion {
			t.Fatal("first byte must be the format version")
		}
		got, err := Unmarshal(b)
		if err != nil {
			t.Fatalf("%s: %v", m.Kind, err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Fatalf("%s: round trip\n got %+v\nwant %+v", m.Kind, got, m)
		}
		// Every strict prefix is an error, never a panic.
		for i := 0; i < len(b); i++ {
			if _, err := Unmarshal(b[:i]); err == nil {
				t.Fatalf("%s: prefix of %d bytes accepted", m.Kind, i)
			}
		}
		if _, err := Unmarshal(append(bytes.Clone(b), 0)); err == nil {
			t.Fatalf("%s: trailing byte accepted", m.Kind)
		}
	}
}

func TestWireRejects(t *testing.T) {
	cases := map[string][]byte{
		"version 1":   {1, byte(KindEchoRequest)},
		"version 3":   {3, byte(KindEchoRequest)},
		"kind":        {2, 99},
		"huge count":  {2, byte(KindAck2), 0xff, 0xff, 0xff, 0xff, 0x0f},
		"bad addr":    {2, byte(KindAck2), 1, 5, 1, 2, 3, 4, 5, 0, 0, 0, 0},
		"neg version": {2, byte(KindAck2), 1, 4, 127, 0, 0, 1, 2, 1, 0, 0},
		"dup key":     {2, byte(KindAck2), 1, 4, 127, 0, 0, 1, 2, 2, 0, 2, 0, 2, 0, 0, 0, 2, 0, 0},
		"key range":   {2, byte(KindAck2), 1, 4, 127, 0, 0, 1, 2, 2, 0, 1, 200, 2, 0, 0},
		"long hb sig": append(append([]byte{2, byte(KindAck2), 1, 4, 127, 0, 0, 1, 2, 2, 0xa1, 0x01}, make([]byte, 161)...), 0),
		"long sig":    append([]byte{2, byte(KindAck2), 1, 4, 127, 0, 0, 1, 2, 2, 0, 1, 0, 2, 0, 0xa1, 0x01}, make([]byte, 161)...),
		"shutdown":    {2, byte(KindShutdown), 1},
		"long name":   append([]byte{2, byte(KindSyn), 0x81, 0x02}, make([]byte, 257)...),
	}
	// The same entries, well formed, decode (so each case above fails for
	// the reason its name gives).
	for name, b := range map[string][]byte{
		"ok state":   {2, byte(KindAck2), 1, 4, 127, 0, 0, 1, 2, 2, 0, 1, 0, 2, 0, 0},
		"ok max sig": append(append([]byte{2, byte(KindAck2), 1, 4, 127, 0, 0, 1, 2, 2, 0xa0, 0x01}, make([]byte, 160)...), 0),
	} {
		if _, err := Unmarshal(b); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, b := range cases {
		if _, err := Unmarshal(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

// fuzzPKI is the verifier of FuzzUnmarshal's signing gossiper; its seeds
// include states signed with certificates it issued.
var fuzzPKI = newFakePKI()

func FuzzUnmarshal(f *testing.F) {
	for _, m := range sampleMessages() {
		f.Add(m.Marshal())
	}
	// Validly signed states, one carrying a forged value.
	signed := signedState(fuzzPKI.issue(ipB), ipB, int32(t0.Unix()), 3, map[ApplicationState]string{AppStatus: NormalStatus(1), AppTokens: "1,2"})
	f.Add((&Message{Kind: KindAck2, Ack2: &Ack2{States: []GossipState{{ipB, signed}}}}).Marshal())
	forged := signed.Clone()
	forged.States[AppStatus] = VersionedValue{Value: ShutdownStatus(), Version: 99, Sig: forged.States[AppStatus].Sig}
	f.Add((&Message{Kind: KindAck, Ack: &Ack{States: []GossipState{{ipB, forged}, {ipC, signed}}}}).Marshal())
	f.Add((&Message{Kind: KindShutdown, Shutdown: &Shutdown{States: []GossipState{{ipB, signed}}}}).Marshal())
	f.Add([]byte{})
	f.Add([]byte{1})
	f.Add([]byte{WireVersion, byte(KindAck), 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add([]byte{WireVersion, byte(KindShutdown), 1, 4, 127, 0, 0, 2, 2, 2, 3, 1, 2, 3, 1, 0, 2, 0, 72})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Unmarshal(b)
		if err != nil {
			return
		}
		// Whatever decodes re-encodes to something that decodes the same.
		m2, err := Unmarshal(m.Marshal())
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if !reflect.DeepEqual(m, m2) {
			t.Fatalf("unstable round trip\n%+v\n%+v", m, m2)
		}
		// And a Gossiper survives it, verifying or not.
		g := newG(ipA)
		g.Handle(t0, ipB, m)
		g.Tick(t0)
		sg := newSG(fuzzPKI, ipA)
		sg.Handle(t0, ipB, m)
		sg.Tick(t0)
	})
}
