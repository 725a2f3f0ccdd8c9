package appointments_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/lovoo/goka/tester"

	"github.com/smartautocheck/smartautocheck/codecs"
	"github.com/smartautocheck/smartautocheck/internal/centers"
	"github.com/smartautocheck/smartautocheck/internal/deadletter"
	"github.com/smartautocheck/smartautocheck/internal/gokatest"
	"github.com/smartautocheck/smartautocheck/internal/topics"
	"github.com/smartautocheck/smartautocheck/processors/appointments"
	"github.com/smartautocheck/smartautocheck/processors/users"
	"github.com/smartautocheck/smartautocheck/tables"
)

// t0 is a Monday morning; the slot is on Thursday at 10:00 in Paris (09:00 UTC), 72 h later.
var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

const (
	hold    = 15 * time.Minute
	date    = "2026-03-05"
	slotAt  = "10:00 AM"
	slotKey = "center-123|" + date
)

type harness struct {
	t     *testing.T
	tt    *tester.Tester
	clock *gokatest.Clock
	// Trackers of every output, and of the commands topic for its offsets.
	events, slots, timers, payments, notes, dead, commands *tester.QueueTracker
}

func start(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, clock: gokatest.NewClock(t0)}
	h.tt = gokatest.Start(t, appointments.Graph(appointments.Options{Now: h.clock.Now, Policy: gokatest.Policy()}))
	// The customer is a verified customer in the users table the processor looks up.
	h.tt.SetTableValue(users.Table, "u-1", tables.User{UserID: "u-1", Email: "jane@example.com", FirstName: "Jane",
		LastName: "Doe", Phone: "+33612345678", Role: tables.RoleCustomer, Status: tables.StatusVerified, CreatedAt: t0})
	h.events = h.tt.NewQueueTracker(string(appointments.Events))
	h.slots = h.tt.NewQueueTracker(topics.SlotCommands)
	h.timers = h.tt.NewQueueTracker(topics.TimerCommands)
	h.payments = h.tt.NewQueueTracker(topics.PaymentCommands)
	h.notes = h.tt.NewQueueTracker(topics.NotificationCommands)
	h.dead = h.tt.NewQueueTracker(topics.DeadLetters)
	h.commands = h.tt.NewQueueTracker(string(appointments.Commands))
	return h
}

// quiet checks that nothing was emitted anywhere since the last drains.
func (h *harness) quiet(step string) {
	h.t.Helper()
	gokatest.Quiet(h.t, step, map[string]*tester.QueueTracker{"events": h.events, "slot commands": h.slots,
		"timer commands": h.timers, "payment commands": h.payments, "notification commands": h.notes, "dead letters": h.dead})
}

// send consumes a command and returns the offset it was read at.
func (h *harness) send(id string, cmd tables.AppointmentCommand) int64 {
	h.t.Helper()
	b, err := json.Marshal(cmd)
	if err != nil {
		h.t.Fatal(err)
	}
	return h.sendRaw(id, b)
}

func (h *harness) sendRaw(id string, b []byte) int64 {
	h.t.Helper()
	offset := h.commands.Hwm()
	h.tt.Consume(string(appointments.Commands), id, b)
	return offset
}

// payment consumes an event of payments-topic keyed by the appointment.
func (h *harness) payment(id string, raw []byte) {
	h.t.Helper()
	h.tt.Consume(string(appointments.Payments), id, raw)
}

func (h *harness) row(id string) (tables.Appointment, bool) {
	h.t.Helper()
	return gokatest.Row[tables.Appointment](h.t, h.tt, appointments.Table, id)
}

func (h *harness) mustRow(id string) tables.Appointment {
	h.t.Helper()
	return gokatest.MustRow[tables.Appointment](h.t, h.tt, appointments.Table, id)
}

// event checks that a record is a valid catalog event of the type, stamped with the clock and
// keyed by the appointment, and returns it decoded.
func (h *harness) event(r gokatest.Record[[]byte], id, eventType string) codecs.Event {
	h.t.Helper()
	if r.Key != id {
		h.t.Errorf("event key = %q, want %s", r.Key, id)
	}
	return gokatest.Event(h.t, r.Value, eventType, h.clock.UTC())
}

// sameRow compares rows without their journals.
func sameRow(t *testing.T, step string, got, want tables.Appointment) {
	t.Helper()
	got.Journal, want.Journal = nil, nil
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Errorf("%s: row = %s\nwant %s", step, g, w)
	}
}

// journal checks that the row's latest journal entry names the input it was last written for.
func (h *harness) journal(a tables.Appointment, topic string, offset int64) {
	h.t.Helper()
	if want := gokatest.Input(topic, offset); len(a.Journal) == 0 || a.Journal[len(a.Journal)-1].Input != want {
		h.t.Errorf("journal = %+v, want latest input %s", a.Journal, want)
	}
}

