package tables

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/smartautocheck/smartautocheck/codecs"
)

const hold = 15 * time.Minute

func strp(s string) *string { return &s }

// appt is an appointment of status for a slot 3 days after t0.
func appt(status string) *Appointment {
	return &Appointment{AppointmentID: "a-1", CustomerID: "u-1", CustomerEmail: "jane@example.com",
		CustomerPhone: "+33612345678", CustomerName: "Jane Doe", CenterID: "center-123", CenterAddress: "123 Main St",
		ServiceType: "premium", Date: "2025-01-18", Time: "10:00 AM", SlotStart: t0.Add(72 * time.Hour),
		Vehicle: codecs.Vehicle{Registration: "AB-123-CD", Make: "Toyota", Model: "Camry", Year: 2020},
		Status:  status, Amount: codecs.MoneyFromCents(8000), Currency: Currency, QRCode: "cXI=", QRToken: "tok",
		Hold: hold, HoldExpiresAt: t0.Add(hold), CreatedAt: t0}
}

// paid is a confirmed appointment with its payment.
func paid() *Appointment {
	a := appt(ApptConfirmed)
	a.PaymentID = "p-1"
	a.ConfirmedAt = &t0
	return a
}

// unchanged fails the test when f modified the row it was given (of any table: the rules of
// every table leave the current row alone).
func unchanged[R any](t *testing.T, name string, cur *R, f func()) {
	t.Helper()
	if cur == nil {
		f()
		return
	}
	before, _ := json.Marshal(cur)
	f()
	if after, _ := json.Marshal(cur); string(after) != string(before) {
		t.Errorf("%s modified the current row:\n%s\nthen\n%s", name, before, after)
	}
}

// noEffects fails the test when a rule's effects (of any table) are not the zero value.
func noEffects[E any](t *testing.T, name string, eff E) {
	t.Helper()
	var none E
	if !reflect.DeepEqual(eff, none) {
		t.Errorf("%s = %+v, want no effect", name, eff)
	}
}

func TestSlotKeyAndRefundID(t *testing.T) {
	if got := appt(ApptRequested).SlotKey(); got != "center-123|2025-01-18" {
		t.Errorf("SlotKey = %q", got)
	}
	if RefundID("p-1") != RefundID("p-1") || RefundID("p-1") == RefundID("p-2") || RefundID("p-1") == "" {
		t.Error("RefundID is not a stable function of the payment")
	}
}

func TestSeen(t *testing.T) {
	a := appt(ApptPendingPayment)
	a.History = []json.RawMessage{json.RawMessage(`{"eventId":"e-1","eventType":"x"}`), json.RawMessage(`not json`)}
	if !a.Seen("e-1") {
		t.Error("Seen(e-1) = false")
	}
	if a.Seen("e-2") || a.Seen("") {
		t.Error("Seen of an unknown id = true")
	}
}

// customer is the verified customer u-1.
func customer() *User {
	return &User{UserID: "u-1", Email: "jane@example.com", Role: RoleCustomer, Status: StatusVerified, CreatedAt: t0}
}

func TestBook(t *testing.T) {
	b := BookAppointment{Appointment: *appt(""), Capacity: 3}
	unverified := customer()
	unverified.Status = StatusPendingVerification
	// The view checked the verification; the processor's copy of the users table may lag it (a
	// customer verified just now, or not known yet), so those book too.
	for name, u := range map[string]*User{"verified customer": customer(), "unverified customer": unverified,
		"user not in the table yet": nil} {
		t.Run(name, func(t *testing.T) {
			var eff ApptEffects
			unchanged(t, "Book", u, func() { eff = Book(nil, b, u) })
			if eff.Row == nil || !eff.Reserve {
				t.Fatalf("Book = %+v, want a row and a reserve", eff)
			}
			want := *appt(ApptRequested)
			if !reflect.DeepEqual(*eff.Row, want) {
				t.Errorf("row = %+v\nwant %+v", *eff.Row, want)
			}
			if eff.Release || eff.Refund != nil || eff.ExpireAt != nil || eff.RemindAt != nil || len(eff.Events) != 0 {
				t.Errorf("Book has more effects than the reserve: %+v", eff)
			}
		})
	}
	// A known id (a redelivered book) changes nothing.
	for _, st := range []string{ApptRequested, ApptPendingPayment, ApptRejected} {
		cur := appt(st)
		unchanged(t, "Book", cur, func() { noEffects(t, "Book of a "+st+" appointment", Book(cur, b, customer())) })
		unchanged(t, "Book", cur, func() { noEffects(t, "Book of a "+st+" appointment, user unknown", Book(cur, b, nil)) })
	}
}

