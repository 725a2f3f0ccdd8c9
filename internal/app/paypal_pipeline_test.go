package app_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	"github.com/smartautocheck/smartautocheck/codecs"
	"github.com/smartautocheck/smartautocheck/internal/app"
	"github.com/smartautocheck/smartautocheck/internal/gateway"
	"github.com/smartautocheck/smartautocheck/internal/gateway/paypalfake"
	"github.com/smartautocheck/smartautocheck/internal/topics"
)

// paypalEnv starts an instance of its own whose gateway is the PayPal adapter pointed at a
// local PayPal fake. It always runs on its own embedded broker, even with SAC_TEST_BROKERS: the
// shared instance there uses the sandbox gateway. Both are closed when the test ends.
func paypalEnv(t *testing.T) (*env, *paypalfake.Server) {
	t.Helper()
	fake := paypalfake.New(t)
	gw, err := gateway.NewPayPal(gateway.PayPalConfig{BaseURL: fake.URL(), ClientID: paypalfake.ClientID,
		Secret: paypalfake.Secret, HTTP: fake.Client(),
		ReturnURL: "https://smartautocheck.example/paid", CancelURL: "https://smartautocheck.example/cancelled"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := app.Config{DataDir: t.TempDir(), HTTPAddr: "127.0.0.1:0", KafkaAddr: "127.0.0.1:0",
		Centers: testCenters(), PaymentHold: time.Minute, BcryptCost: bcrypt.MinCost, Gateway: gw,
		// Generous: a command endpoint answers 202 instead of its outcome when this passes.
		Wait: 20 * time.Second}
	e := &env{cfg: cfg}
	if err := e.start(); err != nil {
		if e.app != nil {
			e.app.Close()
		}
		t.Fatalf("starting the PayPal instance: %v", err)
	}
	// Registered after the fake's and the temp dir's cleanups, so it runs before them.
	t.Cleanup(e.app.Close)
	return e, fake
}

func (e *env) capturePayment(t *testing.T, token, paymentID string) (int, map[string]any) {
	t.Helper()
	return e.call(t, "POST", "/v1/payments/"+paymentID+"/capture", nil, token)
}

// awaitEvents waits until at least one event of the type with data[field] == value is on the
// topic, and returns them all.
func (e *env) awaitEvents(t *testing.T, topic, eventType, field, value string) []envelope {
	t.Helper()
	var evs []envelope
	eventually(t, eventType+" with "+field+" "+value, 20*time.Second, func() bool {
		evs = e.events(t, topic, eventType, field, value)
		return len(evs) > 0
	})
	return evs
}

// TestPipelinePayPalApprovalFlow pays a booking through the PayPal adapter: the order waits for
// the buyer's approval, a capture before it fails the attempt, a fresh attempt approved on
// "PayPal" is captured once however often the capture is asked for, and cancelling refunds it
// once.
func TestPipelinePayPalApprovalFlow(t *testing.T) {
	e, fake := paypalEnv(t)
	_, token := e.registerVerified(t, newEmail("paypal"))
	st, a := e.book(t, token, defaultCenter, e.slotWhere(t, defaultCenter, 1, someDaysAhead))
	if st != http.StatusCreated || a["status"] != "pending_payment" {
		t.Fatalf("book: %d %v", st, a)
	}
	id := a["appointmentId"].(string)

	// The order is created at PayPal and waits for the buyer.
	p1Key := uuid.NewString()
	st, p1 := e.pay(t, token, id, p1Key, "")
	if st != http.StatusCreated || p1["status"] != "pending" || p1["paypalOrderId"] == "" || p1["approvalUrl"] == nil ||
		p1["transactionId"] != nil {
		t.Fatalf("pay: %d %v, want 201 pending with an order and an approval URL", st, p1)
	}
	pay1, order1 := p1["paymentId"].(string), p1["paypalOrderId"].(string)
	if o, ok := fake.Order(order1); !ok || o.Status != paypalfake.StatusCreated || o.Value != "80.00" || o.Currency != "USD" {
		t.Fatalf("order %s at PayPal: %+v (found %v)", order1, o, ok)
	}
	if !strings.Contains(p1["approvalUrl"].(string), order1) {
		t.Errorf("approvalUrl %v does not name order %s", p1["approvalUrl"], order1)
	}
	if got := e.appointment(t, token, id); got["status"] != "pending_payment" {
		t.Fatalf("awaiting approval, the appointment is %v", got["status"])
	}
	if evs := e.awaitEvents(t, topics.Payments, codecs.TypePaymentInitiated, "paymentId", pay1); len(evs) != 1 ||
		evs[0].Data["paypalOrderId"] != order1 || evs[0].Data["status"] != "pending" || evs[0].key != id {
		t.Fatalf("payment.initiated: %v", evs)
	}

	// Capturing before the buyer approved: PayPal refuses (422 ORDER_NOT_APPROVED); the service
	// answers 409 payment_not_approved with the approval URL, and the payment stays pending.
	st, c := e.capturePayment(t, token, pay1)
	details, _ := c["error"].(map[string]any)["details"].(map[string]any)
	if st != http.StatusConflict || errorCode(c) != "payment_not_approved" || details["approvalUrl"] != p1["approvalUrl"] {
		t.Fatalf("capture before approval: %d %v, want 409 payment_not_approved with the approval URL", st, c)
	}
	if n := len(e.events(t, topics.Payments, codecs.TypePaymentFailed, "paymentId", pay1)); n != 0 {
		t.Fatalf("payment.failed x%d for an order that only waits for its approval", n)
	}
	if n := len(e.events(t, topics.Payments, codecs.TypePaymentCompleted, "appointmentId", id)); n != 0 {
		t.Fatalf("payment.completed x%d after a refused capture", n)
	}
	if _, _, captures, _ := fake.Counts(); captures != 0 {
		t.Fatalf("PayPal captured %d times before any approval", captures)
	}
	if got := e.appointment(t, token, id); got["status"] != "pending_payment" {
		t.Fatalf("after the refused capture, the appointment is %v", got["status"])
	}
	// Another payment request while this one waits for its approval is refused: two captures
	// could charge twice.
	if st, body := e.pay(t, token, id, uuid.NewString(), ""); st != http.StatusConflict || errorCode(body) != "invalid_state" {
		t.Fatalf("second payment while the first awaits approval: %d %v", st, body)
	}

	// The buyer approves the same order on PayPal; capturing again completes it.
	key2, pay2, order2 := p1Key, pay1, order1
	fake.Approve(order2)

	st, c = e.capturePayment(t, token, pay2)
	if st != http.StatusOK || c["paymentId"] != pay2 || c["status"] != "completed" || c["transactionId"] == nil || c["paypalOrderId"] != order2 {
		t.Fatalf("capture after approval: %d %v, want 200 completed with a transaction", st, c)
	}
	txn := c["transactionId"].(string)
	if o, _ := fake.Order(order2); o.Status != paypalfake.StatusCompleted || o.CaptureID != txn {
		t.Fatalf("order %s at PayPal: %+v, want completed by capture %s", order2, o, txn)
	}
	eventually(t, "the appointment confirmed", 20*time.Second, func() bool {
		got := e.appointment(t, token, id)
		return got["status"] == "confirmed" && got["paymentId"] == pay2
	})

	// Asking again answers the same completed payment and captures nothing more. (The first
	// capture answers 200; a capture of an already completed payment answers with the payment
	// request's answer, 201.)
	st, again := e.capturePayment(t, token, pay2)
	if (st != http.StatusOK && st != http.StatusCreated) || again["paymentId"] != pay2 || again["status"] != "completed" || again["transactionId"] != txn {
		t.Fatalf("second capture: %d %v, want the same completed payment", st, again)
	}
	st, again = e.pay(t, token, id, key2, "")
	if st != http.StatusCreated || again["paymentId"] != pay2 || again["status"] != "completed" || again["transactionId"] != txn {
		t.Fatalf("payment request replayed: %d %v, want the same completed payment", st, again)
	}
	if _, creates, captures, _ := fake.Counts(); creates != 1 || captures != 1 {
		t.Fatalf("PayPal saw %d orders and %d captures, want 1 and 1", creates, captures)
	}

	done := e.awaitEvents(t, topics.Payments, codecs.TypePaymentCompleted, "appointmentId", id)
	if len(done) != 1 || done[0].Data["paymentId"] != pay2 || done[0].Data["transactionId"] != txn || done[0].Data["paymentMethod"] != "paypal" {
		t.Fatalf("payment.completed: %v", done)
	}
	if err := codecs.Validate(done[0].raw); err != nil {
		t.Errorf("payment.completed: %v", err)
	}
	if evs := e.awaitEvents(t, topics.Appointments, codecs.TypeAppointmentConfirmed, "appointmentId", id); len(evs) != 1 || evs[0].Data["paymentId"] != pay2 {
		t.Fatalf("appointment.confirmed: %v", evs)
	}

	// Cancelled more than 24 h ahead: refunded at PayPal, once.
	st, cancelled := e.call(t, "POST", "/v1/appointments/"+id+"/cancel", map[string]any{"reason": "Scheduling conflict"}, token)
	if st != http.StatusOK || cancelled["status"] != "cancelled" || cancelled["refundEligible"] != true {
		t.Fatalf("cancel: %d %v", st, cancelled)
	}
	refunded := e.awaitEvents(t, topics.Payments, codecs.TypePaymentRefunded, "paymentId", pay2)
	if len(refunded) != 1 || refunded[0].key != id {
		t.Fatalf("payment.refunded: %v", refunded)
	}
	if _, _, captures, refunds := fake.Counts(); captures != 1 || refunds != 1 {
		t.Fatalf("PayPal saw %d captures and %d refunds, want 1 and 1", captures, refunds)
	}
	if amount, _ := fake.LastRefund()["amount"].(map[string]any); amount["value"] != "80.00" || amount["currency_code"] != "USD" {
		t.Errorf("refund body: %v", fake.LastRefund())
	}

	// In the end: one attempt, initiated and completed once, never failed.
	for typ, want := range map[string]int{codecs.TypePaymentInitiated: 1, codecs.TypePaymentFailed: 0, codecs.TypePaymentCompleted: 1} {
		if n := len(e.events(t, topics.Payments, typ, "appointmentId", id)); n != want {
			t.Errorf("%s x%d, want %d", typ, n, want)
		}
	}
	if n := len(e.events(t, topics.Appointments, codecs.TypeAppointmentConfirmed, "appointmentId", id)); n != 1 {
		t.Errorf("appointment.confirmed x%d, want 1", n)
	}
	if n := len(e.events(t, topics.Payments, codecs.TypePaymentRefunded, "paymentId", pay2)); n != 1 {
		t.Errorf("payment.refunded x%d, want 1", n)
	}
}
