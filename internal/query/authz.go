package query

import (
	"strings"
	"sync"

	"github.com/ringdb/ringdb/internal/cqlerr"
)

// Authorization with CassandraAuthorizer's semantics (decision 015).
//
// Permissions are granted to roles on resources named as Cassandra names
// them: "data" (ALL KEYSPACES), "data/ks" (KEYSPACE ks), "data/ks/t"
// (TABLE ks.t), "roles" (ALL ROLES) and "roles/r" (ROLE r). A role holds a
// permission on a resource when it, or any role granted to it, was granted
// that permission on the resource or on one of its parents. Superusers
// (a role or any role granted to it with SUPERUSER) hold every permission.
// The checks per statement are in authz_stmt.go; GRANT, REVOKE and LIST
// PERMISSIONS in authz_perms.go.

// PermissionGrant is the permissions one role holds directly on one
// resource (a row of system_auth.role_permissions).
type PermissionGrant struct {
	Role        string
	Resource    string   // Cassandra resource name, e.g. "data/ks/t"
	Permissions []string // upper-case names, e.g. "SELECT"
}

// PermissionManager stores CassandraAuthorizer's permissions; nil in
// Options.Authorizer means AllowAllAuthorizer. Implemented by internal/auth.
type PermissionManager interface {
	// GrantPermissions adds perms to what role holds on resource.
	GrantPermissions(role, resource string, perms []string) error
	// RevokePermissions removes perms from what role holds on resource.
	RevokePermissions(role, resource string, perms []string) error
	// RevokeAllOn removes every role's permissions on resource and on
	// every resource below it (a dropped keyspace, table or role).
	RevokeAllOn(resource string) error
	// ListPermissions returns every non-empty grant.
	ListPermissions() ([]PermissionGrant, error)
	// Generation changes whenever roles or permissions change, locally or
	// by a merge from a peer: resolved permissions cached at one
	// generation are stale at any other.
	Generation() uint64
}

// permission is one of Cassandra's permissions, in Cassandra's order (the
// order LIST PERMISSIONS sorts by).
type permission uint8

const (
	permCreate permission = iota
	permAlter
	permDrop
	permSelect
	permModify
	permAuthorize
	permDescribe
	permExecute
	numPermissions
)

var permNames = [numPermissions]string{"CREATE", "ALTER", "DROP", "SELECT", "MODIFY", "AUTHORIZE", "DESCRIBE", "EXECUTE"}

func (p permission) String() string { return permNames[p] }

// parsePermission maps an upper-case name to its permission.
func parsePermission(name string) (permission, bool) {
	for i, n := range permNames {
		if n == name {
			return permission(i), true
		}
	}
	return 0, false
}

// permSet is a set of permissions.
type permSet uint16

func setOf(ps ...permission) permSet {
	var s permSet
	for _, p := range ps {
		s |= 1 << p
	}
	return s
}

func (s permSet) has(p permission) bool { return s&(1<<p) != 0 }

// list returns the permissions of s in Cassandra's order.
func (s permSet) list() []permission {
	var out []permission
	for p := permission(0); p < numPermissions; p++ {
		if s.has(p) {
			out = append(out, p)
		}
	}
	return out
}

func (s permSet) names() []string {
	var out []string
	for _, p := range s.list() {
		out = append(out, p.String())
	}
	return out
}

// namesToSet converts stored names, ignoring unknown ones (a newer peer's).
func namesToSet(names []string) permSet {
	var s permSet
	for _, n := range names {
		if p, ok := parsePermission(n); ok {
			s |= setOf(p)
		}
	}
	return s
}

// Root resource names.
const (
	rootData  = "data"
	rootRoles = "roles"
)

func keyspaceResource(ks string) string { return rootData + "/" + ks }
func tableResource(ks, t string) string { return rootData + "/" + ks + "/" + t }
func roleResource(role string) string   { return rootRoles + "/" + role }
func isRoleResource(name string) bool {
	return name == rootRoles || strings.HasPrefix(name, rootRoles+"/")
}
func isTableResource(name string) bool { return strings.Count(name, "/") == 2 && !isRoleResource(name) }
func isKeyspaceResource(name string) bool {
	return strings.Count(name, "/") == 1 && !isRoleResource(name)
}

// Applicable permissions per resource level (Cassandra 4.0's DataResource
// and RoleResource).
var (
	keyspacePerms = setOf(permCreate, permAlter, permDrop, permSelect, permModify, permAuthorize)
	tablePerms    = setOf(permAlter, permDrop, permSelect, permModify, permAuthorize)
	allRolesPerms = setOf(permCreate, permAlter, permDrop, permAuthorize, permDescribe)
	rolePerms     = setOf(permAlter, permDrop, permAuthorize)
)

// applicablePerms returns the permissions that may be granted on resource.
func applicablePerms(name string) permSet {
	switch {
	case name == rootRoles:
		return allRolesPerms
	case isRoleResource(name):
		return rolePerms
	case isTableResource(name):
		return tablePerms
	}
	return keyspacePerms
}

