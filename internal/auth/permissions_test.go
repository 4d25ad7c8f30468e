package auth

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/ringdb/ringdb/internal/query"
)

var _ query.PermissionManager = (*Manager)(nil)

// withRoles returns a clocked Manager holding the named login roles.
func withRoles(t *testing.T, start int64, names ...string) *Manager {
	t.Helper()
	m := clocked(start)
	yes := true
	for _, n := range names {
		if _, err := m.CreateRole(n, query.RoleOptions{Login: &yes}, false); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

// grants renders ListPermissions as "role resource P1,P2" lines.
func grants(t *testing.T, m *Manager) []string {
	t.Helper()
	gs, err := m.ListPermissions()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, g := range gs {
		out = append(out, g.Role+" "+g.Resource+" "+strings.Join(g.Permissions, ","))
	}
	return out
}

func wantGrants(t *testing.T, m *Manager, want ...string) {
	t.Helper()
	if got := grants(t, m); !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
		t.Fatalf("grants:\n got %q\nwant %q", got, want)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestGrantRevokeAndGeneration(t *testing.T) {
	m := withRoles(t, 1_000_000, "bob", "carol")
	g0 := m.Generation()
	must(t, m.GrantPermissions("bob", "data/ks/t", []string{"SELECT"}))
	must(t, m.GrantPermissions("bob", "data/ks/t", []string{"MODIFY", "SELECT"}))
	must(t, m.GrantPermissions("carol", "data", []string{"CREATE"}))
	wantGrants(t, m, `bob data/ks/t MODIFY,SELECT`, `carol data CREATE`)
	if m.Generation() != g0+3 {
		t.Fatalf("generation %d, want %d", m.Generation(), g0+3)
	}
	g1 := m.Generation()
	must(t, m.GrantPermissions("bob", "data/ks/t", []string{"SELECT"})) // held already: no change
	must(t, m.RevokePermissions("carol", "data/ks", []string{"CREATE"}))
	if m.Generation() != g1 {
		t.Fatal("no-op grant or revoke moved the generation")
	}
	must(t, m.RevokePermissions("bob", "data/ks/t", []string{"SELECT"}))
	must(t, m.RevokePermissions("carol", "data", []string{"CREATE"}))
	wantGrants(t, m, `bob data/ks/t MODIFY`)
	if err := m.GrantPermissions("nobody", "data", []string{"SELECT"}); err == nil || !strings.Contains(err.Error(), "Role nobody doesn't exist") {
		t.Fatalf("grant to a missing role: %v", err)
	}
}

// Dropping a keyspace removes the permissions on it and on its tables,
// not on other keyspaces; a grant after re-creation is kept.
func TestRevokeAllOnCoversChildren(t *testing.T) {
	m := withRoles(t, 1_000_000, "bob")
	must(t, m.GrantPermissions("bob", "data/ks", []string{"SELECT"}))
	must(t, m.GrantPermissions("bob", "data/ks/t", []string{"MODIFY"}))
	must(t, m.GrantPermissions("bob", "data/ks2/t", []string{"MODIFY"}))
	must(t, m.GrantPermissions("bob", "data/ks2", []string{"DROP"}))
	must(t, m.RevokeAllOn("data/ks"))
	wantGrants(t, m, `bob data/ks2 DROP`, `bob data/ks2/t MODIFY`)
	must(t, m.GrantPermissions("bob", "data/ks/t", []string{"SELECT"}))
	wantGrants(t, m, `bob data/ks/t SELECT`, `bob data/ks2 DROP`, `bob data/ks2/t MODIFY`)
}

// Dropping a role removes what was granted to it and what others hold on
// it; a role whose name extends the dropped one's keeps its grants.
func TestDropRoleRemovesPermissions(t *testing.T) {
	m := withRoles(t, 1_000_000, "bob", "bob/x", "carol")
	must(t, m.GrantPermissions("bob", "data/ks", []string{"SELECT"}))
	must(t, m.GrantPermissions("carol", "roles/bob", []string{"ALTER"}))
	must(t, m.GrantPermissions("carol", "roles/bob/x", []string{"DROP"}))
	if _, err := m.DropRole("bob", false); err != nil {
		t.Fatal(err)
	}
	wantGrants(t, m, `carol roles/bob/x DROP`)
	// Re-created, the role starts with nothing; a new grant holds.
	yes := true
	if _, err := m.CreateRole("bob", query.RoleOptions{Login: &yes}, false); err != nil {
		t.Fatal(err)
	}
	wantGrants(t, m, `carol roles/bob/x DROP`)
	must(t, m.GrantPermissions("bob", "data", []string{"SELECT"}))
	wantGrants(t, m, `bob data SELECT`, `carol roles/bob/x DROP`)
}

// syncBoth exchanges exports between a and b until they agree.
func syncBoth(t *testing.T, a, b *Manager, bound int64) {
	t.Helper()
	for range 2 {
		ea, err := a.Export()
		must(t, err)
		eb, err := b.Export()
		must(t, err)
		if _, err := b.Merge(ea, bound); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Merge(eb, bound); err != nil {
			t.Fatal(err)
		}
	}
	if a.Version() != b.Version() {
		t.Fatal("versions differ after sync")
	}
}

// Grants, revokes, drops and their tombstones travel with the roles; a
// replayed old push brings back neither a revoked grant nor a grant on a
// dropped table; a merge moves the generation.
func TestPermissionsMerge(t *testing.T) {
	const now = 1_000_000_000
	bound := int64(now + 600_000_000)
	a := withRoles(t, now, "bob", "carol")
	b := clocked(now + 300_000_000) // b runs 5 minutes ahead
	syncBoth(t, a, b, bound)
	must(t, a.GrantPermissions("bob", "data/ks/t", []string{"SELECT"}))
	must(t, b.GrantPermissions("carol", "data/ks/u", []string{"MODIFY"}))
	gen := b.Generation()
	syncBoth(t, a, b, bound)
	if b.Generation() == gen {
		t.Fatal("merge did not move the generation")
	}
	wantGrants(t, a, `bob data/ks/t SELECT`, `carol data/ks/u MODIFY`)
	old, err := b.Export()
	must(t, err)

	must(t, a.RevokePermissions("bob", "data/ks/t", []string{"SELECT"}))
	must(t, a.RevokeAllOn("data/ks/u")) // a's clock is behind the grant's stamp
	syncBoth(t, a, b, bound)
	wantGrants(t, b)
	for _, m := range []*Manager{a, b} {
		if changed, err := m.Merge(old, bound); err != nil || changed {
			t.Fatalf("replay: changed %v, %v", changed, err)
		}
		wantGrants(t, m)
	}

	// A grant made on b to a role that a, later, drops before seeing the
	// grant does not survive the drop once the nodes sync. (Newest change
	// wins, as for roles: a grant stamped after the drop by a clock
	// running ahead would stay, dangling, on the dropped role's name.)
	c, d := withRoles(t, now+600, "bob"), clocked(now)
	syncBoth(t, c, d, bound)
	must(t, d.GrantPermissions("bob", "data/ks2", []string{"SELECT"}))
	if _, err := c.DropRole("bob", false); err != nil {
		t.Fatal(err)
	}
	syncBoth(t, c, d, bound)
	wantGrants(t, c)
	wantGrants(t, d)
}

// A peer's permission with a far-future stamp (it would survive every
// later REVOKE) or a far-future permission tombstone (it would block every
// later GRANT) is refused whole, like a forged role: nothing of the push is
// merged.
func TestMergeRefusesForgedPermissions(t *testing.T) {
	const now = 1_000_000_000
	notAfter := int64(now + 600_000_000)
	for _, tc := range []struct {
		name string
		ex   exported
		what string
	}{
		{"far-future grant", exported{
			Roles: []roleRecord{{Name: "evil", CanLogin: true, Modified: now}},
			Perms: []permRecord{{Role: "app", Resource: "data", Permissions: []string{"SELECT", "MODIFY", "AUTHORIZE"}, Modified: math.MaxInt64}}},
			`permissions of "app" on "data" modified`},
		{"one microsecond beyond", exported{
			Perms: []permRecord{{Role: "app", Resource: "roles", Permissions: []string{"CREATE"}, Modified: notAfter + 1}}},
			`permissions of "app" on "roles" modified`},
		{"far-future tombstone", exported{PermTombs: map[string]int64{"data/ks": math.MaxInt64}},
			`permissions on "data/ks" tombstone`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := withRoles(t, now-1000, "app")
			must(t, m.GrantPermissions("app", "data/ks", []string{"SELECT"}))
			before, gen := m.Version(), m.Generation()
			data, err := json.Marshal(tc.ex)
			must(t, err)
			changed, err := m.Merge(data, notAfter)
			var te *TimestampError
			if !errors.As(err, &te) || changed {
				t.Fatalf("merge: changed %v, %v", changed, err)
			}
			if te.What != tc.what || te.Count != 1 {
				t.Fatalf("refusal %+v, want %s", te, tc.what)
			}
			if m.Version() != before || m.Generation() != gen {
				t.Fatal("refused push changed something")
			}
			if _, ok, _ := m.GetRole("evil"); ok {
				t.Fatal("role of a refused push merged")
			}
			wantGrants(t, m, `app data/ks SELECT`)
		})
	}
	// At the bound: accepted.
	m := withRoles(t, now-1000, "app")
	data, _ := json.Marshal(exported{Perms: []permRecord{{Role: "app", Resource: "data", Permissions: []string{"SELECT"}, Modified: notAfter}}})
	if changed, err := m.Merge(data, notAfter); err != nil || !changed {
		t.Fatalf("permission at the bound: %v %v", changed, err)
	}
	wantGrants(t, m, `app data SELECT`)
}

// A node without any permission exports exactly what it did before
// permissions existed, so its roles version is unchanged.
func TestExportWithoutPermissionsUnchanged(t *testing.T) {
	m := withRoles(t, 1_000_000, "bob")
	b, err := m.Export()
	must(t, err)
	if strings.Contains(string(b), "permission") {
		t.Fatalf("export mentions permissions: %s", b)
	}
}
