package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ringdb/ringdb/internal/admin"
	"github.com/ringdb/ringdb/internal/repair"
)

// newRepair creates the repair service; its verb handler is registered
// before the storage port listens (join). It needs streaming and the
// cluster, created by the steps before.
func (n *Node) newRepair() error {
	r, err := repair.New(repair.Options{Self: n.info.ListenAddress, Engine: n.engine, Transport: n.msg,
		Streamer: n.stream, Ring: n.cluster.Ring, Schema: n.schema.Current, IsAlive: n.cluster.IsAlive,
		Admitted: n.cluster.Admitted, Logger: n.log})
	if err != nil {
		return fmt.Errorf("repair: %w", err)
	}
	n.repair = r
	return nil
}

// RepairArgs are the arguments of the repair operation: a keyspace (all
// user keyspaces when empty), tables of it (all when empty), and whether
// to repair only this node's primary ranges (-pr). Full is accepted for
// nodetool's --full: ringdb's repair is always full.
type RepairArgs struct {
	Keyspace     string   `json:"keyspace,omitempty"`
	Tables       []string `json:"tables,omitempty"`
	Full         bool     `json:"full,omitempty"`
	PrimaryRange bool     `json:"primary_range,omitempty"`
}

// repairOperation is nodetool repair [keyspace [table...]] [--full] [-pr].
func (n *Node) repairOperation(raw json.RawMessage) (admin.Operation, error) {
	var a RepairArgs
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &a); err != nil {
			return nil, fmt.Errorf("repair: %w", err)
		}
	}
	if a.Keyspace == "" && len(a.Tables) > 0 {
		return nil, errors.New("repair: tables given without their keyspace")
	}
	cmd := repair.Command{Keyspace: a.Keyspace, Tables: a.Tables, PrimaryRange: a.PrimaryRange}
	return func(ctx context.Context, report func(string)) error {
		_, err := n.repair.Repair(ctx, cmd, report)
		return err
	}, nil
}
