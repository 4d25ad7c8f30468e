// Package config holds the node configuration: command-line flags and a YAML
// file using cassandra.yaml key names, their documented defaults, and
// validation that reports every problem at once.
//
// The package never opens sockets or files other than the YAML file it is
// asked to read.
package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the whole node configuration. Each field names its
// cassandra.yaml key (where one exists) and its default.
type Config struct {
	// ClusterName is cassandra.yaml cluster_name. Default "Test Cluster".
	ClusterName string `yaml:"cluster_name"`
	// DataDir is where the node keeps its data (first entry of
	// data_file_directories; ringdb keeps everything under one directory).
	// Default "./ringdb-data".
	DataDir string `yaml:"data_dir"`
	// DataFileDirectories is accepted for compatibility; its first entry
	// overrides DataDir when DataDir is not set explicitly.
	DataFileDirectories []string `yaml:"data_file_directories"`
	// ListenAddress is listen_address, the internode address. Default 127.0.0.1.
	ListenAddress string `yaml:"listen_address"`
	// StoragePort is storage_port (internode, mTLS only). Default 7000.
	StoragePort int `yaml:"storage_port"`
	// NativeAddress is rpc_address, the CQL native protocol address.
	// Default 127.0.0.1.
	NativeAddress string `yaml:"rpc_address"`
	// NativePort is native_transport_port. Default 9042.
	NativePort int `yaml:"native_transport_port"`
	// AdminAddress is the admin endpoint (JMX 7199 equivalent), host:port.
	// Default <listen_address>:7199 when the listen address is a loopback
	// one, else 127.0.0.1:7199; it must be a loopback address.
	AdminAddress string `yaml:"admin_address"`
	// Seeds is the seed list (seed_provider parameters "seeds"). Default none.
	Seeds []string `yaml:"seeds"`
	// DC is the node's data center. Default "datacenter1".
	DC string `yaml:"dc"`
	// Rack is the node's rack. Default "rack1".
	Rack string `yaml:"rack"`
	// NumTokens is num_tokens (vnodes). Default 16.
	NumTokens int `yaml:"num_tokens"`
	// CertsDir holds ca.crt, node.crt and node.key for internode TLS.
	// Default <data_dir>/certs.
	CertsDir string `yaml:"certs_dir"`
	// JoinToken is a one-time token (`ringdb nodetool join-token create` on
	// a member holding the CA) with which a node whose certificates
	// directory is empty obtains its node certificate from that member at
	// first start. Ignored once the node has a certificate. Default none.
	JoinToken string `yaml:"join_token"`
	// CADir is ca_dir (ringdb only): a directory holding the cluster CA
	// (ca.key, ca.crt, issued.jsonl). A member started with it issues join
	// tokens and certifies the nodes that redeem them; its CA key is then
	// on this machine (docs/decisions/011). Default none: the node cannot
	// issue, and certificates are issued offline with `ringdb cert node`.
	CADir string `yaml:"ca_dir"`
	// CommitlogSync is commitlog_sync: "periodic" (default) or "batch".
	CommitlogSync string `yaml:"commitlog_sync"`
	// CommitlogSyncPeriod is commitlog_sync_period; default 10s.
	CommitlogSyncPeriod time.Duration `yaml:"commitlog_sync_period"`
	// Authenticator is authenticator: "PasswordAuthenticator" (default) or
	// "AllowAllAuthenticator" (development only, logged as insecure).
	Authenticator string `yaml:"authenticator"`
	// Authorizer is authorizer: "CassandraAuthorizer" (default: roles need
	// permissions granted with GRANT) or "AllowAllAuthorizer" (every
	// logged-in role may do anything with data; logged as insecure). With
	// AllowAllAuthenticator it is AllowAllAuthorizer in effect.
	Authorizer string `yaml:"authorizer"`
	// MaxFrameSize is native_transport_max_frame_size in bytes. Default 16 MiB.
	MaxFrameSize int `yaml:"native_transport_max_frame_size"`
	// MaxRequestsPerConnection bounds in-flight requests per client
	// connection. Default 1024.
	MaxRequestsPerConnection int `yaml:"native_transport_max_requests_per_connection"`
	// MaxConnections bounds concurrent native connections
	// (native_transport_max_concurrent_connections). Default 1024.
	MaxConnections int `yaml:"native_transport_max_concurrent_connections"`
	// WriteTimeout is write_request_timeout. Default 2s.
	WriteTimeout time.Duration `yaml:"write_request_timeout"`
	// ReadTimeout is read_request_timeout. Default 5s.
	ReadTimeout time.Duration `yaml:"read_request_timeout"`
	// RangeTimeout is range_request_timeout. Default 10s.
	RangeTimeout time.Duration `yaml:"range_request_timeout"`
	// LogLevel is debug, info (default), warn or error.
	LogLevel string `yaml:"log_level"`
	// HintedHandoffEnabled is hinted_handoff_enabled. Default true.
	HintedHandoffEnabled *bool `yaml:"hinted_handoff_enabled"`
	// MaxHintWindow is max_hint_window: no hints are stored for a node down
	// longer than this. Default 3h.
	MaxHintWindow time.Duration `yaml:"max_hint_window"`
	// AllowPublicListenAddress permits a public (globally routable)
	// listen_address. Default false: internode traffic belongs on a private
	// network even though it is mutually authenticated.
	AllowPublicListenAddress bool `yaml:"allow_public_listen_address"`
	// BatchSizeWarnThresholdKB is batch_size_warn_threshold_in_kb: a batch
	// over several partitions whose data exceeds it gets a client warning.
	// Default 5; -1 disables the warning.
	BatchSizeWarnThresholdKB int `yaml:"batch_size_warn_threshold_in_kb"`
	// BatchSizeFailThresholdKB is batch_size_fail_threshold_in_kb: such a
	// batch larger than this is refused. Default 50; -1 disables the check.
	BatchSizeFailThresholdKB int `yaml:"batch_size_fail_threshold_in_kb"`
	// CredentialsValidity is credentials_validity: how long a successful
	// login's role and password are remembered (as a keyed hash, in
	// memory) so that reconnecting clients log in without another
	// password-hash check; any change of a role ends it. Default 2s (nil);
	// 0 disables the cache.
	CredentialsValidity *time.Duration `yaml:"credentials_validity"`
	// MetadataClockSkew is metadata_clock_skew (ringdb only; Cassandra has
	// no such check): how far beyond this node's clock a timestamp in a
	// peer's schema or roles may be. A push or pull holding a later one is
	// refused whole and audited. Default 10m; the members' clocks must
	// agree within it.
	MetadataClockSkew time.Duration `yaml:"metadata_clock_skew"`
	// AutoBootstrap is auto_bootstrap: a node joining a cluster that holds
	// data streams the ranges it takes over before it announces NORMAL.
	// Default true; false is for the first nodes of a new cluster (the node
	// then owns its ranges at once, with no data for them).
	AutoBootstrap *bool `yaml:"auto_bootstrap"`
	// StreamThroughputOutbound is stream_throughput_outbound in MiB/s: the
	// bytes per second this node streams to all receivers together.
	// Written as a number or as "24MiB/s". Default 24; 0 means unthrottled.
	StreamThroughputOutbound *MiBPerSec `yaml:"stream_throughput_outbound"`
	// ReplaceAddress is replace_address_first_boot: on its first start
	// (no tokens saved yet), this node takes the tokens of the dead ring
	// member at this address and streams its data from the other replicas
	// before it announces NORMAL; the replaced node is then removed from
	// the ring. Ignored once the node has joined. Empty: no replacement.
	ReplaceAddress string `yaml:"replace_address_first_boot"`
	// ClientEncryption is client_encryption_options: TLS on the native
	// port. Default off.
	ClientEncryption ClientEncryption `yaml:"client_encryption_options"`
	// AllowPublicRPCAddressWithoutTLS permits a public rpc_address while
	// client TLS is off or optional (ringdb only). Default false: a public
	// native port must carry TLS, or passwords cross the network in clear.
	AllowPublicRPCAddressWithoutTLS bool `yaml:"allow_public_rpc_address_without_tls"`
	// MaxRequestDataInFlight is native_transport_max_request_data_in_flight:
	// the request bytes all client connections together may hold before
	// they are answered; readers wait while it is spent. Written as bytes
	// or as "128MiB". Default 128 MiB.
	MaxRequestDataInFlight *ByteSize `yaml:"native_transport_max_request_data_in_flight"`
}

