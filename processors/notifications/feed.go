package notifications

import (
	"context"
	"encoding/json"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/smartautocheck/smartautocheck/codecs"
	"github.com/smartautocheck/smartautocheck/internal/deadletter"
	"github.com/smartautocheck/smartautocheck/internal/templates"
	"github.com/smartautocheck/smartautocheck/internal/topics"
	"github.com/smartautocheck/smartautocheck/tables"
)

// FeedGroup is the catalog's consumer group over all six topics. It is a franz-go group because
// the topics' partition counts differ; it feeds this package's Goka group with requests.
const FeedGroup = "notifications-consumer"

// Produce writes records and returns once they are acknowledged.
type Produce func(ctx context.Context, recs ...*kgo.Record) error

// Feed handles one catalog event: it decodes it (an event that does not decode, or of another
// major version, is a dead letter) and requests each notification the event causes.
func Feed(produce Produce, records templates.Records) deadletter.Handler {
	return func(ctx context.Context, m deadletter.Message) error {
		ev, err := codecs.Decode(m.Value)
		if err != nil {
			return deadletter.Permanent(err)
		}
		reqs, err := awaitRecords(ctx, func() ([]tables.NotificationRequest, error) { return records.Requests(ev, m.Key, m.Value) })
		if err != nil {
			return err
		}
		var recs []*kgo.Record
		for _, r := range reqs {
			b, err := json.Marshal(tables.NotificationCommand{Request: &r})
			if err != nil {
				return deadletter.Permanent(err)
			}
			recs = append(recs, &kgo.Record{Topic: topics.NotificationCommands, Key: []byte(r.NotificationID), Value: b})
		}
		if len(recs) == 0 {
			return nil
		}
		return produce(ctx, recs...)
	}
}
