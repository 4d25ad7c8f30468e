package coordinator

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/ringdb/ringdb/internal/messaging"
	"github.com/ringdb/ringdb/internal/storage"
)

// registerHandlers serves the replica side of the coordinator's verbs:
// mutations and hints, data and digest reads, range reads, the batchlog
// and truncation.
func (c *Coordinator) registerHandlers() {
	m := c.o.Messenger
	if m == nil {
		return
	}
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
	c.registerBatchlogHandlers()
	m.Handle(messaging.VerbTruncate, func(_ context.Context, _ netip.Addr, payload []byte) ([]byte, error) {
		if len(payload) != 16 {
			return nil, fmt.Errorf("bad truncate payload")
		}
		var tid storage.TableID
		copy(tid[:], payload)
		return nil, c.o.Engine.TruncateTable(tid, c.now())
	})
}