// Only customers book: an account known to be something else is rejected at once, with no
// reserve.
func TestBookRefusesAnyoneButACustomer(t *testing.T) {
	inspector := customer()
	inspector.Role = RoleInspector
	admin := customer()
	admin.Role = RoleAdmin
	unverifiedInspector := customer()
	unverifiedInspector.Role, unverifiedInspector.Status = RoleInspector, StatusPendingVerification
	for name, u := range map[string]*User{"inspector": inspector, "admin": admin, "unverified inspector": unverifiedInspector} {
		t.Run(name, func(t *testing.T) {
			var eff ApptEffects
			unchanged(t, "Book", u, func() { eff = Book(nil, BookAppointment{Appointment: *appt(""), Capacity: 3}, u) })
			if eff.Row == nil || eff.Row.Status != ApptRejected || eff.Row.Rejection != RefusedNotCustomer {
				t.Fatalf("Book = %+v, want rejected %s", eff.Row, RefusedNotCustomer)
			}
			if RefusedNotCustomer != "forbidden" {
				t.Errorf("RefusedNotCustomer = %q, want forbidden", RefusedNotCustomer)
			}
			want := *appt(ApptRejected)
			want.Rejection = RefusedNotCustomer
			if !reflect.DeepEqual(*eff.Row, want) {
				t.Errorf("row = %+v\nwant %+v", *eff.Row, want)
			}
			if eff.Reserve || len(eff.Events) != 0 || eff.Release || eff.ExpireAt != nil || eff.Refund != nil || eff.RemindAt != nil {
				t.Errorf("a rejected booking has effects: %+v", eff)
			}
		})
	}
}

func TestGranted(t *testing.T) {
	cur := appt(ApptRequested)
	cur.HoldExpiresAt = time.Time{}
	insp := strp("i-1")
	var eff ApptEffects
	unchanged(t, "Granted", cur, func() { eff = Granted(cur, SlotGranted{InspectorID: insp}, t1) })
	if eff.Row == nil {
		t.Fatal("Granted: no row")
	}
	r := eff.Row
	if r.Status != ApptPendingPayment || r.InspectorID == nil || *r.InspectorID != "i-1" || !r.HoldExpiresAt.Equal(t1.Add(hold)) {
		t.Errorf("row = %+v", *r)
	}
	if eff.ExpireAt == nil || !eff.ExpireAt.Equal(t1.Add(hold)) {
		t.Errorf("ExpireAt = %v, want the hold's end %v", eff.ExpireAt, t1.Add(hold))
	}
	if eff.Reserve || eff.Release || eff.Refund != nil || eff.RemindAt != nil {
		t.Errorf("effects = %+v", eff)
	}
	want := codecs.AppointmentCreated{AppointmentID: "a-1", CustomerID: "u-1", ServiceType: "premium", Date: "2025-01-18",
		Time: "10:00 AM", Vehicle: cur.Vehicle, InspectorID: insp, Status: ApptPendingPayment, QRCode: "cXI=",
		Amount: codecs.MoneyFromCents(8000)}
	if len(eff.Events) != 1 || !reflect.DeepEqual(eff.Events[0], want) {
		t.Errorf("events = %+v\nwant %+v", eff.Events, want)
	}
	if _, err := codecs.New(eff.Events[0], t1); err != nil {
		t.Errorf("appointment.created does not validate: %v", err)
	}

	// Without an inspector the event says null.
	if eff := Granted(appt(ApptRequested), SlotGranted{}, t1); eff.Row == nil || eff.Row.InspectorID != nil ||
		eff.Events[0].(codecs.AppointmentCreated).InspectorID != nil {
		t.Errorf("Granted without inspector = %+v", eff)
	}

	noEffects(t, "Granted of an unknown appointment", Granted(nil, SlotGranted{}, t1))
	for _, st := range []string{ApptPendingPayment, ApptRejected, ApptConfirmed, ApptExpired} {
		noEffects(t, "Granted of a "+st+" appointment", Granted(appt(st), SlotGranted{InspectorID: insp}, t1))
	}
}

