package query

import (
	"github.com/ringdb/ringdb/internal/cql"
	"github.com/ringdb/ringdb/internal/cqlerr"
	"github.com/ringdb/ringdb/internal/types"
)

// Role is a role as system_auth.roles shows it.
type Role struct {
	Name       string
	CanLogin   bool
	Superuser  bool
	MemberOf   []string
	SaltedHash string
}

// RoleOptions are the options of CREATE/ALTER ROLE; nil = not given.
type RoleOptions struct {
	Password  *string
	Login     *bool
	Superuser *bool
}

// RoleManager stores roles (system_auth). Implemented by internal/auth.
type RoleManager interface {
	ListRoles() ([]Role, error)
	GetRole(name string) (Role, bool, error)
	CreateRole(name string, opts RoleOptions, ifNotExists bool) (bool, error)
	AlterRole(name string, opts RoleOptions) error
	DropRole(name string, ifExists bool) (bool, error)
	GrantRole(role, grantee string) error
	RevokeRole(role, revokee string) error
}

func (p *Processor) roleStmt(_ *evalCtx, s *Session, stmt cql.Statement) (*Result, error) {
	if p.opts.Roles == nil {
		return nil, cqlerr.Invalidf("Roles are not available: this node runs with AllowAllAuthenticator")
	}
	switch stmt.(type) {
	case *cql.GrantPermissionsStatement, *cql.RevokePermissionsStatement, *cql.ListPermissionsStatement:
		return p.permissionStmt(s, stmt)
	}
	listAll := s.Superuser
	if p.authzOn() {
		pr, err := p.principal(s)
		if err != nil {
			return nil, err
		}
		if err := p.checkRoleStmt(s, pr, stmt); err != nil {
			return nil, err
		}
		listAll = pr.holds(permDescribe, rootRoles)
	} else if err := checkRoleStmtSuperuser(s, stmt); err != nil {
		return nil, err
	}
	return p.runRoleStmt(s, stmt, listAll)
}

// checkRoleStmtSuperuser is the check of role statements under
// AllowAllAuthorizer: managing roles other than changing one's own
// password is for superusers.
func checkRoleStmtSuperuser(s *Session, stmt cql.Statement) error {
	needSuper := func(what string) error {
		if !s.Superuser {
			return cqlerr.Unauthorizedf("Only superusers are allowed to perform %s", what)
		}
		return nil
	}
	switch st := stmt.(type) {
	case *cql.CreateRoleStatement:
		return needSuper("CREATE ROLE queries")
	case *cql.CreateUserStatement:
		return needSuper("CREATE USER queries")
	case *cql.AlterRoleStatement:
		if st.Name != s.User || st.Options.Superuser != nil || st.Options.Login != nil {
			return needSuper("ALTER ROLE queries on other roles or their superuser/login status")
		}
	case *cql.AlterUserStatement:
		if st.Name != s.User || st.Superuser != nil {
			return needSuper("ALTER USER queries on other users")
		}
	case *cql.DropRoleStatement:
		return needSuper("DROP ROLE queries")
	case *cql.DropUserStatement:
		return needSuper("DROP USER queries")
	case *cql.GrantRoleStatement:
		return needSuper("GRANT role queries")
	case *cql.RevokeRoleStatement:
		return needSuper("REVOKE role queries")
	}
	return nil
}

