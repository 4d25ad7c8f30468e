package coordinator

import (
	"context"
	"slices"

	"github.com/ringdb/ringdb/internal/consistency"
	"github.com/ringdb/ringdb/internal/cqlerr"
	"github.com/ringdb/ringdb/internal/messaging"
	"github.com/ringdb/ringdb/internal/schema"
	"github.com/ringdb/ringdb/internal/storage"
)

// Truncate removes all data of a table on every node; every node must be
// up (as Cassandra's TRUNCATE).
func (c *Coordinator) Truncate(ctx context.Context, t *schema.Table) error {
	ctx, end, err := c.begin(ctx)
	if err != nil {
		return err
	}
	defer end()
	tid := storage.TableID(t.ID)
	eps := c.o.Topology.Ring().Endpoints()
	for _, ep := range eps {
		if !c.alive(ep) {
			return &cqlerr.Error{Code: cqlerr.Unavailable, Consistency: uint16(consistency.All), Required: int32(len(eps)),
				Message: "Cannot achieve consistency level ALL: truncate needs every node up (" + ep.String() + " is down)"}
		}
	}
	if !slices.Contains(eps, c.self) {
		eps = append(eps, c.self)
	}
	rctx, cancel := c.withTimeout(ctx, c.o.RangeTimeout)
	defer cancel()
	errs := make(chan error, len(eps))
	for _, ep := range eps {
		ok := c.goOwned(func() {
			if ep == c.self {
				errs <- c.o.Engine.TruncateTable(tid, c.now())
				return
			}
			_, err := c.o.Messenger.Request(rctx, ep, messaging.VerbTruncate, tid[:])
			errs <- err
		})
		if !ok {
			errs <- errStopping
		}
	}
	for range eps {
		if err := <-errs; err != nil {
			return &cqlerr.Error{Code: cqlerr.TruncateError, Message: "Error during truncate: " + err.Error()}
		}
	}
	return nil
}
