package storage

import (
	"errors"
	"time"
)

// MergeMutations reconciles mutations of one partition into one.
func MergeMutations(ms ...*Mutation) *Mutation { return nil }

// ReadMutation calls fn for each live row of m selected by q, as
// ReadPartition would after applying m to an empty engine.
func ReadMutation(m *Mutation, q PartitionQuery, now time.Time, fn func(*Row) bool) error {
	return errors.New("storage: not implemented")
}
