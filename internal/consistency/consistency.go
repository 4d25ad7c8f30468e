// Package consistency is the vocabulary shared by the layers that carry a
// request from the client to the replicas: the consistency level a
// request asks for (its wire values are the native protocol's) and the
// write types a WriteTimeout error reports.
//
// It sits below the protocol, the query processor and the coordinator so
// that each of them can speak of a level without importing another: the
// native protocol decodes a Level, the processor passes it down, the
// coordinator counts replicas for it. It holds no state and imports
// nothing of ringdb.
package consistency

import "strconv"

// Level is a consistency level, numbered as on the native protocol's wire
// ([consistency], section 3 of the v4 spec).
type Level uint16

// Consistency levels.
const (
	Any         Level = 0x0000
	One         Level = 0x0001
	Two         Level = 0x0002
	Three       Level = 0x0003
	Quorum      Level = 0x0004
	All         Level = 0x0005
	LocalQuorum Level = 0x0006
	EachQuorum  Level = 0x0007
	Serial      Level = 0x0008
	LocalSerial Level = 0x0009
	LocalOne    Level = 0x000A
)

var names = [...]string{
	Any:         "ANY",
	One:         "ONE",
	Two:         "TWO",
	Three:       "THREE",
	Quorum:      "QUORUM",
	All:         "ALL",
	LocalQuorum: "LOCAL_QUORUM",
	EachQuorum:  "EACH_QUORUM",
	Serial:      "SERIAL",
	LocalSerial: "LOCAL_SERIAL",
	LocalOne:    "LOCAL_ONE",
}

// String returns the level's name as Cassandra prints it ("LOCAL_QUORUM"),
// or "UNKNOWN(n)" for a value outside the spec.
func (l Level) String() string {
	if int(l) < len(names) {
		return names[l]
	}
	return "UNKNOWN(" + strconv.Itoa(int(l)) + ")"
}

// Valid reports whether l is one of the levels the spec defines.
func (l Level) Valid() bool { return int(l) < len(names) }

// IsSerial reports whether l is SERIAL or LOCAL_SERIAL.
func (l Level) IsSerial() bool { return l == Serial || l == LocalSerial }

// IsLocal reports whether l counts only replicas of the coordinator's
// data center (LOCAL_ONE, LOCAL_QUORUM, LOCAL_SERIAL).
func (l Level) IsLocal() bool { return l == LocalOne || l == LocalQuorum || l == LocalSerial }

// Parse returns the level named s (as String prints it).
func Parse(s string) (Level, bool) {
	for i, n := range names {
		if n == s {
			return Level(i), true
		}
	}
	return 0, false
}

// Write types reported in WriteTimeout errors (the native protocol's
// <writeType> strings).
const (
	WriteSimple        = "SIMPLE"
	WriteBatch         = "BATCH"
	WriteUnloggedBatch = "UNLOGGED_BATCH"
	WriteBatchLog      = "BATCH_LOG"
	WriteCAS           = "CAS"
)
