// Package client is a small CQL native protocol v4 client used by ringdb's
// own tools (cqlsh, audit). It runs one request at a time on one
// connection and returns values in their serialized form with their types,
// so tools can format them exactly (internal/types.Format).
//
// Drivers are what applications use; this client exists so ringdb's tools
// do not depend on a driver's type mapping.
package client

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/ringdb/ringdb/internal/protocol/frame"
	"github.com/ringdb/ringdb/internal/types"
)

// Options configure a connection.
type Options struct {
	Username, Password string
	// Timeout bounds dialing and each request. Default 10s.
	Timeout time.Duration
	// TLS, if set, wraps the connection in TLS (the native port's
	// client_encryption_options); the handshake counts against Timeout.
	// Default nil: cleartext.
	TLS *tls.Config
}

// Client is one connection.
type Client struct {
	nc      net.Conn
	r       *bufio.Reader
	w       *bufio.Writer
	timeout time.Duration
	stream  int16
	// Authenticator is the class the server asked for ("" when none).
	Authenticator string
}

// ServerError is an ERROR response.
type ServerError struct {
	Code    int32
	Message string
}

// Error implements error.
func (e *ServerError) Error() string { return fmt.Sprintf("error %#04x: %s", e.Code, e.Message) }

// ErrAuthRequired is returned when the server wants credentials and none
// were given.
var ErrAuthRequired = errors.New("the server requires authentication (give a username and password)")

// handshake runs the client side of TLS over nc within o.Timeout. The
// server name defaults to addr's host.
func handshake(ctx context.Context, nc net.Conn, addr string, o Options) (net.Conn, error) {
	cfg := o.TLS.Clone()
	if cfg.ServerName == "" {
		if host, _, err := net.SplitHostPort(addr); err == nil {
			cfg.ServerName = host
		}
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	tc := tls.Client(nc, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		nc.Close()
		return nil, fmt.Errorf("TLS handshake with %s: %w", addr, err)
	}
	return tc, nil
}

// Dial connects, runs STARTUP and authenticates.
func Dial(ctx context.Context, addr string, o Options) (*Client, error) {
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Second
	}
	d := net.Dialer{Timeout: o.Timeout}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if o.TLS != nil {
		if nc, err = handshake(ctx, nc, addr, o); err != nil {
			return nil, err
		}
	}
	c := &Client{nc: nc, r: bufio.NewReader(nc), w: bufio.NewWriter(nc), timeout: o.Timeout}
	op, body, err := c.roundTrip(frame.OpStartup, frame.AppendStringMap(nil, map[string]string{"CQL_VERSION": "3.0.0"}))
	if err != nil {
		nc.Close()
		return nil, err
	}
	switch op {
	case frame.OpReady:
		return c, nil
	case frame.OpAuthenticate:
		cur := frame.NewCursor(body)
		c.Authenticator = cur.Str()
		if o.Username == "" {
			nc.Close()
			return nil, ErrAuthRequired
		}
		tok := append(append(append([]byte{0}, o.Username...), 0), o.Password...)
		op, _, err = c.roundTrip(frame.OpAuthResponse, frame.AppendBytes(nil, tok))
		if err != nil {
			nc.Close()
			return nil, err
		}
		if op != frame.OpAuthSuccess {
			nc.Close()
			return nil, fmt.Errorf("unexpected %s after AUTH_RESPONSE", op)
		}
		return c, nil
	}
	nc.Close()
	return nil, fmt.Errorf("unexpected %s after STARTUP", op)
}

// Close closes the connection.
func (c *Client) Close() error { return c.nc.Close() }

func (c *Client) roundTrip(op frame.Opcode, body []byte) (frame.Opcode, []byte, error) {
	c.stream = (c.stream + 1) & 0x7fff
	buf := frame.AppendHeader(nil, frame.Header{Version: frame.VersionRequest, Stream: c.stream, Opcode: op, Length: int32(len(body))})
	buf = append(buf, body...)
	_ = c.nc.SetDeadline(time.Now().Add(c.timeout))
	if _, err := c.w.Write(buf); err != nil {
		return 0, nil, err
	}
	if err := c.w.Flush(); err != nil {
		return 0, nil, err
	}
	for {
		h, rb, err := c.readResponse()
		if err != nil {
			return 0, nil, err
		}
		if h.Stream != c.stream {
			continue // events or stale answers
		}
		if h.Opcode == frame.OpError {
			cur := frame.NewCursor(rb)
			code := cur.Int()
			return 0, nil, &ServerError{Code: code, Message: cur.Str()}
		}
		return h.Opcode, rb, nil
	}
}

// maxResponse bounds a response body.
const maxResponse = 256 << 20

