package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/ringdb/ringdb/internal/admin"
)

// membershipLogCmd is `nodetool membership-log [--since D|T] [--limit N]
// [--json]`: the node's membership audit log (admissions, token use, joins,
// leaves, removals, restarts, forged state refused, revocations), oldest
// first. Handshake noise is not in it (see the noise log in the data
// directory).
func membershipLogCmd(client func() (*admin.Client, error)) *cobra.Command {
	var since string
	var limit int
	var raw bool
	cmd := &cobra.Command{
		Use:   "membership-log [--since DURATION|RFC3339] [--limit N] [--json]",
		Short: "Membership audit events: admission, join token use, join, leave, removal, restart, forged state, revocation",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var from time.Time
			if since != "" {
				t, err := admin.ParseSince(since, time.Now())
				if err != nil {
					return err
				}
				from = t
			}
			c, err := client()
			if err != nil {
				return err
			}
			lines, err := c.MembershipLog(from, limit)
			if err != nil {
				return err
			}
			if raw {
				return admin.WriteMembershipLogJSON(cmd.OutOrStdout(), lines)
			}
			return admin.WriteMembershipLog(cmd.OutOrStdout(), lines)
		},
	}
	cmd.Flags().StringVar(&since, "since", "", "only events at or after this time: a duration before now (90m, 2h, 7d) or an RFC 3339 time")
	cmd.Flags().IntVar(&limit, "limit", 0, "only the newest N events (0: all)")
	cmd.Flags().BoolVar(&raw, "json", false, "print the records as logged, one JSON object a line")
	return cmd
}
