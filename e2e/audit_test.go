package e2e

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ringdb/ringdb/internal/config"
	"github.com/ringdb/ringdb/internal/exposure"
	"github.com/ringdb/ringdb/internal/testcert"
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

// TestAuditClientTLS: the native port's TLS modes as the audit sees them
// on real nodes: TLS required (cleartext refused, nothing to fix), TLS
// optional (cleartext clients accepted too: LOW on a loopback address),
// client certificates required (CQL over mutual TLS), and both (mutual
// TLS, yet cleartext clients accepted). None is HIGH.
func TestAuditClientTLS(t *testing.T) {
	cases := []struct {
		name, addr string
		enc        func(f testcert.Files) config.ClientEncryption
		want       []string // finding ids on 9042
		severity   map[string]exposure.Severity
		absent     []string
	}{
		{name: "required", addr: "127.0.0.72",
			enc: func(f testcert.Files) config.ClientEncryption {
				return config.ClientEncryption{Enabled: true, Certificate: f.ServerCert, PrivateKey: f.ServerKey}
			},
			want:   []string{"cql-tls", "cql-auth-required", "cql-default-credentials-refused"},
			absent: []string{"cql-tls-optional", "cql-cleartext"}},
		{name: "optional", addr: "127.0.0.73",
			enc: func(f testcert.Files) config.ClientEncryption {
				return config.ClientEncryption{Enabled: true, Optional: true, Certificate: f.ServerCert, PrivateKey: f.ServerKey}
			},
			want:     []string{"cql-tls", "cql-tls-optional", "cql-auth-required", "cql-default-credentials-refused"},
			severity: map[string]exposure.Severity{"cql-tls-optional": exposure.Low},
			absent:   []string{"cql-cleartext"}},
		{name: "client certificates", addr: "127.0.0.74",
			enc: func(f testcert.Files) config.ClientEncryption {
				return config.ClientEncryption{Enabled: true, Certificate: f.ServerCert, PrivateKey: f.ServerKey,
					RequireClientAuth: true, Truststore: f.CA}
			},
			want:     []string{"cql-mtls", "tls-certificate"},
			severity: map[string]exposure.Severity{"tls-certificate": exposure.Low}, // testcert names localhost
			absent:   []string{"cql-tls-optional", "cql-cleartext", "not-cql", "tls-refused"}},
		{name: "client certificates, TLS optional", addr: "127.0.0.75",
			enc: func(f testcert.Files) config.ClientEncryption {
				return config.ClientEncryption{Enabled: true, Optional: true, Certificate: f.ServerCert, PrivateKey: f.ServerKey,
					RequireClientAuth: true, Truststore: f.CA}
			},
			want:     []string{"cql-mtls", "cql-tls-optional", "cql-auth-required", "cql-default-credentials-refused"},
			severity: map[string]exposure.Severity{"cql-tls-optional": exposure.Low},
			absent:   []string{"cql-cleartext", "not-cql", "tls-refused"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := testcert.Write(t, t.TempDir(), "audit native CA", tc.addr)
			auditNode(t, tc.addr, func(c *config.Config) { c.ClientEncryption = tc.enc(f) })
			rep, out := auditReport(t, tc.addr+":9042")
			if rep.HasHigh() {
				t.Fatalf("HIGH finding:\n%s", out)
			}
			for _, id := range tc.want {
				sev, ok := tc.severity[id]
				if !ok {
					sev = exposure.Info
				}
				if !hasFinding(rep, 9042, id, sev) {
					t.Errorf("no %s %s:\n%s", sev, id, out)
				}
			}
			for _, id := range tc.absent {
				for _, fd := range rep.Findings {
					if fd.ID == id {
						t.Errorf("%s reported:\n%s", id, out)
					}
				}
			}
			if tc.name == "required" && !strings.Contains(out, "a cleartext OPTIONS was refused (Protocol_error: This port requires TLS") {
				t.Errorf("the cleartext refusal is not reported:\n%s", out)
			}
			if c := rep.Targets[0].Connections; c > 4 {
				t.Errorf("%d connections to 9042, bound 4", c)
			}
		})
	}
}
