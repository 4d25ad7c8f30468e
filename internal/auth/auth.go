// Package auth owns client authentication and the permissions store:
// roles (Cassandra's system_auth.roles), their bcrypt-hashed passwords, the
// first-start superuser with a random password, the SASL PLAIN check the
// native protocol's PasswordAuthenticator performs, and the permissions
// CassandraAuthorizer grants (system_auth.role_permissions). Deciding
// whether a statement is allowed is the query layer's job (query/authz.go);
// this package only stores and syncs.
//
// Roles and permissions persist in the storage engine's metadata store and
// travel together in Export/Merge (newest change wins, drops leave
// tombstones, timestamps bounded by the caller's notAfter). The package
// never logs a password or a hash.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ringdb/ringdb/internal/tsbound"

	"golang.org/x/crypto/bcrypt"

	"github.com/ringdb/ringdb/internal/cqlerr"
	"github.com/ringdb/ringdb/internal/query"
)

// Store is where roles persist (the storage engine's metadata store).
type Store interface {
	SetMeta(key string, value []byte) error
	GetMeta(key string) ([]byte, bool, error)
	DeleteMeta(key string) error
	ListMeta(prefix string, fn func(key string, value []byte) bool) error
}

// BcryptCost is the bcrypt work factor (Cassandra uses 10).
const BcryptCost = 10

const rolePrefix = "auth/role/"

const tombPrefix = "auth/tomb/"

type roleRecord struct {
	Name       string   `json:"name"`
	CanLogin   bool     `json:"can_login"`
	Superuser  bool     `json:"is_superuser"`
	MemberOf   []string `json:"member_of,omitempty"`
	SaltedHash string   `json:"salted_hash,omitempty"`
	// Modified is when the role last changed (micros): on a merge between
	// nodes the newer record wins.
	Modified int64 `json:"modified"`
}

// Manager stores roles and checks passwords. It implements
// query.RoleManager. Roles are cluster-wide: Export and Merge exchange
// them between nodes (newest change wins, drops leave tombstones).
type Manager struct {
	mu       sync.Mutex // serialises role changes
	store    Store
	now      func() time.Time
	onChange atomic.Pointer[func()]
	// gen counts changes to roles and permissions (Generation).
	gen atomic.Uint64
}

// New returns a Manager over store.
func New(store Store) *Manager { return &Manager{store: store, now: time.Now} }

// SetOnChange registers fn, called after every local role change (the
// cluster pushes roles to peers).
func (m *Manager) SetOnChange(fn func()) { m.onChange.Store(&fn) }

func (m *Manager) changed() {
	if fn := m.onChange.Load(); fn != nil {
		(*fn)()
	}
}

// ErrBadCredentials is returned by Authenticate for an unknown role, a
// role that cannot log in, or a wrong password.
var ErrBadCredentials = errors.New("Provided username and/or password are incorrect")

// Bootstrap creates the default superuser "cassandra" with a random
// password written to <dataDir>/superuser.password (mode 0600) when no
// role exists yet. It returns the path of the password file when it made
// one, "" otherwise.
func (m *Manager) Bootstrap(dataDir string) (string, error) {
	roles, err := m.ListRoles()
	if err != nil {
		return "", err
	}
	if len(roles) > 0 {
		return "", nil
	}
	buf := make([]byte, 18)
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("auth: random password: %w", err)
	}
	pw := base64.RawURLEncoding.EncodeToString(buf)
	path := filepath.Join(dataDir, "superuser.password")
	if err := os.WriteFile(path, []byte(pw+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("auth: write %s: %w", path, err)
	}
	login, super := true, true
	if _, err := m.CreateRole("cassandra", query.RoleOptions{Password: &pw, Login: &login, Superuser: &super}, false); err != nil {
		return "", err
	}
	return path, nil
}

// Authenticate checks a username and password; it returns whether the
// role is a superuser.
func (m *Manager) Authenticate(user, password string) (bool, error) {
	r, ok, err := m.get(user)
	if err != nil {
		return false, err
	}
	if !ok || !r.CanLogin || r.SaltedHash == "" {
		// Spend the same time as a real check so role names cannot be
		// probed by timing.
		_ = bcrypt.CompareHashAndPassword([]byte("$2a$10$abcdefghijklmnopqrstuuS1X1b9S6f1q6L0vN6Q8yY9H6m3H0y2m"), []byte(password))
		return false, ErrBadCredentials
	}
	if bcrypt.CompareHashAndPassword([]byte(r.SaltedHash), []byte(password)) != nil {
		return false, ErrBadCredentials
	}
	return r.Superuser, nil
}

