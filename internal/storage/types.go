package storage

// TableID identifies a table by its schema UUID. It is the first component of
// every data key, so all of a table's data is one contiguous key range.
type TableID [16]byte

// DeletionTime is Cassandra's deletion info: the write timestamp at or below
// which data is shadowed and the wall-clock second the deletion happened,
// which drives gc_grace_seconds purging.
//
// Write timestamps are expected to be positive: a MarkedForDeleteAt of zero
// means "no deletion" (Cassandra's DeletionTime.LIVE).
type DeletionTime struct {
	// MarkedForDeleteAt is the deletion's write timestamp in microseconds;
	// 0 means live (no deletion).
	MarkedForDeleteAt int64
	// LocalDeletionTime is the unix time in seconds at which the deletion was
	// made; the tombstone becomes purgeable once it is older than gc_grace.
	LocalDeletionTime int64
}

// IsLive reports whether d is the absence of a deletion.
func (d DeletionTime) IsLive() bool { return d.MarkedForDeleteAt == 0 }

// Deletes reports whether d shadows data written at timestamp ts.
func (d DeletionTime) Deletes(ts int64) bool {
	return d.MarkedForDeleteAt != 0 && ts <= d.MarkedForDeleteAt
}

// Supersedes reports whether d wins over o when the two are reconciled: the
// higher MarkedForDeleteAt wins, then the later LocalDeletionTime. Any
// deletion supersedes a live DeletionTime.
func (d DeletionTime) Supersedes(o DeletionTime) bool {
	if d.IsLive() {
		return false
	}
	if o.IsLive() {
		return true
	}
	if d.MarkedForDeleteAt != o.MarkedForDeleteAt {
		return d.MarkedForDeleteAt > o.MarkedForDeleteAt
	}
	return d.LocalDeletionTime > o.LocalDeletionTime
}

// LivenessInfo is a row's primary-key liveness (Cassandra's row marker),
// written by INSERT and not by UPDATE.
type LivenessInfo struct {
	// Timestamp is the marker's write timestamp in microseconds; 0 means the
	// row has no marker.
	Timestamp int64
	// TTL is the marker's time to live in seconds; 0 when not expiring.
	TTL int32
	// ExpiresAt is the unix time in seconds at which the marker expires;
	// 0 means never.
	ExpiresAt int64
}

// IsEmpty reports whether l is the absence of a row marker.
func (l LivenessInfo) IsEmpty() bool { return l.Timestamp == 0 }

// Cell is one column value of a row, or one element of a non-frozen
// collection when Path is set.
type Cell struct {
	// Column is the column id assigned by the schema.
	Column uint32
	// Path is the element key (order-encoded by the caller) of a non-frozen
	// collection cell; nil for simple cells.
	Path []byte
	// Timestamp is the write timestamp in microseconds.
	Timestamp int64
	// TTL is the time to live in seconds of an expiring cell; 0 otherwise.
	TTL int32
	// ExpiresAt is the unix time in seconds at which an expiring cell
	// expires; 0 means never.
	ExpiresAt int64
	// Tombstone marks a cell deletion; Value is then ignored.
	Tombstone bool
	// LocalDeletionTime is the unix time in seconds of a cell deletion.
	LocalDeletionTime int64
	// Value is the serialized value (opaque to storage).
	Value []byte
}

// ComplexDeletion deletes a whole non-frozen collection column: it shadows
// that column's collection cells with Timestamp <= Deletion.MarkedForDeleteAt.
// It is written when a collection is overwritten or deleted.
type ComplexDeletion struct {
	// Column is the collection column's id.
	Column uint32
	// Deletion is the deletion info.
	Deletion DeletionTime
}

// RowUpdate is the part of a Mutation that touches one row.
type RowUpdate struct {
	// Clustering is the order-encoded clustering key; empty for tables without
	// clustering columns and for the static row.
	Clustering []byte
	// Static selects the partition's static row (Clustering must be empty).
	Static bool
	// Liveness is the row marker; zero for none.
	Liveness LivenessInfo
	// Deletion is a row deletion; zero for none.
	Deletion DeletionTime
	// ComplexDeletions are whole-collection deletions.
	ComplexDeletions []ComplexDeletion
	// Cells are the written cells, in any order. Apply never modifies them.
	Cells []Cell
}

// Bound is one end of a clustering range. An empty Prefix is unbounded
// (Inclusive is then ignored). See Slice for the meaning of Inclusive.
type Bound struct {
	// Prefix is an order-encoded clustering prefix.
	Prefix []byte
	// Inclusive selects whether keys with the prefix are inside the range.
	Inclusive bool
}

// RangeTombstone deletes the rows whose clustering lies between Start and End
// (with Slice's bound semantics) written at or before the deletion timestamp.
type RangeTombstone struct {
	// Start and End delimit the deleted clustering range.
	Start, End Bound
	// Deletion is the deletion info.
	Deletion DeletionTime
}

// Mutation is a set of writes to one partition. Mutations are blind: applying
// one never reads existing data.
type Mutation struct {
	// Table is the table's id.
	Table TableID
	// Token is the partition key's token (computed by the caller).
	Token int64
	// Key is the serialized partition key.
	Key []byte
	// PartitionDeletion deletes the whole partition up to its timestamp.
	PartitionDeletion DeletionTime
	// RangeTombstones are clustering range deletions; they may overlap.
	RangeTombstones []RangeTombstone
	// Rows are row writes and deletions.
	Rows []RowUpdate
}

// Slice is a clustering range to read.
//
// Start bound: inclusive prefix P selects keys >= P; exclusive P selects the
// keys after every key that starts with P. End bound: inclusive P selects keys
// up to and including every key that starts with P; exclusive P selects
// keys < P. An empty Prefix is unbounded.
type Slice struct {
	// Start and End delimit the range.
	Start, End Bound
}

// PartitionQuery selects the rows ReadPartition returns.
type PartitionQuery struct {
	// Slices are sorted, non-overlapping clustering ranges; nil reads the
	// whole partition.
	Slices []Slice
	// Reversed returns rows in reverse clustering order.
	Reversed bool
	// Static also returns the static row, first (even when Reversed), if it
	// has live cells.
	Static bool
	// Limit is the maximum number of live (non-static) rows; 0 is unlimited.
	Limit int
}

// Row is a live row returned by ReadPartition.
type Row struct {
	// Clustering is the order-encoded clustering key (empty for the static
	// row and for tables without clustering columns).
	Clustering []byte
	// Static marks the partition's static row.
	Static bool
	// Liveness is the live row marker, or zero if the row has none alive.
	Liveness LivenessInfo
	// Cells are the live, reconciled cells sorted by (Column, Path).
	Cells []Cell
}

// RowsFunc iterates one partition's rows, calling fn for each until fn
// returns false (as ReadPartition does with a fixed query).
type RowsFunc func(fn func(*Row) bool) error

// PartitionPos is a position in a table's (token, key) order. A nil Key with
// Inclusive set is the start of Token; a nil Key without Inclusive is the end
// of Token (after all its keys).
type PartitionPos struct {
	// Token is the position's token.
	Token int64
	// Key is a serialized partition key, or nil (see above).
	Key []byte
	// Inclusive includes the partition at the position itself.
	Inclusive bool
}
