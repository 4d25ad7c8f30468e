package streaming

import (
	"net/netip"
	"sync"
	"time"
)

// Stream is one stream's progress: an operation pulling spans into this
// node ("in") or a peer pulling from it ("out").
type Stream struct {
	id          [16]byte
	owner       *progress
	now         func() time.Time
	Direction   string
	Description string
	Peers       []netip.Addr
	SpansTotal  int
	Started     time.Time

	mu        sync.Mutex
	spansDone int
	bytes     int64
	pairs     int64
	seen      time.Time
	ended     time.Time
	err       error
}

// StreamInfo is a snapshot of a Stream for netstats.
type StreamInfo struct {
	ID          [16]byte
	Direction   string
	Description string
	Peers       []netip.Addr
	SpansTotal  int
	SpansDone   int
	Bytes       int64
	Pairs       int64
	Started     time.Time
	Ended       time.Time // zero while running
	// Rate is bytes per second since Started (until Ended).
	Rate float64
	// Err is the failure of a failed stream, empty otherwise.
	Err string
}

func (st *Stream) add(bytes, pairs int64) {
	st.mu.Lock()
	st.bytes += bytes
	st.pairs += pairs
	st.seen = st.now()
	st.mu.Unlock()
}

func (st *Stream) touch(t time.Time) {
	st.mu.Lock()
	st.seen = t
	st.mu.Unlock()
}

func (st *Stream) lastSeen() time.Time {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.seen
}

func (st *Stream) spanDone() {
	st.mu.Lock()
	st.spansDone++
	st.mu.Unlock()
}

func (st *Stream) fail(err error) {
	st.mu.Lock()
	st.err = err
	st.mu.Unlock()
}

// finish moves an incoming stream from the active table to the recent list.
func (st *Stream) finish() {
	st.mu.Lock()
	st.ended = st.now()
	st.mu.Unlock()
	p := st.owner
	p.mu.Lock()
	delete(p.active, st.id)
	p.remember(st)
	p.mu.Unlock()
}

func (st *Stream) info() StreamInfo {
	st.mu.Lock()
	defer st.mu.Unlock()
	in := StreamInfo{ID: st.id, Direction: st.Direction, Description: st.Description, Peers: st.Peers,
		SpansTotal: st.SpansTotal, SpansDone: st.spansDone, Bytes: st.bytes, Pairs: st.pairs,
		Started: st.Started, Ended: st.ended}
	end := st.ended
	if end.IsZero() {
		end = st.now()
		if st.Direction == "out" {
			end = st.seen
		}
	}
	if d := end.Sub(st.Started).Seconds(); d > 0 {
		in.Rate = float64(st.bytes) / d
	}
	if st.err != nil {
		in.Err = st.err.Error()
	}
	return in
}
