package query

import (
	"context"
	"strings"
	"testing"

	"github.com/ringdb/ringdb/internal/consistency"
	"github.com/ringdb/ringdb/internal/cqlerr"
)

// Every statement kind is refused without its permission, with Cassandra's
// message, and runs once the permission is granted.
func TestAuthzStatementNeedsPermission(t *testing.T) {
	const noPriv = "User bob does not have sufficient privileges to perform the requested operation"
	for _, tc := range []struct {
		stmt   string
		setup  []string // run by admin first
		msg    string   // refusal for bob
		grants []string // run by admin, then stmt must succeed for bob
	}{
		{stmt: "SELECT * FROM ks.t", msg: "User bob has no SELECT permission on <table ks.t> or any of its parents",
			grants: []string{"GRANT SELECT ON ks.t TO bob"}},
		{stmt: "INSERT INTO ks.t (k, v) VALUES (3, 4)", msg: "User bob has no MODIFY permission on <table ks.t> or any of its parents",
			grants: []string{"GRANT MODIFY ON TABLE ks.t TO bob"}},
		{stmt: "UPDATE ks.t SET v = 1 WHERE k = 1", msg: "User bob has no MODIFY permission on <table ks.t> or any of its parents",
			grants: []string{"GRANT MODIFY ON ks.t TO bob"}},
		{stmt: "DELETE FROM ks.t WHERE k = 1", msg: "User bob has no MODIFY permission on <table ks.t> or any of its parents",
			grants: []string{"GRANT MODIFY ON ks.t TO bob"}},
		{stmt: "BEGIN BATCH INSERT INTO ks.t (k, v) VALUES (5, 5); DELETE FROM ks.t WHERE k = 1; APPLY BATCH",
			msg: "User bob has no MODIFY permission on <table ks.t> or any of its parents", grants: []string{"GRANT MODIFY ON ks.t TO bob"}},
		{stmt: "TRUNCATE ks.t", msg: "User bob has no MODIFY permission on <table ks.t> or any of its parents",
			grants: []string{"GRANT MODIFY ON ks.t TO bob"}},
		{stmt: "INSERT INTO ks.t (k, v) VALUES (7, 7) IF NOT EXISTS", setup: []string{"GRANT MODIFY ON ks.t TO bob"},
			msg: "User bob has no SELECT permission on <table ks.t> or any of its parents", grants: []string{"GRANT SELECT ON ks.t TO bob"}},
		{stmt: "CREATE KEYSPACE ks2 WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
			msg: "User bob has no CREATE permission on <all keyspaces> or any of its parents", grants: []string{"GRANT CREATE ON ALL KEYSPACES TO bob"}},
		{stmt: "ALTER KEYSPACE ks WITH durable_writes = false", msg: "User bob has no ALTER permission on <keyspace ks> or any of its parents",
			grants: []string{"GRANT ALTER ON KEYSPACE ks TO bob"}},
		{stmt: "DROP KEYSPACE ks", msg: "User bob has no DROP permission on <keyspace ks> or any of its parents",
			grants: []string{"GRANT DROP ON KEYSPACE ks TO bob"}},
		{stmt: "CREATE TABLE ks.t2 (k int PRIMARY KEY)", msg: "User bob has no CREATE permission on <keyspace ks> or any of its parents",
			grants: []string{"GRANT CREATE ON KEYSPACE ks TO bob"}},
		{stmt: "ALTER TABLE ks.t ADD w int", msg: "User bob has no ALTER permission on <table ks.t> or any of its parents",
			grants: []string{"GRANT ALTER ON ks.t TO bob"}},
		{stmt: "DROP TABLE ks.t", msg: "User bob has no DROP permission on <table ks.t> or any of its parents",
			grants: []string{"GRANT DROP ON ks.t TO bob"}},
		{stmt: "CREATE TYPE ks.ty2 (a int)", msg: "User bob has no CREATE permission on <keyspace ks> or any of its parents",
			grants: []string{"GRANT CREATE ON KEYSPACE ks TO bob"}},
		{stmt: "ALTER TYPE ks.ty ADD b int", msg: "User bob has no ALTER permission on <keyspace ks> or any of its parents",
			grants: []string{"GRANT ALTER ON KEYSPACE ks TO bob"}},
		{stmt: "DROP TYPE ks.ty", msg: "User bob has no DROP permission on <keyspace ks> or any of its parents",
			grants: []string{"GRANT DROP ON KEYSPACE ks TO bob"}},
		{stmt: "CREATE ROLE carol", msg: noPriv, grants: []string{"GRANT CREATE ON ALL ROLES TO bob"}},
		{stmt: "ALTER ROLE carol WITH LOGIN = true", setup: []string{"CREATE ROLE carol"}, msg: noPriv,
			grants: []string{"GRANT ALTER ON ROLE carol TO bob"}},
		{stmt: "DROP ROLE carol", setup: []string{"CREATE ROLE carol"}, msg: noPriv, grants: []string{"GRANT DROP ON ROLE carol TO bob"}},
		{stmt: "GRANT carol TO bob", setup: []string{"CREATE ROLE carol"}, msg: noPriv, grants: []string{"GRANT AUTHORIZE ON ROLE carol TO bob"}},
		{stmt: "GRANT SELECT ON ks.t TO bob", msg: "User bob has no AUTHORIZE permission on <table ks.t> or any of its parents",
			grants: []string{"GRANT AUTHORIZE ON ks.t TO bob", "GRANT SELECT ON KEYSPACE ks TO bob"}},
		{stmt: "REVOKE SELECT ON ks.t FROM bob", setup: []string{"GRANT SELECT ON ks.t TO bob"},
			msg: "User bob has no AUTHORIZE permission on <table ks.t> or any of its parents", grants: []string{"GRANT AUTHORIZE ON ALL KEYSPACES TO bob"}},
		{stmt: "SELECT role FROM system_auth.roles", msg: "User bob has no SELECT permission on <table system_auth.roles> or any of its parents",
			grants: []string{"GRANT SELECT ON system_auth.roles TO bob"}},
		{stmt: "SELECT * FROM system_auth.role_permissions", msg: "User bob has no SELECT permission on <table system_auth.role_permissions> or any of its parents",
			grants: []string{"GRANT SELECT ON KEYSPACE system_auth TO bob"}},
	} {
		t.Run(tc.stmt, func(t *testing.T) {
			env := newAuthzEnv(t)
			for _, q := range tc.setup {
				env.as(env.admin, q)
			}
			env.denied(env.bob, tc.stmt, cqlerr.Unauthorized, tc.msg)
			for _, q := range tc.grants {
				env.as(env.admin, q)
			}
			env.as(env.bob, tc.stmt)
		})
	}
}

