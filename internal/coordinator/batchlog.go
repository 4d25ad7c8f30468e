package coordinator

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/ringdb/ringdb/internal/consistency"
	"github.com/ringdb/ringdb/internal/messaging"
	"github.com/ringdb/ringdb/internal/storage"
)

// The batchlog makes logged batches atomic across replicas, as Cassandra's:
// before applying a batch whose partitions live on different replicas, the
// coordinator stores the whole batch durably on itself and on up to two
// other live nodes of its DC. Once every part is applied it removes those
// copies. A copy still present after twice the write timeout means the
// coordinator failed part-way: whichever node holds it replays the batch
// (writes are idempotent: same timestamps), so eventually all of it is
// applied or none was acknowledged.

const batchlogPrefix = "batchlog/"

// batchlogReplayAge is how old an entry must be before it is replayed.
func (c *Coordinator) batchlogReplayAge() time.Duration { return 2 * c.o.WriteTimeout }

func encodeBatch(created time.Time, muts []*storage.Mutation) []byte {
	b := []byte{wireVersion}
	b = binary.BigEndian.AppendUint64(b, uint64(created.UnixMicro()))
	return append(b, encodeMutations(muts)...)
}

func decodeBatch(b []byte) (time.Time, []*storage.Mutation, error) {
	if len(b) < 9 || b[0] != wireVersion {
		return time.Time{}, nil, fmt.Errorf("coordinator: bad batchlog entry")
	}
	created := time.UnixMicro(int64(binary.BigEndian.Uint64(b[1:9])))
	muts, err := decodeMutations(b[9:])
	return created, muts, err
}

// batchPayload is what VerbBatchStore carries: the 16-byte id then the
// encoded batch.
func batchPayload(id [16]byte, entry []byte) []byte { return append(id[:], entry...) }

// batchlogTargets picks up to two live nodes of the local DC, other than
// this one, to hold a copy of the batch.
func (c *Coordinator) batchlogTargets() []netip.Addr {
	var out []netip.Addr
	for _, ep := range c.o.Topology.Ring().Endpoints() {
		if ep == c.self || !c.o.Topology.IsAlive(ep) || c.dcOf(ep) != c.o.LocalDC {
			continue
		}
		out = append(out, ep)
		if len(out) == 2 {
			break
		}
	}
	return out
}

// storeBatch writes the batch to the local batchlog and to the remote
// holders (best effort within the write timeout).
func (c *Coordinator) storeBatch(ctx context.Context, muts []*storage.Mutation) ([16]byte, []netip.Addr, error) {
	var id [16]byte
	_, _ = rand.Read(id[:])
	entry := encodeBatch(c.now(), muts)
	if err := c.o.Engine.SetMeta(batchlogPrefix+hex.EncodeToString(id[:]), entry); err != nil {
		return id, nil, err
	}
	holders := c.batchlogTargets()
	if len(holders) == 0 {
		return id, nil, nil
	}
	ctx, cancel := c.withTimeout(ctx, c.o.WriteTimeout)
	defer cancel()
	payload := batchPayload(id, entry)
	done := make(chan netip.Addr, len(holders))
	for _, ep := range holders {
		ok := c.goOwned(func() {
			if _, err := c.o.Messenger.Request(ctx, ep, messaging.VerbBatchStore, payload); err != nil {
				c.log.Debug("batchlog copy failed", "holder", ep.String(), "err", err)
				ep = netip.Addr{}
			}
			done <- ep
		})
		if !ok {
			done <- netip.Addr{}
		}
	}
	var stored []netip.Addr
	for range holders {
		if ep := <-done; ep.IsValid() {
			stored = append(stored, ep)
		}
	}
	return id, stored, nil
}

// removeBatch deletes the batch's copies once every part is applied.
func (c *Coordinator) removeBatch(id [16]byte, holders []netip.Addr) {
	if err := c.o.Engine.DeleteMeta(batchlogPrefix + hex.EncodeToString(id[:])); err != nil {
		c.log.Error("removing batchlog entry failed", "err", err)
	}
	for _, ep := range holders {
		_ = c.o.Messenger.Send(ep, messaging.VerbBatchRemove, id[:])
	}
}

func (c *Coordinator) registerBatchlogHandlers(m membersOnly) {
	m.Handle(messaging.VerbBatchStore, func(_ context.Context, _ netip.Addr, payload []byte) ([]byte, error) {
		if len(payload) < 16 {
			return nil, fmt.Errorf("bad batch store payload")
		}
		if _, _, err := decodeBatch(payload[16:]); err != nil {
			return nil, err
		}
		return nil, c.o.Engine.SetMeta(batchlogPrefix+hex.EncodeToString(payload[:16]), payload[16:])
	})
	m.Handle(messaging.VerbBatchRemove, func(_ context.Context, _ netip.Addr, payload []byte) ([]byte, error) {
		if len(payload) != 16 {
			return nil, fmt.Errorf("bad batch remove payload")
		}
		return nil, c.o.Engine.DeleteMeta(batchlogPrefix + hex.EncodeToString(payload))
	})
}

// replayBatchlog re-applies batches whose coordinator did not remove them
// in time, at consistency ONE (down replicas get hints), then deletes them.
func (c *Coordinator) replayBatchlog() {
	cutoff := c.now().Add(-c.batchlogReplayAge())
	type entry struct {
		key  string
		muts []*storage.Mutation
	}
	var due []entry
	err := c.o.Engine.ListMeta(batchlogPrefix, func(key string, value []byte) bool {
		created, muts, err := decodeBatch(value)
		if err != nil {
			c.log.Error("dropping undecodable batchlog entry", "key", key, "err", err)
			due = append(due, entry{key: key})
			return true
		}
		if created.Before(cutoff) {
			due = append(due, entry{key: key, muts: muts})
		}
		return true
	})
	if err != nil {
		c.log.Error("listing batchlog failed", "err", err)
		return
	}
	for _, e := range due {
		if len(e.muts) > 0 {
			groups, err := c.groupWrites(e.muts)
			if err == nil {
				for _, g := range groups {
					if err = c.write(c.ctx, g, consistency.One, consistency.WriteBatchLog); err != nil {
						break
					}
				}
			}
			if err != nil {
				c.log.Warn("batchlog replay failed; will retry", "entry", strings.TrimPrefix(e.key, batchlogPrefix), "err", err)
				continue
			}
			c.log.Info("replayed a logged batch left by a failed coordinator", "entry", strings.TrimPrefix(e.key, batchlogPrefix), "mutations", len(e.muts))
			c.batchReplays.Add(1)
		}
		if err := c.o.Engine.DeleteMeta(e.key); err != nil {
			c.log.Error("deleting replayed batchlog entry failed", "err", err)
		}
	}
}

// BatchesReplayed returns how many batchlog entries this node replayed.
func (c *Coordinator) BatchesReplayed() int64 { return c.batchReplays.Load() }

// BatchesLogged returns how many logged batches this coordinator completed
// through the batchlog.
func (c *Coordinator) BatchesLogged() int64 { return c.batchesLogged.Load() }
