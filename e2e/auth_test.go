package e2e

import (
	"strings"
	"testing"

	"github.com/gocql/gocql"

	"github.com/ringdb/ringdb/internal/config"
)

func TestPasswordAuthAndRoles(t *testing.T) {
	n := startNode(t, "")
	if len(n.password) < 16 {
		t.Fatalf("weak generated password %q", n.password)
	}
	// Wrong password and unknown user are rejected.
	for _, cred := range []gocql.PasswordAuthenticator{{Username: "cassandra", Password: "cassandra"}, {Username: "nobody", Password: "x"}} {
		c := n.cluster()
		c.Authenticator = cred
		c.ReconnectInterval = 0
		if s, err := c.CreateSession(); err == nil {
			s.Close()
			t.Fatalf("login as %s with a wrong password succeeded", cred.Username)
		} else if !strings.Contains(err.Error(), "incorrect") && !strings.Contains(err.Error(), "authentication") {
			t.Logf("rejected with: %v", err)
		}
	}
	// No credentials at all.
	c := n.cluster()
	c.Authenticator = nil
	if s, err := c.CreateSession(); err == nil {
		s.Close()
		t.Fatal("session without credentials succeeded")
	}
	s := n.session()
	mustExec(t, s, "CREATE ROLE app WITH PASSWORD = 's3cret-pass' AND LOGIN = true")
	mustExec(t, s, "CREATE ROLE IF NOT EXISTS app WITH PASSWORD = 'other' AND LOGIN = true")
	expectCode(t, s.Query("CREATE ROLE app WITH LOGIN = true").Exec(), 0x2200, "already exists")
	var login, super bool
	if err := s.Query("SELECT can_login, is_superuser FROM system_auth.roles WHERE role = 'app'").Scan(&login, &super); err != nil {
		t.Fatal(err)
	}
	if !login || super {
		t.Fatalf("stored role: login=%v super=%v", login, super)
	}
	// The password hash never leaves the server, not even for a superuser.
	expectCode(t, s.Query("SELECT salted_hash FROM system_auth.roles WHERE role = 'app'").Exec(), 0x2100, "salted_hash")
	got := rows(t, s, "LIST ROLES")
	if len(got) != 2 {
		t.Fatalf("LIST ROLES: %v", got)
	}
	// The new role logs in, may use data, but may not manage roles.
	c2 := n.cluster()
	c2.Authenticator = gocql.PasswordAuthenticator{Username: "app", Password: "s3cret-pass"}
	s2, err := c2.CreateSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	const createKS = "CREATE KEYSPACE appks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}"
	expectCode(t, s2.Query(createKS).Exec(), 0x2100, "no CREATE permission")
	mustExec(t, s, "GRANT CREATE ON ALL KEYSPACES TO app")
	mustExec(t, s2, "CREATE KEYSPACE appks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
	expectCode(t, s2.Query("CREATE ROLE evil WITH SUPERUSER = true AND LOGIN = true AND PASSWORD = 'x'").Exec(), 0x2100, "sufficient privileges")
	expectCode(t, s2.Query("ALTER ROLE app WITH SUPERUSER = true").Exec(), 0x2100, "superuser")
	// A role may change its own password.
	mustExec(t, s2, "ALTER ROLE app WITH PASSWORD = 'rotated-pass'")
	c3 := n.cluster()
	c3.Authenticator = gocql.PasswordAuthenticator{Username: "app", Password: "rotated-pass"}
	s3, err := c3.CreateSession()
	if err != nil {
		t.Fatalf("login with rotated password: %v", err)
	}
	s3.Close()
	mustExec(t, s, "DROP ROLE app")
	c4 := n.cluster()
	c4.Authenticator = gocql.PasswordAuthenticator{Username: "app", Password: "rotated-pass"}
	if s4, err := c4.CreateSession(); err == nil {
		s4.Close()
		t.Fatal("dropped role can still log in")
	}
}

func TestAllowAllAuthenticator(t *testing.T) {
	n := startNode(t, "", func(c *config.Config) { c.Authenticator = "AllowAllAuthenticator" })
	if n.password != "" {
		t.Fatal("AllowAll must not create a password file")
	}
	s := n.session()
	mustExec(t, s, "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
	expectCode(t, s.Query("CREATE ROLE x").Exec(), 0x2200, "AllowAll")
}

func TestSystemTables(t *testing.T) {
	n, s := setupKS(t)
	m := map[string]any{}
	if err := s.Query("SELECT * FROM system.local WHERE key = 'local'").MapScan(m); err != nil {
		t.Fatal(err)
	}
	if m["partitioner"] != "org.apache.cassandra.dht.Murmur3Partitioner" || m["cluster_name"] != "Test Cluster" ||
		m["data_center"] != "datacenter1" || m["rack"] != "rack1" || m["native_protocol_version"] != "4" {
		t.Fatalf("system.local: %v", m)
	}
	if toks, _ := m["tokens"].([]string); len(toks) != n.cfg.NumTokens {
		t.Fatalf("tokens: %v", m["tokens"])
	}
	if got := rows(t, s, "SELECT * FROM system.peers"); len(got) != 0 {
		t.Fatalf("single node has peers: %v", got)
	}
	if got := rows(t, s, "SELECT * FROM system.peers_v2"); len(got) != 0 {
		t.Fatalf("single node has peers_v2: %v", got)
	}
	got := rows(t, s, "SELECT keyspace_name FROM system_schema.keyspaces")
	if !strings.Contains(strings.Join(got, ","), "ks") || !strings.Contains(strings.Join(got, ","), "system_auth") {
		t.Fatalf("system_schema.keyspaces: %v", got)
	}
	mustExec(t, s, "CREATE TABLE ks.t (a int, b int, c text, PRIMARY KEY (a, b))")
	expectRows(t, s, []string{"a|partition_key|0|int", "b|clustering|0|int", "c|regular|-1|text"},
		"SELECT column_name, kind, position, type FROM system_schema.columns WHERE keyspace_name = 'ks' AND table_name = 't'")
	// System keyspaces are read-only.
	expectCode(t, s.Query("INSERT INTO system.local (key) VALUES ('x')").Exec(), 0x2100, "")
	expectCode(t, s.Query("DROP KEYSPACE system").Exec(), 0x2100, "")
}
