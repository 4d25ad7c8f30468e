package messaging

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"github.com/ringdb/ringdb/internal/testnet"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestCloseRevoked: CloseRevoked closes the established connections, both
// directions, of a peer whose certificate becomes revoked, and only those;
// with the TLS configurations refusing the certificate from then on, the
// peer can reach the node no more, while other peers are served.
func TestCloseRevoked(t *testing.T) {
	ca := newTestCA(t, testCluster)
	port := testnet.FreePort(t)
	var revoked sync.Map // serial (decimal) -> struct{}
	isRevoked := func(c *x509.Certificate) bool {
		_, ok := revoked.Load(c.SerialNumber.String())
		return ok
	}
	// What package pki's configurations do with an installed CRL.
	withCRL := func(o *Options) {
		for _, c := range []*tls.Config{o.ServerTLS, o.ClientTLS} {
			c.VerifyConnection = func(cs tls.ConnectionState) error {
				if len(cs.PeerCertificates) > 0 && isRevoked(cs.PeerCertificates[0]) {
					return errors.New("certificate revoked")
				}
				return nil
			}
		}
	}
	a := echoNode(newTestNode(t, ca, "127.0.0.1", port, withCRL), make(chan received, 16)).start(t)
	b := echoNode(newTestNode(t, ca, "127.0.0.2", port, withCRL), make(chan received, 16)).start(t)
	c := echoNode(newTestNode(t, ca, "127.0.0.3", port, withCRL), make(chan received, 16)).start(t)
	req := func(from, to *testNode, timeout time.Duration) error {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		resp, err := from.Request(ctx, to.addr, VerbRead, []byte("x"))
		if err == nil && string(resp) != "re:"+from.addr.String()+":x" {
			t.Fatalf("%v -> %v: response %q", from.addr, to.addr, resp)
		}
		return err
	}
	for _, p := range [][2]*testNode{{b, a}, {a, b}, {c, a}} {
		if err := req(p[0], p[1], 5*time.Second); err != nil {
			t.Fatalf("%v -> %v before revocation: %v", p[0].addr, p[1].addr, err)
		}
	}
	if got := a.CloseRevoked(isRevoked); len(got) != 0 {
		t.Fatalf("nothing revoked, closed %+v", got)
	}

	bSerial := b.o.ServerTLS.Certificates[0].Leaf.SerialNumber
	revoked.Store(bSerial.String(), struct{}{})
	got := a.CloseRevoked(isRevoked)
	slices.SortFunc(got, func(x, y RevokedConn) int {
		if x.Inbound == y.Inbound {
			return 0
		}
		if x.Inbound {
			return -1
		}
		return 1
	})
	if len(got) != 2 || !got[0].Inbound || got[1].Inbound {
		t.Fatalf("closed %+v, want b's inbound and outbound connection", got)
	}
	for _, rc := range got {
		if rc.Peer != b.addr || rc.Serial.Cmp(bSerial) != 0 {
			t.Fatalf("closed %+v, want peer %v serial %v", rc, b.addr, bSerial)
		}
	}
	// Neither direction works any more: the old connections are gone and
	// new handshakes are refused.
	if err := req(b, a, 2*time.Second); err == nil {
		t.Fatal("the revoked peer still reaches the node")
	}
	if err := req(a, b, 2*time.Second); err == nil {
		t.Fatal("the node still reaches the revoked peer")
	}
	if err := req(c, a, 5*time.Second); err != nil {
		t.Fatalf("another peer after the revocation: %v", err)
	}
	if got := a.CloseRevoked(isRevoked); len(got) != 0 {
		t.Fatalf("second sweep closed %+v", got)
	}
}
