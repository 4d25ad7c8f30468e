package frame

import "strconv"

// Consistency is a [consistency]: a consistency level as carried on the wire.
type Consistency uint16

// Consistency levels (section 3 of the v4 spec).
const (
	Any         Consistency = 0x0000
	One         Consistency = 0x0001
	Two         Consistency = 0x0002
	Three       Consistency = 0x0003
	Quorum      Consistency = 0x0004
	All         Consistency = 0x0005
	LocalQuorum Consistency = 0x0006
	EachQuorum  Consistency = 0x0007
	Serial      Consistency = 0x0008
	LocalSerial Consistency = 0x0009
	LocalOne    Consistency = 0x000A
)

var consistencyNames = [...]string{
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
func (c Consistency) String() string {
	if int(c) < len(consistencyNames) {
		return consistencyNames[c]
	}
	return "UNKNOWN(" + strconv.Itoa(int(c)) + ")"
}

// Valid reports whether c is one of the levels the spec defines.
func (c Consistency) Valid() bool { return int(c) < len(consistencyNames) }

// IsSerial reports whether c is SERIAL or LOCAL_SERIAL.
func (c Consistency) IsSerial() bool { return c == Serial || c == LocalSerial }

// ParseConsistency returns the level named s (as String prints it).
func ParseConsistency(s string) (Consistency, bool) {
	for i, n := range consistencyNames {
		if n == s {
			return Consistency(i), true
		}
	}
	return 0, false
}
