package messaging

import (
	"context"
	"crypto/tls"
	"errors"
	"github.com/ringdb/ringdb/internal/testnet"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// tcpFrom opens a TCP connection from source ip to a node.
func tcpFrom(t *testing.T, from string, to netip.Addr, port int) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", netip.AddrPortFrom(to, uint16(port)).String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// readAllBounded reads until EOF/error or 5 s and returns what arrived.
func readAllBounded(c net.Conn) ([]byte, error) {
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	return io.ReadAll(c)
}

// tlsFrom completes TLS from source ip with cfg; the server may still
// refuse the client certificate, which the client sees on its first read.
func tlsFrom(t *testing.T, from string, to netip.Addr, port int, cfg *tls.Config) *tls.Conn {
	t.Helper()
	cfg = cfg.Clone()
	cfg.ServerName = to.String()
	tc := tls.Client(tcpFrom(t, from, to, port), cfg)
	tc.SetDeadline(time.Now().Add(5 * time.Second))
	if err := tc.Handshake(); err != nil {
		t.Fatalf("client TLS handshake: %v", err)
	}
	return tc
}

// forceCert makes a client present cert even if the server's list of
// acceptable CAs does not include its issuer.
func forceCert(cfg *tls.Config) *tls.Config {
	cert := cfg.Certificates[0]
	cfg.Certificates = nil
	cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }
	return cfg
}

func helloBytes(cluster, claimed string) []byte {
	return appendHello(nil, hello{minVersion: 1, maxVersion: 1, clusterID: cluster, addr: netip.MustParseAddr(claimed), lane: laneBulk})
}

