package schema

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/ringdb/ringdb/internal/tsbound"
)

// Export returns the user schema in its persisted (JSON) form, for
// another node to Merge.
func (m *Manager) Export() ([]byte, error) { return encodeSchema(m.Current()) }

// Merge folds another node's exported schema into ours: for each keyspace
// and each table the definition with the newer modification time wins, and
// drops (tombstones) win over definitions older than them. Merging is
// commutative and idempotent, so nodes that exchange schemas converge to
// the same content and the same schema version. It returns the changes
// applied (for events) and the tables whose local data must be removed.
//
// notAfter (µs since the epoch) bounds every timestamp in data: keyspace
// and table modification times, keyspace and table tombstones and dropped
// column times. Data holding a later one is refused whole, with a
// *TimestampError, before anything is applied: a timestamp far in the future
// would win every later change (a table that cannot be dropped, a drop that
// nothing can undo). The caller chooses the bound (the cluster uses now plus
// its clock skew allowance); math.MaxInt64 accepts any timestamp.
func (m *Manager) Merge(data []byte, notAfter int64) ([]Change, []*Table, error) {
	remote, remoteDropped, err := decodeSchemaFull(data)
	if err != nil {
		return nil, nil, fmt.Errorf("schema: decode remote schema: %w", err)
	}
	if err := checkTimestamps(remote, remoteDropped, notAfter); err != nil {
		return nil, nil, err
	}
	var changes []Change
	var dropped []*Table
	_, err = m.apply(false, func(s *Schema) (bool, error) {
		changed := false
		for name, ts := range remoteDropped {
			if ts > s.DroppedKeyspaces[name] {
				s.DroppedKeyspaces[name] = ts
				changed = true
			}
		}
		for name, ts := range s.DroppedKeyspaces {
			k := s.Keyspaces[name]
			if k == nil || k.System || newestIn(k) >= ts {
				continue
			}
			for _, t := range k.Tables {
				dropped = append(dropped, t)
			}
			delete(s.Keyspaces, name)
			changes = append(changes, Change{Type: Dropped, Target: "KEYSPACE", Keyspace: name})
			changed = true
		}
		for _, rk := range remote {
			if s.DroppedKeyspaces[rk.Name] > newestIn(rk) {
				continue
			}
			lk := s.Keyspaces[rk.Name]
			if lk != nil && lk.System {
				continue
			}
			if lk == nil {
				s.Keyspaces[rk.Name] = rk
				changes = append(changes, Change{Type: Created, Target: "KEYSPACE", Keyspace: rk.Name})
				for _, tn := range rk.TableNames() {
					changes = append(changes, Change{Type: Created, Target: "TABLE", Keyspace: rk.Name, Name: tn})
				}
				changed = true
				continue
			}
			nk := cloneKeyspace(lk)
			kchanged := false
			if rk.Modified > lk.Modified {
				nk.Replication, nk.DurableWrites, nk.Modified = maps.Clone(rk.Replication), rk.DurableWrites, rk.Modified
				nk.Types, nk.TypeOrder = maps.Clone(rk.Types), append([]string(nil), rk.TypeOrder...)
				changes = append(changes, Change{Type: Updated, Target: "KEYSPACE", Keyspace: rk.Name})
				kchanged = true
			}
			for tn, ts := range rk.DroppedTables {
				if ts > nk.DroppedTables[tn] {
					nk.DroppedTables[tn] = ts
					kchanged = true
				}
			}
			for tn, ts := range nk.DroppedTables {
				if lt := nk.Tables[tn]; lt != nil && lt.Modified < ts {
					dropped = append(dropped, lt)
					delete(nk.Tables, tn)
					changes = append(changes, Change{Type: Dropped, Target: "TABLE", Keyspace: rk.Name, Name: tn})
					kchanged = true
				}
			}
			for tn, rt := range rk.Tables {
				if nk.DroppedTables[tn] > rt.Modified {
					continue
				}
				lt := nk.Tables[tn]
				if lt != nil && !newerTable(rt, lt) {
					continue
				}
				nk.Tables[tn] = rt
				ct := Created
				if lt != nil {
					ct = Updated
					if lt.ID != rt.ID {
						dropped = append(dropped, lt)
					}
				}
				changes = append(changes, Change{Type: ct, Target: "TABLE", Keyspace: rk.Name, Name: tn})
				kchanged = true
			}
			if kchanged {
				s.Keyspaces[rk.Name] = nk
				changed = true
			}
		}
		return changed, nil
	})
	return changes, dropped, err
}

// newerTable reports whether a should replace b: newer modification time,
// ties broken by table id so every node picks the same one.
func newerTable(a, b *Table) bool {
	if a.Modified != b.Modified {
		return a.Modified > b.Modified
	}
	return bytes.Compare(a.ID[:], b.ID[:]) > 0
}

// newestIn is the newest modification time in a keyspace.
func newestIn(k *Keyspace) int64 {
	n := k.Modified
	for _, t := range k.Tables {
		n = max(n, t.Modified)
	}
	return n
}

// TimestampError is Merge's refusal of a remote schema holding timestamps
// beyond the bound it was given; nothing of that schema was merged. What
// names the first offending timestamp, e.g. "table ks.t modified" or
// "keyspace ks tombstone".
type TimestampError = tsbound.Error

// checkTimestamps returns a *TimestampError if a timestamp of the decoded
// remote schema is beyond notAfter.
func checkTimestamps(remote []*Keyspace, dropped map[string]int64, notAfter int64) error {
	c := tsbound.New("schema", notAfter)
	for _, name := range slices.Sorted(maps.Keys(dropped)) {
		c.Add("keyspace "+name+" tombstone", dropped[name])
	}
	ks := slices.SortedFunc(slices.Values(remote), func(a, b *Keyspace) int { return strings.Compare(a.Name, b.Name) })
	for _, k := range ks {
		c.Add("keyspace "+k.Name+" modified", k.Modified)
		for _, tn := range slices.Sorted(maps.Keys(k.DroppedTables)) {
			c.Add("table "+k.Name+"."+tn+" tombstone", k.DroppedTables[tn])
		}
		for _, tn := range k.TableNames() {
			t := k.Tables[tn]
			c.Add("table "+k.Name+"."+tn+" modified", t.Modified)
			for _, cn := range slices.Sorted(maps.Keys(t.Dropped)) {
				c.Add("column "+k.Name+"."+tn+"."+cn+" dropped", t.Dropped[cn].DroppedTime)
			}
		}
	}
	return c.Err()
}
