package admission

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// TokenStoreFile is the issuer's token store in its data directory.
const TokenStoreFile = "join-tokens.json"

// Token lifetimes.
const (
	// DefaultTokenTTL is a token's lifetime when none is given.
	DefaultTokenTTL = time.Hour
	// MinTokenTTL and MaxTokenTTL bound a token's lifetime.
	MinTokenTTL = time.Second
	MaxTokenTTL = 7 * 24 * time.Hour
	// MaxOpenTokens bounds the tokens that are neither used, revoked nor
	// expired.
	MaxOpenTokens = 1000
	// keepExpired is how long an expired or revoked token stays in the
	// store (so that its use is reported as expired or revoked, not
	// unknown). Used tokens are kept: they record the admissions.
	keepExpired = 7 * 24 * time.Hour
)

// Token states as stored.
const (
	StateUnused  = "unused"
	StateUsed    = "used"
	StateRevoked = "revoked"
	// StateExpired is never stored: Record.Status derives it.
	StateExpired = "expired"
)

// Record is one token in the store: its secret's hash, lifetime and state
// and, once used, the admission it made.
type Record struct {
	ID         string    `json:"id"`
	SecretHash string    `json:"secret_sha256"`
	Created    time.Time `json:"created"`
	Expires    time.Time `json:"expires"`
	State      string    `json:"state"`
	// Set when the token was used (the admission) or revoked.
	At          time.Time `json:"at,omitzero"`
	Address     string    `json:"address,omitempty"`
	Serial      string    `json:"serial,omitempty"`
	Fingerprint string    `json:"fingerprint,omitempty"`
	HostID      string    `json:"host_id,omitempty"`
}

// Status returns the record's state at now: StateExpired for an unused
// token past its expiry.
func (r Record) Status(now time.Time) string {
	if r.State == StateUnused && !now.Before(r.Expires) {
		return StateExpired
	}
	return r.State
}

// Admission is what a token admitted, recorded when it is burned.
type Admission struct {
	Address     string
	Serial      string
	Fingerprint string
	HostID      string
}

// Outcome is the result of checking a presented token, as audited.
type Outcome string

// Outcomes of Check.
const (
	OutcomeAccepted Outcome = "accepted" // valid: may be used now
	OutcomeUnknown  Outcome = "unknown"  // no such token, or the secret is wrong
	OutcomeReused   Outcome = "reused"   // already used
	OutcomeExpired  Outcome = "expired"  // past its expiry
	OutcomeRevoked  Outcome = "revoked"  // revoked by the operator
)

// TokenStore is an issuer's durable set of join tokens: a JSON file
// replaced atomically (written, fsynced, renamed, directory fsynced) at
// every change. It is safe for concurrent use.
type TokenStore struct {
	path string

	mu   sync.Mutex
	recs []Record
}

// storeFile is the JSON shape of the file.
type storeFile struct {
	Tokens []Record `json:"tokens"`
}

// OpenTokenStore loads the store at path (empty if the file does not
// exist; it is created at the first token).
func OpenTokenStore(path string) (*TokenStore, error) {
	s := &TokenStore{path: path}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("admission: token store: %w", err)
	}
	var f storeFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("admission: token store %s: %w", path, err)
	}
	s.recs = f.Tokens
	return s, nil
}

// Path returns the store's file.
func (s *TokenStore) Path() string { return s.path }

func hashSecret(secret []byte) string {
	sum := sha256.Sum256(secret)
	return hex.EncodeToString(sum[:])
}

// Create makes a new token valid for ttl from now, stores it durably and
// returns its record and secret.
func (s *TokenStore) Create(now time.Time, ttl time.Duration) (Record, TokenID, [tokenSecretLen]byte, error) {
	var id TokenID
	var secret [tokenSecretLen]byte
	if ttl < MinTokenTTL || ttl > MaxTokenTTL {
		return Record{}, id, secret, fmt.Errorf("admission: token lifetime %v out of range %v..%v", ttl, MinTokenTTL, MaxTokenTTL)
	}
	if _, err := rand.Read(id[:]); err != nil {
		return Record{}, id, secret, err
	}
	if _, err := rand.Read(secret[:]); err != nil {
		return Record{}, id, secret, err
	}
	rec := Record{ID: id.String(), SecretHash: hashSecret(secret[:]), Created: now.UTC(), Expires: now.Add(ttl).UTC(), State: StateUnused}
	s.mu.Lock()
	defer s.mu.Unlock()
	open := 0
	for _, r := range s.recs {
		if r.Status(now) == StateUnused {
			open++
		}
	}
	if open >= MaxOpenTokens {
		return Record{}, id, secret, fmt.Errorf("admission: %d unused tokens are open; revoke some or let them expire", open)
	}
	next := append(s.pruned(now), rec)
	if err := s.save(next); err != nil {
		return Record{}, id, secret, err
	}
	s.recs = next
	return rec, id, secret, nil
}

