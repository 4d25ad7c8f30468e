package server

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"

	"github.com/ringdb/ringdb/internal/config"
)

// clientCipherSuites are the TLS 1.2 suites the native port offers: ECDHE
// key exchange with an AEAD cipher only (TLS 1.3's suites are fixed by
// crypto/tls and all modern).
var clientCipherSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// ClientTLSConfig builds the native port's TLS configuration from
// client_encryption_options: TLS 1.2 or newer with the suites above, the
// node's certificate from keystore (key and chain in one PEM file) or
// certificate + private_key, and, with require_client_auth, client
// certificates verified against truststore. It returns nil when client
// encryption is off.
func ClientTLSConfig(e config.ClientEncryption) (*tls.Config, error) {
	if !e.Enabled {
		return nil, nil
	}
	certFile, keyFile := e.Certificate, e.PrivateKey
	if e.Keystore != "" {
		certFile, keyFile = e.Keystore, e.Keystore
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("client_encryption_options: load certificate %s and key %s: %w", certFile, keyFile, err)
	}
	cfg := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		CipherSuites: clientCipherSuites,
		Certificates: []tls.Certificate{cert},
	}
	if e.Truststore != "" {
		pemBytes, err := os.ReadFile(e.Truststore)
		if err != nil {
			return nil, fmt.Errorf("client_encryption_options.truststore: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemBytes) {
			return nil, fmt.Errorf("client_encryption_options.truststore: %s holds no PEM certificate", e.Truststore)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
	}
	if e.RequireClientAuth {
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}
