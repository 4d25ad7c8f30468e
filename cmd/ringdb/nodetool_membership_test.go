package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ringdb/ringdb/internal/admin"
	"github.com/ringdb/ringdb/internal/pki"
)

// TestNodetoolMembershipLog runs `ringdb nodetool membership-log` against
// a real admin endpoint serving a membership log that also took noise.
func TestNodetoolMembershipLog(t *testing.T) {
	dir := t.TempDir()
	l, err := pki.OpenAuditLog(filepath.Join(dir, "membership-audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	now := time.Now().UTC().Truncate(time.Second)
	for _, ev := range []pki.AuditEvent{
		{Time: now.Add(-3 * time.Hour), Kind: pki.AuditJoin, Peer: "127.0.0.2", HostID: "h2", Reason: "NORMAL"},
		{Time: now.Add(-10 * time.Minute), Kind: pki.AuditTokenUse, Peer: "127.0.0.5:40000", Outcome: "refused", Reason: "token already used"},
		{Time: now.Add(-time.Minute), Kind: pki.AuditRestart, Peer: "127.0.0.2", HostID: "h2", Outcome: "accepted", Reason: "generation 7 -> 8"},
	} {
		if err := l.Record(ev); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 1000; i++ {
		l.Record(pki.AuditEvent{Kind: pki.AuditHandshake, Peer: "10.0.0.1:1", Reason: "junk"})
	}
	tokenFile := filepath.Join(dir, "admin.token")
	s, err := admin.Start(admin.Options{Addr: "127.0.0.1:0", TokenFile: tokenFile, MembershipLog: l})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	run := func(args ...string) string {
		t.Helper()
		cmd := nodetoolCmd()
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs(append([]string{"--host", s.Addr().String(), "--token-file", tokenFile, "membership-log"}, args...))
		if err := cmd.Execute(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out.String())
		}
		return out.String()
	}
	ts := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339) }
	want := ts(-10*time.Minute) + `  token_use  peer=127.0.0.5:40000 outcome=refused reason="token already used"
` + ts(-time.Minute) + `  restart  peer=127.0.0.2 host_id=h2 outcome=accepted reason="generation 7 -> 8"
`
	if got := run("--since", "1h"); got != want {
		t.Fatalf("--since 1h:\n%s\nwant:\n%s", got, want)
	}
	if got := run("--since", ts(-3*time.Hour)); strings.Count(got, "\n") != 3 || !strings.Contains(got, "  join  peer=127.0.0.2") {
		t.Fatalf("--since RFC3339:\n%s", got)
	}
	got := run("--json", "--limit", "1")
	var r pki.AuditRecord
	if strings.Count(got, "\n") != 1 || json.Unmarshal([]byte(got), &r) != nil || r.Kind != pki.AuditRestart {
		t.Fatalf("--json --limit 1:\n%s", got)
	}
	cmd := nodetoolCmd()
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetArgs([]string{"--host", s.Addr().String(), "--token-file", tokenFile, "membership-log", "--since", "last week"})
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "RFC 3339") {
		t.Fatalf("bad --since: %v", err)
	}
}