// ClientEncryption is cassandra.yaml's client_encryption_options, with PEM
// files instead of Java keystores (Cassandra's PEM keystore form:
// keystore holds the key and certificate chain, or certificate and
// private_key name them apart; truststore holds CA certificates).
type ClientEncryption struct {
	// Enabled turns TLS on for the native port. Default false.
	Enabled bool `yaml:"enabled"`
	// Optional accepts both TLS and cleartext clients on the port (the
	// first byte tells them apart), for migrating clients. Default false.
	Optional bool `yaml:"optional"`
	// Keystore is a PEM file holding the private key and the certificate
	// chain (alternative to Certificate + PrivateKey).
	Keystore string `yaml:"keystore"`
	// Certificate is the PEM certificate chain presented to clients.
	Certificate string `yaml:"certificate"`
	// PrivateKey is the PEM private key of Certificate.
	PrivateKey string `yaml:"private_key"`
	// RequireClientAuth requires clients to present a certificate signed
	// by a CA in Truststore. Default false.
	RequireClientAuth bool `yaml:"require_client_auth"`
	// Truststore is a PEM file of CA certificates for client certificates.
	Truststore string `yaml:"truststore"`
}

// TLSRequired reports whether every client must use TLS.
func (e ClientEncryption) TLSRequired() bool { return e.Enabled && !e.Optional }

