package server

import (
	"errors"
	"github.com/ringdb/ringdb/internal/testnet"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ringdb/ringdb/internal/config"
	"github.com/ringdb/ringdb/internal/pki"
	"github.com/ringdb/ringdb/internal/storage"
)

// testConfig is a lone node on 127.0.0.1 with free ports and a fresh data
// directory.
func testConfig(t *testing.T) config.Config {
	t.Helper()
	cfg := config.Config{DataDir: filepath.Join(t.TempDir(), "node"), NativePort: testnet.FreePort(t), StoragePort: testnet.FreePort(t),
		AdminAddress: "127.0.0.1:" + strconv.Itoa(testnet.FreePort(t)), CommitlogSync: "batch"}
	cfg.EnsureDefaults()
	return cfg
}

func testLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// requireReleased checks that a failed Start left nothing behind: each
// listening address of cfg but skip can be bound, the storage directory
// (if it was created) opens (Pebble's lock is free), and no goroutine of
// ringdb or Pebble is left running.
func requireReleased(t *testing.T, cfg config.Config, skip string) {
	t.Helper()
	for _, addr := range []string{
		net.JoinHostPort(cfg.NativeAddress, strconv.Itoa(cfg.NativePort)),
		net.JoinHostPort(cfg.ListenAddress, strconv.Itoa(cfg.StoragePort)),
		cfg.AdminAddress,
	} {
		if addr == skip {
			continue
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Errorf("%s still in use after a failed start: %v", addr, err)
			continue
		}
		l.Close()
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, "data")); err == nil {
		e, err := storage.Open(filepath.Join(cfg.DataDir, "data"), storage.Options{Logger: testLogger()})
		if err != nil {
			t.Errorf("storage not released after a failed start: %v", err)
		} else if err := e.Close(); err != nil {
			t.Error(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		left := leftGoroutines()
		if left == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("goroutines left running after a failed start:\n%s", left)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// leftGoroutines returns the stacks of goroutines running ringdb or
// Pebble code outside the test framework.
func leftGoroutines() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var left []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "testing.tRunner") || strings.Contains(g, "testing.(*T).Run") {
			continue
		}
		if strings.Contains(g, "github.com/ringdb/ringdb/") || strings.Contains(g, "cockroachdb/pebble") {
			left = append(left, g)
		}
	}
	return strings.Join(left, "\n\n")
}

// TestStartFailsCleanlyWhenAPortIsTaken: with the native, storage or
// admin port taken, Start returns (no panic) an error naming the
// listener, the address and "address already in use", and releases what
// it opened. With the up-front check it fails before opening storage;
// without it (the port taken between the check and the listen) the real
// listener fails after storage, gossip and the coordinator are running,
// and everything is released too. The node then starts on the same
// directory once the port is free.
func TestStartFailsCleanlyWhenAPortIsTaken(t *testing.T) {
	for _, check := range []bool{true, false} {
		for _, tc := range []struct {
			listener string
			take     func(cfg *config.Config, port int) string
		}{
			{nativeListener, func(cfg *config.Config, port int) string {
				cfg.NativePort = port
				return "127.0.0.1:" + strconv.Itoa(port)
			}},
			{storageListener, func(cfg *config.Config, port int) string {
				cfg.StoragePort = port
				return "127.0.0.1:" + strconv.Itoa(port)
			}},
			{adminListener, func(cfg *config.Config, port int) string {
				cfg.AdminAddress = "127.0.0.1:" + strconv.Itoa(port)
				return cfg.AdminAddress
			}},
		} {
			name := tc.listener + "/checked"
			if !check {
				name = tc.listener + "/at listen"
			}
			t.Run(name, func(t *testing.T) {
				held, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				defer held.Close()
				cfg := testConfig(t)
				addr := tc.take(&cfg, held.Addr().(*net.TCPAddr).Port)
				n, err := start(cfg, testLogger(), startOptions{skipListenCheck: !check})
				if err == nil {
					n.Close()
					t.Fatal("Start succeeded with the port taken")
				}
				if n != nil {
					t.Error("Start returned a node with its error")
				}
				want := tc.listener + ": listen on " + addr + ": address already in use"
				if err.Error() != want {
					t.Errorf("error %q, want %q", err, want)
				}
				if !errors.Is(err, syscall.EADDRINUSE) {
					t.Errorf("error does not wrap EADDRINUSE: %v", err)
				}
				if _, statErr := os.Stat(cfg.DataDir); check && statErr == nil {
					t.Error("the up-front check let Start create the data directory")
				}
				requireReleased(t, cfg, addr)
				held.Close()
				n, err = Start(cfg, testLogger())
				if err != nil {
					t.Fatalf("start once the port is free: %v", err)
				}
				if err := n.Close(); err != nil {
					t.Errorf("close: %v", err)
				}
				requireReleased(t, cfg, "")
			})
		}
	}
}

// TestStartFailsCleanlyOnBadCertificates: certificates that do not load,
// found after storage is open, stop the start with an error naming the
// file, and storage is released.
func TestStartFailsCleanlyOnBadCertificates(t *testing.T) {
	cfg := testConfig(t)
	if _, err := pki.EnsureSelfSigned(cfg.CertsDir, cfg.ClusterName, netip.MustParseAddr("127.0.0.1")); err != nil {
		t.Fatal(err)
	}
	crt := filepath.Join(cfg.CertsDir, pki.NodeCrtFile)
	if err := os.WriteFile(crt, []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	n, err := Start(cfg, testLogger())
	if err == nil {
		n.Close()
		t.Fatal("Start succeeded with a garbage node certificate")
	}
	if !strings.Contains(err.Error(), crt) || strings.Contains(err.Error(), "\n") {
		t.Errorf("error does not name %s on one line: %q", crt, err)
	}
	requireReleased(t, cfg, "")
}

// TestStartRejectsInvalidConfigOnOneLine: every validation problem is
// named, on one line.
func TestStartRejectsInvalidConfigOnOneLine(t *testing.T) {
	cfg := testConfig(t)
	cfg.NumTokens, cfg.CommitlogSync = 1000, "sometimes"
	_, err := Start(cfg, testLogger())
	if err == nil {
		t.Fatal("Start accepted an invalid configuration")
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") || !strings.Contains(msg, "num_tokens") || !strings.Contains(msg, "commitlog_sync") {
		t.Errorf("want one line naming num_tokens and commitlog_sync, got %q", msg)
	}
}

// TestCloseTwiceAndAfterDrain: Close is idempotent, also after a drain
// closed the native transport and left gossip.
func TestCloseTwiceAndAfterDrain(t *testing.T) {
	n, err := Start(testConfig(t), testLogger())
	if err != nil {
		t.Fatal(err)
	}
	if err := (adminNode{n}).Drain(); err != nil {
		t.Fatalf("drain: %v", err)
	}
	select {
	case err := <-n.Done():
		if err != nil {
			t.Errorf("native transport ended with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("native transport still serving after drain")
	}
	if err := n.Close(); err != nil {
		t.Errorf("close after drain: %v", err)
	}
	if err := n.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
}
