// Command ringdb is the ringdb database: a Cassandra-compatible node
// (`ringdb server`) and its operator tools.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	root := &cobra.Command{
		Use:           "ringdb",
		Short:         "ringdb: a Cassandra-compatible database whose internode port is secure by default",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(serverCmd(), stressCmd(), cqlshCmd(), nodetoolCmd(), certCmd())
	root.AddCommand(auditCmd())
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "ringdb:", err)
		os.Exit(1)
	}
}
