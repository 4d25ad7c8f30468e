// Package e2e drives real ringdb nodes with real drivers (gocql).
package e2e

import (
	"github.com/ringdb/ringdb/internal/testnet"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gocql/gocql"

	"github.com/ringdb/ringdb/internal/config"
	"github.com/ringdb/ringdb/internal/server"
)

// testNode is an in-process node on a free loopback port.
type testNode struct {
	t        *testing.T
	cfg      config.Config
	node     *server.Node
	port     int
	password string
}

// startNode starts a node with a fresh data directory (or dir, if given).
func startNode(t *testing.T, dir string, mutate ...func(*config.Config)) *testNode {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	cfg := config.Config{DataDir: dir, NativePort: testnet.FreePort(t), StoragePort: testnet.FreePort(t), CommitlogSync: "batch",
		AdminAddress: "127.0.0.1:" + strconv.Itoa(testnet.FreePort(t)),
		// Generous timeouts: CI machines are small and shared; these tests
		// check results, not latency.
		WriteTimeout: 10 * time.Second, ReadTimeout: 10 * time.Second}
	for _, m := range mutate {
		m(&cfg)
	}
	cfg.EnsureDefaults()
	var out io.Writer = io.Discard
	if testing.Verbose() {
		out = os.Stderr
	}
	log := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: slog.LevelWarn}))
	n, err := server.Start(cfg, log)
	if err != nil {
		t.Fatalf("start node: %v", err)
	}
	tn := &testNode{t: t, cfg: cfg, node: n, port: cfg.NativePort}
	if pw, err := os.ReadFile(filepath.Join(dir, "superuser.password")); err == nil {
		tn.password = strings.TrimSpace(string(pw))
	}
	t.Cleanup(func() { n.Close() })
	return tn
}

func (n *testNode) cluster() *gocql.ClusterConfig {
	c := gocql.NewCluster("127.0.0.1")
	c.Port = n.port
	c.ProtoVersion = 4
	c.Timeout = 10 * time.Second
	c.ConnectTimeout = 10 * time.Second
	c.Consistency = gocql.One
	if n.password != "" {
		c.Authenticator = gocql.PasswordAuthenticator{Username: "cassandra", Password: n.password}
	}
	return c
}

func (n *testNode) session() *gocql.Session {
	n.t.Helper()
	s, err := n.cluster().CreateSession()
	if err != nil {
		n.t.Fatalf("create session: %v", err)
	}
	n.t.Cleanup(s.Close)
	return s
}

func mustExec(t *testing.T, s *gocql.Session, q string, args ...any) {
	t.Helper()
	if err := s.Query(q, args...).Exec(); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func TestSmoke(t *testing.T) {
	n := startNode(t, "")
	s := n.session()
	mustExec(t, s, "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
	mustExec(t, s, "CREATE TABLE ks.t (k int, c text, v bigint, PRIMARY KEY (k, c))")
	mustExec(t, s, "INSERT INTO ks.t (k, c, v) VALUES (?, ?, ?)", 1, "a", int64(10))
	mustExec(t, s, "INSERT INTO ks.t (k, c, v) VALUES (1, 'b', 20)")
	var c string
	var v int64
	iter := s.Query("SELECT c, v FROM ks.t WHERE k = ?", 1).Iter()
	var got []string
	for iter.Scan(&c, &v) {
		got = append(got, c)
	}
	if err := iter.Close(); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "a,b" {
		t.Fatalf("got %v", got)
	}
}

type cfgT = config.Config

func quietLogger() *slog.Logger {
	var out io.Writer = io.Discard
	if testing.Verbose() {
		out = os.Stderr
	}
	return slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func readPassword(t *testing.T, dataDir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dataDir, "superuser.password"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}
