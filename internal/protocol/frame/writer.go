package frame

import (
	"encoding/binary"
	"fmt"
)

// AppendFrameHeader appends a v4 response header (version 0x84) with the
// given flags, stream and opcode and a zero body length, which FinishFrame
// patches once the body has been appended. The frame starts at the len(dst)
// the caller passed in.
func AppendFrameHeader(dst []byte, flags byte, stream int16, op Opcode) []byte {
	return append(dst, VersionResponse, flags, byte(uint16(stream)>>8), byte(stream), byte(op), 0, 0, 0, 0)
}

// FinishFrame sets the body length of the frame whose header starts at
// buf[start] to the number of bytes after its header.
func FinishFrame(buf []byte, start int) []byte {
	binary.BigEndian.PutUint32(buf[start+5:], uint32(len(buf)-start-HeaderSize))
	return buf
}

// Extras are the optional prefixes of a response body, written in the
// spec's order: tracing id, warnings, custom payload.
type Extras struct {
	// TracingID is the tracing session id; non-nil sets FlagTracing.
	TracingID *[16]byte
	// Warnings are the server's warnings; non-empty sets FlagWarning.
	Warnings []string
	// CustomPayload is returned to the client; non-empty sets
	// FlagCustomPayload.
	CustomPayload map[string][]byte
}

// Flags returns the header flags x calls for (nil x: none).
func (x *Extras) Flags() byte {
	var f byte
	if x == nil {
		return 0
	}
	if x.TracingID != nil {
		f |= FlagTracing
	}
	if len(x.Warnings) > 0 {
		f |= FlagWarning
	}
	if len(x.CustomPayload) > 0 {
		f |= FlagCustomPayload
	}
	return f
}

// AppendExtras appends the body prefixes x calls for (nil x: none). The
// frame's header must carry x.Flags().
func AppendExtras(dst []byte, x *Extras) []byte {
	if x == nil {
		return dst
	}
	if x.TracingID != nil {
		dst = AppendUUID(dst, *x.TracingID)
	}
	if len(x.Warnings) > 0 {
		dst = AppendStringList(dst, x.Warnings)
	}
	if len(x.CustomPayload) > 0 {
		dst = AppendBytesMap(dst, x.CustomPayload)
	}
	return dst
}

// CompressFrame compresses, in place, the body of the finished or
// unfinished frame whose header starts at buf[start], sets FlagCompression
// and patches the length. The body is everything after the header,
// including any Extras. scratch is a reusable work buffer; the grown one is
// returned. With NoCompression it only finishes the frame.
func CompressFrame(buf []byte, start int, c Compression, scratch []byte) (out, scratchOut []byte, err error) {
	if c == NoCompression {
		return FinishFrame(buf, start), scratch, nil
	}
	body := buf[start+HeaderSize:]
	scratch, err = Compress(c, scratch[:0], body)
	if err != nil {
		return buf, scratch, err
	}
	buf = append(buf[:start+HeaderSize], scratch...)
	buf[start+1] |= FlagCompression
	return FinishFrame(buf, start), scratch, nil
}

// FrameWriter writes response frames into caller buffers, with the
// connection's negotiated compression. It keeps a scratch buffer, so it
// belongs to one connection (or goroutine) at a time.
type FrameWriter struct {
	// Compression is the connection's negotiated compression; set it only
	// after the READY (or AUTHENTICATE) answering STARTUP has been written.
	Compression Compression
	scratch     []byte
}

// Begin appends a response header for stream and op, with the flags x
// calls for, followed by x's prefixes. It returns the buffer and the
// frame's start, for Finish.
func (w *FrameWriter) Begin(dst []byte, stream int16, op Opcode, x *Extras) (buf []byte, start int) {
	start = len(dst)
	dst = AppendFrameHeader(dst, x.Flags(), stream, op)
	return AppendExtras(dst, x), start
}

// Finish compresses the frame's body if the writer has a compression and
// patches its length. It fails only if the body exceeds MaxFrameBody or
// compression fails; the frame is then cut from the returned buffer.
func (w *FrameWriter) Finish(buf []byte, start int) ([]byte, error) {
	if n := len(buf) - start - HeaderSize; n > MaxFrameBody {
		return buf[:start], fmt.Errorf("response body of %d bytes exceeds the %d byte frame limit", n, MaxFrameBody)
	}
	out, scratch, err := CompressFrame(buf, start, w.Compression, w.scratch)
	if cap(scratch) <= shrinkAbove {
		w.scratch = scratch
	} else {
		w.scratch = nil
	}
	if err != nil {
		return buf[:start], err
	}
	return out, nil
}
