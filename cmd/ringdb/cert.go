package main

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/ringdb/ringdb/internal/pki"
)

// certCmd manages the internode PKI: `cert init` creates a cluster CA,
// `cert node` issues a node certificate signed by it and `cert revoke`
// revokes node certificates (a CRL signed by the CA).
func certCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cert",
		Short: "Create the cluster CA and node certificates for internode mutual TLS",
		Long: `Internode connections (port 7000) are TLS 1.3 with mutual authentication. Every node certificate is signed
by the cluster CA and carries the cluster id and the node's listen address.

  ringdb cert init --dir ca/ --cluster-name prod            create the cluster CA (keep ca.key safe)
  ringdb cert node --dir ca/ --address 10.0.0.5 --out n5/   issue the certificate of the node at 10.0.0.5
  ringdb cert revoke --dir ca/ --address 10.0.0.5           revoke its certificates: writes ca/crl.pem
  ringdb nodetool revoke ca/crl.pem                         hand the list to one node; it spreads to all

Copy the --out directory to the node and start it with --certs-dir pointing at it. Node certificates are
valid for one year: issue a new one before it expires and revoke the old one by --serial.

Or admit nodes with one-time join tokens instead of copying keys: start one member with --ca-dir ca/ (its CA
key is then on that machine), run 'ringdb nodetool join-token create' there, and start the new node with an
empty certificates directory and --join-token <token> (docs/decisions/011-admission-and-join-tokens.md).`,
	}
	cmd.AddCommand(certInitCmd(), certNodeCmd(), certRevokeCmd())
	return cmd
}

func certInitCmd() *cobra.Command {
	var dir, name string
	cmd := &cobra.Command{
		Use:   "init --dir DIR [--cluster-name NAME]",
		Short: "Create a cluster CA (ca.key, ca.crt) with a new cluster id",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if dir == "" {
				return errors.New("cert init: --dir is required")
			}
			ca, err := pki.InitCA(dir, name)
			if err != nil {
				return fmt.Errorf("cert init: %w", err)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "cluster name: %s\n", ca.ClusterName)
			fmt.Fprintf(out, "cluster id:   %s\n", ca.ClusterID)
			fmt.Fprintf(out, "CA key:       %s (mode 0600; keep it off the nodes if you can)\n", certAbsPath(ca.KeyPath()))
			fmt.Fprintf(out, "CA cert:      %s\n", certAbsPath(ca.CertPath()))
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "directory for the CA files (created if missing; required)")
	cmd.Flags().StringVar(&name, "cluster-name", "Test Cluster", "cluster name (cassandra.yaml cluster_name)")
	return cmd
}

func certNodeCmd() *cobra.Command {
	var dir, address, out string
	cmd := &cobra.Command{
		Use:   "node --dir DIR --address IP --out DIR",
		Short: "Issue a node certificate (node.key, node.crt, ca.crt) signed by the CA in --dir",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var missing []string
			if dir == "" {
				missing = append(missing, "--dir")
			}
			if address == "" {
				missing = append(missing, "--address")
			}
			if out == "" {
				missing = append(missing, "--out")
			}
			if len(missing) > 0 {
				return fmt.Errorf("cert node: required: %v", missing)
			}
			addr, err := netip.ParseAddr(address)
			if err != nil {
				return fmt.Errorf("cert node: --address %q is not an IP address (host names are not accepted: "+
					"the certificate identifies the node by its listen address)", address)
			}
			if addr.Unmap().IsUnspecified() {
				return fmt.Errorf("cert node: --address %s is unspecified; give the node's listen address", addr)
			}
			ca, err := pki.LoadCA(dir)
			if err != nil {
				return fmt.Errorf("cert node: %w", err)
			}
			if err := ca.IssueNode(addr, out); err != nil {
				return fmt.Errorf("cert node: %w", err)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "node address: %s\n", addr.Unmap())
			fmt.Fprintf(w, "cluster id:   %s\n", ca.ClusterID)
			if leaf, err := readLeaf(filepath.Join(out, pki.NodeCrtFile)); err == nil {
				fmt.Fprintf(w, "serial:       %s (valid until %s; revoke with cert revoke --serial)\n",
					pki.FormatSerial(leaf.SerialNumber), leaf.NotAfter.UTC().Format("2006-01-02"))
			}
			fmt.Fprintf(w, "node key:     %s (mode 0600)\n", certAbsPath(filepath.Join(out, pki.NodeKeyFile)))
			fmt.Fprintf(w, "node cert:    %s\n", certAbsPath(filepath.Join(out, pki.NodeCrtFile)))
			fmt.Fprintf(w, "CA cert:      %s\n", certAbsPath(filepath.Join(out, pki.CACertFile)))
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "directory holding the cluster CA (ca.key, ca.crt; required)")
	cmd.Flags().StringVar(&address, "address", "", "the node's listen address, an IP (required)")
	cmd.Flags().StringVar(&out, "out", "", "directory for node.key, node.crt and ca.crt (created if missing; required)")
	return cmd
}

