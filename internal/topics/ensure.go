package topics

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// ErrPartitionMismatch means a topic exists with another partition count than the catalog's.
// Using it would silently break keyed state (a key would hash to another partition), so it is
// reported and never used.
var ErrPartitionMismatch = errors.New("partition count differs from the catalog")

// ReplicationFactor is what a cluster of n brokers can hold: 3 copies at most, one per broker.
func ReplicationFactor(brokers int) int16 {
	if brokers >= 3 {
		return 3
	}
	if brokers < 1 {
		return 1
	}
	return int16(brokers)
}

// Ensure creates every topic of the catalog that the cluster lacks, with its partitions and
// configs, and sets the configs of those that exist. It is idempotent. A topic that exists with
// a different partition count makes it fail with ErrPartitionMismatch naming every such topic.
func Ensure(ctx context.Context, adm *kadm.Client) error {
	brokers, err := adm.ListBrokers(ctx)
	if err != nil {
		return fmt.Errorf("listing brokers: %w", err)
	}
	rf := ReplicationFactor(len(brokers))
	existing, err := adm.ListTopics(ctx)
	if err != nil {
		return fmt.Errorf("listing topics: %w", err)
	}
	var mismatched []string
	for _, t := range All() {
		cfg := ptrConfigs(t.Configs())
		d, ok := existing[t.Name]
		if !ok || errors.Is(d.Err, kerr.UnknownTopicOrPartition) {
			resp, err := adm.CreateTopic(ctx, t.Partitions, rf, cfg, t.Name)
			if err == nil {
				err = resp.Err
			}
			if err == nil {
				continue
			}
			if !errors.Is(err, kerr.TopicAlreadyExists) {
				return fmt.Errorf("creating %s: %w", t.Name, err)
			}
			// Someone created it since we listed: check what they created like any existing topic.
			if d, err = waitListed(ctx, adm, t.Name); err != nil {
				return err
			}
		}
		if got := int32(len(d.Partitions)); got != t.Partitions {
			mismatched = append(mismatched, fmt.Sprintf("%s has %d partitions, the catalog says %d", t.Name, got, t.Partitions))
			continue
		}
		if err := setConfigs(ctx, adm, t); err != nil {
			return err
		}
	}
	if len(mismatched) > 0 {
		sort.Strings(mismatched)
		return fmt.Errorf("%w: %v", ErrPartitionMismatch, mismatched)
	}
	return nil
}

// waitListed lists one topic until the metadata shows it: kadm may answer from a metadata cache
// a few seconds old that predates the topic.
func waitListed(ctx context.Context, adm *kadm.Client, name string) (kadm.TopicDetail, error) {
	for {
		listed, err := adm.ListTopics(ctx, name)
		if err != nil {
			return kadm.TopicDetail{}, fmt.Errorf("listing %s: %w", name, err)
		}
		if d, ok := listed[name]; ok && d.Err == nil {
			return d, nil
		}
		select {
		case <-ctx.Done():
			return kadm.TopicDetail{}, fmt.Errorf("%s exists but is not listed: %w", name, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func setConfigs(ctx context.Context, adm *kadm.Client, t Topic) error {
	var alters []kadm.AlterConfig
	for k, v := range t.Configs() {
		alters = append(alters, kadm.AlterConfig{Op: kadm.SetConfig, Name: k, Value: &v})
	}
	resps, err := adm.AlterTopicConfigs(ctx, alters, t.Name)
	if err == nil {
		for _, r := range resps {
			if r.Err != nil {
				err = r.Err
			}
		}
	}
	if err != nil {
		return fmt.Errorf("setting configs of %s: %w", t.Name, err)
	}
	return nil
}

func ptrConfigs(m map[string]string) map[string]*string {
	out := make(map[string]*string, len(m))
	for k, v := range m {
		out[k] = &v
	}
	return out
}

// State is a catalog topic as the cluster has it.
type State struct {
	Topic
	Exists        bool
	HasPartitions int32
	Configs       map[string]string
}

// Describe reads the cluster's view of every catalog topic, for `topics list`.
func Describe(ctx context.Context, adm *kadm.Client) ([]State, error) {
	existing, err := adm.ListTopics(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing topics: %w", err)
	}
	cfgs, err := adm.DescribeTopicConfigs(ctx, existing.Names()...)
	if err != nil {
		return nil, fmt.Errorf("describing topic configs: %w", err)
	}
	var out []State
	for _, t := range All() {
		s := State{Topic: t, Configs: map[string]string{}}
		if d, ok := existing[t.Name]; ok && d.Err == nil {
			s.Exists, s.HasPartitions = true, int32(len(d.Partitions))
			if rc, err := cfgs.On(t.Name, nil); err == nil {
				for _, c := range rc.Configs {
					if c.Value != nil {
						s.Configs[c.Key] = *c.Value
					}
				}
			}
		}
		out = append(out, s)
	}
	return out, nil
}
