package notifications

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/smartautocheck/smartautocheck/internal/deadletter"
	"github.com/smartautocheck/smartautocheck/internal/mail"
	"github.com/smartautocheck/smartautocheck/internal/templates"
	"github.com/smartautocheck/smartautocheck/internal/topics"
	"github.com/smartautocheck/smartautocheck/tables"
)

// SenderGroup is the consumer group of the worker that performs sends, outside any Goka
// callback: a send is slow external I/O and may be retried for seconds.
const SenderGroup = "notifications-sender"

// Sender performs the intents the processor hands out and reports each outcome back to it.
type Sender struct {
	Env      templates.Env
	Provider mail.Provider
	// Status reads the notifications table, so a redelivered intent resumes where it stopped.
	Status  func(id string) (tables.Notification, bool, error)
	Produce Produce
	Now     func() time.Time
}

// Handle makes one attempt at an intent and reports its outcome. The retries are the
// processor's: it sets a durable timer that hands the intent back for the next attempt, so a
// failing recipient holds up nobody and a crash forgets no retry. Sends are idempotent on the
// notification id (the outbox keeps one file per id; SMTP carries it as Message-ID).
func (s *Sender) Handle(ctx context.Context, m deadletter.Message) error {
	var req tables.NotificationRequest
	if err := json.Unmarshal(m.Value, &req); err != nil {
		return deadletter.Permanent(err)
	}
	cur, found, err := s.Status(req.NotificationID)
	if err != nil {
		return err
	}
	attempt := max(req.Attempt, 1)
	if found && (cur.Status != tables.NotificationPending || cur.Attempts >= attempt) {
		return nil // done already, or this attempt was made and reported
	}
	msg, err := awaitRecords(ctx, func() (mail.Message, error) { return s.Env.Render(req) })
	if err != nil {
		return s.report(ctx, req.NotificationID, tables.NotificationCommand{Failed: &tables.SendFailed{
			NotificationID: req.NotificationID, Attempt: attempt, Error: err.Error(), Permanent: true, At: s.Now()}})
	}
	msg.Date = s.Now()
	id, err := s.Provider.Send(ctx, msg)
	if err != nil {
		return s.report(ctx, req.NotificationID, tables.NotificationCommand{Failed: &tables.SendFailed{
			NotificationID: req.NotificationID, Attempt: attempt, Error: err.Error(), Permanent: mail.Permanent(err), At: s.Now()}})
	}
	return s.report(ctx, req.NotificationID, tables.NotificationCommand{Sent: &tables.SendSucceeded{
		NotificationID: req.NotificationID, Subject: msg.Subject, Provider: s.Provider.Name(),
		ProviderMessageID: id, At: s.Now()}})
}

func (s *Sender) report(ctx context.Context, id string, cmd tables.NotificationCommand) error {
	b, err := json.Marshal(cmd)
	if err != nil {
		return err
	}
	return s.Produce(ctx, &kgo.Record{Topic: topics.NotificationCommands, Key: []byte(id), Value: b})
}

// awaitRecords runs f until the records it reads are visible: a view may be a moment behind the
// event that caused the notification. After half a minute the records are taken to be missing
// for good (an event about an appointment that does not exist), which no retry fixes.
func awaitRecords[T any](ctx context.Context, f func() (T, error)) (T, error) {
	wait := 50 * time.Millisecond
	deadline := time.Now().Add(30 * time.Second)
	for {
		v, err := f()
		if !errors.Is(err, templates.ErrNotYet) {
			return v, err
		}
		if time.Now().After(deadline) {
			return v, deadletter.Permanent(err)
		}
		select {
		case <-ctx.Done():
			return v, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}
