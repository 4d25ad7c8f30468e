package messaging

import (
	"context"
	"crypto/tls"
	"github.com/ringdb/ringdb/internal/testnet"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

const testJoinProto = "join/1"

// joinRecorder is an Options.Join that records what each join connection
// sent (up to 64 bytes or the deadline), answers "J" and fails.
type joinRecorder struct {
	mu   sync.Mutex
	got  []string
	done chan struct{} // one value per finished call
}

func (j *joinRecorder) join(_ context.Context, c net.Conn, remote netip.AddrPort) error {
	defer func() { j.done <- struct{}{} }()
	buf := make([]byte, 64)
	n, err := io.ReadAtLeast(c, buf, 1)
	j.mu.Lock()
	j.got = append(j.got, remote.Addr().String()+":"+string(buf[:n]))
	j.mu.Unlock()
	if err != nil {
		return err
	}
	c.Write([]byte("J"))
	return io.ErrUnexpectedEOF // "not a join request"
}

func (j *joinRecorder) wait(t *testing.T) {
	t.Helper()
	select {
	case <-j.done:
	case <-time.After(10 * time.Second):
		t.Fatal("join handler did not return")
	}
}

// joinTLS is the acceptor's join configuration: its leaf and the CA, no
// client certificate, the join protocol only.
func joinTLS(ca *testCA, cert tls.Certificate) *tls.Config {
	chain := cert
	chain.Certificate = append(append([][]byte(nil), cert.Certificate...), ca.cert.Raw)
	return &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{chain},
		ClientAuth: tls.NoClientCert, NextProtos: []string{testJoinProto}}
}

// joinClient is a client without a certificate offering protos.
func joinClient(protos ...string) *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS13, InsecureSkipVerify: true, NextProtos: protos}
}

func newJoinNode(t *testing.T, ca *testCA, ip string, port int, j *joinRecorder, edit func(*Options)) *testNode {
	t.Helper()
	cert := ca.leaf(t, ip, testCluster)
	return newTestNode(t, ca, ip, port, func(o *Options) {
		o.ServerTLS = serverConfig(ca, cert)
		o.ClientTLS = clientConfig(ca, cert)
		o.JoinTLS = joinTLS(ca, cert)
		o.Join = j.join
		if edit != nil {
			edit(o)
		}
	})
}

// TestJoinConnections: with Options.Join set, a client without a
// certificate is still refused at TLS unless it offers the join protocol;
// with it, it reaches Options.Join and nothing else — no ringdb handshake,
// no verb, no peer slot — and is closed when Join returns.
func TestJoinConnections(t *testing.T) {
	ca := newTestCA(t, testCluster)
	port := testnet.FreePort(t)
	j := &joinRecorder{done: make(chan struct{}, 16)}
	verbs := make(chan received, 16)
	a := echoNode(newJoinNode(t, ca, "127.0.0.1", port, j, nil), verbs).start(t)
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

	t.Run("no certificate, no join protocol", func(t *testing.T) {
		for _, protos := range [][]string{nil, {"h2", "http/1.1"}} {
			tc := tls.Client(tcpFrom(t, "127.0.0.4", a.addr, port), joinClient(protos...))
			tc.SetDeadline(time.Now().Add(5 * time.Second))
			tc.Handshake() // TLS 1.3: the server's refusal shows on the first read
			tc.Write(helloBytes(testCluster, "127.0.0.4"))
			got, err := readAllBounded(tc)
			if len(got) != 0 || err == nil {
				t.Fatalf("protocols %q: got %q, err %v", protos, got, err)
			}
			a.refusals.waitFor(t, "127.0.0.4", "tls handshake")
		}
		if st := a.Stats(); st.JoinExchanges != 0 {
			t.Fatalf("%d join exchanges", st.JoinExchanges)
		}
		validPeerWorks(t)
	})

	t.Run("join protocol: only the join exchange", func(t *testing.T) {
		tc := tlsFrom(t, "127.0.0.5", a.addr, port, joinClient("h2", testJoinProto))
		if p := tc.ConnectionState().NegotiatedProtocol; p != testJoinProto {
			t.Fatalf("negotiated %q", p)
		}
		if n := len(tc.ConnectionState().PeerCertificates); n != 2 {
			t.Fatalf("the join configuration presented %d certificates, want leaf and CA", n)
		}
		// It tries to become a peer: the hello goes to Join, which refuses
		// it; no accept, no frame is ever read.
		tc.Write(helloBytes(testCluster, "127.0.0.5"))
		tc.Write(appendFrameHeader(nil, frameHeader{length: 2, verb: VerbMutation, kind: kindOneWay}))
		tc.Write([]byte("hi"))
		got, _ := readAllBounded(tc)
		if string(got) != "J" {
			t.Fatalf("join client got %q, want only the join handler's answer", got)
		}
		j.wait(t)
		j.mu.Lock()
		seen := strings.Join(j.got, "|")
		j.mu.Unlock()
		if !strings.HasPrefix(seen, "127.0.0.5:RNGD") {
			t.Fatalf("join handler saw %q", seen)
		}
		a.refusals.waitFor(t, "127.0.0.5", "join exchange")
		select {
		case r := <-verbs:
			t.Fatalf("a join connection reached a verb handler: %+v", r)
		default:
		}
		st := a.Stats()
		if st.JoinExchanges != 1 || st.JoinFailures != 1 {
			t.Fatalf("join stats %+v", st)
		}
		if st.Peers != 1 { // only 127.0.0.2
			t.Fatalf("%d peers hold slots, want 1 (the valid peer)", st.Peers)
		}
		validPeerWorks(t)
	})

	t.Run("a certificate does not make a join connection a peer", func(t *testing.T) {
		cfg := forceCert(clientConfig(ca, ca.leaf(t, "127.0.0.6", testCluster)))
		cfg.NextProtos = []string{testJoinProto}
		tc := tlsFrom(t, "127.0.0.6", a.addr, port, cfg)
		tc.Write(helloBytes(testCluster, "127.0.0.6"))
		if got, _ := readAllBounded(tc); string(got) != "J" {
			t.Fatalf("got %q", got)
		}
		j.wait(t)
		if st := a.Stats(); st.Peers != 1 {
			t.Fatalf("%d peers", st.Peers)
		}
	})
}

