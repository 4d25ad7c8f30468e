package exposure

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"net/netip"
)

// Apache Cassandra's internode handshake, from its public protocol
// description (HandshakeProtocol in the Cassandra source):
//
//   - the initiator sends the magic 0xCA552DFA, then a 4-byte flags word:
//     bits 0-1 the connection category, bit 2 and bit 4 the framing, bit 3
//     streaming, bits 8-15 the requested messaging version, bits 16-23 and
//     24-31 the lowest and highest versions it accepts; from messaging
//     version 12 (Cassandra 4.0) on, its address (a length byte, the
//     address, a 2-byte port) and a CRC32 of everything before it follow;
//   - a Cassandra 4 responder answers Accept: its highest messaging version
//     (4 bytes), the version to use (4 bytes) and a CRC32 of those 8 bytes;
//     a pre-4.0 node answers only its messaging version (4 bytes).
//
// The CRC32 is the IEEE CRC over the bytes FA 2D 55 CA (the magic, least
// significant byte first) followed by the protected bytes.
const (
	cassandraMagic = 0xCA552DFA
	// messagingVersion40 is Cassandra 4.0's messaging version.
	messagingVersion40 = 12
	// messagingVersion30 is Cassandra 3.0's.
	messagingVersion30 = 10
	// smallMessages is the connection category of small messages.
	smallMessages = 2
)

var cassandraCRCPrefix = []byte{0xFA, 0x2D, 0x55, 0xCA}

// cassandraCRC is the CRC32 Cassandra's handshake messages carry.
func cassandraCRC(b []byte) uint32 {
	h := crc32.NewIEEE()
	h.Write(cassandraCRCPrefix)
	h.Write(b)
	return h.Sum32()
}

// appendCassandraInitiate appends a Cassandra 4.0 Initiate message that
// asks for messaging version 12, accepting 10 to 12, from the address from.
func appendCassandraInitiate(dst []byte, from netip.AddrPort) []byte {
	start := len(dst)
	flags := uint32(smallMessages) | messagingVersion40<<8 | messagingVersion30<<16 | messagingVersion40<<24
	dst = binary.BigEndian.AppendUint32(dst, cassandraMagic)
	dst = binary.BigEndian.AppendUint32(dst, flags)
	a := from.Addr().Unmap()
	if !a.IsValid() {
		a = netip.IPv4Unspecified()
	}
	ab := a.AsSlice()
	dst = append(dst, byte(len(ab)))
	dst = append(dst, ab...)
	dst = binary.BigEndian.AppendUint16(dst, from.Port())
	return binary.BigEndian.AppendUint32(dst, cassandraCRC(dst[start:]))
}

// cassandraReply is a decoded answer to the Initiate message.
type cassandraReply struct {
	// MaxVersion is the responder's highest messaging version.
	MaxVersion uint32
	// UseVersion is the version it chose (0 from a pre-4.0 node).
	UseVersion uint32
	// Form names the shape recognised: "accept" (4.0+), "pre-4.0", or
	// "magic" (a reply that starts with the magic, then the version).
	Form string
}

// plausibleMessagingVersion accepts the messaging versions Cassandra has
// used (1 to 13 so far) with room for future ones.
func plausibleMessagingVersion(v uint32) bool { return v >= 1 && v <= 64 }

// decodeCassandraReply recognises a Cassandra internode handshake reply in
// b, the first bytes a target answered the Initiate with. needMore is true
// when b is a plausible prefix that more bytes could complete.
func decodeCassandraReply(b []byte) (r cassandraReply, ok, needMore bool) {
	if len(b) < 4 {
		return r, false, len(b) > 0 && (b[0] == 0 || b[0] == 0xCA)
	}
	first := binary.BigEndian.Uint32(b)
	if first == cassandraMagic {
		if len(b) < 8 {
			return r, false, true
		}
		v := binary.BigEndian.Uint32(b[4:])
		if v > 64 { // a flags word: the version sits in bits 8-15
			v = (v >> 8) & 0xff
		}
		return cassandraReply{MaxVersion: v, Form: "magic"}, plausibleMessagingVersion(v), false
	}
	if !plausibleMessagingVersion(first) {
		return r, false, false
	}
	if first < messagingVersion40 {
		return cassandraReply{MaxVersion: first, Form: "pre-4.0"}, len(b) == 4, false
	}
	if len(b) < 12 {
		return cassandraReply{MaxVersion: first, Form: "pre-4.0"}, len(b) == 4, len(b) < 12
	}
	use := binary.BigEndian.Uint32(b[4:])
	if !plausibleMessagingVersion(use) || binary.BigEndian.Uint32(b[8:]) != cassandraCRC(b[:8]) {
		return r, false, false
	}
	return cassandraReply{MaxVersion: first, UseVersion: use, Form: "accept"}, true, false
}

func (r cassandraReply) String() string {
	if r.UseVersion != 0 {
		return fmt.Sprintf("messaging version %d, highest %d", r.UseVersion, r.MaxVersion)
	}
	return fmt.Sprintf("messaging version %d", r.MaxVersion)
}
