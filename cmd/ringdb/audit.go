package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/spf13/cobra"

	"github.com/ringdb/ringdb/internal/exposure"
)

// Exit statuses of `ringdb audit`.
const (
	auditExitClean = 0 // no HIGH finding
	auditExitHigh  = 1 // at least one HIGH finding, or the run was interrupted
	auditExitUsage = 2 // bad arguments or flags
)

// auditFlags are the command line flags of `ringdb audit`.
type auditFlags struct {
	json        bool
	allowPublic bool
	timeout     time.Duration
}

// auditCmd is `ringdb audit TARGET[:PORT]...`: the exposure check.
func auditCmd() *cobra.Command { return newAuditCmd(os.Exit, exposure.Options{}) }

// newAuditCmd builds the command; exit receives the exit status when it is
// not 0, and base carries options tests inject (dialer, predicates).
func newAuditCmd(exit func(int), base exposure.Options) *cobra.Command {
	var f auditFlags
	cmd := &cobra.Command{
		Use:   "audit TARGET[:PORT]... [--json]",
		Short: "Check what a stranger on the network could do with a node's ports (only for hosts you are authorized to test)",
		Long: `Probe the ports of Cassandra-compatible nodes -- internode 7000/7001, native CQL 9042 and management 7199,
or only the port given as TARGET:PORT -- and report each finding with a severity (HIGH, MEDIUM, LOW, INFO),
what was found and the hardening step that fixes it.

Use it only for hosts you are authorized to test.

It sends nothing but its probes: a TLS handshake with a throwaway self-signed client certificate, Cassandra's
internode handshake, CQL OPTIONS (on a TLS port also one in cleartext, to see whether TLS is optional) and
STARTUP (v5, v4, v3), exactly one login as cassandra/cassandra, one SELECT release_version, cluster_name
FROM system.local, one unauthenticated HTTP GET and the Java RMI header.
At most 16 connections per target (the default ports use at most 10) and 4 at once overall; every dial,
handshake and read has --timeout.
A public (globally routable) address is reported and not scanned unless --allow-public is given; the
unspecified address (0.0.0.0, ::), multicast and broadcast addresses are not hosts (usage error).

Exit status: 0 without HIGH findings, 1 with at least one (or when interrupted), 2 on usage errors.`,
		Example: `  ringdb audit 10.0.0.5
  ringdb audit 10.0.0.5 10.0.0.6:9042 --json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			if code := runAudit(ctx, cmd.OutOrStdout(), cmd.ErrOrStderr(), args, f, base); code != auditExitClean {
				exit(code)
			}
			return nil
		},
	}
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		fmt.Fprintf(c.ErrOrStderr(), "ringdb audit: %v\n%s", err, c.UsageString())
		exit(auditExitUsage)
		return err
	})
	cmd.Flags().BoolVar(&f.json, "json", false, "print a JSON document (targets, findings, summary) instead of text")
	cmd.Flags().BoolVar(&f.allowPublic, "allow-public", false, "also scan public (globally routable) addresses")
	cmd.Flags().DurationVar(&f.timeout, "timeout", exposure.DefaultTimeout, "timeout of every dial, handshake and read")
	return cmd
}

// runAudit runs the audit and prints its report; it returns the exit
// status.
func runAudit(ctx context.Context, stdout, stderr io.Writer, args []string, f auditFlags, o exposure.Options) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "ringdb audit: give at least one TARGET[:PORT] (only hosts you are authorized to test)")
		return auditExitUsage
	}
	if f.timeout <= 0 {
		fmt.Fprintln(stderr, "ringdb audit: --timeout must be positive")
		return auditExitUsage
	}
	o.Timeout, o.AllowPublic = f.timeout, f.allowPublic
	rep, err := exposure.Run(ctx, args, o)
	if rep == nil {
		fmt.Fprintf(stderr, "ringdb audit: %v\n", err)
		return auditExitUsage
	}
	write := exposure.WriteText
	if f.json {
		write = exposure.WriteJSON
	}
	if werr := write(stdout, rep); werr != nil {
		fmt.Fprintf(stderr, "ringdb audit: write report: %v\n", werr)
		return auditExitHigh
	}
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		fmt.Fprintln(stderr, "ringdb audit: interrupted; the report is incomplete")
		return auditExitHigh
	case rep.HasHigh():
		return auditExitHigh
	}
	return auditExitClean
}