// ByteSize is a size in bytes, read from YAML as a number of bytes or with
// a unit: "128MiB", "64KiB", "1GiB" (Cassandra 4.1's data storage form;
// B, KiB, MiB, GiB).
type ByteSize int64

// UnmarshalYAML accepts 1048576, "1048576", "1024KiB" and "1MiB".
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseByteSize(n.Value)
	if err != nil {
		return err
	}
	*b = ByteSize(v)
	return nil
}

// ParseByteSize parses a byte size with an optional B/KiB/MiB/GiB unit.
func ParseByteSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.m
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("%q is not a size (bytes, or a number with B, KiB, MiB or GiB)", s)
	}
	return n * mult, nil
}

// MiBPerSec is a throughput in MiB/s, read from YAML as a number or as
// "NMiB/s" (Cassandra 4.1's form).
type MiBPerSec float64

// UnmarshalYAML accepts 24, 24.5, "24MiB/s" and "24 MiB/s".
func (m *MiBPerSec) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseMiBPerSec(n.Value)
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// ParseMiBPerSec parses a throughput written as a number of MiB/s or as
// "NMiB/s".
func ParseMiBPerSec(s string) (MiBPerSec, error) {
	t := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "MiB/s"))
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, fmt.Errorf("%q is not a throughput in MiB/s (e.g. 24 or \"24MiB/s\")", s)
	}
	return MiBPerSec(f), nil
}

// Bootstraps reports auto_bootstrap (default true).
func (c *Config) Bootstraps() bool { return c.AutoBootstrap == nil || *c.AutoBootstrap }

// StreamThroughputMiB is stream_throughput_outbound in MiB/s for the
// streaming service: the default 24 when unset, negative when 0
// (unthrottled).
func (c *Config) StreamThroughputMiB() float64 {
	switch {
	case c.StreamThroughputOutbound == nil:
		return 24
	case *c.StreamThroughputOutbound == 0:
		return -1
	}
	return float64(*c.StreamThroughputOutbound)
}

// BatchSizeWarnThreshold is batch_size_warn_threshold_in_kb in bytes
// (negative: disabled).
func (c *Config) BatchSizeWarnThreshold() int { return kib(c.BatchSizeWarnThresholdKB) }

// BatchSizeFailThreshold is batch_size_fail_threshold_in_kb in bytes
// (negative: disabled).
func (c *Config) BatchSizeFailThreshold() int { return kib(c.BatchSizeFailThresholdKB) }

func kib(n int) int {
	if n < 0 {
		return -1
	}
	return n << 10
}

