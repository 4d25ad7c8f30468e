package main

import (
	"github.com/spf13/cobra"

	"github.com/ringdb/ringdb/internal/admin"
)

// decommissionCmd is `nodetool decommission`: the node announces LEAVING,
// streams every range it replicates to the nodes that replicate it
// without it, announces LEFT and stops. It prints progress as it goes.
func decommissionCmd(client func() (*admin.Client, error)) *cobra.Command {
	return &cobra.Command{
		Use:   "decommission",
		Short: "Stream this node's data to the other replicas, leave the ring and stop the node",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			return runOperation(c, cmd.OutOrStdout(), "decommission", nil)
		},
	}
}

// removenodeCmd is `nodetool removenode <host-id> | status | force`.
func removenodeCmd(client func() (*admin.Client, error)) *cobra.Command {
	return &cobra.Command{
		Use:   "removenode <host-id>|status|force",
		Short: "Remove a dead node from the ring, re-replicating its ranges from the surviving replicas (status: the removal in progress; force: complete it without waiting for its streams)",
		Long: "removenode removes a dead node (nodetool status shows its host id) from the ring: the replicas that gain its ranges\n" +
			"stream them from the surviving replicas, then the node is out of the ring for good (a revoked node is removed the same\n" +
			"way). Every node refuses to remove a node it sees alive: decommission a live node instead.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			a := map[string]any{}
			switch args[0] {
			case "status":
				a["status"] = true
			case "force":
				a["force"] = true
			default:
				a["host_id"] = args[0]
			}
			if args[0] == "status" {
				return c.Operation("removenode", a, func(line string) { cmd.Println(line) })
			}
			return runOperation(c, cmd.OutOrStdout(), "removenode", a)
		},
	}
}

// assassinateCmd is `nodetool assassinate <ip>`.
func assassinateCmd(client func() (*admin.Client, error)) *cobra.Command {
	return &cobra.Command{
		Use:   "assassinate <ip>",
		Short: "Remove a dead node from the ring at once, without re-replicating its data (run repair afterwards)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			return runOperation(c, cmd.OutOrStdout(), "assassinate", map[string]string{"address": args[0]})
		},
	}
}

// cleanupCmd is `nodetool cleanup [keyspace [table...]]`.
func cleanupCmd(client func() (*admin.Client, error)) *cobra.Command {
	return &cobra.Command{
		Use:   "cleanup [keyspace [table...]]",
		Short: "Delete the data of token ranges this node no longer replicates (after nodes joined)",
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			a := map[string]any{}
			if len(args) > 0 {
				a["keyspace"] = args[0]
				a["tables"] = args[1:]
			}
			return runOperation(c, cmd.OutOrStdout(), "cleanup", a)
		},
	}
}
