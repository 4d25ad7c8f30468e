package auth

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/ringdb/ringdb/internal/query"
)

// clocked returns a Manager on an empty store whose clock starts at start
// (µs) and advances 10 µs per reading.
func clocked(start int64) *Manager {
	m := New(&memStore{m: map[string][]byte{}})
	clock := start
	m.now = func() time.Time { clock += 10; return time.UnixMicro(clock) }
	return m
}

// push encodes roles and tombstones as a peer's export.
func push(t *testing.T, roles []roleRecord, tombs map[string]int64) []byte {
	t.Helper()
	b, err := json.Marshal(exported{Roles: roles, Tombs: tombs})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A peer's roles holding a modification time or a tombstone beyond the
// bound are refused whole: the forged superuser is not created, the real
// role is not deleted, and the valid records in the same push are not
// merged either.
func TestMergeRefusesTimestampsBeyondBound(t *testing.T) {
	const now = 1_000_000_000
	notAfter := int64(now + 600_000_000)
	for _, tc := range []struct {
		name  string
		roles []roleRecord
		tombs map[string]int64
		what  string
		count int
	}{
		{"far-future superuser", []roleRecord{{Name: "evil", CanLogin: true, Superuser: true, SaltedHash: "$2a$10$x", Modified: math.MaxInt64}},
			nil, `role "evil" modified`, 1},
		{"far-future tombstone", nil, map[string]int64{"app": math.MaxInt64}, `role "app" tombstone`, 1},
		{"one microsecond beyond", []roleRecord{{Name: "evil", Superuser: true, Modified: notAfter + 1}}, nil, `role "evil" modified`, 1},
		{"mixed with valid records", []roleRecord{{Name: "bob", CanLogin: true, Modified: now - 5}, {Name: "zed", Modified: math.MaxInt64}},
			map[string]int64{"app": math.MaxInt64, "old": now - 5}, `role "app" tombstone`, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := clocked(now - 1000)
			yes := true
			if _, err := m.CreateRole("app", query.RoleOptions{Login: &yes}, false); err != nil {
				t.Fatal(err)
			}
			before := m.Version()
			changed, err := m.Merge(push(t, tc.roles, tc.tombs), notAfter)
			var te *TimestampError
			if !errors.As(err, &te) || changed {
				t.Fatalf("merge: changed %v, %v", changed, err)
			}
			if te.What != tc.what || te.Count != tc.count || te.NotAfter != notAfter || !strings.Contains(err.Error(), "nothing merged") {
				t.Fatalf("refusal %+v (%v), want %s ×%d", te, err, tc.what, tc.count)
			}
			if m.Version() != before {
				t.Fatal("refused push changed the roles")
			}
			if _, ok, err := m.GetRole("app"); err != nil || !ok {
				t.Fatalf("real role lost: %v", err)
			}
		})
	}
	// At the bound: accepted.
	m := clocked(now)
	if changed, err := m.Merge(push(t, []roleRecord{{Name: "edge", Modified: notAfter}}, nil), notAfter); err != nil || !changed {
		t.Fatalf("role at the bound: %v %v", changed, err)
	}
}

// A dropped role stays dropped: replaying a push from before the drop does
// not resurrect it, even when the role came from a peer whose clock runs
// ahead (within the accepted skew) of the node that drops it, because the
// tombstone is stamped after the role's last change. Re-creating the role
// later stamps it after the tombstone, so the new role reaches the peers.
func TestDroppedRoleStaysDropped(t *testing.T) {
	const now = 1_000_000_000
	a, b := clocked(now), clocked(now+300_000_000) // b runs 5 minutes ahead
	yes := true
	if _, err := b.CreateRole("evil", query.RoleOptions{Login: &yes, Superuser: &yes}, false); err != nil {
		t.Fatal(err)
	}
	old, _ := b.Export() // recorded by an attacker
	bound := int64(now + 600_000_000)
	sync := func() {
		t.Helper()
		for range 2 {
			ea, _ := a.Export()
			eb, _ := b.Export()
			if _, err := b.Merge(ea, bound); err != nil {
				t.Fatal(err)
			}
			if _, err := a.Merge(eb, bound); err != nil {
				t.Fatal(err)
			}
		}
	}
	sync()
	if _, ok, _ := a.GetRole("evil"); !ok {
		t.Fatal("a lacks the role")
	}
	if _, err := a.DropRole("evil", false); err != nil { // a's clock is behind the role's stamp
		t.Fatal(err)
	}
	sync()
	for _, m := range []*Manager{a, b} {
		if changed, err := m.Merge(old, bound); err != nil || changed {
			t.Fatalf("replay: changed %v, %v", changed, err)
		}
		if _, ok, _ := m.GetRole("evil"); ok {
			t.Fatal("replayed push resurrected a dropped role")
		}
	}
	if a.Version() != b.Version() {
		t.Fatal("versions differ")
	}
	// Re-created on a (clock behind the tombstone): wins on b.
	no := false
	if _, err := a.CreateRole("evil", query.RoleOptions{Login: &yes, Superuser: &no}, false); err != nil {
		t.Fatal(err)
	}
	sync()
	if r, ok, _ := b.GetRole("evil"); !ok || r.Superuser {
		t.Fatalf("re-created role on b: %v %+v", ok, r)
	}
}
