package exposure

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"errors"
	"io"
	"math/big"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringdb/ringdb/internal/protocol/frame"
)

// fakeServer is a listener built in a test; it counts the connections it
// accepted and runs handle on each. Cleanup closes it and waits for every
// handler.
type fakeServer struct {
	ln      net.Listener
	accepts atomic.Int32
	wg      sync.WaitGroup
	done    chan struct{}
}

func listenFake(t *testing.T, addr string, port int, handle func(net.Conn)) *fakeServer {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(addr, strconv.Itoa(port)))
	if err != nil {
		t.Fatalf("listen %s:%d: %v", addr, port, err)
	}
	f := &fakeServer{ln: ln, done: make(chan struct{})}
	var conns sync.Map
	f.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f.accepts.Add(1)
			conns.Store(c, struct{}{})
			f.wg.Go(func() {
				defer conns.Delete(c)
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				handle(c)
			})
		}
	})
	t.Cleanup(func() {
		close(f.done)
		ln.Close()
		conns.Range(func(k, _ any) bool { k.(net.Conn).Close(); return true })
		f.wg.Wait()
	})
	return f
}

// silent holds the connection open without a byte until the client goes.
func silent(c net.Conn) { _, _ = io.Copy(io.Discard, c) }

// banner writes a plaintext greeting and closes.
func banner(c net.Conn) { _, _ = c.Write([]byte("hello from a plaintext service\r\n")) }

// fakeCassandra answers Cassandra 4.0's internode Initiate with Accept.
func fakeCassandra(c net.Conn) {
	var hdr [8]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil || binary.BigEndian.Uint32(hdr[:]) != cassandraMagic {
		return
	}
	flags := binary.BigEndian.Uint32(hdr[4:])
	if (flags>>8)&0xff >= messagingVersion40 {
		var n [1]byte
		if _, err := io.ReadFull(c, n[:]); err != nil {
			return
		}
		rest := make([]byte, int(n[0])+2+4) // address, port, CRC
		if _, err := io.ReadFull(c, rest); err != nil {
			return
		}
	}
	reply := binary.BigEndian.AppendUint32(nil, messagingVersion40)
	reply = binary.BigEndian.AppendUint32(reply, messagingVersion40)
	reply = binary.BigEndian.AppendUint32(reply, cassandraCRC(reply))
	_, _ = c.Write(reply)
	silent(c)
}

// fakeRMI answers the JRMP header with ProtocolAck and the client's
// endpoint, as a JMX port does; anything else is hung up on.
func fakeRMI(c net.Conn) {
	var hdr [7]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil || string(hdr[:4]) != "JRMI" {
		return
	}
	host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
	reply := []byte{rmiProtocolAck}
	reply = binary.BigEndian.AppendUint16(reply, uint16(len(host)))
	reply = append(reply, host...)
	reply = binary.BigEndian.AppendUint32(reply, 40000)
	_, _ = c.Write(reply)
	silent(c)
}

// fakeHTTP answers every request with status and body.
func fakeHTTP(status int, body string) func(net.Conn) {
	return func(c net.Conn) {
		buf := make([]byte, 4096)
		_, _ = c.Read(buf)
		_, _ = c.Write([]byte("HTTP/1.1 " + strconv.Itoa(status) + " X\r\nContent-Length: " + strconv.Itoa(len(body)) +
			"\r\nConnection: close\r\n\r\n" + body))
	}
}

// fakeCQL is a v4-only CQL server: SUPPORTED, READY (auth false) or
// AUTHENTICATE, AUTH_SUCCESS for cassandra/cassandra when acceptDefault,
// and one row for any QUERY.
// With holdLogin, an AUTH_RESPONSE is never answered (as a node that
// throttles logins past the client's timeout): the connection is held
// until the client goes.
type fakeCQL struct {
	auth, acceptDefault bool
	holdLogin           bool
	logins              atomic.Int32
}

func (f *fakeCQL) serve(c net.Conn) {
	for {
		h, body, err := frame.ReadFrame(c, 1<<16, nil)
		var uv *frame.UnsupportedVersionError
		if errors.As(err, &uv) {
			_, _ = c.Write(frame.EncodeUnsupportedVersion(nil, uv.Version, 0))
			return
		}
		if err != nil {
			return
		}
		if h.Opcode == frame.OpAuthResponse && f.holdLogin {
			f.logins.Add(1)
			silent(c)
			return
		}
		if _, err := c.Write(f.answer(h, body)); err != nil {
			return
		}
	}
}

