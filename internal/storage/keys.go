package storage

import (
	"encoding/binary"
	"errors"
	"math"
)

// Key space prefixes (first byte of every Pebble key).
const (
	prefixData       byte = 'd'
	prefixMeta       byte = 'm'
	prefixHint       byte = 'h' // hints.go
	prefixTruncation byte = 't' // truncate.go
)

// Kind bytes following the partition key inside a partition.
const (
	kindHeader byte = 0 // partition deletion and range tombstones
	kindStatic byte = 1 // the static row
	kindRow    byte = 2 // regular rows, followed by the clustering bytes
	kindEnd    byte = 3 // exclusive upper bound of a partition's keys
)

// tableKeyLen is the length of prefixData | table id.
const tableKeyLen = 1 + 16

// errBadKey is returned for a data key that does not parse.
var errBadKey = errors.New("storage: malformed data key")

// appendTablePrefix appends 'd' | table.
func appendTablePrefix(dst []byte, table TableID) []byte {
	dst = append(dst, prefixData)
	return append(dst, table[:]...)
}

// appendToken appends the token sign-flipped big-endian, so that bytewise
// order is signed token order.
func appendToken(dst []byte, token int64) []byte {
	return binary.BigEndian.AppendUint64(dst, uint64(token)^(1<<63))
}

// appendPartitionPrefix appends 'd' | table | token | escaped key. The key is
// escaped (0x00 -> 0x00 0xFF) and terminated by 0x00 0x01, which keeps it
// prefix-free and bytewise ordered, so partitions sharing a token order by
// key bytes.
func appendPartitionPrefix(dst []byte, table TableID, token int64, key []byte) []byte {
	dst = appendTablePrefix(dst, table)
	dst = appendToken(dst, token)
	for _, b := range key {
		if b == 0 {
			dst = append(dst, 0, 0xFF)
		} else {
			dst = append(dst, b)
		}
	}
	return append(dst, 0, 1)
}

// dataKey is a parsed data key. Slices alias the parsed key except key,
// which is unescaped into the caller's buffer.
type dataKey struct {
	table      TableID
	token      int64
	key        []byte // unescaped partition key
	partition  int    // length of the partition prefix (up to the kind byte)
	kind       byte
	clustering []byte
}

// parseDataKey parses k, unescaping the partition key into keyBuf[:0].
func parseDataKey(k []byte, keyBuf []byte) (dataKey, error) {
	var d dataKey
	if len(k) < tableKeyLen+8+3 || k[0] != prefixData {
		return d, errBadKey
	}
	copy(d.table[:], k[1:tableKeyLen])
	d.token = int64(binary.BigEndian.Uint64(k[tableKeyLen:]) ^ (1 << 63))
	i := tableKeyLen + 8
	key := keyBuf[:0]
	for {
		if i >= len(k) {
			return d, errBadKey
		}
		b := k[i]
		if b != 0 {
			key = append(key, b)
			i++
			continue
		}
		if i+1 >= len(k) {
			return d, errBadKey
		}
		switch k[i+1] {
		case 0xFF:
			key = append(key, 0)
			i += 2
			continue
		case 1:
			i += 2
		default:
			return d, errBadKey
		}
		break
	}
	if i >= len(k) {
		return d, errBadKey
	}
	d.key = key
	d.partition = i
	d.kind = k[i]
	d.clustering = k[i+1:]
	switch d.kind {
	case kindHeader, kindStatic:
		if len(d.clustering) != 0 {
			return d, errBadKey
		}
	case kindRow:
	default:
		return d, errBadKey
	}
	return d, nil
}

// kindOf returns the kind byte of a data key without unescaping the key.
func kindOf(k []byte) (TableID, byte, error) {
	var t TableID
	if len(k) < tableKeyLen+8+3 || k[0] != prefixData {
		return t, 0, errBadKey
	}
	copy(t[:], k[1:tableKeyLen])
	for i := tableKeyLen + 8; i < len(k); {
		if k[i] != 0 {
			i++
			continue
		}
		if i+1 >= len(k) {
			return t, 0, errBadKey
		}
		switch k[i+1] {
		case 0xFF:
			i += 2
		case 1:
			if i+2 >= len(k) {
				return t, 0, errBadKey
			}
			return t, k[i+2], nil
		default:
			return t, 0, errBadKey
		}
	}
	return t, 0, errBadKey
}

// prefixSuccessor returns the smallest key greater than every key starting
// with p, or nil when there is none (p is empty or all 0xFF). It allocates.
func prefixSuccessor(p []byte) []byte {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] != 0xFF {
			s := make([]byte, i+1)
			copy(s, p)
			s[i]++
			return s
		}
	}
	return nil
}

// appendPrefixSuccessor appends prefixSuccessor(p) to dst and reports
// whether it exists.
func appendPrefixSuccessor(dst, p []byte) ([]byte, bool) {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] != 0xFF {
			n := len(dst)
			dst = append(dst, p[:i+1]...)
			dst[n+i]++
			return dst, true
		}
	}
	return dst, false
}

// tableUpperBound returns the exclusive upper bound of a table's data keys.
func tableUpperBound(table TableID) []byte {
	return prefixSuccessor(appendTablePrefix(nil, table))
}

// scanStartKey returns the first data key at or after pos, or ok=false when
// no key can follow pos in the table.
func scanStartKey(table TableID, pos PartitionPos) (k []byte, ok bool) {
	switch {
	case pos.Key == nil && pos.Inclusive:
		return appendToken(appendTablePrefix(nil, table), pos.Token), true
	case pos.Key == nil:
		if pos.Token == math.MaxInt64 {
			return nil, false
		}
		return appendToken(appendTablePrefix(nil, table), pos.Token+1), true
	case pos.Inclusive:
		return appendPartitionPrefix(nil, table, pos.Token, pos.Key), true
	default:
		return append(appendPartitionPrefix(nil, table, pos.Token, pos.Key), kindEnd), true
	}
}

// scanEndKey returns the exclusive upper bound for keys with token <= end.
func scanEndKey(table TableID, end int64) []byte {
	if end == math.MaxInt64 {
		return tableUpperBound(table)
	}
	return appendToken(appendTablePrefix(nil, table), end+1)
}

// metaKey returns the Pebble key of a metadata entry.
func metaKey(key string) []byte {
	k := make([]byte, 0, 1+len(key))
	k = append(k, prefixMeta)
	return append(k, key...)
}