func slotStart(t *testing.T) time.Time {
	t.Helper()
	sl, err := centers.Default().Slot(date, slotAt)
	if err != nil {
		t.Fatal(err)
	}
	return sl.Start
}

func booking(t *testing.T, id string) tables.BookAppointment {
	return tables.BookAppointment{Capacity: 3, Appointment: tables.Appointment{AppointmentID: id, CustomerID: "u-1",
		CustomerEmail: "jane@example.com", CustomerPhone: "+33612345678", CustomerName: "Jane Doe",
		CenterID: "center-123", CenterAddress: "123 Main St", ServiceType: "premium", Date: date, Time: slotAt,
		SlotStart: slotStart(t), Vehicle: codecs.Vehicle{Registration: "AB-123-CD", Make: "Toyota", Model: "Camry", Year: 2020},
		Amount: tables.Prices["premium"], Currency: tables.Currency, QRCode: "iVBORw0KGgo=", QRToken: "token",
		Hold: hold, CreatedAt: t0}}
}

// pending books id and grants its slot (with inspector i-1), leaving it pending payment with
// every output drained.
func (h *harness) pending(id string) tables.Appointment {
	h.t.Helper()
	b := booking(h.t, id)
	h.send(id, tables.AppointmentCommand{Book: &b})
	h.send(id, tables.AppointmentCommand{Granted: &tables.SlotGranted{InspectorID: ptr("i-1")}})
	a := h.mustRow(id)
	if a.Status != tables.ApptPendingPayment {
		h.t.Fatalf("status = %s, want pending_payment", a.Status)
	}
	for _, qt := range []*tester.QueueTracker{h.events, h.slots, h.timers, h.payments, h.notes} {
		gokatest.Drain[[]byte](h.t, qt)
	}
	return a
}

