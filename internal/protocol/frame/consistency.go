package frame

import "github.com/ringdb/ringdb/internal/consistency"

// Consistency is a [consistency]: a consistency level as carried on the
// wire. The type lives in internal/consistency so that the layers below
// the protocol share it without importing the protocol.
type Consistency = consistency.Level

// Consistency levels (section 3 of the v4 spec).
const (
	Any         = consistency.Any
	One         = consistency.One
	Two         = consistency.Two
	Three       = consistency.Three
	Quorum      = consistency.Quorum
	All         = consistency.All
	LocalQuorum = consistency.LocalQuorum
	EachQuorum  = consistency.EachQuorum
	Serial      = consistency.Serial
	LocalSerial = consistency.LocalSerial
	LocalOne    = consistency.LocalOne
)

// ParseConsistency returns the level named s (as String prints it).
func ParseConsistency(s string) (Consistency, bool) { return consistency.Parse(s) }
