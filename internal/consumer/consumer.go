// Package consumer runs a plain franz-go consumer group under the dead-letter middleware, for the
// groups that cannot be Goka groups: notifications-consumer reads all six catalog topics, whose
// partition counts differ (Goka requires copartitioned inputs), and the sender performs effects.
// Offsets are committed only after a record's handling (or parking) is done: at-least-once.
package consumer

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/smartautocheck/smartautocheck/internal/deadletter"
	"github.com/smartautocheck/smartautocheck/internal/kafkaconfig"
	"github.com/smartautocheck/smartautocheck/internal/topics"
)

// Config describes one group.
type Config struct {
	Group   string
	Topics  []string
	Handler deadletter.Handler
	Policy  deadletter.Policy
	// OnRecord is called after each record is done with (handled or parked), for metrics.
	OnRecord func()
}

// Consumer is a running group member.
type Consumer struct {
	cfg    Config
	cl     *kgo.Client
	handle deadletter.Handler
	ready  atomic.Bool
}

// New joins the group (lazily, on Run). The client is also the producer of the handler's
// outputs, so handlers use Client to produce.
func New(cluster kafkaconfig.Cluster, cfg Config) (*Consumer, error) {
	c := &Consumer{cfg: cfg}
	cl, err := kgo.NewClient(cluster.Franz(
		kgo.ConsumerGroup(cfg.Group),
		kgo.ConsumeTopics(cfg.Topics...),
		kgo.DisableAutoCommit(),
		// Commits happen between polls; holding a rebalance until the current batch is committed
		// keeps a partition's records from being handled by two members at once.
		kgo.BlockRebalanceOnPoll(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.OnPartitionsAssigned(func(context.Context, *kgo.Client, map[string][]int32) { c.ready.Store(true) }),
	)...)
	if err != nil {
		return nil, fmt.Errorf("consumer %s: %w", cfg.Group, err)
	}
	c.cl = cl
	c.handle = cfg.Policy.Wrap(cfg.Handler, c.park)
	return c, nil
}

// Client is the group's Kafka client, for handlers that produce.
func (c *Consumer) Client() *kgo.Client { return c.cl }

// Ready tells whether the member has received its partitions.
func (c *Consumer) Ready() bool { return c.ready.Load() }

func (c *Consumer) park(ctx context.Context, l deadletter.Letter) error {
	b, err := json.Marshal(l)
	if err != nil {
		return err
	}
	return c.cl.ProduceSync(ctx, &kgo.Record{Topic: topics.DeadLetters, Key: []byte(l.Key), Value: b}).FirstErr()
}

// Run consumes until ctx ends. A record that can neither be handled nor parked (the broker is
// unreachable) is tried again until it can be: the partition waits rather than skipping it.
func (c *Consumer) Run(ctx context.Context) error {
	defer func() {
		// With BlockRebalanceOnPoll, leaving the group waits for the poll to be released.
		c.cl.AllowRebalance()
		c.cl.Close()
	}()
	for {
		fetches := c.cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil
		}
		// Fetch errors other than a closed client are retried by kgo itself.
		var done []*kgo.Record
		fetches.EachRecord(func(r *kgo.Record) {
			m := deadletter.Message{Origin: deadletter.Origin{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset,
				Key: string(r.Key), Group: c.cfg.Group}, Value: r.Value}
			for c.handle(ctx, m) != nil && ctx.Err() == nil {
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
			}
			if ctx.Err() == nil {
				done = append(done, r)
				if c.cfg.OnRecord != nil {
					c.cfg.OnRecord()
				}
			}
		})
		// A failed commit only means these records come again, which handlers tolerate.
		if len(done) > 0 {
			_ = c.cl.CommitRecords(ctx, done...)
		}
		c.cl.AllowRebalance()
	}
}
