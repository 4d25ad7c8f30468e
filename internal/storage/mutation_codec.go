package storage

import "errors"

// MaxMutationSize is the largest encoded mutation DecodeMutation accepts
// (64 MiB).
const MaxMutationSize = 64 << 20

// EncodeMutation appends the wire encoding of m to dst and returns it.
func EncodeMutation(dst []byte, m *Mutation) []byte { return dst }

// DecodeMutation decodes a mutation encoded by EncodeMutation. The
// returned mutation's byte slices alias b.
func DecodeMutation(b []byte) (*Mutation, error) { return nil, errors.New("storage: not implemented") }
