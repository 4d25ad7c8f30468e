package coordinator

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/ringdb/ringdb/internal/messaging"
	"github.com/ringdb/ringdb/internal/storage"
)

// registerHandlers serves the replica side of the coordinator's verbs:
// mutations and hints, data and digest reads, range reads, the batchlog
// and truncation.
func (c *Coordinator) registerHandlers() {
	if c.o.Messenger == nil {
		return
	}
	m := membersOnly{c}
	apply := func(_ context.Context, _ netip.Addr, payload []byte) ([]byte, error) {
		ms, err := decodeMutations(payload)
		if err != nil {
			return nil, err
		}
		for _, mu := range ms {
			if _, err := c.keyspaceOf(mu.Table); err != nil {
				return nil, fmt.Errorf("mutation for unknown table %x: schema not yet in agreement", mu.Table[:])
			}
		}
		return nil, c.o.Engine.Apply(ms)
	}
	m.Handle(messaging.VerbMutation, apply)
	m.Handle(messaging.VerbHint, apply)
	read := func(_ context.Context, _ netip.Addr, payload []byte) ([]byte, error) {
		cmd, err := decodeRead(payload)
		if err != nil {
			return nil, err
		}
		mu, err := c.o.Engine.ReadPartitionRawQuery(cmd.table, cmd.token, cmd.key, cmd.q)
		if err != nil {
			return nil, err
		}
		if cmd.digest {
			return digestOf(mu), nil
		}
		if mu == nil {
			return encodeMutations(nil), nil
		}
		return encodeMutations([]*storage.Mutation{mu}), nil
	}
	m.Handle(messaging.VerbRead, read)
	m.Handle(messaging.VerbReadDigest, read)
	m.Handle(messaging.VerbRangeRead, func(_ context.Context, _ netip.Addr, payload []byte) ([]byte, error) {
		cmd, err := decodeRange(payload)
		if err != nil {
			return nil, err
		}
		if cmd.maxPartitions <= 0 || cmd.maxPartitions > 1000 {
			cmd.maxPartitions = rangePage
		}
		ms, err := c.localRange(cmd)
		if err != nil {
			return nil, err
		}
		return encodeMutations(ms), nil
	})
	c.registerBatchlogHandlers(m)
	if c.acceptor != nil {
		c.registerPaxosHandlers(m)
	}
	m.Handle(messaging.VerbTruncate, func(_ context.Context, _ netip.Addr, payload []byte) ([]byte, error) {
		if len(payload) != 16 {
			return nil, fmt.Errorf("bad truncate payload")
		}
		var tid storage.TableID
		copy(tid[:], payload)
		return nil, c.o.Engine.TruncateTable(tid, c.now())
	})
}

// membersOnly registers replica handlers that refuse peers the cluster
// has not admitted: a certificate the CA signed for a node that never
// joined cannot write, read or truncate a replica's data.
type membersOnly struct{ c *Coordinator }

// Handle registers h for v behind the admission check.
func (m membersOnly) Handle(v messaging.Verb, h messaging.Handler) {
	c := m.c
	c.o.Messenger.Handle(v, func(ctx context.Context, from netip.Addr, payload []byte) ([]byte, error) {
		if c.o.Admitted != nil && !c.o.Admitted(from) {
			c.refuse(from, v)
			return nil, fmt.Errorf("%s refused: %s is not a member of this cluster", v, from)
		}
		return h(ctx, from, payload)
	})
}

// refusalReport is what the coordinator has not yet reported of one
// peer's refused verbs.
type refusalReport struct {
	last    time.Time
	pending int
}

// maxRefusalPeers bounds the peers whose refusals are tracked between
// reports.
const maxRefusalPeers = 4096

// refuse counts a refused replica verb and reports it to OnRefused at
// most once per peer per RefusalReportInterval.
func (c *Coordinator) refuse(from netip.Addr, v messaging.Verb) {
	c.refusedVerbs.Add(1)
	if c.o.OnRefused == nil {
		return
	}
	now := c.now()
	c.refusalMu.Lock()
	if c.refusals == nil || len(c.refusals) >= maxRefusalPeers {
		c.refusals = map[netip.Addr]*refusalReport{}
	}
	r := c.refusals[from]
	if r == nil {
		r = &refusalReport{}
		c.refusals[from] = r
	}
	r.pending++
	report := r.last.IsZero() || now.Sub(r.last) >= c.o.RefusalReportInterval
	n := r.pending
	if report {
		r.last, r.pending = now, 0
	}
	c.refusalMu.Unlock()
	if report {
		c.o.OnRefused(from, v, n)
	}
}

// RefusedVerbs returns how many replica verbs were refused to peers that
// are not admitted members.
func (c *Coordinator) RefusedVerbs() int64 { return c.refusedVerbs.Load() }
