package cluster

import (
	"bufio"
	"io"
	"net"
	"testing"
	"time"

	"github.com/ringdb/ringdb/internal/protocol/frame"
)

// eventConn is a raw native-protocol connection REGISTERed for events.
type eventConn struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func (e *eventConn) send(stream int16, op frame.Opcode, body []byte) {
	e.t.Helper()
	h := frame.AppendHeader(nil, frame.Header{Version: frame.VersionRequest, Stream: stream, Opcode: op, Length: int32(len(body))})
	if _, err := e.c.Write(append(h, body...)); err != nil {
		e.t.Fatal(err)
	}
}

func (e *eventConn) recv() (frame.Header, []byte) {
	e.t.Helper()
	var hb [frame.HeaderSize]byte
	if _, err := io.ReadFull(e.r, hb[:]); err != nil {
		e.t.Fatalf("read: %v", err)
	}
	h := frame.ParseHeader(&hb)
	body := make([]byte, h.Length)
	if _, err := io.ReadFull(e.r, body); err != nil {
		e.t.Fatal(err)
	}
	return h, body
}

// registerEvents logs in to addr and registers for STATUS_CHANGE and
// TOPOLOGY_CHANGE events.
func (c *testCluster) registerEvents(addr string) *eventConn {
	c.t.Helper()
	nc, err := net.DialTimeout("tcp", addr+":9042", 5*time.Second)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { nc.Close() })
	e := &eventConn{t: c.t, c: nc, r: bufio.NewReader(nc)}
	e.send(0, frame.OpStartup, frame.AppendStringMap(nil, map[string]string{"CQL_VERSION": "3.0.0"}))
	if h, _ := e.recv(); h.Opcode != frame.OpAuthenticate {
		c.t.Fatalf("expected AUTHENTICATE, got %s", h.Opcode)
	}
	tok := append(append([]byte{0}, "cassandra\x00"...), c.password()...)
	e.send(1, frame.OpAuthResponse, frame.AppendBytes(nil, tok))
	if h, _ := e.recv(); h.Opcode != frame.OpAuthSuccess {
		c.t.Fatalf("expected AUTH_SUCCESS, got %s", h.Opcode)
	}
	e.send(2, frame.OpRegister, frame.AppendStringList(nil, []string{"STATUS_CHANGE", "TOPOLOGY_CHANGE"}))
	if h, _ := e.recv(); h.Opcode != frame.OpReady {
		c.t.Fatalf("expected READY, got %s", h.Opcode)
	}
	return e
}

// waitEvent reads frames until an EVENT of the given type and change for
// the given native address arrives (or the deadline passes).
func (e *eventConn) waitEvent(kind, change, addr string, within time.Duration) {
	e.t.Helper()
	_ = e.c.SetReadDeadline(time.Now().Add(within))
	for {
		h, body := e.recv()
		if h.Opcode != frame.OpEvent {
			continue
		}
		cur := frame.NewCursor(body)
		k, ch := cur.Str(), cur.Str()
		ap := cur.Inet()
		if cur.Err() == nil && k == kind && ch == change && ap.Addr().String() == addr {
			if h.Stream != -1 {
				e.t.Fatalf("event on stream %d", h.Stream)
			}
			return
		}
	}
}
