package query

import (
	"github.com/ringdb/ringdb/internal/cql"
	"github.com/ringdb/ringdb/internal/cqlerr"
)

// saltedHashColumn is the column of system_auth.roles no CQL statement may
// read, superusers included (decision 015): the virtual table never
// carries it, and naming it is refused.
const saltedHashColumn = "salted_hash"

// authorize checks, as CassandraAuthorizer does, that the session's role
// may run stmt. It is a no-op under AllowAllAuthorizer. Role and
// permission statements are checked where they run (roles.go,
// authz_perms.go): their checks depend on the roles they name.
func (p *Processor) authorize(s *Session, stmt cql.Statement) error {
	if !p.authzOn() {
		return nil
	}
	switch stmt.(type) {
	case *cql.UseStatement, *cql.UnsupportedStatement,
		*cql.CreateRoleStatement, *cql.AlterRoleStatement, *cql.DropRoleStatement, *cql.ListRolesStatement,
		*cql.CreateUserStatement, *cql.AlterUserStatement, *cql.DropUserStatement, *cql.ListUsersStatement,
		*cql.GrantRoleStatement, *cql.RevokeRoleStatement,
		*cql.GrantPermissionsStatement, *cql.RevokePermissionsStatement, *cql.ListPermissionsStatement:
		return nil
	}
	pr, err := p.principal(s)
	if err != nil {
		return err
	}
	if err := p.checkData(s, pr, stmt); err != nil || isDataStatement(stmt) {
		return err
	}
	return p.checkSchema(s, pr, stmt)
}

func isDataStatement(stmt cql.Statement) bool {
	switch stmt.(type) {
	case *cql.SelectStatement, *cql.InsertStatement, *cql.UpdateStatement, *cql.DeleteStatement,
		*cql.BatchStatement, *cql.TruncateStatement:
		return true
	}
	return false
}

// checkData checks the data statements: SELECT needs SELECT on the table,
// writes and TRUNCATE need MODIFY, a conditional write SELECT as well.
func (p *Processor) checkData(s *Session, pr *principal, stmt cql.Statement) error {
	switch st := stmt.(type) {
	case *cql.SelectStatement:
		return p.checkSelect(s, pr, st)
	case *cql.InsertStatement:
		return p.checkWrite(s, pr, st.Table, st)
	case *cql.UpdateStatement:
		return p.checkWrite(s, pr, st.Table, st)
	case *cql.DeleteStatement:
		return p.checkWrite(s, pr, st.Table, st)
	case *cql.BatchStatement:
		for _, inner := range st.Statements {
			if err := p.checkData(s, pr, inner); err != nil {
				return err
			}
		}
	case *cql.TruncateStatement:
		return p.checkTable(s, pr, st.Table, permModify)
	}
	return nil
}

func (p *Processor) checkWrite(s *Session, pr *principal, q cql.QualifiedName, stmt cql.Statement) error {
	if err := p.checkTable(s, pr, q, permModify); err != nil {
		return err
	}
	if conditionsOf(stmt) != nil {
		return p.checkTable(s, pr, q, permSelect)
	}
	return nil
}

// checkSelect checks a SELECT: the table's SELECT permission (every role
// may read the system and system_schema tables drivers need), and never
// the password hashes.
func (p *Processor) checkSelect(s *Session, pr *principal, st *cql.SelectStatement) error {
	ks := st.Table.Keyspace
	if ks == "" {
		ks = s.Keyspace
	}
	if ks == "system_auth" && st.Table.Name == "roles" && selectsColumn(st, saltedHashColumn) {
		return cqlerr.Unauthorizedf("Column %s of <table system_auth.roles> is not readable through CQL", saltedHashColumn)
	}
	if readableSystemKeyspace(ks) {
		return nil
	}
	return p.checkTable(s, pr, st.Table, permSelect)
}

// checkTable checks perm on a table. A table that does not exist passes:
// executing the statement reports it, as Cassandra reports it before
// checking access.
func (p *Processor) checkTable(s *Session, pr *principal, q cql.QualifiedName, perm permission) error {
	ks := q.Keyspace
	if ks == "" {
		ks = s.Keyspace
	}
	k := p.schema.Current().Keyspace(ks)
	if k == nil || k.Tables[q.Name] == nil {
		return nil
	}
	return pr.ensure(perm, tableResource(ks, q.Name))
}