// completed is a payment.completed event of the appointment.
func completed(t *testing.T, id, paymentID string, at time.Time) []byte {
	t.Helper()
	b, err := codecs.Marshal(codecs.PaymentCompleted{PaymentID: paymentID, AppointmentID: id, Amount: tables.Prices["premium"],
		Currency: tables.Currency, TransactionID: "tx-1", Status: "completed", CompletedAt: at, PaymentMethod: "paypal",
		InvoiceURL: "http://127.0.0.1:8080/v1/appointments/" + id + "/invoice.pdf"}, at)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// confirmed makes a pending appointment confirmed, with every output drained.
func (h *harness) confirmed(id string) tables.Appointment {
	h.t.Helper()
	h.pending(id)
	h.payment(id, completed(h.t, id, "p-1", h.clock.UTC()))
	a := h.mustRow(id)
	if a.Status != tables.ApptConfirmed {
		h.t.Fatalf("status = %s, want confirmed", a.Status)
	}
	for _, qt := range []*tester.QueueTracker{h.events, h.slots, h.timers, h.payments, h.notes} {
		gokatest.Drain[[]byte](h.t, qt)
	}
	return a
}

func ptr(s string) *string { return &s }

// timer checks a timer command: keyed by its due time and id, scheduling cmd back to this
// processor for the appointment.
func timer(t *testing.T, r gokatest.Record[[]byte], due time.Time, timerID, id string, cmd tables.AppointmentCommand) {
	t.Helper()
	if want := tables.TimerKey(due, timerID); r.Key != want {
		t.Errorf("timer key = %q, want %q", r.Key, want)
	}
	tc := gokatest.Decode[tables.TimerCommand](t, r.Value)
	if tc.Schedule == nil || tc.Fire != nil || tc.Forget != nil {
		t.Fatalf("timer command = %s, want a schedule", r.Value)
	}
	s := tc.Schedule
	if !s.Due.Equal(due) || s.Topic != string(appointments.Commands) || s.Key != id {
		t.Errorf("timer = %+v, want due %v to %s/%s", s, due, appointments.Commands, id)
	}
	if got := gokatest.Decode[tables.AppointmentCommand](t, s.Value); !reflect.DeepEqual(got, cmd) {
		t.Errorf("timer command = %s, want %+v", s.Value, cmd)
	}
}

func TestBookGrantedThenExpired(t *testing.T) {
	h := start(t)
	b := booking(t, "a-1")

	// Book: the row is requested and one reserve goes to the center's day.
	off := h.send("a-1", tables.AppointmentCommand{Book: &b})
	a := h.mustRow("a-1")
	want := b.Appointment
	want.Status = tables.ApptRequested
	sameRow(t, "book", a, want)
	h.journal(a, string(appointments.Commands), off)
	r := gokatest.One[[]byte](t, h.slots, "slot commands")
	if r.Key != slotKey {
		t.Errorf("reserve key = %q, want %q", r.Key, slotKey)
	}
	wantReserve := tables.SlotCommand{Reserve: &tables.ReserveSlot{AppointmentID: "a-1", CenterID: "center-123",
		Date: date, Time: slotAt, Capacity: 3}}
	if got := gokatest.Decode[tables.SlotCommand](t, r.Value); !reflect.DeepEqual(got, wantReserve) {
		t.Errorf("slot command = %s, want %+v", r.Value, wantReserve)
	}
	if len(a.Journal) != 1 {
		t.Errorf("journal = %+v, want the book's entry only", a.Journal)
	} else if e := a.Journal[0]; len(e.Emits) != 1 || e.Emits[0].Topic != topics.SlotCommands || string(e.Emits[0].Value) != string(r.Value) {
		t.Errorf("journal emits = %+v, want the reserve", e.Emits)
	}
	h.quiet("book")

	// The same booking again changes nothing.
	h.send("a-1", tables.AppointmentCommand{Book: &b})
	sameRow(t, "book again", h.mustRow("a-1"), want)
	h.quiet("book again")

	// Granted: pending payment, appointment.created, the expiry timer.
	h.clock.Set(t0.Add(time.Second))
	off = h.send("a-1", tables.AppointmentCommand{Granted: &tables.SlotGranted{InspectorID: ptr("i-1")}})
	a = h.mustRow("a-1")
	holdEnd := t0.Add(time.Second + hold)
	if a.Status != tables.ApptPendingPayment || !a.HoldExpiresAt.Equal(holdEnd) || a.InspectorID == nil || *a.InspectorID != "i-1" {
		t.Errorf("row after grant = %+v", a)
	}
	h.journal(a, string(appointments.Commands), off)
	if n := len(a.Journal); n != 2 {
		t.Errorf("journal = %+v, want the book's entry and the grant's", a.Journal)
	}
	r = gokatest.One[[]byte](t, h.events, "events")
	ev := h.event(r, "a-1", codecs.TypeAppointmentCreated)
	wantCreated := codecs.AppointmentCreated{AppointmentID: "a-1", CustomerID: "u-1", ServiceType: "premium", Date: date,
		Time: slotAt, Vehicle: b.Appointment.Vehicle, InspectorID: ptr("i-1"), Status: tables.ApptPendingPayment,
		QRCode: b.Appointment.QRCode, Amount: tables.Prices["premium"]}
	if !reflect.DeepEqual(ev.Payload, wantCreated) {
		t.Errorf("payload = %+v\nwant %+v", ev.Payload, wantCreated)
	}
	if len(a.History) != 1 || string(a.History[0]) != string(r.Value) {
		t.Errorf("history = %s, want the event", a.History)
	}
	timer(t, gokatest.One[[]byte](t, h.timers, "timer commands"), holdEnd, "a-1/expire", "a-1", tables.AppointmentCommand{Expire: &tables.ExpireHold{}})
	h.quiet("granted")

	// A late or repeated grant changes nothing.
	h.send("a-1", tables.AppointmentCommand{Granted: &tables.SlotGranted{InspectorID: ptr("i-2")}})
	h.quiet("granted again")

	// The timer firing expires the appointment even when this instance's clock reads a moment
	// before the hold's end (the instance whose ticker fired it may run ahead): expired,
	// cancelled by the system, slot released.
	h.clock.Set(holdEnd.Add(-time.Millisecond))
	h.send("a-1", tables.AppointmentCommand{Expire: &tables.ExpireHold{}})
	a = h.mustRow("a-1")
	if a.Status != tables.ApptExpired || a.CancelledAt == nil || !a.CancelledAt.Equal(h.clock.UTC()) {
		t.Errorf("row after expire = %+v", a)
	}
	ev = h.event(gokatest.One[[]byte](t, h.events, "events"), "a-1", codecs.TypeAppointmentCancelled)
	wantCancelled := codecs.AppointmentCancelled{AppointmentID: "a-1", CancelledBy: "system", Reason: "payment_window_expired",
		CancelledAt: h.clock.UTC(), RefundEligible: false}
	if !reflect.DeepEqual(ev.Payload, wantCancelled) {
		t.Errorf("payload = %+v, want %+v", ev.Payload, wantCancelled)
	}
	r = gokatest.One[[]byte](t, h.slots, "slot commands")
	wantRelease := tables.SlotCommand{Release: &tables.ReleaseSlot{AppointmentID: "a-1", Time: slotAt}}
	if got := gokatest.Decode[tables.SlotCommand](t, r.Value); r.Key != slotKey || !reflect.DeepEqual(got, wantRelease) {
		t.Errorf("slot command %q %s, want %+v", r.Key, r.Value, wantRelease)
	}
	if len(a.History) != 2 {
		t.Errorf("history has %d events, want 2", len(a.History))
	}
	h.quiet("expire")

	// The timer firing again, after the hold's end, does nothing.
	h.clock.Set(holdEnd.Add(time.Second))
	h.send("a-1", tables.AppointmentCommand{Expire: &tables.ExpireHold{}})
	h.quiet("expire again")
	if again := h.mustRow("a-1"); again.Status != tables.ApptExpired || !again.CancelledAt.Equal(*a.CancelledAt) {
		t.Errorf("row after a second expire = %+v", again)
	}
}

// A timer firing after the hold's end expires the appointment too.
func TestLateExpiryTimer(t *testing.T) {
	h := start(t)
	a := h.pending("a-1")
	h.clock.Set(a.HoldExpiresAt.Add(time.Hour))
	h.send("a-1", tables.AppointmentCommand{Expire: &tables.ExpireHold{}})
	if a := h.mustRow("a-1"); a.Status != tables.ApptExpired || a.CancelledAt == nil || !a.CancelledAt.Equal(h.clock.UTC()) {
		t.Errorf("row = %+v", a)
	}
	h.event(gokatest.One[[]byte](t, h.events, "events"), "a-1", codecs.TypeAppointmentCancelled)
	if r := gokatest.One[[]byte](t, h.slots, "slot commands"); gokatest.Decode[tables.SlotCommand](t, r.Value).Release == nil {
		t.Errorf("slot command %s, want the release", r.Value)
	}
	h.quiet("late expire")
}

func TestRefusedBooking(t *testing.T) {
	h := start(t)
	b := booking(t, "a-1")
	h.send("a-1", tables.AppointmentCommand{Book: &b})
	gokatest.Drain[[]byte](t, h.slots)
	h.send("a-1", tables.AppointmentCommand{Refused: &tables.SlotRefused{}})
	if a := h.mustRow("a-1"); a.Status != tables.ApptRejected || a.Rejection != tables.RefusedSlotUnavailable {
		t.Errorf("row = %+v", a)
	}
	h.quiet("refused")
	// A grant after the refusal changes nothing.
	h.send("a-1", tables.AppointmentCommand{Granted: &tables.SlotGranted{}})
	h.quiet("grant after refusal")
	if a := h.mustRow("a-1"); a.Status != tables.ApptRejected {
		t.Errorf("status = %s", a.Status)
	}
}

// Only customers book: the processor checks the account's role against the users table. The
// view checked the verification; this copy of the users table may lag it (a customer verified a
// moment ago, or not in the table yet), so those bookings proceed.
func TestBookChecksTheRole(t *testing.T) {
	for name, tc := range map[string]struct {
		u      *tables.User
		reject bool
	}{
		"customer not in the table yet": {nil, false},
		"unverified customer":           {&tables.User{UserID: "u-2", Email: "joe@example.com", Role: tables.RoleCustomer, Status: tables.StatusPendingVerification}, false},
		"inspector":                     {&tables.User{UserID: "u-2", Email: "joe@example.com", Role: tables.RoleInspector, Status: tables.StatusVerified}, true},
		"admin":                         {&tables.User{UserID: "u-2", Email: "joe@example.com", Role: tables.RoleAdmin, Status: tables.StatusVerified}, true},
	} {
		t.Run(name, func(t *testing.T) {
			h := start(t)
			if tc.u != nil {
				h.tt.SetTableValue(users.Table, "u-2", *tc.u)
			}
			b := booking(t, "a-1")
			b.Appointment.CustomerID = "u-2"
			off := h.send("a-1", tables.AppointmentCommand{Book: &b})
			a := h.mustRow("a-1")
			h.journal(a, string(appointments.Commands), off)
			want := b.Appointment
			if tc.reject {
				want.Status, want.Rejection = tables.ApptRejected, tables.RefusedNotCustomer
				sameRow(t, "book by "+name, a, want)
				if a.Rejection != "forbidden" {
					t.Errorf("rejection = %q, want forbidden", a.Rejection)
				}
				h.quiet("book by " + name)
				return
			}
			want.Status = tables.ApptRequested
			sameRow(t, "book by "+name, a, want)
			r := gokatest.One[[]byte](t, h.slots, "slot commands")
			if got := gokatest.Decode[tables.SlotCommand](t, r.Value); r.Key != slotKey || got.Reserve == nil || got.Reserve.AppointmentID != "a-1" {
				t.Errorf("slot command %q %s, want the reserve", r.Key, r.Value)
			}
			h.quiet("book by " + name)
		})
	}
}

func TestCommandsForUnknownAppointments(t *testing.T) {
	h := start(t)
	for name, cmd := range map[string]tables.AppointmentCommand{
		"granted": {Granted: &tables.SlotGranted{}}, "refused": {Refused: &tables.SlotRefused{}},
		"expire": {Expire: &tables.ExpireHold{}}, "cancel": {Cancel: &tables.CancelAppt{By: "u-1", Reason: "x"}},
		"check-in": {CheckIn: &tables.CheckInAppt{}}, "remind": {Remind: &tables.RemindAppt{}},
	} {
		h.send("a-404", cmd)
		h.quiet(name)
	}
	h.payment("a-404", completed(t, "a-404", "p-1", t0))
	h.quiet("payment")
	if _, ok := h.row("a-404"); ok {
		t.Error("a command for an unknown appointment made a row")
	}
}

func TestPaymentConfirms(t *testing.T) {
	h := start(t)
	h.pending("a-1")
	h.clock.Set(t0.Add(5 * time.Minute))
	done := completed(t, "a-1", "p-1", h.clock.UTC())
	h.payment("a-1", done)

	a := h.mustRow("a-1")
	if a.Status != tables.ApptConfirmed || a.PaymentID != "p-1" || a.ConfirmedAt == nil || !a.ConfirmedAt.Equal(h.clock.UTC()) {
		t.Errorf("row = %+v", a)
	}
	h.journal(a, string(appointments.Payments), 0)
	r := gokatest.One[[]byte](t, h.events, "events")
	ev := h.event(r, "a-1", codecs.TypeAppointmentConfirmed)
	want := codecs.AppointmentConfirmed{AppointmentID: "a-1", PaymentID: "p-1", Status: tables.ApptConfirmed, ConfirmedAt: h.clock.UTC()}
	if !reflect.DeepEqual(ev.Payload, want) {
		t.Errorf("payload = %+v, want %+v", ev.Payload, want)
	}
	// The history holds the created event, the payment event as received, and the confirmation.
	if len(a.History) != 3 || string(a.History[1]) != string(done) || string(a.History[2]) != string(r.Value) {
		t.Errorf("history = %s", a.History)
	}
	// The slot is 72 h away: the reminder is set 24 h before it.
	timer(t, gokatest.One[[]byte](t, h.timers, "timer commands"), slotStart(t).Add(-24*time.Hour), "a-1/remind", "a-1",
		tables.AppointmentCommand{Remind: &tables.RemindAppt{}})
	h.quiet("payment.completed")

	// The same event again (same eventId) changes nothing.
	h.payment("a-1", done)
	h.quiet("payment.completed again")
	if again := h.mustRow("a-1"); len(again.History) != 3 {
		t.Errorf("a redelivered event joined the history: %d events", len(again.History))
	}

	// Other payment events join the history and cause nothing.
	initiated, err := codecs.Marshal(codecs.PaymentInitiated{PaymentID: "p-1", AppointmentID: "a-1", Amount: tables.Prices["premium"],
		Currency: tables.Currency, PayPalOrderID: "o-1", Status: "pending"}, h.clock.UTC())
	if err != nil {
		t.Fatal(err)
	}
	h.payment("a-1", initiated)
	h.quiet("payment.initiated")
	if a := h.mustRow("a-1"); len(a.History) != 4 || a.Status != tables.ApptConfirmed {
		t.Errorf("after payment.initiated: status %s, %d events", a.Status, len(a.History))
	}

	// The expiry timer firing after the payment does nothing.
	h.clock.Set(t0.Add(time.Hour))
	h.send("a-1", tables.AppointmentCommand{Expire: &tables.ExpireHold{}})
	h.quiet("expire after payment")
	if a := h.mustRow("a-1"); a.Status != tables.ApptConfirmed {
		t.Errorf("status after a late expiry timer = %s", a.Status)
	}
}

func TestPaymentCloseToTheSlotSetsNoReminder(t *testing.T) {
	h := start(t)
	h.pending("a-1")
	h.clock.Set(slotStart(t).Add(-23 * time.Hour))
	h.payment("a-1", completed(t, "a-1", "p-1", h.clock.UTC()))
	if a := h.mustRow("a-1"); a.Status != tables.ApptConfirmed {
		t.Errorf("status = %s", a.Status)
	}
	h.event(gokatest.One[[]byte](t, h.events, "events"), "a-1", codecs.TypeAppointmentConfirmed)
	h.quiet("payment.completed 23 h ahead")
}

func TestLatePaymentIsRefunded(t *testing.T) {
	h := start(t)
	a := h.pending("a-1")
	h.clock.Set(a.HoldExpiresAt.Add(time.Second))
	h.send("a-1", tables.AppointmentCommand{Expire: &tables.ExpireHold{}})
	gokatest.Drain[[]byte](t, h.events)
	gokatest.Drain[[]byte](t, h.slots)

	h.payment("a-1", completed(t, "a-1", "p-1", h.clock.UTC()))
	a = h.mustRow("a-1")
	if a.Status != tables.ApptExpired || a.PaymentID != "p-1" || a.Refund == nil || a.Refund.RefundID != tables.RefundID("p-1") {
		t.Errorf("row = %+v", a)
	}
	r := gokatest.One[[]byte](t, h.payments, "payment commands")
	want := tables.PaymentCommand{Refund: &tables.RefundRequest{Reason: "payment_window_expired"}}
	if got := gokatest.Decode[tables.PaymentCommand](t, r.Value); r.Key != "a-1" || !reflect.DeepEqual(got, want) {
		t.Errorf("payment command %q %s, want %+v", r.Key, r.Value, want)
	}
	h.quiet("late payment")
}

func TestCancel(t *testing.T) {
	slot := slotStart(t)
	tests := []struct {
		name     string
		paid     bool
		at       time.Time
		eligible bool
	}{
		{"paid, more than 24 h ahead", true, slot.Add(-48 * time.Hour), true},
		{"paid, less than 24 h ahead", true, slot.Add(-23 * time.Hour), false},
		{"unpaid", false, t0.Add(time.Minute), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t)
			if tc.paid {
				h.confirmed("a-1")
			} else {
				h.pending("a-1")
			}
			h.clock.Set(tc.at)
			h.send("a-1", tables.AppointmentCommand{Cancel: &tables.CancelAppt{By: "u-1", Reason: "plans changed"}})
			a := h.mustRow("a-1")
			if a.Status != tables.ApptCancelled || a.RefundEligible == nil || *a.RefundEligible != tc.eligible {
				t.Errorf("row = %+v", a)
			}
			ev := h.event(gokatest.One[[]byte](t, h.events, "events"), "a-1", codecs.TypeAppointmentCancelled)
			want := codecs.AppointmentCancelled{AppointmentID: "a-1", CancelledBy: "u-1", Reason: "plans changed",
				CancelledAt: tc.at, RefundEligible: tc.eligible}
			if !reflect.DeepEqual(ev.Payload, want) {
				t.Errorf("payload = %+v, want %+v", ev.Payload, want)
			}
			r := gokatest.One[[]byte](t, h.slots, "slot commands")
			if got := gokatest.Decode[tables.SlotCommand](t, r.Value); r.Key != slotKey || got.Release == nil || got.Release.AppointmentID != "a-1" {
				t.Errorf("slot command %q %s, want the release", r.Key, r.Value)
			}
			refunds := gokatest.Drain[[]byte](t, h.payments)
			if !tc.eligible {
				if len(refunds) != 0 {
					t.Errorf("refund asked: %q", refunds)
				}
			} else {
				if len(refunds) != 1 || refunds[0].Key != "a-1" {
					t.Fatalf("payment commands %q, want one refund", refunds)
				}
				if got := gokatest.Decode[tables.PaymentCommand](t, refunds[0].Value); got.Refund == nil {
					t.Errorf("payment command %s, want a refund", refunds[0].Value)
				}
				if a.Refund == nil || a.Refund.RefundID != tables.RefundID("p-1") || a.Refund.Amount != tables.Prices["premium"] {
					t.Errorf("row refund = %+v", a.Refund)
				}
			}
			h.quiet("cancel")

			// Cancelling again changes nothing.
			h.send("a-1", tables.AppointmentCommand{Cancel: &tables.CancelAppt{By: "u-1", Reason: "again"}})
			h.quiet("cancel again")
		})
	}
}

