package cluster

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"

	"github.com/ringdb/ringdb/internal/ring"
	"github.com/ringdb/ringdb/internal/schema"
	"github.com/ringdb/ringdb/internal/storage"
	"github.com/ringdb/ringdb/internal/streaming"
)

// Cleanup deletes the data this node holds for token ranges it no longer
// replicates (nodetool cleanup), after a node joined and took ranges
// over: for each table of keyspace (every user keyspace when ""), or of
// the named tables only, everything outside the ranges this node
// replicates. It refuses while a node joins or leaves: the data may still
// be streaming from here.
func (c *Cluster) Cleanup(ctx context.Context, keyspace string, tables []string, report func(string)) error {
	tm := c.rebuildRing()
	if !tm.IsMember(c.o.Self) {
		return errors.New("cleanup: this node is not a NORMAL ring member")
	}
	if moving := slices.Concat(tm.PendingEndpointList(), tm.LeavingEndpoints()); len(moving) > 0 {
		return fmt.Errorf("cleanup: nodes are joining or leaving (%s): not safe to clean up until they are done", formatAddrs(moving))
	}
	sch := c.o.Schema.Current()
	names, err := cleanupKeyspaces(sch, keyspace)
	if err != nil {
		return err
	}
	for _, name := range names {
		ks := sch.Keyspace(name)
		strat, err := ring.NewStrategy(ks.Replication, c.o.Self)
		if err != nil {
			return fmt.Errorf("cleanup: keyspace %s: %w", name, err)
		}
		for _, t := range ks.Tables {
			if len(tables) > 0 && !slices.Contains(tables, t.Name) {
				continue
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			spans := unownedSpans(strat, tm, c.o.Self, storage.TableID(t.ID))
			for _, sp := range spans {
				if err := c.o.Engine.DeleteSpan(sp); err != nil {
					return fmt.Errorf("cleanup: %s.%s: %w", name, t.Name, err)
				}
			}
			report(fmt.Sprintf("cleaned up %s.%s: %d token spans this node no longer replicates", name, t.Name, len(spans)))
		}
	}
	return nil
}

// cleanupKeyspaces returns the user keyspaces cleanup works on.
func cleanupKeyspaces(sch *schema.Schema, keyspace string) ([]string, error) {
	if keyspace != "" {
		ks := sch.Keyspace(keyspace)
		switch {
		case ks == nil:
			return nil, fmt.Errorf("cleanup: keyspace %s does not exist", keyspace)
		case ks.System:
			return nil, fmt.Errorf("cleanup: %s is a system keyspace (cleanup works on user keyspaces)", keyspace)
		}
		return []string{keyspace}, nil
	}
	var out []string
	for _, name := range sch.KeyspaceNames() {
		if !sch.Keyspace(name).System {
			out = append(out, name)
		}
	}
	return out, nil
}

// unownedSpans returns the token spans of table that self does not
// replicate under strat on tm (neither as a natural nor as a pending
// replica), in token order: the complement of its ranges.
func unownedSpans(strat ring.ReplicationStrategy, tm *ring.TokenMetadata, self netip.Addr, table storage.TableID) []storage.TokenSpan {
	var owned []storage.TokenSpan
	for _, r := range tm.AllRanges() {
		if slices.Contains(strat.NaturalEndpoints(tm, r.End), self) || slices.Contains(ring.PendingEndpoints(strat, tm, r.End), self) {
			owned = append(owned, streaming.Spans(table, r)...)
		}
	}
	slices.SortFunc(owned, func(a, b storage.TokenSpan) int {
		switch {
		case a.First < b.First:
			return -1
		case a.First > b.First:
			return 1
		}
		return 0
	})
	var out []storage.TokenSpan
	next, done := int64(math.MinInt64), false // first token not yet covered
	for _, sp := range owned {
		if done {
			break
		}
		if sp.First > next {
			out = append(out, storage.TokenSpan{Table: table, First: next, Last: sp.First - 1})
		}
		if sp.Last >= next {
			if sp.Last == math.MaxInt64 {
				done = true
			} else {
				next = sp.Last + 1
			}
		}
	}
	if !done {
		out = append(out, storage.TokenSpan{Table: table, First: next, Last: math.MaxInt64})
	}
	return out
}
