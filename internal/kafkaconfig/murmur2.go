package kafkaconfig

import "hash"

// Murmur2 returns a hash.Hash32 for Goka whose Sum32 is the Java client's default partitioner
// hash, murmur2 masked with 0x7fffffff. Sarama takes |int32(Sum32()) % n|; with the sign bit
// already cleared that equals Java's (murmur2 & 0x7fffffff) % n, so a record keyed K by kcat,
// franz-go or the Java client lands on the partition whose Goka processor owns K.
func Murmur2() hash.Hash32 { return &murmur2{} }

type murmur2 struct{ buf []byte }

func (m *murmur2) Write(p []byte) (int, error) { m.buf = append(m.buf, p...); return len(p), nil }
func (m *murmur2) Sum(b []byte) []byte {
	s := m.Sum32()
	return append(b, byte(s>>24), byte(s>>16), byte(s>>8), byte(s))
}
func (m *murmur2) Reset()         { m.buf = m.buf[:0] }
func (m *murmur2) Size() int      { return 4 }
func (m *murmur2) BlockSize() int { return 4 }
func (m *murmur2) Sum32() uint32  { return Murmur2Sum(m.buf) & 0x7fffffff }

// Murmur2Sum is Kafka's murmur2 (seed 0x9747b28c), as org.apache.kafka.common.utils.Utils.murmur2.
func Murmur2Sum(data []byte) uint32 {
	const (
		seed = 0x9747b28c
		m    = 0x5bd1e995
		r    = 24
	)
	n := len(data)
	h := uint32(seed) ^ uint32(n)
	for i := 0; i+4 <= n; i += 4 {
		k := uint32(data[i]) | uint32(data[i+1])<<8 | uint32(data[i+2])<<16 | uint32(data[i+3])<<24
		k *= m
		k ^= k >> r
		k *= m
		h *= m
		h ^= k
	}
	tail := data[n&^3:]
	switch len(tail) {
	case 3:
		h ^= uint32(tail[2]) << 16
		fallthrough
	case 2:
		h ^= uint32(tail[1]) << 8
		fallthrough
	case 1:
		h ^= uint32(tail[0])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return h
}

// Partition is the Java client's default partition for a key among n partitions.
func Partition(key []byte, n int32) int32 { return int32(Murmur2Sum(key)&0x7fffffff) % n }
