package payments_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lovoo/goka/tester"

	"github.com/smartautocheck/smartautocheck/codecs"
	"github.com/smartautocheck/smartautocheck/internal/deadletter"
	"github.com/smartautocheck/smartautocheck/internal/gokatest"
	"github.com/smartautocheck/smartautocheck/internal/topics"
	"github.com/smartautocheck/smartautocheck/processors/payments"
	"github.com/smartautocheck/smartautocheck/tables"
)

var (
	t0      = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	holdEnd = t0.Add(15 * time.Minute)
	price   = tables.Prices["premium"]
)

const publicURL = "http://127.0.0.1:8080"

type harness struct {
	t                                *testing.T
	tt                               *tester.Tester
	clock                            *gokatest.Clock
	events, intents, numbering, dead *tester.QueueTracker
	commands                         *tester.QueueTracker
}

func start(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, clock: gokatest.NewClock(t0.Add(time.Minute))}
	h.tt = gokatest.Start(t, payments.Graph(payments.Options{Now: h.clock.Now, PublicURL: publicURL, Policy: gokatest.Policy()}))
	h.events = h.tt.NewQueueTracker(string(payments.Events))
	h.intents = h.tt.NewQueueTracker(string(payments.Intents))
	h.numbering = h.tt.NewQueueTracker(topics.NumberingCommands)
	h.dead = h.tt.NewQueueTracker(topics.DeadLetters)
	h.commands = h.tt.NewQueueTracker(string(payments.Commands))
	return h
}

func (h *harness) quiet(step string) {
	h.t.Helper()
	gokatest.Quiet(h.t, step, map[string]*tester.QueueTracker{"events": h.events, "intents": h.intents,
		"numbering requests": h.numbering, "dead letters": h.dead})
}

func (h *harness) send(cmd tables.PaymentCommand) int64 {
	h.t.Helper()
	b, err := json.Marshal(cmd)
	if err != nil {
		h.t.Fatal(err)
	}
	off := h.commands.Hwm()
	h.tt.Consume(string(payments.Commands), "a-1", b)
	return off
}

// appointment consumes an appointments-topic event of a-1.
func (h *harness) appointment(d codecs.Data) {
	h.t.Helper()
	b, err := codecs.Marshal(d, h.clock.UTC())
	if err != nil {
		h.t.Fatal(err)
	}
	h.tt.Consume(string(payments.Appointments), "a-1", b)
}

func pay(key string) tables.PaymentCommand {
	return tables.PaymentCommand{Pay: &tables.PayRequest{HoldExpiresAt: holdEnd, Payment: tables.Payment{
		PaymentID: "p-" + key, AppointmentID: "a-1", CustomerID: "u-1", IdempotencyKey: key, BodyHash: "hash",
		Method: tables.PaymentMethodPayPal, SandboxOutcome: "approve", Amount: price, Currency: tables.Currency}}}
}

func (h *harness) row() tables.Payments {
	h.t.Helper()
	return gokatest.MustRow[tables.Payments](h.t, h.tt, payments.Table, "a-1")
}

func (h *harness) attempt(key string) tables.Payment {
	h.t.Helper()
	p := h.row().Attempts[key]
	if p == nil {
		h.t.Fatalf("no attempt %s", key)
	}
	return *p
}

func (h *harness) intent(kind string) tables.PaymentIntent {
	h.t.Helper()
	r := gokatest.One[tables.PaymentIntent](h.t, h.intents, "intents")
	if in := r.Value; r.Key != "a-1" || in.Kind != kind {
		h.t.Fatalf("intent %q = %+v, want a %s keyed a-1", r.Key, in, kind)
	}
	return r.Value
}

func (h *harness) event(eventType string) codecs.Event {
	h.t.Helper()
	r := gokatest.One[[]byte](h.t, h.events, "events")
	if r.Key != "a-1" {
		h.t.Errorf("event key = %q, want a-1", r.Key)
	}
	return gokatest.Event(h.t, r.Value, eventType, h.clock.UTC())
}

