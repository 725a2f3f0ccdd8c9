// Package payments is the payments processor (the catalog's payments-consumer group): keyed by
// appointmentId, it owns every payment attempt of an appointment (by Idempotency-Key), follows
// appointments-topic for the appointment's status, hands gateway calls to the gateway worker as
// intents, numbers invoices through the numbering processor, and emits the payment events.
package payments

import (
	"errors"
	"time"

	"github.com/lovoo/goka"

	"github.com/smartautocheck/smartautocheck/codecs"
	"github.com/smartautocheck/smartautocheck/internal/deadletter"
	"github.com/smartautocheck/smartautocheck/internal/gokactx"
	"github.com/smartautocheck/smartautocheck/internal/topics"
	"github.com/smartautocheck/smartautocheck/tables"
)

// Names of the group, its table, inputs and outputs.
const (
	Group        goka.Group  = topics.GroupPayments
	Commands     goka.Stream = topics.PaymentCommands
	Appointments goka.Stream = topics.Appointments
	Events       goka.Stream = topics.Payments
	Intents      goka.Stream = topics.PaymentIntents
)

// Table is the payments table.
var Table = goka.GroupTable(Group)

// Options configure the processor.
type Options struct {
	Now    func() time.Time
	Policy deadletter.Policy
	// PublicURL is the base of invoice links in payment.completed.
	PublicURL string
}

// Graph is the processor's topology.
func Graph(o Options) *goka.GroupGraph {
	if o.Now == nil {
		o.Now = time.Now
	}
	p := &proc{o: o}
	return goka.DefineGroup(Group,
		goka.Input(Commands, new(codecs.Raw), o.Policy.Goka(p.command)),
		goka.Input(Appointments, new(codecs.Raw), o.Policy.Goka(p.appointment)),
		goka.Persist(new(codecs.JSON[tables.Payments])),
		goka.Output(Events, new(codecs.Raw)),
		goka.Output(Intents, new(codecs.Raw)),
		goka.Output(topics.NumberingCommands, new(codecs.Raw)),
		deadletter.Output(),
	)
}

type proc struct{ o Options }

var errEmptyCommand = errors.New("payment command names no action")

func (p *proc) command(ctx goka.Context, raw []byte) error {
	cmd, cur, applied, err := gokactx.Begin[tables.PaymentCommand, tables.Payments](ctx, raw)
	if err != nil || applied {
		return err
	}
	now := p.o.Now().UTC()
	var eff tables.PayEffects
	switch {
	case cmd.Pay != nil:
		eff = tables.Pay(cur, *cmd.Pay, now)
	case cmd.Capture != nil:
		eff = tables.CaptureApproved(cur, *cmd.Capture)
	case cmd.NotApproved != nil:
		eff = tables.CaptureNotApproved(cur, *cmd.NotApproved)
	case cmd.OrderCreated != nil:
		eff = tables.OrderWasCreated(cur, *cmd.OrderCreated)
	case cmd.Captured != nil:
		eff = tables.WasCaptured(cur, *cmd.Captured, now)
	case cmd.Numbered != nil:
		eff = tables.WasNumbered(cur, *cmd.Numbered, p.o.PublicURL, now)
	case cmd.Declined != nil:
		eff = tables.WasDeclined(cur, *cmd.Declined, now)
	case cmd.Refund != nil:
		eff = tables.RefundPayment(cur, *cmd.Refund)
	case cmd.Refunded != nil:
		eff = tables.WasRefunded(cur, *cmd.Refunded, now)
	default:
		return deadletter.Permanent(errEmptyCommand)
	}
	envs, err := gokactx.Envelopes(now, eff.Events...)
	if err != nil {
		return err
	}
	var out gokactx.Out
	for _, env := range envs {
		if err := out.Emit(Events, ctx.Key(), env); err != nil {
			return err
		}
	}
	for _, in := range eff.Intents {
		if err := out.Emit(Intents, ctx.Key(), in); err != nil {
			return err
		}
	}
	if eff.Number != "" {
		if err := out.Emit(topics.NumberingCommands, eff.Series, tables.NumberRequest{Series: eff.Series, RequestID: eff.Number, ReplyKey: ctx.Key()}); err != nil {
			return err
		}
	}
	if eff.Row != nil {
		row := *eff.Row
		row.Journal = out.Journal(ctx, row.Journal)
		ctx.SetValue(row)
	}
	out.Send(ctx)
	return nil
}

// appointment keeps the row's copy of the appointment's status, which payment requests are
// checked against.
func (p *proc) appointment(ctx goka.Context, raw []byte) error {
	ev, err := codecs.Decode(raw)
	if err != nil {
		return deadletter.Permanent(err)
	}
	cur := gokactx.Row[tables.Payments](ctx)
	if cur != nil && gokactx.Replayed(ctx, *cur, cur.Journal) {
		return nil
	}
	if row := tables.AppointmentEvent(cur, ctx.Key(), ev.Payload); row != nil {
		row.Journal = new(gokactx.Out).Journal(ctx, row.Journal)
		ctx.SetValue(*row)
	}
	return nil
}
