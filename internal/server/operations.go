package server

import (
	"github.com/ringdb/ringdb/internal/admin"
)

// operations are the node's long-running admin commands by name
// (nodetool decommission, removenode, cleanup, repair...).
func (n *Node) operations() map[string]admin.OperationFactory {
	ops := map[string]admin.OperationFactory{}
	n.ringOperations(ops)
	ops["repair"] = n.repairOperation
	return ops
}
