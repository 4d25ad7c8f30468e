package protocol

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/ringdb/ringdb/internal/protocol/frame"
)

// quietLogger drops everything below errors.
func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError}))
}

// pipeListener hands the server the far ends of in-memory pipes. A pipe
// buffers nothing: a write blocks until the client reads, so a client that
// stops reading stalls the server's writer at once, with no kernel socket
// buffers to fill first.
type pipeListener struct {
	conns     chan net.Conn
	done      chan struct{}
	closeOnce sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// notifyConn is the server's end of a pipe; closed is closed when the
// server closes it.
type notifyConn struct {
	net.Conn
	once   sync.Once
	closed chan struct{}
}

func (c *notifyConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

// dial connects a client to the server through l; the returned channel is
// closed when the server closes its end.
func (l *pipeListener) dial(t *testing.T) (net.Conn, <-chan struct{}) {
	t.Helper()
	cli, srv := net.Pipe()
	nc := &notifyConn{Conn: srv, closed: make(chan struct{})}
	select {
	case l.conns <- nc:
	case <-time.After(10 * time.Second):
		t.Fatal("server did not accept the connection")
	}
	t.Cleanup(func() { cli.Close() })
	return cli, nc.closed
}

// startServer serves opts through ln (a pipeListener, or nil for TCP on
// loopback) and closes the server when the test ends.
func startServer(t *testing.T, opts Options, ln net.Listener) *Server {
	t.Helper()
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.Logger == nil {
		opts.Logger = quietLogger()
	}
	s := New(opts)
	if ln != nil {
		s.ln = ln
	} else if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve() }()
	t.Cleanup(func() {
		if err := s.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			t.Errorf("close: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return s
}

// client speaks the protocol by hand.
type client struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func newClient(t *testing.T, c net.Conn) *client {
	return &client{t: t, c: c, r: bufio.NewReader(c)}
}

func (cl *client) send(stream int16, op frame.Opcode, body []byte) {
	cl.t.Helper()
	hdr := frame.AppendHeader(nil, frame.Header{Version: frame.VersionRequest, Stream: stream, Opcode: op, Length: int32(len(body))})
	_ = cl.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := cl.c.Write(append(hdr, body...)); err != nil {
		cl.t.Fatalf("send %s: %v", op, err)
	}
}

// readResponse reads one response frame.
func readResponse(r io.Reader) (frame.Header, []byte, error) {
	var hb [frame.HeaderSize]byte
	if _, err := io.ReadFull(r, hb[:]); err != nil {
		return frame.Header{}, nil, err
	}
	h := frame.ParseHeader(&hb)
	body := make([]byte, binary.BigEndian.Uint32(hb[5:]))
	if _, err := io.ReadFull(r, body); err != nil {
		return h, nil, err
	}
	return h, body, nil
}

func (cl *client) recv() (frame.Header, []byte) {
	cl.t.Helper()
	_ = cl.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	h, body, err := readResponse(cl.r)
	if err != nil {
		cl.t.Fatalf("read response: %v", err)
	}
	return h, body
}

// expect reads a response and checks its stream and opcode.
func (cl *client) expect(stream int16, op frame.Opcode) []byte {
	cl.t.Helper()
	h, body := cl.recv()
	if h.Stream != stream || h.Opcode != op {
		cl.t.Fatalf("got %s on stream %d (body %q), want %s on stream %d", h.Opcode, h.Stream, body, op, stream)
	}
	return body
}

// startup completes the handshake (no authentication).
func (cl *client) startup() {
	cl.t.Helper()
	cl.send(1, frame.OpStartup, frame.AppendStringMap(nil, map[string]string{frame.OptionCQLVersion: "3.0.0"}))
	cl.expect(1, frame.OpReady)
}

// register registers for every event type.
func (cl *client) register() {
	cl.t.Helper()
	cl.send(2, frame.OpRegister, frame.AppendStringList(nil, []string{frame.EventStatusChange, frame.EventTopologyChange, frame.EventSchemaChange}))
	cl.expect(2, frame.OpReady)
}

func queryBody(q string) []byte {
	b := frame.AppendLongString(nil, q)
	b = frame.AppendConsistency(b, frame.One)
	return append(b, 0)
}
