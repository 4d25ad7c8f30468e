package paxos

import (
	"bytes"
	"math"
	"sync"
	"testing"
	"time"
)

func TestBallotOrder(t *testing.T) {
	ordered := []Ballot{{}, NewBallot(0, 1), NewBallot(1, 0), NewBallot(1, 7), NewBallot(1, math.MaxUint64),
		NewBallot(2, 0), NewBallot(math.MaxInt64, math.MaxUint64)}
	for i, a := range ordered {
		for j, b := range ordered {
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := a.Compare(b); got != want {
				t.Errorf("%v.Compare(%v) = %d, want %d", a, b, got, want)
			}
			if got := a.After(b); got != (want > 0) {
				t.Errorf("%v.After(%v) = %v", a, b, got)
			}
			// The encoding orders as the ballots do.
			if got := bytes.Compare(a.Marshal(), b.Marshal()); got != want {
				t.Errorf("bytes.Compare(%v, %v) = %d, want %d", a, b, got, want)
			}
		}
	}
}

func TestBallotBasics(t *testing.T) {
	if !(Ballot{}).IsZero() || NewBallot(0, 1).IsZero() {
		t.Error("IsZero wrong")
	}
	b := NewBallot(1767225600123456, 0xdeadbeef)
	if b.Micros() != 1767225600123456 || b.Tiebreak() != 0xdeadbeef {
		t.Errorf("fields: %d %x", b.Micros(), b.Tiebreak())
	}
	if got, want := b.String(), "1767225600123456:00000000deadbeef"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	if NewBallot(-5, 1) != NewBallot(0, 1) {
		t.Error("negative micros not clamped to 0")
	}
	var d Ballot
	if err := d.Unmarshal(b.Marshal()); err != nil || d != b {
		t.Errorf("round trip: %v %v", d, err)
	}
	if len(b.Marshal()) != BallotSize {
		t.Errorf("Marshal is %d bytes", len(b.Marshal()))
	}
}

func TestBallotUnmarshalErrors(t *testing.T) {
	for _, p := range [][]byte{nil, make([]byte, 15), make([]byte, 17),
		{0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}} {
		b := NewBallot(9, 9)
		if err := b.Unmarshal(p); err == nil {
			t.Errorf("Unmarshal(%x) succeeded", p)
		}
		if b != NewBallot(9, 9) {
			t.Errorf("failed Unmarshal(%x) changed the ballot", p)
		}
	}
}

func FuzzDecodeBallot(f *testing.F) {
	f.Add(NewBallot(1767225600123456, 42).Marshal())
	f.Add([]byte{0xff})
	f.Fuzz(func(t *testing.T, p []byte) {
		var b Ballot
		if err := b.Unmarshal(p); err != nil {
			return
		}
		if !bytes.Equal(b.Marshal(), p) {
			t.Fatalf("%x decodes to %v which encodes to %x", p, b, b.Marshal())
		}
	})
}

// stepClock is a settable time source for generators.
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *stepClock) set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

func TestBallotGenerator(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clk := &stepClock{t: start}
	g := NewBallotGenerator(clk.now, 7)

	b1 := g.Next()
	if b1.Micros() != start.UnixMicro() || b1.Tiebreak() != 7 {
		t.Fatalf("first ballot %v, want micros %d tiebreak 7", b1, start.UnixMicro())
	}
	// Same clock reading: one microsecond later.
	if b2 := g.Next(); b2.Micros() != b1.Micros()+1 {
		t.Fatalf("second ballot %v, want micros %d", b2, b1.Micros()+1)
	}
	// Clock going backwards: still after the last.
	clk.set(start.Add(-time.Hour))
	if b3 := g.Next(); b3.Micros() != b1.Micros()+2 {
		t.Fatalf("ballot after clock went back %v", b3)
	}
	// Clock ahead: the clock wins.
	clk.set(start.Add(time.Second))
	if b4 := g.Next(); b4.Micros() != start.Add(time.Second).UnixMicro() {
		t.Fatalf("ballot with clock ahead %v", b4)
	}
	// An observed ballot far ahead (another coordinator's clock): after it.
	seen := NewBallot(start.Add(time.Hour).UnixMicro(), math.MaxUint64)
	g.Observe(seen)
	if b5 := g.Next(); !b5.After(seen) || b5.Micros() != seen.Micros()+1 {
		t.Fatalf("ballot after Observe(%v) = %v", seen, b5)
	}
	// Observing an older ballot changes nothing.
	g.Observe(NewBallot(1, 1))
	if b6 := g.Next(); b6.Micros() != seen.Micros()+2 {
		t.Fatalf("ballot after observing an old one %v", b6)
	}
}

func TestBallotGeneratorConcurrent(t *testing.T) {
	clk := &stepClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	g := NewBallotGenerator(clk.now, 1)
	const workers, each = 8, 500
	out := make([][]Ballot, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				if i%50 == 0 {
					g.Observe(NewBallot(clk.now().UnixMicro()+int64(i), 9))
				}
				out[w] = append(out[w], g.Next())
			}
		})
	}
	wg.Wait()
	seen := map[Ballot]bool{}
	for _, bs := range out {
		for i, b := range bs {
			if seen[b] {
				t.Fatalf("ballot %v returned twice", b)
			}
			seen[b] = true
			if i > 0 && !b.After(bs[i-1]) {
				t.Fatalf("ballots of one caller not increasing: %v then %v", bs[i-1], b)
			}
		}
	}
}

func TestNewTiebreak(t *testing.T) {
	a, b := NewTiebreak([]byte("host-a"), 1), NewTiebreak([]byte("host-b"), 1)
	if a>>32 == b>>32 {
		t.Errorf("nodes share the high half: %x %x", a, b)
	}
	if c := NewTiebreak([]byte("host-a"), 2); c>>32 != a>>32 || c == a || uint32(c) != 2 {
		t.Errorf("same node, other random: %x vs %x", c, a)
	}
}