func TestCheckInAndRemind(t *testing.T) {
	h := start(t)
	h.confirmed("a-1")

	// The reminder of a confirmed appointment: one SMS request, the same on every fire.
	h.clock.Set(slotStart(t).Add(-24 * time.Hour))
	h.send("a-1", tables.AppointmentCommand{Remind: &tables.RemindAppt{}})
	r := gokatest.One[[]byte](t, h.notes, "notification commands")
	cmd := gokatest.Decode[tables.NotificationCommand](t, r.Value)
	if cmd.Request == nil {
		t.Fatalf("notification command %s, want a request", r.Value)
	}
	req := *cmd.Request
	if r.Key != req.NotificationID || req.Template != appointments.ReminderTemplate || req.Channel != "sms" ||
		req.Recipient != "+33612345678" || req.SourceKey != "a-1" || req.NotificationID == "" {
		t.Errorf("request %q = %+v", r.Key, req)
	}
	var src tables.Appointment
	if err := json.Unmarshal(req.Source, &src); err != nil || src.AppointmentID != "a-1" || src.Status != tables.ApptConfirmed {
		t.Errorf("reminder source = %+v (%v)", src, err)
	}
	h.quiet("remind")
	h.send("a-1", tables.AppointmentCommand{Remind: &tables.RemindAppt{}})
	if again := gokatest.One[[]byte](t, h.notes, "notification commands"); again.Key != r.Key {
		t.Errorf("second reminder has id %q, want %q", again.Key, r.Key)
	}

	// Check-in: in progress and appointment.checkedin.
	h.clock.Set(slotStart(t).Add(-10 * time.Minute))
	h.send("a-1", tables.AppointmentCommand{CheckIn: &tables.CheckInAppt{}})
	a := h.mustRow("a-1")
	if a.Status != tables.ApptInProgress || a.CheckedInAt == nil || !a.CheckedInAt.Equal(h.clock.UTC()) {
		t.Errorf("row = %+v", a)
	}
	ev := h.event(gokatest.One[[]byte](t, h.events, "events"), "a-1", codecs.TypeAppointmentCheckedIn)
	want := codecs.AppointmentCheckedIn{AppointmentID: "a-1", CheckedInAt: h.clock.UTC(),
		Location: codecs.Location{CenterID: "center-123", Address: "123 Main St"}}
	if !reflect.DeepEqual(ev.Payload, want) {
		t.Errorf("payload = %+v, want %+v", ev.Payload, want)
	}
	h.quiet("check-in")

	// After check-in: no second check-in, no cancellation, no reminder.
	h.send("a-1", tables.AppointmentCommand{CheckIn: &tables.CheckInAppt{}})
	h.send("a-1", tables.AppointmentCommand{Cancel: &tables.CancelAppt{By: "u-1", Reason: "x"}})
	h.send("a-1", tables.AppointmentCommand{Remind: &tables.RemindAppt{}})
	h.quiet("after check-in")
	if a := h.mustRow("a-1"); a.Status != tables.ApptInProgress {
		t.Errorf("status = %s", a.Status)
	}
}

