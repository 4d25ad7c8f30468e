package e2e

import (
	"strings"
	"testing"

	"github.com/gocql/gocql"
)

// TestAuthorization drives CassandraAuthorizer (the default) with gocql: a
// low-privilege role is refused the password hashes, another keyspace's
// table and DROP TABLE, with error code 0x2100 (Unauthorized) reaching the
// driver; GRANT SELECT lets it read, and REVOKE takes the permission away
// on the session that is already open, for plain and prepared statements.
func TestAuthorization(t *testing.T) {
	n := startNode(t, "")
	admin := n.session()
	mustExec(t, admin, "CREATE KEYSPACE other WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
	mustExec(t, admin, "CREATE TABLE other.t (k int PRIMARY KEY, v text)")
	mustExec(t, admin, "INSERT INTO other.t (k, v) VALUES (1, 'secret-row')")
	mustExec(t, admin, "CREATE ROLE bob WITH PASSWORD = 'bob-pass-1234' AND LOGIN = true")

	c := n.cluster()
	c.Authenticator = gocql.PasswordAuthenticator{Username: "bob", Password: "bob-pass-1234"}
	bob, err := c.CreateSession() // gocql reads system.local, peers and system_schema as bob
	if err != nil {
		t.Fatalf("bob's session: %v", err)
	}
	defer bob.Close()

	// The password hashes: refused to bob, and to the superuser too.
	for _, s := range []*gocql.Session{bob, admin} {
		expectCode(t, s.Query("SELECT role, salted_hash FROM system_auth.roles").Exec(), 0x2100, "salted_hash")
	}
	expectCode(t, bob.Query("SELECT * FROM system_auth.roles").Exec(), 0x2100,
		"User bob has no SELECT permission on <table system_auth.roles> or any of its parents")
	for _, row := range rows(t, admin, "SELECT * FROM system_auth.roles") {
		if strings.Contains(row, "$2a$") {
			t.Fatalf("SELECT * leaks a hash: %s", row)
		}
	}

	// Another keyspace's table and DROP TABLE: refused.
	const sel = "User bob has no SELECT permission on <table other.t> or any of its parents"
	expectCode(t, bob.Query("SELECT v FROM other.t WHERE k = 1").Exec(), 0x2100, sel)
	expectCode(t, bob.Query("SELECT v FROM other.t WHERE k = ?", 1).Exec(), 0x2100, sel) // prepared
	expectCode(t, bob.Query("INSERT INTO other.t (k, v) VALUES (2, 'x')").Exec(), 0x2100,
		"User bob has no MODIFY permission on <table other.t> or any of its parents")
	expectCode(t, bob.Query("DROP TABLE other.t").Exec(), 0x2100, "User bob has no DROP permission on <table other.t> or any of its parents")
	expectCode(t, bob.Query("GRANT SELECT ON other.t TO bob").Exec(), 0x2100,
		"User bob has no AUTHORIZE permission on <table other.t> or any of its parents")

	// GRANT SELECT: bob reads, on the open session.
	mustExec(t, admin, "GRANT SELECT ON other.t TO bob")
	expectRows(t, bob, []string{"secret-row"}, "SELECT v FROM other.t WHERE k = 1")
	expectRows(t, bob, []string{"secret-row"}, "SELECT v FROM other.t WHERE k = ?", 1)
	expectCode(t, bob.Query("DROP TABLE other.t").Exec(), 0x2100, "DROP permission")
	expectRows(t, admin, []string{"bob|bob|<table other.t>|SELECT"}, "LIST ALL PERMISSIONS OF bob")
	expectRows(t, bob, []string{"bob|bob|<table other.t>|SELECT"}, "LIST ALL PERMISSIONS OF bob")
	expectRows(t, admin, []string{"bob|data/other/t|[SELECT]"}, "SELECT * FROM system_auth.role_permissions WHERE role = 'bob'")

	// REVOKE: refused again on the same session.
	mustExec(t, admin, "REVOKE SELECT ON other.t FROM bob")
	expectCode(t, bob.Query("SELECT v FROM other.t WHERE k = 1").Exec(), 0x2100, sel)
	expectCode(t, bob.Query("SELECT v FROM other.t WHERE k = ?", 1).Exec(), 0x2100, sel)
	expectRows(t, admin, nil, "LIST ALL PERMISSIONS OF bob")

	// Permissions survive a restart (stored next to the roles).
	mustExec(t, admin, "GRANT MODIFY ON KEYSPACE other TO bob")
	dir := n.cfg.DataDir
	bob.Close()
	admin.Close()
	if err := n.node.Close(); err != nil {
		t.Fatal(err)
	}
	n2 := startNode(t, dir)
	n2.password = n.password
	c2 := n2.cluster()
	c2.Authenticator = gocql.PasswordAuthenticator{Username: "bob", Password: "bob-pass-1234"}
	bob2, err := c2.CreateSession()
	if err != nil {
		t.Fatalf("bob's session after restart: %v", err)
	}
	defer bob2.Close()
	mustExec(t, bob2, "INSERT INTO other.t (k, v) VALUES (2, 'from-bob')")
	expectCode(t, bob2.Query("SELECT v FROM other.t WHERE k = 2").Exec(), 0x2100, sel)
}
