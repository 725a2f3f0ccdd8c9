// Package appointments is the appointments processor (the catalog's appointments-consumer
// group): it owns the appointments table (keyed by appointmentId), applies booking commands,
// follows payments-topic, and drives the booking saga — the slot's place, the payment window,
// confirmation, cancellation with its refund, check-in and the reminder.
package appointments

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/lovoo/goka"

	"github.com/smartautocheck/smartautocheck/codecs"
	"github.com/smartautocheck/smartautocheck/internal/deadletter"
	"github.com/smartautocheck/smartautocheck/internal/gokactx"
	"github.com/smartautocheck/smartautocheck/internal/topics"
	"github.com/smartautocheck/smartautocheck/processors/users"
	"github.com/smartautocheck/smartautocheck/tables"
)

// Names of the group, its table, inputs and outputs.
const (
	Group    goka.Group  = topics.GroupAppointments
	Commands goka.Stream = topics.AppointmentCommands
	Payments goka.Stream = topics.Payments
	Events   goka.Stream = topics.Appointments
)

// Table is the appointments table.
var Table = goka.GroupTable(Group)

// ReminderTemplate is the template of the SMS sent 24 hours before a slot.
const ReminderTemplate = "appointment-reminder"

// Options configure the processor.
type Options struct {
	Now    func() time.Time
	Policy deadletter.Policy
}

// Graph is the processor's topology.
func Graph(o Options) *goka.GroupGraph {
	if o.Now == nil {
		o.Now = time.Now
	}
	p := &proc{now: o.Now}
	return goka.DefineGroup(Group,
		goka.Input(Commands, new(codecs.Raw), o.Policy.Goka(p.command)),
		goka.Input(Payments, new(codecs.Raw), o.Policy.Goka(p.payment)),
		// Only customers book: the view checked it, the processor checks the account's role again
		// against the users table when the booking is applied.
		goka.Lookup(users.Table, new(codecs.JSON[tables.User])),
		goka.Persist(new(codecs.JSON[tables.Appointment])),
		goka.Output(Events, new(codecs.Raw)),
		goka.Output(topics.SlotCommands, new(codecs.Raw)),
		goka.Output(topics.TimerCommands, new(codecs.Raw)),
		goka.Output(topics.PaymentCommands, new(codecs.Raw)),
		goka.Output(topics.NotificationCommands, new(codecs.Raw)),
		deadletter.Output(),
	)
}

type proc struct{ now func() time.Time }

var errEmptyCommand = errors.New("appointment command names no action")

func (p *proc) command(ctx goka.Context, raw []byte) error {
	cmd, cur, applied, err := gokactx.Begin[tables.AppointmentCommand, tables.Appointment](ctx, raw)
	if err != nil || applied {
		return err
	}
	now := p.now().UTC()
	var eff tables.ApptEffects
	capacity := 0
	switch {
	case cmd.Book != nil:
		var customer *tables.User
		if u, ok := ctx.Lookup(users.Table, cmd.Book.Appointment.CustomerID).(tables.User); ok {
			customer = &u
		}
		eff, capacity = tables.Book(cur, *cmd.Book, customer), cmd.Book.Capacity
	case cmd.Granted != nil:
		eff = tables.Granted(cur, *cmd.Granted, now)
	case cmd.Refused != nil:
		eff = tables.Refused(cur)
	case cmd.Expire != nil:
		eff = tables.Expire(cur, now)
	case cmd.Cancel != nil:
		eff = tables.Cancel(cur, *cmd.Cancel, now)
	case cmd.CheckIn != nil:
		eff = tables.CheckIn(cur, now)
	case cmd.Remind != nil:
		eff = tables.Remind(cur)
		if eff.Remind {
			return remind(ctx, *cur)
		}
	default:
		return deadletter.Permanent(errEmptyCommand)
	}
	return apply(ctx, eff, capacity, now)
}

