package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ringdb/ringdb/internal/client"
	"github.com/ringdb/ringdb/internal/messaging"
	"github.com/ringdb/ringdb/internal/pki"
	"github.com/ringdb/ringdb/internal/protocol/frame"
)

// Metadata sync payloads (internal/cluster's wire format): a push starts
// with its kind, a roles pull is the kind alone, a schema pull is empty.
const (
	kindSchema byte = 'S'
	kindRoles  byte = 'A'
)

// TestMetadataSyncAttacks is issue 13's role and schema sync attacks on a
// 3-node cluster:
//
//   - an outsider holding a certificate the cluster CA signed for
//     127.0.0.159, an address that never joined, pushes a superuser `evil`
//     stamped MaxInt64, a far-future tombstone for the keyspace, and pulls
//     the roles (every bcrypt hash) and the schema from every node;
//   - a member's own certificate (a compromised member) pushes the same
//     far-future role and tombstones, and replays a roles push recorded
//     before `DROP ROLE app`.
//
// Every push is refused (the replay changes nothing), the pulls get no
// data, `evil` never appears in system_auth.roles on any node, the dropped
// role stays dropped, the keyspace and the superuser survive, and every
// node's membership audit log names 127.0.0.159 (nodes 1 and 2 also name
// the member whose far-future push they refused).
func TestMetadataSyncAttacks(t *testing.T) {
	addrs := []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"}
	ic := startInProcessCluster(t, addrs)
	conns := make([]*client.Client, len(addrs))
	for i, a := range addrs {
		conns[i] = loginWithin(t, a+":"+strconv.Itoa(ic.nativePort), "cassandra", ic.password, 30*time.Second)
	}
	mustQuery(t, conns[0], "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}")
	mustQuery(t, conns[0], "CREATE TABLE ks.t (k int PRIMARY KEY, v int)")
	// Every node is a ring member with the table: ALL writes succeed
	// from every coordinator.
	eventually(t, 60*time.Second, "the cluster to form", func() bool {
		for _, c := range conns {
			if _, err := c.QueryCL("INSERT INTO ks.t (k, v) VALUES (0, 0)", frame.All, 0, nil); err != nil {
				return false
			}
		}
		return true
	})
	// Role sync between members works: a role created on node 1 reaches
	// all.
	mustQuery(t, conns[0], "CREATE ROLE app WITH PASSWORD = 'app-pass' AND LOGIN = true")
	eventually(t, 30*time.Second, "role app on every node", func() bool {
		for _, c := range conns {
			if !slices.Contains(roleNames(t, c), "app") {
				return false
			}
		}
		return true
	})

	outsider := internodeAs(t, ic, "127.0.0.159", issueCert(t, ic, "127.0.0.159"))
	member := internodeAs(t, ic, "127.0.0.3", filepath.Join(ic.dir, "127.0.0.3", "certs"))
	ctx := context.Background()
	// The compromised member records a roles push while app exists.
	old, err := member.Request(ctx, netip.MustParseAddr("127.0.0.1"), messaging.VerbSchemaPull, []byte{kindRoles})
	if err != nil || !strings.Contains(string(old), `"name":"app"`) {
		t.Fatalf("member's roles pull: %v", err)
	}
	mustQuery(t, conns[0], "DROP ROLE app")
	eventually(t, 30*time.Second, "role app dropped on every node", func() bool {
		for _, c := range conns {
			if slices.Contains(roleNames(t, c), "app") {
				return false
			}
		}
		return true
	})

	evil := rolesPayload(t, []map[string]any{{"name": "evil", "can_login": true, "is_superuser": true,
		"salted_hash": "$2a$10$abcdefghijklmnopqrstuuS1X1b9S6f1q6L0vN6Q8yY9H6m3H0y2m", "modified": int64(math.MaxInt64)}}, nil)
	tombCassandra := rolesPayload(t, nil, map[string]int64{"cassandra": math.MaxInt64})
	tombKeyspace := append([]byte{kindSchema}, `{"keyspaces":[],"dropped_keyspaces":{"ks":9223372036854775807}}`...)

	for _, a := range addrs {
		to := netip.MustParseAddr(a)
		// The outsider: every push refused, every pull answered with an
		// error and no data.
		for _, p := range [][]byte{evil, tombCassandra, tombKeyspace} {
			if _, err := outsider.Request(ctx, to, messaging.VerbSchemaPush, p); !refused(err, "not an admitted member") {
				t.Fatalf("outsider's push %.40q to %s: %v", p, a, err)
			}
			if err := outsider.Send(to, messaging.VerbSchemaPush, p); err != nil {
				t.Fatal(err)
			}
		}
		for _, p := range [][]byte{{kindRoles}, nil} {
			data, err := outsider.Request(ctx, to, messaging.VerbSchemaPull, p)
			if !refused(err, "not an admitted member") || len(data) != 0 {
				t.Fatalf("outsider's pull %q from %s: %d bytes, %v", p, a, len(data), err)
			}
		}
		if a == "127.0.0.3" {
			continue // the member's own node
		}
		// The compromised member: far-future timestamps refused.
		for _, p := range [][]byte{evil, tombCassandra, tombKeyspace} {
			if _, err := member.Request(ctx, to, messaging.VerbSchemaPush, p); !refused(err, "beyond the accepted bound") {
				t.Fatalf("member's far-future push %.40q to %s: %v", p, a, err)
			}
		}
		// Its replay of the push from before DROP ROLE app is merged
		// (it is a member) but changes nothing.
		if _, err := member.Request(ctx, to, messaging.VerbSchemaPush, append([]byte{kindRoles}, old...)); err != nil {
			t.Fatalf("member's replay to %s: %v", a, err)
		}
	}

	// Give gossip a few rounds: a merged change would spread.
	time.Sleep(3 * time.Second)
	for i, c := range conns {
		names := roleNames(t, c)
		if slices.Contains(names, "evil") || slices.Contains(names, "app") || !slices.Contains(names, "cassandra") {
			t.Fatalf("roles on %s: %q", addrs[i], names)
		}
		if _, err := c.QueryCL("SELECT v FROM ks.t WHERE k = 0", frame.One, 0, nil); err != nil {
			t.Fatalf("ks.t on %s: %v", addrs[i], err)
		}
		if _, err := client.Dial(ctx, addrs[i]+":"+strconv.Itoa(ic.nativePort), client.Options{Username: "app", Password: "app-pass"}); err == nil {
			t.Fatalf("dropped role app logs in on %s", addrs[i])
		}
	}
	// The membership audit logs name the attackers.
	for _, a := range addrs {
		refusals := auditedRefusals(t, filepath.Join(ic.dir, a, "membership-audit.log"))
		if !slices.ContainsFunc(refusals["127.0.0.159"], func(r string) bool { return strings.Contains(r, "roles push refused") }) ||
			!slices.ContainsFunc(refusals["127.0.0.159"], func(r string) bool { return strings.Contains(r, "roles pull refused") }) {
			t.Errorf("%s's audit log lacks the outsider's refusals: %q", a, refusals["127.0.0.159"])
		}
		if a != "127.0.0.3" && !slices.ContainsFunc(refusals["127.0.0.3"], func(r string) bool { return strings.Contains(r, `role "evil" modified at 9223372036854775807`) }) {
			t.Errorf("%s's audit log lacks the member's far-future push: %q", a, refusals["127.0.0.3"])
		}
		// Forming the cluster and syncing between members refused
		// nothing.
		for _, m := range []string{"127.0.0.1", "127.0.0.2"} {
			if len(refusals[m]) != 0 {
				t.Errorf("%s refused member %s: %q", a, m, refusals[m])
			}
		}
	}
}

