package admission

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringdb/ringdb/internal/pki"
)

// joinServer serves the join exchange on 127.0.0.1 like the messaging
// layer does for an issuer (TLS with the join configuration, Serve, close)
// and counts the requests that reached Serve.
func joinServer(t *testing.T, f *issuerFixture) (netip.AddrPort, *atomic.Int32) {
	t.Helper()
	certs := filepath.Join(f.dir, "issuer-certs")
	if err := f.ca.IssueNode(netip.MustParseAddr("127.0.0.1"), certs); err != nil {
		t.Fatal(err)
	}
	id, err := pki.LoadIdentity(certs)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", id.JoinServerConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	addr := netip.MustParseAddrPort(ln.Addr().String())
	f.is.o.Address = addr
	var served atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				tc := c.(*tls.Conn)
				if err := tc.Handshake(); err != nil {
					return
				}
				served.Add(1)
				f.is.Serve(context.Background(), tc, netip.MustParseAddrPort(c.RemoteAddr().String()))
			}()
		}
	}()
	return addr, &served
}

func TestJoinOverTLS(t *testing.T) {
	f := newIssuerFixture(t)
	_, _ = joinServer(t, f)
	tokText, _, err := f.is.CreateToken(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	certs := filepath.Join(t.TempDir(), "certs")
	ctx := context.Background()
	res, err := Join(ctx, JoinOptions{Token: tokText, Self: netip.MustParseAddr("127.0.0.5"), CertsDir: certs, HostID: testHostID})
	if err != nil {
		t.Fatal(err)
	}
	id, err := pki.LoadIdentity(certs)
	if err != nil {
		t.Fatal(err)
	}
	if id.Address != netip.MustParseAddr("127.0.0.5") || id.ClusterID != f.ca.ClusterID || pki.FormatSerial(id.Serial()) != res.Serial {
		t.Fatalf("joined identity %v %s serial %s, result %+v", id.Address, id.ClusterID, id.Serial(), res)
	}

	// Again with the same token (a fresh directory): refused as used.
	_, err = Join(ctx, JoinOptions{Token: tokText, Self: netip.MustParseAddr("127.0.0.6"), CertsDir: filepath.Join(t.TempDir(), "c")})
	if err == nil || !strings.Contains(err.Error(), "already used") {
		t.Fatalf("reused token: %v", err)
	}
	// A directory that already holds a certificate is refused before the
	// token is spent.
	tok2, _, _ := f.is.CreateToken(time.Hour)
	if _, err := Join(ctx, JoinOptions{Token: tok2, Self: netip.MustParseAddr("127.0.0.7"), CertsDir: certs}); err == nil ||
		!strings.Contains(err.Error(), "exists") {
		t.Fatalf("non-empty certs dir: %v", err)
	}
	t2 := mustParse(t, tok2)
	if _, o := f.store.Check(t2.ID, t2.Secret[:], f.clock.Now()); o != OutcomeAccepted {
		t.Fatalf("token spent by a refused local check: %v", o)
	}
}

// The joiner trusts only the CA fingerprint in its token: a server of
// another CA (or one presenting no CA) is refused during TLS, before the
// token's secret is sent.
func TestJoinRefusesServerOfAnotherCA(t *testing.T) {
	f := newIssuerFixture(t)
	_, served := joinServer(t, f)
	tokText, _, err := f.is.CreateToken(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tok := mustParse(t, tokText)
	tok.CAFingerprint = sha256.Sum256([]byte("another cluster's CA"))
	_, err = Join(context.Background(), JoinOptions{Token: tok.String(), Self: netip.MustParseAddr("127.0.0.5"),
		CertsDir: filepath.Join(t.TempDir(), "certs"), Timeout: 5 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "CA fingerprint differs") {
		t.Fatalf("join against another CA: %v", err)
	}
	if n := served.Load(); n != 0 {
		t.Fatalf("%d TLS handshakes completed with a server the joiner should refuse", n)
	}
	if evs := f.audit.take(); len(evs) != 0 {
		t.Fatalf("the issuer saw a request: %+v", evs)
	}
	if _, o := f.store.Check(tok.ID, tok.Secret[:], f.clock.Now()); o != OutcomeAccepted {
		t.Fatalf("token state %v", o)
	}
}

// A token naming an issuer the joiner cannot reach fails within Timeout.
func TestJoinGivesUp(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := netip.MustParseAddrPort(ln.Addr().String())
	ln.Close() // nothing listens there now
	tok := randomToken(t, addr.String())
	start := time.Now()
	_, err = Join(context.Background(), JoinOptions{Token: tok.String(), Self: netip.MustParseAddr("127.0.0.5"),
		CertsDir: filepath.Join(t.TempDir(), "certs"), Timeout: time.Second})
	if err == nil || !strings.Contains(err.Error(), "gave up") {
		t.Fatalf("unreachable issuer: %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("gave up after %v", d)
	}
}

func mustParse(t *testing.T, s string) Token {
	t.Helper()
	tok, err := ParseToken(s)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
