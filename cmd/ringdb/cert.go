package main

import (
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/ringdb/ringdb/internal/pki"
)

// certCmd manages the internode PKI: `cert init` creates a cluster CA and
// `cert node` issues a node certificate signed by it.
func certCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cert",
		Short: "Create the cluster CA and node certificates for internode mutual TLS",
		Long: `Internode connections (port 7000) are TLS 1.3 with mutual authentication. Every node certificate is signed
by the cluster CA and carries the cluster id and the node's listen address.

  ringdb cert init --dir ca/ --cluster-name prod            create the cluster CA (keep ca.key safe)
  ringdb cert node --dir ca/ --address 10.0.0.5 --out n5/   issue the certificate of the node at 10.0.0.5

Copy the --out directory to the node and start it with --certs-dir pointing at it.`,
	}
	cmd.AddCommand(certInitCmd(), certNodeCmd())
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

func certAbsPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
