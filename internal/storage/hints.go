package storage

import (
	"errors"
	"time"
)

// StoreHint durably stores a hint.
func (e *Engine) StoreHint(target [16]byte, created time.Time, m *Mutation) error {
	return errors.New("storage: not implemented")
}

// Hints calls fn for each hint of target, oldest first.
func (e *Engine) Hints(target [16]byte, fn func(id []byte, created time.Time, m *Mutation) bool) error {
	return errors.New("storage: not implemented")
}

// DeleteHint deletes one hint.
func (e *Engine) DeleteHint(target [16]byte, id []byte) error {
	return errors.New("storage: not implemented")
}

// HintTargets returns the targets with stored hints.
func (e *Engine) HintTargets() ([][16]byte, error) { return nil, errors.New("storage: not implemented") }

// DeleteHintsOlderThan deletes hints created before t.
func (e *Engine) DeleteHintsOlderThan(t time.Time) (int, error) {
	return 0, errors.New("storage: not implemented")
}
