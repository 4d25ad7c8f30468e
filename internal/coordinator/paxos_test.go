package coordinator

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ringdb/ringdb/internal/consistency"
	"github.com/ringdb/ringdb/internal/cqlerr"
	"github.com/ringdb/ringdb/internal/paxos"
	"github.com/ringdb/ringdb/internal/storage"
)

// cas runs a compare-and-set of key k through coordinator i: when the
// value read at QUORUM is expect, it writes next.
func (mc *memCluster) cas(i int, k, expect, next string) (bool, string, error) {
	var seen string
	applied, err := mc.coords[i].CAS(context.Background(), mc.table, mc.mutation(k, "", 0).Token, []byte(k),
		consistency.Serial, consistency.Quorum, func(ctx context.Context, ts int64) ([]*storage.Mutation, bool, error) {
			cur, err := mc.readV(ctx, i, k, consistency.Quorum)
			if err != nil {
				return nil, false, err
			}
			seen = cur
			if cur != expect {
				return nil, false, nil
			}
			return []*storage.Mutation{mc.mutation(k, next, ts)}, true, nil
		})
	return applied, seen, err
}

// IF NOT EXISTS through two different coordinators of an RF=3 keyspace:
// the first applies, the second sees its value and does not (the review
// found both applied with a lock per coordinator). The value is on every
// replica after a QUORUM commit and a read through the third.
func TestCASAcrossCoordinators(t *testing.T) {
	mc := newMemCluster(t, 3, 3)
	if ok, _, err := mc.cas(0, "k", "", "first"); err != nil || !ok {
		t.Fatalf("first: %v %v", ok, err)
	}
	ok, seen, err := mc.cas(1, "k", "", "second")
	if err != nil || ok || seen != "first" {
		t.Fatalf("second: applied %v, saw %q, %v", ok, seen, err)
	}
	if v, err := mc.readV(context.Background(), 2, "k", consistency.Quorum); err != nil || v != "first" {
		t.Fatalf("read: %q %v", v, err)
	}
}

// Concurrent increments of one register through three coordinators by
// compare-and-set: no increment is lost or doubled. The final value is
// the number of applied CASes (plus at most the ones whose outcome the
// coordinator could not know).
func TestCASConcurrentIncrements(t *testing.T) {
	mc := newMemCluster(t, 3, 3)
	if ok, _, err := mc.cas(0, "r", "", "0"); err != nil || !ok {
		t.Fatalf("init: %v %v", ok, err)
	}
	var mu sync.Mutex
	applied, unknown := 0, 0
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Go(func() {
			for range 10 {
				for attempt := 0; attempt < 50; attempt++ {
					cur, err := mc.readV(context.Background(), i, "r", consistency.Quorum)
					if err != nil {
						continue
					}
					n, _ := strconv.Atoi(cur)
					ok, _, err := mc.cas(i, "r", cur, strconv.Itoa(n+1))
					mu.Lock()
					if ok {
						applied++
					} else if err != nil {
						var ce *cqlerr.Error
						if errors.As(err, &ce) && ce.Code == cqlerr.WriteTimeout {
							unknown++
						}
					}
					mu.Unlock()
					if ok || err != nil {
						break
					}
				}
			}
		})
	}
	wg.Wait()
	v, err := mc.readV(context.Background(), 0, "r", consistency.All)
	if err != nil {
		t.Fatal(err)
	}
	final, _ := strconv.Atoi(v)
	if final < applied || final > applied+unknown {
		t.Fatalf("final %d with %d applied and %d unknown increments", final, applied, unknown)
	}
	if applied < 20 {
		t.Fatalf("only %d of 30 increments applied", applied)
	}
}

// With one replica of three down a CAS still completes (a quorum is
// alive); with two down it is Unavailable before any round.
func TestCASQuorumOfLiveReplicas(t *testing.T) {
	mc := newMemCluster(t, 3, 3)
	mc.net.mu.Lock()
	mc.net.down[mc.addrs[2]] = true
	mc.net.mu.Unlock()
	mc.topo.dead.Store(mc.addrs[2], time.Now())
	if ok, _, err := mc.cas(0, "k", "", "v"); err != nil || !ok {
		t.Fatalf("with one replica down: %v %v", ok, err)
	}
	mc.topo.dead.Store(mc.addrs[1], time.Now())
	_, _, err := mc.cas(0, "k", "v", "w")
	var ce *cqlerr.Error
	if !errors.As(err, &ce) || ce.Code != cqlerr.Unavailable || ce.Required != 2 || ce.Alive != 1 {
		t.Fatalf("with two replicas down: %v", err)
	}
}

// The PAXOS_* request framing refuses bad key lengths.
func TestDecodePaxos(t *testing.T) {
	key, body, err := decodePaxos(encodePaxos("table-and-key", []byte{1, 2}))
	if err != nil || key != "table-and-key" || string(body) != "\x01\x02" {
		t.Fatalf("round trip: %q %v %v", key, body, err)
	}
	for _, p := range [][]byte{nil, {0xff}, {5, 'a'}, {0xff, 0xff, 0xff, 0xff, 0x0f}} {
		if _, _, err := decodePaxos(p); err == nil {
			t.Fatalf("%x decoded", p)
		}
	}
}

// FuzzDecodePaxosRequest: whatever a peer sends as a PAXOS_* request, the
// framing and the ballot and proposal decoders answer an error or a value,
// never a panic, and never allocate beyond the input.
func FuzzDecodePaxosRequest(f *testing.F) {
	f.Add(encodePaxos("k", paxos.NewBallot(1, 2).Marshal()))
	f.Add(encodePaxos("key", paxos.Proposal{Ballot: paxos.NewBallot(3, 4), Update: []byte("u")}.Marshal()))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, p []byte) {
		key, body, err := decodePaxos(p)
		if err != nil {
			return
		}
		if len(key)+len(body) > len(p) {
			t.Fatalf("key %d and body %d bytes from %d", len(key), len(body), len(p))
		}
		var b paxos.Ballot
		_ = b.Unmarshal(body)
		var prop paxos.Proposal
		if prop.Unmarshal(body) == nil && len(prop.Update) > len(body) {
			t.Fatalf("update of %d bytes from a %d-byte body", len(prop.Update), len(body))
		}
	})
}
