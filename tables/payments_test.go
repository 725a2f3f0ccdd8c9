package tables

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/smartautocheck/smartautocheck/codecs"
)

var price = codecs.MoneyFromCents(8000)

// payRequest is the request the view makes with an Idempotency-Key, for a window ending at
// t0 + hold.
func payRequest(key string) PayRequest {
	return PayRequest{Payment: Payment{PaymentID: "p-" + key, AppointmentID: "a-1", CustomerID: "u-1", IdempotencyKey: key,
		BodyHash: "h", Method: PaymentMethodPayPal, SandboxOutcome: "approve", Amount: price, Currency: Currency},
		HoldExpiresAt: t0.Add(hold)}
}

// payments is a row holding one attempt (key k1, paymentId p-k1) in the given status.
func payments(status string) *Payments {
	p := payRequest("k1").Payment
	p.Status, p.CreatedAt = status, t0
	ps := &Payments{AppointmentID: "a-1", Attempts: map[string]*Payment{"k1": &p}, ApptStatus: ApptPendingPayment}
	switch status {
	case PayPending:
		p.OrderID = "o-1"
	case PayCaptured:
		p.OrderID, p.TransactionID = "o-1", "tx-1"
	case PayCompleted:
		p.OrderID, p.TransactionID, p.InvoiceNumber = "o-1", "tx-1", "INV-2025-000001"
		p.CompletedAt = &t0
		ps.Completed = p.PaymentID
	}
	return ps
}

func TestPay(t *testing.T) {
	now := t0.Add(time.Minute)
	inFlight := func(status string) *Payments { return payments(status) }
	withAppt := func(status string) *Payments {
		return &Payments{AppointmentID: "a-1", Attempts: map[string]*Payment{}, ApptStatus: status}
	}
	failed := payments(PayFailed)
	refused := payments(PayRefused)
	tests := []struct {
		name    string
		cur     *Payments
		key     string
		now     time.Time
		refusal string // "" is accepted
	}{
		{"first request", nil, "k2", now, ""},
		{"appointment seen pending", withAppt(ApptPendingPayment), "k2", now, ""},
		{"after a failed attempt", failed, "k2", now, ""},
		{"after a refused attempt", refused, "k2", now, ""},
		{"at the hold's end", nil, "k2", t0.Add(hold), RefusedHoldExpired},
		{"after the hold", nil, "k2", t0.Add(hold + time.Second), RefusedHoldExpired},
		{"appointment expired", withAppt(ApptExpired), "k2", now, RefusedHoldExpired},
		{"appointment confirmed", withAppt(ApptConfirmed), "k2", now, RefusedInvalidState},
		{"appointment cancelled", withAppt(ApptCancelled), "k2", now, RefusedInvalidState},
		{"already paid", payments(PayCompleted), "k2", now, RefusedAlreadyPaid},
		{"one initiating", inFlight(PayInitiating), "k2", now, RefusedInvalidState},
		{"one pending", inFlight(PayPending), "k2", now, RefusedInvalidState},
		{"one captured", inFlight(PayCaptured), "k2", now, RefusedInvalidState},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := payRequest(tc.key)
			var eff PayEffects
			unchanged(t, "Pay", tc.cur, func() { eff = Pay(tc.cur, r, tc.now) })
			if eff.Row == nil {
				t.Fatal("no row")
			}
			p := eff.Row.Attempts[tc.key]
			if p == nil || p.PaymentID != r.Payment.PaymentID || !p.CreatedAt.Equal(tc.now) || eff.Row.AppointmentID != "a-1" {
				t.Fatalf("attempt = %+v", p)
			}
			if tc.cur != nil && len(eff.Row.Attempts) != len(tc.cur.Attempts)+1 {
				t.Errorf("attempts = %d, want the earlier ones and this one", len(eff.Row.Attempts))
			}
			if len(eff.Events) != 0 || eff.Number != "" {
				t.Errorf("effects = %+v", eff)
			}
			if tc.refusal != "" {
				if p.Status != PayRefused || p.Refusal != tc.refusal || len(eff.Intents) != 0 {
					t.Errorf("attempt %s/%s with intents %+v, want refused %s", p.Status, p.Refusal, eff.Intents, tc.refusal)
				}
				return
			}
			if p.Status != PayInitiating || p.Refusal != "" {
				t.Errorf("attempt %s/%s, want initiating", p.Status, p.Refusal)
			}
			want := PaymentIntent{Kind: IntentCreate, PaymentID: r.Payment.PaymentID, AppointmentID: "a-1", Amount: price,
				Currency: Currency, Outcome: "approve"}
			if len(eff.Intents) != 1 || !reflect.DeepEqual(eff.Intents[0], want) {
				t.Errorf("intents = %+v, want %+v", eff.Intents, want)
			}
		})
	}

	// The same key again changes nothing, whatever its outcome was.
	for _, st := range []string{PayInitiating, PayCompleted, PayFailed, PayRefused} {
		noEffects(t, "Pay with a known key ("+st+")", Pay(payments(st), payRequest("k1"), now))
	}
}

