package admission

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestTokenStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), TokenStoreFile)
	s, err := OpenTokenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	for _, ttl := range []time.Duration{0, MinTokenTTL - 1, MaxTokenTTL + 1, -time.Hour} {
		if _, _, _, err := s.Create(now, ttl); err == nil {
			t.Errorf("ttl %v accepted", ttl)
		}
	}
	rec, id, secret, err := s.Create(now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if rec.ID != id.String() || rec.State != StateUnused || !rec.Expires.Equal(now.Add(time.Hour)) {
		t.Fatalf("record %+v", rec)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), hex.EncodeToString(secret[:])) {
		t.Fatal("the store holds the secret itself")
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("store mode %v", fi.Mode().Perm())
	}

	if _, o := s.Check(id, secret[:], now); o != OutcomeAccepted {
		t.Fatalf("fresh token: %v", o)
	}
	wrong := secret
	wrong[0] ^= 1
	if _, o := s.Check(id, wrong[:], now); o != OutcomeUnknown {
		t.Fatalf("wrong secret: %v", o)
	}
	var other TokenID
	if _, o := s.Check(other, secret[:], now); o != OutcomeUnknown {
		t.Fatalf("unknown id: %v", o)
	}
	if _, o := s.Check(id, secret[:], now.Add(time.Hour)); o != OutcomeExpired {
		t.Fatalf("at expiry: %v", o)
	}

	// Burned durably: a store reopened from the file sees it used.
	adm := Admission{Address: "127.0.0.5", Serial: "42", Fingerprint: "ab", HostID: "h"}
	if err := s.Burn(id, now, adm); err != nil {
		t.Fatal(err)
	}
	if err := s.Burn(id, now, adm); err == nil {
		t.Fatal("burned twice")
	}
	s2, err := OpenTokenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	r, o := s2.Check(id, secret[:], now)
	if o != OutcomeReused || r.Address != "127.0.0.5" || r.Serial != "42" || r.HostID != "h" {
		t.Fatalf("after reopen: %+v %v", r, o)
	}
	if err := s2.Revoke(id, now); err == nil {
		t.Fatal("revoked a used token")
	}

	// Revoke, and expired/revoked records are pruned a week later; used ones stay.
	_, id2, secret2, err := s2.Create(now, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.Revoke(id2, now); err != nil {
		t.Fatal(err)
	}
	if _, o := s2.Check(id2, secret2[:], now); o != OutcomeRevoked {
		t.Fatalf("revoked: %v", o)
	}
	_, id3, secret3, err := s2.Create(now, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := s2.Create(now.Add(keepExpired+time.Hour), time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, o := s2.Check(id2, secret2[:], now); o != OutcomeUnknown {
		t.Fatalf("revoked token not pruned: %v", o)
	}
	if _, o := s2.Check(id3, secret3[:], now.Add(time.Hour)); o != OutcomeUnknown {
		t.Fatalf("expired token not pruned: %v", o)
	}
	if _, o := s2.Check(id, secret[:], now); o != OutcomeReused {
		t.Fatalf("used token pruned: %v", o)
	}
	if n := len(s2.List()); n != 2 {
		t.Fatalf("%d records left, want 2", n)
	}
}

func TestTokenStoreBoundsOpenTokens(t *testing.T) {
	s, err := OpenTokenStore(filepath.Join(t.TempDir(), TokenStoreFile))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	s.recs = make([]Record, MaxOpenTokens)
	for i := range s.recs {
		s.recs[i] = Record{ID: "x", State: StateUnused, Expires: now.Add(time.Hour)}
	}
	if _, _, _, err := s.Create(now, time.Hour); err == nil {
		t.Fatal("token beyond MaxOpenTokens created")
	}
}

func TestOpenTokenStoreRefusesGarbage(t *testing.T) {
	path := filepath.Join(t.TempDir(), TokenStoreFile)
	os.WriteFile(path, []byte("{not json"), 0o600)
	if _, err := OpenTokenStore(path); err == nil {
		t.Fatal("garbage store opened")
	}
}
