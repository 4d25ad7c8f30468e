package schema

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"
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
// beyond the bound it was given; nothing of that schema was merged.
type TimestampError struct {
	// What names the first offending timestamp in name order, e.g.
	// "table ks.t modified" or "keyspace ks tombstone".
	What string
	// Timestamp is its value and NotAfter the bound (µs since the epoch).
	Timestamp, NotAfter int64
	// Count is how many timestamps of the schema were beyond the bound.
	Count int
}

func (e *TimestampError) Error() string {
	more := ""
	if e.Count > 1 {
		more = fmt.Sprintf(" (and %d more)", e.Count-1)
	}
	return fmt.Sprintf("schema: %s at %d µs is beyond the accepted bound %d µs%s; nothing merged", e.What, e.Timestamp, e.NotAfter, more)
}

// FutureTimestamp marks the error as a refusal for a timestamp beyond the
// bound (the cluster audits those).
func (e *TimestampError) FutureTimestamp() bool { return true }

// checkTimestamps returns a *TimestampError if a timestamp of the decoded
// remote schema is beyond notAfter.
func checkTimestamps(remote []*Keyspace, dropped map[string]int64, notAfter int64) error {
	var first *TimestampError
	count := 0
	check := func(what string, ts int64) {
		if ts <= notAfter {
			return
		}
		count++
		if first == nil {
			first = &TimestampError{What: what, Timestamp: ts, NotAfter: notAfter}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(dropped)) {
		check("keyspace "+name+" tombstone", dropped[name])
	}
	ks := slices.SortedFunc(slices.Values(remote), func(a, b *Keyspace) int { return strings.Compare(a.Name, b.Name) })
	for _, k := range ks {
		check("keyspace "+k.Name+" modified", k.Modified)
		for _, tn := range slices.Sorted(maps.Keys(k.DroppedTables)) {
			check("table "+k.Name+"."+tn+" tombstone", k.DroppedTables[tn])
		}
		for _, tn := range k.TableNames() {
			t := k.Tables[tn]
			check("table "+k.Name+"."+tn+" modified", t.Modified)
			for _, cn := range slices.Sorted(maps.Keys(t.Dropped)) {
				check("column "+k.Name+"."+tn+"."+cn+" dropped", t.Dropped[cn].DroppedTime)
			}
		}
	}
	if first == nil {
		return nil
	}
	first.Count = count
	return first
}