func TestRefused(t *testing.T) {
	cur := appt(ApptRequested)
	var eff ApptEffects
	unchanged(t, "Refused", cur, func() { eff = Refused(cur) })
	if eff.Row == nil || eff.Row.Status != ApptRejected || eff.Row.Rejection != RefusedSlotUnavailable {
		t.Fatalf("Refused = %+v", eff)
	}
	if len(eff.Events) != 0 || eff.Release || eff.Reserve || eff.ExpireAt != nil || eff.Refund != nil {
		t.Errorf("a refused booking has effects: %+v", eff)
	}
	noEffects(t, "Refused of an unknown appointment", Refused(nil))
	for _, st := range []string{ApptPendingPayment, ApptRejected, ApptConfirmed} {
		noEffects(t, "Refused of a "+st+" appointment", Refused(appt(st)))
	}
}

func TestExpire(t *testing.T) {
	end := t0.Add(hold)
	tests := []struct {
		name   string
		cur    *Appointment
		now    time.Time
		expire bool
	}{
		// The timer was set for the hold's end; the instance that fired it may run ahead of
		// this one's clock, so an early firing expires the appointment too.
		{"before the hold's end", appt(ApptPendingPayment), end.Add(-time.Nanosecond), true},
		{"a minute before the hold's end", appt(ApptPendingPayment), end.Add(-time.Minute), true},
		{"at the hold's end", appt(ApptPendingPayment), end, true},
		{"after the hold's end", appt(ApptPendingPayment), end.Add(time.Hour), true},
		{"paid", paid(), end.Add(time.Hour), false},
		{"paid, timer early", paid(), end.Add(-time.Minute), false},
		{"cancelled, timer early", appt(ApptCancelled), end.Add(-time.Minute), false},
		{"cancelled", appt(ApptCancelled), end.Add(time.Hour), false},
		{"already expired", appt(ApptExpired), end.Add(time.Hour), false},
		{"requested", appt(ApptRequested), end.Add(time.Hour), false},
		{"unknown", nil, end.Add(time.Hour), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var eff ApptEffects
			unchanged(t, "Expire", tc.cur, func() { eff = Expire(tc.cur, tc.now) })
			if !tc.expire {
				noEffects(t, "Expire", eff)
				return
			}
			r := eff.Row
			if r == nil || r.Status != ApptExpired || r.CancelledAt == nil || !r.CancelledAt.Equal(tc.now) ||
				r.RefundEligible == nil || *r.RefundEligible {
				t.Fatalf("row = %+v", r)
			}
			if !eff.Release || eff.Refund != nil || eff.Reserve || eff.RemindAt != nil || eff.ExpireAt != nil {
				t.Errorf("effects = %+v, want the release only", eff)
			}
			want := codecs.AppointmentCancelled{AppointmentID: "a-1", CancelledBy: "system",
				Reason: "payment_window_expired", CancelledAt: tc.now, RefundEligible: false}
			if len(eff.Events) != 1 || !reflect.DeepEqual(eff.Events[0], want) {
				t.Errorf("events = %+v, want %+v", eff.Events, want)
			}
		})
	}
}

