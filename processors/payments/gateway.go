package payments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/smartautocheck/smartautocheck/internal/deadletter"
	"github.com/smartautocheck/smartautocheck/internal/gateway"
	"github.com/smartautocheck/smartautocheck/internal/topics"
	"github.com/smartautocheck/smartautocheck/tables"
)

var errUnknownIntent = errors.New("payment intent of an unknown kind")

// GatewayGroup is the consumer group of the worker that calls the payment gateway, outside any
// Goka callback.
const GatewayGroup = "payments-gateway"

// Produce writes records and returns once they are acknowledged.
type Produce func(ctx context.Context, recs ...*kgo.Record) error

// Worker performs payment intents and reports each outcome as a command. Every gateway call
// carries a request id derived from the payment, so an intent redelivered after a crash (say
// between a successful capture and its report) repeats the call with the same id and the
// gateway answers the same capture instead of charging again.
type Worker struct {
	Gateway gateway.Gateway
	Produce Produce
	// Backoff is the first wait after a temporary gateway error; it doubles up to a minute.
	Backoff time.Duration
}

// Handle performs one intent, retrying temporary gateway errors until they pass (the
// partition waits: later intents of the same appointments depend on this one).
func (w *Worker) Handle(ctx context.Context, m deadletter.Message) error {
	var in tables.PaymentIntent
	if err := json.Unmarshal(m.Value, &in); err != nil {
		return deadletter.Permanent(err)
	}
	wait := w.Backoff
	for {
		cmd, err := w.perform(ctx, in)
		if err == nil {
			return w.report(ctx, in.AppointmentID, cmd)
		}
		if deadletter.IsPermanent(err) {
			return err
		}
		if in.Kind == tables.IntentCapture && gateway.NotApproved(err) {
			return w.report(ctx, in.AppointmentID, tables.PaymentCommand{NotApproved: &tables.NotApproved{
				PaymentID: in.PaymentID, Try: in.Try, Reason: gateway.Reason(err)}})
		}
		if gateway.Permanent(err) {
			if in.Kind == tables.IntentRefund {
				return deadletter.Permanent(err)
			}
			return w.report(ctx, in.AppointmentID, tables.PaymentCommand{Declined: &tables.Declined{PaymentID: in.PaymentID, Reason: gateway.Reason(err)}})
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(wait*2, time.Minute)
	}
}

func (w *Worker) perform(ctx context.Context, in tables.PaymentIntent) (tables.PaymentCommand, error) {
	amount := in.Amount.String()
	switch in.Kind {
	case tables.IntentCreate:
		o, err := w.Gateway.CreateOrder(ctx, in.PaymentID, amount, in.Currency, "Vehicle inspection "+in.AppointmentID)
		if err != nil {
			return tables.PaymentCommand{}, err
		}
		return tables.PaymentCommand{OrderCreated: &tables.OrderCreated{PaymentID: in.PaymentID, OrderID: o.OrderID, ApprovalURL: o.ApprovalURL}}, nil
	case tables.IntentCapture:
		c, err := w.Gateway.Capture(ctx, captureRequestID(in), in.OrderID, in.Outcome)
		if err != nil {
			return tables.PaymentCommand{}, err
		}
		if !c.Completed {
			return tables.PaymentCommand{Declined: &tables.Declined{PaymentID: in.PaymentID, Reason: c.FailureReason}}, nil
		}
		return tables.PaymentCommand{Captured: &tables.Captured{PaymentID: in.PaymentID, TransactionID: c.TransactionID}}, nil
	case tables.IntentRefund:
		// The refund keeps the id the appointment already named; the gateway's own id is the
		// gateway's business.
		if _, err := w.Gateway.Refund(ctx, in.RefundID, in.TransactionID, amount, in.Currency, in.Reason); err != nil {
			return tables.PaymentCommand{}, err
		}
		return tables.PaymentCommand{Refunded: &tables.Refunded{PaymentID: in.PaymentID, RefundID: in.RefundID}}, nil
	}
	return tables.PaymentCommand{}, deadletter.Permanent(errUnknownIntent)
}

func (w *Worker) report(ctx context.Context, appointmentID string, cmd tables.PaymentCommand) error {
	b, err := json.Marshal(cmd)
	if err != nil {
		return err
	}
	return w.Produce(ctx, &kgo.Record{Topic: topics.PaymentCommands, Key: []byte(appointmentID), Value: b})
}

// captureRequestID is the gateway request id of a capture: the same for a redelivered intent,
// another for each of the customer's tries, since a gateway replays the stored answer of a
// request id — a "not approved yet" included.
func captureRequestID(in tables.PaymentIntent) string {
	if in.Try <= 1 {
		return in.PaymentID + "/capture"
	}
	return fmt.Sprintf("%s/capture/%d", in.PaymentID, in.Try)
}