// resourceClass is the Cassandra class name of a resource, as error
// messages show it.
func resourceClass(name string) string {
	if isRoleResource(name) {
		return "RoleResource"
	}
	return "DataResource"
}

// displayResource renders a resource as Cassandra does: "<all keyspaces>",
// "<keyspace ks>", "<table ks.t>", "<all roles>", "<role r>".
func displayResource(name string) string {
	switch {
	case name == rootData:
		return "<all keyspaces>"
	case name == rootRoles:
		return "<all roles>"
	case isRoleResource(name):
		return "<role " + strings.TrimPrefix(name, rootRoles+"/") + ">"
	case isTableResource(name):
		parts := strings.SplitN(name, "/", 3)
		return "<table " + parts[1] + "." + parts[2] + ">"
	}
	return "<keyspace " + strings.TrimPrefix(name, rootData+"/") + ">"
}

// resourceChain returns resource then its parents up to the root.
func resourceChain(name string) []string {
	if isRoleResource(name) {
		if name == rootRoles {
			return []string{rootRoles}
		}
		return []string{name, rootRoles}
	}
	out := []string{name}
	for i := strings.LastIndexByte(name, '/'); i > 0; i = strings.LastIndexByte(name, '/') {
		name = name[:i]
		out = append(out, name)
	}
	return out
}

// principal is what a logged-in role may do: resolved once per
// generation of the role and permission store.
type principal struct {
	user  string
	super bool
	roles map[string]bool    // the role and every role granted to it
	perms map[string]permSet // resource → permissions held on it
}

// holds reports whether pr holds perm on resource or one of its parents.
func (pr *principal) holds(perm permission, resource string) bool {
	if pr.super {
		return true
	}
	for _, r := range resourceChain(resource) {
		if pr.perms[r].has(perm) {
			return true
		}
	}
	return false
}

// ensure is Cassandra's ClientState.ensurePermission.
func (pr *principal) ensure(perm permission, resource string) error {
	if pr.holds(perm, resource) {
		return nil
	}
	return cqlerr.Unauthorizedf("User %s has no %s permission on %s or any of its parents", pr.user, perm, displayResource(resource))
}

// maxCachedPrincipals bounds the cache; past it the cache starts over.
const maxCachedPrincipals = 4096

// authzCache caches resolved principals by role name for one generation
// of the store. The protocol layer copies a Session for each request, so
// the cache lives in the Processor, keyed by the session's role: every
// session of a role sees the same resolution, and a change anywhere (a
// GRANT here, a merge from a peer) moves the generation and empties it.
type authzCache struct {
	mu     sync.Mutex
	gen    uint64
	byRole map[string]*principal
}

func (c *authzCache) get(gen uint64, role string) *principal {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return nil
	}
	return c.byRole[role]
}

func (c *authzCache) put(gen uint64, pr *principal) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen || c.byRole == nil || len(c.byRole) >= maxCachedPrincipals {
		c.gen, c.byRole = gen, map[string]*principal{}
	}
	c.byRole[pr.user] = pr
}

// authzOn reports whether CassandraAuthorizer is in force.
func (p *Processor) authzOn() bool { return p.opts.Authorizer != nil && p.opts.Roles != nil }

// principal returns what the session's role may do (from the cache when
// nothing changed since it was resolved).
func (p *Processor) principal(s *Session) (*principal, error) {
	if s.User == "" {
		return nil, cqlerr.Unauthorizedf("You have not logged in")
	}
	gen := p.opts.Authorizer.Generation()
	if pr := p.authz.get(gen, s.User); pr != nil {
		return pr, nil
	}
	pr, err := p.resolve(s.User)
	if err != nil {
		return nil, err
	}
	p.authz.put(gen, pr)
	return pr, nil
}

// resolve computes a role's principal from the role and permission store.
func (p *Processor) resolve(user string) (*principal, error) {
	roles, super, err := p.roleClosure(user)
	if err != nil {
		return nil, err
	}
	pr := &principal{user: user, super: super, roles: roles, perms: map[string]permSet{}}
	grants, err := p.opts.Authorizer.ListPermissions()
	if err != nil {
		return nil, cqlerr.Serverf("reading permissions: %v", err)
	}
	for _, g := range grants {
		if roles[g.Role] {
			pr.perms[g.Resource] |= namesToSet(g.Permissions)
		}
	}
	return pr, nil
}

// roleClosure returns role and every role granted to it, directly or
// through other roles, and whether any of them is a superuser. A role that
// does not exist (dropped while logged in) holds nothing.
func (p *Processor) roleClosure(role string) (map[string]bool, bool, error) {
	seen := map[string]bool{}
	super := false
	queue := []string{role}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		if seen[name] {
			continue
		}
		r, ok, err := p.opts.Roles.GetRole(name)
		if err != nil {
			return nil, false, cqlerr.Serverf("reading role %s: %v", name, err)
		}
		if !ok {
			continue
		}
		seen[name] = true
		super = super || r.Superuser
		queue = append(queue, r.MemberOf...)
	}
	return seen, super, nil
}
