package e2e

import (
	"bytes"
	"context"
	"errors"
	"github.com/ringdb/ringdb/internal/testnet"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// startupDeadline bounds one failing `ringdb server` run: a start-up
// failure must end the process well before it (no hang).
const startupDeadline = 60 * time.Second

// failedStart is the result of a `ringdb server` run expected to fail.
type failedStart struct {
	code           int
	stdout, stderr string
}

// runFailingServer runs `ringdb server` in a fresh process with free ports
// (native, storage, admin) unless args override them, and waits for it to
// exit. A process still running at startupDeadline fails the test (it
// hung instead of exiting).
func runFailingServer(t *testing.T, dataDir string, args ...string) failedStart {
	t.Helper()
	base := []string{"server", "--data-dir", dataDir, "--native-port", strconv.Itoa(testnet.FreePort(t)),
		"--storage-port", strconv.Itoa(testnet.FreePort(t)), "--admin-address", "127.0.0.1:" + strconv.Itoa(testnet.FreePort(t)),
		"--cluster-name", "startup-test"}
	ctx, cancel := context.WithTimeout(context.Background(), startupDeadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, ringdbBinary(t), append(base, args...)...)
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("ringdb server did not exit within %s (hung on a start-up failure)\nstderr:\n%s", startupDeadline, stderr.String())
	}
	var ee *exec.ExitError
	code := 0
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run ringdb server: %v", err)
	}
	return failedStart{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// requireCause checks a failed start: exit code 1, no panic or goroutine
// dump, and exactly one "ringdb: " line on stderr which contains every
// string in want (the cause, named on that one line).
func (r failedStart) requireCause(t *testing.T, want ...string) {
	t.Helper()
	all := r.stdout + r.stderr
	if r.code != 1 {
		t.Errorf("exit code %d, want 1", r.code)
	}
	if strings.Contains(all, "panic") || strings.Contains(all, "goroutine ") {
		t.Errorf("output has a panic or goroutine dump")
	}
	var lines []string
	for _, l := range strings.Split(r.stderr, "\n") {
		if strings.HasPrefix(l, "ringdb: ") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 {
		t.Fatalf("want exactly one \"ringdb: \" error line on stderr, got %d\nstdout:\n%s\nstderr:\n%s", len(lines), r.stdout, r.stderr)
	}
	for _, w := range want {
		if !strings.Contains(lines[0], w) {
			t.Errorf("error line does not name %q: %s", w, lines[0])
		}
	}
	if t.Failed() {
		t.Logf("stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	}
}

// holdPort listens on 127.0.0.1:0 until the test ends and returns the port.
func holdPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

// TestStartupPortTaken: a node whose native, storage or admin port is
// taken exits with code 1 and one line naming the listener, the address
// and "address already in use" (it used to panic in (*Node).Close).
func TestStartupPortTaken(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	for _, tc := range []struct {
		name, flag, listener string
		value                func(port int) string
	}{
		{"native", "--native-port", "native transport", strconv.Itoa},
		{"storage", "--storage-port", "storage port", strconv.Itoa},
		{"admin", "--admin-address", "admin endpoint", func(p int) string { return "127.0.0.1:" + strconv.Itoa(p) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			port := holdPort(t)
			r := runFailingServer(t, filepath.Join(t.TempDir(), "data"), tc.flag, tc.value(port))
			r.requireCause(t, tc.listener, "127.0.0.1:"+strconv.Itoa(port), "address already in use")
		})
	}
}

// TestStartupBadCertificates: a certificate that does not parse, or one
// issued for another address, stops the start with one line naming it.
func TestStartupBadCertificates(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	bin := ringdbBinary(t)
	issue := func(t *testing.T, addr string) string {
		t.Helper()
		dir := t.TempDir()
		ca, certs := filepath.Join(dir, "ca"), filepath.Join(dir, "certs")
		for _, args := range [][]string{
			{"cert", "init", "--dir", ca, "--cluster-name", "startup-test"},
			{"cert", "node", "--dir", ca, "--address", addr, "--out", certs},
		} {
			if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
				t.Fatalf("ringdb %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		}
		return certs
	}
	t.Run("garbage node.crt", func(t *testing.T) {
		certs := issue(t, "127.0.0.1")
		if err := os.WriteFile(filepath.Join(certs, "node.crt"), []byte("not a certificate\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		r := runFailingServer(t, filepath.Join(t.TempDir(), "data"), "--certs-dir", certs, "--seeds", "127.0.0.1")
		r.requireCause(t, filepath.Join(certs, "node.crt"), "no PEM CERTIFICATE")
	})
	t.Run("certificate for another address", func(t *testing.T) {
		certs := issue(t, "127.0.0.2")
		r := runFailingServer(t, filepath.Join(t.TempDir(), "data"), "--certs-dir", certs, "--seeds", "127.0.0.1")
		r.requireCause(t, "127.0.0.2", "listen_address is 127.0.0.1")
	})
}

// TestStartupBadDataDirectory: a data directory that cannot be used
// (tests run as root, so permission bits would not stop it: the paths are
// regular files where directories must be) stops the start with one line
// naming the path.
func TestStartupBadDataDirectory(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	t.Run("data directory is a file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "data")
		if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		r := runFailingServer(t, path)
		r.requireCause(t, "data directory", path)
	})
	t.Run("storage directory is a file", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "data")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "data"), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		r := runFailingServer(t, dir)
		r.requireCause(t, "storage", filepath.Join(dir, "data"))
	})
}

// TestStartupBadConfig: a config file that is missing, has an unknown key
// or an invalid value stops the start with one line naming the file or
// the key (YAML and validation errors used to span several lines).
func TestStartupBadConfig(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	write := func(t *testing.T, body string) string {
		t.Helper()
		p := filepath.Join(t.TempDir(), "ringdb.yaml")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Run("missing file", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "missing.yaml")
		r := runFailingServer(t, filepath.Join(t.TempDir(), "data"), "--config", p)
		r.requireCause(t, "config", p, "no such file")
	})
	t.Run("unknown key", func(t *testing.T) {
		p := write(t, "cluster_name: x\nbogus_key: 1\n")
		r := runFailingServer(t, filepath.Join(t.TempDir(), "data"), "--config", p)
		r.requireCause(t, p, "bogus_key")
	})
	t.Run("invalid values", func(t *testing.T) {
		p := write(t, "num_tokens: 1000\ncommitlog_sync: sometimes\n")
		r := runFailingServer(t, filepath.Join(t.TempDir(), "data"), "--config", p)
		r.requireCause(t, "invalid configuration", "num_tokens", "commitlog_sync")
	})
}
