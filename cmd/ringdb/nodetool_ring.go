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
