package main

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/ringdb/ringdb/internal/config"
	"github.com/ringdb/ringdb/internal/server"
)

func serverCmd() *cobra.Command {
	var (
		cfgFile       string
		seeds         string
		cpuProfile    string
		hints         bool
		autoBootstrap bool
		throughput    string
		cfg           config.Config
	)
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run a ringdb node",
		Long: `Run a ringdb node. With no flags it serves CQL on 127.0.0.1:9042 with data in ./ringdb-data,
password authentication on, and the superuser 'cassandra' whose random password is written to
<data-dir>/superuser.password on first start.`,
		RunE: func(cmd *cobra.Command, args []string) (err error) {
			// main prints the error as one "ringdb: ..." line on stderr and
			// exits with code 1; causes that span lines (YAML, config
			// validation) are flattened onto that line.
			defer func() {
				if err != nil {
					err = oneLineError{err}
				}
			}()
			final := config.Config{}
			if cfgFile != "" {
				if err := final.LoadFile(cfgFile); err != nil {
					return err
				}
			}
			// Flags given on the command line override the file.
			fl := cmd.Flags()
			set := func(name string, apply func()) {
				if fl.Changed(name) {
					apply()
				}
			}
			set("data-dir", func() { final.DataDir = cfg.DataDir })
			set("cluster-name", func() { final.ClusterName = cfg.ClusterName })
			set("listen-address", func() { final.ListenAddress = cfg.ListenAddress })
			set("storage-port", func() { final.StoragePort = cfg.StoragePort })
			set("native-address", func() { final.NativeAddress = cfg.NativeAddress })
			set("native-port", func() { final.NativePort = cfg.NativePort })
			set("admin-address", func() { final.AdminAddress = cfg.AdminAddress })
			set("dc", func() { final.DC = cfg.DC })
			set("rack", func() { final.Rack = cfg.Rack })
			set("num-tokens", func() { final.NumTokens = cfg.NumTokens })
			set("certs-dir", func() { final.CertsDir = cfg.CertsDir })
			set("join-token", func() { final.JoinToken = cfg.JoinToken })
			set("ca-dir", func() { final.CADir = cfg.CADir })
			set("commitlog-sync", func() { final.CommitlogSync = cfg.CommitlogSync })
			set("authenticator", func() { final.Authenticator = config.NormalizeAuthenticator(cfg.Authenticator) })
			set("authorizer", func() { final.Authorizer = cfg.Authorizer })
			set("log-level", func() { final.LogLevel = cfg.LogLevel })
			set("hinted-handoff-enabled", func() { final.HintedHandoffEnabled = &hints })
			set("auto-bootstrap", func() { final.AutoBootstrap = &autoBootstrap })
			set("replace-address", func() { final.ReplaceAddress = cfg.ReplaceAddress })
			ce, fce := &cfg.ClientEncryption, &final.ClientEncryption
			set("client-tls", func() { fce.Enabled = ce.Enabled })
			set("client-tls-optional", func() { fce.Optional = ce.Optional })
			set("client-tls-cert", func() { fce.Certificate, fce.Keystore = ce.Certificate, "" })
			set("client-tls-key", func() { fce.PrivateKey, fce.Keystore = ce.PrivateKey, "" })
			set("client-tls-ca", func() { fce.Truststore = ce.Truststore })
			set("client-tls-require-client-auth", func() { fce.RequireClientAuth = ce.RequireClientAuth })
			set("allow-public-rpc-address-without-tls", func() { final.AllowPublicRPCAddressWithoutTLS = cfg.AllowPublicRPCAddressWithoutTLS })
			if fl.Changed("stream-throughput-outbound") {
				v, err := config.ParseMiBPerSec(throughput)
				if err != nil {
					return fmt.Errorf("--stream-throughput-outbound: %w", err)
				}
				final.StreamThroughputOutbound = &v
			}
			set("seeds", func() {
				final.Seeds = nil
				for _, s := range strings.Split(seeds, ",") {
					if s = strings.TrimSpace(s); s != "" {
						final.Seeds = append(final.Seeds, s)
					}
				}
			})
			final.Authenticator = config.NormalizeAuthenticator(final.Authenticator)
			final.Authorizer = config.NormalizeAuthorizer(final.Authorizer)
			final.EnsureDefaults()
			var level slog.Level
			_ = level.UnmarshalText([]byte(final.LogLevel))
			log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
			if cpuProfile != "" {
				f, err := os.Create(cpuProfile)
				if err != nil {
					return err
				}
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
				defer func() {
					pprof.StopCPUProfile()
					f.Close()
				}()
			}
			node, err := server.Start(final, log)
			if err != nil {
				return err
			}
			sig := make(chan os.Signal, 1)
			signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
			select {
			case s := <-sig:
				log.Info("shutting down", "signal", s.String())
			case err := <-node.Done():
				if err != nil {
					log.Error("native transport stopped", "err", err)
				}
			}
			if err := node.Close(); err != nil {
				return fmt.Errorf("shutdown: %w", err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfgFile, "config", "", "YAML config file (cassandra.yaml key names)")
	f.StringVar(&cfg.DataDir, "data-dir", "./ringdb-data", "data directory")
	f.StringVar(&cfg.ClusterName, "cluster-name", "Test Cluster", "cluster name")
	f.StringVar(&cfg.ListenAddress, "listen-address", "127.0.0.1", "internode listen address")
	f.IntVar(&cfg.StoragePort, "storage-port", 7000, "internode port (mutual TLS only)")
	f.StringVar(&cfg.NativeAddress, "native-address", "", "CQL native protocol address (default: listen address)")
	f.IntVar(&cfg.NativePort, "native-port", 9042, "CQL native protocol port")
	f.StringVar(&cfg.AdminAddress, "admin-address", "", "admin endpoint host:port, loopback only (default: <listen-address>:7199)")
	f.StringVar(&seeds, "seeds", "", "comma-separated seed addresses")
	f.StringVar(&cfg.DC, "dc", "datacenter1", "data center name")
	f.StringVar(&cfg.Rack, "rack", "rack1", "rack name")
	f.IntVar(&cfg.NumTokens, "num-tokens", 16, "number of vnode tokens")
	f.StringVar(&cfg.CertsDir, "certs-dir", "", "internode certificates directory (default: <data-dir>/certs)")
	f.StringVar(&cfg.JoinToken, "join-token", "", "one-time token (nodetool join-token create on an issuing member): with an empty certs dir, obtain this node's certificate from that member")
	f.StringVar(&cfg.CADir, "ca-dir", "", "cluster CA directory (ca.key, ca.crt): this member issues join tokens and certifies the nodes that use them (its CA key is then on this machine)")
	f.StringVar(&cfg.CommitlogSync, "commitlog-sync", "periodic", "periodic (fsync every 10s) or batch (fsync before acknowledging)")
	f.StringVar(&cfg.Authenticator, "authenticator", "PasswordAuthenticator", "PasswordAuthenticator or AllowAll (development only)")
	f.StringVar(&cfg.Authorizer, "authorizer", "CassandraAuthorizer", "CassandraAuthorizer (roles need GRANTed permissions) or AllowAll (every logged-in role may do anything)")
	f.StringVar(&cfg.LogLevel, "log-level", "info", "debug, info, warn or error")
	f.BoolVar(&hints, "hinted-handoff-enabled", true, "store hints for replicas that are down or time out (hinted_handoff_enabled)")
	f.StringVar(&cfg.ReplaceAddress, "replace-address", "", "on first start, take the tokens of the dead node at this address and stream its data from the other replicas (replace_address_first_boot)")
	f.BoolVar(&autoBootstrap, "auto-bootstrap", true, "stream the ranges this node takes over from the current replicas before it joins (auto_bootstrap); false only for the first nodes of a new cluster")
	f.StringVar(&throughput, "stream-throughput-outbound", "24", "MiB/s this node streams to all receivers together, 0 for unthrottled (stream_throughput_outbound)")
	f.BoolVar(&cfg.ClientEncryption.Enabled, "client-tls", false, "TLS on the native port (client_encryption_options.enabled); needs --client-tls-cert and --client-tls-key")
	f.BoolVar(&cfg.ClientEncryption.Optional, "client-tls-optional", false, "with --client-tls, also accept cleartext clients on the native port, for migrating them (client_encryption_options.optional)")
	f.StringVar(&cfg.ClientEncryption.Certificate, "client-tls-cert", "", "PEM certificate chain the native port presents (client_encryption_options.certificate)")
	f.StringVar(&cfg.ClientEncryption.PrivateKey, "client-tls-key", "", "PEM private key of --client-tls-cert (client_encryption_options.private_key)")
	f.StringVar(&cfg.ClientEncryption.Truststore, "client-tls-ca", "", "PEM CA certificates that sign client certificates (client_encryption_options.truststore)")
	f.BoolVar(&cfg.ClientEncryption.RequireClientAuth, "client-tls-require-client-auth", false, "clients must present a certificate signed by --client-tls-ca (client_encryption_options.require_client_auth)")
	f.BoolVar(&cfg.AllowPublicRPCAddressWithoutTLS, "allow-public-rpc-address-without-tls", false, "serve CQL on a public address without required client TLS (passwords in clear; logs a warning)")
	f.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to this file (for benchmarking)")
	_ = f.MarkHidden("cpuprofile")
	return cmd
}

// oneLineError prints its cause's message on one line (server.OneLine).
// It unwraps to the cause.
type oneLineError struct{ err error }

func (e oneLineError) Error() string { return server.OneLine(e.err) }

func (e oneLineError) Unwrap() error { return e.err }