// Join connections stay in the handshake budget and under HandshakeTimeout
// for as long as they last.
func TestJoinConnectionsBudgeted(t *testing.T) {
	ca := newTestCA(t, testCluster)
	port := testnet.FreePort(t)
	j := &joinRecorder{done: make(chan struct{}, 16)}
	a := newJoinNode(t, ca, "127.0.0.1", port, j, func(o *Options) {
		o.MaxHandshakesPerSource = 2
		o.HandshakeTimeout = time.Second
	}).start(t)
	// Two silent joiners from one source fill its handshake budget.
	for range 2 {
		tlsFrom(t, "127.0.0.7", a.addr, port, joinClient(testJoinProto))
	}
	deadline := time.Now().Add(5 * time.Second)
	for a.Stats().JoinExchanges < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("join handlers not reached: %+v", a.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st := a.Stats(); st.Handshaking != 2 || st.Authenticated != 0 {
		t.Fatalf("while joining: %+v", st)
	}
	// A third connection from that source is closed before TLS.
	c := tcpFrom(t, "127.0.0.7", a.addr, port)
	if got, _ := readAllBounded(c); len(got) != 0 {
		t.Fatalf("got %q", got)
	}
	if st := a.Stats(); st.RefusedMaxHandshakesPerSource != 1 {
		t.Fatalf("stats %+v", st)
	}
	// The silent joiners are cut at HandshakeTimeout.
	j.wait(t)
	j.wait(t)
	for a.Stats().Handshaking != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("join connections still in the handshake budget: %+v", a.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Without Options.Join, the join protocol is refused like any client
// without a certificate.
func TestJoinProtocolOffWithoutJoin(t *testing.T) {
	ca := newTestCA(t, testCluster)
	port := testnet.FreePort(t)
	a := newTestNode(t, ca, "127.0.0.1", port, nil).start(t)
	tc := tls.Client(tcpFrom(t, "127.0.0.8", a.addr, port), joinClient(testJoinProto))
	tc.SetDeadline(time.Now().Add(5 * time.Second))
	tc.Handshake()
	if got, err := readAllBounded(tc); len(got) != 0 || err == nil {
		t.Fatalf("got %q, %v", got, err)
	}
	a.refusals.waitFor(t, "127.0.0.8", "tls handshake")
}

func TestJoinOptionsValidated(t *testing.T) {
	ca := newTestCA(t, testCluster)
	cert := ca.leaf(t, "127.0.0.1", testCluster)
	j := &joinRecorder{}
	base := func() Options {
		return Options{Self: netip.MustParseAddr("127.0.0.1"), ClusterID: testCluster, ServerTLS: serverConfig(ca, cert),
			ClientTLS: clientConfig(ca, cert), PeerAddress: testPeerAddress}
	}
	for name, edit := range map[string]func(*Options){
		"join without config": func(o *Options) { o.Join = j.join },
		"config without join": func(o *Options) { o.JoinTLS = joinTLS(ca, cert) },
		"client certificates": func(o *Options) {
			o.Join, o.JoinTLS = j.join, joinTLS(ca, cert)
			o.JoinTLS.ClientAuth = tls.RequireAnyClientCert
		},
		"two protocols": func(o *Options) {
			o.Join, o.JoinTLS = j.join, joinTLS(ca, cert)
			o.JoinTLS.NextProtos = []string{"a", "b"}
		},
	} {
		o := base()
		edit(&o)
		if _, err := New(o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