// payment follows payments-topic: each event joins the appointment's history once, and
// payment.completed confirms the appointment (or, too late, asks for the refund).
func (p *proc) payment(ctx goka.Context, raw []byte) error {
	ev, err := codecs.Decode(raw)
	if err != nil {
		return deadletter.Permanent(err)
	}
	cur := gokactx.Row[tables.Appointment](ctx)
	if cur == nil || gokactx.Replayed(ctx, *cur, cur.Journal) || cur.Seen(ev.EventID) {
		return nil
	}
	now := p.now().UTC()
	eff := tables.ApptEffects{Row: cur}
	if done, ok := ev.Payload.(codecs.PaymentCompleted); ok {
		if eff = tables.PaymentCompleted(cur, done, now); eff.Row == nil {
			eff.Row = cur
		}
	}
	row := *eff.Row
	row.History = append(append([]json.RawMessage(nil), row.History...), json.RawMessage(raw))
	eff.Row = &row
	return apply(ctx, eff, 0, now)
}

func apply(ctx goka.Context, eff tables.ApptEffects, capacity int, now time.Time) error {
	a := eff.Row
	if a == nil {
		return nil
	}
	envs, err := gokactx.Envelopes(now, eff.Events...)
	if err != nil {
		return err
	}
	row := *a
	var out gokactx.Out
	for _, env := range envs {
		b, err := json.Marshal(env)
		if err != nil {
			return err
		}
		row.History = append(row.History, b)
		if err := out.Emit(Events, a.AppointmentID, b); err != nil {
			return err
		}
	}
	var emitErr error
	emit := func(topic goka.Stream, key string, v any) {
		if emitErr == nil {
			emitErr = out.Emit(topic, key, v)
		}
	}
	if eff.Reserve {
		emit(topics.SlotCommands, a.SlotKey(), tables.SlotCommand{Reserve: &tables.ReserveSlot{
			AppointmentID: a.AppointmentID, CenterID: a.CenterID, Date: a.Date, Time: a.Time, Capacity: capacity}})
	}
	if eff.Release {
		emit(topics.SlotCommands, a.SlotKey(), tables.SlotCommand{Release: &tables.ReleaseSlot{AppointmentID: a.AppointmentID, Time: a.Time}})
	}
	if eff.Refund != nil {
		emit(topics.PaymentCommands, a.AppointmentID, tables.PaymentCommand{Refund: eff.Refund})
	}
	if eff.ExpireAt != nil {
		emit(topics.TimerCommands, tables.TimerKey(*eff.ExpireAt, a.AppointmentID+"/expire"),
			timer(*eff.ExpireAt, a.AppointmentID, tables.AppointmentCommand{Expire: &tables.ExpireHold{}}))
	}
	if eff.RemindAt != nil {
		emit(topics.TimerCommands, tables.TimerKey(*eff.RemindAt, a.AppointmentID+"/remind"),
			timer(*eff.RemindAt, a.AppointmentID, tables.AppointmentCommand{Remind: &tables.RemindAppt{}}))
	}
	if emitErr != nil {
		return emitErr
	}
	row.Journal = out.Journal(ctx, row.Journal)
	ctx.SetValue(row)
	out.Send(ctx)
	return nil
}

// timer is the command that sets a durable timer sending cmd back to this processor at due.
func timer(due time.Time, appointmentID string, cmd tables.AppointmentCommand) tables.TimerCommand {
	b, _ := json.Marshal(cmd) // a command of plain fields always encodes
	return tables.TimerCommand{Schedule: &tables.Timer{Due: due, Topic: string(Commands), Key: appointmentID, Value: b}}
}

// remind requests the SMS reminder; its id is derived from the appointment, so a timer that
// fires twice sends one SMS.
func remind(ctx goka.Context, a tables.Appointment) error {
	src, err := json.Marshal(a)
	if err != nil {
		return err
	}
	source := a.AppointmentID + "/reminder"
	req := tables.NotificationRequest{NotificationID: tables.NotificationID(source, ReminderTemplate, a.CustomerPhone),
		Template: ReminderTemplate, Channel: "sms", Recipient: a.CustomerPhone,
		SourceEventID: source, SourceEventType: "appointment.reminder", SourceKey: a.AppointmentID, Source: src}
	var out gokactx.Out
	if err := out.Emit(topics.NotificationCommands, req.NotificationID, tables.NotificationCommand{Request: &req}); err != nil {
		return err
	}
	out.Send(ctx)
	return nil
}