// initiated sends a Pay and the gateway's order (no approval needed), draining the outputs.
func (h *harness) initiated(key string) {
	h.t.Helper()
	h.send(pay(key))
	h.intent(tables.IntentCreate)
	h.send(tables.PaymentCommand{OrderCreated: &tables.OrderCreated{PaymentID: "p-" + key, OrderID: "o-" + key}})
	h.event(codecs.TypePaymentInitiated)
	h.intent(tables.IntentCapture)
}

// completed takes a payment through to payment.completed, draining the outputs.
func (h *harness) completed(key string) {
	h.t.Helper()
	h.initiated(key)
	h.send(tables.PaymentCommand{Captured: &tables.Captured{PaymentID: "p-" + key, TransactionID: "tx-" + key}})
	gokatest.One[[]byte](h.t, h.numbering, "numbering requests")
	h.send(tables.PaymentCommand{Numbered: &tables.Numbered{PaymentID: "p-" + key, Number: "INV-2026-000001"}})
	h.event(codecs.TypePaymentCompleted)
	h.quiet("completed")
}

func TestPaymentCompletes(t *testing.T) {
	h := start(t)

	// Pay: the attempt is initiating and the worker is asked to create the order.
	off := h.send(pay("k1"))
	p := h.attempt("k1")
	if p.Status != tables.PayInitiating || p.PaymentID != "p-k1" || !p.CreatedAt.Equal(h.clock.UTC()) {
		t.Errorf("attempt = %+v", p)
	}
	if ps := h.row(); len(ps.Journal) != 1 || ps.Journal[0].Input != gokatest.Input(payments.Commands, off) || len(ps.Journal[0].Emits) != 1 {
		t.Errorf("journal = %+v", ps.Journal)
	}
	want := tables.PaymentIntent{Kind: tables.IntentCreate, PaymentID: "p-k1", AppointmentID: "a-1", Amount: price,
		Currency: tables.Currency, Outcome: "approve"}
	if got := h.intent(tables.IntentCreate); !reflect.DeepEqual(got, want) {
		t.Errorf("intent = %+v, want %+v", got, want)
	}
	h.quiet("pay")

	// The same Idempotency-Key again: nothing.
	h.send(pay("k1"))
	h.quiet("pay again")

	// Another key while this one is in flight: refused, nothing sent.
	h.send(pay("k2"))
	if p := h.attempt("k2"); p.Status != tables.PayRefused || p.Refusal != tables.RefusedInvalidState {
		t.Errorf("second attempt = %+v, want refused invalid_state", p)
	}
	h.quiet("second key in flight")

	// The order needs no approval: payment.initiated and the capture.
	h.send(tables.PaymentCommand{OrderCreated: &tables.OrderCreated{PaymentID: "p-k1", OrderID: "o-1"}})
	if p := h.attempt("k1"); p.Status != tables.PayPending || p.OrderID != "o-1" {
		t.Errorf("attempt = %+v", p)
	}
	ev := h.event(codecs.TypePaymentInitiated)
	wantInit := codecs.PaymentInitiated{PaymentID: "p-k1", AppointmentID: "a-1", Amount: price, Currency: tables.Currency,
		PayPalOrderID: "o-1", Status: tables.PayPending}
	if !reflect.DeepEqual(ev.Payload, wantInit) {
		t.Errorf("payload = %+v, want %+v", ev.Payload, wantInit)
	}
	if in := h.intent(tables.IntentCapture); in.OrderID != "o-1" || in.PaymentID != "p-k1" || in.Outcome != "approve" {
		t.Errorf("capture intent = %+v", in)
	}
	h.quiet("order created")

	// Captured: the invoice number is asked of the year's series.
	h.clock.Set(t0.Add(2 * time.Minute))
	h.send(tables.PaymentCommand{Captured: &tables.Captured{PaymentID: "p-k1", TransactionID: "tx-1"}})
	if p := h.attempt("k1"); p.Status != tables.PayCaptured || p.TransactionID != "tx-1" {
		t.Errorf("attempt = %+v", p)
	}
	r := gokatest.One[[]byte](t, h.numbering, "numbering requests")
	wantReq := tables.NumberRequest{Series: "INV-2026", RequestID: "p-k1", ReplyKey: "a-1"}
	if got := gokatest.Decode[tables.NumberRequest](t, r.Value); r.Key != "INV-2026" || !reflect.DeepEqual(got, wantReq) {
		t.Errorf("numbering request %q %s, want %+v keyed INV-2026", r.Key, r.Value, wantReq)
	}
	h.quiet("captured")

	// Numbered: payment.completed with the invoice link.
	h.send(tables.PaymentCommand{Numbered: &tables.Numbered{PaymentID: "p-k1", Number: "INV-2026-000001"}})
	p = h.attempt("k1")
	if p.Status != tables.PayCompleted || p.InvoiceNumber != "INV-2026-000001" || h.row().Completed != "p-k1" {
		t.Errorf("attempt = %+v", p)
	}
	ev = h.event(codecs.TypePaymentCompleted)
	wantDone := codecs.PaymentCompleted{PaymentID: "p-k1", AppointmentID: "a-1", Amount: price, Currency: tables.Currency,
		TransactionID: "tx-1", Status: tables.PayCompleted, CompletedAt: h.clock.UTC(), PaymentMethod: tables.PaymentMethodPayPal,
		InvoiceURL: publicURL + "/v1/appointments/a-1/invoice.pdf"}
	if !reflect.DeepEqual(ev.Payload, wantDone) {
		t.Errorf("payload = %+v\nwant %+v", ev.Payload, wantDone)
	}
	h.quiet("numbered")

	// Repeated reports change nothing; a new key is refused: already paid.
	h.send(tables.PaymentCommand{Numbered: &tables.Numbered{PaymentID: "p-k1", Number: "INV-2026-000001"}})
	h.send(tables.PaymentCommand{Captured: &tables.Captured{PaymentID: "p-k1", TransactionID: "tx-1"}})
	h.send(tables.PaymentCommand{Declined: &tables.Declined{PaymentID: "p-k1", Reason: "late"}})
	h.send(pay("k3"))
	if p := h.attempt("k3"); p.Status != tables.PayRefused || p.Refusal != tables.RefusedAlreadyPaid {
		t.Errorf("attempt after completion = %+v", p)
	}
	h.quiet("after completion")
}

