package frame

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
)

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Byte-exact frames, worked out by hand from native_protocol_v4.spec.
func TestReadyFrameBytes(t *testing.T) {
	// version 0x84, flags 0, stream 0x0005, opcode READY 0x02, length 0.
	want := mustHex(t, "84 00 0005 02 00000000")
	if got := AppendReadyFrame(nil, 5); !bytes.Equal(got, want) {
		t.Fatalf("READY = % x, want % x", got, want)
	}
}

func TestErrorFrameBytes(t *testing.T) {
	// Invalid (0x2200) "bad" on stream 0x0102: body = [int] code, [string].
	want := mustHex(t, "84 00 0102 00 00000009 00002200 0003 626164")
	got := AppendErrorFrame(nil, 0x0102, &ErrorResponse{Code: CodeInvalid, Message: "bad"})
	if !bytes.Equal(got, want) {
		t.Fatalf("ERROR = % x, want % x", got, want)
	}
	// Unavailable adds <cl><required><alive>.
	want = mustHex(t, "84 00 0001 00 00000012 00001000 0002 6e6f 0006 00000002 00000001")
	got = AppendErrorFrame(nil, 1, &ErrorResponse{Code: CodeUnavailable, Message: "no",
		Consistency: LocalQuorum, Required: 2, Alive: 1})
	if !bytes.Equal(got, want) {
		t.Fatalf("Unavailable = % x, want % x", got, want)
	}
}

func TestResultVoidFrameBytes(t *testing.T) {
	var w FrameWriter
	buf, start := w.Begin([]byte("xx"), 7, OpResult, nil)
	buf = AppendResultVoid(buf)
	buf, err := w.Finish(buf, start)
	if err != nil {
		t.Fatal(err)
	}
	want := append([]byte("xx"), mustHex(t, "84 00 0007 08 00000004 00000001")...)
	if !bytes.Equal(buf, want) {
		t.Fatalf("RESULT void = % x, want % x", buf, want)
	}
}

