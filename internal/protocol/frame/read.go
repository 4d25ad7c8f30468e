package frame

import (
	"encoding/binary"
	"errors"
	"io"
)

// bodyChunk is the first allocation made for a body that does not fit the
// caller's buffer; the buffer then doubles as bytes actually arrive, so a
// header that declares a large body and sends nothing costs no memory.
const bodyChunk = 64 << 10

// ReadFrame reads one v4 request frame from r. It returns the header and the
// body, which aliases buf when the body fits in cap(buf) (buf may be nil).
// maxBody <= 0 means MaxFrameBody.
//
// Errors:
//   - io.EOF when r ends before the first byte (a clean close);
//     io.ErrUnexpectedEOF when it ends inside a frame;
//   - *UnsupportedVersionError when the version is not 4, returned after
//     reading only the version byte;
//   - *ProtocolError for a frame in the response direction;
//   - *FrameTooLargeError when the declared length exceeds maxBody (or is
//     negative), returned before anything is allocated for the body;
//   - any error of r.
//
// After any error the connection's framing is lost and it must be closed
// (after answering, for the typed errors).
func ReadFrame(r io.Reader, maxBody int, buf []byte) (Header, []byte, error) {
	return readFrame(r, maxBody, buf, nil)
}

// readFrame is ReadFrame with a hook called with the header, once the
// declared length passed the maxBody check and before the body is read;
// its error is returned as is.
func readFrame(r io.Reader, maxBody int, buf []byte, beforeBody func(Header) error) (Header, []byte, error) {
	var hb [HeaderSize]byte
	hdr := hb[:]
	if cap(buf) >= HeaderSize {
		hdr = buf[:HeaderSize] // avoids hb escaping through the io.Reader call
	}
	if _, err := io.ReadFull(r, hdr[:1]); err != nil {
		return Header{}, nil, err
	}
	if v := hdr[0] & VersionMask; v != ProtocolVersion {
		return Header{}, nil, &UnsupportedVersionError{Version: v}
	}
	if _, err := io.ReadFull(r, hdr[1:]); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return Header{}, nil, err
	}
	h := Header{
		Version: hdr[0],
		Flags:   hdr[1],
		Stream:  int16(binary.BigEndian.Uint16(hdr[2:4])),
		Opcode:  Opcode(hdr[4]),
		Length:  int32(binary.BigEndian.Uint32(hdr[5:9])),
	}
	if h.Version&DirectionMask != 0 {
		return h, nil, &ProtocolError{Stream: h.Stream, Message: "Wrong protocol direction (expected REQUEST, got RESPONSE)"}
	}
	if maxBody <= 0 {
		maxBody = MaxFrameBody
	}
	if n := int64(uint32(h.Length)); n > int64(maxBody) {
		return h, nil, &FrameTooLargeError{Stream: h.Stream, Opcode: h.Opcode, Length: n, Max: maxBody}
	}
	if beforeBody != nil {
		if err := beforeBody(h); err != nil {
			return h, nil, err
		}
	}
	body, err := readBody(r, int(h.Length), buf)
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return h, nil, err
	}
	return h, body, nil
}

// readBody reads exactly n bytes, into buf when it is large enough, growing
// a new buffer geometrically as data arrives otherwise.
func readBody(r io.Reader, n int, buf []byte) ([]byte, error) {
	if n <= cap(buf) {
		b := buf[:n]
		_, err := io.ReadFull(r, b)
		return b, err
	}
	b := buf[:cap(buf)]
	got := 0
	for got < n {
		if got == len(b) {
			nb := make([]byte, min(n, max(2*len(b), bodyChunk)))
			copy(nb, b[:got])
			b = nb
		}
		m, err := io.ReadFull(r, b[got:min(n, len(b))])
		got += m
		if err != nil {
			return nil, err
		}
	}
	return b[:n], nil
}

// Reader reads request frames from a connection, reusing one body buffer.
// Wrap a net.Conn in a bufio.Reader first: ReadFrame issues several small
// reads per frame.
type Reader struct {
	r          io.Reader
	maxBody    int
	buf        []byte
	beforeBody func(Header) error
}

// shrinkAbove is the buffer capacity above which a Reader lets its buffer
// go before reading the next frame: a connection that once sent a large
// frame does not keep that memory while idle.
const shrinkAbove = 64 << 10

// NewReader returns a Reader of frames from r whose bodies may be at most
// maxBody bytes (maxBody <= 0 means MaxFrameBody).
func NewReader(r io.Reader, maxBody int) *Reader {
	return &Reader{r: r, maxBody: maxBody}
}

// SetMaxBody changes the largest body the next frames may declare
// (n <= 0 means MaxFrameBody): a server reads small frames only until the
// client has authenticated.
func (r *Reader) SetMaxBody(n int) { r.maxBody = n }

// SetBeforeBody installs fn, called with each frame's header after its
// length passed the size check and before its body is read (and memory is
// allocated for it); an error from fn is returned by Next. A server
// reserves the body's bytes from a global budget there, waiting when the
// budget is spent (back-pressure: the socket is not read meanwhile).
func (r *Reader) SetBeforeBody(fn func(Header) error) { r.beforeBody = fn }

// Next reads the next frame as ReadFrame does. The body is valid until the
// next call to Next.
func (r *Reader) Next() (Header, []byte, error) {
	if cap(r.buf) > shrinkAbove {
		r.buf = nil
	}
	if r.buf == nil {
		r.buf = make([]byte, 0, 4096)
	}
	h, body, err := readFrame(r.r, r.maxBody, r.buf, r.beforeBody)
	if cap(body) > cap(r.buf) {
		r.buf = body[:0]
	}
	return h, body, err
}
