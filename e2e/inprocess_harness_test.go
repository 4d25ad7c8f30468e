package e2e

import (
	"net/netip"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/ringdb/ringdb/internal/config"
	"github.com/ringdb/ringdb/internal/pki"
	"github.com/ringdb/ringdb/internal/server"
)

// inProcessCluster is a cluster of nodes running in the test process on
// distinct loopback addresses sharing one storage and one native port.
type inProcessCluster struct {
	addrs       []string
	nodes       []*server.Node
	nativePort  int
	storagePort int
	password    string
	dir         string  // the nodes' data directories are dir/<address>
	ca          *pki.CA // the cluster CA, for tests that issue more certificates
}

// startInProcessCluster starts one node per address (the first is the
// seed) with certificates of one CA, stopped when the test ends.
func startInProcessCluster(t *testing.T, addrs []string) *inProcessCluster {
	t.Helper()
	dir := t.TempDir()
	ca, err := pki.InitCA(filepath.Join(dir, "ca"), "inproc")
	if err != nil {
		t.Fatal(err)
	}
	ic := &inProcessCluster{addrs: addrs, storagePort: freePort(t), nativePort: freePort(t), dir: dir, ca: ca}
	for _, a := range addrs {
		certs := filepath.Join(dir, a, "certs")
		if err := ca.IssueNode(netip.MustParseAddr(a), certs); err != nil {
			t.Fatal(err)
		}
		cfg := config.Config{DataDir: filepath.Join(dir, a), ListenAddress: a, StoragePort: ic.storagePort, NativePort: ic.nativePort,
			AdminAddress: a + ":" + strconv.Itoa(freePort(t)), CertsDir: certs, Seeds: []string{addrs[0]},
			ClusterName: "inproc", CommitlogSync: "periodic", WriteTimeout: 10 * time.Second, ReadTimeout: 10 * time.Second}
		cfg.EnsureDefaults()
		n, err := server.Start(cfg, quietLogger())
		if err != nil {
			t.Fatalf("start %s: %v", a, err)
		}
		t.Cleanup(func() { n.Close() })
		ic.nodes = append(ic.nodes, n)
	}
	ic.password = readPassword(t, filepath.Join(dir, addrs[0]))
	return ic
}
