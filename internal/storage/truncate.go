package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Truncation records (Cassandra's system.local truncated_at), one per
// truncated table, outside every table's key range:
//
//	truncation: 't' | table id (16) -> truncation time (8, unix microseconds, big-endian)
//
// DropTable removes a table's data with a range deletion, not with
// timestamped tombstones, so a mutation written before a TRUNCATE that
// arrives after it (a hint replayed late, a slow replica's read repair)
// would bring the data back. The cluster layer prevents that as Cassandra
// does: it records the truncation with TruncateTable and drops, on the
// replica that applies them, hints created before TruncatedAt.

// appendTruncationKey appends 't' | table.
func appendTruncationKey(dst []byte, table TableID) []byte {
	return append(append(dst, prefixTruncation), table[:]...)
}

// TruncateTable durably records that table was truncated at at (the
// coordinator's TRUNCATE time, microsecond precision), then deletes all of
// its data as DropTable does. A record older than one already stored does
// not replace it. Both writes are synced.
func (e *Engine) TruncateTable(table TableID, at time.Time) error {
	e.truncMu.Lock()
	prev, ok, err := e.TruncatedAt(table)
	if err == nil && (!ok || at.After(prev)) {
		val := binary.BigEndian.AppendUint64(nil, uint64(at.UnixMicro()))
		err = e.durable(e.db.Set(appendTruncationKey(nil, table), val, pebble.Sync))
	}
	e.truncMu.Unlock()
	if err != nil {
		return err
	}
	return e.DropTable(table)
}

// TruncatedAt returns the time of the table's latest truncation recorded
// by TruncateTable, and whether there is one. Hints (and any other
// mutation whose creation time is known) created before it must not be
// applied to the table.
func (e *Engine) TruncatedAt(table TableID) (time.Time, bool, error) {
	v, closer, err := e.db.Get(appendTruncationKey(nil, table))
	if errors.Is(err, pebble.ErrNotFound) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, err
	}
	defer closer.Close()
	if len(v) != 8 {
		return time.Time{}, false, fmt.Errorf("%w: truncation record of %d bytes", errCorrupt, len(v))
	}
	return time.UnixMicro(int64(binary.BigEndian.Uint64(v))), true, nil
}
