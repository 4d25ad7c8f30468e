package gossip

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

func sampleMessages() []Message {
	st := EndpointState{HeartBeat: HeartBeatState{Generation: 1700000000, Version: 42},
		States: map[ApplicationState]VersionedValue{AppStatus: {"NORMAL,1", 3}, AppDC: {"dc1", 40}, 50: {"future", 41}}}
	v6 := addr("fd00::1")
	return []Message{
		{Kind: KindSyn, Syn: &Syn{ClusterName: "Test Cluster", Digests: []GossipDigest{{ipA, 1700000000, 42}, {v6, 1, 0}}}},
		{Kind: KindAck, Ack: &Ack{Digests: []GossipDigest{{ipB, 5, 0}}, States: []GossipState{{ipA, st}, {v6, EndpointState{HeartBeat: HeartBeatState{1, 2}}}}}},
		{Kind: KindAck2, Ack2: &Ack2{States: []GossipState{{ipC, st}}}},
		{Kind: KindEchoRequest},
		{Kind: KindEchoResponse},
		{Kind: KindShutdown},
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
		"version":     {2, byte(KindEchoRequest)},
		"kind":        {1, 99},
		"huge count":  {1, byte(KindAck2), 0xff, 0xff, 0xff, 0xff, 0x0f},
		"bad addr":    {1, byte(KindAck2), 1, 5, 1, 2, 3, 4, 5, 0, 0, 0},
		"neg version": {1, byte(KindAck2), 1, 4, 127, 0, 0, 1, 2, 1, 0},
		"dup key":     {1, byte(KindAck2), 1, 4, 127, 0, 0, 1, 2, 2, 2, 0, 2, 0, 0, 0, 2, 0},
		"key range":   {1, byte(KindAck2), 1, 4, 127, 0, 0, 1, 2, 2, 1, 200, 2, 0},
		"long name":   append([]byte{1, byte(KindSyn), 0x81, 0x02}, make([]byte, 257)...),
	}
	for name, b := range cases {
		if _, err := Unmarshal(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func FuzzUnmarshal(f *testing.F) {
	for _, m := range sampleMessages() {
		f.Add(m.Marshal())
	}
	f.Add([]byte{})
	f.Add([]byte{1})
	f.Add([]byte{1, byte(KindAck), 0xff, 0xff, 0xff, 0xff, 0x0f})
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
		// And a Gossiper survives it.
		g := newG(ipA)
		g.Handle(t0, ipB, m)
		g.Tick(t0)
	})
}