func TestOrderWasCreated(t *testing.T) {
	for _, approval := range []string{"", "https://paypal.example/approve"} {
		t.Run("approval="+approval, func(t *testing.T) {
			cur := payments(PayInitiating)
			var eff PayEffects
			o := OrderCreated{PaymentID: "p-k1", OrderID: "o-1", ApprovalURL: approval}
			unchanged(t, "OrderWasCreated", cur, func() { eff = OrderWasCreated(cur, o) })
			p := eff.Row.ByID("p-k1")
			if p.Status != PayPending || p.OrderID != "o-1" || p.ApprovalURL != approval {
				t.Errorf("attempt = %+v", p)
			}
			want := codecs.PaymentInitiated{PaymentID: "p-k1", AppointmentID: "a-1", Amount: price, Currency: Currency,
				PayPalOrderID: "o-1", Status: PayPending}
			if len(eff.Events) != 1 || !reflect.DeepEqual(eff.Events[0], want) {
				t.Errorf("events = %+v, want %+v", eff.Events, want)
			}
			if approval != "" {
				if len(eff.Intents) != 0 {
					t.Errorf("an order awaiting approval is captured: %+v", eff.Intents)
				}
				// The customer's approval captures it, once it is pending; each request is a try
				// of its own (its own gateway request id).
				capture := CaptureApproved(eff.Row, CaptureRequest{PaymentID: "p-k1"})
				if capture.Row == nil || capture.Row.ByID("p-k1").CaptureTries != 1 || len(capture.Intents) != 1 ||
					capture.Intents[0].Kind != IntentCapture || capture.Intents[0].Try != 1 {
					t.Errorf("CaptureApproved = %+v", capture)
				}
				// PayPal answers that the buyer has not approved yet: the payment stays pending,
				// and says so; a report of an older try changes nothing.
				refused := CaptureNotApproved(capture.Row, NotApproved{PaymentID: "p-k1", Try: 1, Reason: "not approved"})
				if p := refused.Row.ByID("p-k1"); p.Status != PayPending || p.NotApproved != "not approved" || len(refused.Events) != 0 {
					t.Errorf("CaptureNotApproved = %+v", p)
				}
				retry := CaptureApproved(refused.Row, CaptureRequest{PaymentID: "p-k1"})
				if p := retry.Row.ByID("p-k1"); p.CaptureTries != 2 || p.NotApproved != "" || retry.Intents[0].Try != 2 {
					t.Errorf("second try = %+v %+v", p, retry.Intents)
				}
				noEffects(t, "CaptureNotApproved of an older try", CaptureNotApproved(retry.Row, NotApproved{PaymentID: "p-k1", Try: 1}))
				return
			}
			wantIntent := PaymentIntent{Kind: IntentCapture, PaymentID: "p-k1", AppointmentID: "a-1", Amount: price,
				Currency: Currency, Outcome: "approve", OrderID: "o-1"}
			if len(eff.Intents) != 1 || !reflect.DeepEqual(eff.Intents[0], wantIntent) {
				t.Errorf("intents = %+v, want %+v", eff.Intents, wantIntent)
			}
			// Without an approval URL there is nothing to approve.
			noEffects(t, "CaptureApproved without approval", CaptureApproved(eff.Row, CaptureRequest{PaymentID: "p-k1"}))
		})
	}
	noEffects(t, "OrderWasCreated of no row", OrderWasCreated(nil, OrderCreated{PaymentID: "p-k1"}))
	noEffects(t, "OrderWasCreated of an unknown payment", OrderWasCreated(payments(PayInitiating), OrderCreated{PaymentID: "p-x"}))
	noEffects(t, "OrderWasCreated twice", OrderWasCreated(payments(PayPending), OrderCreated{PaymentID: "p-k1", OrderID: "o-1"}))
	noEffects(t, "CaptureApproved of no row", CaptureApproved(nil, CaptureRequest{PaymentID: "p-k1"}))
	noEffects(t, "CaptureApproved of an initiating payment", CaptureApproved(payments(PayInitiating), CaptureRequest{PaymentID: "p-k1"}))
}

