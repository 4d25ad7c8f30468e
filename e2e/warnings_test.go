package e2e

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/gocql/gocql"

	"github.com/ringdb/ringdb/internal/protocol/frame"
)

// batchBody encodes a LOGGED BATCH of n inserts into warn.t, each with the
// text value v, at consistency ONE.
func batchBody(n int, v string) []byte {
	b := []byte{0} // LOGGED
	b = frame.AppendShort(b, uint16(n))
	for i := range n {
		b = append(b, 0) // a query string, not a prepared id
		b = frame.AppendLongString(b, "INSERT INTO warn.t (k, v) VALUES (?, ?)")
		b = frame.AppendShort(b, 2)
		b = frame.AppendBytes(b, []byte{0, 0, 0, byte(i)})
		b = frame.AppendBytes(b, []byte(v))
	}
	b = frame.AppendConsistency(b, frame.One)
	return append(b, 0) // no flags
}

// warningFrames counts the response frames that carry the warning flag.
type warningFrames struct {
	mu sync.Mutex
	n  int
}

func (w *warningFrames) ObserveFrameHeader(_ context.Context, h gocql.ObservedFrameHeader) {
	if h.Flags&frame.FlagWarning != 0 {
		w.mu.Lock()
		w.n++
		w.mu.Unlock()
	}
}

func (w *warningFrames) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

// A batch over batch_size_warn_threshold (5 KiB) succeeds with a warning:
// its RESULT carries the v4 warning flag (0x08) and the [string list] of
// warnings before the body, and a driver parses it.
func TestBatchSizeWarningReachesClient(t *testing.T) {
	n := startNode(t, "", func(c *cfgT) { c.Authenticator = "AllowAllAuthenticator" })
	s := n.session()
	mustExec(t, s, "CREATE KEYSPACE warn WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
	mustExec(t, s, "CREATE TABLE warn.t (k int PRIMARY KEY, v text)")
	big := strings.Repeat("x", 1024)

	rc := dialRaw(t, n)
	rc.send(4, 0, frame.OpStartup, startupBody(map[string]string{"CQL_VERSION": "3.0.0"}))
	if h, _ := rc.recv(); h.Opcode != frame.OpReady {
		t.Fatalf("startup answered %s", h.Opcode)
	}
	rc.send(4, 3, frame.OpBatch, batchBody(8, big))
	h, body := rc.recv()
	if h.Opcode != frame.OpResult || h.Stream != 3 {
		code, msg := errorOf(t, h, body)
		t.Fatalf("large batch failed: %#x %s", code, msg)
	}
	if h.Flags&frame.FlagWarning == 0 {
		t.Fatalf("flags %#x: a batch of over 8 KiB carries no warning", h.Flags)
	}
	c := frame.NewCursor(body)
	warnings := c.StrList()
	if len(warnings) == 0 || !strings.Contains(warnings[0], "warn.t") {
		t.Fatalf("warnings %q, want one naming warn.t", warnings)
	}
	if k := c.Int(); k != frame.ResultVoid || c.Remaining() != 0 || c.Err() != nil {
		t.Fatalf("after the warnings: result kind %d, %d bytes left, err %v", k, c.Remaining(), c.Err())
	}
	t.Logf("warning: %s", warnings[0])

	rc.send(4, 4, frame.OpBatch, batchBody(2, "small"))
	if h, body := rc.recv(); h.Opcode != frame.OpResult || h.Flags&frame.FlagWarning != 0 {
		t.Fatalf("small batch answered %s with flags %#x (%q)", h.Opcode, h.Flags, body)
	}

	// gocql reads the flagged response (the warnings come before the body
	// it parses).
	obs := &warningFrames{}
	cfg := n.cluster()
	cfg.FrameHeaderObserver = obs
	gs, err := cfg.CreateSession()
	if err != nil {
		t.Fatal(err)
	}
	defer gs.Close()
	b := gs.NewBatch(gocql.LoggedBatch)
	for i := range 8 {
		b.Query("INSERT INTO warn.t (k, v) VALUES (?, ?)", 100+i, big)
	}
	if err := gs.ExecuteBatch(b); err != nil {
		t.Fatalf("large batch through gocql: %v", err)
	}
	if obs.count() == 0 {
		t.Fatal("gocql saw no response with the warning flag")
	}
	var v string
	if err := gs.Query("SELECT v FROM warn.t WHERE k = 107").Scan(&v); err != nil || v != big {
		t.Fatalf("batch not applied: %d bytes, %v", len(v), err)
	}
}
