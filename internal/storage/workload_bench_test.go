package storage

import (
	"encoding/binary"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringdb/ringdb/internal/ring"
)

// The *Workload benchmarks run the same workload as `ringdb stress` with
// its defaults (10,000 partitions x 10 rows, 100-byte values, random keys,
// 64 concurrent writers/readers, periodic sync, 64 MiB cache) directly on
// the engine, to compare the engine's throughput with the whole server's.

const (
	wlPartitions = 10000
	wlRows       = 10
	wlValue      = 100
)

func wlMutation(pk, ck int64, value []byte) *Mutation {
	key := binary.BigEndian.AppendUint64(nil, uint64(pk))
	ckKey := binary.BigEndian.AppendUint64(nil, uint64(ck)^(1<<63))
	return &Mutation{Table: tbl, Token: ring.Murmur3Token(key), Key: key, Rows: []RowUpdate{{
		Clustering: ckKey,
		Liveness:   LivenessInfo{Timestamp: time.Now().UnixMicro()},
		Cells:      []Cell{{Column: 2, Timestamp: time.Now().UnixMicro(), Value: value}},
	}}}
}

func openWorkload(b *testing.B) *Engine {
	e, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close() })
	return e
}

func BenchmarkWorkloadWrite(b *testing.B) {
	e := openWorkload(b)
	value := make([]byte, wlValue)
	var seed atomic.Uint64
	b.SetParallelism(32) // 64 goroutines on 2 CPUs
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		rng := rand.New(rand.NewPCG(seed.Add(1), 7))
		for pb.Next() {
			m := wlMutation(rng.Int64N(wlPartitions), rng.Int64N(wlRows), value)
			if err := e.Apply([]*Mutation{m}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkWorkloadRead(b *testing.B) {
	e := openWorkload(b)
	value := make([]byte, wlValue)
	for pk := int64(0); pk < wlPartitions; pk++ {
		var muts []*Mutation
		for ck := int64(0); ck < wlRows; ck++ {
			muts = append(muts, wlMutation(pk, ck, value))
		}
		if err := e.Apply(muts); err != nil {
			b.Fatal(err)
		}
	}
	if err := e.Flush(); err != nil {
		b.Fatal(err)
	}
	var seed atomic.Uint64
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		rng := rand.New(rand.NewPCG(seed.Add(1), 9))
		for pb.Next() {
			pk, ck := rng.Int64N(wlPartitions), rng.Int64N(wlRows)
			key := binary.BigEndian.AppendUint64(nil, uint64(pk))
			p := binary.BigEndian.AppendUint64(nil, uint64(ck)^(1<<63))
			q := PartitionQuery{Slices: []Slice{{Start: Bound{Prefix: p, Inclusive: true}, End: Bound{Prefix: p, Inclusive: true}}}}
			n := 0
			if err := e.ReadPartition(tbl, ring.Murmur3Token(key), key, q, func(*Row) bool { n++; return true }); err != nil {
				b.Fatal(err)
			}
			if n != 1 {
				b.Fatalf("read %d rows", n)
			}
		}
	})
}
