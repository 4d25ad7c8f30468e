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
	"syscall"
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

// TestJMXSeverityDependsOnLoopback: JMX on loopback only is Cassandra's
// default (LOCAL_JMX=yes): LOW, fixed by JMX authentication; reachable
// from the network it is HIGH, fixed by binding it to localhost too.
func TestJMXSeverityDependsOnLoopback(t *testing.T) {
	listenFake(t, "127.0.0.74", 7199, fakeRMI)
	rep := run(t, testOptions(), "127.0.0.74:7199")
	local := mustFind(t, rep, 7199, "jmx-rmi", Low)
	if strings.Contains(local.Fix, "localhost") || !strings.Contains(local.Fix, "jmxremote.authenticate=true") {
		t.Fatalf("loopback fix %q: should be JMX authentication, not binding to localhost", local.Fix)
	}
	if !strings.Contains(local.Detail, "only this host's users can attach") {
		t.Fatalf("loopback detail %q", local.Detail)
	}
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
		f := mustFind(t, rep, 9042, "cql-tls", Info)
		mustFind(t, rep, 9042, "cql-default-credentials-refused", Info)
		if find(rep, 9042, "cql-cleartext") != nil || find(rep, 9042, "cql-tls-optional") != nil {
			t.Fatalf("cleartext reported on a TLS-only port:\n%s", text(t, rep))
		}
		if !strings.Contains(f.Detail, "a cleartext OPTIONS got no CQL answer") {
			t.Fatalf("cql-tls detail %q does not say how cleartext fared", f.Detail)
		}
	})
	t.Run("login unanswered", func(t *testing.T) {
		// A node throttling logins from this host holds the answer
		// past the timeout: unknown, which is not clean.
		fake := &fakeCQL{auth: true, holdLogin: true}
		listenFake(t, "127.0.0.75", 9042, fake.serve)
		rep := run(t, testOptions(), "127.0.0.75:9042")
		f := mustFind(t, rep, 9042, "cql-login-unanswered", Low)
		if f.Title != "default credentials cassandra/cassandra not answered within the timeout" ||
			!strings.Contains(f.Detail, "the node may be throttling logins from this host after failed attempts") ||
			!strings.Contains(f.Detail, "not known whether they are accepted") ||
			f.Fix != "run the audit again later or with a longer --timeout" {
			t.Fatalf("finding: %+v", f)
		}
		if n := fake.logins.Load(); n != 1 {
			t.Fatalf("%d logins, want exactly 1", n)
		}
		if rep.HasHigh() || find(rep, 9042, "cql-default-credentials-refused") != nil {
			t.Fatalf("report:\n%s", text(t, rep))
		}
	})
}

// TestCQLTLSOptional: a native port that serves TLS and, on the same
// port, cleartext CQL (ringdb's --client-tls --client-tls-optional) is
// reported as accepting cleartext clients, rated as cleartext is, within
// the port's four connections.
func TestCQLTLSOptional(t *testing.T) {
	pki := newTestPKI(t)
	t.Run("no client certificate", func(t *testing.T) {
		srv := listenFake(t, "127.0.0.75", 9042, pki.tlsOptionalFake(tls.NoClientCert, (&fakeCQL{auth: true}).serve))
		rep := run(t, testOptions(), "127.0.0.75:9042")
		mustFind(t, rep, 9042, "cql-tls", Info)
		f := mustFind(t, rep, 9042, "cql-tls-optional", Low) // on a loopback address
		if !strings.Contains(f.Title, "TLS is optional") || !strings.Contains(f.Fix, "client_encryption_options: optional: false") {
			t.Fatalf("finding: %+v", f)
		}
		mustFind(t, rep, 9042, "cql-default-credentials-refused", Info)
		if find(rep, 9042, "cql-cleartext") != nil {
			t.Fatalf("report:\n%s", text(t, rep))
		}
		if n := srv.accepts.Load(); n != 4 || rep.Targets[0].Connections != 4 {
			t.Fatalf("%d connections accepted, %d reported, want 4", n, rep.Targets[0].Connections)
		}
		o := testOptions()
		o.IsLoopback = func(netip.Addr) bool { return false }
		mustFind(t, run(t, o, "127.0.0.75:9042"), 9042, "cql-tls-optional", Medium)
		o.IsPublic, o.AllowPublic = func(netip.Addr) bool { return true }, true
		mustFind(t, run(t, o, "127.0.0.75:9042"), 9042, "cql-tls-optional", High)
	})
	t.Run("client certificate required", func(t *testing.T) {
		// Cleartext clients do without the certificate TLS ones need;
		// the rest of the probe runs in cleartext.
		srv := listenFake(t, "127.0.0.75", 9042, pki.tlsOptionalFake(tls.RequireAndVerifyClientCert, (&fakeCQL{auth: true}).serve))
		rep := run(t, testOptions(), "127.0.0.75:9042")
		mustFind(t, rep, 9042, "cql-mtls", Info)
		f := mustFind(t, rep, 9042, "cql-tls-optional", Low)
		if !strings.Contains(f.Detail, "without the client certificate") {
			t.Fatalf("detail %q", f.Detail)
		}
		mustFind(t, rep, 9042, "cql-auth-required", Info)
		mustFind(t, rep, 9042, "cql-default-credentials-refused", Info)
		if n := srv.accepts.Load(); n > 4 {
			t.Fatalf("%d connections, bound 4", n)
		}
	})
}