func TestCapturedThenNumbered(t *testing.T) {
	at := time.Date(2025, 12, 31, 23, 59, 0, 0, time.UTC)
	cur := payments(PayPending)
	var eff PayEffects
	unchanged(t, "WasCaptured", cur, func() { eff = WasCaptured(cur, Captured{PaymentID: "p-k1", TransactionID: "tx-1"}, at) })
	if p := eff.Row.ByID("p-k1"); p.Status != PayCaptured || p.TransactionID != "tx-1" {
		t.Errorf("attempt = %+v", p)
	}
	if eff.Number != "p-k1" || eff.Series != "INV-2025" || len(eff.Events) != 0 || len(eff.Intents) != 0 {
		t.Errorf("WasCaptured = %+v, want a number request only", eff)
	}
	// Reported again while it waits for its number — even after New Year — the capture asks the
	// same series for the number again (with the same request id) and changes nothing else.
	captured := eff.Row
	unchanged(t, "WasCaptured twice", captured, func() {
		again := WasCaptured(captured, Captured{PaymentID: "p-k1", TransactionID: "tx-1"}, at.Add(time.Hour))
		if !reflect.DeepEqual(again, PayEffects{Number: "p-k1", Series: "INV-2025"}) {
			t.Errorf("WasCaptured twice = %+v, want the number request only", again)
		}
	})
	for _, st := range []string{PayCompleted, PayFailed, PayRefused} {
		noEffects(t, "WasCaptured of a "+st+" payment", WasCaptured(payments(st), Captured{PaymentID: "p-k1", TransactionID: "tx-1"}, at))
	}
	noEffects(t, "WasCaptured of an unknown payment", WasCaptured(payments(PayCaptured), Captured{PaymentID: "p-x"}, at))
	noEffects(t, "WasCaptured of an initiating payment", WasCaptured(payments(PayInitiating), Captured{PaymentID: "p-k1"}, at))
	noEffects(t, "WasCaptured of no row", WasCaptured(nil, Captured{PaymentID: "p-k1"}, at))

	n := Numbered{PaymentID: "p-k1", Number: "INV-2025-000007"}
	unchanged(t, "WasNumbered", captured, func() { eff = WasNumbered(captured, n, "http://x", t1) })
	p := eff.Row.ByID("p-k1")
	if p.Status != PayCompleted || p.InvoiceNumber != n.Number || p.CompletedAt == nil || !p.CompletedAt.Equal(t1) ||
		eff.Row.Completed != "p-k1" {
		t.Errorf("row = %+v, attempt %+v", eff.Row, p)
	}
	want := codecs.PaymentCompleted{PaymentID: "p-k1", AppointmentID: "a-1", Amount: price, Currency: Currency,
		TransactionID: "tx-1", Status: PayCompleted, CompletedAt: t1, PaymentMethod: PaymentMethodPayPal,
		InvoiceURL: "http://x/v1/appointments/a-1/invoice.pdf"}
	if len(eff.Events) != 1 || !reflect.DeepEqual(eff.Events[0], want) {
		t.Errorf("events = %+v\nwant %+v", eff.Events, want)
	}
	if _, err := codecs.New(eff.Events[0], t1); err != nil {
		t.Errorf("payment.completed does not validate: %v", err)
	}
	noEffects(t, "WasNumbered twice", WasNumbered(eff.Row, n, "http://x", t1))
	noEffects(t, "WasNumbered of a pending payment", WasNumbered(payments(PayPending), n, "http://x", t1))
	noEffects(t, "WasNumbered of no row", WasNumbered(nil, n, "http://x", t1))
}

