package protocol

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"sync"
	"time"
)

// Generationer is implemented by an Authenticator whose roles have a
// generation that changes with every change of a role (password, login,
// superuser, drop), locally or merged from a peer. Only such an
// authenticator's successful logins are cached.
type Generationer interface {
	Generation() uint64
}

// credCache remembers, per role, the password of its last successful
// login for CredentialsValidity, so that a fleet of clients reconnecting
// at once with the same credentials costs one password-hash check, not
// one per connection (what Cassandra's credentials_validity bounds too).
// It keeps an HMAC-SHA256 of the password under a key drawn when the
// server starts, never the password; an entry holds only while the
// authenticator's generation is unchanged, so ALTER ROLE or DROP ROLE
// (here or on any node) ends it at once. Failed logins are never cached.
type credCache struct {
	validity time.Duration
	gen      Generationer
	now      func() time.Time
	key      [32]byte
	max      int

	mu      sync.Mutex
	entries map[string]credEntry
}

type credEntry struct {
	mac   [sha256.Size]byte
	super bool
	gen   uint64
	at    time.Time
}

// newCredCache returns a cache for auth, or nil (no caching) when
// validity is not positive or auth has no generation.
func newCredCache(auth Authenticator, validity time.Duration, maxRoles int, now func() time.Time) *credCache {
	g, ok := auth.(Generationer)
	if !ok || validity <= 0 {
		return nil
	}
	c := &credCache{validity: validity, gen: g, now: now, max: maxRoles, entries: map[string]credEntry{}}
	if _, err := rand.Read(c.key[:]); err != nil {
		return nil // no key, no cache: every login is checked
	}
	return c
}

func (c *credCache) mac(role, password string) [sha256.Size]byte {
	h := hmac.New(sha256.New, c.key[:])
	h.Write([]byte(role))
	h.Write([]byte{0})
	h.Write([]byte(password))
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}

// lookup reports whether role logged in with password within the
// validity at the current generation, and whether it is a superuser.
func (c *credCache) lookup(role, password string) (super, ok bool) {
	if c == nil {
		return false, false
	}
	m := c.mac(role, password)
	c.mu.Lock()
	e, found := c.entries[role]
	c.mu.Unlock()
	if !found || e.gen != c.gen.Generation() || c.now().Sub(e.at) >= c.validity || !hmac.Equal(m[:], e.mac[:]) {
		return false, false
	}
	return e.super, true
}

// store records a successful login checked at generation gen (read
// before the check, so a change during it is not cached as current).
func (c *credCache) store(role, password string, super bool, gen uint64) {
	if c == nil {
		return
	}
	e := credEntry{mac: c.mac(role, password), super: super, gen: gen, at: c.now()}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[role]; !ok && len(c.entries) >= c.max {
		pruneOldest(c.entries, func(e credEntry) time.Time { return e.at })
	}
	c.entries[role] = e
}

// generation is the authenticator's current generation.
func (c *credCache) generation() uint64 {
	if c == nil {
		return 0
	}
	return c.gen.Generation()
}
