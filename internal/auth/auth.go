// Package auth owns client authentication: roles (Cassandra's
// system_auth.roles), their bcrypt-hashed passwords, the first-start
// superuser with a random password, and the SASL PLAIN check the native
// protocol's PasswordAuthenticator performs.
//
// Roles persist in the storage engine's metadata store. The package never
// logs a password or a hash.
package auth

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"

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

type roleRecord struct {
	Name       string   `json:"name"`
	CanLogin   bool     `json:"can_login"`
	Superuser  bool     `json:"is_superuser"`
	MemberOf   []string `json:"member_of,omitempty"`
	SaltedHash string   `json:"salted_hash,omitempty"`
}

// Manager stores roles and checks passwords. It implements
// query.RoleManager.
type Manager struct {
	mu    sync.Mutex // serialises role changes
	store Store
}

// New returns a Manager over store.
func New(store Store) *Manager { return &Manager{store: store} }

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

func (m *Manager) put(r roleRecord) error {
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

// CreateRole creates a role.
func (m *Manager) CreateRole(name string, o query.RoleOptions, ifNotExists bool) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok, err := m.get(name); err != nil {
		return false, err
	} else if ok {
		if ifNotExists {
			return false, nil
		}
		return false, cqlerr.Invalidf("%s already exists", name)
	}
	r := roleRecord{Name: name}
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
	return true, m.put(r)
}

// AlterRole changes a role's password, login or superuser status.
func (m *Manager) AlterRole(name string, o query.RoleOptions) error {
	m.mu.Lock()
	defer m.mu.Unlock()
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
	return m.put(r)
}

// DropRole drops a role and removes it from every role it was granted to.
func (m *Manager) DropRole(name string, ifExists bool) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok, err := m.get(name); err != nil {
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
	return true, m.store.DeleteMeta(rolePrefix + name)
}

// GrantRole makes grantee a member of role.
func (m *Manager) GrantRole(role, grantee string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
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
	return m.put(g)
}

// RevokeRole removes revokee from role.
func (m *Manager) RevokeRole(role, revokee string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
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
	return m.put(g)
}
