package exposure

import (
	"errors"
	"fmt"
	"io"

	"github.com/ringdb/ringdb/internal/protocol/frame"
)

// The client side of the CQL native protocol (v3-v5 frame headers), as far
// as the probes need it: requests are encoded with the frame package's
// primitives, responses from the target are decoded here, as hostile input.

// errNotCQL is returned when a reply is not a CQL response frame.
var errNotCQL = errors.New("not a CQL response")

// Result kinds and rows metadata flags (native_protocol_v4.spec 4.2.5).
const (
	resultRows       = 0x0002
	rowsGlobalSpec   = 0x0001
	rowsHasMorePages = 0x0002
	rowsNoMetadata   = 0x0004
	// maxTypeDepth bounds the nesting of a column type option.
	maxTypeDepth = 16
	// consistencyOne is the consistency the probe's SELECT asks for.
	consistencyOne = 0x0001
)

// appendRequest appends a request frame of protocol version v.
func appendRequest(dst []byte, v byte, stream int16, op frame.Opcode, body []byte) []byte {
	dst = frame.AppendHeader(dst, frame.Header{Version: v & frame.VersionMask, Stream: stream, Opcode: op, Length: int32(len(body))})
	return append(dst, body...)
}

func startupBody(cqlVersion string) []byte {
	return frame.AppendStringMap(nil, map[string]string{"CQL_VERSION": cqlVersion})
}

// plainAuthBody is SASL PLAIN: authzid (empty) NUL user NUL password.
func plainAuthBody(user, password string) []byte {
	return frame.AppendBytes(nil, []byte("\x00"+user+"\x00"+password))
}

// queryBody is a v3/v4 QUERY without values at consistency ONE.
func queryBody(q string) []byte {
	b := frame.AppendLongString(nil, q)
	b = frame.AppendShort(b, consistencyOne)
	return append(b, 0)
}

// cqlResponse is a decoded response frame.
type cqlResponse struct {
	Version       byte // the protocol version of the frame (3, 4 or 5)
	Stream        int16
	Opcode        frame.Opcode
	ErrCode       int32
	ErrMsg        string
	Supported     map[string][]string
	Authenticator string
	// Row is the first row of a Rows result, by column name; a null
	// cell is absent.
	Row map[string]string
}

// isResponseOpcode reports whether a server may send op.
func isResponseOpcode(op frame.Opcode) bool {
	switch op {
	case frame.OpError, frame.OpReady, frame.OpAuthenticate, frame.OpSupported, frame.OpResult,
		frame.OpEvent, frame.OpAuthChallenge, frame.OpAuthSuccess:
		return true
	}
	return false
}

// readResponse reads one response frame of at most maxBody body bytes.
func readResponse(r io.Reader, maxBody int) (cqlResponse, error) {
	var hb [frame.HeaderSize]byte
	if _, err := io.ReadFull(r, hb[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return cqlResponse{}, fmt.Errorf("%w: short header", errNotCQL)
		}
		return cqlResponse{}, err
	}
	h := frame.ParseHeader(&hb)
	if err := checkHeader(h, maxBody); err != nil {
		return cqlResponse{}, err
	}
	body := make([]byte, h.Length)
	if _, err := io.ReadFull(r, body); err != nil {
		return cqlResponse{}, fmt.Errorf("read %s body: %w", h.Opcode, err)
	}
	return decodeResponse(h, body)
}

func checkHeader(h frame.Header, maxBody int) error {
	v := h.Version & frame.VersionMask
	switch {
	case h.Version&frame.DirectionMask == 0, v < 3, v > 5, !isResponseOpcode(h.Opcode):
		return errNotCQL
	case h.Length < 0 || int(h.Length) > maxBody:
		return fmt.Errorf("%w: body of %d bytes (limit %d)", errNotCQL, h.Length, maxBody)
	case h.Has(frame.FlagCompression):
		return fmt.Errorf("%w: compressed body though no compression was asked for", errNotCQL)
	}
	return nil
}

// decodeResponse decodes a response body; it never panics.
func decodeResponse(h frame.Header, body []byte) (cqlResponse, error) {
	resp := cqlResponse{Version: h.Version & frame.VersionMask, Stream: h.Stream, Opcode: h.Opcode}
	c := frame.NewCursor(body)
	if h.Has(frame.FlagTracing) {
		c.UUID()
	}
	if resp.Version >= 4 && h.Has(frame.FlagWarning) {
		c.StrList()
	}
	if resp.Version >= 4 && h.Has(frame.FlagCustomPayload) {
		c.BytesMap()
	}
	switch h.Opcode {
	case frame.OpError:
		resp.ErrCode, resp.ErrMsg = c.Int(), c.Str()
	case frame.OpAuthenticate:
		resp.Authenticator = c.Str()
	case frame.OpSupported:
		resp.Supported = c.StrMultimap()
	case frame.OpResult:
		resp.Row = decodeFirstRow(&c)
	}
	if err := c.Err(); err != nil {
		return resp, fmt.Errorf("decode %s: %w", h.Opcode, err)
	}
	return resp, nil
}

// decodeFirstRow decodes a RESULT body's Rows (nil for other kinds) and
// returns its first row's cells as strings, by column name.
func decodeFirstRow(c *frame.Cursor) map[string]string {
	if c.Int() != resultRows {
		return nil
	}
	flags, ncols := c.Int(), int(c.Int())
	if ncols < 0 || ncols > c.Remaining() {
		c.Failf("rows: %d columns", ncols)
		return nil
	}
	if flags&rowsHasMorePages != 0 {
		c.Bytes()
	}
	names := make([]string, 0, min(ncols, 64))
	if flags&rowsNoMetadata == 0 {
		if flags&rowsGlobalSpec != 0 {
			c.Str()
			c.Str()
		}
		for range ncols {
			if flags&rowsGlobalSpec == 0 {
				c.Str()
				c.Str()
			}
			names = append(names, c.Str())
			skipType(c, 0)
			if c.Err() != nil {
				return nil
			}
		}
	}
	nrows := c.Int()
	if nrows <= 0 || c.Err() != nil {
		return nil
	}
	row := map[string]string{}
	for i := range ncols {
		cell := c.Bytes()
		if cell != nil && i < len(names) {
			row[names[i]] = string(cell)
		}
	}
	return row
}

// skipType consumes one [option] column type, however nested, up to
// maxTypeDepth levels.
func skipType(c *frame.Cursor, depth int) {
	if depth > maxTypeDepth {
		c.Failf("column type nested deeper than %d", maxTypeDepth)
		return
	}
	switch id := c.Short(); id {
	case 0x0000: // custom
		c.Str()
	case 0x0020, 0x0022: // list, set
		skipType(c, depth+1)
	case 0x0021: // map
		skipType(c, depth+1)
		skipType(c, depth+1)
	case 0x0030: // UDT
		c.Str()
		c.Str()
		n := int(c.Short())
		for i := 0; i < n && c.Err() == nil; i++ {
			c.Str()
			skipType(c, depth+1)
		}
	case 0x0031: // tuple
		n := int(c.Short())
		for i := 0; i < n && c.Err() == nil; i++ {
			skipType(c, depth+1)
		}
	}
}
