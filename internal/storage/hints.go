package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Hints are mutations a coordinator keeps for a replica that was down or
// timed out, to deliver when it is back (Cassandra's hinted handoff). They
// live in the node's Pebble instance under their own prefix, outside every
// table's key range, so no table read, scan, DropTable or gc pass sees
// them:
//
//	hint:  'h' | target host id (16) | hint id (16)
//	hint id: created (8, unix microseconds, big-endian, sign bit flipped)
//	         | sequence (8, big-endian)
//
// The value is the mutation's EncodeMutation encoding. Ids order by
// creation time, then by the engine's sequence counter. The counter is
// seeded at Open with the wall clock in nanoseconds and incremented per
// hint, so ids are unique within a process and, across restarts, unless a
// process stored more hints than nanoseconds passed between its Open and
// the next one's (synced writes make that impossible) or the wall clock
// stepped back, and even then only if the creation times are equal too.

// hintIDLen is the length of a hint id.
const hintIDLen = 16

// hintKeyLen is the length of a hint key.
const hintKeyLen = 1 + 16 + hintIDLen

// appendHintPrefix appends 'h' | target.
func appendHintPrefix(dst []byte, target [16]byte) []byte {
	dst = append(dst, prefixHint)
	return append(dst, target[:]...)
}

// hintCreated decodes the creation time of a hint id.
func hintCreated(id []byte) time.Time {
	return time.UnixMicro(int64(binary.BigEndian.Uint64(id) ^ (1 << 63)))
}

// appendHintTime appends a creation time as a hint id's first 8 bytes.
func appendHintTime(dst []byte, t time.Time) []byte {
	return binary.BigEndian.AppendUint64(dst, uint64(t.UnixMicro())^(1<<63))
}

// StoreHint durably stores m as a hint for the node whose host id is
// target, created at created (microsecond precision; the coordinator's
// clock, which DeleteHintsOlderThan compares against). The write is synced
// before StoreHint returns, whatever the SyncMode. m is not retained.
func (e *Engine) StoreHint(target [16]byte, created time.Time, m *Mutation) error {
	if m == nil {
		return errors.New("storage: nil hint mutation")
	}
	key := make([]byte, 0, hintKeyLen)
	key = appendHintPrefix(key, target)
	key = appendHintTime(key, created)
	key = binary.BigEndian.AppendUint64(key, e.hintSeq.Add(1))
	val := EncodeMutation(nil, m)
	if len(val) > MaxMutationSize {
		return fmt.Errorf("storage: hint mutation of %d bytes exceeds %d", len(val), MaxMutationSize)
	}
	return e.durable(e.db.Set(key, val, pebble.Sync))
}

// Hints calls fn with each hint stored for target, oldest first (by
// creation time, then storing order), until fn returns false. id, created
// and m belong to fn (nothing is reused); pass id to DeleteHint once the
// hint is delivered. A hint whose value does not decode is logged and
// skipped (DeleteHintsOlderThan eventually removes it).
func (e *Engine) Hints(target [16]byte, fn func(id []byte, created time.Time, m *Mutation) bool) error {
	lo := appendHintPrefix(nil, target)
	hi := prefixSuccessor(lo)
	it, err := e.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return err
	}
	for valid := it.First(); valid; valid = it.Next() {
		k := it.Key()
		if len(k) != hintKeyLen {
			e.opts.Logger.Error("storage: malformed hint key, skipped", "key", fmt.Sprintf("%x", k))
			continue
		}
		// One allocation holds the id and the value the mutation aliases.
		v := it.Value()
		buf := make([]byte, hintIDLen+len(v))
		copy(buf, k[len(lo):])
		copy(buf[hintIDLen:], v)
		id := buf[:hintIDLen:hintIDLen]
		m, err := DecodeMutation(buf[hintIDLen:])
		if err != nil {
			e.opts.Logger.Error("storage: undecodable hint, skipped", "id", fmt.Sprintf("%x", id), "err", err)
			continue
		}
		if !fn(id, hintCreated(id), m) {
			break
		}
	}
	return errors.Join(it.Error(), it.Close())
}

// DeleteHint deletes the hint id of target (after its delivery). Deleting
// a missing hint is not an error. The deletion is not synced: after a
// machine crash the hint may be delivered again, which is harmless since
// applying a mutation twice changes nothing.
func (e *Engine) DeleteHint(target [16]byte, id []byte) error {
	if len(id) != hintIDLen {
		return fmt.Errorf("storage: hint id of %d bytes, want %d", len(id), hintIDLen)
	}
	key := make([]byte, 0, hintKeyLen)
	key = append(appendHintPrefix(key, target), id...)
	return e.db.Delete(key, e.wo)
}

// HintTargets returns the host ids that have at least one stored hint, in
// byte order.
func (e *Engine) HintTargets() ([][16]byte, error) {
	it, err := e.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixHint}, UpperBound: []byte{prefixHint + 1}})
	if err != nil {
		return nil, err
	}
	var out [][16]byte
	var seek []byte
	for valid := it.First(); valid; {
		k := it.Key()
		if len(k) < 1+16 {
			valid = it.Next()
			continue
		}
		var t [16]byte
		copy(t[:], k[1:])
		out = append(out, t)
		next, ok := appendPrefixSuccessor(seek[:0], k[:1+16])
		if !ok {
			break
		}
		seek = next
		valid = it.SeekGE(seek)
	}
	return out, errors.Join(it.Error(), it.Close())
}

// DeleteHintsOlderThan deletes every hint, of every target, created before
// t (Cassandra's max_hint_window / hint TTL) and returns how many it
// deleted. The deletion is synced. Hints stored concurrently with a
// creation time before t may be deleted without being counted.
func (e *Engine) DeleteHintsOlderThan(t time.Time) (int, error) {
	targets, err := e.HintTargets()
	if err != nil {
		return 0, err
	}
	b := e.db.NewBatch()
	defer b.Close()
	total := 0
	for _, target := range targets {
		lo := appendHintPrefix(nil, target)
		hi := appendHintTime(bytes.Clone(lo), t)
		it, err := e.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
		if err != nil {
			return 0, err
		}
		n := 0
		for valid := it.First(); valid; valid = it.Next() {
			n++
		}
		if err := errors.Join(it.Error(), it.Close()); err != nil {
			return 0, err
		}
		if n == 0 {
			continue
		}
		total += n
		if err := b.DeleteRange(lo, hi, nil); err != nil {
			return 0, err
		}
	}
	if b.Empty() {
		return 0, nil
	}
	if err := e.durable(b.Commit(pebble.Sync)); err != nil {
		return 0, err
	}
	return total, nil
}