func TestCancel(t *testing.T) {
	slot := t0.Add(72 * time.Hour)
	by := CancelAppt{By: "u-1", Reason: "changed plans"}
	tests := []struct {
		name     string
		cur      *Appointment
		now      time.Time
		cancel   bool
		eligible bool
	}{
		{"unpaid, days ahead", appt(ApptPendingPayment), t0, true, false},
		{"paid, 25 h ahead", paid(), slot.Add(-25 * time.Hour), true, true},
		{"paid, 24 h and 1 ns ahead", paid(), slot.Add(-24*time.Hour - time.Nanosecond), true, true},
		{"paid, exactly 24 h ahead", paid(), slot.Add(-24 * time.Hour), true, false},
		{"paid, 23 h ahead", paid(), slot.Add(-23 * time.Hour), true, false},
		{"paid, after the start", paid(), slot.Add(time.Minute), true, false},
		{"checked in", appt(ApptInProgress), t0, false, false},
		{"completed", appt(ApptCompleted), t0, false, false},
		{"already cancelled", appt(ApptCancelled), t0, false, false},
		{"expired", appt(ApptExpired), t0, false, false},
		{"requested", appt(ApptRequested), t0, false, false},
		{"rejected", appt(ApptRejected), t0, false, false},
		{"unknown", nil, t0, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.cur != nil && tc.cur.Cancellable() != tc.cancel {
				t.Errorf("Cancellable = %v, want %v", tc.cur.Cancellable(), tc.cancel)
			}
			if tc.cur != nil && tc.cur.RefundEligibleAt(tc.now) != tc.eligible {
				t.Errorf("RefundEligibleAt = %v, want %v", tc.cur.RefundEligibleAt(tc.now), tc.eligible)
			}
			var eff ApptEffects
			unchanged(t, "Cancel", tc.cur, func() { eff = Cancel(tc.cur, by, tc.now) })
			if !tc.cancel {
				noEffects(t, "Cancel", eff)
				return
			}
			r := eff.Row
			if r == nil || r.Status != ApptCancelled || r.CancelledAt == nil || !r.CancelledAt.Equal(tc.now) ||
				r.RefundEligible == nil || *r.RefundEligible != tc.eligible {
				t.Fatalf("row = %+v", r)
			}
			if !eff.Release {
				t.Error("the slot is not released")
			}
			want := codecs.AppointmentCancelled{AppointmentID: "a-1", CancelledBy: "u-1", Reason: "changed plans",
				CancelledAt: tc.now, RefundEligible: tc.eligible}
			if len(eff.Events) != 1 || !reflect.DeepEqual(eff.Events[0], want) {
				t.Errorf("events = %+v, want %+v", eff.Events, want)
			}
			if !tc.eligible {
				if eff.Refund != nil || r.Refund != nil {
					t.Errorf("refund %+v / %+v for an ineligible cancellation", eff.Refund, r.Refund)
				}
				return
			}
			if eff.Refund == nil || eff.Refund.Reason == "" {
				t.Errorf("Refund = %+v, want a refund request", eff.Refund)
			}
			if r.Refund == nil || r.Refund.RefundID != RefundID("p-1") || r.Refund.Amount != codecs.MoneyFromCents(8000) {
				t.Errorf("row refund = %+v", r.Refund)
			}
		})
	}
}

func TestCheckIn(t *testing.T) {
	cur := paid()
	var eff ApptEffects
	unchanged(t, "CheckIn", cur, func() { eff = CheckIn(cur, t1) })
	if eff.Row == nil || eff.Row.Status != ApptInProgress || eff.Row.CheckedInAt == nil || !eff.Row.CheckedInAt.Equal(t1) {
		t.Fatalf("CheckIn = %+v", eff)
	}
	want := codecs.AppointmentCheckedIn{AppointmentID: "a-1", CheckedInAt: t1,
		Location: codecs.Location{CenterID: "center-123", Address: "123 Main St"}}
	if len(eff.Events) != 1 || !reflect.DeepEqual(eff.Events[0], want) {
		t.Errorf("events = %+v, want %+v", eff.Events, want)
	}
	if eff.Release || eff.Refund != nil {
		t.Errorf("effects = %+v", eff)
	}
	noEffects(t, "CheckIn of an unknown appointment", CheckIn(nil, t1))
	for _, st := range []string{ApptPendingPayment, ApptInProgress, ApptCancelled, ApptExpired} {
		noEffects(t, "CheckIn of a "+st+" appointment", CheckIn(appt(st), t1))
	}
}

func TestRemind(t *testing.T) {
	if eff := Remind(paid()); !eff.Remind || eff.Row != nil || len(eff.Events) != 0 {
		t.Errorf("Remind of a confirmed appointment = %+v, want the SMS only", eff)
	}
	noEffects(t, "Remind of an unknown appointment", Remind(nil))
	for _, st := range []string{ApptPendingPayment, ApptInProgress, ApptCancelled, ApptExpired} {
		noEffects(t, "Remind of a "+st+" appointment", Remind(appt(st)))
	}
}