// checkSchema checks the schema statements: CREATE KEYSPACE needs CREATE
// on ALL KEYSPACES; CREATE TABLE/TYPE CREATE on the keyspace; ALTER and
// DROP the same permission on the keyspace, table or (for types) the
// keyspace; CREATE INDEX ALTER on the table (as Cassandra).
func (p *Processor) checkSchema(s *Session, pr *principal, stmt cql.Statement) error {
	switch st := stmt.(type) {
	case *cql.CreateKeyspaceStatement:
		return pr.ensure(permCreate, rootData)
	case *cql.AlterKeyspaceStatement:
		return pr.ensureSchema(st.Name, keyspaceResource(st.Name), permAlter)
	case *cql.DropKeyspaceStatement:
		return pr.ensureSchema(st.Name, keyspaceResource(st.Name), permDrop)
	case *cql.CreateTableStatement:
		return pr.ensureKeyspaceOf(s, st.Table, permCreate)
	case *cql.AlterTableStatement:
		return pr.ensureTableOf(s, st.Table, permAlter)
	case *cql.DropTableStatement:
		return pr.ensureTableOf(s, st.Table, permDrop)
	case *cql.CreateTypeStatement:
		return pr.ensureKeyspaceOf(s, st.Name, permCreate)
	case *cql.AlterTypeStatement:
		return pr.ensureKeyspaceOf(s, st.Name, permAlter)
	case *cql.DropTypeStatement:
		return pr.ensureKeyspaceOf(s, st.Name, permDrop)
	case *cql.CreateIndexStatement:
		return pr.ensureTableOf(s, st.Table, permAlter)
	}
	return nil
}

// ensureKeyspaceOf checks perm on the keyspace of q (its own or the
// session's; with neither, executing reports it).
func (pr *principal) ensureKeyspaceOf(s *Session, q cql.QualifiedName, perm permission) error {
	ks, err := ddlKeyspace(s, q)
	if err != nil {
		return nil
	}
	return pr.ensureSchema(ks, keyspaceResource(ks), perm)
}

// ensureTableOf checks perm on the table q.
func (pr *principal) ensureTableOf(s *Session, q cql.QualifiedName, perm permission) error {
	ks, err := ddlKeyspace(s, q)
	if err != nil {
		return nil
	}
	return pr.ensureSchema(ks, tableResource(ks, q.Name), perm)
}

// ensureSchema is Cassandra's check of a schema change on resource in
// keyspace ks: the local system keyspaces are never modifiable, the
// replicated ones (system_auth, system_distributed, system_traces) only
// ALTERed at keyspace level, whoever asks; then perm is required.
func (pr *principal) ensureSchema(ks, resource string, perm permission) error {
	switch {
	case localSystemKeyspace(ks):
		return cqlerr.Unauthorizedf("%s keyspace is not user-modifiable.", ks)
	case replicatedSystemKeyspace(ks) && !(perm == permAlter && isKeyspaceResource(resource)):
		return cqlerr.Unauthorizedf("Cannot %s %s", perm, displayResource(resource))
	}
	return pr.ensure(perm, resource)
}

// readableSystemKeyspace reports whether every role may read the tables of
// ks (drivers read them to discover the cluster and the schema).
func readableSystemKeyspace(ks string) bool {
	return localSystemKeyspace(ks)
}

func localSystemKeyspace(ks string) bool {
	switch ks {
	case "system", "system_schema", "system_virtual_schema", "system_views":
		return true
	}
	return false
}

func replicatedSystemKeyspace(ks string) bool {
	switch ks {
	case "system_auth", "system_distributed", "system_traces":
		return true
	}
	return false
}

// selectsColumn reports whether a SELECT names column anywhere: in a
// selector, a WHERE relation, GROUP BY or ORDER BY.
func selectsColumn(st *cql.SelectStatement, column string) bool {
	for _, sel := range st.Selectors {
		if exprNames(sel.Expr, column) {
			return true
		}
	}
	for _, r := range st.Where {
		for _, c := range r.Columns {
			if c == column {
				return true
			}
		}
	}
	for _, c := range st.GroupBy {
		if c == column {
			return true
		}
	}
	for _, o := range st.OrderBy {
		if o.Column == column {
			return true
		}
	}
	return false
}

// exprNames reports whether a selector expression refers to column.
func exprNames(e cql.Expr, column string) bool {
	switch x := e.(type) {
	case *cql.ColumnRef:
		return x.Name == column
	case *cql.WritetimeExpr:
		return x.Column == column
	case *cql.CastExpr:
		return exprNames(x.Value, column)
	case *cql.FieldAccess:
		return exprNames(x.Value, column)
	case *cql.ElementAccess:
		return exprNames(x.Value, column)
	case *cql.TypeHint:
		return exprNames(x.Value, column)
	case *cql.Negation:
		return exprNames(x.Value, column)
	case *cql.BinaryOp:
		return exprNames(x.Left, column) || exprNames(x.Right, column)
	case *cql.FunctionCall:
		for _, a := range x.Args {
			if exprNames(a, column) {
				return true
			}
		}
	}
	return false
}
