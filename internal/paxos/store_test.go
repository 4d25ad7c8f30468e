package paxos

import (
	"fmt"
	"sync"
)

// memStore is an in-memory Store that keeps encoded states (so nothing is
// shared with the acceptor) and can fail or pause saves.
type memStore struct {
	mu     sync.Mutex
	states map[string][]byte
	saves  []savedState // every successful save, in order
	// failSave, when set, makes Save fail for a key.
	failSave func(key string) error
	// failLoad, when set, makes Load fail for a key.
	failLoad func(key string) error
	// onSave, when set, runs before a save is recorded (outside mu).
	onSave func(key string, st AcceptorState)
}

type savedState struct {
	key string
	st  AcceptorState
}

func newMemStore() *memStore { return &memStore{states: map[string][]byte{}} }

func (s *memStore) Load(key string) (AcceptorState, bool, error) {
	s.mu.Lock()
	fail := s.failLoad
	enc, ok := s.states[key]
	s.mu.Unlock()
	if fail != nil {
		if err := fail(key); err != nil {
			return AcceptorState{}, false, err
		}
	}
	if !ok {
		return AcceptorState{}, false, nil
	}
	var st AcceptorState
	if err := st.Unmarshal(enc); err != nil {
		return AcceptorState{}, false, fmt.Errorf("memStore: %w", err)
	}
	return st, true, nil
}

func (s *memStore) Save(key string, st AcceptorState) error {
	s.mu.Lock()
	fail, hook := s.failSave, s.onSave
	s.mu.Unlock()
	if hook != nil {
		hook(key, st)
	}
	if fail != nil {
		if err := fail(key); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.states[key] = st.Marshal()
	s.saves = append(s.saves, savedState{key, st})
	return nil
}

// state returns the saved state of key (zero if none).
func (s *memStore) state(key string) AcceptorState {
	st, _, err := s.Load(key)
	if err != nil {
		panic(err)
	}
	return st
}

func (s *memStore) saveCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.saves)
}
