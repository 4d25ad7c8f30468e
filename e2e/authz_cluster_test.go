package e2e

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ringdb/ringdb/internal/client"
	"github.com/ringdb/ringdb/internal/protocol/frame"
)

// TestAuthorizationAcrossNodes: permissions are cluster state. A GRANT
// run on node 1 lets bob's session already open on node 2 read (the
// permissions it cached are dropped when the grant arrives), and a REVOKE
// on node 1 refuses him there again with Unauthorized (0x2100), without
// reconnecting.
func TestAuthorizationAcrossNodes(t *testing.T) {
	ic := startInProcessCluster(t, []string{"127.0.0.1", "127.0.0.2"})
	addr := func(i int) string { return ic.addrs[i] + ":" + strconv.Itoa(ic.nativePort) }
	admin := loginWithin(t, addr(0), "cassandra", ic.password, 30*time.Second)
	mustQuery(t, admin, "CREATE KEYSPACE app WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 2}")
	mustQuery(t, admin, "CREATE TABLE app.t (k int PRIMARY KEY, v text)")
	// Until node 1 has seen node 2 finish joining, node 2 counts as a
	// pending replica that must acknowledge too (and may not know the
	// table yet): retry the first write.
	eventually(t, 30*time.Second, "the first write", func() bool {
		_, err := admin.QueryCL("INSERT INTO app.t (k, v) VALUES (1, 'row')", frame.One, 0, nil)
		return err == nil
	})
	mustQuery(t, admin, "CREATE ROLE bob WITH PASSWORD = 'bob-pass-1234' AND LOGIN = true")
	bob := loginWithin(t, addr(1), "bob", "bob-pass-1234", 30*time.Second) // once the role reached node 2

	selectRow := func() error {
		_, err := bob.QueryCL("SELECT v FROM app.t WHERE k = 1", frame.One, 0, nil)
		return err
	}
	unauthorized := func(err error) bool {
		var se *client.ServerError
		return errors.As(err, &se) && se.Code == 0x2100 && strings.Contains(se.Message, "has no SELECT permission")
	}
	eventually(t, 30*time.Second, "the table on node 2", func() bool { return unauthorized(selectRow()) })

	mustQuery(t, admin, "GRANT SELECT ON app.t TO bob")
	eventually(t, 30*time.Second, "the grant from node 1 to reach bob's session on node 2", func() bool { return selectRow() == nil })

	mustQuery(t, admin, "REVOKE SELECT ON app.t FROM bob")
	eventually(t, 30*time.Second, "the revoke from node 1 to refuse bob's session on node 2", func() bool { return unauthorized(selectRow()) })
}