// TestCQLMutualTLS: a native port that requires client certificates
// signed by its CA is reported as mutual TLS, whether the refusal of the
// unknown-CA certificate fails the handshake (TLS 1.2) or arrives after it
// (TLS 1.3).
func TestCQLMutualTLS(t *testing.T) {
	pki := newTestPKI(t)
	for name, v := range map[string]uint16{"TLS 1.3": tls.VersionTLS13, "TLS 1.2": tls.VersionTLS12} {
		t.Run(name, func(t *testing.T) {
			srv := listenFake(t, "127.0.0.75", 9042, pki.tlsFakeVersion(tls.RequireAndVerifyClientCert, v, (&fakeCQL{auth: true}).serve))
			rep := run(t, testOptions(), "127.0.0.75:9042")
			f := mustFind(t, rep, 9042, "cql-mtls", Info)
			if f.Title != "CQL over mutual TLS: a client certificate from an unknown CA is refused" {
				t.Fatalf("title %q", f.Title)
			}
			mustFind(t, rep, 9042, "tls-certificate", Low)
			for _, id := range []string{"not-cql", "tls-refused", "cql-tls-optional", "cql-cleartext"} {
				if find(rep, 9042, id) != nil {
					t.Fatalf("%s reported:\n%s", id, text(t, rep))
				}
			}
			if rep.HasHigh() || srv.accepts.Load() != 2 {
				t.Fatalf("%d connections (want 2: TLS, cleartext OPTIONS):\n%s", srv.accepts.Load(), text(t, rep))
			}
		})
	}
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

// TestNotAHostIsAUsageError: the unspecified address (a dial of it
// reaches this machine), multicast groups and the broadcast address are
// refused before anything is dialled; so is a host name resolving to one.
func TestNotAHostIsAUsageError(t *testing.T) {
	for arg, why := range map[string]string{
		"0.0.0.0": "the unspecified address is not a host", "::": "the unspecified address is not a host",
		"0.0.0.0:9042": "the unspecified address is not a host", "[::]:9042": "the unspecified address is not a host",
		"::ffff:0.0.0.0": "the unspecified address is not a host",
		"224.0.0.1":      "a multicast address is not a host", "239.1.2.3:7000": "a multicast address is not a host",
		"ff02::1": "a multicast address is not a host", "255.255.255.255": "the broadcast address is not a host",
	} {
		rep, err := Run(context.Background(), []string{"127.0.0.1", arg}, testOptions())
		if err == nil || rep != nil || !strings.Contains(err.Error(), why) {
			t.Errorf("%s: report %v, err %v; want the usage error %q", arg, rep != nil, err, why)
		}
	}
	var dials atomic.Int32
	o := testOptions()
	o.Dial = func(context.Context, string, string) (net.Conn, error) {
		dials.Add(1)
		return nil, errors.New("must not dial")
	}
	o.Resolve = func(context.Context, string) ([]netip.Addr, error) { return []netip.Addr{netip.IPv4Unspecified()}, nil }
	rep := run(t, o, "zero.example")
	if f := find(rep, 0, "not-a-host"); f == nil || dials.Load() != 0 || rep.Targets[0].Scanned {
		t.Fatalf("%d dials:\n%s", dials.Load(), text(t, rep))
	}
}

// TestDocumentationAddressesAreNotPublic: documentation, benchmarking and
// reserved addresses are not globally routable: they are scanned (here
// against a dialer that refuses), not reported as public.
func TestDocumentationAddressesAreNotPublic(t *testing.T) {
	o := testOptions()
	o.Dial = func(_ context.Context, _, addr string) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	}
	args := []string{"192.0.2.1", "198.51.100.7:9042", "203.0.113.9", "[2001:db8::1]:9042", "198.18.0.1", "240.0.0.1"}
	rep := run(t, o, args...)
	for _, tr := range rep.Targets {
		if tr.Public || !tr.Scanned {
			t.Errorf("target %+v", tr)
		}
	}
	if f := find(rep, 0, "public-not-scanned"); f != nil {
		t.Fatalf("a non-routable address reported public:\n%s", text(t, rep))
	}
}

