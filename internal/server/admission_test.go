package server

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ringdb/ringdb/internal/pki"
)

// ca_dir must hold the CA this node's certificate chains to.
func TestStartRefusesCADirOfAnotherCluster(t *testing.T) {
	cfg := testConfig(t)
	other, err := pki.InitCA(filepath.Join(t.TempDir(), "other-ca"), "other")
	if err != nil {
		t.Fatal(err)
	}
	cfg.CADir = other.Dir
	n, err := Start(cfg, testLogger())
	if err == nil {
		n.Close()
		t.Fatal("started with another cluster's CA as ca_dir")
	}
	if !strings.Contains(err.Error(), "ca_dir") || !strings.Contains(err.Error(), "is not the one this node's certificate") {
		t.Fatalf("error: %v", err)
	}
	requireReleased(t, cfg, "")
}

// A lone node started with its own private CA as ca_dir issues tokens; a
// malformed join token stops a node without a certificate with a clear
// error, before anything is dialed.
func TestStartJoinTokenErrors(t *testing.T) {
	cfg := testConfig(t)
	cfg.JoinToken = "join1.not-a-token"
	cfg.Seeds = []string{"127.0.0.2"}
	n, err := Start(cfg, testLogger())
	if err == nil {
		n.Close()
		t.Fatal("started with a malformed join token")
	}
	if !strings.Contains(err.Error(), "join token") || !strings.Contains(err.Error(), "malformed") {
		t.Fatalf("error: %v", err)
	}
	requireReleased(t, cfg, "")

	lone := testConfig(t)
	lone.CADir = filepath.Join(lone.CertsDir, "ca") // EnsureSelfSigned's private CA
	n, err = Start(lone, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	tok, err := joinTokensAdmin{n}.CreateJoinToken(0)
	if err != nil || !strings.HasPrefix(tok.Token, "join1.") || tok.Issuer != lone.ListenAddress+":"+strconv.Itoa(lone.StoragePort) {
		t.Fatalf("token: %+v, %v", tok, err)
	}
	if _, err := (joinTokensAdmin{&Node{cfg: cfg}}).CreateJoinToken(0); err == nil || !strings.Contains(err.Error(), "--ca-dir") {
		t.Fatalf("without a CA: %v", err)
	}
}
