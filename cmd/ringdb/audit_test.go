package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringdb/ringdb/internal/exposure"
)

// plaintextListener accepts on 127.0.0.71:7000, greets in plaintext and
// closes every connection; Cleanup stops it.
func plaintextListener(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.71:7000")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte("plaintext\n"))
			c.Close()
		}
	})
	t.Cleanup(func() { ln.Close(); wg.Wait() })
}

func TestAuditCommandExitStatus(t *testing.T) {
	plaintextListener(t)
	flags := auditFlags{timeout: 500 * time.Millisecond}
	var out, errb bytes.Buffer
	if code := runAudit(context.Background(), &out, &errb, []string{"127.0.0.71:7000"}, flags, exposure.Options{}); code != auditExitHigh {
		t.Fatalf("exit %d, want 1; out:\n%s%s", code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "HIGH   127.0.0.71:7000") || !strings.Contains(out.String(), "summary: 1 HIGH") {
		t.Fatalf("report:\n%s", out.String())
	}
	out.Reset()
	if code := runAudit(context.Background(), &out, io.Discard, []string{"127.0.0.71:7001"}, flags, exposure.Options{}); code != auditExitClean {
		t.Fatalf("closed port: exit %d:\n%s", code, out.String())
	}
	for _, args := range [][]string{nil, {"127.0.0.71:0"}, {"a:b:c"}} {
		if code := runAudit(context.Background(), io.Discard, io.Discard, args, flags, exposure.Options{}); code != auditExitUsage {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
}

// TestAuditNotAHostIsUsageError: the unspecified address, a multicast
// group and the broadcast address are usage errors (exit 2), named.
func TestAuditNotAHostIsUsageError(t *testing.T) {
	flags := auditFlags{timeout: 500 * time.Millisecond}
	for arg, why := range map[string]string{"0.0.0.0": "the unspecified address is not a host", "::": "the unspecified address is not a host",
		"[::]:9042": "the unspecified address is not a host", "224.0.0.1": "a multicast address is not a host",
		"ff02::1": "a multicast address is not a host", "255.255.255.255": "the broadcast address is not a host"} {
		var out, errb bytes.Buffer
		if code := runAudit(context.Background(), &out, &errb, []string{arg}, flags, exposure.Options{}); code != auditExitUsage {
			t.Errorf("%s: exit %d, want 2", arg, code)
		}
		if !strings.Contains(errb.String(), why) || out.Len() != 0 {
			t.Errorf("%s: stderr %q, stdout %q; want %q", arg, errb.String(), out.String(), why)
		}
	}
}

func TestAuditCommandJSONAndFlags(t *testing.T) {
	plaintextListener(t)
	code := -1
	cmd := newAuditCmd(func(c int) { code = c }, exposure.Options{})
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(io.Discard)
	cmd.SetArgs([]string{"--json", "--timeout", "500ms", "127.0.0.71:7000", "8.8.8.8"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if code != auditExitHigh {
		t.Fatalf("exit %d, want 1", code)
	}
	var doc struct {
		Targets []struct {
			Host    string `json:"host"`
			Scanned bool   `json:"scanned"`
		} `json:"targets"`
		Findings []struct {
			Severity string `json:"severity"`
			Port     int    `json:"port"`
			ID       string `json:"id"`
			Fix      string `json:"fix"`
		} `json:"findings"`
		Summary struct {
			High int `json:"high"`
		} `json:"summary"`
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if len(doc.Targets) != 2 || doc.Targets[1].Scanned || doc.Summary.High != 1 {
		t.Fatalf("%+v", doc)
	}
	if f := doc.Findings[0]; f.Severity != "HIGH" || f.Port != 7000 || f.ID != "internode-plaintext" || f.Fix == "" {
		t.Fatalf("%+v", f)
	}

	code = -1
	cmd = newAuditCmd(func(c int) { code = c }, exposure.Options{})
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	cmd.SetArgs([]string{"--no-such-flag", "127.0.0.71"})
	_ = cmd.Execute()
	if code != auditExitUsage {
		t.Fatalf("bad flag: exit %d, want 2", code)
	}
}

func TestAuditHelpSaysAuthorized(t *testing.T) {
	cmd := auditCmd()
	if !strings.Contains(cmd.Long, "only for hosts you are authorized to test") {
		t.Fatal("help must say: only for hosts you are authorized to test")
	}
}