func TestCheckInOfAnUnpaidAppointment(t *testing.T) {
	h := start(t)
	h.pending("a-1")
	h.send("a-1", tables.AppointmentCommand{CheckIn: &tables.CheckInAppt{}})
	h.send("a-1", tables.AppointmentCommand{Remind: &tables.RemindAppt{}})
	h.quiet("check-in and remind of a pending appointment")
	if a := h.mustRow("a-1"); a.Status != tables.ApptPendingPayment {
		t.Errorf("status = %s", a.Status)
	}
}

// An input that comes again after a crash (its offset not committed) finds the row it wrote:
// the row is written again and the same bytes are sent again, and nothing else happens.
func TestJournalReplay(t *testing.T) {
	h := start(t)
	b := booking(t, "a-1")
	h.send("a-1", tables.AppointmentCommand{Book: &b})
	gokatest.Drain[[]byte](t, h.slots)
	grant, err := json.Marshal(tables.AppointmentCommand{Granted: &tables.SlotGranted{InspectorID: ptr("i-1")}})
	if err != nil {
		t.Fatal(err)
	}
	off := h.sendRaw("a-1", grant)
	first := h.mustRow("a-1")
	created := gokatest.One[[]byte](t, h.events, "events")
	expire := gokatest.One[[]byte](t, h.timers, "timer commands")
	h.quiet("grant")

	// The tester cannot deliver an offset twice: make the row's journal name the offset the
	// redelivery will be read at, as if the grant had been processed there and then crashed.
	crashed := first
	crashed.Journal = gokatest.Rename(t, first.Journal, gokatest.Input(appointments.Commands, off),
		gokatest.Input(appointments.Commands, h.commands.Hwm()))
	h.tt.SetTableValue(appointments.Table, "a-1", crashed)

	h.clock.Set(t0.Add(time.Minute)) // a later clock would make different bytes if the rule ran again
	if got := h.sendRaw("a-1", grant); got == off {
		t.Fatal("the redelivery was read at the same offset")
	}
	again := h.mustRow("a-1")
	sameRow(t, "replay", again, first)
	if !reflect.DeepEqual(again.Journal, crashed.Journal) {
		t.Errorf("journal = %+v, want %+v", again.Journal, crashed.Journal)
	}
	if r := gokatest.One[[]byte](t, h.events, "replayed events"); r.Key != created.Key || string(r.Value) != string(created.Value) {
		t.Errorf("replayed event %q %s, want the same bytes %s", r.Key, r.Value, created.Value)
	}
	if r := gokatest.One[[]byte](t, h.timers, "replayed timers"); r.Key != expire.Key || string(r.Value) != string(expire.Value) {
		t.Errorf("replayed timer %q %s, want %q %s", r.Key, r.Value, expire.Key, expire.Value)
	}
	h.quiet("replay")

	// Once past that offset, the same command is a plain duplicate: nothing.
	h.sendRaw("a-1", grant)
	h.quiet("duplicate after replay")
}

