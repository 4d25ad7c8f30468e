package e2e

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gocql/gocql"

	"github.com/ringdb/ringdb/internal/protocol/frame"
)

// rawConn speaks the native protocol by hand, to test what drivers hide.
type rawConn struct {
	t    *testing.T
	c    net.Conn
	r    *bufio.Reader
	comp frame.Compression
}

func dialRaw(t *testing.T, n *testNode) *rawConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(n.port), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	return &rawConn{t: t, c: c, r: bufio.NewReader(c)}
}

func (rc *rawConn) send(version byte, stream int16, op frame.Opcode, body []byte) {
	rc.t.Helper()
	flags := byte(0)
	if rc.comp != frame.NoCompression && op != frame.OpStartup && op != frame.OpOptions {
		var err error
		body, err = frame.Compress(rc.comp, nil, body)
		if err != nil {
			rc.t.Fatal(err)
		}
		flags |= frame.FlagCompression
	}
	hdr := []byte{version, flags, byte(uint16(stream) >> 8), byte(stream), byte(op), 0, 0, 0, 0}
	binary.BigEndian.PutUint32(hdr[5:], uint32(len(body)))
	if _, err := rc.c.Write(append(hdr, body...)); err != nil {
		rc.t.Fatal(err)
	}
}

func (rc *rawConn) recv() (frame.Header, []byte) {
	rc.t.Helper()
	var hb [frame.HeaderSize]byte
	if _, err := io.ReadFull(rc.r, hb[:]); err != nil {
		rc.t.Fatalf("read header: %v", err)
	}
	h := frame.ParseHeader(&hb)
	body := make([]byte, h.Length)
	if _, err := io.ReadFull(rc.r, body); err != nil {
		rc.t.Fatalf("read body: %v", err)
	}
	if h.Flags&frame.FlagCompression != 0 {
		var err error
		body, err = frame.Decompress(rc.comp, nil, body, 64<<20)
		if err != nil {
			rc.t.Fatalf("decompress: %v", err)
		}
	}
	return h, body
}

func startupBody(opts map[string]string) []byte { return frame.AppendStringMap(nil, opts) }

func queryBody(q string) []byte {
	b := frame.AppendLongString(nil, q)
	b = frame.AppendConsistency(b, frame.One)
	return append(b, 0)
}

func errorOf(t *testing.T, h frame.Header, body []byte) (int32, string) {
	t.Helper()
	if h.Opcode != frame.OpError {
		t.Fatalf("expected ERROR, got %s", h.Opcode)
	}
	c := frame.NewCursor(body)
	code := c.Int()
	return code, c.Str()
}

func TestProtocolVersionNegotiation(t *testing.T) {
	n := startNode(t, "", func(c *cfgT) { c.Authenticator = "AllowAllAuthenticator" })
	for _, v := range []byte{5, 3, 66} {
		rc := dialRaw(t, n)
		rc.send(v, 1, frame.OpOptions, nil)
		var hb [8]byte
		if _, err := io.ReadFull(rc.r, hb[:1]); err != nil {
			t.Fatal(err)
		}
		all, _ := io.ReadAll(rc.r)
		msg := string(all)
		if !strings.Contains(msg, "Invalid or unsupported protocol version ("+strconv.Itoa(int(v))+")") {
			t.Fatalf("v%d: reply %q", v, msg)
		}
	}
	// gocql's protocol discovery (ProtoVersion 0) settles on v4.
	c := n.cluster()
	c.ProtoVersion = 0
	s, err := c.CreateSession()
	if err != nil {
		t.Fatalf("gocql discovery: %v", err)
	}
	defer s.Close()
	var rel string
	if err := s.Query("SELECT release_version FROM system.local").Scan(&rel); err != nil || rel == "" {
		t.Fatalf("%q %v", rel, err)
	}
}

