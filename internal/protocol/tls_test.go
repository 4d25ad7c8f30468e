package protocol

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringdb/ringdb/internal/protocol/frame"
	"github.com/ringdb/ringdb/internal/testcert"
)

// tlsFixture is a server TLS configuration and a client configuration
// trusting it, from throwaway certificates.
type tlsFixture struct {
	files  testcert.Files
	server *tls.Config
}

func newTLSFixture(t *testing.T) tlsFixture {
	t.Helper()
	f := testcert.Write(t, t.TempDir(), "test native CA", "127.0.0.1")
	cert, err := tls.LoadX509KeyPair(f.ServerCert, f.ServerKey)
	if err != nil {
		t.Fatal(err)
	}
	return tlsFixture{files: f, server: &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}}
}

// client returns a client configuration trusting the fixture's CA, with
// the fixture's client certificate when withCert.
func (f tlsFixture) client(t *testing.T, withCert bool) *tls.Config {
	t.Helper()
	pemBytes, err := os.ReadFile(f.files.CA)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemBytes)
	cfg := &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
	if withCert {
		cert, err := tls.LoadX509KeyPair(f.files.ClientCert, f.files.ClientKey)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg
}

func dialTLS(t *testing.T, addr string, cfg *tls.Config) (*tls.Conn, error) {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	tc := tls.Client(nc, cfg)
	_ = tc.SetDeadline(time.Now().Add(10 * time.Second))
	return tc, tc.Handshake()
}

func TestTLSClientsServedAndCleartextRefused(t *testing.T) {
	fx := newTLSFixture(t)
	s := startServer(t, Options{TLS: fx.server}, nil)
	tc, err := dialTLS(t, s.Addr().String(), fx.client(t, false))
	if err != nil {
		t.Fatal(err)
	}
	cl := newClient(t, tc)
	cl.startup()
	cl.send(3, frame.OpOptions, nil)
	cl.expect(3, frame.OpSupported)

	plain := newClient(t, dialFrom(t, netip.MustParseAddr("127.0.0.1"), s.Addr().String()))
	plain.send(1, frame.OpOptions, nil)
	msgs := plain.expectClosed()
	if len(msgs) != 1 || !strings.Contains(msgs[0], "requires TLS") {
		t.Fatalf("cleartext client got %q, want one error saying TLS is required", msgs)
	}
	waitFor(t, "the refusal to be counted", func() bool { return s.Stats().TLSFailures == 1 })
}

func TestTLSOptionalServesBoth(t *testing.T) {
	fx := newTLSFixture(t)
	s := startServer(t, Options{TLS: fx.server, TLSOptional: true}, nil)
	tc, err := dialTLS(t, s.Addr().String(), fx.client(t, false))
	if err != nil {
		t.Fatal(err)
	}
	newClient(t, tc).startup()
	newClient(t, dialFrom(t, netip.MustParseAddr("127.0.0.1"), s.Addr().String())).startup()
}

func TestTLSRequireClientCertificate(t *testing.T) {
	fx := newTLSFixture(t)
	pemBytes, err := os.ReadFile(fx.files.CA)
	if err != nil {
		t.Fatal(err)
	}
	srv := fx.server.Clone()
	srv.ClientCAs = x509.NewCertPool()
	srv.ClientCAs.AppendCertsFromPEM(pemBytes)
	srv.ClientAuth = tls.RequireAndVerifyClientCert
	s := startServer(t, Options{TLS: srv}, nil)

	// Without a certificate: TLS 1.3 finishes the client's side of the
	// handshake, so the refusal shows on the first exchange.
	tc, err := dialTLS(t, s.Addr().String(), fx.client(t, false))
	if err == nil {
		hdr := frame.AppendHeader(nil, frame.Header{Version: frame.VersionRequest, Stream: 1, Opcode: frame.OpOptions})
		_, _ = tc.Write(hdr)
		_, err = io.ReadFull(tc, make([]byte, frame.HeaderSize))
	}
	if err == nil {
		t.Fatal("a client without a certificate was served")
	}
	waitFor(t, "the failed handshake to be counted", func() bool { return s.Stats().TLSFailures == 1 })

	tc, err = dialTLS(t, s.Addr().String(), fx.client(t, true))
	if err != nil {
		t.Fatal(err)
	}
	newClient(t, tc).startup()
}

// A client that opens the connection and never finishes the handshake is
// closed at the handshake deadline, whether it sent nothing or half a
// ClientHello.
func TestTLSHandshakeDeadline(t *testing.T) {
	fx := newTLSFixture(t)
	s := startServer(t, Options{TLS: fx.server, HandshakeTimeout: 300 * time.Millisecond}, nil)
	for _, first := range [][]byte{nil, {0x16, 0x03, 0x01}} {
		nc := dialFrom(t, netip.MustParseAddr("127.0.0.1"), s.Addr().String())
		if first != nil {
			if _, err := nc.Write(first); err != nil {
				t.Fatal(err)
			}
		}
		_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
		start := time.Now()
		_, err := io.ReadAll(nc)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("sent %x: the server kept the connection open for 10 s", first)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("sent %x: closed after %v", first, d)
		}
	}
}

// recorder is a TCP proxy that keeps every byte it forwards, as a capture
// of the wire would.
type recorder struct {
	ln  net.Listener
	mu  sync.Mutex
	buf bytes.Buffer
	wg  sync.WaitGroup
}

func newRecorder(t *testing.T, target string) *recorder {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{ln: ln}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			r.wg.Add(2)
			go r.pipe(in, out)
			go r.pipe(out, in)
		}
	}()
	t.Cleanup(func() { ln.Close(); r.wg.Wait() })
	return r
}

func (r *recorder) pipe(dst, src net.Conn) {
	defer r.wg.Done()
	defer dst.Close()
	defer src.Close()
	b := make([]byte, 4096)
	for {
		n, err := src.Read(b)
		if n > 0 {
			r.mu.Lock()
			r.buf.Write(b[:n])
			r.mu.Unlock()
			if _, werr := dst.Write(b[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (r *recorder) captured() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return bytes.Clone(r.buf.Bytes())
}

// A capture of a login over TLS does not hold the password; the same
// capture of a cleartext login does (which shows the recorder records).
func TestTLSLoginCaptureHoldsNoPassword(t *testing.T) {
	const password = "right"
	fx := newTLSFixture(t)
	for _, useTLS := range []bool{false, true} {
		opts := Options{Auth: &fakeAuth{}}
		if useTLS {
			opts.TLS = fx.server
		}
		s := startServer(t, opts, nil)
		rec := newRecorder(t, s.Addr().String())
		var nc net.Conn = dialFrom(t, netip.MustParseAddr("127.0.0.1"), rec.ln.Addr().String())
		if useTLS {
			tc := tls.Client(nc, fx.client(t, false))
			if err := tc.Handshake(); err != nil {
				t.Fatal(err)
			}
			nc = tc
		}
		cl := newClient(t, nc)
		cl.startupAuth("")
		cl.send(2, frame.OpAuthResponse, plainToken("app", password))
		cl.expect(2, frame.OpAuthSuccess)
		nc.Close()
		leaked := bytes.Contains(rec.captured(), []byte("\x00app\x00"+password))
		if leaked == useTLS {
			t.Fatalf("TLS %v: password in the capture = %v", useTLS, leaked)
		}
	}
}
