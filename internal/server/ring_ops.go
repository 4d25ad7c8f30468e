package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ringdb/ringdb/internal/admin"
)

// metaDecommissioned marks a node that left the ring by decommission: it
// refuses to start again with the same data.
const metaDecommissioned = "local/decommissioned"

// decommissionedMarker reports whether this node was decommissioned.
func (n *Node) decommissionedMarker() bool {
	_, ok, err := n.engine.GetMeta(metaDecommissioned)
	return err == nil && ok
}

// saveDecommissioned persists the decommission marker.
func (n *Node) saveDecommissioned() error {
	if err := n.engine.SetMeta(metaDecommissioned, []byte{1}); err != nil {
		return err
	}
	return n.engine.Flush()
}

// ringOperations adds the ring lifecycle operations to ops.
func (n *Node) ringOperations(ops map[string]admin.OperationFactory) {
	ops["decommission"] = noArgs(n.decommission)
}

// noArgs is the factory of an operation that takes no arguments.
func noArgs(op admin.Operation) admin.OperationFactory {
	return func(raw json.RawMessage) (admin.Operation, error) {
		if len(raw) > 0 && string(raw) != "null" && string(raw) != "{}" {
			return nil, errors.New("this operation takes no arguments")
		}
		return op, nil
	}
}

// decommission is nodetool decommission: the node streams its ranges to
// their new replicas, leaves the ring and stops.
func (n *Node) decommission(ctx context.Context, report func(string)) error {
	if err := n.cluster.Decommission(ctx, report); err != nil {
		return err
	}
	report("stopping the node: it left the ring")
	n.log.Info("decommissioned: stopping")
	if s := n.native.Swap(nil); s != nil {
		if err := s.Close(); err != nil {
			return fmt.Errorf("decommissioned, but closing the native transport failed: %w", err)
		}
	}
	return nil
}