func (m *Manager) get(name string) (roleRecord, bool, error) {
	v, ok, err := m.store.GetMeta(rolePrefix + name)
	if err != nil || !ok {
		return roleRecord{}, false, err
	}
	var r roleRecord
	if err := json.Unmarshal(v, &r); err != nil {
		return roleRecord{}, false, fmt.Errorf("auth: corrupt role %q: %w", name, err)
	}
	return r, true, nil
}

// put stores r stamped now, or just after its previous stamp if that is
// not older (a record merged from a peer whose clock runs ahead): a local
// change always wins the merge over what it replaced.
func (m *Manager) put(r roleRecord) error {
	r.Modified = after(m.now().UnixMicro(), r.Modified)
	return m.putRaw(r)
}

// after is now, or just after prev if prev is not older than now.
func after(now, prev int64) int64 {
	if prev >= now && prev < math.MaxInt64 {
		return prev + 1
	}
	return max(now, prev)
}

// tomb returns the tombstone time of role name (0 if none).
func (m *Manager) tomb(name string) (int64, error) {
	v, ok, err := m.store.GetMeta(tombPrefix + name)
	if err != nil || !ok {
		return 0, err
	}
	var ts int64
	if err := json.Unmarshal(v, &ts); err != nil {
		return 0, fmt.Errorf("auth: corrupt tombstone of role %q: %w", name, err)
	}
	return ts, nil
}

func (m *Manager) putRaw(r roleRecord) error {
	v, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return m.store.SetMeta(rolePrefix+r.Name, v)
}

func toRole(r roleRecord) query.Role {
	return query.Role{Name: r.Name, CanLogin: r.CanLogin, Superuser: r.Superuser, MemberOf: r.MemberOf, SaltedHash: r.SaltedHash}
}

// ListRoles returns every role sorted by name.
func (m *Manager) ListRoles() ([]query.Role, error) {
	var out []query.Role
	var derr error
	err := m.store.ListMeta(rolePrefix, func(_ string, v []byte) bool {
		var r roleRecord
		if derr = json.Unmarshal(v, &r); derr != nil {
			return false
		}
		out = append(out, toRole(r))
		return true
	})
	if err == nil {
		err = derr
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, err
}

// GetRole returns one role.
func (m *Manager) GetRole(name string) (query.Role, bool, error) {
	r, ok, err := m.get(name)
	return toRole(r), ok, err
}

func hash(pw string) (string, error) {
	if pw == "" {
		return "", cqlerr.Invalidf("Password must not be empty")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), BcryptCost)
	if err != nil {
		return "", cqlerr.Invalidf("Invalid password: %v", err)
	}
	return string(h), nil
}

// createRole creates a role.
func (m *Manager) createRole(name string, o query.RoleOptions, ifNotExists bool) (bool, error) {
	if _, ok, err := m.get(name); err != nil {
		return false, err
	} else if ok {
		if ifNotExists {
			return false, nil
		}
		return false, cqlerr.Invalidf("%s already exists", name)
	}
	// A role dropped before is re-created after its tombstone, so the
	// creation wins the merge everywhere.
	ts, err := m.tomb(name)
	if err != nil {
		return false, err
	}
	r := roleRecord{Name: name, Modified: ts}
	if o.Login != nil {
		r.CanLogin = *o.Login
	}
	if o.Superuser != nil {
		r.Superuser = *o.Superuser
	}
	if o.Password != nil {
		h, err := hash(*o.Password)
		if err != nil {
			return false, err
		}
		r.SaltedHash = h
	}
	if err := m.put(r); err != nil {
		return false, err
	}
	return true, nil
}

// alterRole changes a role's password, login or superuser status.
func (m *Manager) alterRole(name string, o query.RoleOptions) error {
	r, ok, err := m.get(name)
	if err != nil {
		return err
	}
	if !ok {
		return cqlerr.Invalidf("%s doesn't exist", name)
	}
	if o.Login != nil {
		r.CanLogin = *o.Login
	}
	if o.Superuser != nil {
		r.Superuser = *o.Superuser
	}
	if o.Password != nil {
		h, err := hash(*o.Password)
		if err != nil {
			return err
		}
		r.SaltedHash = h
	}
	if err := m.put(r); err != nil {
		return err
	}
	return nil
}

// dropRole drops a role and removes it from every role it was granted to.
// The tombstone is stamped after the role's last change (now, unless the
// role came from a peer whose clock runs ahead), so the drop wins the merge
// on every node and no replay of an older push brings the role back.
func (m *Manager) dropRole(name string, ifExists bool) (bool, error) {
	dropped, ok, err := m.get(name)
	if err != nil {
		return false, err
	} else if !ok {
		if ifExists {
			return false, nil
		}
		return false, cqlerr.Invalidf("%s doesn't exist", name)
	}
	roles, err := m.ListRoles()
	if err != nil {
		return false, err
	}
	for _, r := range roles {
		if slices.Contains(r.MemberOf, name) {
			rec, _, _ := m.get(r.Name)
			rec.MemberOf = slices.DeleteFunc(rec.MemberOf, func(s string) bool { return s == name })
			if err := m.put(rec); err != nil {
				return false, err
			}
		}
	}
	newest, err := m.dropRolePerms(name)
	if err != nil {
		return false, err
	}
	if _, err := m.revokeAllOn("roles/" + name); err != nil {
		return false, err
	}
	ts, _ := json.Marshal(after(m.now().UnixMicro(), max(dropped.Modified, newest)))
	if err := m.store.SetMeta(tombPrefix+name, ts); err != nil {
		return false, err
	}
	if err := m.store.DeleteMeta(rolePrefix + name); err != nil {
		return false, err
	}
	return true, nil
}

