package messaging

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// A frame is
//
//	payload length uint32 | verb uint8 | flags uint8 | message id uint64 | payload
//
// big-endian. The length counts the payload only and is checked against the
// lane's limit before anything is allocated.

const (
	frameHeaderLen = 4 + 1 + 1 + 8
	// maxFrameSizeLimit is the largest MaxFrameSize accepted by New.
	maxFrameSizeLimit = 256 << 20
)

// frameKind is the flags byte: exactly one of these values.
type frameKind uint8

const (
	kindOneWay   frameKind = 1 // no response expected
	kindRequest  frameKind = 2 // the peer answers with kindResponse or kindError, same id
	kindResponse frameKind = 3 // a handler's result
	kindError    frameKind = 4 // a handler's error text
)

func (k frameKind) String() string {
	switch k {
	case kindOneWay:
		return "one-way"
	case kindRequest:
		return "request"
	case kindResponse:
		return "response"
	case kindError:
		return "error"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

type frameHeader struct {
	length uint32
	verb   Verb
	kind   frameKind
	id     uint64
}

type frame struct {
	frameHeader
	payload []byte
}

var (
	errFrameTooLarge = errors.New("frame exceeds maximum size")
	errBadKind       = errors.New("bad frame flags")
)

func appendFrameHeader(b []byte, h frameHeader) []byte {
	b = binary.BigEndian.AppendUint32(b, h.length)
	b = append(b, byte(h.verb), byte(h.kind))
	return binary.BigEndian.AppendUint64(b, h.id)
}

// encodeFrame returns a new buffer holding the header and payload.
func encodeFrame(v Verb, k frameKind, id uint64, payload []byte) []byte {
	b := make([]byte, 0, frameHeaderLen+len(payload))
	b = appendFrameHeader(b, frameHeader{length: uint32(len(payload)), verb: v, kind: k, id: id})
	return append(b, payload...)
}

// decodeFrameHeader decodes and checks a header against the payload limit.
// Pure.
func decodeFrameHeader(b *[frameHeaderLen]byte, maxPayload int) (frameHeader, error) {
	h := frameHeader{
		length: binary.BigEndian.Uint32(b[0:]),
		verb:   Verb(b[4]),
		kind:   frameKind(b[5]),
		id:     binary.BigEndian.Uint64(b[6:]),
	}
	if uint64(h.length) > uint64(max(maxPayload, 0)) {
		return h, fmt.Errorf("%w: %d > %d", errFrameTooLarge, h.length, maxPayload)
	}
	if h.kind < kindOneWay || h.kind > kindError {
		return h, errBadKind
	}
	return h, nil
}

// readFrame reads one frame. The payload is freshly allocated (the caller
// may keep it) and never larger than maxPayload; the allocation happens only
// after the header has been checked.
func readFrame(r io.Reader, maxPayload int) (frame, error) {
	var hb [frameHeaderLen]byte
	if _, err := io.ReadFull(r, hb[:]); err != nil {
		return frame{}, err
	}
	h, err := decodeFrameHeader(&hb, maxPayload)
	if err != nil {
		return frame{}, err
	}
	f := frame{frameHeader: h}
	if h.length > 0 {
		f.payload = make([]byte, h.length)
		if _, err := io.ReadFull(r, f.payload); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return frame{}, err
		}
	}
	return f, nil
}
