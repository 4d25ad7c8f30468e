package frame

import (
	"errors"
	"strconv"
)

// ErrMalformed is wrapped by every error that reports a request body that
// does not follow the v4 layout (truncated, a negative length where none is
// allowed, an unknown flag combination...). The server answers such errors
// with a PROTOCOL error (CodeProtocolError) on the request's stream.
var ErrMalformed = errors.New("malformed message")

// UnsupportedVersionError is returned by ReadFrame when the first byte of a
// frame asks for a protocol version other than v4. ReadFrame returns it
// after reading only that one byte, as Cassandra does: a v1/v2 client sends
// 8-byte headers, so waiting for a 9-byte header could wait forever.
//
// The server answers with AppendResponse (a PROTOCOL error frame drivers
// recognise as "downgrade and retry") and then closes the connection.
type UnsupportedVersionError struct {
	// Version is the requested version number, direction bit removed.
	Version byte
	// Stream is the stream the answer must use. It is always 0: the stream
	// id of the offending header is never read, and 0 is what Cassandra
	// answers on. That matters: gocql sends its first request on stream 1
	// and treats an ERROR only on stream 0 (or below) as a connection-level
	// protocol error whose header version it adopts; the python and node
	// drivers send their first request on stream 0.
	Stream int16
}

// Error returns the same text as the ERROR frame's message.
func (e *UnsupportedVersionError) Error() string { return UnsupportedVersionMessage(e.Version) }

// AppendResponse appends the complete ERROR frame that answers e; it is
// EncodeUnsupportedVersion(dst, e.Version, e.Stream).
func (e *UnsupportedVersionError) AppendResponse(dst []byte) []byte {
	return EncodeUnsupportedVersion(dst, e.Version, e.Stream)
}

// FrameTooLargeError is returned by ReadFrame when a header declares a body
// longer than the allowed maximum. The body has not been read (nor any
// buffer sized for it), so the connection cannot continue: the server answers
// a PROTOCOL error on Stream and closes.
type FrameTooLargeError struct {
	// Stream is the stream id of the offending frame.
	Stream int16
	// Opcode is the opcode of the offending frame.
	Opcode Opcode
	// Length is the declared body length (the header's [int] read unsigned).
	Length int64
	// Max is the limit that was exceeded.
	Max int
}

// Error returns a message in the spirit of Cassandra's "Request is too big".
func (e *FrameTooLargeError) Error() string {
	return "Request is too big: length " + strconv.FormatInt(e.Length+HeaderSize, 10) +
		" exceeds maximum allowed length " + strconv.Itoa(e.Max+HeaderSize) + "."
}

// ProtocolError is returned by ReadFrame for a header that is well formed
// enough to carry a stream id but cannot be accepted (for example a frame
// sent in the response direction). The server answers a PROTOCOL error with
// Message on Stream and closes the connection.
type ProtocolError struct {
	// Stream is the stream id of the offending frame.
	Stream int16
	// Message is the text for the ERROR frame.
	Message string
}

// Error returns Message.
func (e *ProtocolError) Error() string { return e.Message }

// UnsupportedVersionMessage is the message of the PROTOCOL error that
// answers a request for protocol version v. It follows Cassandra's wording,
// "Invalid or unsupported protocol version (5); supported versions are
// (4/v4)": the node driver and the DataStax Java driver look for the
// substring "Invalid or unsupported protocol version", the python driver for
// "unsupported protocol version".
func UnsupportedVersionMessage(v byte) string {
	return "Invalid or unsupported protocol version (" + strconv.Itoa(int(v)) + "); supported versions are (4/v4)"
}

// EncodeUnsupportedVersion appends the complete ERROR frame (code
// CodeProtocolError, message UnsupportedVersionMessage(requestedVersion))
// that answers a frame asking for requestedVersion, on stream stream. Pass
// stream 0, as Cassandra does (see UnsupportedVersionError.Stream).
//
// The frame's version byte is chosen as Cassandra chooses it, so the client
// can parse the answer and learn what to retry with:
//   - v1 and v2, which Cassandra knows but no longer supports: answered in
//     that version (0x81/0x82) with the 8-byte v1/v2 header and 1-byte stream;
//   - v3, which ringdb knows but does not support: answered as v3 (0x83);
//   - any other version (0, 5, 6, the DSE versions 65 and 66, ...): answered
//     as v4 (0x84). gocql adopts this header version as the version to use,
//     the node driver retries with it, the python driver steps down one
//     version at a time until it reaches 4.
func EncodeUnsupportedVersion(dst []byte, requestedVersion byte, stream int16) []byte {
	requestedVersion &= VersionMask
	msg := UnsupportedVersionMessage(requestedVersion)
	bodyLen := 4 + 2 + len(msg)
	switch requestedVersion {
	case 1, 2:
		dst = append(dst, DirectionMask|requestedVersion, 0, byte(stream), byte(OpError))
	case 3:
		dst = append(dst, DirectionMask|3, 0, byte(uint16(stream)>>8), byte(stream), byte(OpError))
	default:
		dst = append(dst, VersionResponse, 0, byte(uint16(stream)>>8), byte(stream), byte(OpError))
	}
	dst = AppendInt(dst, int32(bodyLen))
	dst = AppendInt(dst, int32(CodeProtocolError))
	return AppendString(dst, msg)
}
