package server

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ringdb/ringdb/internal/config"
	"github.com/ringdb/ringdb/internal/testcert"
)

// handshakeWith runs a TLS handshake between a server using srv and a
// client using cli over an in-memory pipe, returning the client's error.
func handshakeWith(t *testing.T, srv, cli *tls.Config) error {
	t.Helper()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	deadline := time.Now().Add(10 * time.Second)
	_ = a.SetDeadline(deadline)
	_ = b.SetDeadline(deadline)
	srvErr := make(chan error, 1)
	go func() {
		s := tls.Server(a, srv)
		err := s.Handshake()
		if err == nil {
			// TLS 1.3 reports a refused client certificate only on the
			// client's first read: write a byte for it.
			_, err = s.Write([]byte{1})
		}
		srvErr <- err
		a.Close()
	}()
	c := tls.Client(b, cli)
	err := c.Handshake()
	if err == nil {
		_, err = c.Read(make([]byte, 1))
	}
	<-srvErr
	return err
}

func clientConfig(t *testing.T, f testcert.Files, withCert bool) *tls.Config {
	t.Helper()
	pemBytes, err := os.ReadFile(f.CA)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemBytes)
	cfg := &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
	if withCert {
		cert, err := tls.LoadX509KeyPair(f.ClientCert, f.ClientKey)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg
}

func TestClientTLSConfigVersionsAndSuites(t *testing.T) {
	f := testcert.Write(t, t.TempDir(), "native CA", "127.0.0.1")
	srv, err := ClientTLSConfig(config.ClientEncryption{Enabled: true, Certificate: f.ServerCert, PrivateKey: f.ServerKey})
	if err != nil {
		t.Fatal(err)
	}
	if err := handshakeWith(t, srv, clientConfig(t, f, false)); err != nil {
		t.Fatalf("TLS 1.3 client: %v", err)
	}
	tls12 := clientConfig(t, f, false)
	tls12.MaxVersion = tls.VersionTLS12
	if err := handshakeWith(t, srv, tls12); err != nil {
		t.Fatalf("TLS 1.2 client: %v", err)
	}
	old := clientConfig(t, f, false)
	old.MinVersion, old.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
	if err := handshakeWith(t, srv, old); err == nil {
		t.Fatal("a TLS 1.1 client was accepted")
	}
	cbc := clientConfig(t, f, false)
	cbc.MaxVersion = tls.VersionTLS12
	cbc.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA}
	if err := handshakeWith(t, srv, cbc); err == nil {
		t.Fatal("a CBC-only TLS 1.2 client was accepted")
	}
}

func TestClientTLSConfigClientAuth(t *testing.T) {
	f := testcert.Write(t, t.TempDir(), "native CA", "127.0.0.1")
	srv, err := ClientTLSConfig(config.ClientEncryption{Enabled: true, Certificate: f.ServerCert, PrivateKey: f.ServerKey,
		RequireClientAuth: true, Truststore: f.CA})
	if err != nil {
		t.Fatal(err)
	}
	if err := handshakeWith(t, srv, clientConfig(t, f, false)); err == nil {
		t.Fatal("a client without a certificate was accepted")
	}
	other := testcert.Write(t, t.TempDir(), "someone else's CA", "127.0.0.1")
	foreign := clientConfig(t, f, false)
	cert, err := tls.LoadX509KeyPair(other.ClientCert, other.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	foreign.Certificates = []tls.Certificate{cert}
	if err := handshakeWith(t, srv, foreign); err == nil {
		t.Fatal("a client certificate from a foreign CA was accepted")
	}
	if err := handshakeWith(t, srv, clientConfig(t, f, true)); err != nil {
		t.Fatalf("client with a certificate: %v", err)
	}
}

func TestClientTLSConfigKeystoreAndErrors(t *testing.T) {
	f := testcert.Write(t, t.TempDir(), "native CA", "127.0.0.1")
	cert, _ := os.ReadFile(f.ServerCert)
	key, _ := os.ReadFile(f.ServerKey)
	ks := filepath.Join(t.TempDir(), "keystore.pem")
	if err := os.WriteFile(ks, append(key, cert...), 0o600); err != nil {
		t.Fatal(err)
	}
	srv, err := ClientTLSConfig(config.ClientEncryption{Enabled: true, Keystore: ks})
	if err != nil {
		t.Fatal(err)
	}
	if err := handshakeWith(t, srv, clientConfig(t, f, false)); err != nil {
		t.Fatalf("keystore: %v", err)
	}
	if c, err := ClientTLSConfig(config.ClientEncryption{}); c != nil || err != nil {
		t.Fatalf("disabled: %v %v", c, err)
	}
	_, err = ClientTLSConfig(config.ClientEncryption{Enabled: true, Certificate: f.ServerCert, PrivateKey: f.ClientKey})
	if err == nil || !strings.Contains(err.Error(), "client_encryption_options") {
		t.Fatalf("mismatched key: %v", err)
	}
	_, err = ClientTLSConfig(config.ClientEncryption{Enabled: true, Keystore: ks, Truststore: f.ServerKey})
	if err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Fatalf("truststore of a key: %v", err)
	}
}