// grantRole makes grantee a member of role.
func (m *Manager) grantRole(role, grantee string) error {
	if _, ok, err := m.get(role); err != nil || !ok {
		if err != nil {
			return err
		}
		return cqlerr.Invalidf("%s doesn't exist", role)
	}
	g, ok, err := m.get(grantee)
	if err != nil {
		return err
	}
	if !ok {
		return cqlerr.Invalidf("%s doesn't exist", grantee)
	}
	if role == grantee {
		return cqlerr.Invalidf("%s is a member of %s", grantee, role)
	}
	if slices.Contains(g.MemberOf, role) {
		return cqlerr.Invalidf("%s is a member of %s", grantee, role)
	}
	g.MemberOf = append(g.MemberOf, role)
	sort.Strings(g.MemberOf)
	if err := m.put(g); err != nil {
		return err
	}
	return nil
}

// revokeRole removes revokee from role.
func (m *Manager) revokeRole(role, revokee string) error {
	g, ok, err := m.get(revokee)
	if err != nil {
		return err
	}
	if !ok {
		return cqlerr.Invalidf("%s doesn't exist", revokee)
	}
	if !slices.Contains(g.MemberOf, role) {
		return cqlerr.Invalidf("%s is not a member of %s", revokee, role)
	}
	g.MemberOf = slices.DeleteFunc(g.MemberOf, func(s string) bool { return s == role })
	if err := m.put(g); err != nil {
		return err
	}
	return nil
}

// CreateRole creates a role.
func (m *Manager) CreateRole(name string, o query.RoleOptions, ifNotExists bool) (bool, error) {
	return m.mutate(func() (bool, error) { return m.createRole(name, o, ifNotExists) })
}

// AlterRole changes a role's password, login or superuser status.
func (m *Manager) AlterRole(name string, o query.RoleOptions) error {
	_, err := m.mutate(func() (bool, error) { return true, m.alterRole(name, o) })
	return err
}

// DropRole drops a role and removes it from every role it was granted to.
func (m *Manager) DropRole(name string, ifExists bool) (bool, error) {
	return m.mutate(func() (bool, error) { return m.dropRole(name, ifExists) })
}

// GrantRole makes grantee a member of role.
func (m *Manager) GrantRole(role, grantee string) error {
	_, err := m.mutate(func() (bool, error) { return true, m.grantRole(role, grantee) })
	return err
}

// RevokeRole removes revokee from role.
func (m *Manager) RevokeRole(role, revokee string) error {
	_, err := m.mutate(func() (bool, error) { return true, m.revokeRole(role, revokee) })
	return err
}

// mutate runs a role change under the lock, then (unlocked) tells the
// cluster when something changed.
func (m *Manager) mutate(fn func() (bool, error)) (bool, error) {
	m.mu.Lock()
	changed, err := fn()
	if changed {
		m.gen.Add(1) // even on a partial failure: caches must not trust old state
	}
	m.mu.Unlock()
	if changed && err == nil {
		m.changed()
	}
	return changed, err
}

type exported struct {
	Roles []roleRecord     `json:"roles"`
	Tombs map[string]int64 `json:"tombstones,omitempty"`
	// Perms and PermTombs are the permission records and resource
	// tombstones (permissions.go); omitted when empty, so a node without
	// any grant exports what it did before permissions existed.
	Perms     []permRecord     `json:"permissions,omitempty"`
	PermTombs map[string]int64 `json:"permission_tombstones,omitempty"`
}

