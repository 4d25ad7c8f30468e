package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/ringdb/ringdb/internal/admin"
)

// joinTokenCmd is `nodetool join-token create [--ttl D] | list | revoke ID`:
// one-time tokens with which a new node obtains its certificate from this
// node, which must hold the cluster CA (started with --ca-dir).
func joinTokenCmd(client func() (*admin.Client, error)) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "join-token create [--ttl 1h] | list | revoke ID",
		Short: "One-time tokens that admit a new node (the node must hold the CA: --ca-dir)",
		Long: `A join token admits one new node: start it with an empty certificates directory and
  ringdb server --join-token <token> --seeds <seed IPs> --listen-address <its IP>
It generates its key, connects to this node's internode port from its listen address, checks this node
against the CA fingerprint in the token and receives its certificate. The token is burned at its first
use and expires after --ttl. Only a member started with --ca-dir (its CA key on that machine) issues
tokens; without one, issue certificates offline with 'ringdb cert node'.`,
	}
	var ttl time.Duration
	create := &cobra.Command{
		Use:   "create [--ttl 1h]",
		Short: "Create a one-time join token (printed alone on the first line)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			t, err := c.CreateJoinToken(ttl)
			if err != nil {
				return err
			}
			admin.WriteJoinToken(cmd.OutOrStdout(), t)
			return nil
		},
	}
	create.Flags().DurationVar(&ttl, "ttl", time.Hour, "how long the token may be used (1s..168h)")
	list := &cobra.Command{
		Use:   "list",
		Short: "List the join tokens this node issued and the nodes they admitted",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			l, err := c.ListJoinTokens()
			if err != nil {
				return err
			}
			admin.WriteJoinTokens(cmd.OutOrStdout(), l)
			return nil
		},
	}
	revoke := &cobra.Command{
		Use:   "revoke ID",
		Short: "Withdraw an unused join token",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			return c.RevokeJoinToken(args[0])
		},
	}
	cmd.AddCommand(create, list, revoke)
	return cmd
}
