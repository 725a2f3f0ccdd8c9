// Package kafkaconfig holds the Kafka client settings every part of SmartAutoCheck shares, each
// chosen on purpose (see FACTS.md in the project's specification for the measurements): Goka's
// sarama defaults lose commands and add 100 ms per hop, so they are never used as they come.
package kafkaconfig

import (
	"path/filepath"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Cluster is where the brokers are and where this instance keeps its local state.
type Cluster struct {
	Brokers []string
	// StateDir holds this instance's Goka storage, one folder per group and per view.
	StateDir string
	// ClientID names this instance to the brokers.
	ClientID string
	// Replication is the replication factor of topics Goka creates itself.
	Replication int
}

// Sarama returns the sarama settings for Goka processors, views and emitters.
func Sarama(clientID string) *sarama.Config {
	c := goka.DefaultConfig()
	c.ClientID = clientID
	// Kafka 4 refuses protocol versions older than 2.1.
	c.Version = sarama.V3_0_0_0
	// A group joining for the first time reads what was emitted before it existed: with the
	// default (newest) commands emitted during start-up were silently skipped.
	c.Consumer.Offsets.Initial = sarama.OffsetOldest
	// Flush every message at once and fetch with a short wait: the default 100 ms linger made
	// each command round trip cost 200 ms; this makes it about 1 ms.
	c.Producer.Flush.Frequency = 0
	c.Producer.Flush.Bytes = 0
	c.Producer.Flush.Messages = 0
	c.Consumer.MaxWaitTime = 5 * time.Millisecond
	// Commit processed offsets within 20 ms instead of sarama's 1 s: after a crash, inputs past
	// the last commit come again, and their journaled emits are sent again (same event ids),
	// so the window stays short. Idle groups send no commits.
	c.Consumer.Offsets.AutoCommit.Interval = 20 * time.Millisecond
	// Every write is acknowledged by all in-sync replicas; the idempotent producer keeps a
	// retried batch from being written twice.
	c.Producer.RequiredAcks = sarama.WaitForAll
	c.Producer.Idempotent = true
	c.Net.MaxOpenRequests = 1
	c.Producer.Compression = sarama.CompressionNone
	// Rebalances finish sooner than with sarama's 10 s session: a stopped instance's partitions
	// move to the others within seconds.
	c.Consumer.Group.Session.Timeout = 6 * time.Second
	c.Consumer.Group.Heartbeat.Interval = time.Second
	c.Consumer.Group.Rebalance.Timeout = 10 * time.Second
	c.Metadata.RefreshFrequency = time.Minute
	return c
}

// topicManager creates Goka's tables with the catalog's settings should they be missing; the
// catalog's `topics ensure` runs first, so normally it only checks them.
func topicManager(c *sarama.Config, replication int) goka.TopicManagerBuilder {
	tm := goka.NewTopicManagerConfig()
	tm.Table.Replication = replication
	tm.Stream.Replication = replication
	tm.Stream.Retention = 7 * 24 * time.Hour
	return goka.TopicManagerBuilderWithConfig(c, tm)
}

// ProcessorOptions are the options of one Goka group run by this instance.
// Every builder gets its own sarama config: goka's builders write into the config they are
// given (the client id), and one shared between them is a data race.
func (cl Cluster) ProcessorOptions(group goka.Group) []goka.ProcessorOption {
	return []goka.ProcessorOption{
		goka.WithHasher(Murmur2),
		goka.WithClientID(cl.ClientID),
		goka.WithStorageBuilder(storage.DefaultBuilder(filepath.Join(cl.StateDir, "groups", string(group)))),
		goka.WithTopicManagerBuilder(topicManager(Sarama(cl.ClientID), cl.Replication)),
		goka.WithConsumerGroupBuilder(goka.ConsumerGroupBuilderWithConfig(Sarama(cl.ClientID))),
		goka.WithConsumerSaramaBuilder(goka.SaramaConsumerBuilderWithConfig(Sarama(cl.ClientID))),
		goka.WithProducerBuilder(goka.ProducerBuilderWithConfig(Sarama(cl.ClientID))),
	}
}

// ViewOptions are the options of a Goka view of one table.
func (cl Cluster) ViewOptions(table goka.Table, opts ...goka.ViewOption) []goka.ViewOption {
	return append([]goka.ViewOption{
		goka.WithViewHasher(Murmur2),
		goka.WithViewClientID(cl.ClientID),
		goka.WithViewStorageBuilder(storage.DefaultBuilder(filepath.Join(cl.StateDir, "views", string(table)))),
		goka.WithViewTopicManagerBuilder(topicManager(Sarama(cl.ClientID), cl.Replication)),
		goka.WithViewConsumerSaramaBuilder(goka.SaramaConsumerBuilderWithConfig(Sarama(cl.ClientID))),
		// A view that loses its connection reconnects instead of stopping the service.
		goka.WithViewAutoReconnect(),
	}, opts...)
}

// EmitterOptions are the options of a Goka emitter.
func (cl Cluster) EmitterOptions() []goka.EmitterOption {
	return []goka.EmitterOption{
		goka.WithEmitterHasher(Murmur2),
		goka.WithEmitterClientID(cl.ClientID),
		goka.WithEmitterTopicManagerBuilder(topicManager(Sarama(cl.ClientID), cl.Replication)),
		goka.WithEmitterProducerBuilder(goka.ProducerBuilderWithConfig(Sarama(cl.ClientID))),
	}
}

// Franz returns the franz-go options shared by every kgo client: the sticky-key partitioner
// hashes keys with murmur2 exactly like Goka's hasher above, acks from all replicas, and an
// idempotent producer with no linger, for latency.
func (cl Cluster) Franz(opts ...kgo.Opt) []kgo.Opt {
	return append([]kgo.Opt{
		kgo.SeedBrokers(cl.Brokers...),
		kgo.ClientID(cl.ClientID),
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(0),
		kgo.FetchMaxWait(10 * time.Millisecond),
	}, opts...)
}