func (m *Manager) export() (exported, error) {
	var ex exported
	var derr error
	err := m.store.ListMeta(rolePrefix, func(_ string, v []byte) bool {
		var r roleRecord
		if derr = json.Unmarshal(v, &r); derr != nil {
			return false
		}
		ex.Roles = append(ex.Roles, r)
		return true
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return ex, err
	}
	sort.Slice(ex.Roles, func(i, j int) bool { return ex.Roles[i].Name < ex.Roles[j].Name })
	ex.Tombs = map[string]int64{}
	err = m.store.ListMeta(tombPrefix, func(k string, v []byte) bool {
		var ts int64
		if json.Unmarshal(v, &ts) == nil {
			ex.Tombs[strings.TrimPrefix(k, tombPrefix)] = ts
		}
		return true
	})
	if err != nil {
		return ex, err
	}
	if ex.Perms, err = m.listPerms(); err != nil {
		return ex, err
	}
	ex.PermTombs, err = m.listPermTombs()
	return ex, err
}

// Export returns every role (with its password hash), role tombstone,
// permission record and permission tombstone, for a peer to Merge. It travels only over the mutual-TLS internode
// connection.
func (m *Manager) Export() ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ex, err := m.export()
	if err != nil {
		return nil, err
	}
	return json.Marshal(ex)
}

// Version is a short hash of Export: equal versions mean equal roles and
// permissions.
func (m *Manager) Version() string {
	b, err := m.Export()
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// Merge folds a peer's exported roles and permissions into ours: for each
// role and each (role, resource) permission record the newer record wins
// (ties by content), tombstones newer than a record remove it (a role's
// tombstone also removes the permissions granted to it). It reports whether
// anything changed.
//
// notAfter (µs since the epoch) bounds every role's and permission record's
// modification time and every tombstone in data: data holding a later one
// is refused whole, with
// a *TimestampError, before anything is applied. A role stamped far in the
// future would survive every later DROP ROLE, and such a tombstone would
// delete a role for good. The caller chooses the bound (the cluster uses now
// plus its clock skew allowance); math.MaxInt64 accepts any timestamp.
func (m *Manager) Merge(data []byte, notAfter int64) (bool, error) {
	changed, err := m.merge(data, notAfter)
	if changed {
		m.gen.Add(1)
	}
	return changed, err
}

func (m *Manager) merge(data []byte, notAfter int64) (bool, error) {
	var in exported
	if err := json.Unmarshal(data, &in); err != nil {
		return false, fmt.Errorf("auth: decode peer roles: %w", err)
	}
	if err := in.checkTimestamps(notAfter); err != nil {
		return false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	local, err := m.export()
	if err != nil {
		return false, err
	}
	byName := map[string]roleRecord{}
	for _, r := range local.Roles {
		byName[r.Name] = r
	}
	changed := false
	for name, ts := range in.Tombs {
		if ts > local.Tombs[name] {
			b, _ := json.Marshal(ts)
			if err := m.store.SetMeta(tombPrefix+name, b); err != nil {
				return changed, err
			}
			local.Tombs[name] = ts
			changed = true
		}
		if r, ok := byName[name]; ok && r.Modified < ts {
			if err := m.store.DeleteMeta(rolePrefix + name); err != nil {
				return changed, err
			}
			delete(byName, name)
			changed = true
		}
	}
	for _, r := range in.Roles {
		if r.Name == "" || local.Tombs[r.Name] >= r.Modified {
			continue
		}
		cur, ok := byName[r.Name]
		if ok {
			if cur.Modified > r.Modified {
				continue
			}
			if cur.Modified == r.Modified {
				a, _ := json.Marshal(cur)
				b, _ := json.Marshal(r)
				if string(a) >= string(b) {
					continue
				}
			}
		}
		if err := m.putRaw(r); err != nil {
			return changed, err
		}
		byName[r.Name] = r
		changed = true
	}
	pc, err := m.mergePerms(in, local.Tombs)
	return changed || pc, err
}

// TimestampError is Merge's refusal of a peer's roles holding timestamps
// beyond the bound it was given; nothing of them was merged. What names
// the first offending timestamp in name order: "role R modified",
// "role R tombstone", "permissions of R on X modified" or "permissions on X
// tombstone" (names as the peer sent them).
type TimestampError = tsbound.Error

// checkTimestamps returns a *TimestampError if a role or tombstone of ex is
// stamped after notAfter.
func (ex *exported) checkTimestamps(notAfter int64) error {
	type stamp struct {
		what string
		ts   int64
	}
	var stamps []stamp
	for _, r := range ex.Roles {
		stamps = append(stamps, stamp{fmt.Sprintf("role %q modified", r.Name), r.Modified})
	}
	for name, ts := range ex.Tombs {
		stamps = append(stamps, stamp{fmt.Sprintf("role %q tombstone", name), ts})
	}
	for _, p := range ex.Perms {
		stamps = append(stamps, stamp{fmt.Sprintf("permissions of %q on %q modified", p.Role, p.Resource), p.Modified})
	}
	for res, ts := range ex.PermTombs {
		stamps = append(stamps, stamp{fmt.Sprintf("permissions on %q tombstone", res), ts})
	}
	slices.SortFunc(stamps, func(a, b stamp) int { return strings.Compare(a.what, b.what) })
	c := tsbound.New("auth", notAfter)
	for _, st := range stamps {
		c.Add(st.what, st.ts)
	}
	return c.Err()
}
