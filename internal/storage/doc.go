// Package storage is ringdb's storage engine: Cassandra's data model
// (partitions, clustering rows, cells with write timestamps and TTLs,
// tombstones of every granularity) on one CockroachDB Pebble instance per
// node, whose WAL is the commit log.
//
// # What it owns
//
// Durable storage of mutations for every table, reads of one partition
// (slices, reversed, limits, static row), token-ordered partition scans,
// raw partition reads with tombstones for read repair and streaming,
// gc_grace_seconds purging, TRUNCATE/DROP, and a small synced metadata
// key/value store (schema, roles) in the same Pebble instance.
//
// For the cluster layer it also owns: the Mutation wire codec
// (EncodeMutation, DecodeMutation: versioned, bounded, never panics);
// the replica side of coordinator reads (ReadPartitionRawQuery and
// ScanRaw return raw content restricted to a query, normalized so that
// replicas with equal data give equal Digests whatever their compaction
// and gc history); the coordinator side (MergeMutations reconciles replica
// responses with the merger's rules, ReadMutation reads the result exactly
// as ReadPartition would); the hints store (hints.go); and truncation
// records (truncate.go).
//
// # What it must never do
//
// It never touches the network, never parses CQL, and knows nothing about
// CQL types: partition keys, clustering keys, collection paths and values
// are opaque bytes. Clustering keys and paths arrive order-encoded
// (bytewise order is clustering order, components prefix-free), so a
// clustering prefix P covers exactly the keys starting with the bytes P.
// Writes are blind: Apply never reads existing data.
//
// # Key layout
//
//	meta:      'm' | key
//	hint:      'h' | target host id (16) | created (8, unix µs, sign bit
//	           flipped) | sequence (8)                       (hints.go)
//	truncated: 't' | table id (16)                           (truncate.go)
//	data:      'd' | table id (16) | token (8, big-endian, sign bit flipped)
//	           | partition key (0x00 escaped as 0x00 0xFF, ended by 0x00 0x01)
//	           | kind (1) [| clustering]
//	kind 0     partition header: partition deletion and all range tombstones
//	kind 1     static row
//	kind 2     a regular row; the order-encoded clustering follows
//	kind 3     never stored; the exclusive upper bound of a partition
//
// Hint and truncation keys use Pebble Sets, never Merges, and lie outside
// the 'd' range that table reads, scans, DropTable and the gc pass touch.
//
// Keys therefore sort by (table, token, partition key bytes, header, static,
// clustering): a partition is one contiguous range, a slice is a sub-range
// the iterator seeks to directly (SeekGE forwards, SeekLT/Prev reversed),
// a table is one range (DropTable is one DeleteRange), and a token range is
// one range (ScanPartitions).
//
// Range tombstones live together in the header, not interleaved with rows:
// a read of any slice finds every tombstone covering it with the one seek it
// makes anyway, and the read then checks each row against them in memory.
// This favours the common case (few range tombstones per partition) over
// partitions with very many of them.
//
// # Values and merging
//
// Every write is a Pebble Merge of a fragment (a row's marker, deletion,
// complex deletions and cells, or a header's deletions), never a Set. The
// merger (merger.go) reconciles fragments with Cassandra's rules
// (reconcile.go): per cell the higher timestamp wins, on a tie a tombstone
// beats a live cell and then the greater value, then the later expiry.
// These rules are commutative, associative and fully deterministic, so
// operand order and grouping do not matter and replicas with the same
// writes store the same bytes. Values start with a format byte (formatV1);
// decoders validate everything and return errors, never panic.
//
// Expiring data: a cell or marker with ExpiresAt is dead at Now >=
// ExpiresAt. The merger turns an expired cell into a tombstone whose
// LocalDeletionTime is its write time, ExpiresAt - TTL (as Cassandra does),
// so it is purgeable gc_grace after it was written.
//
// # Purging (gc_grace_seconds)
//
// The merger reconciles and shadows but never purges: a compaction may
// see a key's oldest version (includesBase) while newer operands of the
// same key sit in files outside the compaction, and one of them may carry
// an older write timestamp than a tombstone the merge would drop. Purging
// is the gc pass's job (gc.go; hourly, and first thing in Compact): it
// scans for keys with tombstones or expired cells older than gc_grace,
// copies purgeable partition deletions and range tombstones into the rows
// they cover, and then, holding the lock that blocks Apply, re-reads each
// such key through every level (its full history), purges it and replaces
// it with a SET (or deletes it when nothing is left). The SET shadows every
// older operand, which compactions then drop. As in Cassandra, data older
// than a purged tombstone that arrives after the purge (a late hint or
// repair) is live again: repair within gc_grace.
//
// # Invariants
//
//   - Stored fragments are canonical: cells sorted by (Column, Path) and
//     unique, complex deletions sorted by column and unique, range
//     tombstones sorted and unique by bounds, data shadowed by the
//     fragment's own deletions removed.
//   - Timestamps are positive; a zero MarkedForDeleteAt means no deletion
//     and a zero LivenessInfo.Timestamp means no row marker.
//   - Rows returned by ReadPartition are live at Now: a live marker or at
//     least one live cell, after partition, range, row, complex and cell
//     deletions and TTL expiry.
//
// # Durability
//
// SyncBatch commits each Apply with a synced WAL write (Pebble's group
// commit shares fsyncs between concurrent writers). SyncPeriodic also
// commits with Pebble's Sync, so Apply returns once the WAL record has been
// written to the OS (a NoSync commit may leave it in the log writer's
// user-space buffer, lost by a kill -9), but periodicWALFS turns the WAL's
// fsync into a no-op and a goroutine fsyncs the WAL every SyncPeriod.
// Metadata, hint and truncation writes are fsynced before they return in
// both modes (Engine.durable).
package storage
