package main

import (
	"fmt"
	"io"
	"time"

	"github.com/ringdb/ringdb/internal/admin"
)

// runOperation runs the node's long-running operation name with args and
// prints its progress lines to w as they arrive, each prefixed with the
// local time as Cassandra's nodetool repair prints them
// ("[2026-12-07 12:00:00,123] ..."). It returns the operation's error.
func runOperation(c *admin.Client, w io.Writer, name string, args any) error {
	return c.Operation(name, args, func(line string) {
		fmt.Fprintf(w, "[%s] %s\n", time.Now().Format("2006-01-02 15:04:05,000"), line)
	})
}
