package query

import (
	"github.com/ringdb/ringdb/internal/cql"
	"github.com/ringdb/ringdb/internal/cqlerr"
)

// checkRoleStmt is CassandraAuthorizer's check of the role statements:
// CREATE ROLE needs CREATE on ALL ROLES, ALTER and DROP ROLE ALTER and
// DROP on the role, GRANT and REVOKE of a role AUTHORIZE on it; only
// superusers create, alter the status of, or drop superusers; a role may
// change its own password.
func (p *Processor) checkRoleStmt(s *Session, pr *principal, stmt cql.Statement) error {
	switch st := stmt.(type) {
	case *cql.CreateRoleStatement:
		return pr.checkCreateRole(st.Options.Superuser)
	case *cql.CreateUserStatement:
		return pr.checkCreateRole(st.Superuser)
	case *cql.AlterRoleStatement:
		return pr.checkAlterRole(st.Name, st.Options)
	case *cql.AlterUserStatement:
		return pr.checkAlterRole(st.Name, cql.RoleOptions{Password: st.Password, Superuser: st.Superuser})
	case *cql.DropRoleStatement:
		return p.checkDropRole(pr, st.Name)
	case *cql.DropUserStatement:
		return p.checkDropRole(pr, st.Name)
	case *cql.GrantRoleStatement:
		return pr.ensureRole(permAuthorize, roleResource(st.Role))
	case *cql.RevokeRoleStatement:
		return pr.ensureRole(permAuthorize, roleResource(st.Role))
	}
	return nil
}

// ensureRole is ensure with the message Cassandra gives for role
// statements.
func (pr *principal) ensureRole(perm permission, resource string) error {
	if pr.holds(perm, resource) {
		return nil
	}
	return cqlerr.Unauthorizedf("User %s does not have sufficient privileges to perform the requested operation", pr.user)
}

func (pr *principal) checkCreateRole(super *bool) error {
	if err := pr.ensureRole(permCreate, rootRoles); err != nil {
		return err
	}
	if super != nil && *super && !pr.super {
		return cqlerr.Unauthorizedf("Only superusers can create a role with superuser status")
	}
	return nil
}

// checkAlterRole: nobody alters the superuser status of a role they hold;
// only superusers alter it at all; a role changes only its own password;
// other roles need ALTER.
func (pr *principal) checkAlterRole(name string, o cql.RoleOptions) error {
	if o.Superuser != nil && pr.roles[name] {
		return cqlerr.Unauthorizedf("You aren't allowed to alter your own superuser status or that of a role granted to you")
	}
	if o.Superuser != nil && !pr.super {
		return cqlerr.Unauthorizedf("Only superusers are allowed to alter superuser status")
	}
	if pr.super {
		return nil
	}
	if name == pr.user {
		switch {
		case o.Login != nil:
			return cqlerr.Unauthorizedf("You aren't allowed to alter LOGIN")
		case o.Options != nil:
			return cqlerr.Unauthorizedf("You aren't allowed to alter OPTIONS")
		}
		return nil
	}
	return pr.ensureRole(permAlter, roleResource(name))
}

// checkDropRole: DROP on the role; a superuser role only by a superuser.
func (p *Processor) checkDropRole(pr *principal, name string) error {
	if err := pr.ensureRole(permDrop, roleResource(name)); err != nil {
		return err
	}
	if pr.super {
		return nil
	}
	_, super, err := p.roleClosure(name)
	if err != nil {
		return err
	}
	if super {
		return cqlerr.Unauthorizedf("Only superusers can drop a role with superuser status")
	}
	return nil
}
