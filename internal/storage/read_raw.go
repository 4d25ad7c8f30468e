package storage

import "errors"

// ReadPartitionRawQuery returns the raw content of a partition restricted
// by q, or nil when there is none.
func (e *Engine) ReadPartitionRawQuery(table TableID, token int64, key []byte, q PartitionQuery) (*Mutation, error) {
	return nil, errors.New("storage: not implemented")
}

// ScanRaw calls fn with the raw content of each partition in a token range.
func (e *Engine) ScanRaw(table TableID, start PartitionPos, endToken int64, q PartitionQuery, maxPartitions int, fn func(*Mutation) bool) error {
	return errors.New("storage: not implemented")
}
