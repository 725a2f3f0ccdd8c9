package topics_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/smartautocheck/smartautocheck/internal/topics"
)

// cluster starts an in-process single-broker cluster and returns a function making admin
// clients for it. kadm caches metadata (ListTopics may answer from a 5 s old cache), so checks
// use a client of their own.
func cluster(t *testing.T) func() *kadm.Client {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return func() *kadm.Client {
		cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cl.Close)
		return kadm.NewClient(cl)
	}
}

// checkCatalog asserts that every topic of the catalog exists with its partitions and configs.
func checkCatalog(t *testing.T, ctx context.Context, newAdmin func() *kadm.Client, skip ...string) {
	t.Helper()
	adm := newAdmin()
	existing, err := adm.ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cfgs, err := adm.DescribeTopicConfigs(ctx, existing.Names()...)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range topics.All() {
		if len(skip) > 0 && want.Name == skip[0] {
			continue
		}
		d, ok := existing[want.Name]
		if !ok || d.Err != nil {
			t.Errorf("%s missing (%v)", want.Name, d.Err)
			continue
		}
		if got := int32(len(d.Partitions)); got != want.Partitions {
			t.Errorf("%s has %d partitions, want %d", want.Name, got, want.Partitions)
		}
		rc, err := cfgs.On(want.Name, nil)
		if err != nil {
			t.Errorf("configs of %s: %v", want.Name, err)
			continue
		}
		got := map[string]string{}
		for _, c := range rc.Configs {
			if c.Value != nil {
				got[c.Key] = *c.Value
			}
		}
		for k, v := range want.Configs() {
			if got[k] != v {
				t.Errorf("%s: %s = %q, want %q", want.Name, k, got[k], v)
			}
		}
		if got["cleanup.policy"] != want.Cleanup {
			t.Errorf("%s: cleanup.policy = %q, want %q", want.Name, got["cleanup.policy"], want.Cleanup)
		}
		if want.Cleanup == topics.Delete && got["retention.ms"] != want.Configs()["retention.ms"] {
			t.Errorf("%s: retention.ms = %q", want.Name, got["retention.ms"])
		}
	}
}

