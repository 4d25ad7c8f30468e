package exposure

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/ringdb/ringdb/internal/protocol/frame"
)

// The decoders below read what a target sends: they must not panic, hang
// or allocate more than the (capped) input justifies.

func FuzzCQLResponse(f *testing.F) {
	f.Add(frame.AppendReadyFrame(nil, 0))
	f.Add(frame.EncodeUnsupportedVersion(nil, 5, 0))
	sup := frame.AppendFrameHeader(nil, 0, 0, frame.OpSupported)
	sup = frame.FinishFrame(frame.AppendSupported(sup, map[string][]string{"CQL_VERSION": {"3.4.5"}}), 0)
	f.Add(sup)
	rows := frame.AppendFrameHeader(nil, 0, 0, frame.OpResult)
	f.Add(frame.FinishFrame(appendLocalRow(rows, "4.0.11", "c"), 0))
	nested := frame.AppendFrameHeader(nil, 0, 0, frame.OpResult)
	nested = frame.AppendInt(frame.AppendInt(frame.AppendInt(nested, resultRows), 0), 1)
	nested = frame.AppendString(frame.AppendString(frame.AppendString(nested, "k"), "t"), "c")
	for range 20 {
		nested = frame.AppendShort(nested, 0x0020)
	}
	f.Add(frame.FinishFrame(nested, 0))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		for range 4 {
			if _, err := readResponse(r, 1<<10); err != nil {
				break
			}
		}
		if len(b) >= frame.HeaderSize {
			var hb [frame.HeaderSize]byte
			copy(hb[:], b)
			_, _ = decodeResponse(frame.ParseHeader(&hb), b[frame.HeaderSize:])
		}
	})
}

func FuzzCassandraReply(f *testing.F) {
	accept := binary.BigEndian.AppendUint32(nil, 12)
	accept = binary.BigEndian.AppendUint32(accept, 12)
	f.Add(binary.BigEndian.AppendUint32(accept, cassandraCRC(accept)))
	f.Add(binary.BigEndian.AppendUint32(nil, 11))
	f.Add(appendCassandraInitiate(nil, netip.MustParseAddrPort("127.0.0.1:7000")))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, ok, _ := decodeCassandraReply(b)
		if ok && !plausibleMessagingVersion(r.MaxVersion) {
			t.Fatalf("accepted implausible version %d", r.MaxVersion)
		}
		_ = r.String()
	})
}

func FuzzRMIAck(f *testing.F) {
	f.Add([]byte{rmiProtocolAck, 0, 9, '1', '2', '7', '.', '0', '.', '0', '.', '1', 0, 0, 0x9c, 0x40})
	f.Add([]byte{rmiProtocolNotSupported})
	f.Add([]byte{rmiProtocolAck, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		if a, ok := decodeRMIAck(b); ok && len(a.Host) > 4*maxRMIHost {
			t.Fatalf("host of %d bytes", len(a.Host))
		}
	})
}

func FuzzHTTPReply(f *testing.F) {
	f.Add([]byte("HTTP/1.1 401 Unauthorized\r\nContent-Length: 29\r\n\r\nmissing or wrong admin token\n"))
	f.Add([]byte("HTTP/1.0 200 OK\r\n\r\n{}"))
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffff\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = decodeHTTPReply(b)
		_ = identify(b)
		_ = clean(string(b))
	})
}