func TestWarningsAndTracing(t *testing.T) {
	id := [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	var w FrameWriter
	x := &Extras{TracingID: &id, Warnings: []string{"w"}, CustomPayload: map[string][]byte{"k": {9}}}
	buf, start := w.Begin(nil, 3, OpResult, x)
	buf = AppendResultVoid(buf)
	buf, err := w.Finish(buf, start)
	if err != nil {
		t.Fatal(err)
	}
	want := mustHex(t, "84 0e 0003 08 00000023"+
		"0102030405060708090a0b0c0d0e0f10"+ // tracing id first
		"0001 0001 77"+ // then warnings
		"0001 0001 6b 00000001 09"+ // then custom payload
		"00000001")
	if !bytes.Equal(buf, want) {
		t.Fatalf("frame = % x\nwant    % x", buf, want)
	}
}

func TestUnsupportedVersionFrames(t *testing.T) {
	for _, tc := range []struct {
		v    byte
		head string
	}{
		{5, "84 00 0000 00"},
		{6, "84 00 0000 00"},
		{66, "84 00 0000 00"},
		{0, "84 00 0000 00"},
		{3, "83 00 0000 00"},
		{2, "82 00 00 00"}, // v1/v2 header: 1-byte stream
		{1, "81 00 00 00"},
	} {
		msg := UnsupportedVersionMessage(tc.v)
		got := EncodeUnsupportedVersion(nil, tc.v, 0)
		body := AppendString(AppendInt(nil, int32(CodeProtocolError)), msg)
		want := append(mustHex(t, tc.head), AppendInt(nil, int32(len(body)))...)
		want = append(want, body...)
		if !bytes.Equal(got, want) {
			t.Errorf("v%d: got % x, want % x", tc.v, got, want)
		}
	}
	if got, want := UnsupportedVersionMessage(5), "Invalid or unsupported protocol version (5); supported versions are (4/v4)"; got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
	// What each driver matches.
	m := UnsupportedVersionMessage(66)
	if !strings.Contains(m, "Invalid or unsupported protocol version") || !strings.Contains(m, "unsupported protocol version") {
		t.Errorf("message %q would not trigger a downgrade", m)
	}
}

// oneByteThenFail fails after delivering its first byte, proving ReadFrame
// does not wait for a full header before rejecting the version.
type oneByteThenFail struct {
	b    byte
	done bool
}

func (r *oneByteThenFail) Read(p []byte) (int, error) {
	if r.done {
		return 0, errors.New("read past the version byte")
	}
	r.done = true
	p[0] = r.b
	return 1, nil
}

func TestReadFrameUnsupportedVersion(t *testing.T) {
	for _, b := range []byte{0x01, 0x02, 0x03, 0x05, 0x15, 0x42, 0x45, 0x85} {
		_, _, err := ReadFrame(&oneByteThenFail{b: b}, 0, nil)
		var uv *UnsupportedVersionError
		if !errors.As(err, &uv) {
			t.Fatalf("0x%02x: err = %v, want UnsupportedVersionError", b, err)
		}
		if uv.Version != b&VersionMask || uv.Stream != 0 {
			t.Fatalf("0x%02x: got %+v", b, uv)
		}
		out := uv.AppendResponse(nil)
		if len(out) < 8 || out[4-boolInt(uv.Version > 2)] != 0 {
			t.Fatalf("bad response % x", out)
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestReadFrame(t *testing.T) {
	body := AppendLongString(nil, "SELECT 1")
	frame := AppendHeader(nil, Header{Version: VersionRequest, Flags: FlagTracing, Stream: 300, Opcode: OpPrepare, Length: int32(len(body))})
	frame = append(frame, body...)
	frame = append(frame, frame...) // two frames back to back

	r := NewReader(bufio.NewReader(bytes.NewReader(frame)), 1024)
	for i := 0; i < 2; i++ {
		h, b, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if h.Stream != 300 || h.Opcode != OpPrepare || !h.Has(FlagTracing) || !bytes.Equal(b, body) {
			t.Fatalf("frame %d: %+v % x", i, h, b)
		}
	}
	if _, _, err := r.Next(); err != io.EOF {
		t.Fatalf("after last frame: %v, want io.EOF", err)
	}

	// Truncated header and truncated body.
	for _, n := range []int{3, HeaderSize + 2} {
		_, _, err := ReadFrame(bytes.NewReader(frame[:n]), 0, nil)
		if err != io.ErrUnexpectedEOF {
			t.Fatalf("truncated at %d: %v", n, err)
		}
	}
}

func TestReadFrameTooLarge(t *testing.T) {
	for _, length := range []int32{1025, -1, 1 << 30} {
		hdr := AppendHeader(nil, Header{Version: VersionRequest, Stream: 9, Opcode: OpQuery, Length: length})
		// No body follows: the error must come before any body read.
		_, _, err := ReadFrame(bytes.NewReader(hdr), 1024, nil)
		var tl *FrameTooLargeError
		if !errors.As(err, &tl) || tl.Stream != 9 || tl.Length != int64(uint32(length)) || tl.Max != 1024 {
			t.Fatalf("length %d: err = %v", length, err)
		}
	}
	// A body at the limit is fine.
	hdr := AppendHeader(nil, Header{Version: VersionRequest, Opcode: OpQuery, Length: 1024})
	if _, b, err := ReadFrame(bytes.NewReader(append(hdr, make([]byte, 1024)...)), 1024, nil); err != nil || len(b) != 1024 {
		t.Fatalf("at limit: %v", err)
	}
}

func TestReadFrameDeclaredButNotSent(t *testing.T) {
	// A header that declares 200 MiB and sends 10 bytes must not allocate
	// 200 MiB.
	hdr := AppendHeader(nil, Header{Version: VersionRequest, Opcode: OpQuery, Length: 200 << 20})
	in := append(hdr, make([]byte, 10)...)
	ms1 := memStats()
	_, _, err := ReadFrame(bytes.NewReader(in), 0, nil)
	ms2 := memStats()
	if err != io.ErrUnexpectedEOF {
		t.Fatal(err)
	}
	if d := ms2 - ms1; d > 1<<20 {
		t.Fatalf("allocated %d bytes for a 10-byte body", d)
	}
}

func TestReadFrameGrowsLargeBody(t *testing.T) {
	body := bytes.Repeat([]byte("abcdefg"), 100000) // 700 kB, > bodyChunk
	hdr := AppendHeader(nil, Header{Version: VersionRequest, Opcode: OpQuery, Length: int32(len(body))})
	_, b, err := ReadFrame(io.MultiReader(bytes.NewReader(hdr), bytes.NewReader(body)), 0, make([]byte, 0, 16))
	if err != nil || !bytes.Equal(b, body) {
		t.Fatalf("err %v, equal %v", err, bytes.Equal(b, body))
	}
}

func TestReadFrameResponseDirection(t *testing.T) {
	hdr := AppendHeader(nil, Header{Version: VersionResponse, Stream: 4, Opcode: OpQuery})
	_, _, err := ReadFrame(bytes.NewReader(hdr), 0, nil)
	var pe *ProtocolError
	if !errors.As(err, &pe) || pe.Stream != 4 {
		t.Fatalf("err = %v", err)
	}
}

func TestOpcodeNames(t *testing.T) {
	if OpAuthSuccess.String() != "AUTH_SUCCESS" || Opcode(4).String() != "UNKNOWN(0x4)" || Opcode(0x30).IsRequest() {
		t.Fatal("opcode names")
	}
	for _, o := range []Opcode{OpStartup, OpOptions, OpQuery, OpPrepare, OpExecute, OpRegister, OpBatch, OpAuthResponse} {
		if !o.IsRequest() {
			t.Fatalf("%v should be a request", o)
		}
	}
}

func TestConsistencyNames(t *testing.T) {
	if LocalQuorum.String() != "LOCAL_QUORUM" || LocalOne.String() != "LOCAL_ONE" || Any.String() != "ANY" ||
		EachQuorum.String() != "EACH_QUORUM" || Consistency(11).String() != "UNKNOWN(11)" {
		t.Fatal("consistency names")
	}
	for c := Any; c <= LocalOne; c++ {
		if p, ok := ParseConsistency(c.String()); !ok || p != c {
			t.Fatalf("ParseConsistency(%v)", c)
		}
	}
}
