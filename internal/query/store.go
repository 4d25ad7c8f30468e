package query

import (
	"context"
	"time"

	"github.com/ringdb/ringdb/internal/consistency"
	"github.com/ringdb/ringdb/internal/schema"
	"github.com/ringdb/ringdb/internal/storage"
)

// Write types reported in WriteTimeout errors.
const (
	WriteSimple        = consistency.WriteSimple
	WriteBatch         = consistency.WriteBatch
	WriteUnloggedBatch = consistency.WriteUnloggedBatch
	WriteCAS           = consistency.WriteCAS
)

// RowsFunc iterates one partition's rows (as storage.ReadPartition does).
// It is defined by storage so that a Store (the coordinator) implements
// this package's interface without importing it.
type RowsFunc = storage.RowsFunc

// Store is where the processor reads and writes table data: the local
// engine on a single node, the coordinator (replication at a consistency
// level) in a cluster. Errors are *cqlerr.Error where the client must see
// a specific code (Unavailable, WriteTimeout, ReadTimeout).
type Store interface {
	// Apply writes mutations (of any tables) at consistency cl; all of
	// them or none are applied on each replica.
	Apply(ctx context.Context, muts []*storage.Mutation, cl consistency.Level, writeType string) error
	// ReadPartition reads one partition's rows per q at consistency cl.
	ReadPartition(ctx context.Context, t *schema.Table, token int64, key []byte, q storage.PartitionQuery, cl consistency.Level, fn func(*storage.Row) bool) error
	// ScanPartitions calls fn for each partition after start up to and
	// including endToken, in token order, with a function reading that
	// partition's rows per q. fn returns false to stop.
	ScanPartitions(ctx context.Context, t *schema.Table, start storage.PartitionPos, endToken int64, q storage.PartitionQuery, cl consistency.Level, fn func(token int64, key []byte, rows RowsFunc) bool) error
	// Truncate removes all data of a table (on every replica).
	Truncate(ctx context.Context, t *schema.Table) error
}

// CASStore is a Store that runs conditional statements with Paxos across
// a partition's replicas (the coordinator). CAS calls check once it holds
// the partition (a quorum's promise): check reads at the serial
// consistency's quorum, evaluates the conditions and returns the
// mutations stamped at ts when they hold; CAS reports whether they were
// applied. serial is SERIAL or LOCAL_SERIAL, commit the statement's
// consistency. A Store without CAS serialises conditional statements
// under a lock on this node (a single replica).
type CASStore interface {
	Store
	CAS(ctx context.Context, t *schema.Table, token int64, key []byte, serial, commit consistency.Level,
		check func(ctx context.Context, ts int64) ([]*storage.Mutation, bool, error)) (bool, error)
}

// LocalStore is the single-node Store: it reads and writes the local
// engine and ignores consistency levels (one replica satisfies all).
type LocalStore struct{ Engine *storage.Engine }

// Apply implements Store.
func (l LocalStore) Apply(_ context.Context, muts []*storage.Mutation, _ consistency.Level, _ string) error {
	return l.Engine.Apply(muts)
}

// ReadPartition implements Store.
func (l LocalStore) ReadPartition(_ context.Context, t *schema.Table, token int64, key []byte, q storage.PartitionQuery, _ consistency.Level, fn func(*storage.Row) bool) error {
	return l.Engine.ReadPartition(storage.TableID(t.ID), token, key, q, fn)
}

// ScanPartitions implements Store.
func (l LocalStore) ScanPartitions(ctx context.Context, t *schema.Table, start storage.PartitionPos, endToken int64, q storage.PartitionQuery, _ consistency.Level, fn func(int64, []byte, RowsFunc) bool) error {
	tid := storage.TableID(t.ID)
	return l.Engine.ScanPartitions(tid, start, endToken, func(token int64, key []byte) bool {
		if ctx.Err() != nil {
			return false
		}
		k := append([]byte(nil), key...)
		return fn(token, k, func(rf func(*storage.Row) bool) error {
			return l.Engine.ReadPartition(tid, token, k, q, rf)
		})
	})
}

// Truncate implements Store.
func (l LocalStore) Truncate(_ context.Context, t *schema.Table) error {
	return l.Engine.TruncateTable(storage.TableID(t.ID), time.Now())
}
