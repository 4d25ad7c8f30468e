package messaging

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
)

// The ringdb handshake runs inside TLS, before any frame.
//
// Dialer -> acceptor (hello):
//
//	"RNGD" | min version uint16 | max version uint16 | cluster id length uint16 |
//	cluster id bytes | claimed address [16]byte (IPv4-mapped) | lane uint8
//
// Acceptor -> dialer, on success (accept):
//
//	"RNGD" | chosen version uint16 | acceptor's claimed address [16]byte
//
// or, on refusal, a single reject code byte (never 'R'), then close. A
// refusal carries no cluster data. All integers are big-endian.

const (
	// protoMin and protoMax are the protocol versions this build speaks.
	protoMin uint16 = 1
	protoMax uint16 = 1

	helloFixedLen = 4 + 2 + 2 + 2 // magic, min, max, cluster id length
	helloTailLen  = 16 + 1        // address, lane
	// maxHelloLen bounds the hello: it is read in full before any check
	// that needs the cluster id, so it must be small.
	maxHelloLen = helloFixedLen + MaxClusterIDLen + helloTailLen
	acceptLen   = 4 + 2 + 16
)

var magic = [4]byte{'R', 'N', 'G', 'D'}

// rejectCode is the one byte an acceptor sends before closing a refused
// handshake.
type rejectCode uint8

const (
	rejectMalformed rejectCode = 1 // not a well-formed hello (bad magic, length, lane)
	rejectVersion   rejectCode = 2 // no protocol version in common
	rejectCluster   rejectCode = 3 // cluster id differs
	rejectAddress   rejectCode = 4 // claimed address != certificate IP != TCP source
	rejectBusy      rejectCode = 5 // no connection slot for this peer (MaxPeers)
)

func (c rejectCode) String() string {
	switch c {
	case rejectMalformed:
		return "malformed handshake"
	case rejectVersion:
		return "no common protocol version"
	case rejectCluster:
		return "wrong cluster id"
	case rejectAddress:
		return "address mismatch"
	case rejectBusy:
		return "no connection slot"
	}
	return fmt.Sprintf("reject(%d)", uint8(c))
}

// hello is the dialer's half of the handshake.
type hello struct {
	minVersion, maxVersion uint16
	clusterID              string
	addr                   netip.Addr // unmapped
	lane                   lane
}

var (
	errBadMagic  = errors.New("bad magic")
	errMalformed = errors.New("malformed handshake")
)

// appendHello encodes h. The cluster id must be at most MaxClusterIDLen bytes.
func appendHello(b []byte, h hello) []byte {
	b = append(b, magic[:]...)
	b = binary.BigEndian.AppendUint16(b, h.minVersion)
	b = binary.BigEndian.AppendUint16(b, h.maxVersion)
	b = binary.BigEndian.AppendUint16(b, uint16(len(h.clusterID)))
	b = append(b, h.clusterID...)
	a := h.addr.As16()
	b = append(b, a[:]...)
	return append(b, byte(h.lane))
}

// decodeHello decodes one complete hello. It is pure: it never reads beyond
// b, never allocates more than len(b), and rejects trailing bytes.
func decodeHello(b []byte) (hello, error) {
	if len(b) < helloFixedLen+helloTailLen || len(b) > maxHelloLen {
		return hello{}, errMalformed
	}
	if [4]byte(b[:4]) != magic {
		return hello{}, errBadMagic
	}
	h := hello{
		minVersion: binary.BigEndian.Uint16(b[4:]),
		maxVersion: binary.BigEndian.Uint16(b[6:]),
	}
	n := int(binary.BigEndian.Uint16(b[8:]))
	if n > MaxClusterIDLen || len(b) != helloFixedLen+n+helloTailLen {
		return hello{}, errMalformed
	}
	h.clusterID = string(b[helloFixedLen : helloFixedLen+n])
	rest := b[helloFixedLen+n:]
	h.addr = netip.AddrFrom16([16]byte(rest[:16])).Unmap()
	h.lane = lane(rest[16])
	if h.lane >= numLanes || h.minVersion > h.maxVersion || h.minVersion == 0 {
		return hello{}, errMalformed
	}
	return h, nil
}

// readHello reads one hello from r, reading at most maxHelloLen bytes.
func readHello(r io.Reader) (hello, error) {
	var buf [maxHelloLen]byte
	if _, err := io.ReadFull(r, buf[:helloFixedLen]); err != nil {
		return hello{}, err
	}
	if [4]byte(buf[:4]) != magic {
		return hello{}, errBadMagic
	}
	n := int(binary.BigEndian.Uint16(buf[8:]))
	if n > MaxClusterIDLen {
		return hello{}, errMalformed
	}
	total := helloFixedLen + n + helloTailLen
	if _, err := io.ReadFull(r, buf[helloFixedLen:total]); err != nil {
		return hello{}, err
	}
	return decodeHello(buf[:total])
}

// chooseVersion returns the highest version both ranges contain.
func chooseVersion(h hello) (uint16, bool) {
	v := min(h.maxVersion, protoMax)
	if v < max(h.minVersion, protoMin) {
		return 0, false
	}
	return v, true
}

// accept is the acceptor's answer to a valid hello.
type accept struct {
	version uint16
	addr    netip.Addr // unmapped
}

func appendAccept(b []byte, a accept) []byte {
	b = append(b, magic[:]...)
	b = binary.BigEndian.AppendUint16(b, a.version)
	ad := a.addr.As16()
	return append(b, ad[:]...)
}

// rejectError is what a dialer gets when the acceptor refused its hello.
type rejectError struct{ code rejectCode }

func (e *rejectError) Error() string { return "peer refused handshake: " + e.code.String() }

// decodeAccept decodes the acceptor's answer: either a complete accept or
// a one-byte reject code (returned as *rejectError). Pure, like decodeHello.
func decodeAccept(b []byte) (accept, error) {
	if len(b) == 1 && b[0] != magic[0] {
		return accept{}, &rejectError{rejectCode(b[0])}
	}
	if len(b) != acceptLen {
		return accept{}, errMalformed
	}
	if [4]byte(b[:4]) != magic {
		return accept{}, errBadMagic
	}
	return accept{
		version: binary.BigEndian.Uint16(b[4:]),
		addr:    netip.AddrFrom16([16]byte(b[6:22])).Unmap(),
	}, nil
}

// readAccept reads the acceptor's answer from r (at most acceptLen bytes).
func readAccept(r io.Reader) (accept, error) {
	var buf [acceptLen]byte
	if _, err := io.ReadFull(r, buf[:1]); err != nil {
		return accept{}, err
	}
	if buf[0] != magic[0] {
		return decodeAccept(buf[:1])
	}
	if _, err := io.ReadFull(r, buf[1:]); err != nil {
		return accept{}, err
	}
	return decodeAccept(buf[:])
}
