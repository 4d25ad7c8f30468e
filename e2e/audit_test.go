package e2e

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ringdb/ringdb/internal/config"
	"github.com/ringdb/ringdb/internal/exposure"
)

// auditNode starts an in-process node on addr with the default ports
// (7000, 9042, admin 7199), which nothing else uses on 127.0.0.70-79.
func auditNode(t *testing.T, addr string, mutate func(*config.Config)) {
	t.Helper()
	startNode(t, "", func(c *config.Config) {
		c.ListenAddress, c.NativeAddress = addr, addr
		c.StoragePort, c.NativePort = 7000, 9042
		c.AdminAddress = addr + ":7199"
		if mutate != nil {
			mutate(c)
		}
	})
}

func auditReport(t *testing.T, target string) (*exposure.Report, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := exposure.Run(ctx, []string{target}, exposure.Options{Timeout: 3 * time.Second})
	if err != nil {
		t.Fatalf("audit %s: %v", target, err)
	}
	var b bytes.Buffer
	if err := exposure.WriteText(&b, rep); err != nil {
		t.Fatal(err)
	}
	t.Logf("ringdb audit %s:\n%s", target, b.String())
	return rep, b.String()
}

func hasFinding(rep *exposure.Report, port int, id string, sev exposure.Severity) bool {
	for _, f := range rep.Findings {
		if f.Port == port && f.ID == id && f.Severity == sev {
			return true
		}
	}
	return false
}

// TestAuditDefaultNode: a default node has no HIGH finding (exit 0): its
// internode port is mutual TLS that refuses an unknown CA, CQL needs a
// password that is not the default one, the admin endpoint needs its token.
func TestAuditDefaultNode(t *testing.T) {
	auditNode(t, "127.0.0.70", nil)
	rep, out := auditReport(t, "127.0.0.70")
	if rep.HasHigh() {
		t.Fatalf("HIGH findings on a default node:\n%s", out)
	}
	for _, want := range []struct {
		port int
		id   string
		sev  exposure.Severity
	}{
		{7000, "internode-mtls", exposure.Info},
		{7000, "tls-certificate", exposure.Info},
		{7001, "closed", exposure.Info},
		{9042, "cql-auth-required", exposure.Info},
		{9042, "cql-default-credentials-refused", exposure.Info},
		{7199, "admin-token-required", exposure.Info},
	} {
		if !hasFinding(rep, want.port, want.id, want.sev) {
			t.Errorf("no %s %s on port %d:\n%s", want.sev, want.id, want.port, out)
		}
	}
	if c := rep.Targets[0].Connections; c > exposure.DefaultMaxConnsPerTarget {
		t.Errorf("%d connections, bound %d", c, exposure.DefaultMaxConnsPerTarget)
	}
}

// TestAuditAllowAllAuthenticator: the same node without authentication
// is a HIGH "queries without authentication", and the probe reads its
// release version through the open session.
func TestAuditAllowAllAuthenticator(t *testing.T) {
	auditNode(t, "127.0.0.71", func(c *config.Config) { c.Authenticator = "AllowAllAuthenticator" })
	rep, out := auditReport(t, "127.0.0.71:9042")
	if !hasFinding(rep, 9042, "cql-no-auth", exposure.High) || !rep.HasHigh() {
		t.Fatalf("no HIGH cql-no-auth:\n%s", out)
	}
	if !hasFinding(rep, 9042, "cql-release", exposure.Info) || !strings.Contains(out, "release_version ") {
		t.Fatalf("no release version:\n%s", out)
	}
}
