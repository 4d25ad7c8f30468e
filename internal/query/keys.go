package query

import (
	"bytes"
	"encoding/binary"
	"sort"

	"github.com/ringdb/ringdb/internal/cqlerr"
	"github.com/ringdb/ringdb/internal/ring"
	"github.com/ringdb/ringdb/internal/schema"
	"github.com/ringdb/ringdb/internal/types"
)

// partitionKey is a serialized partition key and its token.
type partitionKey struct {
	key   []byte
	token int64
}

// serializePartitionKey builds the partition key bytes Cassandra hashes:
// the value itself for a single column, else CompositeType's encoding
// (per component: unsigned short length, bytes, end-of-component 0).
func serializePartitionKey(vals [][]byte) []byte {
	if len(vals) == 1 {
		return vals[0]
	}
	n := 0
	for _, v := range vals {
		n += 3 + len(v)
	}
	out := make([]byte, 0, n)
	for _, v := range vals {
		out = binary.BigEndian.AppendUint16(out, uint16(len(v)))
		out = append(out, v...)
		out = append(out, 0)
	}
	return out
}

// splitPartitionKey is the inverse of serializePartitionKey.
func splitPartitionKey(t *schema.Table, key []byte) ([][]byte, error) {
	if len(t.PartitionKey) == 1 {
		return [][]byte{key}, nil
	}
	out := make([][]byte, 0, len(t.PartitionKey))
	for len(key) > 0 {
		if len(key) < 2 {
			return nil, cqlerr.Serverf("corrupt composite partition key")
		}
		n := int(binary.BigEndian.Uint16(key))
		if len(key) < 3+n {
			return nil, cqlerr.Serverf("corrupt composite partition key")
		}
		out = append(out, key[2:2+n])
		key = key[3+n:]
	}
	if len(out) != len(t.PartitionKey) {
		return nil, cqlerr.Serverf("corrupt composite partition key")
	}
	return out, nil
}

func makePartitionKey(vals [][]byte) partitionKey {
	k := serializePartitionKey(vals)
	return partitionKey{key: k, token: ring.Murmur3Token(k)}
}

// cartesian expands per-column value lists into every combination.
func cartesian(lists [][][]byte, limit int) ([][][]byte, error) {
	combos := [][][]byte{nil}
	for _, l := range lists {
		next := make([][][]byte, 0, len(combos)*len(l))
		for _, c := range combos {
			for _, v := range l {
				cc := make([][]byte, len(c), len(c)+1)
				copy(cc, c)
				next = append(next, append(cc, v))
			}
		}
		if len(next) > limit {
			return nil, cqlerr.Invalidf("IN restrictions produce too many combinations (%d > %d)", len(next), limit)
		}
		combos = next
	}
	return combos, nil
}

// sortedPartitionKeys builds the distinct partition keys of value
// combinations in token order.
func sortedPartitionKeys(combos [][][]byte) []partitionKey {
	out := make([]partitionKey, 0, len(combos))
	for _, c := range combos {
		out = append(out, makePartitionKey(c))
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].token != out[j].token {
			return out[i].token < out[j].token
		}
		return bytes.Compare(out[i].key, out[j].key) < 0
	})
	dedup := out[:0]
	for i, k := range out {
		if i > 0 && k.token == out[i-1].token && bytes.Equal(k.key, out[i-1].key) {
			continue
		}
		dedup = append(dedup, k)
	}
	return dedup
}

// encodeClustering order-encodes clustering values (a full key or prefix).
func encodeClustering(t *schema.Table, vals [][]byte) []byte {
	var out []byte
	for i, v := range vals {
		c := t.Clustering[i]
		out = types.AppendKey(out, c.Type, v, c.Desc)
	}
	return out
}

// decodeClustering decodes an order-encoded full clustering key.
func decodeClustering(t *schema.Table, b []byte, dst [][]byte) ([][]byte, error) {
	dst = dst[:0]
	for _, c := range t.Clustering {
		v, rest, err := types.DecodeKey(c.Type, b, c.Desc)
		if err != nil {
			return nil, cqlerr.Serverf("corrupt clustering key: %v", err)
		}
		dst = append(dst, v)
		b = rest
	}
	return dst, nil
}
