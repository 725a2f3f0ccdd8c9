package kafkaconfig

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestMurmur2SumKafkaVectors uses the vectors of Kafka's own
// org.apache.kafka.common.utils.UtilsTest#testMurmur2, which are Java ints.
func TestMurmur2SumKafkaVectors(t *testing.T) {
	tests := []struct {
		in   string
		want int32
	}{
		{"21", -973932308},
		{"foobar", -790332482},
		{"a-little-bit-long-string", -985981536},
		{"a-little-bit-longer-string", -1486304829},
		{"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
		{"abc", 479470107},
	}
	for _, tc := range tests {
		if got := int32(Murmur2Sum([]byte(tc.in))); got != tc.want {
			t.Errorf("Murmur2Sum(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

// randomKeys returns keys of every tail length (0..3 extra bytes), including empty and
// binary ones, deterministically.
func randomKeys(n int) [][]byte {
	r := rand.New(rand.NewPCG(1, 2))
	keys := [][]byte{{}, []byte("a"), []byte("user-uuid-123"), []byte("jane@example.com")}
	for len(keys) < n {
		k := make([]byte, r.IntN(64))
		for i := range k {
			k[i] = byte(r.UintN(256))
		}
		keys = append(keys, k)
	}
	return keys
}

var partitionCounts = []int{1, 2, 3, 7}

// TestPartitionMatchesFranzGo checks that Partition is what franz-go's sticky-key partitioner
// (the one Franz configures) picks for keyed records.
func TestPartitionMatchesFranzGo(t *testing.T) {
	p := kgo.StickyKeyPartitioner(nil).ForTopic("t")
	spread := map[int]map[int32]bool{}
	for _, key := range randomKeys(2000) {
		if len(key) == 0 {
			continue // franz-go treats an empty key like no key: sticky, not hashed
		}
		for _, n := range partitionCounts {
			want := p.Partition(&kgo.Record{Topic: "t", Key: key}, n)
			got := Partition(key, int32(n))
			if int(got) != want {
				t.Fatalf("Partition(%x, %d) = %d, franz-go picks %d", key, n, got, want)
			}
			if spread[n] == nil {
				spread[n] = map[int32]bool{}
			}
			spread[n][got] = true
		}
	}
	for _, n := range partitionCounts {
		if len(spread[n]) != n {
			t.Errorf("with %d partitions only %d were used", n, len(spread[n]))
		}
	}
}

// gokaPartition is how Goka's processor and view (and sarama's hash partitioner, which Goka's
// producer uses) turn a hasher's Sum32 into a partition.
func gokaPartition(key []byte, n int32) int32 {
	h := Murmur2()
	h.Write(key)
	p := int32(h.Sum32()) % n
	if p < 0 {
		p = -p
	}
	return p
}

func TestGokaHashingMatchesPartition(t *testing.T) {
	for _, key := range randomKeys(2000) {
		for _, n := range partitionCounts {
			if got, want := gokaPartition(key, int32(n)), Partition(key, int32(n)); got != want {
				t.Fatalf("Goka puts %x on %d of %d, Partition says %d", key, got, n, want)
			}
		}
	}
}

func TestSaramaPartitionerMatchesPartition(t *testing.T) {
	p := sarama.NewCustomHashPartitioner(Murmur2)("t")
	for _, key := range randomKeys(2000) {
		if len(key) == 0 {
			continue // sarama spreads records without a key at random
		}
		for _, n := range partitionCounts {
			got, err := p.Partition(&sarama.ProducerMessage{Topic: "t", Key: sarama.ByteEncoder(key)}, int32(n))
			if err != nil {
				t.Fatal(err)
			}
			if want := Partition(key, int32(n)); got != want {
				t.Fatalf("sarama puts %x on %d of %d, Partition says %d", key, got, n, want)
			}
		}
	}
}

func TestMurmur2Hasher(t *testing.T) {
	h := Murmur2()
	if h.Size() != 4 || h.BlockSize() != 4 {
		t.Errorf("Size, BlockSize = %d, %d", h.Size(), h.BlockSize())
	}
	// -790332482 has the sign bit set: Sum32 must clear it.
	h.Write([]byte("foo"))
	h.Write([]byte("bar"))
	foobar := int32(-790332482)
	want := uint32(foobar) & 0x7fffffff
	if got := h.Sum32(); got != want {
		t.Errorf("Sum32 after writing foo, bar = %d, want %d", got, want)
	}
	if got := h.Sum([]byte{0xaa}); len(got) != 5 || got[0] != 0xaa || binary.BigEndian.Uint32(got[1:]) != want {
		t.Errorf("Sum = %x, want aa followed by %08x", got, want)
	}
	h.Reset()
	h.Write([]byte("abc"))
	if got := h.Sum32(); got != 479470107 {
		t.Errorf("Sum32 after Reset and abc = %d, want 479470107", got)
	}
}
