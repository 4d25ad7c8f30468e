package storage

import (
	"bytes"
	"errors"
	"fmt"
	"math"

	"github.com/cockroachdb/pebble/v2"
)

// TokenSpan is an inclusive interval [First, Last] of tokens of one table,
// the unit streaming moves (a ring range is split into spans by the
// caller: a wrapping range is two spans).
type TokenSpan struct {
	Table       TableID
	First, Last int64
}

// bounds returns the span's data key bounds [lo, hi).
func (s TokenSpan) bounds() (lo, hi []byte, err error) {
	if s.First > s.Last {
		return nil, nil, fmt.Errorf("storage: empty token span [%d, %d]", s.First, s.Last)
	}
	lo = appendToken(appendTablePrefix(nil, s.Table), s.First)
	if s.Last == math.MaxInt64 {
		return lo, tableUpperBound(s.Table), nil
	}
	return lo, appendToken(appendTablePrefix(nil, s.Table), s.Last+1), nil
}

// StreamPair is one stored key and its reconciled value, as streaming
// carries them between replicas. Keys and values are storage's own
// encodings: a pair applied elsewhere merges with what is there under the
// usual reconciliation rules, keeping write timestamps, TTLs and
// tombstones.
type StreamPair struct {
	Key, Value []byte
}

// ExportSpan calls fn with the stored pairs of span in key order, starting
// strictly after the key after (nil: from the start of the span), until
// about maxBytes of keys and values have been passed (at least one pair
// when any is left). It returns the last key passed (nil when none) and
// whether pairs are left after it. fn must not retain the slices. Each call
// reads a consistent snapshot; data written between calls is streamed if
// it sorts after the resume key (and reaches a pending replica through the
// write path either way).
func (e *Engine) ExportSpan(span TokenSpan, after []byte, maxBytes int, fn func(StreamPair) error) (last []byte, more bool, err error) {
	lo, hi, err := span.bounds()
	if err != nil {
		return nil, false, err
	}
	if after != nil {
		if bytes.Compare(after, lo) < 0 || bytes.Compare(after, hi) >= 0 {
			return nil, false, fmt.Errorf("storage: resume key outside token span [%d, %d]", span.First, span.Last)
		}
		lo = append(bytes.Clone(after), 0) // the immediate successor
	}
	it, err := e.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return nil, false, err
	}
	n := 0
	for valid := it.First(); valid; valid = it.Next() {
		if n >= maxBytes && last != nil {
			more = true
			break
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, false, errors.Join(err, it.Close())
		}
		k := it.Key()
		if err := fn(StreamPair{Key: k, Value: v}); err != nil {
			return nil, false, errors.Join(err, it.Close())
		}
		last = append(last[:0], k...)
		n += len(k) + len(v)
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return nil, false, err
	}
	return last, more, nil
}

// ImportSpan validates pairs received from a peer for span and applies
// them atomically as merges. Every key must be a data key of span's table
// with a token inside the span, keys must be strictly increasing and
// strictly after after (the resume key the chunk answers, nil for none),
// and every value must decode as the fragment its key's kind holds;
// otherwise nothing is applied and the error says what was wrong.
func (e *Engine) ImportSpan(span TokenSpan, after []byte, pairs []StreamPair) error {
	lo, hi, err := span.bounds()
	if err != nil {
		return err
	}
	if after != nil && bytes.Compare(after, lo) >= 0 {
		lo = append(bytes.Clone(after), 0)
	}
	b := e.db.NewBatch()
	defer b.Close()
	var row rowFragment
	var hdr headerFragment
	prev := lo
	for i, p := range pairs {
		if bytes.Compare(p.Key, prev) < 0 || (i > 0 && bytes.Equal(p.Key, prev)) || bytes.Compare(p.Key, hi) >= 0 {
			return fmt.Errorf("storage: streamed key %d out of order or outside token span [%d, %d]", i, span.First, span.Last)
		}
		if err := validatePair(p, &row, &hdr); err != nil {
			return fmt.Errorf("storage: streamed pair %d: %w", i, err)
		}
		if err := b.Merge(p.Key, p.Value, nil); err != nil {
			return err
		}
		prev = p.Key
	}
	if b.Empty() {
		return nil
	}
	e.gcMu.RLock()
	defer e.gcMu.RUnlock()
	return b.Commit(e.wo)
}

// validatePair checks that p's key is a data key and its value the
// fragment of the key's kind.
func validatePair(p StreamPair, row *rowFragment, hdr *headerFragment) error {
	dk, err := parseDataKey(p.Key, nil)
	if err != nil {
		return err
	}
	if dk.kind == kindHeader {
		return decodeHeader(p.Value, hdr)
	}
	return decodeRow(p.Value, row)
}

// DeleteSpan removes every stored key of span (cleanup of ranges a node no
// longer replicates). Hints and metadata are untouched.
func (e *Engine) DeleteSpan(span TokenSpan) error {
	lo, hi, err := span.bounds()
	if err != nil {
		return err
	}
	e.gcMu.RLock()
	defer e.gcMu.RUnlock()
	return e.db.DeleteRange(lo, hi, e.wo)
}

// SpanHasData reports whether span holds any stored key.
func (e *Engine) SpanHasData(span TokenSpan) (bool, error) {
	lo, hi, err := span.bounds()
	if err != nil {
		return false, err
	}
	it, err := e.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return false, err
	}
	ok := it.First()
	return ok, errors.Join(it.Error(), it.Close())
}