// loginWithin logs in as user, retrying until the node serves.
func loginWithin(t *testing.T, addr, user, password string, d time.Duration) *client.Client {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		c, err := client.Dial(context.Background(), addr, client.Options{Username: user, Password: password})
		if err == nil {
			t.Cleanup(func() { c.Close() })
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("login on %s: %v", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func mustQuery(t *testing.T, c *client.Client, q string) {
	t.Helper()
	if _, err := c.QueryCL(q, frame.One, 0, nil); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// eventually polls cond until it holds or d passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// roleNames lists system_auth.roles as the node c is connected to knows
// them.
func roleNames(t *testing.T, c *client.Client) []string {
	t.Helper()
	res, err := c.QueryCL("SELECT role FROM system_auth.roles", frame.One, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range res.Rows {
		out = append(out, string(r[0]))
	}
	return out
}

// issueCert has the cluster CA sign a node certificate for addr (an
// address that never joins) and returns its directory.
func issueCert(t *testing.T, ic *inProcessCluster, addr string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), addr)
	if err := ic.ca.IssueNode(netip.MustParseAddr(addr), dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// internodeAs is an internode messaging endpoint on self with the
// certificate in certs: it only dials (never listens), from self.
func internodeAs(t *testing.T, ic *inProcessCluster, self, certs string) *messaging.Service {
	t.Helper()
	id, err := pki.LoadIdentity(certs)
	if err != nil {
		t.Fatal(err)
	}
	s, err := messaging.New(messaging.Options{Self: netip.MustParseAddr(self), Port: ic.storagePort, ClusterID: id.ClusterID,
		ServerTLS: id.ServerConfig(), ClientTLS: id.ClientConfig(), PeerAddress: pki.PeerAddress, Logger: quietLogger(),
		RequestTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// rolesPayload is a roles push of roles and tombstones.
func rolesPayload(t *testing.T, roles []map[string]any, tombs map[string]int64) []byte {
	t.Helper()
	if roles == nil {
		roles = []map[string]any{}
	}
	b, err := json.Marshal(map[string]any{"roles": roles, "tombstones": tombs})
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte{kindRoles}, b...)
}

// refused reports whether err is the peer's refusal saying why.
func refused(err error, why string) bool {
	var re *messaging.RemoteError
	return errors.As(err, &re) && strings.Contains(re.Message, why)
}

// auditedRefusals reads a membership audit log: the reasons of its
// "refused" records by peer.
func auditedRefusals(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l struct{ Kind, Peer, Reason string }
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if l.Kind == string(pki.AuditRefused) {
			out[l.Peer] = append(out[l.Peer], l.Reason)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