// CredentialsCache is credentials_validity with its default (2s); 0
// means no cache.
func (c *Config) CredentialsCache() time.Duration {
	if c.CredentialsValidity == nil {
		return 2 * time.Second
	}
	return *c.CredentialsValidity
}

// HintsEnabled reports hinted_handoff_enabled (default true).
func (c *Config) HintsEnabled() bool { return c.HintedHandoffEnabled == nil || *c.HintedHandoffEnabled }

// Default returns a Config with every default filled in.
func Default() Config {
	var c Config
	c.EnsureDefaults()
	return c
}

// EnsureDefaults fills zero fields with their documented defaults.
func (c *Config) EnsureDefaults() {
	if c.ClusterName == "" {
		c.ClusterName = "Test Cluster"
	}
	if c.DataDir == "" {
		if len(c.DataFileDirectories) > 0 && c.DataFileDirectories[0] != "" {
			c.DataDir = c.DataFileDirectories[0]
		} else {
			c.DataDir = "./ringdb-data"
		}
	}
	if c.ListenAddress == "" {
		c.ListenAddress = "127.0.0.1"
	}
	if c.StoragePort == 0 {
		c.StoragePort = 7000
	}
	if c.NativeAddress == "" {
		c.NativeAddress = c.ListenAddress
	}
	if c.NativePort == 0 {
		c.NativePort = 9042
	}
	if c.AdminAddress == "" {
		// Beside the node on a loopback listen address (several nodes on
		// one host), else on 127.0.0.1 as Cassandra's local JMX: the admin
		// endpoint is never on a network address.
		host := "127.0.0.1"
		if a, err := netip.ParseAddr(c.ListenAddress); err == nil && a.IsLoopback() {
			host = c.ListenAddress
		}
		c.AdminAddress = net.JoinHostPort(host, "7199")
	}
	if c.DC == "" {
		c.DC = "datacenter1"
	}
	if c.Rack == "" {
		c.Rack = "rack1"
	}
	if c.NumTokens == 0 {
		c.NumTokens = 16
	}
	if c.CertsDir == "" {
		c.CertsDir = c.DataDir + "/certs"
	}
	if c.CommitlogSync == "" {
		c.CommitlogSync = "periodic"
	}
	if c.CommitlogSyncPeriod == 0 {
		c.CommitlogSyncPeriod = 10 * time.Second
	}
	if c.Authenticator == "" {
		c.Authenticator = "PasswordAuthenticator"
	}
	if c.Authorizer == "" {
		c.Authorizer = "CassandraAuthorizer"
	}
	if c.MaxFrameSize == 0 {
		c.MaxFrameSize = 16 << 20
	}
	if c.MaxRequestsPerConnection == 0 {
		c.MaxRequestsPerConnection = 1024
	}
	if c.MaxConnections == 0 {
		c.MaxConnections = 1024
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = 2 * time.Second
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = 5 * time.Second
	}
	if c.RangeTimeout == 0 {
		c.RangeTimeout = 10 * time.Second
	}
	if c.LogLevel == "" {
		c.LogLevel = "info"
	}
	if c.MaxHintWindow == 0 {
		c.MaxHintWindow = 3 * time.Hour
	}
	if c.BatchSizeWarnThresholdKB == 0 {
		c.BatchSizeWarnThresholdKB = 5
	}
	if c.BatchSizeFailThresholdKB == 0 {
		c.BatchSizeFailThresholdKB = 50
	}
	if c.MetadataClockSkew == 0 {
		c.MetadataClockSkew = 10 * time.Minute
	}
}

// LoadFile reads a YAML file (cassandra.yaml key names) on top of c.
// Unknown keys are an error so that typos do not pass silently.
func (c *Config) LoadFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: read %s: %w", path, err)
	}
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil {
		return fmt.Errorf("config: parse %s: %w", path, err)
	}
	return nil
}

