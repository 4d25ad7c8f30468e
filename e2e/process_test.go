package e2e

import (
	"fmt"
	"github.com/ringdb/ringdb/internal/testnet"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gocql/gocql"

	"github.com/ringdb/ringdb/e2e/internal/ringdbbin"
)

// ringdbBinary returns the ringdb binary built for this test run.
func ringdbBinary(t *testing.T) string { return ringdbbin.Path(t) }

// procNode is a ringdb server running as a separate process.
type procNode struct {
	cmd      *exec.Cmd
	dir      string
	port     int
	password string
	logPath  string
}

func startProc(t *testing.T, dir string, port int, args ...string) *procNode {
	t.Helper()
	bin := ringdbBinary(t)
	logPath := filepath.Join(dir, "..", filepath.Base(dir)+".log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	all := append([]string{"server", "--data-dir", dir, "--native-port", strconv.Itoa(port),
		"--storage-port", strconv.Itoa(testnet.FreePort(t)), "--admin-address", "127.0.0.1:" + strconv.Itoa(testnet.FreePort(t))}, args...)
	cmd := exec.Command(bin, all...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logf.Close()
	p := &procNode{cmd: cmd, dir: dir, port: port, logPath: logPath}
	t.Cleanup(func() { p.kill() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logPath)
			t.Fatalf("node did not start listening: %v\n%s", err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	pw, err := os.ReadFile(filepath.Join(dir, "superuser.password"))
	if err != nil {
		t.Fatal(err)
	}
	p.password = strings.TrimSpace(string(pw))
	return p
}

func (p *procNode) kill() {
	if p.cmd.Process != nil && p.cmd.ProcessState == nil {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		_ = p.cmd.Wait()
	}
}

func (p *procNode) session(t *testing.T) *gocql.Session {
	t.Helper()
	c := gocql.NewCluster("127.0.0.1")
	c.Port = p.port
	c.ProtoVersion = 4
	c.Timeout = 10 * time.Second
	c.Authenticator = gocql.PasswordAuthenticator{Username: "cassandra", Password: p.password}
	c.Consistency = gocql.One
	c.ReconnectInterval = 0
	s, err := c.CreateSession()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestKill9DurabilityBatchSync: with commitlog_sync batch every
// acknowledged write survives SIGKILL of the server process.
func TestKill9DurabilityBatchSync(t *testing.T) { kill9Durability(t, "batch") }

// TestKill9DurabilityPeriodicSync: with the default commitlog_sync
// periodic every acknowledged write survives SIGKILL of the server
// process too (the OS has it; only a machine crash may lose the last
// sync period), as Cassandra's periodic mode.
func TestKill9DurabilityPeriodicSync(t *testing.T) { kill9Durability(t, "periodic") }

func kill9Durability(t *testing.T, mode string) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := filepath.Join(t.TempDir(), "data")
	port := testnet.FreePort(t)
	p := startProc(t, dir, port, "--commitlog-sync", mode)
	s := p.session(t)
	mustExec(t, s, "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
	mustExec(t, s, "CREATE TABLE ks.d (k int PRIMARY KEY, v text)")
	var acked sync.Map
	var nacked atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				k := w*1_000_000 + i
				if err := s.Query("INSERT INTO ks.d (k, v) VALUES (?, ?)", k, fmt.Sprint("v", k)).Exec(); err != nil {
					return // the server died
				}
				acked.Store(k, true)
				nacked.Add(1)
			}
		}(w)
	}
	deadline := time.Now().Add(60 * time.Second)
	for nacked.Load() < 2000 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	p.kill() // SIGKILL while writes are in flight
	close(stop)
	wg.Wait()
	s.Close()
	if nacked.Load() < 2000 {
		t.Fatalf("only %d writes acknowledged before the deadline", nacked.Load())
	}
	p2 := startProc(t, dir, port, "--commitlog-sync", mode)
	s2 := p2.session(t)
	defer s2.Close()
	missing := 0
	total := 0
	acked.Range(func(k, _ any) bool {
		total++
		var v string
		if err := s2.Query("SELECT v FROM ks.d WHERE k = ?", k).Scan(&v); err != nil || v != fmt.Sprint("v", k) {
			missing++
		}
		return true
	})
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged writes lost after SIGKILL", missing, total)
	}
	t.Logf("%d acknowledged writes all present after SIGKILL and restart", total)
	// The node log must name the password file and never the password.
	log, _ := os.ReadFile(p.logPath)
	if !strings.Contains(string(log), "superuser.password") || strings.Contains(string(log), p.password) {
		t.Fatalf("log must name the password file and never contain the password:\n%s", log)
	}
	if fi, err := os.Stat(filepath.Join(dir, "superuser.password")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("superuser.password mode: %v %v", fi.Mode(), err)
	}
}

// TestNodetoolDrain: drain stops the node cleanly (exit status 0) after
// flushing; what was written is there after a restart.
func TestNodetoolDrain(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := filepath.Join(t.TempDir(), "data")
	port := testnet.FreePort(t)
	admin := "127.0.0.1:" + strconv.Itoa(testnet.FreePort(t))
	p := startProc(t, dir, port, "--admin-address", admin)
	s := p.session(t)
	mustExec(t, s, "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
	mustExec(t, s, "CREATE TABLE ks.d (k int PRIMARY KEY)")
	mustExec(t, s, "INSERT INTO ks.d (k) VALUES (1)")
	s.Close()
	out, err := exec.Command(ringdbBinary(t), "nodetool", "--host", admin, "--data-dir", dir, "drain").CombinedOutput()
	if err != nil {
		t.Fatalf("nodetool drain: %v\n%s", err, out)
	}
	exited := make(chan error, 1)
	go func() { exited <- p.cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("node exited with %v after drain", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("node did not stop after drain")
	}
	p2 := startProc(t, dir, port)
	s2 := p2.session(t)
	defer s2.Close()
	var k int
	if err := s2.Query("SELECT k FROM ks.d WHERE k = 1").Scan(&k); err != nil || k != 1 {
		t.Fatalf("row after drain and restart: %v", err)
	}
}