func TestApprovalFlow(t *testing.T) {
	h := start(t)
	h.send(pay("k1"))
	h.intent(tables.IntentCreate)
	h.send(tables.PaymentCommand{OrderCreated: &tables.OrderCreated{PaymentID: "p-k1", OrderID: "o-1", ApprovalURL: "https://paypal.example/o-1"}})
	h.event(codecs.TypePaymentInitiated)
	h.quiet("order awaiting approval")
	h.send(tables.PaymentCommand{Capture: &tables.CaptureRequest{PaymentID: "p-k1"}})
	if in := h.intent(tables.IntentCapture); in.OrderID != "o-1" {
		t.Errorf("capture intent = %+v", in)
	}
	h.quiet("capture")
}

func TestDeclined(t *testing.T) {
	h := start(t)
	h.initiated("k1")
	h.send(tables.PaymentCommand{Declined: &tables.Declined{PaymentID: "p-k1", Reason: "INSTRUMENT_DECLINED"}})
	if p := h.attempt("k1"); p.Status != tables.PayFailed || p.FailureReason != "INSTRUMENT_DECLINED" {
		t.Errorf("attempt = %+v", p)
	}
	ev := h.event(codecs.TypePaymentFailed)
	want := codecs.PaymentFailed{PaymentID: "p-k1", AppointmentID: "a-1", Amount: price, Status: tables.PayFailed,
		FailureReason: "INSTRUMENT_DECLINED", FailedAt: h.clock.UTC()}
	if !reflect.DeepEqual(ev.Payload, want) {
		t.Errorf("payload = %+v, want %+v", ev.Payload, want)
	}
	h.quiet("declined")

	// Declined again: nothing. A new key may try again.
	h.send(tables.PaymentCommand{Declined: &tables.Declined{PaymentID: "p-k1", Reason: "again"}})
	h.quiet("declined again")
	h.send(pay("k2"))
	if p := h.attempt("k2"); p.Status != tables.PayInitiating {
		t.Errorf("retry = %+v", p)
	}
	h.intent(tables.IntentCreate)
	h.quiet("retry")
}

