package frame

import (
	"encoding/binary"
	"strconv"
)

// Protocol version bytes. The high bit of the version byte gives the
// direction: clear for requests, set for responses.
const (
	// ProtocolVersion is the only native protocol version ringdb speaks.
	ProtocolVersion byte = 4
	// VersionRequest is the version byte of a v4 request frame.
	VersionRequest byte = 0x04
	// VersionResponse is the version byte of a v4 response frame.
	VersionResponse byte = 0x84
	// DirectionMask selects the direction bit of a version byte.
	DirectionMask byte = 0x80
	// VersionMask selects the version number of a version byte.
	VersionMask byte = 0x7f
)

// Header flags (section 2.2 of the v4 spec).
const (
	// FlagCompression marks a compressed frame body.
	FlagCompression byte = 0x01
	// FlagTracing asks for tracing (request) or marks a body that starts
	// with a tracing session [uuid] (response).
	FlagTracing byte = 0x02
	// FlagCustomPayload marks a body that carries a [bytes map] custom
	// payload before the message.
	FlagCustomPayload byte = 0x04
	// FlagWarning marks a response body that starts with a [string list] of
	// warnings (after the tracing id, if any).
	FlagWarning byte = 0x08
	// FlagUseBeta is set by clients that opt in to a beta protocol version.
	FlagUseBeta byte = 0x10
)

// HeaderSize is the size of a v3/v4 frame header in bytes.
const HeaderSize = 9

// MaxFrameBody is the largest body the v4 spec allows (256 MiB). ReadFrame
// uses it when called with maxBody <= 0.
const MaxFrameBody = 256 << 20

// Opcode identifies the message carried by a frame.
type Opcode byte

// Opcodes of protocol v4 (section 2.4). There is no 0x04.
const (
	OpError         Opcode = 0x00
	OpStartup       Opcode = 0x01
	OpReady         Opcode = 0x02
	OpAuthenticate  Opcode = 0x03
	OpOptions       Opcode = 0x05
	OpSupported     Opcode = 0x06
	OpQuery         Opcode = 0x07
	OpResult        Opcode = 0x08
	OpPrepare       Opcode = 0x09
	OpExecute       Opcode = 0x0A
	OpRegister      Opcode = 0x0B
	OpEvent         Opcode = 0x0C
	OpBatch         Opcode = 0x0D
	OpAuthChallenge Opcode = 0x0E
	OpAuthResponse  Opcode = 0x0F
	OpAuthSuccess   Opcode = 0x10
)

var opcodeNames = [...]string{
	OpError:         "ERROR",
	OpStartup:       "STARTUP",
	OpReady:         "READY",
	OpAuthenticate:  "AUTHENTICATE",
	0x04:            "",
	OpOptions:       "OPTIONS",
	OpSupported:     "SUPPORTED",
	OpQuery:         "QUERY",
	OpResult:        "RESULT",
	OpPrepare:       "PREPARE",
	OpExecute:       "EXECUTE",
	OpRegister:      "REGISTER",
	OpEvent:         "EVENT",
	OpBatch:         "BATCH",
	OpAuthChallenge: "AUTH_CHALLENGE",
	OpAuthResponse:  "AUTH_RESPONSE",
	OpAuthSuccess:   "AUTH_SUCCESS",
}

// String returns the spec's name of the opcode, e.g. "QUERY", or
// "UNKNOWN(0x04)".
func (o Opcode) String() string {
	if int(o) < len(opcodeNames) && opcodeNames[o] != "" {
		return opcodeNames[o]
	}
	return "UNKNOWN(0x" + strconv.FormatUint(uint64(o), 16) + ")"
}

// IsRequest reports whether a client may send the opcode.
func (o Opcode) IsRequest() bool {
	switch o {
	case OpStartup, OpOptions, OpQuery, OpPrepare, OpExecute, OpRegister, OpBatch, OpAuthResponse:
		return true
	}
	return false
}

// Header is a decoded v3/v4 frame header.
type Header struct {
	// Version is the raw version byte, direction bit included (0x04 for a
	// v4 request, 0x84 for a v4 response).
	Version byte
	// Flags is the set of Flag* bits.
	Flags byte
	// Stream is the stream id; responses carry the request's, events -1.
	Stream int16
	// Opcode is the message type.
	Opcode Opcode
	// Length is the body length in bytes.
	Length int32
}

// Has reports whether every bit of flag is set in h.Flags.
func (h Header) Has(flag byte) bool { return h.Flags&flag == flag }

// AppendHeader appends the 9-byte encoding of h.
func AppendHeader(dst []byte, h Header) []byte {
	return append(dst, h.Version, h.Flags, byte(uint16(h.Stream)>>8), byte(h.Stream), byte(h.Opcode),
		byte(uint32(h.Length)>>24), byte(uint32(h.Length)>>16), byte(uint32(h.Length)>>8), byte(h.Length))
}

// ParseHeader decodes a 9-byte v3/v4 header without validating it.
func ParseHeader(b *[HeaderSize]byte) Header {
	return Header{
		Version: b[0],
		Flags:   b[1],
		Stream:  int16(binary.BigEndian.Uint16(b[2:4])),
		Opcode:  Opcode(b[4]),
		Length:  int32(binary.BigEndian.Uint32(b[5:9])),
	}
}
