package main

import (
	"bytes"
	"context"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ringdb/ringdb/internal/admin"
	"github.com/ringdb/ringdb/internal/pki"
)

// crlChecker is a node's revocation as far as nodetool can tell: it
// verifies the list against the CA.
type crlChecker struct{ ca *pki.CA }

func (c crlChecker) SubmitCRL(_ context.Context, data []byte) (admin.RevokeResult, error) {
	crl, err := pki.ParseCRL(data, c.ca.Cert)
	if err != nil {
		return admin.RevokeResult{}, err
	}
	return admin.RevokeResult{CRLNumber: crl.Number.String(), Installed: true, Revoked: len(crl.Revoked)}, nil
}

// TestCertRevokeThenNodetoolRevoke: `cert revoke --address` revokes every
// certificate issued for the address and prints the CRL's path, which
// `nodetool revoke` hands to a node.
func TestCertRevokeThenNodetoolRevoke(t *testing.T) {
	dir := t.TempDir()
	caDir := filepath.Join(dir, "ca")
	ca, err := pki.InitCA(caDir, "x")
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{"a", "b"} {
		if err := ca.IssueNode(netip.MustParseAddr("127.0.0.5"), filepath.Join(dir, out)); err != nil {
			t.Fatal(err)
		}
	}
	run := func(cmdArgs ...string) (string, error) {
		cmd := certCmd()
		if cmdArgs[0] == "nodetool" {
			cmd, cmdArgs = nodetoolCmd(), cmdArgs[1:]
		}
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs(cmdArgs)
		err := cmd.Execute()
		return out.String(), err
	}
	out, err := run("revoke", "--dir", caDir, "--address", "127.0.0.5")
	if err != nil {
		t.Fatalf("cert revoke: %v\n%s", err, out)
	}
	crlPath := filepath.Join(caDir, pki.CRLFile)
	if strings.Count(out, "revoked:      serial ") != 2 || !strings.Contains(out, "CRL number:   1 (2 certificates") ||
		!strings.Contains(out, "CRL:          "+crlPath) {
		t.Fatalf("cert revoke output:\n%s", out)
	}
	if out, err := run("revoke", "--dir", caDir, "--serial", "nope"); err == nil {
		t.Fatalf("a bad serial was accepted:\n%s", out)
	}
	if out, err := run("revoke", "--dir", caDir); err == nil {
		t.Fatalf("revoke without --serial or --address:\n%s", out)
	}

	tokenFile := filepath.Join(dir, "admin.token")
	s, err := admin.Start(admin.Options{Addr: "127.0.0.1:0", TokenFile: tokenFile, Revocation: crlChecker{ca}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out, err = run("nodetool", "--host", s.Addr().String(), "--token-file", tokenFile, "revoke", crlPath)
	if err != nil || !strings.HasPrefix(out, "CRL number 1 installed: 2 certificates revoked") {
		t.Fatalf("nodetool revoke: %v\n%s", err, out)
	}
	if out, err := run("nodetool", "--host", s.Addr().String(), "--token-file", tokenFile, "revoke", filepath.Join(caDir, pki.CACertFile)); err == nil ||
		!strings.Contains(err.Error(), "CRL refused") {
		t.Fatalf("nodetool revoke of a certificate: %v\n%s", err, out)
	}
}