func TestWasDeclined(t *testing.T) {
	d := Declined{PaymentID: "p-k1", Reason: "card declined"}
	for _, st := range []string{PayInitiating, PayPending} {
		cur := payments(st)
		var eff PayEffects
		unchanged(t, "WasDeclined", cur, func() { eff = WasDeclined(cur, d, t1) })
		if p := eff.Row.ByID("p-k1"); p.Status != PayFailed || p.FailureReason != "card declined" {
			t.Errorf("%s: attempt = %+v", st, p)
		}
		want := codecs.PaymentFailed{PaymentID: "p-k1", AppointmentID: "a-1", Amount: price, Status: PayFailed,
			FailureReason: "card declined", FailedAt: t1}
		if len(eff.Events) != 1 || !reflect.DeepEqual(eff.Events[0], want) || len(eff.Intents) != 0 {
			t.Errorf("%s: effects = %+v", st, eff)
		}
	}
	for _, st := range []string{PayCaptured, PayCompleted, PayFailed, PayRefused} {
		noEffects(t, "WasDeclined of a "+st+" payment", WasDeclined(payments(st), d, t1))
	}
	noEffects(t, "WasDeclined of no row", WasDeclined(nil, d, t1))
	noEffects(t, "WasDeclined of an unknown payment", WasDeclined(payments(PayPending), Declined{PaymentID: "p-x"}, t1))
}

func TestRefundOnce(t *testing.T) {
	cur := payments(PayCompleted)
	var eff PayEffects
	unchanged(t, "RefundPayment", cur, func() { eff = RefundPayment(cur, RefundRequest{Reason: "customer cancelled"}) })
	p := eff.Row.ByID("p-k1")
	if p.Refund == nil || p.Refund.RefundID != RefundID("p-k1") || p.Refund.Amount != price || p.Refund.Done ||
		p.Refund.Reason != "customer cancelled" {
		t.Fatalf("refund = %+v", p.Refund)
	}
	want := PaymentIntent{Kind: IntentRefund, PaymentID: "p-k1", AppointmentID: "a-1", Amount: price, Currency: Currency,
		TransactionID: "tx-1", RefundID: RefundID("p-k1"), Reason: "customer cancelled"}
	if len(eff.Intents) != 1 || !reflect.DeepEqual(eff.Intents[0], want) || len(eff.Events) != 0 {
		t.Errorf("effects = %+v, want the intent %+v", eff, want)
	}
	asked := eff.Row
	noEffects(t, "RefundPayment twice", RefundPayment(asked, RefundRequest{Reason: "again"}))
	noEffects(t, "RefundPayment of an unpaid appointment", RefundPayment(payments(PayPending), RefundRequest{Reason: "x"}))
	noEffects(t, "RefundPayment of no row", RefundPayment(nil, RefundRequest{Reason: "x"}))

	r := Refunded{PaymentID: "p-k1", RefundID: RefundID("p-k1")}
	eff = WasRefunded(asked, r, t1) // it writes through to asked: see TestWasRefundedLeavesCurrentRow
	p = eff.Row.ByID("p-k1")
	if !p.Refund.Done || p.Refund.RefundedAt == nil || !p.Refund.RefundedAt.Equal(t1) {
		t.Errorf("refund = %+v", p.Refund)
	}
	wantEv := codecs.PaymentRefunded{PaymentID: "p-k1", RefundID: RefundID("p-k1"), Amount: price,
		Reason: "customer cancelled", RefundedAt: t1}
	if len(eff.Events) != 1 || !reflect.DeepEqual(eff.Events[0], wantEv) {
		t.Errorf("events = %+v, want %+v", eff.Events, wantEv)
	}
	noEffects(t, "WasRefunded twice", WasRefunded(eff.Row, r, t1))
	noEffects(t, "RefundPayment after the refund", RefundPayment(eff.Row, RefundRequest{Reason: "again"}))
	noEffects(t, "WasRefunded without a refund asked", WasRefunded(payments(PayCompleted), r, t1))
	noEffects(t, "WasRefunded of no row", WasRefunded(nil, r, t1))
}

