package messaging

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"runtime"
	"testing"
)

func TestHelloRoundTrip(t *testing.T) {
	for _, h := range []hello{
		{minVersion: 1, maxVersion: 1, clusterID: "c", addr: netip.MustParseAddr("127.0.0.2"), lane: laneUrgent},
		{minVersion: 1, maxVersion: 3, clusterID: string(bytes.Repeat([]byte("x"), MaxClusterIDLen)), addr: netip.MustParseAddr("2001:db8::1"), lane: laneBulk},
	} {
		b := appendHello(nil, h)
		got, err := decodeHello(b)
		if err != nil || got != h {
			t.Fatalf("decodeHello: %+v, %v; want %+v", got, err, h)
		}
		got, err = readHello(bytes.NewReader(b))
		if err != nil || got != h {
			t.Fatalf("readHello: %+v, %v; want %+v", got, err, h)
		}
	}
}

func TestHelloRejects(t *testing.T) {
	good := appendHello(nil, hello{minVersion: 1, maxVersion: 1, clusterID: "c", addr: netip.MustParseAddr("127.0.0.2")})
	cases := map[string][]byte{
		"empty":        nil,
		"bad magic":    append([]byte("XNGD"), good[4:]...),
		"truncated":    good[:len(good)-1],
		"trailing":     append(append([]byte(nil), good...), 0),
		"bad lane":     append(append([]byte(nil), good[:len(good)-1]...), 2),
		"min > max":    append([]byte("RNGD\x00\x02\x00\x01"), good[8:]...),
		"huge cluster": append([]byte("RNGD\x00\x01\x00\x01\xff\xff"), make([]byte, 300)...),
	}
	for name, b := range cases {
		if _, err := decodeHello(b); err == nil {
			t.Errorf("%s: decodeHello accepted %x", name, b)
		}
		if _, err := readHello(bytes.NewReader(b)); err == nil && name != "trailing" {
			t.Errorf("%s: readHello accepted %x", name, b)
		}
	}
}

func TestChooseVersion(t *testing.T) {
	if v, ok := chooseVersion(hello{minVersion: 1, maxVersion: 5}); !ok || v != protoMax {
		t.Fatalf("got %d %v", v, ok)
	}
	if _, ok := chooseVersion(hello{minVersion: protoMax + 1, maxVersion: protoMax + 2}); ok {
		t.Fatal("no overlap accepted")
	}
}

func TestAcceptDecode(t *testing.T) {
	a := accept{version: 1, addr: netip.MustParseAddr("127.0.0.3")}
	got, err := readAccept(bytes.NewReader(appendAccept(nil, a)))
	if err != nil || got != a {
		t.Fatalf("%+v %v", got, err)
	}
	var rej *rejectError
	if _, err := readAccept(bytes.NewReader([]byte{byte(rejectCluster)})); !errors.As(err, &rej) || rej.code != rejectCluster {
		t.Fatalf("want reject, got %v", err)
	}
}

func TestReadFrame(t *testing.T) {
	b := encodeFrame(VerbRead, kindRequest, 42, []byte("payload"))
	f, err := readFrame(bytes.NewReader(b), 100)
	if err != nil || f.verb != VerbRead || f.kind != kindRequest || f.id != 42 || string(f.payload) != "payload" {
		t.Fatalf("%+v %v", f, err)
	}
	if _, err := readFrame(bytes.NewReader(b), 3); !errors.Is(err, errFrameTooLarge) {
		t.Fatalf("want errFrameTooLarge, got %v", err)
	}
	if _, err := readFrame(bytes.NewReader(b[:len(b)-1]), 100); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("want ErrUnexpectedEOF, got %v", err)
	}
	bad := append([]byte(nil), b...)
	bad[5] = 9
	if _, err := readFrame(bytes.NewReader(bad), 100); !errors.Is(err, errBadKind) {
		t.Fatalf("want errBadKind, got %v", err)
	}
	// A 4 GiB declaration is refused without allocating it.
	huge := appendFrameHeader(nil, frameHeader{length: 0xFFFFFFFF, verb: VerbMutation, kind: kindOneWay})
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 10 {
		if _, err := readFrame(bytes.NewReader(huge), DefaultMaxFrameSize); !errors.Is(err, errFrameTooLarge) {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > 64<<10 {
		t.Fatalf("%d bytes allocated rejecting oversized frames", n)
	}
}

func FuzzDecodeHandshake(f *testing.F) {
	f.Add(appendHello(nil, hello{minVersion: 1, maxVersion: 1, clusterID: "c", addr: netip.MustParseAddr("127.0.0.2"), lane: laneBulk}))
	f.Add(appendHello(nil, hello{minVersion: 1, maxVersion: 9, clusterID: "", addr: netip.MustParseAddr("::1")}))
	f.Add(appendAccept(nil, accept{version: 1, addr: netip.MustParseAddr("127.0.0.1")}))
	f.Add([]byte("RNGD\x00\x01\x00\x01\xff\xff"))
	f.Add([]byte{3})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := decodeHello(b)
		if err == nil {
			if len(h.clusterID) > MaxClusterIDLen || h.lane >= numLanes || h.minVersion > h.maxVersion {
				t.Fatalf("accepted invalid hello %+v", h)
			}
			if !bytes.Equal(appendHello(nil, h), b) {
				t.Fatalf("hello does not round-trip: %x", b)
			}
		}
		r := bytes.NewReader(b)
		h2, err2 := readHello(r)
		if len(b)-r.Len() > maxHelloLen {
			t.Fatalf("readHello consumed %d bytes", len(b)-r.Len())
		}
		if err2 == nil && err == nil && h2 != h {
			t.Fatalf("readHello %+v != decodeHello %+v", h2, h)
		}
		if a, err := decodeAccept(b); err == nil && !bytes.Equal(appendAccept(nil, a), b) {
			t.Fatalf("accept does not round-trip: %x", b)
		}
		r = bytes.NewReader(b)
		readAccept(r)
		if len(b)-r.Len() > acceptLen {
			t.Fatalf("readAccept consumed %d bytes", len(b)-r.Len())
		}
	})
}

func FuzzReadFrame(f *testing.F) {
	f.Add(encodeFrame(VerbMutation, kindOneWay, 0, []byte("m")), 1024)
	f.Add(encodeFrame(VerbRead, kindRequest, 7, nil), 0)
	f.Add(append(encodeFrame(VerbEcho, kindResponse, 1, []byte("a")), encodeFrame(VerbEcho, kindError, 2, []byte("b"))...), 16)
	f.Add(appendFrameHeader(nil, frameHeader{length: 0xFFFFFFFF, verb: 1, kind: 1}), 1<<20)
	f.Fuzz(func(t *testing.T, b []byte, max int) {
		max = max & (1<<16 - 1) // keep the bound small: allocation must stay within it
		r := bytes.NewReader(b)
		for range 8 {
			fr, err := readFrame(r, max)
			if err != nil {
				return
			}
			if len(fr.payload) > max || int(fr.length) != len(fr.payload) {
				t.Fatalf("payload %d bytes, length %d, max %d", len(fr.payload), fr.length, max)
			}
			if fr.kind < kindOneWay || fr.kind > kindError {
				t.Fatalf("bad kind accepted: %v", fr.kind)
			}
			enc := encodeFrame(fr.verb, fr.kind, fr.id, fr.payload)
			if again, err := readFrame(bytes.NewReader(enc), max); err != nil || again.id != fr.id || !bytes.Equal(again.payload, fr.payload) {
				t.Fatalf("frame does not round-trip: %v", err)
			}
		}
	})
}
