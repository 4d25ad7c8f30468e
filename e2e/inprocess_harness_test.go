package e2e

import (
	"github.com/ringdb/ringdb/internal/testnet"
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
	cfgs        []config.Config
}

// restart closes node i and starts it again with the same configuration
// (data directory, certificates, ports); it returns once the node serves.
func (ic *inProcessCluster) restart(t *testing.T, i int) {
	t.Helper()
	if err := ic.nodes[i].Close(); err != nil {
		t.Fatalf("close %s: %v", ic.addrs[i], err)
	}
	n, err := server.Start(ic.cfgs[i], quietLogger())
	if err != nil {
		t.Fatalf("restart %s: %v", ic.addrs[i], err)
	}
	t.Cleanup(func() { n.Close() })
	ic.nodes[i] = n
}

// inProcessOption adjusts the configuration of node i before it starts.
type inProcessOption func(ic *inProcessCluster, i int, cfg *config.Config)

// withIssuer starts the first node with the cluster CA (ca_dir): it issues
// join tokens.
func withIssuer() inProcessOption {
	return func(ic *inProcessCluster, i int, cfg *config.Config) {
		if i == 0 {
			cfg.CADir = ic.ca.Dir
		}
	}
}

// startInProcessCluster starts one node per address (the first is the
// seed) with certificates of one CA, stopped when the test ends.
func startInProcessCluster(t *testing.T, addrs []string, opts ...inProcessOption) *inProcessCluster {
	t.Helper()
	dir := t.TempDir()
	ca, err := pki.InitCA(filepath.Join(dir, "ca"), "inproc")
	if err != nil {
		t.Fatal(err)
	}
	ic := &inProcessCluster{addrs: addrs, storagePort: testnet.FreePort(t), nativePort: testnet.FreePort(t), dir: dir, ca: ca}
	for i, a := range addrs {
		certs := filepath.Join(dir, a, "certs")
		if err := ca.IssueNode(netip.MustParseAddr(a), certs); err != nil {
			t.Fatal(err)
		}
		cfg := config.Config{DataDir: filepath.Join(dir, a), ListenAddress: a, StoragePort: ic.storagePort, NativePort: ic.nativePort,
			AdminAddress: a + ":" + strconv.Itoa(testnet.FreePort(t)), CertsDir: certs, Seeds: []string{addrs[0]},
			ClusterName: "inproc", CommitlogSync: "periodic", WriteTimeout: 10 * time.Second, ReadTimeout: 10 * time.Second}
		for _, o := range opts {
			o(ic, i, &cfg)
		}
		cfg.EnsureDefaults()
		n, err := server.Start(cfg, quietLogger())
		if err != nil {
			t.Fatalf("start %s: %v", a, err)
		}
		t.Cleanup(func() { n.Close() })
		ic.nodes = append(ic.nodes, n)
		ic.cfgs = append(ic.cfgs, cfg)
	}
	ic.password = readPassword(t, filepath.Join(dir, addrs[0]))
	return ic
}