// TestSecurityRefusals drives a node with one misbehaving client after
// another and checks that each is refused with nothing but (after TLS) a
// reject code, that OnRefused hears about it, and that a valid peer is
// served throughout.
func TestSecurityRefusals(t *testing.T) {
	ca := newTestCA(t, testCluster)
	port := testnet.FreePort(t)
	a := echoNode(newTestNode(t, ca, "127.0.0.1", port, nil), make(chan received, 16)).start(t)
	b := echoNode(newTestNode(t, ca, "127.0.0.2", port, nil), make(chan received, 16)).start(t)
	validPeerWorks := func(t *testing.T) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if resp, err := b.Request(ctx, a.addr, VerbRead, []byte("ok")); err != nil || string(resp) != "re:127.0.0.2:ok" {
			t.Fatalf("valid peer not served: %q, %v", resp, err)
		}
	}
	validPeerWorks(t)

	t.Run("plaintext", func(t *testing.T) {
		c := tcpFrom(t, "127.0.0.4", a.addr, port)
		c.Write(helloBytes(testCluster, "127.0.0.4"))
		got, _ := readAllBounded(c)
		if len(got) != 0 {
			t.Fatalf("plaintext client received %d bytes: %q", len(got), got)
		}
		a.refusals.waitFor(t, "127.0.0.4", "tls handshake")
		validPeerWorks(t)
	})

	t.Run("self-signed", func(t *testing.T) {
		var self *testCA
		cert := self.leaf(t, "127.0.0.4", testCluster)
		tc := tlsFrom(t, "127.0.0.4", a.addr, port, forceCert(clientConfig(ca, cert)))
		tc.Write(helloBytes(testCluster, "127.0.0.4"))
		got, err := readAllBounded(tc)
		if len(got) != 0 || err == nil {
			t.Fatalf("self-signed client: got %q, err %v", got, err)
		}
		a.refusals.waitFor(t, "127.0.0.4", "failed to verify certificate")
		validPeerWorks(t)
	})

	t.Run("other CA", func(t *testing.T) {
		other := newTestCA(t, testCluster)
		cert := other.leaf(t, "127.0.0.5", testCluster)
		tc := tlsFrom(t, "127.0.0.5", a.addr, port, forceCert(clientConfig(ca, cert)))
		tc.Write(helloBytes(testCluster, "127.0.0.5"))
		got, err := readAllBounded(tc)
		if len(got) != 0 || err == nil {
			t.Fatalf("foreign-CA client: got %q, err %v", got, err)
		}
		a.refusals.waitFor(t, "127.0.0.5", "tls handshake")
		validPeerWorks(t)
	})

	t.Run("claims another address", func(t *testing.T) {
		cert := ca.leaf(t, "127.0.0.6", testCluster)
		tc := tlsFrom(t, "127.0.0.6", a.addr, port, clientConfig(ca, cert))
		tc.Write(helloBytes(testCluster, "127.0.0.2"))
		got, _ := readAllBounded(tc)
		if string(got) != string([]byte{byte(rejectAddress)}) {
			t.Fatalf("want reject code %d only, got %q", rejectAddress, got)
		}
		a.refusals.waitFor(t, "127.0.0.6", "address mismatch")
		validPeerWorks(t)
	})

	t.Run("certificate for another source", func(t *testing.T) {
		// A valid certificate for 127.0.0.2, used from 127.0.0.3.
		cert := ca.leaf(t, "127.0.0.2", testCluster)
		tc := tlsFrom(t, "127.0.0.3", a.addr, port, clientConfig(ca, cert))
		tc.Write(helloBytes(testCluster, "127.0.0.2"))
		got, _ := readAllBounded(tc)
		if string(got) != string([]byte{byte(rejectAddress)}) {
			t.Fatalf("want reject code %d only, got %q", rejectAddress, got)
		}
		a.refusals.waitFor(t, "127.0.0.3", "TCP source 127.0.0.3")
		validPeerWorks(t)
	})

	t.Run("wrong cluster", func(t *testing.T) {
		cert := ca.leaf(t, "127.0.0.7", testCluster)
		tc := tlsFrom(t, "127.0.0.7", a.addr, port, clientConfig(ca, cert))
		tc.Write(helloBytes("another-cluster", "127.0.0.7"))
		got, _ := readAllBounded(tc)
		if string(got) != string([]byte{byte(rejectCluster)}) {
			t.Fatalf("want reject code %d only, got %q", rejectCluster, got)
		}
		a.refusals.waitFor(t, "127.0.0.7", "wrong cluster")
		validPeerWorks(t)
	})

	t.Run("bad handshake", func(t *testing.T) {
		cert := ca.leaf(t, "127.0.0.8", testCluster)
		tc := tlsFrom(t, "127.0.0.8", a.addr, port, clientConfig(ca, cert))
		tc.Write([]byte("GET / HTTP/1.1\r\n\r\n"))
		got, _ := readAllBounded(tc)
		if string(got) != string([]byte{byte(rejectMalformed)}) {
			t.Fatalf("want reject code %d only, got %q", rejectMalformed, got)
		}
		a.refusals.waitFor(t, "127.0.0.8", "bad handshake")
		validPeerWorks(t)
	})

	t.Run("wrong version", func(t *testing.T) {
		cert := ca.leaf(t, "127.0.0.8", testCluster)
		tc := tlsFrom(t, "127.0.0.8", a.addr, port, clientConfig(ca, cert))
		tc.Write(appendHello(nil, hello{minVersion: 7, maxVersion: 9, clusterID: testCluster, addr: netip.MustParseAddr("127.0.0.8")}))
		got, _ := readAllBounded(tc)
		if string(got) != string([]byte{byte(rejectVersion)}) {
			t.Fatalf("want reject code %d only, got %q", rejectVersion, got)
		}
		a.refusals.waitFor(t, "127.0.0.8", "protocol version")
	})

	t.Run("oversized frame after handshake", func(t *testing.T) {
		cert := ca.leaf(t, "127.0.0.9", testCluster)
		tc := tlsFrom(t, "127.0.0.9", a.addr, port, clientConfig(ca, cert))
		tc.Write(helloBytes(testCluster, "127.0.0.9"))
		acc, err := readAccept(tc)
		if err != nil || acc.addr != a.addr {
			t.Fatalf("handshake: %+v, %v", acc, err)
		}
		// Declares 4 GiB; the node must close without trying to read it.
		tc.Write(appendFrameHeader(nil, frameHeader{length: 0xFFFFFFFF, verb: VerbMutation, kind: kindOneWay}))
		got, _ := readAllBounded(tc)
		if len(got) != 0 {
			t.Fatalf("got %q", got)
		}
		validPeerWorks(t)
	})

	t.Run("dialed peer with wrong certificate", func(t *testing.T) {
		// An impostor at 127.0.0.3 presenting a valid certificate for 127.0.0.2.
		cert := ca.leaf(t, "127.0.0.2", testCluster)
		ln, err := tls.Listen("tcp", netip.AddrPortFrom(netip.MustParseAddr("127.0.0.3"), uint16(port)).String(), serverConfig(ca, cert))
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		var got atomic.Int64
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					defer c.Close()
					c.SetDeadline(time.Now().Add(5 * time.Second))
					n, _ := io.Copy(io.Discard, c)
					got.Add(n)
				}()
			}
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		if _, err := a.Request(ctx, netip.MustParseAddr("127.0.0.3"), VerbRead, nil); !errors.Is(err, ErrTimeout) {
			t.Fatalf("want ErrTimeout, got %v", err)
		}
		a.refusals.waitFor(t, "127.0.0.3", "valid for 127.0.0.2")
		time.Sleep(50 * time.Millisecond)
		if n := got.Load(); n != 0 {
			t.Fatalf("impostor received %d bytes of handshake", n)
		}
	})

	t.Run("dialed peer claiming another address", func(t *testing.T) {
		// A node at 127.0.0.4 with a valid certificate that answers the
		// handshake claiming to be 127.0.0.2.
		cert := ca.leaf(t, "127.0.0.4", testCluster)
		ln, err := tls.Listen("tcp", netip.AddrPortFrom(netip.MustParseAddr("127.0.0.4"), uint16(port)).String(), serverConfig(ca, cert))
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					defer c.Close()
					c.SetDeadline(time.Now().Add(5 * time.Second))
					if _, err := readHello(c); err != nil {
						return
					}
					c.Write(appendAccept(nil, accept{version: 1, addr: netip.MustParseAddr("127.0.0.2")}))
					io.Copy(io.Discard, c)
				}()
			}
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		if _, err := a.Request(ctx, netip.MustParseAddr("127.0.0.4"), VerbRead, nil); !errors.Is(err, ErrTimeout) {
			t.Fatalf("want ErrTimeout, got %v", err)
		}
		a.refusals.waitFor(t, "127.0.0.4", "peer claims 127.0.0.2")
	})

	// No refusal was reported for the valid peer.
	a.refusals.mu.Lock()
	defer a.refusals.mu.Unlock()
	for _, r := range a.refusals.list {
		if strings.HasPrefix(r, "127.0.0.2: ") {
			t.Errorf("valid peer refused: %s", r)
		}
	}
}

