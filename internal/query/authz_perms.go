package query

import (
	"sort"

	"github.com/ringdb/ringdb/internal/cql"
	"github.com/ringdb/ringdb/internal/cqlerr"
	"github.com/ringdb/ringdb/internal/schema"
	"github.com/ringdb/ringdb/internal/types"
)

// permissionStmt executes GRANT, REVOKE and LIST PERMISSIONS.
func (p *Processor) permissionStmt(s *Session, stmt cql.Statement) (*Result, error) {
	if !p.authzOn() {
		op := "LIST PERMISSIONS"
		switch stmt.(type) {
		case *cql.GrantPermissionsStatement:
			op = "GRANT"
		case *cql.RevokePermissionsStatement:
			op = "REVOKE"
		}
		return nil, cqlerr.Invalidf("%s operation is not supported by AllowAllAuthorizer", op)
	}
	switch st := stmt.(type) {
	case *cql.GrantPermissionsStatement:
		return p.alterPermissions(s, st.All, st.Permissions, st.Resource, st.Grantee, true)
	case *cql.RevokePermissionsStatement:
		return p.alterPermissions(s, st.All, st.Permissions, st.Resource, st.Revokee, false)
	case *cql.ListPermissionsStatement:
		return p.listPermissions(s, st)
	}
	return nil, cqlerr.Invalidf("Unsupported permission statement")
}

// resourceOf names a parsed resource; an unqualified table is in the
// session's keyspace.
func resourceOf(s *Session, r cql.Resource) (string, error) {
	switch r.Kind {
	case cql.ResourceAllKeyspaces:
		return rootData, nil
	case cql.ResourceKeyspace:
		return keyspaceResource(r.Keyspace), nil
	case cql.ResourceTable:
		ks, err := ddlKeyspace(s, cql.QualifiedName{Keyspace: r.Keyspace, Name: r.Name})
		if err != nil {
			return "", err
		}
		return tableResource(ks, r.Name), nil
	case cql.ResourceAllRoles:
		return rootRoles, nil
	case cql.ResourceRole:
		return roleResource(r.Name), nil
	case cql.ResourceAllFunctions, cql.ResourceFunction:
		return "", cqlerr.Invalidf("Resource type FunctionResource is not supported by ringdb: it has no user-defined functions")
	}
	return "", cqlerr.Invalidf("Resource type JMXResource is not supported by ringdb: it has no JMX")
}

// resourceExists reports whether the keyspace, table or role a resource
// names exists (the roots always do).
func (p *Processor) resourceExists(name string) (bool, error) {
	switch {
	case name == rootData || name == rootRoles:
		return true, nil
	case isRoleResource(name):
		_, ok, err := p.opts.Roles.GetRole(name[len(rootRoles)+1:])
		return ok, err
	}
	sch := p.schema.Current()
	ks, table := splitDataResource(name)
	k := sch.Keyspace(ks)
	if k == nil || table == "" {
		return k != nil, nil
	}
	return k.Tables[table] != nil, nil
}

// splitDataResource returns the keyspace and table ("" for a keyspace) of
// a data resource below the root.
func splitDataResource(name string) (ks, table string) {
	rest := name[len(rootData)+1:]
	for i := 0; i < len(rest); i++ {
		if rest[i] == '/' {
			return rest[:i], rest[i+1:]
		}
	}
	return rest, ""
}

// requestedPerms returns the permissions a GRANT or REVOKE asks for that
// apply to resource (ALL: every applicable one); none applying is
// Cassandra's syntax error.
func requestedPerms(all bool, names []string, resource string) (permSet, error) {
	applicable := applicablePerms(resource)
	if all {
		return applicable, nil
	}
	var want permSet
	for _, n := range names {
		if perm, ok := parsePermission(n); ok {
			want |= setOf(perm)
		}
	}
	if want&applicable == 0 {
		return 0, cqlerr.Syntaxf("Resource type %s does not support any of the requested permissions", resourceClass(resource))
	}
	return want & applicable, nil
}

// alterPermissions executes GRANT (grant) or REVOKE: the granter needs
// AUTHORIZE on the resource and every permission it grants (on it or a
// parent); then the role and the resource must exist.
func (p *Processor) alterPermissions(s *Session, all bool, names []string, res cql.Resource, role string, grant bool) (*Result, error) {
	resource, err := resourceOf(s, res)
	if err != nil {
		return nil, err
	}
	perms, err := requestedPerms(all, names, resource)
	if err != nil {
		return nil, err
	}
	pr, err := p.principal(s)
	if err != nil {
		return nil, err
	}
	if err := pr.ensure(permAuthorize, resource); err != nil {
		return nil, err
	}
	for _, perm := range perms.list() {
		if err := pr.ensure(perm, resource); err != nil {
			return nil, err
		}
	}
	if _, ok, err := p.opts.Roles.GetRole(role); err != nil {
		return nil, cqlerr.Serverf("reading role %s: %v", role, err)
	} else if !ok {
		return nil, cqlerr.Invalidf("Role %s doesn't exist", role)
	}
	if ok, err := p.resourceExists(resource); err != nil {
		return nil, cqlerr.Serverf("reading %s: %v", displayResource(resource), err)
	} else if !ok {
		return nil, cqlerr.Invalidf("Resource %s doesn't exist", displayResource(resource))
	}
	if grant {
		return void(p.opts.Authorizer.GrantPermissions(role, resource, perms.names()))
	}
	return void(p.opts.Authorizer.RevokePermissions(role, resource, perms.names()))
}

// permissionRow is one row of LIST PERMISSIONS.
type permissionRow struct {
	role, resource string
	perm           permission
}