func TestPayAfterTheHold(t *testing.T) {
	h := start(t)
	h.clock.Set(holdEnd)
	h.send(pay("k1"))
	if p := h.attempt("k1"); p.Status != tables.PayRefused || p.Refusal != tables.RefusedHoldExpired {
		t.Errorf("attempt = %+v, want refused hold_expired", p)
	}
	h.quiet("pay after the hold")
}

func TestExpiredAppointmentRefusesPayment(t *testing.T) {
	h := start(t)
	h.appointment(codecs.AppointmentCreated{AppointmentID: "a-1", CustomerID: "u-1", ServiceType: "premium",
		Date: "2026-03-05", Time: "10:00 AM", Vehicle: codecs.Vehicle{Registration: "AB-123-CD", Make: "Toyota", Model: "Camry", Year: 2020},
		Status: tables.ApptPendingPayment, QRCode: "iVBORw0KGgo=", Amount: price})
	if ps := h.row(); ps.ApptStatus != tables.ApptPendingPayment {
		t.Errorf("apptStatus = %q", ps.ApptStatus)
	}
	h.appointment(codecs.AppointmentCancelled{AppointmentID: "a-1", CancelledBy: tables.CancelledBySystem,
		Reason: tables.ReasonPaymentWindowExpired, CancelledAt: h.clock.UTC()})
	if ps := h.row(); ps.ApptStatus != tables.ApptExpired {
		t.Errorf("apptStatus = %q, want expired", ps.ApptStatus)
	}
	h.quiet("appointment events")

	// The request's window (as the view saw it) has not passed, but the appointment has expired.
	h.send(pay("k1"))
	if p := h.attempt("k1"); p.Status != tables.PayRefused || p.Refusal != tables.RefusedHoldExpired {
		t.Errorf("attempt = %+v, want refused hold_expired", p)
	}
	h.quiet("pay of an expired appointment")
}

func TestRefundOnce(t *testing.T) {
	h := start(t)
	h.completed("k1")

	h.send(tables.PaymentCommand{Refund: &tables.RefundRequest{Reason: "Customer cancelled >24h before"}})
	in := h.intent(tables.IntentRefund)
	want := tables.PaymentIntent{Kind: tables.IntentRefund, PaymentID: "p-k1", AppointmentID: "a-1", Amount: price,
		Currency: tables.Currency, TransactionID: "tx-k1", RefundID: tables.RefundID("p-k1"), Reason: "Customer cancelled >24h before"}
	if !reflect.DeepEqual(in, want) {
		t.Errorf("intent = %+v\nwant %+v", in, want)
	}
	h.quiet("refund")
	h.send(tables.PaymentCommand{Refund: &tables.RefundRequest{Reason: "again"}})
	h.quiet("refund again")

	h.send(tables.PaymentCommand{Refunded: &tables.Refunded{PaymentID: "p-k1", RefundID: tables.RefundID("p-k1")}})
	ev := h.event(codecs.TypePaymentRefunded)
	wantEv := codecs.PaymentRefunded{PaymentID: "p-k1", RefundID: tables.RefundID("p-k1"), Amount: price,
		Reason: "Customer cancelled >24h before", RefundedAt: h.clock.UTC()}
	if !reflect.DeepEqual(ev.Payload, wantEv) {
		t.Errorf("payload = %+v, want %+v", ev.Payload, wantEv)
	}
	if r := h.attempt("k1").Refund; r == nil || !r.Done {
		t.Errorf("refund = %+v", r)
	}
	h.quiet("refunded")
	h.send(tables.PaymentCommand{Refunded: &tables.Refunded{PaymentID: "p-k1", RefundID: tables.RefundID("p-k1")}})
	h.quiet("refunded again")
}