// An input that is not the row's latest comes again after a crash — a payment event, read from
// another topic whose offsets are committed apart, wrote the row since — and finds its journal
// entry: the same event and timer go again, byte for byte, and the confirmed row is written as it
// stands.
func TestJournalReplayOfAnOlderInput(t *testing.T) {
	h := start(t)
	b := booking(t, "a-1")
	h.send("a-1", tables.AppointmentCommand{Book: &b})
	gokatest.Drain[[]byte](t, h.slots)
	grant, err := json.Marshal(tables.AppointmentCommand{Granted: &tables.SlotGranted{InspectorID: ptr("i-1")}})
	if err != nil {
		t.Fatal(err)
	}
	off := h.sendRaw("a-1", grant)
	created := gokatest.One[[]byte](t, h.events, "events")
	expire := gokatest.One[[]byte](t, h.timers, "timer commands")
	h.quiet("grant")

	h.clock.Set(t0.Add(5 * time.Minute))
	h.payment("a-1", completed(t, "a-1", "p-1", h.clock.UTC()))
	gokatest.One[[]byte](t, h.events, "events")
	gokatest.One[[]byte](t, h.timers, "timer commands")
	h.quiet("payment.completed")

	confirmed := h.mustRow("a-1")
	old := gokatest.Input(appointments.Commands, off)
	want := []string{gokatest.Input(appointments.Commands, off-1), old, gokatest.Input(appointments.Payments, 0)}
	if got := gokatest.Inputs(confirmed.Journal); !reflect.DeepEqual(got, want) {
		t.Fatalf("journal inputs = %q, want %q", got, want)
	}
	confirmed.Journal = gokatest.Rename(t, confirmed.Journal, old, gokatest.Input(appointments.Commands, h.commands.Hwm()))
	h.tt.SetTableValue(appointments.Table, "a-1", confirmed)

	h.clock.Set(t0.Add(time.Hour)) // a later clock would make different bytes if the rule ran again
	h.sendRaw("a-1", grant)
	if r := gokatest.One[[]byte](t, h.events, "replayed events"); r.Key != created.Key || string(r.Value) != string(created.Value) {
		t.Errorf("replayed event %q %s, want the same bytes %s", r.Key, r.Value, created.Value)
	}
	if r := gokatest.One[[]byte](t, h.timers, "replayed timers"); r.Key != expire.Key || string(r.Value) != string(expire.Value) {
		t.Errorf("replayed timer %q %s, want %q %s", r.Key, r.Value, expire.Key, expire.Value)
	}
	h.quiet("replay")
	again := h.mustRow("a-1")
	sameRow(t, "replay", again, confirmed)
	if again.Status != tables.ApptConfirmed || !reflect.DeepEqual(again.Journal, confirmed.Journal) {
		t.Errorf("row after replay = %+v, want the confirmed row as it stands", again)
	}

	// Once past that offset, the same command is a plain duplicate: nothing.
	h.sendRaw("a-1", grant)
	h.quiet("duplicate after replay")
}

func TestBadCommandsAreDeadLettered(t *testing.T) {
	for _, value := range []string{"not json", `{}`, `{"book":"x"}`} {
		t.Run(value, func(t *testing.T) {
			h := start(t)
			h.sendRaw("a-1", []byte(value))
			k, l, ok := gokatest.Next[deadletter.Letter](t, h.dead)
			if !ok {
				t.Fatal("no dead letter")
			}
			if k != "a-1" || l.Topic != string(appointments.Commands) || l.Group != string(appointments.Group) ||
				string(l.Value) != value || l.Attempts != 1 {
				t.Errorf("letter %q = %+v", k, l)
			}
			if _, ok := h.row("a-1"); ok {
				t.Error("a bad command made a row")
			}
			h.quiet("bad command")
		})
	}
	t.Run("payment event that does not decode", func(t *testing.T) {
		h := start(t)
		h.pending("a-1")
		h.payment("a-1", []byte(`{"eventType":"payment.completed"}`))
		if _, l, ok := gokatest.Next[deadletter.Letter](t, h.dead); !ok || l.Topic != string(appointments.Payments) {
			t.Errorf("dead letter = %+v, %v", l, ok)
		}
		h.quiet("bad payment event")
	})
}
