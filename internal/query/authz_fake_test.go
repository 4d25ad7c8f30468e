package query

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/ringdb/ringdb/internal/consistency"
	"github.com/ringdb/ringdb/internal/cqlerr"
	"github.com/ringdb/ringdb/internal/schema"
	"github.com/ringdb/ringdb/internal/storage"
)

// fakeAuth is an in-memory RoleManager and PermissionManager (internal/auth
// imports this package, so its tests cannot use the real one).
type fakeAuth struct {
	mu    sync.Mutex
	roles map[string]Role
	perms map[[2]string][]string // (role, resource) → permissions
	gen   uint64
}

func newFakeAuth() *fakeAuth {
	return &fakeAuth{roles: map[string]Role{}, perms: map[[2]string][]string{}}
}

func (f *fakeAuth) bump() { f.gen++ }

func (f *fakeAuth) ListRoles() ([]Role, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Role
	for _, r := range f.roles {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (f *fakeAuth) GetRole(name string) (Role, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.roles[name]
	return r, ok, nil
}

func (f *fakeAuth) CreateRole(name string, o RoleOptions, ifNotExists bool) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.roles[name]; ok {
		if ifNotExists {
			return false, nil
		}
		return false, cqlerr.Invalidf("%s already exists", name)
	}
	r := Role{Name: name, SaltedHash: "$2a$10$secret"}
	if o.Login != nil {
		r.CanLogin = *o.Login
	}
	if o.Superuser != nil {
		r.Superuser = *o.Superuser
	}
	f.roles[name] = r
	f.bump()
	return true, nil
}

func (f *fakeAuth) AlterRole(name string, o RoleOptions) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.roles[name]
	if !ok {
		return cqlerr.Invalidf("%s doesn't exist", name)
	}
	if o.Superuser != nil {
		r.Superuser = *o.Superuser
	}
	if o.Login != nil {
		r.CanLogin = *o.Login
	}
	f.roles[name] = r
	f.bump()
	return nil
}

func (f *fakeAuth) DropRole(name string, ifExists bool) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.roles[name]; !ok {
		if ifExists {
			return false, nil
		}
		return false, cqlerr.Invalidf("%s doesn't exist", name)
	}
	delete(f.roles, name)
	for k := range f.perms {
		if k[0] == name || k[1] == "roles/"+name {
			delete(f.perms, k)
		}
	}
	for n, r := range f.roles {
		r.MemberOf = slices.DeleteFunc(r.MemberOf, func(s string) bool { return s == name })
		f.roles[n] = r
	}
	f.bump()
	return true, nil
}

func (f *fakeAuth) GrantRole(role, grantee string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	g := f.roles[grantee]
	g.MemberOf = append(g.MemberOf, role)
	f.roles[grantee] = g
	f.bump()
	return nil
}

func (f *fakeAuth) RevokeRole(role, revokee string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	g := f.roles[revokee]
	g.MemberOf = slices.DeleteFunc(g.MemberOf, func(s string) bool { return s == role })
	f.roles[revokee] = g
	f.bump()
	return nil
}

func (f *fakeAuth) GrantPermissions(role, resource string, perms []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := [2]string{role, resource}
	for _, p := range perms {
		if !slices.Contains(f.perms[k], p) {
			f.perms[k] = append(f.perms[k], p)
		}
	}
	sort.Strings(f.perms[k])
	f.bump()
	return nil
}

func (f *fakeAuth) RevokePermissions(role, resource string, perms []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := [2]string{role, resource}
	f.perms[k] = slices.DeleteFunc(f.perms[k], func(p string) bool { return slices.Contains(perms, p) })
	f.bump()
	return nil
}

func (f *fakeAuth) RevokeAllOn(resource string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k := range f.perms {
		if k[1] == resource || strings.HasPrefix(k[1], resource+"/") {
			delete(f.perms, k)
		}
	}
	f.bump()
	return nil
}

func (f *fakeAuth) ListPermissions() ([]PermissionGrant, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []PermissionGrant
	for k, ps := range f.perms {
		if len(ps) > 0 {
			out = append(out, PermissionGrant{Role: k[0], Resource: k[1], Permissions: slices.Clone(ps)})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Role != out[j].Role {
			return out[i].Role < out[j].Role
		}
		return out[i].Resource < out[j].Resource
	})
	return out, nil
}

func (f *fakeAuth) Generation() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.gen
}

// authzEnv is a Processor with CassandraAuthorizer over a fakeAuth, the
// superuser "admin" and the login role "bob", keyspace ks with table
// ks.t (k int PRIMARY KEY, v int) and type ks.ty, created by admin.
type authzEnv struct {
	t     *testing.T
	p     *Processor
	auth  *fakeAuth
	admin *Session
	bob   *Session
}

func newAuthzEnv(t *testing.T) *authzEnv {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e, err := storage.Open(t.TempDir(), storage.Options{Logger: log, GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	sm, err := schema.NewManager(e, schema.SystemKeyspaces(), nil)
	if err != nil {
		t.Fatal(err)
	}
	fa := newFakeAuth()
	yes := true
	_, _ = fa.CreateRole("admin", RoleOptions{Login: &yes, Superuser: &yes}, false)
	_, _ = fa.CreateRole("bob", RoleOptions{Login: &yes}, false)
	env := &authzEnv{t: t, auth: fa,
		p:     New(Options{Schema: sm, Engine: e, Logger: log, Roles: fa, Authorizer: fa}),
		admin: &Session{User: "admin", Superuser: true}, bob: &Session{User: "bob"}}
	env.as(env.admin, "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
	env.as(env.admin, "CREATE TABLE ks.t (k int PRIMARY KEY, v int)")
	env.as(env.admin, "CREATE TYPE ks.ty (a int)")
	env.as(env.admin, "INSERT INTO ks.t (k, v) VALUES (1, 2)")
	return env
}

func (env *authzEnv) query(s *Session, q string) (*Result, error) {
	return env.p.Query(context.Background(), s, q, &Params{Consistency: consistency.One})
}

// as runs a statement that must succeed.
func (env *authzEnv) as(s *Session, q string) *Result {
	env.t.Helper()
	res, err := env.query(s, q)
	if err != nil {
		env.t.Fatalf("%s as %s: %v", q, s.User, err)
	}
	return res
}

// denied runs a statement that must fail with code and message.
func (env *authzEnv) denied(s *Session, q string, code cqlerr.Code, msg string) {
	env.t.Helper()
	_, err := env.query(s, q)
	wantErr(env.t, err, code, msg)
}

// rows runs a statement as s and renders its rows.
func (env *authzEnv) rows(s *Session, q string) []string {
	env.t.Helper()
	return renderRows(env.t, env.as(s, q))
}