func TestAppointmentEvent(t *testing.T) {
	tests := []struct {
		name string
		ev   codecs.Data
		want string
	}{
		{"created", codecs.AppointmentCreated{AppointmentID: "a-1"}, ApptPendingPayment},
		{"confirmed", codecs.AppointmentConfirmed{AppointmentID: "a-1"}, ApptConfirmed},
		{"checked in", codecs.AppointmentCheckedIn{AppointmentID: "a-1"}, ApptInProgress},
		{"cancelled by the customer", codecs.AppointmentCancelled{AppointmentID: "a-1", CancelledBy: "u-1", Reason: "x"}, ApptCancelled},
		{"cancelled by the system for another reason", codecs.AppointmentCancelled{AppointmentID: "a-1", CancelledBy: "system", Reason: "center closed"}, ApptCancelled},
		{"expired", codecs.AppointmentCancelled{AppointmentID: "a-1", CancelledBy: "system", Reason: "payment_window_expired"}, ApptExpired},
		{"other events", codecs.PaymentInitiated{AppointmentID: "a-1"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			row := AppointmentEvent(nil, "a-1", tc.ev)
			if tc.want == "" {
				if row != nil {
					t.Errorf("AppointmentEvent = %+v, want no change", row)
				}
				return
			}
			if row == nil || row.ApptStatus != tc.want || row.AppointmentID != "a-1" || row.Attempts == nil {
				t.Fatalf("AppointmentEvent = %+v, want status %s", row, tc.want)
			}
			// The same status again changes nothing.
			if again := AppointmentEvent(row, "a-1", tc.ev); again != nil {
				t.Errorf("second AppointmentEvent = %+v", again)
			}
		})
	}
	// Attempts are kept.
	cur := payments(PayCompleted)
	unchanged(t, "AppointmentEvent", cur, func() {
		row := AppointmentEvent(cur, "a-1", codecs.AppointmentConfirmed{AppointmentID: "a-1"})
		if row == nil || row.ApptStatus != ApptConfirmed || row.Completed != "p-k1" || row.ByID("p-k1") == nil {
			t.Errorf("row = %+v", row)
		}
	})
}

func TestNextNumber(t *testing.T) {
	var s *Series
	for i, want := range []string{"INV-2026-000001", "INV-2026-000002", "INV-2026-000003"} {
		row, n := NextNumber(s, NumberRequest{Series: "INV-2026", RequestID: []string{"p-1", "p-2", "p-3"}[i], ReplyKey: "a"})
		if n != want || row == nil || row.Last != i+1 {
			t.Fatalf("number %d = %q (row %+v), want %s", i+1, n, row, want)
		}
		s = row
	}
	before, _ := json.Marshal(s)
	row, n := NextNumber(s, NumberRequest{Series: "INV-2026", RequestID: "p-2"})
	if row != nil || n != "INV-2026-000002" {
		t.Errorf("repeated request = %q, %+v; want its number and no change", n, row)
	}
	if after, _ := json.Marshal(s); string(after) != string(before) {
		t.Errorf("row modified: %s", after)
	}
	row, n = NextNumber(s, NumberRequest{Series: "INV-2026", RequestID: "p-4"})
	want := []Assignment{{"p-1", 1}, {"p-2", 2}, {"p-3", 3}, {"p-4", 4}}
	if n != "INV-2026-000004" || row == nil || row.Last != 4 || !reflect.DeepEqual(row.Recent, want) {
		t.Errorf("next = %q, %+v; want INV-2026-000004 with recent %+v", n, row, want)
	}
	if s.Last != 3 || len(s.Recent) != 3 {
		t.Errorf("current row advanced: %+v", s)
	}
}

