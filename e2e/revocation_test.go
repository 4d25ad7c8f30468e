package e2e

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/ringdb/ringdb/internal/admin"
	"github.com/ringdb/ringdb/internal/client"
	"github.com/ringdb/ringdb/internal/pki"
	"github.com/ringdb/ringdb/internal/protocol/frame"
)

// TestRevocationInProcess revokes node 3's certificate in a running
// 3-node cluster by handing the CA's CRL to node 1 through its admin API
// (what `ringdb nodetool revoke` does): node 1 pushes it to node 2, both
// close their connections with node 3 and refuse it from then on (node 3,
// still running, is seen DOWN by both and sees them DOWN), both audit the
// refusal naming node 3's serial and address, and nodes 1 and 2 keep
// seeing each other UP. Node 3 then leaves the ring of nodes 1 and 2 (it
// is no longer in their nodetool status, its tokens owned by nobody), so
// an RF=3 keyspace has two replicas per range: QUORUM (2 of 3) writes
// succeed on both, ALL (3) is Unavailable, not a write hinted for a node
// that can never come back. Node 3 stays out after node 2 restarts.
func TestRevocationInProcess(t *testing.T) {
	addrs := []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"}
	ic := startInProcessCluster(t, addrs)
	clients := make([]*admin.Client, len(addrs))
	for i, a := range addrs {
		tok, err := os.ReadFile(filepath.Join(ic.dir, a, "admin.token"))
		if err != nil {
			t.Fatal(err)
		}
		clients[i] = admin.NewClient(ic.nodes[i].AdminAddr().String(), string(tok))
	}
	// up reports whether node i sees addr UP (false if it does not know it).
	up := func(i int, addr string) bool {
		st, err := clients[i].Status("")
		if err != nil {
			t.Fatalf("status of %s: %v", addrs[i], err)
		}
		for _, e := range st.Endpoints {
			if e.Address == addr {
				return e.Up
			}
		}
		return false
	}
	waitUntil := func(what string, timeout time.Duration, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(timeout)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out after %v waiting for %s", timeout, what)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	waitUntil("every node to see every node UP", 60*time.Second, func() bool {
		for i := range addrs {
			for _, a := range addrs {
				if !up(i, a) {
					return false
				}
			}
		}
		return true
	})

	data, err := os.ReadFile(filepath.Join(ic.dir, "127.0.0.3", "certs", pki.NodeCrtFile))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	cert3, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	serial3 := pki.FormatSerial(cert3.SerialNumber)

	r, err := ic.ca.Revoke(pki.RevokeRequest{Addresses: []netip.Addr{netip.MustParseAddr("127.0.0.3")}})
	if err != nil {
		t.Fatal(err)
	}
	crl, err := os.ReadFile(r.Path)
	if err != nil {
		t.Fatal(err)
	}
	res, err := clients[0].Revoke(crl)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Installed || res.CRLNumber != "1" || len(res.Newly) != 1 || res.Newly[0] != serial3 {
		t.Fatalf("node 1: %+v", res)
	}
	pushed := false
	for _, p := range res.Pushed {
		if p.Peer == "127.0.0.2" {
			pushed = p.Error == "" && p.CRLNumber == "1"
		}
	}
	if !pushed {
		t.Fatalf("node 1 did not push the CRL to node 2: %+v", res.Pushed)
	}

	// Node 2 got the list (stored durably before it answered the push).
	stored, err := os.ReadFile(filepath.Join(ic.dir, "127.0.0.2", pki.CRLFile))
	if err != nil {
		t.Fatalf("node 2 did not store the CRL: %v", err)
	}
	if c, err := pki.ParseCRL(stored, ic.ca.Cert); err != nil || c.Number.Int64() != 1 || !c.Contains(cert3.SerialNumber) {
		t.Fatalf("node 2 stored %v, %v", c, err)
	}

	// No connection carries gossip between node 3 and the others any more:
	// they see each other DOWN although all three keep running.
	waitUntil("nodes 1 and 2 to see node 3 DOWN and node 3 to see them DOWN", 90*time.Second, func() bool {
		return !up(0, "127.0.0.3") && !up(1, "127.0.0.3") && !up(2, "127.0.0.1") && !up(2, "127.0.0.2")
	})
	if !up(0, "127.0.0.2") || !up(1, "127.0.0.1") {
		t.Fatal("nodes 1 and 2 no longer see each other UP")
	}

	// Node 3 left the ring of nodes 1 and 2: not in their status at all
	// (gossip forgot it, the ring leaves it out).
	listed := func(i int, addr string) bool {
		st, err := clients[i].Status("")
		if err != nil {
			t.Fatalf("status of %s: %v", addrs[i], err)
		}
		for _, e := range st.Endpoints {
			if e.Address == addr {
				return true
			}
		}
		return false
	}
	waitUntil("nodes 1 and 2 to remove node 3 from the ring", 60*time.Second, func() bool {
		return !listed(0, "127.0.0.3") && !listed(1, "127.0.0.3")
	})
	if !listed(0, "127.0.0.2") || !listed(1, "127.0.0.1") {
		t.Fatal("nodes 1 and 2 no longer list each other")
	}
	// RF=3 on a two-node ring: each range has two replicas, nodes 1 and
	// 2. QUORUM needs 2 of RF 3 and gets them; ALL needs 3 and is
	// Unavailable.
	conns := make([]*client.Client, 2)
	for i := range conns {
		conns[i] = dialWithin(t, addrs[i]+":"+strconv.Itoa(ic.nativePort), ic.password, 30*time.Second)
	}
	if _, err := conns[0].QueryCL("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}", frame.Quorum, 0, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := conns[0].QueryCL("CREATE TABLE ks.t (k int PRIMARY KEY, v int)", frame.Quorum, 0, nil); err != nil {
		t.Fatal(err)
	}
	waitUntil("QUORUM writes through nodes 1 and 2", 30*time.Second, func() bool {
		for i, c := range conns {
			if _, err := c.QueryCL(fmt.Sprintf("INSERT INTO ks.t (k, v) VALUES (%d, 1)", i), frame.Quorum, 0, nil); err != nil {
				t.Logf("QUORUM write through %s: %v", addrs[i], err)
				return false
			}
		}
		return true
	})
	for i, c := range conns {
		_, err := c.QueryCL("INSERT INTO ks.t (k, v) VALUES (9, 9)", frame.All, 0, nil)
		var se *client.ServerError
		if !errors.As(err, &se) || se.Code != int32(frame.CodeUnavailable) {
			t.Errorf("ALL write through %s: %v, want Unavailable", addrs[i], err)
		}
	}

	// After a restart node 2 keeps node 3 out: its stored CRL refuses node
	// 3's handshakes and any gossiped state under the revoked certificate,
	// and node 1 no longer gossips node 3 at all.
	ic.restart(t, 1)
	tok2, err := os.ReadFile(filepath.Join(ic.dir, addrs[1], "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	clients[1] = admin.NewClient(ic.nodes[1].AdminAddr().String(), string(tok2))
	waitUntil("restarted node 2 to see node 1 UP", 60*time.Second, func() bool { return up(1, "127.0.0.1") })
	time.Sleep(5 * time.Second) // some gossip rounds, and node 3 (still running) trying to reconnect
	if listed(1, "127.0.0.3") || listed(0, "127.0.0.3") {
		t.Fatal("node 3 back in a ring after node 2's restart")
	}

	// Both audit node 3 by serial and address: the connections closed and
	// the handshakes refused since.
	audited := func(i int, outcome string) bool {
		lines, err := clients[i].MembershipLog(time.Time{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, ln := range lines {
			var rec pki.AuditRecord
			if json.Unmarshal(ln, &rec) == nil && rec.Kind == pki.AuditRevocation && rec.Outcome == outcome &&
				rec.Peer == "127.0.0.3" && rec.Serial == serial3 {
				return true
			}
		}
		return false
	}
	for i := 0; i < 2; i++ {
		if !audited(i, "connection_closed") {
			t.Errorf("%s: no audit of its connections with node 3 being closed", addrs[i])
		}
		waitUntil(addrs[i]+" to audit a refused handshake of node 3", 30*time.Second, func() bool { return audited(i, "refused") })
		if !audited(i, "removed") {
			t.Errorf("%s: no audit of node 3 being removed from the ring", addrs[i])
		}
	}
}