func TestRefundWithoutPayment(t *testing.T) {
	h := start(t)
	h.send(tables.PaymentCommand{Refund: &tables.RefundRequest{Reason: "x"}})
	h.quiet("refund of nothing")
	h.initiated("k1")
	h.send(tables.PaymentCommand{Refund: &tables.RefundRequest{Reason: "x"}})
	h.quiet("refund of an unfinished payment")
}

// An input that comes again after a crash: the row is written again and the same bytes sent.
func TestJournalReplay(t *testing.T) {
	h := start(t)
	h.initiated("k1")
	h.send(tables.PaymentCommand{Captured: &tables.Captured{PaymentID: "p-k1", TransactionID: "tx-1"}})
	gokatest.One[[]byte](t, h.numbering, "numbering requests")
	numbered, err := json.Marshal(tables.PaymentCommand{Numbered: &tables.Numbered{PaymentID: "p-k1", Number: "INV-2026-000001"}})
	if err != nil {
		t.Fatal(err)
	}
	h.tt.Consume(string(payments.Commands), "a-1", numbered)
	done := gokatest.One[[]byte](t, h.events, "events")

	row := h.row()
	row.Journal = gokatest.Rename(t, row.Journal, gokatest.Latest(t, row.Journal).Input, gokatest.Input(payments.Commands, h.commands.Hwm()))
	h.tt.SetTableValue(payments.Table, "a-1", row)

	h.clock.Set(t0.Add(time.Hour))
	h.tt.Consume(string(payments.Commands), "a-1", numbered)
	if again := gokatest.One[[]byte](t, h.events, "replayed events"); again.Key != done.Key || string(again.Value) != string(done.Value) {
		t.Errorf("replayed %s, want the same bytes %s", again.Value, done.Value)
	}
	h.quiet("replay")
	h.tt.Consume(string(payments.Commands), "a-1", numbered)
	h.quiet("after replay")
}

// A Captured reported again while the payment waits for its number asks for the number again,
// with the same request id, so a request lost in a crash cannot leave the payment stuck; the row
// does not change. Once the payment is complete, a Captured asks for nothing.
func TestCapturedTwiceAsksForTheNumberAgain(t *testing.T) {
	h := start(t)
	h.initiated("k1")
	captured := tables.PaymentCommand{Captured: &tables.Captured{PaymentID: "p-k1", TransactionID: "tx-1"}}
	h.send(captured)
	first := gokatest.One[[]byte](t, h.numbering, "numbering requests")
	wantReq := tables.NumberRequest{Series: "INV-2026", RequestID: "p-k1", ReplyKey: "a-1"}
	if got := gokatest.Decode[tables.NumberRequest](t, first.Value); first.Key != "INV-2026" || !reflect.DeepEqual(got, wantReq) {
		t.Fatalf("numbering request %q %s, want %+v keyed INV-2026", first.Key, first.Value, wantReq)
	}
	h.quiet("captured")
	before := h.row()

	h.clock.Set(t0.Add(5 * time.Minute))
	h.send(captured)
	again := gokatest.One[[]byte](t, h.numbering, "numbering requests on the second report")
	if got := gokatest.Decode[tables.NumberRequest](t, again.Value); again.Key != first.Key || !reflect.DeepEqual(got, wantReq) {
		t.Errorf("second numbering request %q %s, want %q %s", again.Key, again.Value, first.Key, first.Value)
	}
	if after := h.row(); !reflect.DeepEqual(after, before) {
		t.Errorf("row after the second report = %+v\nwant %+v", after, before)
	}
	if p := h.attempt("k1"); p.Status != tables.PayCaptured || p.TransactionID != "tx-1" {
		t.Errorf("attempt = %+v, want still captured", p)
	}
	h.quiet("captured again")

	// Both answers name the same number; the first completes the payment, the second nothing.
	for i := 0; i < 2; i++ {
		h.send(tables.PaymentCommand{Numbered: &tables.Numbered{PaymentID: "p-k1", Number: "INV-2026-000001"}})
	}
	h.event(codecs.TypePaymentCompleted)
	h.quiet("numbered twice")
	h.send(captured)
	h.quiet("captured after completion")
}

