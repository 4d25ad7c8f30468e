package exposure

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringdb/ringdb/internal/testnet"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// testOptions are fast options with the test clock.
func testOptions() Options {
	return Options{Timeout: 500 * time.Millisecond, Now: func() time.Time { return testNow }}
}

func run(t *testing.T, o Options, args ...string) *Report {
	t.Helper()
	rep, err := Run(context.Background(), args, o)
	if err != nil {
		t.Fatalf("Run(%v): %v", args, err)
	}
	return rep
}

func find(rep *Report, port int, id string) *Finding {
	for i, f := range rep.Findings {
		if f.Port == port && f.ID == id {
			return &rep.Findings[i]
		}
	}
	return nil
}

func mustFind(t *testing.T, rep *Report, port int, id string, sev Severity) *Finding {
	t.Helper()
	f := find(rep, port, id)
	if f == nil {
		t.Fatalf("no finding %s on port %d in:\n%s", id, port, text(t, rep))
	}
	if f.Severity != sev {
		t.Fatalf("finding %s on port %d: severity %s, want %s:\n%s", id, port, f.Severity, sev, text(t, rep))
	}
	return f
}

func text(t *testing.T, rep *Report) string {
	t.Helper()
	var b bytes.Buffer
	if err := WriteText(&b, rep); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestPlaintextListenerOnInternodePortIsHigh(t *testing.T) {
	for name, handle := range map[string]func(net.Conn){"banner": banner, "silent": silent} {
		t.Run(name, func(t *testing.T) {
			listenFake(t, "127.0.0.71", 7000, handle)
			rep := run(t, testOptions(), "127.0.0.71:7000")
			mustFind(t, rep, 7000, "internode-plaintext", High)
			if !rep.HasHigh() {
				t.Fatal("HasHigh false")
			}
		})
	}
}

func TestCassandraInternodeIsHigh(t *testing.T) {
	srv := listenFake(t, "127.0.0.72", 7000, fakeCassandra)
	rep := run(t, testOptions(), "127.0.0.72:7000")
	f := mustFind(t, rep, 7000, "internode-cassandra-plaintext", High)
	if f.Title != "Apache Cassandra internode port unencrypted" || !strings.Contains(f.Detail, "messaging version 12") {
		t.Fatalf("finding: %+v", f)
	}
	if n := srv.accepts.Load(); n != 2 {
		t.Fatalf("%d connections, want 2 (TLS attempt, handshake)", n)
	}
}

func TestInternodeTLS(t *testing.T) {
	pki := newTestPKI(t)
	cases := []struct {
		auth tls.ClientAuthType
		id   string
		sev  Severity
	}{
		{tls.NoClientCert, "internode-tls-no-client-auth", High},
		{tls.RequireAnyClientCert, "internode-unknown-ca-accepted", High},
		{tls.RequireAndVerifyClientCert, "internode-mtls", Info},
	}
	for _, tc := range cases {
		t.Run(tc.id, func(t *testing.T) {
			listenFake(t, "127.0.0.73", 7000, pki.tlsFake(tc.auth, silent))
			rep := run(t, testOptions(), "127.0.0.73:7000")
			mustFind(t, rep, 7000, tc.id, tc.sev)
			c := mustFind(t, rep, 7000, "tls-certificate", Low)
			for _, want := range []string{"CN=cass-node-1, O=Acme", "issuer CN=Acme Test CA, O=Acme", "DNS:cass-node-1.prod.example", "expires 2031-06-30"} {
				if !strings.Contains(c.Detail, want) {
					t.Errorf("certificate detail %q lacks %q", c.Detail, want)
				}
			}
		})
	}
}

func TestExpiredCertificateIsMedium(t *testing.T) {
	pki := newTestPKI(t)
	listenFake(t, "127.0.0.73", 7001, pki.tlsFake(tls.RequireAndVerifyClientCert, silent))
	o := testOptions()
	o.Now = func() time.Time { return certNotAfter.Add(time.Hour) }
	rep := run(t, o, "127.0.0.73:7001")
	mustFind(t, rep, 7001, "tls-certificate-expired", Medium)
}

func TestJMXSeverityDependsOnLoopback(t *testing.T) {
	listenFake(t, "127.0.0.74", 7199, fakeRMI)
	rep := run(t, testOptions(), "127.0.0.74:7199")
	mustFind(t, rep, 7199, "jmx-rmi", Medium)
	o := testOptions()
	o.IsLoopback = func(netip.Addr) bool { return false }
	rep = run(t, o, "127.0.0.74:7199")
	f := mustFind(t, rep, 7199, "jmx-rmi", High)
	if !strings.Contains(f.Fix, "LOCAL_JMX=yes") {
		t.Fatalf("fix %q", f.Fix)
	}
}

func TestAdminEndpoint(t *testing.T) {
	t.Run("token required", func(t *testing.T) {
		listenFake(t, "127.0.0.74", 7199, fakeHTTP(401, "missing or wrong admin token\n"))
		rep := run(t, testOptions(), "127.0.0.74:7199")
		f := mustFind(t, rep, 7199, "admin-token-required", Info)
		if f.Title != "ringdb admin endpoint, token required" {
			t.Fatalf("title %q", f.Title)
		}
		o := testOptions()
		o.IsLoopback = func(netip.Addr) bool { return false }
		mustFind(t, run(t, o, "127.0.0.74:7199"), 7199, "admin-exposed", Medium)
	})
	t.Run("no token", func(t *testing.T) {
		listenFake(t, "127.0.0.74", 7199, fakeHTTP(200, "{}"))
		mustFind(t, run(t, testOptions(), "127.0.0.74:7199"), 7199, "admin-no-token", High)
	})
}

func TestCQL(t *testing.T) {
	t.Run("no auth", func(t *testing.T) {
		listenFake(t, "127.0.0.75", 9042, (&fakeCQL{}).serve)
		rep := run(t, testOptions(), "127.0.0.75:9042")
		mustFind(t, rep, 9042, "cql-no-auth", High)
		mustFind(t, rep, 9042, "cql-cleartext", Low) // on a loopback address
		o := testOptions()
		o.IsLoopback = func(netip.Addr) bool { return false }
		mustFind(t, run(t, o, "127.0.0.75:9042"), 9042, "cql-cleartext", Medium)
		f := mustFind(t, rep, 9042, "cql-release", Info)
		if f.Detail != "release_version 4.0.11, cluster_name Test Cluster" {
			t.Fatalf("release: %q", f.Detail)
		}
		v := mustFind(t, rep, 9042, "cql-versions", Info)
		if !strings.Contains(v.Detail, "v4: accepted (READY)") || !strings.Contains(v.Detail, "v5: refused (Protocol_error") {
			t.Fatalf("versions: %q", v.Detail)
		}
	})
	t.Run("default password", func(t *testing.T) {
		fake := &fakeCQL{auth: true, acceptDefault: true}
		listenFake(t, "127.0.0.75", 9042, fake.serve)
		rep := run(t, testOptions(), "127.0.0.75:9042")
		mustFind(t, rep, 9042, "cql-auth-required", Info)
		mustFind(t, rep, 9042, "cql-default-credentials", High)
		mustFind(t, rep, 9042, "cql-release", Info)
		if n := fake.logins.Load(); n != 1 {
			t.Fatalf("%d logins, want exactly 1", n)
		}
	})
	t.Run("password refused", func(t *testing.T) {
		fake := &fakeCQL{auth: true}
		listenFake(t, "127.0.0.75", 9042, fake.serve)
		rep := run(t, testOptions(), "127.0.0.75:9042")
		mustFind(t, rep, 9042, "cql-default-credentials-refused", Info)
		if rep.HasHigh() {
			t.Fatalf("HIGH finding:\n%s", text(t, rep))
		}
	})
	t.Run("public cleartext", func(t *testing.T) {
		listenFake(t, "127.0.0.75", 9042, (&fakeCQL{auth: true}).serve)
		o := testOptions()
		o.IsPublic = func(netip.Addr) bool { return true }
		o.AllowPublic = true
		mustFind(t, run(t, o, "127.0.0.75:9042"), 9042, "cql-cleartext", High)
	})
	t.Run("TLS", func(t *testing.T) {
		pki := newTestPKI(t)
		listenFake(t, "127.0.0.75", 9042, pki.tlsFake(tls.NoClientCert, (&fakeCQL{auth: true}).serve))
		rep := run(t, testOptions(), "127.0.0.75:9042")
		mustFind(t, rep, 9042, "cql-tls", Info)
		mustFind(t, rep, 9042, "cql-default-credentials-refused", Info)
		if find(rep, 9042, "cql-cleartext") != nil {
			t.Fatal("cleartext reported on a TLS port")
		}
	})
}

func TestClosedPortIsInfo(t *testing.T) {
	rep := run(t, testOptions(), "127.0.0.76")
	for _, p := range DefaultPorts {
		mustFind(t, rep, p, "closed", Info)
	}
	if rep.Summary.Info != 4 || rep.HasHigh() {
		t.Fatalf("summary %+v", rep.Summary)
	}
}

func TestPublicAddressIsNotDialled(t *testing.T) {
	var dials atomic.Int32
	o := testOptions()
	o.Dial = func(context.Context, string, string) (net.Conn, error) {
		dials.Add(1)
		return nil, errors.New("must not dial")
	}
	rep := run(t, o, "8.8.8.8", "8.8.4.4:9042")
	if n := dials.Load(); n != 0 {
		t.Fatalf("dialled %d times", n)
	}
	for _, tr := range rep.Targets {
		if tr.Scanned || !tr.Public || tr.Connections != 0 {
			t.Fatalf("target %+v", tr)
		}
	}
	if f := find(rep, 0, "public-not-scanned"); f == nil || f.Title != "public address, not scanned" {
		t.Fatalf("findings:\n%s", text(t, rep))
	}
}

func TestConnectionsPerTargetAreBounded(t *testing.T) {
	servers := map[int]*fakeServer{}
	for _, p := range DefaultPorts {
		servers[p] = listenFake(t, "127.0.0.77", p, silent)
	}
	o := testOptions()
	o.Timeout = 200 * time.Millisecond
	rep := run(t, o, "127.0.0.77")
	total := int32(0)
	for p, s := range servers {
		n := s.accepts.Load()
		total += n
		if limit := map[int]int32{7000: 2, 7001: 2, 9042: 4, 7199: 2}[p]; n > limit {
			t.Errorf("port %d: %d connections, bound %d", p, n, limit)
		}
	}
	if total > DefaultMaxConnsPerTarget || int(total) != rep.Targets[0].Connections {
		t.Fatalf("%d connections accepted, report says %d, bound %d", total, rep.Targets[0].Connections, DefaultMaxConnsPerTarget)
	}

	o.MaxConnsPerTarget = 3
	before := total
	rep = run(t, o, "127.0.0.77")
	total = 0
	for _, s := range servers {
		total += s.accepts.Load()
	}
	if total-before > 3 {
		t.Fatalf("%d connections with a budget of 3", total-before)
	}
	mustFind(t, rep, 7199, "budget-exhausted", Info)
}

func TestCancelledContextStopsEarly(t *testing.T) {
	listenFake(t, "127.0.0.78", 7000, silent)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	o := testOptions()
	o.Timeout = 10 * time.Second
	start := time.Now()
	rep, err := Run(ctx, []string{"127.0.0.78"}, o)
	if !errors.Is(err, context.Canceled) || rep == nil {
		t.Fatalf("err %v, report %v", err, rep)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %v", d)
	}
}

func TestParseTargets(t *testing.T) {
	ts, err := ParseTargets([]string{"127.0.0.1", "127.0.0.1:9042", "[::1]:7000", "db1", "db1:7199"}, DefaultPorts)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 3 || len(ts[0].Ports) != 4 || ts[1].Host != "::1" || len(ts[2].Ports) != 4 {
		t.Fatalf("%+v", ts)
	}
	for _, bad := range []string{"", "127.0.0.1:0", "127.0.0.1:70000", ":9042", "a:b:c"} {
		if _, err := ParseTargets([]string{bad}, DefaultPorts); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestGoldenReport runs every kind of fake at once on fixed default ports
// and compares the text report with testdata/report.golden; the JSON is
// parsed back and checked against it.
func TestGoldenReport(t *testing.T) {
	pki := newTestPKI(t)
	listenFake(t, "127.0.0.79", 7000, fakeCassandra)
	listenFake(t, "127.0.0.79", 7001, pki.tlsFake(tls.NoClientCert, silent))
	listenFake(t, "127.0.0.79", 9042, (&fakeCQL{}).serve)
	listenFake(t, "127.0.0.79", 7199, fakeRMI)
	listenFake(t, "127.0.0.78", 7000, pki.tlsFake(tls.RequireAndVerifyClientCert, silent))
	listenFake(t, "127.0.0.78", 9042, (&fakeCQL{auth: true}).serve)
	listenFake(t, "127.0.0.78", 7199, fakeHTTP(401, "missing or wrong admin token\n"))
	rep := run(t, testOptions(), "127.0.0.79", "127.0.0.78", "8.8.8.8")
	got := text(t, rep)
	golden := filepath.Join("testdata", "report.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Fatalf("text report differs from %s (run with -update to accept):\n--- got\n%s--- want\n%s", golden, got, want)
	}

	var b bytes.Buffer
	if err := WriteJSON(&b, rep); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Targets  []TargetResult `json:"targets"`
		Findings []Finding      `json:"findings"`
		Summary  Summary        `json:"summary"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("JSON: %v\n%s", err, b.String())
	}
	if len(doc.Targets) != 3 || len(doc.Findings) != len(rep.Findings) || doc.Summary != rep.Summary {
		t.Fatalf("JSON round trip: %+v", doc.Summary)
	}
	if doc.Findings[0].Severity != rep.Findings[0].Severity || !strings.Contains(b.String(), `"severity": "HIGH"`) {
		t.Fatal("severity not encoded by name")
	}
}

// TestNonDefaultPortIsClassifiedByWhatItSpeaks: a port without a default
// meaning is tried with each probe until one recognises it.
func TestNonDefaultPortIsClassifiedByWhatItSpeaks(t *testing.T) {
	cqlPort, rmiPort, casPort := testnet.FreePort(t), testnet.FreePort(t), testnet.FreePort(t)
	listenFake(t, "127.0.0.76", cqlPort, (&fakeCQL{}).serve)
	listenFake(t, "127.0.0.76", rmiPort, fakeRMI)
	listenFake(t, "127.0.0.76", casPort, fakeCassandra)
	o := testOptions()
	o.Timeout = 300 * time.Millisecond
	rep := run(t, o, "127.0.0.76:"+strconv.Itoa(cqlPort), "127.0.0.76:"+strconv.Itoa(rmiPort), "127.0.0.76:"+strconv.Itoa(casPort))
	mustFind(t, rep, cqlPort, "cql-no-auth", High)
	mustFind(t, rep, rmiPort, "jmx-rmi", Medium)
	mustFind(t, rep, casPort, "internode-cassandra-plaintext", High)
	if c := rep.Targets[0].Connections; c > DefaultMaxConnsPerTarget {
		t.Fatalf("%d connections", c)
	}
}