// certRevokeCmd is `cert revoke --dir CA (--serial S | --address IP)...`:
// the CA signs a new certificate revocation list with the next CRL number
// and writes it to <dir>/crl.pem, which `nodetool revoke` hands to a node.
func certRevokeCmd() *cobra.Command {
	var dir string
	var serials, addresses []string
	cmd := &cobra.Command{
		Use:   "revoke --dir DIR (--serial S | --address IP)...",
		Short: "Revoke node certificates: write the CA's new revocation list (DIR/crl.pem)",
		Long: `Revoke node certificates of the cluster CA in --dir. --serial revokes one certificate (decimal as ringdb prints
it, 0x-hex, or colon-separated hex as openssl prints it); --address revokes every certificate the CA's index
(DIR/issued.jsonl) lists for that address. Both may be repeated.

The CA signs a new X.509 CRL holding every revocation so far, numbered one higher than the previous one, and
replaces DIR/crl.pem with it (never delete that file: nodes refuse a list numbered lower than theirs). Then hand it
to any running node with 'ringdb nodetool revoke DIR/crl.pem': the node checks it and it spreads to every member;
from then on they refuse the revoked certificates and close the connections that use them.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if dir == "" {
				return errors.New("cert revoke: --dir is required")
			}
			if len(serials) == 0 && len(addresses) == 0 {
				return errors.New("cert revoke: give --serial or --address (or both, repeated)")
			}
			var req pki.RevokeRequest
			for _, s := range serials {
				n, err := pki.ParseSerial(s)
				if err != nil {
					return fmt.Errorf("cert revoke: --serial: %w", err)
				}
				req.Serials = append(req.Serials, n)
			}
			for _, a := range addresses {
				addr, err := netip.ParseAddr(a)
				if err != nil {
					return fmt.Errorf("cert revoke: --address %q is not an IP address", a)
				}
				req.Addresses = append(req.Addresses, addr.Unmap())
			}
			ca, err := pki.LoadCA(dir)
			if err != nil {
				return fmt.Errorf("cert revoke: %w", err)
			}
			res, err := ca.Revoke(req)
			if err != nil {
				return fmt.Errorf("cert revoke: %w", err)
			}
			w := cmd.OutOrStdout()
			for _, c := range res.Newly {
				if c.Address.IsValid() {
					fmt.Fprintf(w, "revoked:      serial %s (%s, valid until %s)\n", pki.FormatSerial(c.Serial), c.Address,
						c.NotAfter.UTC().Format("2006-01-02"))
				} else {
					fmt.Fprintf(w, "revoked:      serial %s (not in the CA's index)\n", pki.FormatSerial(c.Serial))
				}
			}
			fmt.Fprintf(w, "CRL number:   %s (%d certificates revoked in all)\n", res.CRL.Number, len(res.CRL.Revoked))
			fmt.Fprintf(w, "CRL:          %s\n", certAbsPath(res.Path))
			fmt.Fprintf(w, "next:         ringdb nodetool revoke %s\n", certAbsPath(res.Path))
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "directory holding the cluster CA (ca.key, ca.crt; required)")
	cmd.Flags().StringArrayVar(&serials, "serial", nil, "serial number of a certificate to revoke (repeatable)")
	cmd.Flags().StringArrayVar(&addresses, "address", nil, "revoke every certificate issued for this IP address (repeatable)")
	return cmd
}

// readLeaf reads a PEM certificate.
func readLeaf(path string) (*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM block", path)
	}
	return x509.ParseCertificate(block.Bytes)
}

func certAbsPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