// A permission on a keyspace or on ALL KEYSPACES covers the tables below
// it; a permission granted to a role covers every role it is granted to,
// through any depth.
func TestAuthzInheritance(t *testing.T) {
	const q = "SELECT v FROM ks.t WHERE k = 1"
	denied := "User bob has no SELECT permission on <table ks.t> or any of its parents"
	for _, tc := range []struct {
		name   string
		grants []string
	}{
		{"keyspace", []string{"GRANT SELECT ON KEYSPACE ks TO bob"}},
		{"all keyspaces", []string{"GRANT SELECT ON ALL KEYSPACES TO bob"}},
		{"role", []string{"CREATE ROLE reader", "GRANT SELECT ON ks.t TO reader", "GRANT reader TO bob"}},
		{"role of a role", []string{"CREATE ROLE reader", "CREATE ROLE team", "GRANT SELECT ON KEYSPACE ks TO reader",
			"GRANT reader TO team", "GRANT team TO bob"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newAuthzEnv(t)
			env.denied(env.bob, q, cqlerr.Unauthorized, denied)
			for _, g := range tc.grants {
				env.as(env.admin, g)
			}
			wantRows(t, env.rows(env.bob, q), "v", "2")
			env.denied(env.bob, "INSERT INTO ks.t (k, v) VALUES (1, 1)", cqlerr.Unauthorized,
				"User bob has no MODIFY permission on <table ks.t> or any of its parents")
		})
	}
	// Revoking the role takes its permissions away.
	env := newAuthzEnv(t)
	env.as(env.admin, "CREATE ROLE reader")
	env.as(env.admin, "GRANT SELECT ON ks.t TO reader")
	env.as(env.admin, "GRANT reader TO bob")
	env.as(env.bob, q)
	env.as(env.admin, "REVOKE reader FROM bob")
	env.denied(env.bob, q, cqlerr.Unauthorized, denied)
}

