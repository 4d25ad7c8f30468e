// Package frame is the CQL native protocol v4 wire codec: frame headers,
// frame-body compression (lz4 and snappy), the protocol's primitive types,
// decoding of every request message and encoding of every response message.
//
// What it owns: the byte layout described in Cassandra's
// native_protocol_v4.spec, and the exact bytes ringdb answers with when a
// client asks for a protocol version it does not speak (see
// UnsupportedVersionError), so that drivers downgrade to v4 the way they do
// against Cassandra.
//
// What it must never do: touch a socket beyond reading one frame from an
// io.Reader, know about sessions, authentication state, schemas or CQL
// types (column types arrive as pre-encoded [option] bytes), or import any
// other ringdb package.
//
// Invariants:
//
//   - Decoding never panics and never allocates more than the input could
//     justify: every count read from the wire is checked against the bytes
//     that remain before anything is allocated, declared frame lengths are
//     checked against the caller's limit before any buffer is grown, and
//     decompressed sizes are checked against a caller-supplied bound.
//   - Decoded requests alias the frame body they were decoded from ([]byte
//     fields such as Value.Bytes, Execute.ID and QueryParams.PagingState point
//     into it); the caller must not reuse the body buffer while it still uses
//     the decoded request. Strings are copied.
//   - Encoding functions append to a caller-owned []byte and never keep it,
//     so a connection can reuse one output buffer for every response.
//
// A typical response is written as
//
//	start := len(buf)
//	buf = frame.AppendFrameHeader(buf, 0, stream, frame.OpResult)
//	buf = frame.AppendResultVoid(buf)
//	buf = frame.FinishFrame(buf, start)
//
// or, with compression, tracing and warnings, with a FrameWriter.
package frame