// A series remembers its latest 1024 assignments: a request among them gets its number again,
// and the row stays that small however many numbers are given.
func TestNextNumberRemembersRecent(t *testing.T) {
	const recent = 1024
	j := Journal{{Input: "numbering-commands/0/1"}}
	s := &Series{Series: "INV-2026", Journaled: Journaled{Journal: j}}
	total := recent + 300
	for i := 1; i <= total; i++ {
		cur := s
		var row *Series
		var n string
		unchanged(t, "NextNumber", cur, func() {
			row, n = NextNumber(cur, NumberRequest{Series: "INV-2026", RequestID: fmt.Sprintf("p-%d", i)})
		})
		if row == nil || row.Last != i || n != FormatNumber("INV-2026", i) {
			t.Fatalf("request %d: %q, %+v", i, n, row)
		}
		if want := min(i, recent); len(row.Recent) != want {
			t.Fatalf("request %d: %d recent assignments, want %d", i, len(row.Recent), want)
		}
		if last := row.Recent[len(row.Recent)-1]; last != (Assignment{fmt.Sprintf("p-%d", i), i}) {
			t.Fatalf("request %d: latest assignment %+v", i, last)
		}
		if !reflect.DeepEqual(row.Journal, j) {
			t.Fatalf("request %d: journal %+v, want the row's %+v kept", i, row.Journal, j)
		}
		s = row
	}
	// The oldest remembered are the latest 1024, in order.
	for k, a := range s.Recent {
		if want := total - recent + 1 + k; a.Number != want || a.RequestID != fmt.Sprintf("p-%d", want) {
			t.Fatalf("Recent[%d] = %+v, want p-%d", k, a, want)
		}
	}
	// A request among the recent ones, however old, gets its number again without advancing.
	for _, i := range []int{total - recent + 1, total - 1, total} {
		before, _ := json.Marshal(s)
		row, n := NextNumber(s, NumberRequest{Series: "INV-2026", RequestID: fmt.Sprintf("p-%d", i)})
		if row != nil || n != FormatNumber("INV-2026", i) {
			t.Errorf("request p-%d again = %q, %+v; want its number and no change", i, n, row)
		}
		if after, _ := json.Marshal(s); string(after) != string(before) {
			t.Errorf("row modified by p-%d again", i)
		}
	}
	// One that left the window is a new request.
	if row, n := NextNumber(s, NumberRequest{Series: "INV-2026", RequestID: "p-1"}); row == nil || n != FormatNumber("INV-2026", total+1) ||
		len(row.Recent) != recent {
		t.Errorf("p-1 long after = %q, %+v", n, row)
	}
}

// NextNumber never writes into the array of the current row's Recent, even with room to spare.
func TestNextNumberLeavesCurrentArray(t *testing.T) {
	backing := make([]Assignment, 2, 8)
	backing[0], backing[1] = Assignment{"p-1", 1}, Assignment{"p-2", 2}
	cur := &Series{Series: "INV-2026", Last: 2, Recent: backing}
	a, _ := NextNumber(cur, NumberRequest{Series: "INV-2026", RequestID: "p-3"})
	b, _ := NextNumber(cur, NumberRequest{Series: "INV-2026", RequestID: "p-x"})
	if spare := backing[:3][2]; spare != (Assignment{}) {
		t.Errorf("NextNumber wrote %+v into the current row's array", spare)
	}
	if a.Recent[2] != (Assignment{"p-3", 3}) || b.Recent[2] != (Assignment{"p-x", 3}) {
		t.Errorf("rows share their array: %+v, %+v", a.Recent, b.Recent)
	}
}

func TestFormatNumberAndSeries(t *testing.T) {
	if got := FormatNumber("INV-2026", 12); got != "INV-2026-000012" {
		t.Errorf("FormatNumber = %q", got)
	}
	if got := FormatNumber("INV-2026", 1234567); got != "INV-2026-1234567" {
		t.Errorf("FormatNumber past 6 digits = %q", got)
	}
	if got := InvoiceSeries(time.Date(2026, 12, 31, 23, 0, 0, 0, time.UTC)); got != "INV-2026" {
		t.Errorf("InvoiceSeries = %q", got)
	}
	if got := InvoiceURL("http://127.0.0.1:8080", "a-1"); got != "http://127.0.0.1:8080/v1/appointments/a-1/invoice.pdf" {
		t.Errorf("InvoiceURL = %q", got)
	}
}

func TestPaymentInFlightAndByID(t *testing.T) {
	for st, want := range map[string]bool{PayInitiating: true, PayPending: true, PayCaptured: true,
		PayCompleted: false, PayFailed: false, PayRefused: false} {
		if got := (Payment{Status: st}).InFlight(); got != want {
			t.Errorf("InFlight(%s) = %v", st, got)
		}
	}
	ps := payments(PayPending)
	if ps.ByID("p-k1") == nil || ps.ByID("p-x") != nil {
		t.Error("ByID")
	}
}

// WasRefunded, like every rule, must leave the current row alone: the new row is a copy. The
// clone of Payments copies each attempt but shares its *Refund, which WasRefunded then marks
// done in place.
func TestWasRefundedLeavesCurrentRow(t *testing.T) {
	cur := RefundPayment(payments(PayCompleted), RefundRequest{Reason: "customer cancelled"}).Row
	unchanged(t, "WasRefunded", cur, func() { WasRefunded(cur, Refunded{PaymentID: "p-k1", RefundID: RefundID("p-k1")}, t1) })
}