// listPermissions executes LIST PERMISSIONS: a superuser sees everyone's,
// other roles only those of roles granted to them (themselves included).
// OF r lists r's and those of every role granted to r; ON res lists res
// and (unless NORECURSIVE) its parents.
func (p *Processor) listPermissions(s *Session, st *cql.ListPermissionsStatement) (*Result, error) {
	pr, err := p.principal(s)
	if err != nil {
		return nil, err
	}
	want := setOf(permCreate, permAlter, permDrop, permSelect, permModify, permAuthorize, permDescribe, permExecute)
	if !st.All {
		want = namesToSet(st.Permissions)
	}
	resources, err := p.listedResources(s, st)
	if err != nil {
		return nil, err
	}
	roles, err := p.listedRoles(pr, st.Of)
	if err != nil {
		return nil, err
	}
	grants, err := p.opts.Authorizer.ListPermissions()
	if err != nil {
		return nil, cqlerr.Serverf("listing permissions: %v", err)
	}
	var out []permissionRow
	for _, g := range grants {
		if (roles != nil && !roles[g.Role]) || (resources != nil && !resources[g.Resource]) {
			continue
		}
		for _, perm := range (namesToSet(g.Permissions) & want).list() {
			out = append(out, permissionRow{g.Role, g.Resource, perm})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.role != b.role {
			return a.role < b.role
		}
		if a.resource != b.resource {
			return a.resource < b.resource
		}
		return a.perm < b.perm
	})
	return &Result{Kind: ResultRows, Rows: permissionRows(out)}, nil
}

// listedResources is the set of resources LIST PERMISSIONS shows; nil for
// all of them.
func (p *Processor) listedResources(s *Session, st *cql.ListPermissionsStatement) (map[string]bool, error) {
	if st.Resource == nil {
		return nil, nil
	}
	resource, err := resourceOf(s, *st.Resource)
	if err != nil {
		return nil, err
	}
	if ok, err := p.resourceExists(resource); err != nil {
		return nil, cqlerr.Serverf("reading %s: %v", displayResource(resource), err)
	} else if !ok {
		return nil, cqlerr.Invalidf("%s doesn't exist", displayResource(resource))
	}
	if st.NoRecursive {
		return map[string]bool{resource: true}, nil
	}
	set := map[string]bool{}
	for _, r := range resourceChain(resource) {
		set[r] = true
	}
	return set, nil
}

// listedRoles is the set of roles LIST PERMISSIONS OF of shows (nil for
// all, without OF), after checking pr may see them.
func (p *Processor) listedRoles(pr *principal, of string) (map[string]bool, error) {
	if of != "" {
		if _, ok, err := p.opts.Roles.GetRole(of); err != nil {
			return nil, cqlerr.Serverf("reading role %s: %v", of, err)
		} else if !ok {
			return nil, cqlerr.Invalidf("%s doesn't exist", of)
		}
	}
	if !pr.super && (of == "" || !pr.roles[of]) {
		who := of
		if who == "" {
			who = "everyone"
		}
		return nil, cqlerr.Unauthorizedf("You are not authorized to view %s's permissions", who)
	}
	if of == "" {
		return nil, nil
	}
	roles, _, err := p.roleClosure(of)
	return roles, err
}

// permissionRows renders LIST PERMISSIONS rows as Cassandra 4 does:
// role, username, resource, permission.
func permissionRows(rows []permissionRow) *Rows {
	out := &Rows{}
	for _, n := range []string{"role", "username", "resource", "permission"} {
		out.Columns = append(out.Columns, ColumnSpec{Keyspace: "system_auth", Table: "permissions", Name: n, Type: types.TextType})
	}
	for _, r := range rows {
		for _, v := range []string{r.role, r.role, displayResource(r.resource), r.perm.String()} {
			out.Data = appendCell(out.Data, types.TextValue(v))
		}
		out.Count++
	}
	return out
}

// afterSchemaChange keeps permissions in step with the schema, as
// Cassandra does: the creator of a keyspace or table is granted every
// permission applicable to it; a dropped keyspace or table takes every
// permission on it (and, for a keyspace, on its tables) along. A failure
// here does not undo the schema change: it is logged and sent as a
// client warning.
//
// It is curried so the dispatch reads p.afterSchemaChange(s)(p.ddl(...)).
func (p *Processor) afterSchemaChange(s *Session) func(*Result, error) (*Result, error) {
	return func(res *Result, err error) (*Result, error) { return p.schemaChanged(s, res, err) }
}

func (p *Processor) schemaChanged(s *Session, res *Result, err error) (*Result, error) {
	if err != nil || res == nil || res.Kind != ResultSchemaChange || !p.authzOn() {
		return res, err
	}
	ch := res.Change
	var resource string
	switch ch.Target {
	case "KEYSPACE":
		resource = keyspaceResource(ch.Keyspace)
	case "TABLE":
		resource = tableResource(ch.Keyspace, ch.Name)
	default:
		return res, nil
	}
	var aerr error
	switch ch.Type {
	case schema.Created:
		aerr = p.grantCreator(s, resource)
	case schema.Dropped:
		aerr = p.opts.Authorizer.RevokeAllOn(resource)
	}
	if aerr != nil {
		p.log.Error("updating permissions after a schema change failed", "resource", resource, "err", aerr)
		res.Warnings = append(res.Warnings, "Permissions on "+displayResource(resource)+" could not be updated: "+aerr.Error())
	}
	return res, nil
}

// grantCreator grants the session's role every permission applicable to
// the resource it just created.
func (p *Processor) grantCreator(s *Session, resource string) error {
	if s.User == "" {
		return nil
	}
	return p.opts.Authorizer.GrantPermissions(s.User, resource, applicablePerms(resource).names())
}