// A superuser, or a role granted a superuser role, bypasses every check
// without any grant.
func TestAuthzSuperuserBypass(t *testing.T) {
	env := newAuthzEnv(t)
	env.as(env.admin, "CREATE ROLE root WITH SUPERUSER = true AND LOGIN = true")
	root := &Session{User: "root", Superuser: true}
	for _, q := range []string{"SELECT * FROM ks.t", "INSERT INTO ks.t (k, v) VALUES (9, 9)", "CREATE TABLE ks.t3 (k int PRIMARY KEY)",
		"DROP TABLE ks.t3", "CREATE ROLE x", "GRANT SELECT ON ks.t TO x", "LIST ALL PERMISSIONS"} {
		env.as(root, q)
	}
	env.denied(env.bob, "SELECT * FROM ks.t", cqlerr.Unauthorized, "User bob has no SELECT permission on <table ks.t> or any of its parents")
	env.as(env.admin, "GRANT root TO bob")
	env.as(env.bob, "SELECT * FROM ks.t")
	env.as(env.bob, "DROP TABLE ks.t")
}

// A REVOKE takes effect on a session that is already open, and so does a
// change made without this Processor (a merge from a peer).
func TestAuthzRevokeOnOpenSession(t *testing.T) {
	env := newAuthzEnv(t)
	const q = "SELECT * FROM ks.t"
	denied := "User bob has no SELECT permission on <table ks.t> or any of its parents"
	env.as(env.admin, "GRANT SELECT ON ks.t TO bob")
	env.as(env.bob, q)
	env.as(env.bob, q) // served from the cache
	env.as(env.admin, "REVOKE SELECT ON ks.t FROM bob")
	env.denied(env.bob, q, cqlerr.Unauthorized, denied)
	if err := env.auth.GrantPermissions("bob", "data/ks", []string{"SELECT"}); err != nil { // as a merge would
		t.Fatal(err)
	}
	env.as(env.bob, q)
	if err := env.auth.RevokeAllOn("data/ks"); err != nil {
		t.Fatal(err)
	}
	env.denied(env.bob, q, cqlerr.Unauthorized, denied)
	// A dropped role holds nothing, even on an open session.
	env.as(env.admin, "GRANT SELECT ON ks.t TO bob")
	env.as(env.bob, q)
	env.as(env.admin, "DROP ROLE bob")
	env.denied(env.bob, q, cqlerr.Unauthorized, denied)
}

