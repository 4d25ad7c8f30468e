package ring

import (
	"encoding/binary"
	"math"
	"math/bits"
)

// MinToken is the minimum token of the Murmur3Partitioner. No key hashes to
// it except the empty key; it denotes the start (and end) of the ring.
const MinToken = math.MinInt64

// MaxToken is the largest token of the Murmur3Partitioner.
const MaxToken = math.MaxInt64

const (
	murmurC1 = 0x87c37b91114253d5
	murmurC2 = 0x4cf5ad432745937f
)

// Murmur3Token returns the token Cassandra's Murmur3Partitioner gives the
// partition key key (the serialized partition key: the value itself for a
// single-column key, the composite encoding otherwise).
//
// It is the first 64 bits (h1) of MurmurHash3 x64 128 with seed 0, with
// Cassandra's deviations kept: the trailing 1-15 bytes are sign-extended
// (Java bytes are signed) before being mixed in, a hash of math.MinInt64 is
// mapped to math.MaxInt64, and the empty key maps to MinToken.
func Murmur3Token(key []byte) int64 {
	if len(key) == 0 {
		return MinToken
	}
	h := Murmur3Hash(key)
	if h == math.MinInt64 {
		return math.MaxInt64
	}
	return h
}

// Murmur3Hash returns h1 of Cassandra's MurmurHash.hash3_x64_128(key, seed 0)
// without the partitioner's normalisation (see Murmur3Token).
func Murmur3Hash(key []byte) int64 {
	h1, _ := murmur3x64(key)
	return int64(h1)
}

func murmur3x64(key []byte) (h1, h2 uint64) {
	n := len(key)
	for len(key) >= 16 {
		k1 := binary.LittleEndian.Uint64(key)
		k2 := binary.LittleEndian.Uint64(key[8:])
		key = key[16:]

		k1 *= murmurC1
		k1 = bits.RotateLeft64(k1, 31)
		k1 *= murmurC2
		h1 ^= k1
		h1 = bits.RotateLeft64(h1, 27)
		h1 += h2
		h1 = h1*5 + 0x52dce729

		k2 *= murmurC2
		k2 = bits.RotateLeft64(k2, 33)
		k2 *= murmurC1
		h2 ^= k2
		h2 = bits.RotateLeft64(h2, 31)
		h2 += h1
		h2 = h2*5 + 0x38495ab5
	}

	// Tail: each byte is sign-extended to 64 bits before shifting, as in
	// Cassandra's Java code, so a byte >= 0x80 sets all higher bits.
	var k1, k2 uint64
	tail := len(key)
	if tail > 8 {
		for i := tail - 1; i >= 8; i-- {
			k2 ^= uint64(int64(int8(key[i]))) << (uint(i-8) * 8)
		}
		k2 *= murmurC2
		k2 = bits.RotateLeft64(k2, 33)
		k2 *= murmurC1
		h2 ^= k2
	}
	if tail > 0 {
		last := min(tail, 8) - 1
		for i := last; i >= 0; i-- {
			k1 ^= uint64(int64(int8(key[i]))) << (uint(i) * 8)
		}
		k1 *= murmurC1
		k1 = bits.RotateLeft64(k1, 31)
		k1 *= murmurC2
		h1 ^= k1
	}

	h1 ^= uint64(n)
	h2 ^= uint64(n)
	h1 += h2
	h2 += h1
	h1 = fmix64(h1)
	h2 = fmix64(h2)
	h1 += h2
	h2 += h1
	return h1, h2
}

func fmix64(k uint64) uint64 {
	k ^= k >> 33
	k *= 0xff51afd7ed558ccd
	k ^= k >> 33
	k *= 0xc4ceb9fe1a85ec53
	k ^= k >> 33
	return k
}
