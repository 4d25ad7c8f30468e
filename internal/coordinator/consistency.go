package coordinator

import (
	"net/netip"
	"strconv"

	"github.com/ringdb/ringdb/internal/consistency"
	"github.com/ringdb/ringdb/internal/cqlerr"
)

// blockFor returns how many replica answers cl needs, per DC for
// EACH_QUORUM (perDC non-nil), else in total (local DC only for LOCAL_*).
// rfByDC is the replication factor of each DC the keyspace uses; for
// SimpleStrategy it has the single key "".
func blockFor(cl consistency.Level, rfByDC map[string]int, localDC string) (int, map[string]int, error) {
	total := 0
	for _, rf := range rfByDC {
		total += rf
	}
	quorum := func(n int) int { return n/2 + 1 }
	localRF := rfByDC[localDC]
	if _, simple := rfByDC[""]; simple {
		localRF = total
	}
	switch cl {
	case consistency.Any, consistency.One, consistency.LocalOne:
		return 1, nil, nil
	case consistency.Two:
		return 2, nil, nil
	case consistency.Three:
		return 3, nil, nil
	case consistency.Quorum, consistency.Serial:
		return quorum(total), nil, nil
	case consistency.All:
		return total, nil, nil
	case consistency.LocalQuorum, consistency.LocalSerial:
		return quorum(localRF), nil, nil
	case consistency.EachQuorum:
		per := map[string]int{}
		n := 0
		for dc, rf := range rfByDC {
			per[dc] = quorum(rf)
			n += per[dc]
		}
		return n, per, nil
	}
	return 0, nil, cqlerr.Invalidf("Invalid consistency level %d", cl)
}

// tracker counts replica answers against a consistency level. It is a
// plain value: the coordinator feeds it and asks whether it is satisfied.
type tracker struct {
	cl       consistency.Level
	block    int
	perDC    map[string]int // EACH_QUORUM: answers needed per DC
	gotDC    map[string]int
	localDC  string
	dcOf     func(netip.Addr) string
	received int
}

func newTracker(cl consistency.Level, block int, perDC map[string]int, localDC string, dcOf func(netip.Addr) string) *tracker {
	t := &tracker{cl: cl, block: block, perDC: perDC, localDC: localDC, dcOf: dcOf}
	if perDC != nil {
		t.gotDC = map[string]int{}
	}
	return t
}

// counts reports whether an answer from ep counts toward cl.
func (t *tracker) counts(ep netip.Addr) bool {
	if t.cl.IsLocal() && t.dcOf(ep) != t.localDC {
		return false
	}
	if t.perDC != nil {
		_, ok := t.perDC[t.dcOf(ep)]
		return ok
	}
	return true
}

// ack records an answer from ep.
func (t *tracker) ack(ep netip.Addr) {
	if !t.counts(ep) {
		return
	}
	t.received++
	if t.perDC != nil {
		t.gotDC[t.dcOf(ep)]++
	}
}

// done reports whether enough answers arrived.
func (t *tracker) done() bool {
	if t.perDC != nil {
		for dc, need := range t.perDC {
			if t.gotDC[dc] < need {
				return false
			}
		}
		return true
	}
	return t.received >= t.block
}

// available checks that enough live replicas exist before any work
// (Cassandra's assureSufficientLiveNodes), returning Unavailable.
func (t *tracker) available(live []netip.Addr) error {
	if t.perDC != nil {
		got := map[string]int{}
		for _, ep := range live {
			got[t.dcOf(ep)]++
		}
		for dc, need := range t.perDC {
			if got[dc] < need {
				return unavailable(t.cl, need, got[dc])
			}
		}
		return nil
	}
	n := 0
	for _, ep := range live {
		if t.counts(ep) {
			n++
		}
	}
	if n < t.block {
		return unavailable(t.cl, t.block, n)
	}
	return nil
}

func unavailable(cl consistency.Level, required, alive int) error {
	return &cqlerr.Error{Code: cqlerr.Unavailable, Consistency: uint16(cl), Required: int32(required), Alive: int32(alive),
		Message: "Cannot achieve consistency level " + cl.String()}
}

func writeTimeout(cl consistency.Level, received, block int, writeType string) error {
	return &cqlerr.Error{Code: cqlerr.WriteTimeout, Consistency: uint16(cl), Required: int32(block), Alive: int32(received), WriteType: writeType,
		Message: "Operation timed out - received only " + strconv.Itoa(received) + " responses."}
}

func readTimeout(cl consistency.Level, received, block int, dataPresent bool) error {
	return &cqlerr.Error{Code: cqlerr.ReadTimeout, Consistency: uint16(cl), Required: int32(block), Alive: int32(received), DataPresent: dataPresent,
		Message: "Operation timed out - received only " + strconv.Itoa(received) + " responses."}
}