// Validate checks the configuration and returns every problem found, each
// naming its key, joined into one error.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	listen, err := netip.ParseAddr(c.ListenAddress)
	if err != nil {
		bad("listen_address", "%q is not an IP address", c.ListenAddress)
	} else if listen.IsUnspecified() {
		bad("listen_address", "%s is the wildcard address; a node must listen on one specific address", c.ListenAddress)
	} else if isPublic(listen) && !c.AllowPublicListenAddress {
		bad("listen_address", "%s is a public address; keep the internode port on a private network (set allow_public_listen_address: true to override)", c.ListenAddress)
	}
	if native, err := netip.ParseAddr(c.NativeAddress); err != nil {
		bad("rpc_address", "%q is not an IP address", c.NativeAddress)
	} else if native.IsUnspecified() {
		bad("rpc_address", "%s is the wildcard address; give the specific address clients use", c.NativeAddress)
	} else if isPublic(native) && !c.ClientEncryption.TLSRequired() && !c.AllowPublicRPCAddressWithoutTLS {
		bad("rpc_address", "%s is a public address and client TLS is not required: clients' passwords would cross the network in clear; enable client_encryption_options (enabled: true, optional: false), or set allow_public_rpc_address_without_tls: true to override", c.NativeAddress)
	}
	c.validateClientEncryption(bad)
	if c.MaxRequestDataInFlight != nil && (*c.MaxRequestDataInFlight < 1<<20 || int64(*c.MaxRequestDataInFlight) < 2*int64(c.MaxFrameSize)) {
		bad("native_transport_max_request_data_in_flight", "%d bytes: must be at least 1MiB and twice native_transport_max_frame_size (%d)", *c.MaxRequestDataInFlight, c.MaxFrameSize)
	}
	for key, p := range map[string]int{"storage_port": c.StoragePort, "native_transport_port": c.NativePort} {
		if p <= 0 || p > 65535 {
			bad(key, "%d is not a valid port", p)
		}
	}
	if host, port, err := net.SplitHostPort(c.AdminAddress); err != nil {
		bad("admin_address", "%q is not host:port", c.AdminAddress)
	} else if a, err := netip.ParseAddr(host); err != nil || !a.IsLoopback() {
		bad("admin_address", "%q must be a loopback address (the admin endpoint is never exposed)", host)
	} else if port == "" {
		bad("admin_address", "missing port")
	}
	for _, s := range c.Seeds {
		if _, err := netip.ParseAddr(s); err != nil {
			bad("seeds", "%q is not an IP address", s)
		}
	}
	if c.ReplaceAddress != "" {
		if a, err := netip.ParseAddr(c.ReplaceAddress); err != nil {
			bad("replace_address_first_boot", "%q is not an IP address", c.ReplaceAddress)
		} else if c.ListenAddress == c.ReplaceAddress || a.String() == c.ListenAddress {
			bad("replace_address_first_boot", "%s is this node's own listen address: replacing a node at the same address is not supported yet; give the replacement another address", c.ReplaceAddress)
		}
	}
	if c.NumTokens < 1 || c.NumTokens > 256 {
		bad("num_tokens", "%d out of range 1..256", c.NumTokens)
	}
	for _, t := range []struct {
		key string
		v   int
	}{{"batch_size_warn_threshold_in_kb", c.BatchSizeWarnThresholdKB}, {"batch_size_fail_threshold_in_kb", c.BatchSizeFailThresholdKB}} {
		if t.v < -1 || t.v > 1<<20 {
			bad(t.key, "%d out of range (-1 to disable, or 1..%d KiB)", t.v, 1<<20)
		}
	}
	switch c.CommitlogSync {
	case "periodic", "batch":
	default:
		bad("commitlog_sync", "%q must be periodic or batch", c.CommitlogSync)
	}
	if c.CommitlogSyncPeriod <= 0 {
		bad("commitlog_sync_period", "must be positive")
	}
	if c.CredentialsValidity != nil && (*c.CredentialsValidity < 0 || *c.CredentialsValidity > 24*time.Hour) {
		bad("credentials_validity", "%s out of range 0..24h", *c.CredentialsValidity)
	}
	if c.MetadataClockSkew < time.Second || c.MetadataClockSkew > 24*time.Hour {
		bad("metadata_clock_skew", "%s out of range 1s..24h", c.MetadataClockSkew)
	}
	switch c.Authenticator {
	case "PasswordAuthenticator", "AllowAllAuthenticator":
	default:
		bad("authenticator", "%q must be PasswordAuthenticator or AllowAllAuthenticator", c.Authenticator)
	}
	switch c.Authorizer {
	case "CassandraAuthorizer", "AllowAllAuthorizer":
	default:
		bad("authorizer", "%q must be CassandraAuthorizer or AllowAllAuthorizer", c.Authorizer)
	}
	if c.MaxFrameSize < 64<<10 || c.MaxFrameSize > 256<<20 {
		bad("native_transport_max_frame_size", "%d out of range 64KiB..256MiB", c.MaxFrameSize)
	}
	if c.MaxRequestsPerConnection < 1 {
		bad("native_transport_max_requests_per_connection", "must be at least 1")
	}
	if c.MaxConnections < 1 {
		bad("native_transport_max_concurrent_connections", "must be at least 1")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("log_level", "%q must be debug, info, warn or error", c.LogLevel)
	}
	return errors.Join(errs...)
}