// Dropping a table, keyspace or role removes the permissions on it: a
// re-created one starts without them.
func TestAuthzDropRemovesGrants(t *testing.T) {
	env := newAuthzEnv(t)
	env.as(env.admin, "CREATE ROLE carol")
	env.as(env.admin, "GRANT SELECT ON ks.t TO bob")
	env.as(env.admin, "GRANT MODIFY ON KEYSPACE ks TO bob")
	env.as(env.admin, "GRANT ALTER ON ROLE carol TO bob")
	env.as(env.admin, "DROP TABLE ks.t")
	env.as(env.admin, "CREATE TABLE ks.t (k int PRIMARY KEY, v int)")
	env.denied(env.bob, "SELECT * FROM ks.t", cqlerr.Unauthorized, "User bob has no SELECT permission on <table ks.t> or any of its parents")
	wantRows(t, env.rows(env.admin, "LIST ALL PERMISSIONS OF bob"), "role | username | resource | permission",
		"bob | bob | <keyspace ks> | MODIFY", "bob | bob | <role carol> | ALTER")
	env.as(env.admin, "DROP KEYSPACE ks")
	env.as(env.admin, "DROP ROLE carol")
	wantRows(t, env.rows(env.admin, "LIST ALL PERMISSIONS OF bob"), "role | username | resource | permission")
	env.as(env.admin, "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
	env.as(env.admin, "CREATE TABLE ks.t (k int PRIMARY KEY, v int)")
	env.denied(env.bob, "INSERT INTO ks.t (k, v) VALUES (1, 1)", cqlerr.Unauthorized,
		"User bob has no MODIFY permission on <table ks.t> or any of its parents")
}

// LIST PERMISSIONS shows Cassandra 4's rows, sorted by role, resource and
// permission; OF includes the roles granted; ON includes the parents
// unless NORECURSIVE; a role sees only its own roles' permissions.
func TestAuthzListPermissions(t *testing.T) {
	env := newAuthzEnv(t)
	env.as(env.admin, "CREATE ROLE reader")
	env.as(env.admin, "GRANT reader TO bob")
	env.as(env.admin, "GRANT SELECT ON KEYSPACE ks TO reader")
	env.as(env.admin, "GRANT ALL ON ks.t TO bob")
	env.as(env.admin, "GRANT DESCRIBE ON ALL ROLES TO bob")
	head := "role | username | resource | permission"
	wantRows(t, env.rows(env.bob, "LIST ALL PERMISSIONS OF bob"), head,
		"bob | bob | <table ks.t> | ALTER", "bob | bob | <table ks.t> | DROP", "bob | bob | <table ks.t> | SELECT",
		"bob | bob | <table ks.t> | MODIFY", "bob | bob | <table ks.t> | AUTHORIZE",
		"bob | bob | <all roles> | DESCRIBE", // resources sort by name: data/ks/t < roles
		"reader | reader | <keyspace ks> | SELECT")
	wantRows(t, env.rows(env.admin, "LIST SELECT ON ks.t OF bob"), head,
		"bob | bob | <table ks.t> | SELECT", "reader | reader | <keyspace ks> | SELECT")
	wantRows(t, env.rows(env.admin, "LIST SELECT ON ks.t OF bob NORECURSIVE"), head, "bob | bob | <table ks.t> | SELECT")
	wantRows(t, env.rows(env.admin, "LIST ALL PERMISSIONS ON KEYSPACE ks"), head,
		"admin | admin | <keyspace ks> | CREATE", "admin | admin | <keyspace ks> | ALTER", "admin | admin | <keyspace ks> | DROP",
		"admin | admin | <keyspace ks> | SELECT", "admin | admin | <keyspace ks> | MODIFY", "admin | admin | <keyspace ks> | AUTHORIZE",
		"reader | reader | <keyspace ks> | SELECT")
	wantRows(t, env.rows(env.bob, "LIST ALL PERMISSIONS OF reader"), head, "reader | reader | <keyspace ks> | SELECT")
	env.denied(env.bob, "LIST ALL PERMISSIONS", cqlerr.Unauthorized, "You are not authorized to view everyone's permissions")
	env.denied(env.bob, "LIST ALL PERMISSIONS OF admin", cqlerr.Unauthorized, "You are not authorized to view admin's permissions")
	env.denied(env.admin, "LIST ALL PERMISSIONS OF nobody", cqlerr.Invalid, "nobody doesn't exist")
	env.denied(env.admin, "LIST ALL PERMISSIONS ON ks.nope", cqlerr.Invalid, "<table ks.nope> doesn't exist")
	// The virtual table shows the same grants by role and resource name.
	env.as(env.admin, "REVOKE ALTER, DROP, AUTHORIZE ON ks.t FROM bob")
	wantRows(t, env.rows(env.admin, "SELECT * FROM system_auth.role_permissions WHERE role = 'bob'"), "role | resource | permissions",
		"bob | data/ks/t | {'MODIFY', 'SELECT'}", "bob | roles | {'DESCRIBE'}")
}

// GRANT and REVOKE refuse what Cassandra refuses, with its messages.
func TestAuthzGrantErrors(t *testing.T) {
	env := newAuthzEnv(t)
	env.denied(env.admin, "GRANT SELECT ON ROLE bob TO bob", cqlerr.SyntaxError, "Resource type RoleResource does not support any of the requested permissions")
	env.denied(env.admin, "GRANT CREATE ON ks.t TO bob", cqlerr.SyntaxError, "Resource type DataResource does not support any of the requested permissions")
	env.denied(env.admin, "GRANT SELECT ON ks.t TO nobody", cqlerr.Invalid, "Role nobody doesn't exist")
	env.denied(env.admin, "GRANT SELECT ON ks.nope TO bob", cqlerr.Invalid, "Resource <table ks.nope> doesn't exist")
	env.denied(env.admin, "GRANT SELECT ON KEYSPACE nope TO bob", cqlerr.Invalid, "Resource <keyspace nope> doesn't exist")
	env.denied(env.admin, "GRANT ALTER ON ROLE nobody TO bob", cqlerr.Invalid, "Resource <role nobody> doesn't exist")
	env.denied(env.admin, "GRANT EXECUTE ON ALL FUNCTIONS TO bob", cqlerr.Invalid, "Resource type FunctionResource is not supported by ringdb: it has no user-defined functions")
	// SELECT, CREATE on a table keeps only what applies.
	env.as(env.admin, "GRANT SELECT, CREATE ON ks.t TO bob")
	wantRows(t, env.rows(env.admin, "LIST ALL OF bob"), "role | username | resource | permission", "bob | bob | <table ks.t> | SELECT")
	// An unqualified table is in the session's keyspace.
	env.as(env.admin, "USE ks")
	env.as(env.admin, "GRANT MODIFY ON t TO bob")
	env.as(env.bob, "INSERT INTO ks.t (k, v) VALUES (4, 4)")
	// Granting needs the granted permission as well as AUTHORIZE.
	env.as(env.admin, "GRANT AUTHORIZE ON KEYSPACE ks TO bob")
	env.denied(env.bob, "GRANT DROP ON ks.t TO bob", cqlerr.Unauthorized, "User bob has no DROP permission on <table ks.t> or any of its parents")
	env.as(env.bob, "GRANT SELECT ON ks.t TO admin")
}

// Role statements follow Cassandra's superuser rules.
func TestAuthzRoleRules(t *testing.T) {
	env := newAuthzEnv(t)
	env.as(env.admin, "GRANT CREATE ON ALL ROLES TO bob")
	env.denied(env.bob, "CREATE ROLE evil WITH SUPERUSER = true", cqlerr.Unauthorized, "Only superusers can create a role with superuser status")
	env.as(env.bob, "CREATE ROLE carol WITH LOGIN = true")
	// The creator holds every permission on the role it created.
	wantRows(t, env.rows(env.bob, "LIST ALL PERMISSIONS OF bob"), "role | username | resource | permission",
		"bob | bob | <all roles> | CREATE",
		"bob | bob | <role carol> | ALTER", "bob | bob | <role carol> | DROP", "bob | bob | <role carol> | AUTHORIZE")
	env.as(env.bob, "ALTER ROLE carol WITH LOGIN = false")
	env.as(env.bob, "GRANT carol TO bob")
	env.denied(env.bob, "ALTER ROLE bob WITH SUPERUSER = true", cqlerr.Unauthorized,
		"You aren't allowed to alter your own superuser status or that of a role granted to you")
	env.denied(env.bob, "ALTER ROLE carol WITH SUPERUSER = true", cqlerr.Unauthorized,
		"You aren't allowed to alter your own superuser status or that of a role granted to you")
	env.denied(env.bob, "ALTER ROLE bob WITH LOGIN = false", cqlerr.Unauthorized, "You aren't allowed to alter LOGIN")
	env.as(env.bob, "ALTER ROLE bob WITH PASSWORD = 'new-pass'")
	env.as(env.admin, "GRANT DROP ON ALL ROLES TO bob")
	env.denied(env.bob, "DROP ROLE admin", cqlerr.Unauthorized, "Only superusers can drop a role with superuser status")
	env.as(env.bob, "DROP ROLE carol")
	// LIST ROLES shows every role only with DESCRIBE on ALL ROLES.
	if got := env.rows(env.bob, "LIST ROLES"); len(got) != 2 {
		t.Fatalf("LIST ROLES without DESCRIBE: %q", got)
	}
	env.as(env.admin, "GRANT DESCRIBE ON ALL ROLES TO bob")
	if got := env.rows(env.bob, "LIST ROLES"); len(got) != 3 {
		t.Fatalf("LIST ROLES with DESCRIBE: %q", got)
	}
}

// The creator of a keyspace or table holds every permission on it.
func TestAuthzCreatorGrants(t *testing.T) {
	env := newAuthzEnv(t)
	env.as(env.admin, "GRANT CREATE ON ALL KEYSPACES TO bob")
	env.as(env.bob, "CREATE KEYSPACE bks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
	for _, q := range []string{"CREATE TABLE bks.x (k int PRIMARY KEY, v int)", "INSERT INTO bks.x (k, v) VALUES (1, 1)",
		"SELECT * FROM bks.x", "ALTER TABLE bks.x ADD w int", "DROP TABLE bks.x", "DROP KEYSPACE bks"} {
		env.as(env.bob, q)
	}
	env.denied(env.bob, "SELECT * FROM ks.t", cqlerr.Unauthorized, "User bob has no SELECT permission on <table ks.t> or any of its parents")
	wantRows(t, env.rows(env.bob, "LIST ALL PERMISSIONS OF bob"), "role | username | resource | permission", "bob | bob | <all keyspaces> | CREATE")
}

// salted_hash is never readable, superusers included: naming it is
// refused, and SELECT * shows it null.
func TestAuthzSaltedHashUnreadable(t *testing.T) {
	env := newAuthzEnv(t)
	env.as(env.admin, "GRANT SELECT ON system_auth.roles TO bob")
	msg := "Column salted_hash of <table system_auth.roles> is not readable through CQL"
	for _, s := range []*Session{env.admin, env.bob} {
		for _, q := range []string{"SELECT salted_hash FROM system_auth.roles", "SELECT role, salted_hash FROM system_auth.roles WHERE role = 'bob'",
			"SELECT blobAsText(textAsBlob(salted_hash)) FROM system_auth.roles", "SELECT writetime(salted_hash) FROM system_auth.roles",
			"SELECT role FROM system_auth.roles WHERE salted_hash = 'x' ALLOW FILTERING", "SELECT salted_hash FROM \"system_auth\".\"roles\""} {
			env.denied(s, q, cqlerr.Unauthorized, msg)
		}
		for _, q := range []string{"SELECT * FROM system_auth.roles", "SELECT role, can_login FROM system_auth.roles"} {
			res := env.as(s, q)
			for _, row := range renderRows(t, res)[1:] {
				if strings.Contains(row, "$2a$") {
					t.Fatalf("%s leaks a hash: %s", q, row)
				}
			}
		}
	}
	wantRows(t, env.rows(env.admin, "SELECT * FROM system_auth.roles WHERE role = 'bob'"),
		"role | can_login | is_superuser | member_of | salted_hash", "bob | True | False | null | null")
}

// Every role reads the system tables drivers need; nobody modifies them.
func TestAuthzSystemKeyspaces(t *testing.T) {
	env := newAuthzEnv(t)
	for _, q := range []string{"SELECT * FROM system.local", "SELECT * FROM system.peers", "SELECT * FROM system_schema.keyspaces",
		"SELECT * FROM system_schema.tables", "SELECT * FROM system_schema.columns", "SELECT * FROM system_virtual_schema.tables"} {
		env.as(env.bob, q)
	}
	env.denied(env.bob, "INSERT INTO system.local (key) VALUES ('x')", cqlerr.Unauthorized,
		"User bob has no MODIFY permission on <table system.local> or any of its parents")
	env.denied(env.admin, "INSERT INTO system.local (key) VALUES ('x')", cqlerr.Unauthorized, "system keyspace is not user-modifiable.")
	env.denied(env.admin, "DROP KEYSPACE system", cqlerr.Unauthorized, "system keyspace is not user-modifiable.")
	env.denied(env.admin, "DROP TABLE system_schema.tables", cqlerr.Unauthorized, "system_schema keyspace is not user-modifiable.")
	env.denied(env.admin, "DROP TABLE system_auth.roles", cqlerr.Unauthorized, "Cannot DROP <table system_auth.roles>")
	env.denied(env.admin, "CREATE TABLE system_auth.x (k int PRIMARY KEY)", cqlerr.Unauthorized, "Cannot CREATE <keyspace system_auth>")
	env.denied(env.bob, "SELECT * FROM system_traces.sessions", cqlerr.Unauthorized,
		"User bob has no SELECT permission on <table system_traces.sessions> or any of its parents")
}

// A BATCH message needs MODIFY on every table it writes.
func TestAuthzBatchMessage(t *testing.T) {
	env := newAuthzEnv(t)
	env.as(env.admin, "CREATE TABLE ks.u (k int PRIMARY KEY, v int)")
	env.as(env.admin, "GRANT MODIFY ON ks.t TO bob")
	batch := func() error {
		_, err := env.p.Batch(context.Background(), env.bob, 0, []BatchEntry{
			{Query: "INSERT INTO ks.t (k, v) VALUES (1, 1)"}, {Query: "INSERT INTO ks.u (k, v) VALUES (1, 1)"}},
			&Params{Consistency: consistency.One})
		return err
	}
	wantErr(t, batch(), cqlerr.Unauthorized, "User bob has no MODIFY permission on <table ks.u> or any of its parents")
	env.as(env.admin, "GRANT MODIFY ON ks.u TO bob")
	if err := batch(); err != nil {
		t.Fatal(err)
	}
}

// Prepared statements are checked when executed, with the permissions of
// that moment.
func TestAuthzPreparedChecksAtExecute(t *testing.T) {
	env := newAuthzEnv(t)
	ps, err := env.p.Prepare(context.Background(), env.bob, "SELECT * FROM ks.t")
	if err != nil {
		t.Fatal(err)
	}
	exec := func() error {
		_, err := env.p.Execute(context.Background(), env.bob, ps.ID, &Params{Consistency: consistency.One})
		return err
	}
	wantErr(t, exec(), cqlerr.Unauthorized, "User bob has no SELECT permission on <table ks.t> or any of its parents")
	env.as(env.admin, "GRANT SELECT ON ks.t TO bob")
	if err := exec(); err != nil {
		t.Fatal(err)
	}
}

// Under AllowAllAuthorizer every logged-in role uses data, and the
// permission statements are refused as Cassandra refuses them.
func TestAllowAllAuthorizer(t *testing.T) {
	env := newAuthzEnv(t)
	env.p.opts.Authorizer = nil
	env.as(env.bob, "SELECT * FROM ks.t")
	env.as(env.bob, "DROP TABLE ks.t")
	env.denied(env.admin, "GRANT SELECT ON ks.t TO bob", cqlerr.Invalid, "GRANT operation is not supported by AllowAllAuthorizer")
	env.denied(env.admin, "LIST ALL PERMISSIONS", cqlerr.Invalid, "LIST PERMISSIONS operation is not supported by AllowAllAuthorizer")
	env.denied(env.bob, "CREATE ROLE x", cqlerr.Unauthorized, "Only superusers are allowed to perform CREATE ROLE queries")
}