func TestEnsureCreatesCatalog(t *testing.T) {
	ctx := context.Background()
	newAdmin := cluster(t)
	adm := newAdmin()
	if err := topics.Ensure(ctx, adm); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	checkCatalog(t, ctx, newAdmin)

	// Spot-check values against the catalog rather than against Configs() alone.
	cfgs, err := newAdmin().DescribeTopicConfigs(ctx, topics.Users, topics.Table("users"))
	if err != nil {
		t.Fatal(err)
	}
	for topic, want := range map[string]map[string]string{
		topics.Users:          {"cleanup.policy": "delete", "retention.ms": "604800000"},
		topics.Table("users"): {"cleanup.policy": "compact"},
	} {
		rc, err := cfgs.On(topic, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range want {
			var got string
			for _, c := range rc.Configs {
				if c.Key == k && c.Value != nil {
					got = *c.Value
				}
			}
			if got != v {
				t.Errorf("%s: %s = %q, want %q", topic, k, got, v)
			}
		}
	}

	// Ensure is idempotent, whether its client sees the topics (it then sets their configs) or
	// still has the cached metadata of before it created them (it then meets TopicAlreadyExists).
	for name, adm := range map[string]*kadm.Client{"fresh client": newAdmin(), "same client": adm} {
		if err := topics.Ensure(ctx, adm); err != nil {
			t.Fatalf("second Ensure, %s: %v", name, err)
		}
		checkCatalog(t, ctx, newAdmin)
	}

	states, err := topics.Describe(ctx, newAdmin())
	if err != nil {
		t.Fatal(err)
	}
	if len(states) != len(topics.All()) {
		t.Fatalf("Describe gave %d states, want %d", len(states), len(topics.All()))
	}
	for _, s := range states {
		if !s.Exists || s.HasPartitions != s.Partitions || s.Configs["cleanup.policy"] != s.Cleanup {
			t.Errorf("Describe: %s exists=%v partitions=%d configs=%v", s.Name, s.Exists, s.HasPartitions, s.Configs)
		}
	}
}

func TestEnsureResetsConfigsOfExistingTopic(t *testing.T) {
	ctx := context.Background()
	newAdmin := cluster(t)
	// users-topic exists with the right partition count but the wrong retention and policy, and
	// with a setting of the operator's that the catalog does not mention.
	retention, policy, maxBytes := "1000", topics.Compact, "2048"
	resp, err := newAdmin().CreateTopic(ctx, 1, 1, map[string]*string{"retention.ms": &retention,
		"cleanup.policy": &policy, "max.message.bytes": &maxBytes}, topics.Users)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := topics.Ensure(ctx, newAdmin()); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	checkCatalog(t, ctx, newAdmin)

	// Ensure alters incrementally: settings outside the catalog are kept.
	cfgs, err := newAdmin().DescribeTopicConfigs(ctx, topics.Users)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := cfgs.On(topics.Users, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got string
	for _, c := range rc.Configs {
		if c.Key == "max.message.bytes" && c.Value != nil {
			got = *c.Value
		}
	}
	if got != maxBytes {
		t.Errorf("max.message.bytes = %q after Ensure, want the operator's %q kept", got, maxBytes)
	}
}

func TestEnsurePartitionMismatch(t *testing.T) {
	ctx := context.Background()
	newAdmin := cluster(t)
	resp, err := newAdmin().CreateTopic(ctx, 3, 1, nil, topics.Users)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatal(err)
	}
	err = topics.Ensure(ctx, newAdmin())
	if !errors.Is(err, topics.ErrPartitionMismatch) {
		t.Fatalf("Ensure = %v, want ErrPartitionMismatch", err)
	}
	if !strings.Contains(err.Error(), topics.Users) || !strings.Contains(err.Error(), "3 partitions") {
		t.Errorf("error %q does not name %s and its partition count", err, topics.Users)
	}
	// The mismatched topic is left as it is; the others are still created.
	existing, lerr := newAdmin().ListTopics(ctx, topics.Users)
	if lerr != nil {
		t.Fatal(lerr)
	}
	if n := len(existing[topics.Users].Partitions); n != 3 {
		t.Errorf("%s now has %d partitions, want 3 (untouched)", topics.Users, n)
	}
	checkCatalog(t, ctx, newAdmin, topics.Users)
	// And it keeps failing until someone fixes the topic.
	if err := topics.Ensure(ctx, newAdmin()); !errors.Is(err, topics.ErrPartitionMismatch) {
		t.Errorf("second Ensure = %v, want ErrPartitionMismatch", err)
	}
}

func TestReplicationFactor(t *testing.T) {
	tests := []struct {
		brokers int
		want    int16
	}{{-1, 1}, {0, 1}, {1, 1}, {2, 2}, {3, 3}, {4, 3}, {5, 3}}
	for _, tc := range tests {
		if got := topics.ReplicationFactor(tc.brokers); got != tc.want {
			t.Errorf("ReplicationFactor(%d) = %d, want %d", tc.brokers, got, tc.want)
		}
	}
}

func TestCatalog(t *testing.T) {
	seen := map[string]bool{}
	for _, tp := range topics.All() {
		if seen[tp.Name] {
			t.Errorf("%s listed twice", tp.Name)
		}
		seen[tp.Name] = true
		if got, ok := topics.ByName(tp.Name); !ok || got != tp {
			t.Errorf("ByName(%s) = %+v, %v", tp.Name, got, ok)
		}
		if tp.Partitions < 1 || (tp.Cleanup == topics.Delete) != (tp.Retention > 0) {
			t.Errorf("%s: partitions=%d cleanup=%s retention=%v", tp.Name, tp.Partitions, tp.Cleanup, tp.Retention)
		}
	}
	if _, ok := topics.ByName("nope"); ok {
		t.Error("ByName(nope) found a topic")
	}
	want := []string{topics.Appointments, topics.Certificates, topics.Inspections, topics.Notifications, topics.Payments, topics.Users}
	if got := topics.CatalogNames(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("CatalogNames = %v, want %v", got, want)
	}
	// Each Goka group's input and table are copartitioned.
	for input, table := range map[string]string{
		topics.UserCommands:         topics.Table("users"),
		topics.EmailClaims:          topics.Table("emails"),
		topics.NotificationCommands: topics.Table("notifications"),
	} {
		a, _ := topics.ByName(input)
		b, _ := topics.ByName(table)
		if a.Partitions != b.Partitions {
			t.Errorf("%s has %d partitions, its table %s %d", input, a.Partitions, table, b.Partitions)
		}
	}
}