// validateClientEncryption checks client_encryption_options.
func (c *Config) validateClientEncryption(bad func(key, format string, args ...any)) {
	e := c.ClientEncryption
	const key = "client_encryption_options"
	if !e.Enabled {
		if e.Optional || e.RequireClientAuth || e.Keystore != "" || e.Certificate != "" || e.PrivateKey != "" || e.Truststore != "" {
			bad(key, "options are set but enabled is false: set enabled: true to use them")
		}
		return
	}
	switch {
	case e.Keystore != "" && (e.Certificate != "" || e.PrivateKey != ""):
		bad(key+".keystore", "give either keystore (key and certificate in one PEM file) or certificate and private_key, not both")
	case e.Keystore == "" && (e.Certificate == "" || e.PrivateKey == ""):
		bad(key, "enabled needs keystore (a PEM file with the key and certificate) or both certificate and private_key")
	}
	if e.RequireClientAuth && e.Truststore == "" {
		bad(key+".require_client_auth", "needs truststore: the PEM CA certificates that sign the clients' certificates")
	}
}

// IsPublic reports whether a is globally routable: an address that
// Validate refuses for listen_address and rpc_address without an override.
func IsPublic(a netip.Addr) bool { return isPublic(a) }

// notGlobal are the blocks of the IANA special-purpose address registries
// (RFC 6890 and its updates) that are not globally reachable, beyond those
// netip's predicates cover (loopback, private, link-local, multicast,
// unspecified).
var notGlobal = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // shared address space (carrier-grade NAT)
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation (TEST-NET-1)
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation (TEST-NET-2)
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation (TEST-NET-3)
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and the limited broadcast 255.255.255.255
	netip.MustParsePrefix("100::/64"),        // discard-only
	netip.MustParsePrefix("2001:2::/48"),     // benchmarking
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("3fff::/20"),       // documentation (RFC 9637)
}

// isPublic reports whether a is globally routable: not loopback, private
// (RFC 1918 / ULA), link-local, multicast, unspecified, or in a block that
// is not globally reachable (notGlobal: shared 100.64/10, documentation,
// benchmarking, reserved, broadcast).
func isPublic(a netip.Addr) bool {
	a = a.Unmap()
	if a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsMulticast() || a.IsUnspecified() {
		return false
	}
	for _, p := range notGlobal {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// NormalizeAuthenticator maps the short names accepted on the command line
// ("AllowAll", "Password") and Cassandra's fully qualified class names to
// the canonical names Validate accepts.
func NormalizeAuthenticator(s string) string {
	s = strings.TrimPrefix(s, "org.apache.cassandra.auth.")
	switch strings.ToLower(s) {
	case "allowall", "allowallauthenticator":
		return "AllowAllAuthenticator"
	case "password", "passwordauthenticator":
		return "PasswordAuthenticator"
	}
	return s
}

// NormalizeAuthorizer maps the short names accepted on the command line
// ("AllowAll", "Cassandra") and Cassandra's fully qualified class names to
// the canonical names Validate accepts.
func NormalizeAuthorizer(s string) string {
	s = strings.TrimPrefix(s, "org.apache.cassandra.auth.")
	switch strings.ToLower(s) {
	case "allowall", "allowallauthorizer":
		return "AllowAllAuthorizer"
	case "cassandra", "cassandraauthorizer":
		return "CassandraAuthorizer"
	}
	return s
}
