package protocol

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/ringdb/ringdb/internal/protocol/frame"
)

// tlsRecordHandshake is the first byte of a TLS ClientHello record; a CQL
// request starts with its protocol version (3, 4, 5) instead.
const tlsRecordHandshake = 0x16

// errCleartextRefused is the reason a cleartext client is closed on a
// port that requires TLS.
var errCleartextRefused = errors.New("cleartext client on a TLS-only port")

// secure returns the connection the client's requests are read from and
// its responses written to: nc itself without TLS; otherwise a TLS server
// connection after a completed handshake, or, with TLSOptional, nc itself
// when the client's first byte is not a TLS record. A cleartext client on
// a TLS-only port is answered one cleartext protocol ERROR saying so
// (drivers show it) before the connection closes. The handshake deadline
// bounds all of it.
func (c *conn) secure() (net.Conn, error) {
	if c.s.opts.TLS == nil {
		return c.nc, nil
	}
	_ = c.nc.SetDeadline(c.handshakeDeadline)
	defer func() { _ = c.nc.SetWriteDeadline(time.Time{}) }()
	br := bufio.NewReaderSize(c.nc, 512)
	first, err := br.Peek(1)
	if err != nil {
		return nil, err
	}
	pc := &peekedConn{Conn: c.nc, r: br}
	if first[0] != tlsRecordHandshake {
		if c.s.opts.TLSOptional {
			return pc, nil
		}
		c.refuseCleartext(br)
		return nil, errCleartextRefused
	}
	tc := tls.Server(pc, c.s.opts.TLS)
	ctx, cancel := context.WithDeadline(c.ctx, c.handshakeDeadline)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, fmt.Errorf("TLS handshake: %w", err)
	}
	return tc, nil
}

// refuseCleartext answers a cleartext request on a TLS-only port with a
// protocol error on the request's stream.
func (c *conn) refuseCleartext(br *bufio.Reader) {
	var stream int16
	if hdr, err := br.Peek(frame.HeaderSize); err == nil {
		stream = int16(uint16(hdr[2])<<8 | uint16(hdr[3]))
	}
	buf, start := c.fw.Begin(make([]byte, 0, 256), stream, frame.OpError, nil)
	buf = frame.AppendError(buf, &frame.ErrorResponse{Code: frame.CodeProtocolError,
		Message: "This port requires TLS (client_encryption_options); connect with TLS/SSL enabled"})
	if out, err := c.fw.Finish(buf, start); err == nil {
		_, _ = c.nc.Write(out)
	}
}

// peekedConn reads first what its bufio.Reader already buffered.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (p *peekedConn) Read(b []byte) (int, error) { return p.r.Read(b) }
