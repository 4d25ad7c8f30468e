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

func (p *Processor) roleStmt(c *evalCtx, s *Session, stmt cql.Statement) (*Result, error) {
	rm := p.opts.Roles
	if rm == nil {
		return nil, cqlerr.Invalidf("Roles are not available: this node runs with AllowAllAuthenticator")
	}
	needSuper := func(what string) error {
		if !s.Superuser {
			return cqlerr.Unauthorizedf("Only superusers are allowed to perform %s", what)
		}
		return nil
	}
	switch st := stmt.(type) {
	case *cql.CreateRoleStatement:
		if err := needSuper("CREATE ROLE queries"); err != nil {
			return nil, err
		}
		_, err := rm.CreateRole(st.Name, RoleOptions{Password: st.Options.Password, Login: st.Options.Login, Superuser: st.Options.Superuser}, st.IfNotExists)
		return void(err)
	case *cql.CreateUserStatement:
		if err := needSuper("CREATE USER queries"); err != nil {
			return nil, err
		}
		login := true
		_, err := rm.CreateRole(st.Name, RoleOptions{Password: st.Password, Login: &login, Superuser: st.Superuser}, st.IfNotExists)
		return void(err)
	case *cql.AlterRoleStatement:
		if st.Name != s.User || st.Options.Superuser != nil || st.Options.Login != nil {
			if err := needSuper("ALTER ROLE queries on other roles or their superuser/login status"); err != nil {
				return nil, err
			}
		}
		if st.IfExists {
			if _, ok, _ := rm.GetRole(st.Name); !ok {
				return &Result{Kind: ResultVoid}, nil
			}
		}
		return void(rm.AlterRole(st.Name, RoleOptions{Password: st.Options.Password, Login: st.Options.Login, Superuser: st.Options.Superuser}))
	case *cql.AlterUserStatement:
		if st.Name != s.User || st.Superuser != nil {
			if err := needSuper("ALTER USER queries on other users"); err != nil {
				return nil, err
			}
		}
		return void(rm.AlterRole(st.Name, RoleOptions{Password: st.Password, Superuser: st.Superuser}))
	case *cql.DropRoleStatement:
		if err := needSuper("DROP ROLE queries"); err != nil {
			return nil, err
		}
		if st.Name == s.User {
			return nil, cqlerr.Invalidf("Cannot DROP primary role for current login")
		}
		_, err := rm.DropRole(st.Name, st.IfExists)
		return void(err)
	case *cql.DropUserStatement:
		if err := needSuper("DROP USER queries"); err != nil {
			return nil, err
		}
		if st.Name == s.User {
			return nil, cqlerr.Invalidf("Users aren't allowed to DROP themselves")
		}
		_, err := rm.DropRole(st.Name, st.IfExists)
		return void(err)
	case *cql.GrantRoleStatement:
		if err := needSuper("GRANT role queries"); err != nil {
			return nil, err
		}
		return void(rm.GrantRole(st.Role, st.Grantee))
	case *cql.RevokeRoleStatement:
		if err := needSuper("REVOKE role queries"); err != nil {
			return nil, err
		}
		return void(rm.RevokeRole(st.Role, st.Revokee))
	case *cql.ListRolesStatement, *cql.ListUsersStatement:
		roles, err := rm.ListRoles()
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
		if !s.Superuser && of == "" {
			of = s.User
		}
		for _, r := range roles {
			if of != "" && r.Name != of && !contains(r.MemberOf, of) && !(of == r.Name) {
				if of != "" {
					continue
				}
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
	case *cql.GrantPermissionsStatement, *cql.RevokePermissionsStatement, *cql.ListPermissionsStatement:
		return nil, cqlerr.Invalidf("Permissions are not supported by ringdb yet: it runs with AllowAllAuthorizer (every authenticated role may read and write data)")
	}
	return nil, cqlerr.Invalidf("Unsupported role statement")
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
