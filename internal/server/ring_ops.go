package server

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/ringdb/ringdb/internal/admin"
	"github.com/ringdb/ringdb/internal/cluster"
	"github.com/ringdb/ringdb/internal/config"
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

// metaRemovedPrefix prefixes the metadata keys of the host ids removed
// from the ring (nodetool removenode).
const metaRemovedPrefix = "removed/"

// removedHostIDs returns the host ids removed from the ring on earlier runs.
func (n *Node) removedHostIDs() [][16]byte {
	var out [][16]byte
	_ = n.engine.ListMeta(metaRemovedPrefix, func(key string, _ []byte) bool {
		if id, ok := cluster.ParseHostID(strings.TrimPrefix(key, metaRemovedPrefix)); ok {
			out = append(out, id)
		}
		return true
	})
	return out
}

// saveRemoved persists a host id removed from the ring.
func (n *Node) saveRemoved(id [16]byte) error {
	return n.engine.SetMeta(metaRemovedPrefix+hex.EncodeToString(id[:]), []byte{1})
}

// replaceAddress is replace_address_first_boot (validated), or zero.
func replaceAddress(cfg config.Config) netip.Addr {
	a, err := netip.ParseAddr(cfg.ReplaceAddress)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

// ringOperations adds the ring lifecycle operations to ops.
func (n *Node) ringOperations(ops map[string]admin.OperationFactory) {
	ops["decommission"] = noArgs(n.decommission)
	ops["removenode"] = n.removenode
	ops["assassinate"] = n.assassinate
	ops["cleanup"] = n.cleanup
}

// CleanupArgs are the arguments of the cleanup operation: a keyspace (all
// user keyspaces when empty) and tables of it (all when empty).
type CleanupArgs struct {
	Keyspace string   `json:"keyspace,omitempty"`
	Tables   []string `json:"tables,omitempty"`
}

// cleanup is nodetool cleanup [keyspace [table...]].
func (n *Node) cleanup(raw json.RawMessage) (admin.Operation, error) {
	var a CleanupArgs
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &a); err != nil {
			return nil, fmt.Errorf("cleanup: %w", err)
		}
	}
	if a.Keyspace == "" && len(a.Tables) > 0 {
		return nil, errors.New("cleanup: tables given without their keyspace")
	}
	return func(ctx context.Context, report func(string)) error {
		return n.cluster.Cleanup(ctx, a.Keyspace, a.Tables, report)
	}, nil
}

// RemoveNodeArgs are the arguments of the removenode operation: a host
// id, or Status or Force.
type RemoveNodeArgs struct {
	HostID string `json:"host_id,omitempty"`
	Status bool   `json:"status,omitempty"`
	Force  bool   `json:"force,omitempty"`
}

// removenode is nodetool removenode <host-id> | status | force.
func (n *Node) removenode(raw json.RawMessage) (admin.Operation, error) {
	var a RemoveNodeArgs
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, fmt.Errorf("removenode: %w", err)
	}
	switch {
	case a.Status:
		return func(_ context.Context, report func(string)) error {
			report(n.cluster.RemovalStatus())
			return nil
		}, nil
	case a.Force:
		return func(_ context.Context, report func(string)) error {
			if err := n.cluster.ForceRemoval(); err != nil {
				return err
			}
			report("RemovalStatus: forcing the removal in progress to complete")
			return nil
		}, nil
	}
	id, ok := cluster.ParseHostID(a.HostID)
	if !ok {
		return nil, fmt.Errorf("removenode: %q is not a host id (nodetool status shows them)", a.HostID)
	}
	return func(ctx context.Context, report func(string)) error {
		return n.cluster.RemoveNode(ctx, id, true, report)
	}, nil
}

// AssassinateArgs are the arguments of the assassinate operation.
type AssassinateArgs struct {
	Address string `json:"address"`
}

// assassinate is nodetool assassinate <ip>: the dead node at ip is
// removed from the ring at once, without re-replicating its data.
func (n *Node) assassinate(raw json.RawMessage) (admin.Operation, error) {
	var a AssassinateArgs
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, fmt.Errorf("assassinate: %w", err)
	}
	ip, err := netip.ParseAddr(a.Address)
	if err != nil {
		return nil, fmt.Errorf("assassinate: %q is not an IP address", a.Address)
	}
	return func(ctx context.Context, report func(string)) error {
		id, ok := n.cluster.HostIDAt(ip.Unmap())
		if !ok {
			return fmt.Errorf("assassinate: no node with a host id is known at %s", ip)
		}
		report("assassinating " + ip.String() + ": removed without re-replicating its data (run repair afterwards)")
		return n.cluster.RemoveNode(ctx, id, false, report)
	}, nil
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