// TestHTTPOnNonDefaultPort: an HTTP server on a port without a default
// meaning is reported as an HTTP service, not as the management port's
// admin API, unless it answers as ringdb's admin endpoint.
func TestHTTPOnNonDefaultPort(t *testing.T) {
	web, missing, admin := testnet.FreePort(t), testnet.FreePort(t), testnet.FreePort(t)
	listenFake(t, "127.0.0.76", web, fakeHTTP(200, "<html>hello</html>"))
	listenFake(t, "127.0.0.76", missing, fakeHTTP(404, "not found"))
	listenFake(t, "127.0.0.76", admin, fakeHTTP(401, "missing or wrong admin token\n"))
	listenFake(t, "127.0.0.74", 7199, fakeHTTP(404, "not found"))
	o := testOptions()
	o.Timeout = 300 * time.Millisecond
	rep := run(t, o, "127.0.0.76:"+strconv.Itoa(web), "127.0.0.76:"+strconv.Itoa(missing), "127.0.0.76:"+strconv.Itoa(admin), "127.0.0.74:7199")
	for _, port := range []int{web, missing} {
		f := mustFind(t, rep, port, "http-service", Info)
		if f.Title != "HTTP service" || strings.Contains(f.Title+f.Detail, "management port") {
			t.Errorf("port %d: %+v", port, f)
		}
	}
	mustFind(t, rep, admin, "admin-token-required", Info)
	if f := mustFind(t, rep, 7199, "http-service", Info); f.Title != "HTTP service on the management port" {
		t.Errorf("7199: %+v", f)
	}
	if rep.HasHigh() {
		t.Fatalf("HIGH finding:\n%s", text(t, rep))
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
	listenFake(t, "127.0.0.77", 9042, pki.tlsOptionalFake(tls.NoClientCert, (&fakeCQL{auth: true}).serve))
	rep := run(t, testOptions(), "127.0.0.79", "127.0.0.78", "127.0.0.77:9042", "8.8.8.8")
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
	if len(doc.Targets) != 4 || len(doc.Findings) != len(rep.Findings) || doc.Summary != rep.Summary {
		t.Fatalf("JSON round trip: %+v", doc.Summary)
	}
	if doc.Findings[0].Severity != rep.Findings[0].Severity || !strings.Contains(b.String(), `"severity": "HIGH"`) {
		t.Fatal("severity not encoded by name")
	}
}

// TestNonDefaultPortIsClassifiedByWhatItSpeaks: a port without a default
// meaning is tried with each probe until one recognises it.
func TestNonDefaultPortIsClassifiedByWhatItSpeaks(t *testing.T) {
	cqlPort, rmiPort, casPort, mtlsPort := testnet.FreePort(t), testnet.FreePort(t), testnet.FreePort(t), testnet.FreePort(t)
	listenFake(t, "127.0.0.76", cqlPort, (&fakeCQL{}).serve)
	listenFake(t, "127.0.0.76", rmiPort, fakeRMI)
	listenFake(t, "127.0.0.76", casPort, fakeCassandra)
	listenFake(t, "127.0.0.75", mtlsPort, newTestPKI(t).tlsFake(tls.RequireAndVerifyClientCert, silent)) // another budget
	o := testOptions()
	o.Timeout = 300 * time.Millisecond
	rep := run(t, o, "127.0.0.76:"+strconv.Itoa(cqlPort), "127.0.0.76:"+strconv.Itoa(rmiPort), "127.0.0.76:"+strconv.Itoa(casPort),
		"127.0.0.75:"+strconv.Itoa(mtlsPort))
	mustFind(t, rep, cqlPort, "cql-no-auth", High)
	mustFind(t, rep, rmiPort, "jmx-rmi", Low)
	mustFind(t, rep, casPort, "internode-cassandra-plaintext", High)
	// Behind a refused client certificate nothing shows the protocol:
	// the finding says mutual TLS, not CQL or internode.
	if f := mustFind(t, rep, mtlsPort, "internode-mtls", Info); f.Title != "mutual TLS: a client certificate from an unknown CA is refused" {
		t.Fatalf("title %q", f.Title)
	}
	if c := rep.Targets[0].Connections; c > DefaultMaxConnsPerTarget {
		t.Fatalf("%d connections", c)
	}
}