// Check reports what presenting the token id with secret at now means,
// without changing anything, and the token's record if the secret matched.
// The secret's hash is compared with the stored one in constant time; a
// wrong secret is OutcomeUnknown, like a token that does not exist.
func (s *TokenStore) Check(id TokenID, secret []byte, now time.Time) (Record, Outcome) {
	want := hashSecret(secret)
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.find(id.String())
	if i < 0 {
		return Record{}, OutcomeUnknown
	}
	r := s.recs[i]
	if subtle.ConstantTimeCompare([]byte(r.SecretHash), []byte(want)) != 1 {
		return Record{}, OutcomeUnknown
	}
	switch r.Status(now) {
	case StateUsed:
		return r, OutcomeReused
	case StateRevoked:
		return r, OutcomeRevoked
	case StateExpired:
		return r, OutcomeExpired
	}
	return r, OutcomeAccepted
}

// Burn marks the unused, unexpired token id used by adm at now, durably:
// when it returns nil the file on disk says so. It fails if the token is
// not usable any more.
func (s *TokenStore) Burn(id TokenID, now time.Time, adm Admission) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.find(id.String())
	if i < 0 {
		return fmt.Errorf("admission: token %s: not found", id)
	}
	if st := s.recs[i].Status(now); st != StateUnused {
		return fmt.Errorf("admission: token %s is %s", id, st)
	}
	next := slices.Clone(s.recs)
	r := &next[i]
	r.State, r.At = StateUsed, now.UTC()
	r.Address, r.Serial, r.Fingerprint, r.HostID = adm.Address, adm.Serial, adm.Fingerprint, adm.HostID
	if err := s.save(next); err != nil {
		return err
	}
	s.recs = next
	return nil
}

// Revoke withdraws the unused token id (expired or not), durably.
func (s *TokenStore) Revoke(id TokenID, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.find(id.String())
	if i < 0 {
		return fmt.Errorf("admission: no join token %s", id)
	}
	if st := s.recs[i].State; st != StateUnused {
		return fmt.Errorf("admission: join token %s is already %s", id, st)
	}
	next := slices.Clone(s.recs)
	next[i].State, next[i].At = StateRevoked, now.UTC()
	if err := s.save(next); err != nil {
		return err
	}
	s.recs = next
	return nil
}

// List returns every token in the store, oldest first.
func (s *TokenStore) List() []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.recs)
}

// find returns the index of the token id, or -1. s.mu must be held.
func (s *TokenStore) find(id string) int {
	return slices.IndexFunc(s.recs, func(r Record) bool { return r.ID == id })
}

// pruned returns the records without those expired or revoked more than
// keepExpired ago. s.mu must be held.
func (s *TokenStore) pruned(now time.Time) []Record {
	out := make([]Record, 0, len(s.recs)+1)
	for _, r := range s.recs {
		switch {
		case r.State == StateRevoked && now.Sub(r.At) > keepExpired:
		case r.State == StateUnused && now.Sub(r.Expires) > keepExpired:
		default:
			out = append(out, r)
		}
	}
	return out
}

// save durably replaces the file with recs.
func (s *TokenStore) save(recs []Record) error {
	data, err := json.MarshalIndent(storeFile{Tokens: recs}, "", "  ")
	if err != nil {
		return err
	}
	if err := writeReplace(s.path, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("admission: token store: %w", err)
	}
	return nil
}

// writeReplace durably replaces path with data: a temporary file in the
// same directory is written, fsynced and renamed over path, and the
// directory is fsynced, so path holds either the old or the new content.
func writeReplace(path string, data []byte, mode fs.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	defer os.Remove(name) // fails harmlessly after the rename
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(name, path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