// TestHalfOpenFlood opens 100 silent connections from one source: only
// MaxHandshakesPerSource of them are kept (until HandshakeTimeout), and a valid
// peer is served meanwhile.
func TestHalfOpenFlood(t *testing.T) {
	ca := newTestCA(t, testCluster)
	port := testnet.FreePort(t)
	const limit = 8
	a := echoNode(newTestNode(t, ca, "127.0.0.1", port, func(o *Options) {
		o.MaxHandshakesPerSource = limit
		o.HandshakeTimeout = 2 * time.Second
	}), make(chan received, 1)).start(t)
	b := newTestNode(t, ca, "127.0.0.2", port, nil)

	const n = 100
	closed := make(chan time.Duration, n)
	start := time.Now()
	for range n {
		c := tcpFrom(t, "127.0.0.20", a.addr, port)
		go func() {
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			io.Copy(io.Discard, c)
			closed <- time.Since(start)
		}()
	}
	// All but `limit` are closed at once.
	early := 0
	timeout := time.After(1500 * time.Millisecond)
wait:
	for early < n-limit {
		select {
		case <-closed:
			early++
		case <-timeout:
			break wait
		}
	}
	if early != n-limit {
		t.Fatalf("%d of %d flood connections closed early, want %d", early, n, n-limit)
	}
	select {
	case d := <-closed:
		if d < time.Second {
			t.Fatalf("more than %d connections closed early (one after %v)", n-limit, d)
		}
		closed <- d
	case <-time.After(200 * time.Millisecond):
	}
	// A valid peer from another source is served during the flood.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := b.Request(ctx, a.addr, VerbEcho, nil); err != nil {
		t.Fatalf("valid peer during flood: %v", err)
	}
	// The admitted ones are cut at HandshakeTimeout.
	for range limit {
		select {
		case <-closed:
		case <-time.After(6 * time.Second):
			t.Fatal("half-open connection outlived HandshakeTimeout")
		}
	}
	a.refusals.waitFor(t, "127.0.0.20", "tls handshake")
}
