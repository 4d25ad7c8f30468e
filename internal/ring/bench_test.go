package ring

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkNaturalEndpoints measures the per-request replica lookup (binary
// search + cached replica list) for 3 and 100 nodes with 16 tokens each.
func BenchmarkNaturalEndpoints(b *testing.B) {
	for _, nodes := range []int{3, 100} {
		rng := rand.New(rand.NewPCG(1, 1))
		tm := randomRing(b, rng, nodes, 16, []string{"dc1", "dc2"}, 3)
		keys := make([]Token, 1024)
		for i := range keys {
			keys[i] = Murmur3Token(fmt.Appendf(nil, "key%d", i))
		}
		for _, s := range []ReplicationStrategy{
			NewSimpleStrategy(3),
			NewNetworkTopologyStrategy(map[string]int{"dc1": 3, "dc2": 3}),
		} {
			b.Run(fmt.Sprintf("%s/nodes=%d", s.Name()[len(classPrefix):], nodes), func(b *testing.B) {
				n := 0
				for i := 0; b.Loop(); i++ {
					n += len(s.NaturalEndpoints(tm, keys[i&1023]))
				}
				_ = n
			})
			b.Run(fmt.Sprintf("%s/nodes=%d/uncached", s.Name()[len(classPrefix):], nodes), func(b *testing.B) {
				n := 0
				for i := 0; b.Loop(); i++ {
					idx := tm.FirstTokenIndex(keys[i&1023])
					switch s := s.(type) {
					case *SimpleStrategy:
						n += len(s.compute(tm, idx))
					case *NetworkTopologyStrategy:
						n += len(s.compute(tm, idx))
					}
				}
				_ = n
			})
		}
	}
}
