package coordinator_test

import (
	"github.com/ringdb/ringdb/internal/coordinator"
	"github.com/ringdb/ringdb/internal/query"
)

// The coordinator implements the query processor's Store without
// importing the query package (dependencies point down: query →
// coordinator); this assertion keeps the two in step.
var _ query.Store = (*coordinator.Coordinator)(nil)
