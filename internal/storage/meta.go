package storage

import (
	"errors"

	"github.com/cockroachdb/pebble/v2"
)

// SetMeta stores a metadata entry (schema, roles, hints...) and fsyncs it
// before returning, whatever the SyncMode.
func (e *Engine) SetMeta(key string, value []byte) error {
	return e.durable(e.db.Set(metaKey(key), value, pebble.Sync))
}

// GetMeta returns a copy of a metadata entry's value and whether it exists.
func (e *Engine) GetMeta(key string) ([]byte, bool, error) {
	v, closer, err := e.db.Get(metaKey(key))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	out := append([]byte{}, v...)
	return out, true, closer.Close()
}

// DeleteMeta removes a metadata entry (synced). Deleting a missing key is
// not an error.
func (e *Engine) DeleteMeta(key string) error {
	return e.durable(e.db.Delete(metaKey(key), pebble.Sync))
}

// ListMeta calls fn for each metadata entry whose key starts with prefix, in
// key order, until fn returns false. key and value are only valid during
// the call.
func (e *Engine) ListMeta(prefix string, fn func(key string, value []byte) bool) error {
	lo := metaKey(prefix)
	hi := prefixSuccessor(lo)
	it, err := e.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return err
	}
	for valid := it.First(); valid; valid = it.Next() {
		if !fn(string(it.Key()[1:]), it.Value()) {
			break
		}
	}
	return errors.Join(it.Error(), it.Close())
}
