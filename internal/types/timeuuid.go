package types

import (
	"encoding/binary"
	"sync"
	"time"
)

// uuidEpochOffset is the number of 100ns intervals between the UUID epoch
// (1582-10-15) and the Unix epoch.
const uuidEpochOffset = 0x01B21DD213814000

// timeToUUIDTicks converts t to 100ns ticks since the UUID epoch.
func timeToUUIDTicks(t time.Time) int64 {
	return t.Unix()*10000000 + int64(t.Nanosecond()/100) + uuidEpochOffset
}

// makeTimeUUID assembles a version-1, RFC 4122 variant UUID.
func makeTimeUUID(ticks int64, node [6]byte, clockSeq uint16) []byte {
	u := uint64(ticks)
	msb := (u&0xffffffff)<<32 | (u>>32&0xffff)<<16 | 0x1000 | (u>>48)&0x0fff
	v := binary.BigEndian.AppendUint64(make([]byte, 0, 16), msb)
	v = binary.BigEndian.AppendUint16(v, 0x8000|clockSeq&0x3fff)
	return append(v, node[:]...)
}

// NewTimeUUID returns a serialized version-1 (time-based) UUID for time now
// (100ns precision) with the given node and 14-bit clock sequence.
func NewTimeUUID(now time.Time, node [6]byte, clockSeq uint16) []byte {
	return makeTimeUUID(timeToUUIDTicks(now), node, clockSeq)
}

// MinTimeUUID returns the smallest timeuuid (in Cassandra's timeuuid order)
// for the millisecond ms since the Unix epoch, as minTimeuuid() does.
func MinTimeUUID(ms int64) []byte {
	v := makeTimeUUID(ms*10000+uuidEpochOffset, [6]byte{}, 0)
	binary.BigEndian.PutUint64(v[8:], 0x8080808080808080)
	return v
}

// MaxTimeUUID returns the largest timeuuid (in Cassandra's timeuuid order)
// for the millisecond ms since the Unix epoch: the last 100ns tick of that
// millisecond, as maxTimeuuid() does.
func MaxTimeUUID(ms int64) []byte {
	v := makeTimeUUID((ms+1)*10000-1+uuidEpochOffset, [6]byte{}, 0)
	binary.BigEndian.PutUint64(v[8:], 0x7f7f7f7f7f7f7f7f)
	return v
}

// TimeUUIDGenerator makes version-1 UUIDs that are unique and strictly
// increasing (by timestamp) within the generator, as now() requires. Make
// one with NewTimeUUIDGenerator; it is safe for concurrent use.
type TimeUUIDGenerator struct {
	mu       sync.Mutex
	node     [6]byte
	clockSeq uint16
	last     int64 // last 100ns tick handed out
}

// NewTimeUUIDGenerator returns a generator for the given node id and clock
// sequence (callers pick them at random once per process).
func NewTimeUUIDGenerator(node [6]byte, clockSeq uint16) *TimeUUIDGenerator {
	return &TimeUUIDGenerator{node: node, clockSeq: clockSeq}
}

// Next returns a new timeuuid for time now: if now is not after the previous
// one's timestamp, the timestamp is advanced by one 100ns tick instead.
func (g *TimeUUIDGenerator) Next(now time.Time) []byte {
	ticks := timeToUUIDTicks(now)
	g.mu.Lock()
	if ticks <= g.last {
		ticks = g.last + 1
	}
	g.last = ticks
	g.mu.Unlock()
	return makeTimeUUID(ticks, g.node, g.clockSeq)
}

// TimeUUIDTicks returns the 60-bit timestamp of a version-1 UUID: 100ns
// intervals since 1582-10-15. It returns 0 for a value that is not 16 bytes.
func TimeUUIDTicks(v []byte) int64 {
	if len(v) != 16 {
		return 0
	}
	return int64(reorderTimestamp(binary.BigEndian.Uint64(v)) & 0x0fffffffffffffff)
}

// TimeUUIDTime returns the time (UTC, 100ns precision) of a version-1 UUID.
func TimeUUIDTime(v []byte) time.Time {
	ticks := TimeUUIDTicks(v) - uuidEpochOffset
	return time.Unix(floorDiv(ticks, 10000000), (ticks-floorDiv(ticks, 10000000)*10000000)*100).UTC()
}

// TimeUUIDUnixMillis returns the timestamp of a version-1 UUID in
// milliseconds since the Unix epoch (as toTimestamp() and unixTimestampOf()).
func TimeUUIDUnixMillis(v []byte) int64 {
	return floorDiv(TimeUUIDTicks(v)-uuidEpochOffset, 10000)
}
