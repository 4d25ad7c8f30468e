package e2e

import (
	"testing"
	"time"

	"github.com/gocql/gocql"
)

// TestPagingMatrixThreeNodes runs the paging matrix through gocql against
// three in-process nodes with RF=3 at QUORUM: range scans cross token
// ranges owned by different replica sets and every page is reconciled
// from two replicas.
func TestPagingMatrixThreeNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node cluster")
	}
	ic := startInProcessCluster(t, []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"})
	c := gocql.NewCluster(ic.addrs...)
	c.Port = ic.nativePort
	c.ProtoVersion = 4
	c.Timeout = 15 * time.Second
	c.ConnectTimeout = 10 * time.Second
	c.Consistency = gocql.Quorum
	c.Authenticator = gocql.PasswordAuthenticator{Username: "cassandra", Password: ic.password}
	var s *gocql.Session
	deadline := time.Now().Add(60 * time.Second)
	for {
		var err error
		if s, err = c.CreateSession(); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("session: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Cleanup(s.Close)
	mustExec(t, s, "CREATE KEYSPACE pk WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}")
	mustExec(t, s, "CREATE TABLE pk.ready (k int PRIMARY KEY)")
	// Every node must know the keyspace and see the others up: a write at
	// ALL through the session succeeds.
	for {
		err := s.Query("INSERT INTO pk.ready (k) VALUES (1)").Consistency(gocql.All).Exec()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster did not form: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	m := writePagingData(t, s, "pk")
	checkPagingMatrix(t, s, "pk", m)
}
