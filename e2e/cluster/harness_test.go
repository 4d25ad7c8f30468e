// Package cluster runs real multi-process ringdb clusters on loopback
// addresses 127.0.0.1, 127.0.0.2, ... with the default ports (7000 internode,
// 9042 CQL, 7199 admin), as Cassandra's ccm does, and drives them with the
// native protocol and nodetool.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ringdb/ringdb/e2e/internal/ringdbbin"
	"github.com/ringdb/ringdb/internal/client"
	"github.com/ringdb/ringdb/internal/protocol/frame"
)

// ringdbBinary returns the ringdb binary built for this test run.
func ringdbBinary(t *testing.T) string { return ringdbbin.Path(t) }

// skipIfPortsBusy skips when the default ports on the addresses are taken
// (another ringdb or Cassandra running on this machine).
func requirePortsFree(t *testing.T, addrs ...string) {
	t.Helper()
	for _, a := range addrs {
		for _, p := range []string{"7000", "9042", "7199"} {
			l, err := net.Listen("tcp", net.JoinHostPort(a, p))
			if err != nil {
				t.Fatalf("%s:%s is in use; cluster tests need the default ports free: %v", a, p, err)
			}
			l.Close()
		}
	}
}

type testCluster struct {
	t     *testing.T
	dir   string
	ca    string
	nodes map[string]*node
	first string // the first node added (it creates the superuser)
}

type node struct {
	addr    string
	dir     string
	args    []string
	cmd     *exec.Cmd
	logPath string
}

func newCluster(t *testing.T) *testCluster {
	t.Helper()
	c := &testCluster{t: t, dir: t.TempDir(), nodes: map[string]*node{}}
	c.ca = filepath.Join(c.dir, "ca")
	c.run("cert", "init", "--dir", c.ca, "--cluster-name", "ringdb-test")
	t.Cleanup(func() {
		for _, n := range c.nodes {
			n.kill()
		}
		if t.Failed() {
			for _, n := range c.nodes {
				b, _ := os.ReadFile(n.logPath)
				lines := strings.Split(string(b), "\n")
				if len(lines) > 40 {
					lines = lines[len(lines)-40:]
				}
				t.Logf("---- log of %s ----\n%s", n.addr, strings.Join(lines, "\n"))
			}
		}
	})
	return c
}

func (c *testCluster) run(args ...string) string {
	c.t.Helper()
	out, err := exec.Command(ringdbBinary(c.t), args...).CombinedOutput()
	if err != nil {
		c.t.Fatalf("ringdb %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// add prepares a node (certificate from the cluster CA) without starting it.
func (c *testCluster) add(addr string, extra ...string) *node {
	dir := filepath.Join(c.dir, addr)
	c.run("cert", "node", "--dir", c.ca, "--address", addr, "--out", filepath.Join(dir, "certs"))
	n := &node{addr: addr, dir: dir, logPath: filepath.Join(c.dir, addr+".log"),
		args: append([]string{"server", "--data-dir", dir, "--listen-address", addr, "--certs-dir", filepath.Join(dir, "certs"),
			"--commitlog-sync", "batch", "--cluster-name", "ringdb-test"}, extra...)}
	c.nodes[addr] = n
	if c.first == "" {
		c.first = addr // the first node started creates the superuser
	}
	return n
}

func (c *testCluster) start(n *node) {
	c.t.Helper()
	logf, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		c.t.Fatal(err)
	}
	n.cmd = exec.Command(ringdbBinary(c.t), n.args...)
	n.cmd.Stdout, n.cmd.Stderr = logf, logf
	if err := n.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	logf.Close()
	waitFor(c.t, 60*time.Second, n.addr+" accepting CQL", func() error {
		conn, err := net.DialTimeout("tcp", n.addr+":9042", time.Second)
		if err != nil {
			return err
		}
		conn.Close()
		return nil
	})
}

func (n *node) kill() {
	if n.cmd != nil && n.cmd.Process != nil && n.cmd.ProcessState == nil {
		_ = n.cmd.Process.Signal(syscall.SIGKILL)
		_ = n.cmd.Wait()
	}
}

func (c *testCluster) password() string {
	b, err := os.ReadFile(filepath.Join(c.nodes[c.first].dir, "superuser.password"))
	if err != nil {
		c.t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// cql connects to one node (it coordinates every request of the client).
func (c *testCluster) cql(addr string) *client.Client {
	c.t.Helper()
	var cl *client.Client
	waitFor(c.t, 30*time.Second, "login on "+addr, func() error {
		var err error
		cl, err = client.Dial(context.Background(), addr+":9042", client.Options{Username: "cassandra", Password: c.password(), Timeout: 20 * time.Second})
		return err
	})
	c.t.Cleanup(func() { cl.Close() })
	return cl
}

func (c *testCluster) nodetool(addr string, args ...string) (string, error) {
	all := append([]string{"nodetool", "--host", addr + ":7199", "--data-dir", c.nodes[addr].dir}, args...)
	out, err := exec.Command(ringdbBinary(c.t), all...).CombinedOutput()
	return string(out), err
}

// waitStatus waits until `nodetool status` on addr shows want (e.g.
// {"127.0.0.1": "UN", "127.0.0.3": "DN"}).
func (c *testCluster) waitStatus(addr string, want map[string]string, within time.Duration) {
	c.t.Helper()
	waitFor(c.t, within, fmt.Sprintf("nodetool status on %s to show %v", addr, want), func() error {
		out, err := c.nodetool(addr, "status")
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		for ep, st := range want {
			found := false
			for _, line := range strings.Split(out, "\n") {
				f := strings.Fields(line)
				if len(f) >= 2 && f[1] == ep {
					found = true
					if f[0] != st {
						return fmt.Errorf("%s is %s:\n%s", ep, f[0], out)
					}
				}
			}
			if !found {
				return fmt.Errorf("%s not listed:\n%s", ep, out)
			}
		}
		return nil
	})
}

func waitFor(t *testing.T, within time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	var last error
	for time.Now().Before(deadline) {
		if last = cond(); last == nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s: %v", within, what, last)
}

func exec1(t *testing.T, c *client.Client, cl frame.Consistency, q string) *client.Result {
	t.Helper()
	r, err := c.QueryCL(q, cl, 0, nil)
	if err != nil {
		t.Fatalf("%s at %s: %v", q, cl, err)
	}
	return r
}

func codeOf(err error) int32 {
	var se *client.ServerError
	if errors.As(err, &se) {
		return se.Code
	}
	return -1
}

// execRingdb is the ringdb binary with args, not started.
func execRingdb(t *testing.T, args ...string) *exec.Cmd {
	return exec.Command(ringdbBinary(t), args...)
}
