package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func loadYAML(t *testing.T, text string) (Config, error) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ringdb.yaml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	var c Config
	if err := c.LoadFile(p); err != nil {
		return c, err
	}
	c.EnsureDefaults()
	return c, c.Validate()
}

func TestClientEncryptionOptions(t *testing.T) {
	c, err := loadYAML(t, `
client_encryption_options:
  enabled: true
  certificate: /etc/ringdb/node.pem
  private_key: /etc/ringdb/node.key
  require_client_auth: true
  truststore: /etc/ringdb/clients-ca.pem
native_transport_max_request_data_in_flight: 64MiB
`)
	if err != nil {
		t.Fatal(err)
	}
	e := c.ClientEncryption
	if !e.Enabled || e.Optional || !e.RequireClientAuth || e.Certificate != "/etc/ringdb/node.pem" || e.Truststore != "/etc/ringdb/clients-ca.pem" || !e.TLSRequired() {
		t.Fatalf("parsed %+v", e)
	}
	if c.MaxRequestDataInFlight == nil || *c.MaxRequestDataInFlight != 64<<20 {
		t.Fatalf("in flight = %v", c.MaxRequestDataInFlight)
	}
}

func TestClientEncryptionRefusals(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"client_encryption_options: {enabled: true}", "enabled needs keystore"},
		{"client_encryption_options: {enabled: true, keystore: k.pem, certificate: c.pem}", "not both"},
		{"client_encryption_options: {enabled: true, keystore: k.pem, require_client_auth: true}", "needs truststore"},
		{"client_encryption_options: {certificate: c.pem, private_key: k.pem}", "enabled is false"},
		{"rpc_address: 8.8.8.8", "public address and client TLS is not required"},
		{"rpc_address: 8.8.8.8\nclient_encryption_options: {enabled: true, optional: true, keystore: k.pem}", "public address"},
		{"native_transport_max_request_data_in_flight: 1KiB", "at least 1MiB"},
		{"native_transport_max_request_data_in_flight: lots", "is not a size"},
	} {
		_, err := loadYAML(t, tc.yaml)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.yaml, err, tc.want)
		}
	}
}

func TestPublicRPCAddress(t *testing.T) {
	// With TLS required, or with the override, a public native address
	// passes (the listen address stays loopback here).
	for _, y := range []string{
		"rpc_address: 8.8.8.8\nclient_encryption_options: {enabled: true, keystore: k.pem}",
		"rpc_address: 8.8.8.8\nallow_public_rpc_address_without_tls: true",
	} {
		if _, err := loadYAML(t, y); err != nil && strings.Contains(err.Error(), "rpc_address") {
			t.Errorf("%s: %v", y, err)
		}
	}
	if _, err := loadYAML(t, "rpc_address: 10.1.2.3"); err != nil && strings.Contains(err.Error(), "rpc_address") {
		t.Errorf("private rpc_address refused: %v", err)
	}
}

func TestParseByteSize(t *testing.T) {
	for in, want := range map[string]int64{"1048576": 1 << 20, "64KiB": 64 << 10, "2 MiB": 2 << 20, "1GiB": 1 << 30, "10B": 10} {
		if got, err := ParseByteSize(in); err != nil || got != want {
			t.Errorf("%q: %d, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "-1", "1TB", "9999999999GiB", "MiB"} {
		if _, err := ParseByteSize(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}