func TestCompressionAndEvents(t *testing.T) {
	n := startNode(t, "", func(c *cfgT) { c.Authenticator = "AllowAllAuthenticator" })
	for _, comp := range []string{"lz4", "snappy"} {
		rc := dialRaw(t, n)
		rc.send(4, 0, frame.OpStartup, startupBody(map[string]string{"CQL_VERSION": "3.0.0", "COMPRESSION": comp}))
		rc.comp, _ = frame.ParseCompression(comp)
		if h, _ := rc.recv(); h.Opcode != frame.OpReady {
			t.Fatalf("%s: startup answered %s", comp, h.Opcode)
		}
		rc.send(4, 7, frame.OpRegister, frame.AppendStringList(nil, []string{"SCHEMA_CHANGE"}))
		if h, _ := rc.recv(); h.Opcode != frame.OpReady || h.Stream != 7 {
			t.Fatalf("register answered %s on %d", h.Opcode, h.Stream)
		}
		// A long query compresses well and round-trips.
		q := "SELECT release_version FROM system.local WHERE key = 'local'" + strings.Repeat(" ", 4000)
		rc.send(4, 9, frame.OpQuery, queryBody(q))
		h, body := rc.recv()
		if h.Opcode != frame.OpResult || h.Stream != 9 || !strings.Contains(string(body), "4.0") {
			t.Fatalf("%s: query answered %s %q", comp, h.Opcode, body)
		}
		// A schema change by another client produces an EVENT on stream -1.
		other := n.session()
		mustExec(t, other, "CREATE KEYSPACE IF NOT EXISTS ev_"+comp+" WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
		h, body = rc.recv()
		if h.Opcode != frame.OpEvent || h.Stream != -1 {
			t.Fatalf("expected EVENT, got %s on %d", h.Opcode, h.Stream)
		}
		c := frame.NewCursor(body)
		if c.Str() != "SCHEMA_CHANGE" || c.Str() != "CREATED" || c.Str() != "KEYSPACE" || c.Str() != "ev_"+comp {
			t.Fatalf("event body %q", body)
		}
	}
	// gocql with snappy compression end to end.
	c := n.cluster()
	c.Compressor = gocql.SnappyCompressor{}
	s, err := c.CreateSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mustExec(t, s, "CREATE TABLE ev_lz4.t (k int PRIMARY KEY, v text)")
	mustExec(t, s, "INSERT INTO ev_lz4.t (k, v) VALUES (1, ?)", strings.Repeat("abc", 10000))
	var v string
	if err := s.Query("SELECT v FROM ev_lz4.t WHERE k = 1").Scan(&v); err != nil || len(v) != 30000 {
		t.Fatalf("snappy round trip: %d %v", len(v), err)
	}
}

func TestManyStreamsAndBadInput(t *testing.T) {
	n := startNode(t, "", func(c *cfgT) { c.Authenticator = "AllowAllAuthenticator" })
	rc := dialRaw(t, n)
	rc.send(4, 0, frame.OpStartup, startupBody(map[string]string{"CQL_VERSION": "3.0.0"}))
	if h, _ := rc.recv(); h.Opcode != frame.OpReady {
		t.Fatalf("startup: %s", h.Opcode)
	}
	// 500 requests in flight on one connection; every stream answered once.
	const inflight = 500
	var wmu sync.Mutex
	go func() {
		for i := 1; i <= inflight; i++ {
			wmu.Lock()
			rc.send(4, int16(i), frame.OpQuery, queryBody("SELECT key FROM system.local"))
			wmu.Unlock()
		}
	}()
	seen := map[int16]bool{}
	for len(seen) < inflight {
		h, _ := rc.recv()
		if h.Opcode != frame.OpResult || seen[h.Stream] {
			t.Fatalf("stream %d answered %s (dup=%v)", h.Stream, h.Opcode, seen[h.Stream])
		}
		seen[h.Stream] = true
	}
	// Syntax error and unprepared id carry the right codes.
	rc.send(4, 3, frame.OpQuery, queryBody("SELECT FROM"))
	h3, b3 := rc.recv()
	if code, msg := errorOf(t, h3, b3); code != 0x2000 || !strings.Contains(msg, "line 1:") {
		t.Fatalf("syntax error: %#x %q", code, msg)
	}
	exec := frame.AppendShortBytes(nil, []byte("0123456789abcdef"))
	exec = frame.AppendConsistency(exec, frame.One)
	exec = append(exec, 0)
	rc.send(4, 4, frame.OpExecute, exec)
	h, body := rc.recv()
	code, _ := errorOf(t, h, body)
	if code != 0x2500 {
		t.Fatalf("unprepared: %#x", code)
	}
	// A frame declaring a huge body is refused without reading it.
	hdr := []byte{4, 0, 0, 5, byte(frame.OpQuery), 0x7f, 0xff, 0xff, 0xff}
	if _, err := rc.c.Write(hdr); err != nil {
		t.Fatal(err)
	}
	h5, b5 := rc.recv()
	code, msg := errorOf(t, h5, b5)
	if code != 0x000A || !strings.Contains(msg, "too big") {
		t.Fatalf("oversized frame: %#x %q", code, msg)
	}
	// Garbage bytes get a protocol error or a closed connection, and the
	// server keeps serving others.
	rc2 := dialRaw(t, n)
	_, _ = rc2.c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	_, _ = io.ReadAll(rc2.r)
	s := n.session()
	var key string
	if err := s.Query("SELECT key FROM system.local").Scan(&key); err != nil || key != "local" {
		t.Fatalf("server unhealthy after bad input: %v", err)
	}
}

// TestNamedValues binds values by marker name in QUERY and EXECUTE.
func TestNamedValues(t *testing.T) {
	n := startNode(t, "", func(c *cfgT) { c.Authenticator = "AllowAllAuthenticator" })
	s := n.session()
	mustExec(t, s, "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
	mustExec(t, s, "CREATE TABLE ks.nv (k int PRIMARY KEY, a text, b text)")
	rc := dialRaw(t, n)
	rc.send(4, 0, frame.OpStartup, startupBody(map[string]string{"CQL_VERSION": "3.0.0"}))
	if h, _ := rc.recv(); h.Opcode != frame.OpReady {
		t.Fatalf("startup: %s", h.Opcode)
	}
	named := func(vals map[string][]byte, order []string) []byte {
		b := frame.AppendConsistency(nil, frame.One)
		b = append(b, frame.QueryFlagValues|frame.QueryFlagNamesForValues)
		b = frame.AppendShort(b, uint16(len(order)))
		for _, name := range order {
			b = frame.AppendString(b, name)
			b = frame.AppendBytes(b, vals[name])
		}
		return b
	}
	text := func(s string) []byte { return []byte(s) }
	vals := map[string][]byte{"k": {0, 0, 0, 7}, "a": text("alpha"), "b": text("beta")}
	// Names in an order different from the markers'.
	body := append(frame.AppendLongString(nil, "INSERT INTO ks.nv (k, a, b) VALUES (:k, :a, :b)"), named(vals, []string{"b", "k", "a"})...)
	rc.send(4, 1, frame.OpQuery, body)
	if h, b := rc.recv(); h.Opcode != frame.OpResult {
		code, msg := errorOf(t, h, b)
		t.Fatalf("named QUERY: %#x %s", code, msg)
	}
	expectRows(t, s, []string{"alpha|beta"}, "SELECT a, b FROM ks.nv WHERE k = 7")
	// PREPARE then EXECUTE with names of the bind variables.
	rc.send(4, 2, frame.OpPrepare, frame.AppendLongString(nil, "UPDATE ks.nv SET a = ? WHERE k = ?"))
	h, b := rc.recv()
	if h.Opcode != frame.OpResult {
		t.Fatalf("prepare: %s", h.Opcode)
	}
	cur := frame.NewCursor(b)
	cur.Int()
	id := cur.ShortBytes()
	exec := append(frame.AppendShortBytes(nil, id), named(map[string][]byte{"k": {0, 0, 0, 7}, "a": text("changed")}, []string{"k", "a"})...)
	rc.send(4, 3, frame.OpExecute, exec)
	if h, b := rc.recv(); h.Opcode != frame.OpResult {
		code, msg := errorOf(t, h, b)
		t.Fatalf("named EXECUTE: %#x %s", code, msg)
	}
	expectRows(t, s, []string{"changed|beta"}, "SELECT a, b FROM ks.nv WHERE k = 7")
	// An unknown name is an InvalidRequest.
	rc.send(4, 4, frame.OpQuery, append(frame.AppendLongString(nil, "SELECT * FROM ks.nv WHERE k = :k"), named(map[string][]byte{"nope": {0, 0, 0, 1}}, []string{"nope"})...))
	h, b = rc.recv()
	if code, _ := errorOf(t, h, b); code != 0x2200 {
		t.Fatalf("unknown name: %#x", code)
	}
	// Aliases name result columns.
	var total int64
	iter := s.Query("SELECT count(*) AS total FROM ks.nv").Iter()
	if cols := iter.Columns(); len(cols) != 1 || cols[0].Name != "total" {
		t.Fatalf("alias: %+v", cols)
	}
	iter.Scan(&total)
	if err := iter.Close(); err != nil || total != 1 {
		t.Fatalf("count alias: %d %v", total, err)
	}
}

// TestHandshakeFloodPerSource: one source holding many connections that
// never finish the handshake is cut off at the per-source limit (64), while
// other sources and completed connections are served.
func TestHandshakeFloodPerSource(t *testing.T) {
	n := startNode(t, "", func(c *cfgT) { c.Authenticator = "AllowAllAuthenticator" })
	addr := "127.0.0.1:" + strconv.Itoa(n.port)
	// A client that completed its handshake before the flood keeps working.
	s := n.session()
	var idle []net.Conn
	defer func() {
		for _, c := range idle {
			c.Close()
		}
	}()
	for i := 0; i < 64; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		idle = append(idle, c)
	}
	// The 65th handshaking connection from 127.0.0.1 is closed at once.
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		_, rerr := c.Read(make([]byte, 1))
		c.Close()
		if rerr == io.EOF {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("connection beyond the per-source limit was not closed: %v", rerr)
		}
	}
	// Another source is not affected.
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.9")}, Timeout: 5 * time.Second}
	other, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	rc := &rawConn{t: t, c: other, r: bufio.NewReader(other)}
	rc.send(4, 0, frame.OpStartup, startupBody(map[string]string{"CQL_VERSION": "3.0.0"}))
	if h, _ := rc.recv(); h.Opcode != frame.OpReady {
		t.Fatalf("other source: %s", h.Opcode)
	}
	other.Close()
	var key string
	if err := s.Query("SELECT key FROM system.local").Scan(&key); err != nil {
		t.Fatalf("established session during the flood: %v", err)
	}
}
