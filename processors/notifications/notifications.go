// Package notifications is the notifications processor: it owns the notifications table (keyed
// by notificationId), so each (source event, template, recipient) is sent at most once, hands new
// requests to the sender as intents, tallies the sender's reports, emits notification.sent and
// notification.failed, and asks for an admin alert when a notification fails for good.
package notifications

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/lovoo/goka"

	"github.com/smartautocheck/smartautocheck/codecs"
	"github.com/smartautocheck/smartautocheck/internal/deadletter"
	"github.com/smartautocheck/smartautocheck/internal/gokactx"
	"github.com/smartautocheck/smartautocheck/internal/topics"
	"github.com/smartautocheck/smartautocheck/tables"
)

// Names of the group, its table, its input and outputs.
const (
	Group    goka.Group  = "notifications"
	Commands goka.Stream = topics.NotificationCommands
	Intents  goka.Stream = topics.NotificationIntents
	Events   goka.Stream = topics.Notifications
)

// Table is the notifications table.
var Table = goka.GroupTable(Group)

// AlertTemplate is the template of the admin's alert about a notification that failed for good.
const AlertTemplate = "notification-failed-alert"

// MaxAttempts is one send and three retries.
const MaxAttempts = 4

// Options configure the processor.
type Options struct {
	Now    func() time.Time
	Policy deadletter.Policy
	// AdminEmail receives alerts; without one, a permanent failure is only an event.
	AdminEmail string
	// RetryBackoff is the wait before the first retry of a failed send; it doubles after each
	// (default 1 s).
	RetryBackoff time.Duration
}

// Graph is the processor's topology.
func Graph(o Options) *goka.GroupGraph {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.RetryBackoff <= 0 {
		o.RetryBackoff = time.Second
	}
	p := &proc{o: o}
	return goka.DefineGroup(Group,
		goka.Input(Commands, new(codecs.Raw), o.Policy.Goka(p.handle)),
		goka.Persist(new(codecs.JSON[tables.Notification])),
		goka.Output(Intents, new(codecs.Raw)),
		goka.Output(Events, new(codecs.Raw)),
		// Alerts are requests like any other, so they are deduplicated and retried the same way.
		goka.Output(Commands, new(codecs.Raw)),
		goka.Output(topics.TimerCommands, new(codecs.Raw)),
		deadletter.Output(),
	)
}

type proc struct{ o Options }

var errEmptyCommand = errors.New("notification command names no action")

func (p *proc) handle(ctx goka.Context, raw []byte) error {
	cmd, cur, applied, err := gokactx.Begin[tables.NotificationCommand, tables.Notification](ctx, raw)
	if err != nil || applied {
		return err
	}
	now := p.o.Now().UTC()
	var ch tables.NotificationChange
	switch {
	case cmd.Request != nil:
		ch = tables.Request(cur, *cmd.Request, now)
	case cmd.Sent != nil:
		ch = tables.Delivered(cur, *cmd.Sent)
	case cmd.Failed != nil:
		ch = tables.FailedAttempt(cur, *cmd.Failed, MaxAttempts, p.o.RetryBackoff)
	default:
		return deadletter.Permanent(errEmptyCommand)
	}
	return p.apply(ctx, ch, now)
}

func (p *proc) apply(ctx goka.Context, ch tables.NotificationChange, now time.Time) error {
	n := ch.Row
	if n == nil {
		return nil
	}
	var event codecs.Data
	switch {
	case ch.Sent:
		event = codecs.NotificationSent{NotificationID: n.NotificationID, Type: n.Channel, Recipient: n.Recipient,
			Subject: n.Subject, Template: n.Template, Status: tables.NotificationSent, Provider: n.Provider,
			ProviderMessageID: n.ProviderMessageID, SentAt: *n.SentAt}
	case ch.Failed:
		event = codecs.NotificationFailed{NotificationID: n.NotificationID, Type: n.Channel, Recipient: n.Recipient,
			Error: n.LastError, RetryCount: n.Attempts - 1, FailedAt: now}
	}
	var envs []codecs.Envelope
	if event != nil {
		var err error
		if envs, err = gokactx.Envelopes(now, event); err != nil {
			return err
		}
	}
	var alert []byte
	if ch.GaveUp && n.Template != AlertTemplate && p.o.AdminEmail != "" {
		var err error
		if alert, err = alertRequest(*n, p.o.AdminEmail); err != nil {
			return err
		}
	}
	var out gokactx.Out
	if ch.Intent {
		if err := out.Emit(Intents, n.NotificationID, n.NotificationRequest); err != nil {
			return err
		}
	}
	for _, env := range envs {
		if err := out.Emit(Events, n.NotificationID, env); err != nil {
			return err
		}
	}
	if alert != nil {
		if err := out.Emit(Commands, tables.NotificationID(n.NotificationID, AlertTemplate, p.o.AdminEmail), alert); err != nil {
			return err
		}
	}
	if ch.Retry {
		// The next attempt is a durable timer that hands the intent back to the sender.
		next := n.NotificationRequest
		next.Attempt = n.Attempts + 1
		b, err := json.Marshal(next)
		if err != nil {
			return err
		}
		id := fmt.Sprintf("%s/attempt-%d", n.NotificationID, next.Attempt)
		if err := out.Emit(topics.TimerCommands, tables.TimerKey(ch.RetryAt, id), tables.TimerCommand{Schedule: &tables.Timer{
			Due: ch.RetryAt, Topic: string(Intents), Key: n.NotificationID, Value: b}}); err != nil {
			return err
		}
	}
	row := *n
	row.Journal = out.Journal(ctx, row.Journal)
	ctx.SetValue(row)
	out.Send(ctx)
	return nil
}

// alertRequest asks for the admin's alert; its source is the failed notification itself.
func alertRequest(failed tables.Notification, admin string) ([]byte, error) {
	src, err := json.Marshal(failed)
	if err != nil {
		return nil, err
	}
	req := tables.NotificationRequest{
		NotificationID: tables.NotificationID(failed.NotificationID, AlertTemplate, admin),
		Template:       AlertTemplate, Channel: "email", Recipient: admin,
		SourceEventID: failed.NotificationID, SourceEventType: "notification.failed", Source: src,
	}
	return json.Marshal(tables.NotificationCommand{Request: &req})
}
