package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ringdb/ringdb/internal/admin"
)

// statusView runs a command that shows the cluster status (of a keyspace,
// when one is given) with write.
func statusView(write func(io.Writer, admin.Status)) func(*admin.Client, []string) error {
	return func(c *admin.Client, args []string) error {
		ks := ""
		if len(args) > 0 {
			ks = args[0]
		}
		st, err := c.Status(ks)
		if err != nil {
			return err
		}
		write(os.Stdout, st)
		return nil
	}
}

func nodetoolCmd() *cobra.Command {
	var host, tokenFile, dataDir string
	cmd := &cobra.Command{
		Use:   "nodetool [--host IP:PORT] status|ring|info|gossipinfo|describecluster|flush|compact|drain|membership-log|revoke|join-token|decommission|removenode|assassinate|cleanup|repair",
		Short: "Operate a node through its admin endpoint (loopback only, token protected)",
	}
	cmd.PersistentFlags().StringVar(&host, "host", "127.0.0.1:7199", "admin endpoint of the node")
	cmd.PersistentFlags().StringVar(&tokenFile, "token-file", "", "admin token file (default <data-dir>/admin.token)")
	cmd.PersistentFlags().StringVar(&dataDir, "data-dir", "./ringdb-data", "the node's data directory (to find its admin token)")
	client := func() (*admin.Client, error) {
		path := tokenFile
		if path == "" {
			path = filepath.Join(dataDir, "admin.token")
		}
		tok := os.Getenv("RINGDB_ADMIN_TOKEN")
		if tok == "" {
			b, err := os.ReadFile(path)
			if err != nil {
				return nil, fmt.Errorf("read admin token: %w (give --token-file or --data-dir of the node)", err)
			}
			tok = string(b)
		}
		h := host
		if !strings.Contains(h, ":") {
			h += ":7199"
		}
		return admin.NewClient(h, tok), nil
	}
	sub := func(use, short string, run func(c *admin.Client, args []string) error) *cobra.Command {
		return &cobra.Command{Use: use, Short: short, RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			return run(c, args)
		}}
	}
	out := os.Stdout
	cmd.AddCommand(
		sub("status [keyspace]", "Cluster status: UN/DN per node, load, tokens, ownership", statusView(admin.WriteStatus)),
		sub("ring [keyspace]", "Token ring", statusView(admin.WriteRing)),
		sub("info", "Node information", func(c *admin.Client, _ []string) error {
			i, err := c.Info()
			if err != nil {
				return err
			}
			admin.WriteInfo(out, i)
			return nil
		}),
		sub("gossipinfo", "Gossip state of every endpoint", func(c *admin.Client, _ []string) error {
			g, err := c.GossipInfo()
			if err != nil {
				return err
			}
			admin.WriteGossipInfo(out, g)
			return nil
		}),
		sub("describecluster", "Cluster name, partitioner and schema versions", func(c *admin.Client, _ []string) error {
			d, err := c.Describe()
			if err != nil {
				return err
			}
			admin.WriteDescribe(out, d)
			return nil
		}),
		sub("flush", "Flush memtables to disk", func(c *admin.Client, _ []string) error { return c.Flush() }),
		sub("compact", "Major compaction (purges tombstones older than gc_grace_seconds)", func(c *admin.Client, _ []string) error { return c.Compact() }),
		sub("drain", "Stop serving clients, announce the shutdown to the cluster, flush, and stop the node", func(c *admin.Client, _ []string) error { return c.Drain() }),
		sub("netstats", "Streams in flight (bootstrap and other range movements): peer, spans, bytes, rate", func(c *admin.Client, _ []string) error {
			n, err := c.Netstats()
			if err != nil {
				return err
			}
			admin.WriteNetstats(out, n)
			return nil
		}),
		membershipLogCmd(client),
		revokeCmd(client),
		joinTokenCmd(client),
		decommissionCmd(client),
		removenodeCmd(client),
		assassinateCmd(client),
		cleanupCmd(client),
		repairCmd(client),
	)
	return cmd
}

// revokeCmd is `nodetool revoke FILE`: hand the node a certificate
// revocation list made by `ringdb cert revoke` (the CA's crl.pem). The node
// accepts it only if the cluster CA signed it and it is newer than the
// node's, then refuses the revoked certificates, closes their connections
// and pushes the list to every live member; members that are down pull it
// when they are back.
func revokeCmd(client func() (*admin.Client, error)) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke FILE",
		Short: "Hand the node a revocation list (ringdb cert revoke's crl.pem); it spreads to every member",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := os.ReadFile(args[0])
			if err != nil {
				return fmt.Errorf("nodetool revoke: %w", err)
			}
			c, err := client()
			if err != nil {
				return err
			}
			res, err := c.Revoke(data)
			if err != nil {
				return err
			}
			admin.WriteRevokeResult(cmd.OutOrStdout(), res)
			return nil
		},
	}
}