// An input that is not the row's latest comes again after a crash — the row has been written
// since by an appointment event and by the capture — and finds its journal entry: the same
// event and intent go again, byte for byte, and the row is written as it stands.
func TestJournalReplayOfAnOlderInput(t *testing.T) {
	h := start(t)
	h.send(pay("k1"))
	h.intent(tables.IntentCreate)
	order := tables.PaymentCommand{OrderCreated: &tables.OrderCreated{PaymentID: "p-k1", OrderID: "o-k1"}}
	off := h.send(order)
	initiated := gokatest.One[[]byte](t, h.events, "events")
	capture := gokatest.One[[]byte](t, h.intents, "intents")
	h.quiet("order created")

	h.appointment(codecs.AppointmentCreated{AppointmentID: "a-1", CustomerID: "u-1", ServiceType: "premium",
		Date: "2026-03-05", Time: "10:00 AM", Vehicle: codecs.Vehicle{Registration: "AB-123-CD", Make: "Toyota", Model: "Camry", Year: 2020},
		Status: tables.ApptPendingPayment, QRCode: "iVBORw0KGgo=", Amount: price})
	h.send(tables.PaymentCommand{Captured: &tables.Captured{PaymentID: "p-k1", TransactionID: "tx-1"}})
	gokatest.One[[]byte](t, h.numbering, "numbering requests")
	h.quiet("captured")

	row := h.row()
	old := gokatest.Input(payments.Commands, off)
	if in := gokatest.Inputs(row.Journal); len(in) != 4 || in[1] != old || !strings.HasPrefix(in[2], string(payments.Appointments)+"/") {
		t.Fatalf("journal inputs = %q, want pay, order %s, the appointment event and the capture", in, old)
	}
	row.Journal = gokatest.Rename(t, row.Journal, old, gokatest.Input(payments.Commands, h.commands.Hwm()))
	h.tt.SetTableValue(payments.Table, "a-1", row)

	h.clock.Set(t0.Add(time.Hour)) // a later clock would make different bytes if the rule ran again
	h.send(order)
	if r := gokatest.One[[]byte](t, h.events, "replayed events"); r.Key != initiated.Key || string(r.Value) != string(initiated.Value) {
		t.Errorf("replayed event %q %s, want the same bytes %s", r.Key, r.Value, initiated.Value)
	}
	if r := gokatest.One[[]byte](t, h.intents, "replayed intents"); r.Key != capture.Key || string(r.Value) != string(capture.Value) {
		t.Errorf("replayed intent %q %s, want the same bytes %s", r.Key, r.Value, capture.Value)
	}
	h.quiet("replay")
	if got := h.row(); !reflect.DeepEqual(got, row) {
		t.Errorf("row after replay = %+v\nwant %+v", got, row)
	}
	if p := h.attempt("k1"); p.Status != tables.PayCaptured {
		t.Errorf("attempt = %+v, want still captured", p)
	}

	// The same order report at a new offset is decided again: nothing to do.
	h.send(order)
	h.quiet("after replay")
}

func TestBadInputsAreDeadLettered(t *testing.T) {
	for _, tc := range []struct{ topic, value string }{
		{string(payments.Commands), "not json"},
		{string(payments.Commands), `{}`},
		{string(payments.Appointments), `{"eventType":"appointment.created"}`},
	} {
		t.Run(tc.topic+" "+tc.value, func(t *testing.T) {
			h := start(t)
			h.tt.Consume(tc.topic, "a-1", []byte(tc.value))
			k, l, ok := gokatest.Next[deadletter.Letter](t, h.dead)
			if !ok {
				t.Fatal("no dead letter")
			}
			if k != "a-1" || l.Topic != tc.topic || string(l.Value) != tc.value || l.Group != string(payments.Group) {
				t.Errorf("letter %q = %+v", k, l)
			}
			h.quiet("bad input")
		})
	}
}
