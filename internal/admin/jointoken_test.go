package admin

import (
	"bytes"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type fakeJoinTokens struct {
	ttl     time.Duration
	revoked string
	issuer  bool
}

var errNoCA = errors.New("this node holds no cluster CA: start an issuing member with --ca-dir")

func (f *fakeJoinTokens) CreateJoinToken(ttl time.Duration) (JoinToken, error) {
	if !f.issuer {
		return JoinToken{}, errNoCA
	}
	f.ttl = ttl
	return JoinToken{Token: "join1.abc", ID: "0011223344556677", Expires: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Issuer: "10.0.0.1:7000", CAFingerprint: "ff"}, nil
}

func (f *fakeJoinTokens) ListJoinTokens() ([]JoinTokenInfo, error) {
	if !f.issuer {
		return nil, errNoCA
	}
	exp := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return []JoinTokenInfo{
		{ID: "0011223344556677", State: "used", Expires: exp, At: exp.Add(-time.Minute), Address: "10.0.0.4", Serial: "42", HostID: "h"},
		{ID: "8899aabbccddeeff", State: "expired", Expires: exp},
	}, nil
}

func (f *fakeJoinTokens) RevokeJoinToken(id string) error {
	if id != "8899aabbccddeeff" {
		return errors.New("no join token " + id)
	}
	f.revoked = id
	return nil
}

func TestJoinTokenEndpoints(t *testing.T) {
	dir := t.TempDir()
	jt := &fakeJoinTokens{issuer: true}
	s, err := Start(Options{Addr: "127.0.0.1:0", TokenFile: filepath.Join(dir, "admin.token"), Node: fakeNode{}, JoinTokens: jt})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	resp, err := http.Post("http://"+s.Addr().String()+"/v1/join-tokens", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("without the admin token: %d", resp.StatusCode)
	}
	tok, _ := os.ReadFile(filepath.Join(dir, "admin.token"))
	c := NewClient(s.Addr().String(), string(tok))
	created, err := c.CreateJoinToken(90 * time.Minute)
	if err != nil || created.Token != "join1.abc" || jt.ttl != 90*time.Minute {
		t.Fatalf("create: %+v, %v (ttl %v)", created, err, jt.ttl)
	}
	var b bytes.Buffer
	WriteJoinToken(&b, created)
	if first, _, _ := strings.Cut(b.String(), "\n"); first != "join1.abc" {
		t.Fatalf("the token is not alone on the first line:\n%s", b.String())
	}
	list, err := c.ListJoinTokens()
	if err != nil || len(list) != 2 {
		t.Fatalf("list: %+v, %v", list, err)
	}
	b.Reset()
	WriteJoinTokens(&b, list)
	if !strings.Contains(b.String(), "10.0.0.4 serial 42") || !strings.Contains(b.String(), "expired") {
		t.Fatalf("list output:\n%s", b.String())
	}
	if err := c.RevokeJoinToken("8899aabbccddeeff"); err != nil || jt.revoked != "8899aabbccddeeff" {
		t.Fatalf("revoke: %v", err)
	}
	if err := c.RevokeJoinToken("nope"); err == nil || !strings.Contains(err.Error(), "no join token nope") {
		t.Fatalf("revoke unknown: %v", err)
	}

	// A member without the CA says what to do instead.
	jt.issuer = false
	if _, err := c.CreateJoinToken(0); err == nil || !strings.Contains(err.Error(), "--ca-dir") {
		t.Fatalf("no CA: %v", err)
	}
}
