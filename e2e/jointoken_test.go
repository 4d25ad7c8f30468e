package e2e

import (
	"bufio"
	"encoding/json"
	"github.com/ringdb/ringdb/internal/testnet"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ringdb/ringdb/internal/admin"
	"github.com/ringdb/ringdb/internal/config"
	"github.com/ringdb/ringdb/internal/pki"
	"github.com/ringdb/ringdb/internal/protocol/frame"
	"github.com/ringdb/ringdb/internal/server"
)

// TestJoinTokenInProcess is issue 13's join-token test on a 3-node
// in-process cluster whose first node holds the CA (ca_dir):
//
//   - a 4th node at 127.0.0.4 with an empty certificates directory starts
//     with a token from node 1, obtains its certificate over port 7000,
//     becomes a ring member, and QUORUM writes through it work;
//   - the same token fails a second time (127.0.0.5), and a token used
//     after its expiry fails (127.0.0.6); neither gets a certificate;
//   - node 1's membership audit log has token_use accepted/reused/expired
//     and the admission with node 4's serial, fingerprint and host id;
//   - a member without the CA refuses to create tokens, saying what to do.
func TestJoinTokenInProcess(t *testing.T) {
	addrs := []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"}
	ic := startInProcessCluster(t, addrs, withIssuer())
	adminOf := func(i int) *admin.Client {
		tok, err := os.ReadFile(filepath.Join(ic.dir, addrs[i], "admin.token"))
		if err != nil {
			t.Fatal(err)
		}
		return admin.NewClient(ic.nodes[i].AdminAddr().String(), string(tok))
	}
	issuer := adminOf(0)

	if _, err := adminOf(1).CreateJoinToken(time.Hour); err == nil || !strings.Contains(err.Error(), "--ca-dir") ||
		!strings.Contains(err.Error(), "ringdb cert node") {
		t.Fatalf("a member without the CA: %v", err)
	}

	conn1 := loginWithin(t, addrs[0]+":"+strconv.Itoa(ic.nativePort), "cassandra", ic.password, 30*time.Second)
	mustQuery(t, conn1, "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}")
	mustQuery(t, conn1, "CREATE TABLE ks.t (k int PRIMARY KEY, v int)")
	eventually(t, 60*time.Second, "the cluster to form", func() bool {
		_, err := conn1.QueryCL("INSERT INTO ks.t (k, v) VALUES (0, 0)", frame.All, 0, nil)
		return err == nil
	})

	tok, err := issuer.CreateJoinToken(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Issuer != "127.0.0.1:"+strconv.Itoa(ic.storagePort) || tok.CAFingerprint != pki.Fingerprint(ic.ca.CertDER()) {
		t.Fatalf("token %+v", tok)
	}

	// Node 4 joins with it.
	node4Cfg := joinerConfig(t, ic, "127.0.0.4", tok.Token)
	n4, err := server.Start(node4Cfg, quietLogger())
	if err != nil {
		t.Fatalf("node 4 with a join token: %v", err)
	}
	t.Cleanup(func() { n4.Close() })
	id4, err := pki.LoadIdentity(node4Cfg.CertsDir)
	if err != nil {
		t.Fatalf("node 4's certificates: %v", err)
	}
	serial4 := pki.FormatSerial(id4.Serial())
	eventually(t, 60*time.Second, "node 4 to be a NORMAL member seen UP by node 1", func() bool {
		st, err := issuer.Status("")
		if err != nil {
			return false
		}
		for _, e := range st.Endpoints {
			if e.Address == "127.0.0.4" {
				return e.Up && e.State == "Normal"
			}
		}
		return false
	})
	conn4 := loginWithin(t, "127.0.0.4:"+strconv.Itoa(ic.nativePort), "cassandra", ic.password, 60*time.Second)
	eventually(t, 60*time.Second, "QUORUM writes through node 4", func() bool {
		_, err := conn4.QueryCL("INSERT INTO ks.t (k, v) VALUES (4, 4)", frame.Quorum, 0, nil)
		return err == nil
	})
	for k := 10; k < 30; k++ {
		q := "INSERT INTO ks.t (k, v) VALUES (" + strconv.Itoa(k) + ", " + strconv.Itoa(k) + ")"
		if _, err := conn4.QueryCL(q, frame.Quorum, 0, nil); err != nil {
			t.Fatalf("QUORUM write through node 4: %v", err)
		}
	}
	res, err := conn1.QueryCL("SELECT v FROM ks.t WHERE k = 29", frame.Quorum, 0, nil)
	if err != nil || len(res.Rows) != 1 {
		t.Fatalf("QUORUM read on node 1 of a write through node 4: %v %v", res, err)
	}
	info4, err := admin.NewClient(n4.AdminAddr().String(), readFile(t, filepath.Join(node4Cfg.DataDir, "admin.token"))).Info()
	if err != nil {
		t.Fatal(err)
	}

	// The binding address <-> serial <-> host id is visible on every member:
	// node 4's owner-signed CERT and HOST_ID states, here on node 3.
	eventually(t, 30*time.Second, "node 3 to know node 4's certificate and host id", func() bool {
		g, err := adminOf(2).GossipInfo()
		if err != nil {
			return false
		}
		cert, host := "", ""
		for _, e := range g {
			if e.Address != "127.0.0.4" {
				continue
			}
			for _, st := range e.States {
				switch st.Name {
				case "CERT":
					cert = st.Value
				case "HOST_ID":
					host = st.Value
				}
			}
		}
		return cert == "serial="+serial4+" sha256="+pki.Fingerprint(id4.Cert.Certificate[0]) && host == info4.HostID
	})

	// The same token again, from a fresh node at 127.0.0.5: refused.
	cfg5 := joinerConfig(t, ic, "127.0.0.5", tok.Token)
	if n, err := server.Start(cfg5, quietLogger()); err == nil {
		n.Close()
		t.Fatal("a used join token admitted a second node")
	} else if !strings.Contains(err.Error(), "already used") {
		t.Fatalf("reused token: %v", err)
	}
	if _, err := os.Stat(filepath.Join(cfg5.CertsDir, pki.NodeCrtFile)); err == nil {
		t.Fatal("node 5 got a certificate")
	}

	// A token past its expiry, at 127.0.0.6: refused.
	short, err := issuer.CreateJoinToken(time.Second)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the short token to expire", func() bool {
		l, err := issuer.ListJoinTokens()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range l {
			if r.ID == short.ID {
				return r.State == "expired"
			}
		}
		return false
	})
	cfg6 := joinerConfig(t, ic, "127.0.0.6", short.Token)
	if n, err := server.Start(cfg6, quietLogger()); err == nil {
		n.Close()
		t.Fatal("an expired join token admitted a node")
	} else if !strings.Contains(err.Error(), "expired") {
		t.Fatalf("expired token: %v", err)
	}

	// The issuer lists the admission.
	list, err := issuer.ListJoinTokens()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range list {
		if r.ID == tok.ID {
			found = r.State == "used" && r.Address == "127.0.0.4" && r.Serial == serial4 && r.HostID == info4.HostID
		}
	}
	if !found {
		t.Fatalf("join-token list does not record node 4's admission: %+v", list)
	}

	// And audited every use.
	recs := membershipRecords(t, filepath.Join(ic.dir, addrs[0], "membership-audit.log"))
	want := []struct{ kind, outcome, peer, serial, host string }{
		{"token_use", "accepted", "127.0.0.4", serial4, info4.HostID},
		{"admission", "accepted", "127.0.0.4", serial4, info4.HostID},
		{"token_use", "reused", "127.0.0.5", "", ""},
		{"token_use", "expired", "127.0.0.6", "", ""},
	}
	for _, w := range want {
		ok := false
		for _, r := range recs {
			if string(r.Kind) == w.kind && r.Outcome == w.outcome && r.Peer == w.peer && (w.serial == "" || r.Serial == w.serial) &&
				(w.host == "" || r.HostID == w.host) && (w.serial == "" || r.Fingerprint == pki.Fingerprint(id4.Cert.Certificate[0])) {
				ok = true
			}
		}
		if !ok {
			t.Errorf("node 1's membership log lacks %+v; it has %+v", w, recs)
		}
	}
}

// joinerConfig is the configuration of a new node at addr with an empty
// certificates directory, the in-process cluster's seed and a join token.
func joinerConfig(t *testing.T, ic *inProcessCluster, addr, token string) config.Config {
	t.Helper()
	cfg := config.Config{DataDir: filepath.Join(ic.dir, addr), ListenAddress: addr, StoragePort: ic.storagePort,
		NativePort: ic.nativePort, AdminAddress: addr + ":" + strconv.Itoa(testnet.FreePort(t)), CertsDir: filepath.Join(ic.dir, addr, "certs"),
		Seeds: []string{ic.addrs[0]}, ClusterName: "inproc", CommitlogSync: "periodic", JoinToken: token,
		WriteTimeout: 10 * time.Second, ReadTimeout: 10 * time.Second}
	cfg.EnsureDefaults()
	return cfg
}

// membershipRecords reads a membership audit log.
func membershipRecords(t *testing.T, path string) []pki.AuditRecord {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []pki.AuditRecord
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r pki.AuditRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, r)
	}
	return out
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