func (f *fakeCQL) answer(h frame.Header, body []byte) []byte {
	start := 0
	var out []byte
	switch h.Opcode {
	case frame.OpOptions:
		out = frame.AppendFrameHeader(out, 0, h.Stream, frame.OpSupported)
		out = frame.AppendSupported(out, map[string][]string{"CQL_VERSION": {"3.4.5"}, "COMPRESSION": {"lz4", "snappy"}, "PROTOCOL_VERSIONS": {"4/v4"}})
	case frame.OpStartup:
		if !f.auth {
			return frame.AppendReadyFrame(nil, h.Stream)
		}
		out = frame.AppendFrameHeader(out, 0, h.Stream, frame.OpAuthenticate)
		out = frame.AppendAuthenticate(out, "org.apache.cassandra.auth.PasswordAuthenticator")
	case frame.OpAuthResponse:
		f.logins.Add(1)
		tok, _ := frame.DecodeAuthResponse(body)
		if f.acceptDefault && string(tok) == "\x00cassandra\x00cassandra" {
			out = frame.AppendFrameHeader(out, 0, h.Stream, frame.OpAuthSuccess)
			out = frame.AppendAuthSuccess(out, nil)
		} else {
			return frame.AppendErrorFrame(nil, h.Stream, &frame.ErrorResponse{Code: frame.CodeBadCredentials, Message: "Provided username cassandra and/or password are incorrect"})
		}
	case frame.OpQuery:
		out = frame.AppendFrameHeader(out, 0, h.Stream, frame.OpResult)
		out = appendLocalRow(out, "4.0.11", "Test Cluster")
	default:
		return frame.AppendErrorFrame(nil, h.Stream, &frame.ErrorResponse{Code: frame.CodeProtocolError, Message: "unexpected"})
	}
	return frame.FinishFrame(out, start)
}

// appendLocalRow appends a Rows result of system.local with one row.
func appendLocalRow(dst []byte, release, cluster string) []byte {
	dst = frame.AppendInt(dst, resultRows)
	dst = frame.AppendInt(dst, rowsGlobalSpec)
	dst = frame.AppendInt(dst, 2)
	dst = frame.AppendString(dst, "system")
	dst = frame.AppendString(dst, "local")
	for _, name := range []string{"release_version", "cluster_name"} {
		dst = frame.AppendString(dst, name)
		dst = frame.AppendShort(dst, 0x000D)
	}
	dst = frame.AppendInt(dst, 1)
	dst = frame.AppendBytes(dst, []byte(release))
	return frame.AppendBytes(dst, []byte(cluster))
}

// testPKI is a CA and a server certificate with fixed names and dates.
type testPKI struct {
	caPool *x509.CertPool
	server tls.Certificate
}

var (
	certNotBefore = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	certNotAfter  = time.Date(2031, 6, 30, 0, 0, 0, 0, time.UTC)
	testNow       = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
)

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Acme Test CA", Organization: []string{"Acme"}},
		NotBefore: certNotBefore, NotAfter: certNotAfter, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "cass-node-1", Organization: []string{"Acme"}},
		NotBefore: certNotBefore, NotAfter: certNotAfter, DNSNames: []string{"cass-node-1.prod.example"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.76")},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return &testPKI{caPool: pool, server: tls.Certificate{Certificate: [][]byte{der, caDER}, PrivateKey: key}}
}

// tlsFake wraps handle in a TLS 1.3 server with clientAuth.
func (p *testPKI) tlsFake(clientAuth tls.ClientAuthType, handle func(net.Conn)) func(net.Conn) {
	return p.tlsFakeVersion(clientAuth, tls.VersionTLS13, handle)
}

// tlsFakeVersion wraps handle in a TLS server with clientAuth that speaks
// only TLS version v: with TLS 1.2 a refused client certificate fails the
// client's handshake, with TLS 1.3 only the first read after it.
func (p *testPKI) tlsFakeVersion(clientAuth tls.ClientAuthType, v uint16, handle func(net.Conn)) func(net.Conn) {
	cfg := &tls.Config{Certificates: []tls.Certificate{p.server}, ClientAuth: clientAuth, ClientCAs: p.caPool, MinVersion: v, MaxVersion: v}
	return func(c net.Conn) {
		tc := tls.Server(c, cfg)
		if err := tc.Handshake(); err != nil {
			return
		}
		handle(tc)
	}
}

// tlsOptionalFake is a native port with TLS optional, as ringdb's with
// --client-tls --client-tls-optional: a connection whose first byte is a
// TLS handshake record gets the TLS server of tlsFake, any other is
// handled in cleartext.
func (p *testPKI) tlsOptionalFake(clientAuth tls.ClientAuthType, handle func(net.Conn)) func(net.Conn) {
	secure := p.tlsFake(clientAuth, handle)
	return func(c net.Conn) {
		br := bufio.NewReader(c)
		first, err := br.Peek(1)
		if err != nil {
			return
		}
		pc := &peekedConn{Conn: c, r: br}
		if first[0] == 0x16 {
			secure(pc)
			return
		}
		handle(pc)
	}
}

// peekedConn reads first what its bufio.Reader already buffered.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (p *peekedConn) Read(b []byte) (int, error) { return p.r.Read(b) }
