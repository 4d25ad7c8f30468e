package main

import (
	"github.com/spf13/cobra"

	"github.com/ringdb/ringdb/internal/admin"
)

// repairCmd is `nodetool repair [keyspace [table...]] [--full] [-pr]`:
// anti-entropy repair of the ranges this node replicates, coordinated by
// the node. It prints progress as it goes and fails (exit status 1) when a
// range could not be repaired.
func repairCmd(client func() (*admin.Client, error)) *cobra.Command {
	var full, primary bool
	cmd := &cobra.Command{
		Use:   "repair [keyspace [table...]] [--full] [-pr|--partitioner-range]",
		Short: "Make the replicas of this node's ranges consistent: compare Merkle trees per range and table, stream the differences both ways",
		Long: "repair compares, for every range this node replicates (of the keyspace, or of every user keyspace) and every table\n" +
			"(or the named ones), a Merkle tree of the data on each replica of the range, and streams the sub-ranges that differ\n" +
			"both ways between each pair of replicas: afterwards every replica holds the newest version of every cell, deletions\n" +
			"included. Run it on every node within gc_grace_seconds (10 days by default) so that no deleted data comes back.\n\n" +
			"ringdb's repair is always full (there is no incremental repair): --full is accepted and changes nothing.\n" +
			"-pr (--partitioner-range) repairs only the ranges this node is the primary replica of; run it on every node to\n" +
			"repair each range once. A range with a replica down is not repaired and the command fails.",
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			a := map[string]any{"full": full, "primary_range": primary}
			if len(args) > 0 {
				a["keyspace"] = args[0]
				a["tables"] = args[1:]
			}
			return runOperation(c, cmd.OutOrStdout(), "repair", a)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&full, "full", false, "full repair (accepted for compatibility: ringdb's repair is always full)")
	f.BoolVarP(&primary, "partitioner-range", "p", false, "repair only the ranges this node is the primary replica of (-pr)")
	// Cassandra spells it -pr: as POSIX shorthands that is -p -r, so -r
	// (hidden, also --pr) means the same.
	f.BoolVarP(&primary, "pr", "r", false, "same as --partitioner-range")
	_ = f.MarkHidden("pr")
	return cmd
}
