package auth

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringdb/ringdb/internal/query"
)

type memStore struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (s *memStore) SetMeta(k string, v []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[k] = append([]byte(nil), v...)
	return nil
}
func (s *memStore) GetMeta(k string) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[k]
	return v, ok, nil
}
func (s *memStore) DeleteMeta(k string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, k)
	return nil
}
func (s *memStore) ListMeta(prefix string, fn func(string, []byte) bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range s.m {
		if strings.HasPrefix(k, prefix) && !fn(k, v) {
			break
		}
	}
	return nil
}

func TestBootstrapOnceAndAuthenticate(t *testing.T) {
	dir := t.TempDir()
	m := New(&memStore{m: map[string][]byte{}})
	path, err := m.Bootstrap(dir)
	if err != nil || path != filepath.Join(dir, "superuser.password") {
		t.Fatalf("bootstrap: %q %v", path, err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("password file mode: %v %v", fi, err)
	}
	pw, _ := os.ReadFile(path)
	password := strings.TrimSpace(string(pw))
	if len(password) < 20 {
		t.Fatalf("password too short: %d chars", len(password))
	}
	if again, err := m.Bootstrap(dir); err != nil || again != "" {
		t.Fatalf("second bootstrap must do nothing: %q %v", again, err)
	}
	if super, err := m.Authenticate("cassandra", password); err != nil || !super {
		t.Fatalf("superuser login: %v %v", super, err)
	}
	for _, bad := range [][2]string{{"cassandra", "cassandra"}, {"cassandra", ""}, {"nobody", password}} {
		if _, err := m.Authenticate(bad[0], bad[1]); err != ErrBadCredentials {
			t.Fatalf("%v: want bad credentials, got %v", bad, err)
		}
	}
	r, ok, _ := m.GetRole("cassandra")
	if !ok || !strings.HasPrefix(r.SaltedHash, "$2a$10$") || strings.Contains(r.SaltedHash, password) {
		t.Fatalf("stored hash: %+v", r)
	}
}

func TestRoleLifecycle(t *testing.T) {
	m := New(&memStore{m: map[string][]byte{}})
	yes, no := true, false
	pw := "pw-one"
	if _, err := m.CreateRole("app", query.RoleOptions{Password: &pw, Login: &yes}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := m.CreateRole("readers", query.RoleOptions{Login: &no}, false); err != nil {
		t.Fatal(err)
	}
	if err := m.GrantRole("readers", "app"); err != nil {
		t.Fatal(err)
	}
	if err := m.GrantRole("readers", "app"); err == nil {
		t.Fatal("double grant must fail")
	}
	if _, err := m.Authenticate("readers", ""); err != ErrBadCredentials {
		t.Fatal("a role without LOGIN must not authenticate")
	}
	if _, err := m.DropRole("readers", false); err != nil {
		t.Fatal(err)
	}
	r, _, _ := m.GetRole("app")
	if len(r.MemberOf) != 0 {
		t.Fatalf("dropped role still granted: %v", r.MemberOf)
	}
	if changed, err := m.DropRole("readers", true); err != nil || changed {
		t.Fatalf("IF EXISTS drop of a missing role: %v %v", changed, err)
	}
	if err := m.AlterRole("app", query.RoleOptions{Login: &no}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Authenticate("app", pw); err != ErrBadCredentials {
		t.Fatal("login disabled but still authenticates")
	}
}

// TestMergeConverges: two nodes' role stores exchange exports and end
// equal; drops and newer changes win.
func TestMergeConverges(t *testing.T) {
	a := New(&memStore{m: map[string][]byte{}})
	b := New(&memStore{m: map[string][]byte{}})
	var clock int64 = 1_000_000
	tick := func() time.Time { clock += 10; return time.UnixMicro(clock) }
	a.now, b.now = tick, tick
	yes := true
	pw1, pw2 := "first-pass", "second-pass"
	if _, err := a.CreateRole("app", query.RoleOptions{Password: &pw1, Login: &yes}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := b.CreateRole("ops", query.RoleOptions{Password: &pw1, Login: &yes}, false); err != nil {
		t.Fatal(err)
	}
	sync := func() {
		for i := 0; i < 2; i++ {
			ea, _ := a.Export()
			eb, _ := b.Export()
			if _, err := b.Merge(ea, math.MaxInt64); err != nil {
				t.Fatal(err)
			}
			if _, err := a.Merge(eb, math.MaxInt64); err != nil {
				t.Fatal(err)
			}
		}
	}
	sync()
	if a.Version() != b.Version() {
		t.Fatal("versions differ after sync")
	}
	// A newer password on b wins on a.
	if err := b.AlterRole("app", query.RoleOptions{Password: &pw2}); err != nil {
		t.Fatal(err)
	}
	sync()
	if _, err := a.Authenticate("app", pw2); err != nil {
		t.Fatalf("password change did not propagate: %v", err)
	}
	// A drop on a removes the role on b.
	if _, err := a.DropRole("ops", false); err != nil {
		t.Fatal(err)
	}
	sync()
	if _, ok, _ := b.GetRole("ops"); ok {
		t.Fatal("dropped role came back")
	}
	if changed, _ := b.Merge([]byte(`not json`), math.MaxInt64); changed {
		t.Fatal("bad input changed roles")
	}
}
