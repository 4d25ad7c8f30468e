// Package schema owns the cluster's data definitions: keyspaces, tables,
// columns and user-defined types, their table options, the schema version
// and the definitions of the system keyspaces that drivers read.
//
// A *Schema is an immutable snapshot: readers load the current snapshot
// without locks and keep using it for the whole request; DDL builds a new
// snapshot under the Manager's lock, persists it, then publishes it. A
// published Keyspace, Table or Column is never modified.
//
// Invariants: column ids are unique within a table and never reused (a
// dropped then re-added column gets a new id, so old cells cannot come
// back); the schema version is a name-based UUID of the canonical encoding
// of every user keyspace, so equal schemas have equal versions and every
// change gives a new one.
//
// The package never touches the network and never reads table data; it
// persists itself through the small MetaStore interface.
package schema
