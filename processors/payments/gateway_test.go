package payments

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/smartautocheck/smartautocheck/codecs"
	"github.com/smartautocheck/smartautocheck/internal/deadletter"
	"github.com/smartautocheck/smartautocheck/internal/gateway"
	"github.com/smartautocheck/smartautocheck/internal/gateway/paypalfake"
	"github.com/smartautocheck/smartautocheck/internal/topics"
	"github.com/smartautocheck/smartautocheck/tables"
)

// handleTimeout bounds every Handle call, so a worker that retries forever fails the test
// instead of hanging it.
const handleTimeout = 5 * time.Second

// produced captures what the worker writes.
type produced struct {
	mu   sync.Mutex
	recs []*kgo.Record
}

func (p *produced) produce(_ context.Context, recs ...*kgo.Record) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.recs = append(p.recs, recs...)
	return nil
}

// commands checks every record is a payment command keyed by the appointment and decodes them.
func (p *produced) commands(t *testing.T, appointmentID string) []tables.PaymentCommand {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	var cmds []tables.PaymentCommand
	for _, r := range p.recs {
		if r.Topic != topics.PaymentCommands {
			t.Errorf("record on topic %q, want %q", r.Topic, topics.PaymentCommands)
		}
		if string(r.Key) != appointmentID {
			t.Errorf("record keyed %q, want %q", r.Key, appointmentID)
		}
		var c tables.PaymentCommand
		if err := json.Unmarshal(r.Value, &c); err != nil {
			t.Fatalf("undecodable command %s: %v", r.Value, err)
		}
		cmds = append(cmds, c)
	}
	return cmds
}

// reset forgets the records captured so far.
func (p *produced) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.recs = nil
}

// one returns the only command produced since the last reset, failing otherwise.
func (p *produced) one(t *testing.T, appointmentID string) tables.PaymentCommand {
	t.Helper()
	cmds := p.commands(t, appointmentID)
	if len(cmds) != 1 {
		t.Fatalf("%d commands produced, want 1: %+v", len(cmds), cmds)
	}
	return cmds[0]
}

// recording wraps a gateway and records the request ids of its captures.
type recording struct {
	gateway.Gateway
	mu       sync.Mutex
	captures []string
}

func (r *recording) Capture(ctx context.Context, requestID, orderID, outcome string) (gateway.Capture, error) {
	r.mu.Lock()
	r.captures = append(r.captures, requestID)
	r.mu.Unlock()
	return r.Gateway.Capture(ctx, requestID, orderID, outcome)
}

func (r *recording) captureIDs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.captures...)
}

func newWorker(g gateway.Gateway) (*Worker, *produced) {
	p := &produced{}
	return &Worker{Gateway: g, Produce: p.produce, Backoff: time.Millisecond}, p
}

func message(t *testing.T, in tables.PaymentIntent) deadletter.Message {
	t.Helper()
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	return deadletter.Message{Origin: deadletter.Origin{Topic: topics.PaymentIntents, Key: in.AppointmentID,
		Group: GatewayGroup}, Value: b}
}

func handle(t *testing.T, w *Worker, m deadletter.Message) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), handleTimeout)
	defer cancel()
	return w.Handle(ctx, m)
}

func intent(kind string) tables.PaymentIntent {
	in := tables.PaymentIntent{Kind: kind, PaymentID: "p-1", AppointmentID: "a-1",
		Amount: codecs.MoneyFromCents(8000), Currency: "USD"}
	switch kind {
	case tables.IntentCapture:
		in.OrderID, in.Outcome = "SANDBOX-ORDER-1", "approve"
	case tables.IntentRefund:
		in.TransactionID, in.RefundID, in.Reason = "SANDBOX-CAPTURE-1", "r-1", "appointment cancelled"
	}
	return in
}

// readable fails the test when a reason shown to the customer carries the raw error's details.
func readable(t *testing.T, reason string) {
	t.Helper()
	if strings.TrimSpace(reason) == "" {
		t.Fatal("empty reason")
	}
	for _, s := range []string{"gateway:", "HTTP ", "debug_id", "dbg-", "hdr-debug", "http://", "https://",
		paypalfake.Secret, paypalfake.TokenPrefix} {
		if strings.Contains(reason, s) {
			t.Errorf("reason %q contains %q", reason, s)
		}
	}
}