func TestPaymentCompleted(t *testing.T) {
	done := codecs.PaymentCompleted{PaymentID: "p-1", AppointmentID: "a-1", Amount: codecs.MoneyFromCents(8000),
		Currency: Currency, TransactionID: "tx-1", Status: PayCompleted, CompletedAt: t0, PaymentMethod: "paypal"}
	slot := t0.Add(72 * time.Hour)

	t.Run("pending is confirmed with a reminder", func(t *testing.T) {
		cur := appt(ApptPendingPayment)
		var eff ApptEffects
		unchanged(t, "PaymentCompleted", cur, func() { eff = PaymentCompleted(cur, done, t1) })
		r := eff.Row
		if r == nil || r.Status != ApptConfirmed || r.PaymentID != "p-1" || r.ConfirmedAt == nil || !r.ConfirmedAt.Equal(t1) {
			t.Fatalf("row = %+v", r)
		}
		want := codecs.AppointmentConfirmed{AppointmentID: "a-1", PaymentID: "p-1", Status: ApptConfirmed, ConfirmedAt: t1}
		if len(eff.Events) != 1 || !reflect.DeepEqual(eff.Events[0], want) {
			t.Errorf("events = %+v, want %+v", eff.Events, want)
		}
		if eff.RemindAt == nil || !eff.RemindAt.Equal(slot.Add(-24*time.Hour)) {
			t.Errorf("RemindAt = %v, want 24 h before %v", eff.RemindAt, slot)
		}
		if eff.Refund != nil || eff.Release {
			t.Errorf("effects = %+v", eff)
		}
	})
	for _, tc := range []struct {
		name string
		now  time.Time
	}{{"less than 24 h ahead", slot.Add(-23 * time.Hour)}, {"exactly 24 h ahead", slot.Add(-24 * time.Hour)}} {
		t.Run("no reminder when confirmed "+tc.name, func(t *testing.T) {
			eff := PaymentCompleted(appt(ApptPendingPayment), done, tc.now)
			if eff.Row == nil || eff.Row.Status != ApptConfirmed || eff.RemindAt != nil {
				t.Errorf("PaymentCompleted = %+v, want confirmed without reminder", eff)
			}
		})
	}
	for _, tc := range []struct{ status, reason string }{
		{ApptExpired, ReasonPaymentWindowExpired},
		{ApptCancelled, "appointment_cancelled"},
	} {
		t.Run("late payment of a "+tc.status+" appointment is refunded", func(t *testing.T) {
			cur := appt(tc.status)
			var eff ApptEffects
			unchanged(t, "PaymentCompleted", cur, func() { eff = PaymentCompleted(cur, done, t1) })
			r := eff.Row
			if r == nil || r.Status != tc.status || r.PaymentID != "p-1" || r.ConfirmedAt != nil {
				t.Fatalf("row = %+v, want still %s with the payment", r, tc.status)
			}
			if r.Refund == nil || r.Refund.RefundID != RefundID("p-1") || r.Refund.Amount != done.Amount {
				t.Errorf("row refund = %+v", r.Refund)
			}
			if eff.Refund == nil || eff.Refund.Reason != tc.reason {
				t.Errorf("Refund = %+v, want reason %s", eff.Refund, tc.reason)
			}
			if len(eff.Events) != 0 || eff.RemindAt != nil || eff.Release {
				t.Errorf("effects = %+v", eff)
			}
		})
	}
	t.Run("a cancelled appointment refunded for another payment is not refunded again", func(t *testing.T) {
		cur := paid()
		cur.Status = ApptCancelled
		eff := PaymentCompleted(cur, codecs.PaymentCompleted{PaymentID: "p-2", AppointmentID: "a-1", Amount: done.Amount}, t1)
		if eff.Refund != nil || len(eff.Events) != 0 || eff.Row == nil || eff.Row.PaymentID != "p-1" {
			t.Errorf("PaymentCompleted = %+v", eff)
		}
	})
	t.Run("an already confirmed appointment is not confirmed again", func(t *testing.T) {
		eff := PaymentCompleted(paid(), done, t1)
		if eff.Refund != nil || len(eff.Events) != 0 || eff.RemindAt != nil || eff.Row == nil || !reflect.DeepEqual(*eff.Row, *paid()) {
			t.Errorf("PaymentCompleted = %+v", eff)
		}
	})
	noEffects(t, "PaymentCompleted of an unknown appointment", PaymentCompleted(nil, done, t1))
}