// runRoleStmt executes a role statement whose access was checked; listAll
// says whether LIST ROLES shows every role or only the session's.
func (p *Processor) runRoleStmt(s *Session, stmt cql.Statement, listAll bool) (*Result, error) {
	rm := p.opts.Roles
	switch st := stmt.(type) {
	case *cql.CreateRoleStatement:
		created, err := rm.CreateRole(st.Name, RoleOptions{Password: st.Options.Password, Login: st.Options.Login, Superuser: st.Options.Superuser}, st.IfNotExists)
		return p.afterCreateRole(s, st.Name, created, err)
	case *cql.CreateUserStatement:
		login := true
		created, err := rm.CreateRole(st.Name, RoleOptions{Password: st.Password, Login: &login, Superuser: st.Superuser}, st.IfNotExists)
		return p.afterCreateRole(s, st.Name, created, err)
	case *cql.AlterRoleStatement:
		if st.IfExists {
			if _, ok, _ := rm.GetRole(st.Name); !ok {
				return &Result{Kind: ResultVoid}, nil
			}
		}
		return void(rm.AlterRole(st.Name, RoleOptions{Password: st.Options.Password, Login: st.Options.Login, Superuser: st.Options.Superuser}))
	case *cql.AlterUserStatement:
		return void(rm.AlterRole(st.Name, RoleOptions{Password: st.Password, Superuser: st.Superuser}))
	case *cql.DropRoleStatement:
		if st.Name == s.User {
			return nil, cqlerr.Invalidf("Cannot DROP primary role for current login")
		}
		_, err := rm.DropRole(st.Name, st.IfExists)
		return void(err)
	case *cql.DropUserStatement:
		if st.Name == s.User {
			return nil, cqlerr.Invalidf("Users aren't allowed to DROP themselves")
		}
		_, err := rm.DropRole(st.Name, st.IfExists)
		return void(err)
	case *cql.GrantRoleStatement:
		return void(rm.GrantRole(st.Role, st.Grantee))
	case *cql.RevokeRoleStatement:
		return void(rm.RevokeRole(st.Role, st.Revokee))
	case *cql.ListRolesStatement, *cql.ListUsersStatement:
		return p.listRoles(s, stmt, listAll)
	}
	return nil, cqlerr.Invalidf("Unsupported role statement")
}

// afterCreateRole grants the creator of a role every permission on it
// (CassandraAuthorizer); a failure is a client warning, the role exists.
func (p *Processor) afterCreateRole(s *Session, name string, created bool, err error) (*Result, error) {
	if err != nil {
		return nil, err
	}
	res := &Result{Kind: ResultVoid}
	if created && p.authzOn() {
		if gerr := p.grantCreator(s, roleResource(name)); gerr != nil {
			p.log.Error("granting the creator of a role its permissions failed", "role", name, "err", gerr)
			res.Warnings = append(res.Warnings, "Permissions on <role "+name+"> could not be granted to "+s.User+": "+gerr.Error())
		}
	}
	return res, nil
}

// listRoles executes LIST ROLES and LIST USERS.
func (p *Processor) listRoles(s *Session, stmt cql.Statement, listAll bool) (*Result, error) {
	roles, err := p.opts.Roles.ListRoles()
	if err != nil {
		return nil, cqlerr.Serverf("listing roles: %v", err)
	}
	users := false
	of := ""
	if lr, ok := stmt.(*cql.ListRolesStatement); ok {
		of = lr.Of
	} else {
		users = true
	}
	rows := &Rows{}
	spec := func(n string, t *types.Type) ColumnSpec {
		return ColumnSpec{Keyspace: "system_auth", Table: "roles", Name: n, Type: t}
	}
	if users {
		rows.Columns = []ColumnSpec{spec("name", types.TextType), spec("super", types.BooleanType), spec("datacenters", types.TextType)}
	} else {
		rows.Columns = []ColumnSpec{spec("role", types.TextType), spec("super", types.BooleanType), spec("login", types.BooleanType),
			spec("options", types.MapOf(types.TextType, types.TextType, false)), spec("datacenters", types.TextType)}
	}
	if !listAll && of == "" {
		of = s.User
	}
	for _, r := range roles {
		if of != "" && r.Name != of && !contains(r.MemberOf, of) {
			continue
		}
		if users && !r.CanLogin {
			continue
		}
		add := func(v []byte) { rows.Data = appendCell(rows.Data, v) }
		add(types.TextValue(r.Name))
		add(types.BooleanValue(r.Superuser))
		if !users {
			add(types.BooleanValue(r.CanLogin))
			add(types.EncodeCollection(nil))
		}
		add(types.TextValue("ALL"))
		rows.Count++
	}
	return &Result{Kind: ResultRows, Rows: rows}, nil
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func void(err error) (*Result, error) {
	if err != nil {
		return nil, err
	}
	return &Result{Kind: ResultVoid}, nil
}