func TestWorkerSandbox(t *testing.T) {
	create := intent(tables.IntentCreate)
	wantOrder, err := gateway.NewSandbox().CreateOrder(context.Background(), create.PaymentID, "80.00", "USD", "")
	if err != nil {
		t.Fatal(err)
	}
	decline := intent(tables.IntentCapture)
	decline.Outcome = "decline"

	tests := []struct {
		name  string
		in    tables.PaymentIntent
		check func(t *testing.T, c tables.PaymentCommand)
	}{
		{"create", create, func(t *testing.T, c tables.PaymentCommand) {
			if c.OrderCreated == nil {
				t.Fatalf("got %+v, want OrderCreated", c)
			}
			want := tables.OrderCreated{PaymentID: "p-1", OrderID: wantOrder.OrderID}
			if *c.OrderCreated != want {
				t.Errorf("OrderCreated = %+v, want %+v", *c.OrderCreated, want)
			}
			if !strings.HasPrefix(c.OrderCreated.OrderID, "SANDBOX-ORDER-") {
				t.Errorf("order id %q is not a sandbox order", c.OrderCreated.OrderID)
			}
		}},
		{"capture approved", intent(tables.IntentCapture), func(t *testing.T, c tables.PaymentCommand) {
			if c.Captured == nil || c.Captured.PaymentID != "p-1" || c.Captured.TransactionID == "" {
				t.Errorf("got %+v, want Captured of p-1 with a transaction id", c)
			}
		}},
		{"capture declined", decline, func(t *testing.T, c tables.PaymentCommand) {
			want := tables.Declined{PaymentID: "p-1", Reason: "Insufficient funds"}
			if c.Declined == nil || *c.Declined != want {
				t.Errorf("got %+v, want Declined %+v", c, want)
			}
		}},
		{"refund", intent(tables.IntentRefund), func(t *testing.T, c tables.PaymentCommand) {
			want := tables.Refunded{PaymentID: "p-1", RefundID: "r-1"}
			if c.Refunded == nil || *c.Refunded != want {
				t.Errorf("got %+v, want Refunded %+v", c, want)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, p := newWorker(gateway.NewSandbox())
			if err := handle(t, w, message(t, tc.in)); err != nil {
				t.Fatalf("Handle: %v", err)
			}
			tc.check(t, p.one(t, "a-1"))
		})
	}
}

// A capture intent redelivered (say after a crash before its offset was committed) asks the
// gateway again under the same request id and reports the same transaction.
func TestWorkerSandboxCaptureRedelivered(t *testing.T) {
	rg := &recording{Gateway: gateway.NewSandbox()}
	w, p := newWorker(rg)
	m := message(t, intent(tables.IntentCapture))
	for range 2 {
		if err := handle(t, w, m); err != nil {
			t.Fatalf("Handle: %v", err)
		}
	}
	cmds := p.commands(t, "a-1")
	if len(cmds) != 2 || cmds[0].Captured == nil || cmds[1].Captured == nil {
		t.Fatalf("got %+v, want two Captured", cmds)
	}
	if cmds[0].Captured.TransactionID == "" || *cmds[0].Captured != *cmds[1].Captured {
		t.Errorf("captures %+v and %+v, want the same transaction", *cmds[0].Captured, *cmds[1].Captured)
	}
	if ids := rg.captureIDs(); len(ids) != 2 || ids[0] == "" || ids[0] != ids[1] {
		t.Errorf("capture request ids %q, want the same id twice", ids)
	}
}

// paypal returns a worker on the PayPal adapter pointed at a fresh fake.
func paypal(t *testing.T) (*paypalfake.Server, *recording, *Worker, *produced) {
	t.Helper()
	f := paypalfake.New(t)
	g, err := gateway.NewPayPal(gateway.PayPalConfig{BaseURL: f.URL(), ClientID: paypalfake.ClientID,
		Secret: paypalfake.Secret, HTTP: f.Client()})
	if err != nil {
		t.Fatal(err)
	}
	rg := &recording{Gateway: g}
	w, p := newWorker(rg)
	return f, rg, w, p
}

// createOrder has the worker create the order of p-1 at the fake and returns its id.
func createOrder(t *testing.T, w *Worker, p *produced) string {
	t.Helper()
	in := intent(tables.IntentCreate)
	in.Outcome = ""
	if err := handle(t, w, message(t, in)); err != nil {
		t.Fatalf("Handle create: %v", err)
	}
	c := p.one(t, "a-1")
	if c.OrderCreated == nil || c.OrderCreated.OrderID == "" || c.OrderCreated.ApprovalURL == "" {
		t.Fatalf("got %+v, want OrderCreated with an approval URL", c)
	}
	p.reset()
	return c.OrderCreated.OrderID
}

func paypalCapture(orderID string, try int) tables.PaymentIntent {
	in := intent(tables.IntentCapture)
	in.OrderID, in.Outcome, in.Try = orderID, "", try
	return in
}

func TestWorkerPayPalCaptureBeforeApproval(t *testing.T) {
	f, rg, w, p := paypal(t)
	order := createOrder(t, w, p)

	if err := handle(t, w, message(t, paypalCapture(order, 1))); err != nil {
		t.Fatalf("Handle try 1: %v", err)
	}
	c := p.one(t, "a-1")
	if c.NotApproved == nil {
		t.Fatalf("try 1: got %+v, want NotApproved", c)
	}
	if c.NotApproved.PaymentID != "p-1" || c.NotApproved.Try != 1 {
		t.Errorf("NotApproved = %+v, want p-1 try 1", *c.NotApproved)
	}
	readable(t, c.NotApproved.Reason)
	if !strings.Contains(c.NotApproved.Reason, "not yet approved") {
		t.Errorf("reason %q does not say the order is not approved", c.NotApproved.Reason)
	}
	if _, _, captures, _ := f.Counts(); captures != 0 {
		t.Errorf("fake made %d captures before the approval, want 0", captures)
	}

	f.Approve(order)
	p.reset()
	if err := handle(t, w, message(t, paypalCapture(order, 2))); err != nil {
		t.Fatalf("Handle try 2: %v", err)
	}
	c = p.one(t, "a-1")
	if c.Captured == nil || c.Captured.PaymentID != "p-1" || c.Captured.TransactionID == "" {
		t.Fatalf("try 2: got %+v, want Captured", c)
	}
	if o, _ := f.Order(order); o.CaptureID != c.Captured.TransactionID {
		t.Errorf("transaction %q, fake captured %q", c.Captured.TransactionID, o.CaptureID)
	}
	if _, _, captures, _ := f.Counts(); captures != 1 {
		t.Errorf("fake made %d captures, want 1", captures)
	}
	if ids := rg.captureIDs(); len(ids) != 2 || ids[0] == ids[1] {
		t.Errorf("capture request ids %q, want two different ids", ids)
	}
}

// A temporary gateway error is retried in place until it passes; one outcome is reported.
func TestWorkerPayPalRetriesTemporaryError(t *testing.T) {
	f, _, w, p := paypal(t)
	order := createOrder(t, w, p)
	f.Approve(order)
	f.FailOnce(503, `{"name":"SERVICE_UNAVAILABLE","message":"Service Unavailable.","debug_id":"dbg-503"}`)

	if err := handle(t, w, message(t, paypalCapture(order, 1))); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	c := p.one(t, "a-1")
	if c.Captured == nil || c.Captured.TransactionID == "" {
		t.Fatalf("got %+v, want Captured", c)
	}
	if _, _, captures, _ := f.Counts(); captures != 1 {
		t.Errorf("fake made %d captures, want 1", captures)
	}
}

// A permanent error creating the order declines the payment with a reason fit for the customer.
func TestWorkerPayPalCreateRejected(t *testing.T) {
	f, _, w, p := paypal(t)
	f.FailOnce(400, `{"name":"INVALID_REQUEST","message":"Request is not well-formed, syntactically incorrect, or violates schema.",`+
		`"debug_id":"dbg-400-create","details":[{"field":"/purchase_units/0/amount/value","issue":"INVALID_PARAMETER_VALUE",`+
		`"description":"The value of a field is invalid."}],`+
		`"links":[{"href":"https://developer.paypal.com/docs/api/orders/v2/#error-INVALID_PARAMETER_VALUE","rel":"information_link"}]}`)

	in := intent(tables.IntentCreate)
	in.Outcome = ""
	if err := handle(t, w, message(t, in)); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	c := p.one(t, "a-1")
	if c.Declined == nil || c.Declined.PaymentID != "p-1" {
		t.Fatalf("got %+v, want Declined of p-1", c)
	}
	readable(t, c.Declined.Reason)
	if !strings.Contains(c.Declined.Reason, "The value of a field is invalid.") {
		t.Errorf("reason %q lacks PayPal's description", c.Declined.Reason)
	}
	if _, creates, _, _ := f.Counts(); creates != 0 {
		t.Errorf("fake created %d orders, want 0", creates)
	}
}

// What no retry fixes is returned as a permanent error, to be parked, and reports nothing.
func TestWorkerPermanentErrors(t *testing.T) {
	unknown := intent(tables.IntentCreate)
	unknown.Kind = "void"
	noTransaction := intent(tables.IntentRefund)
	noTransaction.TransactionID = ""

	tests := []struct {
		name string
		msg  func(t *testing.T) deadletter.Message
	}{
		{"undecodable intent", func(t *testing.T) deadletter.Message {
			return deadletter.Message{Origin: deadletter.Origin{Topic: topics.PaymentIntents, Key: "a-1"},
				Value: []byte(`{"kind":"capture",`)}
		}},
		{"unknown kind", func(t *testing.T) deadletter.Message { return message(t, unknown) }},
		{"refund refused by the gateway", func(t *testing.T) deadletter.Message { return message(t, noTransaction) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, p := newWorker(gateway.NewSandbox())
			err := handle(t, w, tc.msg(t))
			if !deadletter.IsPermanent(err) {
				t.Errorf("Handle = %v, want a permanent error", err)
			}
			if cmds := p.commands(t, "a-1"); len(cmds) != 0 {
				t.Errorf("reported %+v, want nothing", cmds)
			}
		})
	}
}

// A refund PayPal refuses for good is parked, not reported as a decline.
func TestWorkerPayPalRefundRejected(t *testing.T) {
	f, _, w, p := paypal(t)
	in := intent(tables.IntentRefund)
	in.TransactionID = "CAPTURE-404"
	err := handle(t, w, message(t, in))
	if !deadletter.IsPermanent(err) || !gateway.Permanent(err) {
		t.Errorf("Handle = %v, want a permanent gateway error", err)
	}
	if cmds := p.commands(t, "a-1"); len(cmds) != 0 {
		t.Errorf("reported %+v, want nothing", cmds)
	}
	if _, _, _, refunds := f.Counts(); refunds != 0 {
		t.Errorf("fake made %d refunds, want 0", refunds)
	}
}
