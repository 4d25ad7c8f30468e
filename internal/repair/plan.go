package repair

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/ringdb/ringdb/internal/ring"
	"github.com/ringdb/ringdb/internal/schema"
	"github.com/ringdb/ringdb/internal/storage"
)

// Command is one `nodetool repair [keyspace [table...]] [-pr]`: what to
// repair. Repair is always full (every partition of every range is
// compared); there is no incremental repair.
type Command struct {
	// Keyspace is the keyspace to repair; "" repairs every user keyspace.
	Keyspace string
	// Tables are the tables of Keyspace to repair; none means all of them.
	Tables []string
	// PrimaryRange (-pr) repairs only the ranges this node is the primary
	// replica of (the first of their natural replicas; for SimpleStrategy,
	// the ranges ending at this node's tokens, TokenMetadata.Ranges).
	// Running repair -pr on every node repairs each range once.
	PrimaryRange bool
}

// TableRef is one table a repair covers.
type TableRef struct {
	// Name is the table's name in its keyspace.
	Name string
	// ID is the table's id, its storage prefix.
	ID storage.TableID
}

// Session is the repair of one token range of one keyspace, as
// Cassandra's RepairSession: every table of the plan is compared on the
// range's natural replicas.
type Session struct {
	// Range is the token range (Start, End], one range of the ring.
	Range ring.Range
	// Replicas are the range's natural replicas, primary first; the
	// repairing node is one of them and there are at least two.
	Replicas []netip.Addr
}

// KeyspacePlan is what a repair command does in one keyspace.
type KeyspacePlan struct {
	// Keyspace is the keyspace's name.
	Keyspace string
	// Tables are the tables to repair, sorted by name.
	Tables []TableRef
	// Sessions are the ranges to repair, ordered by end token.
	Sessions []Session
	// Skipped says why the keyspace has nothing to repair ("" when it
	// has sessions).
	Skipped string
}

// Plan returns what cmd repairs when run on self with schema sch and ring
// tm: for each keyspace (the named one, or every user keyspace with
// tables, sorted by name), its tables and, for every range of the ring
// that self replicates (only those it is the primary replica of with
// cmd.PrimaryRange) and that has another replica, a session over the
// range's natural replicas. It refuses an unknown or system keyspace, an
// unknown table, tables without a keyspace, and a node that is not a
// NORMAL ring member. Plan does no I/O.
func Plan(sch *schema.Schema, tm *ring.TokenMetadata, self netip.Addr, cmd Command) ([]KeyspacePlan, error) {
	if !tm.IsMember(self) {
		return nil, errors.New("repair: this node is not a NORMAL ring member")
	}
	names, err := planKeyspaces(sch, cmd)
	if err != nil {
		return nil, err
	}
	var out []KeyspacePlan
	for _, name := range names {
		kp, err := planKeyspace(sch.Keyspace(name), tm, self, cmd)
		if err != nil {
			return nil, err
		}
		out = append(out, kp)
	}
	return out, nil
}

// planKeyspaces returns the names of the keyspaces cmd repairs.
func planKeyspaces(sch *schema.Schema, cmd Command) ([]string, error) {
	if cmd.Keyspace == "" {
		if len(cmd.Tables) > 0 {
			return nil, errors.New("repair: tables given without their keyspace")
		}
		var out []string
		for _, name := range sch.KeyspaceNames() {
			if ks := sch.Keyspace(name); !ks.System && len(ks.Tables) > 0 {
				out = append(out, name)
			}
		}
		return out, nil
	}
	ks := sch.Keyspace(cmd.Keyspace)
	switch {
	case ks == nil:
		return nil, fmt.Errorf("repair: keyspace %s does not exist", cmd.Keyspace)
	case ks.System:
		return nil, fmt.Errorf("repair: %s is a system keyspace (repair works on user keyspaces)", cmd.Keyspace)
	}
	for _, t := range cmd.Tables {
		if ks.Tables[t] == nil {
			return nil, fmt.Errorf("repair: table %s.%s does not exist", cmd.Keyspace, t)
		}
	}
	return []string{cmd.Keyspace}, nil
}

// planKeyspace returns the plan of one keyspace.
func planKeyspace(ks *schema.Keyspace, tm *ring.TokenMetadata, self netip.Addr, cmd Command) (KeyspacePlan, error) {
	kp := KeyspacePlan{Keyspace: ks.Name, Tables: planTables(ks, cmd.Tables)}
	if len(kp.Tables) == 0 {
		kp.Skipped = "it has no table"
		return kp, nil
	}
	strat, err := ring.NewStrategy(ks.Replication, self)
	if err != nil {
		return kp, fmt.Errorf("repair: keyspace %s: %w", ks.Name, err)
	}
	replicated, single := 0, 0
	for _, r := range tm.AllRanges() {
		eps := strat.NaturalEndpoints(tm, r.End)
		if !slices.Contains(eps, self) || (cmd.PrimaryRange && eps[0] != self) {
			continue
		}
		replicated++
		if len(eps) < 2 {
			single++
			continue
		}
		kp.Sessions = append(kp.Sessions, Session{Range: r, Replicas: slices.Clone(eps)})
	}
	switch {
	case replicated == 0 && cmd.PrimaryRange:
		kp.Skipped = "this node is the primary replica of none of its ranges"
	case replicated == 0:
		kp.Skipped = "this node replicates none of its ranges"
	case single == replicated:
		kp.Skipped = "each of its ranges has a single replica (replication factor 1): nothing to compare"
	}
	return kp, nil
}

// planTables returns the keyspace's tables named in names (all of them
// when names is empty), sorted by name.
func planTables(ks *schema.Keyspace, names []string) []TableRef {
	var out []TableRef
	for _, name := range ks.TableNames() {
		if len(names) > 0 && !slices.Contains(names, name) {
			continue
		}
		out = append(out, TableRef{Name: name, ID: storage.TableID(ks.Tables[name].ID)})
	}
	return out
}

// tableNames lists the tables' names, comma separated.
func tableNames(ts []TableRef) string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.Name
	}
	return strings.Join(names, ", ")
}
