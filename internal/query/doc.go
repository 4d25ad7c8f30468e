// Package query executes CQL statements on one node: it resolves parsed
// statements against the schema, turns INSERT/UPDATE/DELETE/BATCH into
// storage mutations, answers SELECT from storage (with paging, ordering,
// filtering, aggregates and functions), applies DDL through the schema
// manager, manages roles, and serves the virtual system tables drivers read.
//
// It is Cassandra's QueryProcessor + SelectStatement/ModificationStatement
// for a single replica. It never touches sockets: the protocol layer hands
// it decoded requests and encodes what it returns; every error it returns
// is a *cqlerr.Error so the client gets the right protocol error code.
//
// Values are kept in their native protocol serialization from the wire to
// storage and back; the package boxes nothing per cell on the hot path.
package query