// readResponse reads one response frame.
func (c *Client) readResponse() (frame.Header, []byte, error) {
	var hb [frame.HeaderSize]byte
	if _, err := io.ReadFull(c.r, hb[:]); err != nil {
		return frame.Header{}, nil, err
	}
	h := frame.ParseHeader(&hb)
	if h.Version != frame.VersionResponse {
		return h, nil, fmt.Errorf("unexpected response version byte %#x", h.Version)
	}
	if h.Length < 0 || h.Length > maxResponse {
		return h, nil, fmt.Errorf("response body of %d bytes is out of bounds", h.Length)
	}
	if h.Flags&frame.FlagCompression != 0 {
		return h, nil, errors.New("compressed response without negotiated compression")
	}
	body := make([]byte, h.Length)
	if _, err := io.ReadFull(c.r, body); err != nil {
		return h, nil, err
	}
	cur := frame.NewCursor(body)
	if h.Flags&frame.FlagTracing != 0 {
		cur.UUID()
	}
	if h.Flags&frame.FlagWarning != 0 {
		cur.StrList()
	}
	if h.Flags&frame.FlagCustomPayload != 0 {
		cur.BytesMap()
	}
	if cur.Err() != nil {
		return h, nil, cur.Err()
	}
	return h, cur.Rest(), nil
}

// Column is a result column.
type Column struct {
	Keyspace, Table, Name string
	Type                  *types.Type
}

// Result is a RESULT message.
type Result struct {
	// Kind is one of frame.ResultVoid, ResultRows, ResultSetKeyspace,
	// ResultSchemaChange.
	Kind        int32
	Columns     []Column
	Rows        [][][]byte
	PagingState []byte
	Keyspace    string
	// Change describes a schema change ("CREATED TABLE ks.t").
	Change string
}

// Query runs a statement at consistency ONE with an optional page size
// (0: none) and paging state.
func (c *Client) Query(q string, pageSize int32, pagingState []byte) (*Result, error) {
	return c.QueryCL(q, frame.One, pageSize, pagingState)
}

// QueryCL runs a statement at consistency cl.
func (c *Client) QueryCL(q string, cl frame.Consistency, pageSize int32, pagingState []byte) (*Result, error) {
	b := frame.AppendLongString(nil, q)
	b = frame.AppendConsistency(b, cl)
	flags := byte(0)
	if pageSize > 0 {
		flags |= frame.QueryFlagPageSize
	}
	if pagingState != nil {
		flags |= frame.QueryFlagPagingState
	}
	b = append(b, flags)
	if pageSize > 0 {
		b = frame.AppendInt(b, pageSize)
	}
	if pagingState != nil {
		b = frame.AppendBytes(b, pagingState)
	}
	op, body, err := c.roundTrip(frame.OpQuery, b)
	if err != nil {
		return nil, err
	}
	if op != frame.OpResult {
		return nil, fmt.Errorf("unexpected %s", op)
	}
	return decodeResult(body)
}

func decodeResult(body []byte) (*Result, error) {
	cur := frame.NewCursor(body)
	res := &Result{Kind: cur.Int()}
	switch res.Kind {
	case frame.ResultRows:
		flags := cur.Int()
		n := int(cur.Int())
		if n < 0 || n > cur.Remaining() {
			return nil, fmt.Errorf("bad column count %d", n)
		}
		if flags&frame.MetaHasMorePages != 0 {
			res.PagingState = cur.Bytes()
		}
		if flags&frame.MetaNoMetadata == 0 {
			var gks, gtable string
			if flags&frame.MetaGlobalTablesSpec != 0 {
				gks, gtable = cur.Str(), cur.Str()
			}
			for i := 0; i < n && cur.Err() == nil; i++ {
				col := Column{Keyspace: gks, Table: gtable}
				if flags&frame.MetaGlobalTablesSpec == 0 {
					col.Keyspace, col.Table = cur.Str(), cur.Str()
				}
				col.Name = cur.Str()
				t, rest, err := types.ReadOption(cur.Rest())
				if err != nil {
					return nil, fmt.Errorf("bad column type: %w", err)
				}
				cur = frame.NewCursor(rest)
				col.Type = t
				res.Columns = append(res.Columns, col)
			}
		}
		rows := int(cur.Int())
		if rows < 0 || (n > 0 && rows > cur.Remaining()/(4*n)) || (n == 0 && rows > 1<<16) {
			return nil, fmt.Errorf("bad row count %d", rows)
		}
		for i := 0; i < rows && cur.Err() == nil; i++ {
			row := make([][]byte, n)
			for j := range row {
				row[j] = cur.Bytes()
			}
			res.Rows = append(res.Rows, row)
		}
	case frame.ResultSetKeyspace:
		res.Keyspace = cur.Str()
	case frame.ResultSchemaChange:
		change, target, ks := cur.Str(), cur.Str(), cur.Str()
		name := ""
		if target != "KEYSPACE" {
			name = "." + cur.Str()
		}
		res.Change = change + " " + target + " " + ks + name
	}
	return res, cur.Err()
}
