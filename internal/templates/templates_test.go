package templates

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/smartautocheck/smartautocheck/codecs"
	"github.com/smartautocheck/smartautocheck/internal/centers"
	"github.com/smartautocheck/smartautocheck/internal/documents"
	"github.com/smartautocheck/smartautocheck/internal/mail"
	"github.com/smartautocheck/smartautocheck/internal/signed"
	"github.com/smartautocheck/smartautocheck/tables"
)

var (
	t0        = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	slotStart = time.Date(2026, 3, 5, 9, 0, 0, 0, time.UTC) // 10:00 AM in Paris
	secret    = []byte("test secret")
	pngMagic  = []byte("\x89PNG\r\n\x1a\n")
)

func event(t *testing.T, d codecs.Data) (codecs.Event, []byte) {
	t.Helper()
	raw, err := codecs.Marshal(d, t0)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := codecs.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	return ev, raw
}

func registered(role string) codecs.UserRegistered {
	return codecs.UserRegistered{UserID: "u-1", Email: "Jane@Example.com", FirstName: "Jane", LastName: "Doe",
		Phone: "+33612345678", Role: role}
}

// store is what the records read: in-memory rows, and an error every read gives when set.
type store struct {
	users        map[string]tables.User
	appointments map[string]tables.Appointment
	payments     map[string]tables.Payments
	err          error
}

func read[T any](s *store, m map[string]T, id string) (T, bool, error) {
	if s.err != nil {
		var zero T
		return zero, false, s.err
	}
	v, ok := m[id]
	return v, ok, nil
}

func (s *store) records(t *testing.T) Records {
	t.Helper()
	cat, err := centers.NewCatalog([]centers.Center{centers.Default()})
	if err != nil {
		t.Fatal(err)
	}
	return Records{
		Users:        func(id string) (tables.User, bool, error) { return read(s, s.users, id) },
		Appointments: func(id string) (tables.Appointment, bool, error) { return read(s, s.appointments, id) },
		Payments:     func(id string) (tables.Payments, bool, error) { return read(s, s.payments, id) },
		Centers:      cat,
	}
}

func qrPNG(t *testing.T, id string) []byte {
	t.Helper()
	tok, err := signed.New(secret).QRToken(signed.QR{AppointmentID: id, CustomerID: "u-1", CenterID: "center-123",
		Date: "2026-03-05", Time: "10:00 AM", IssuedAt: t0.Unix()})
	if err != nil {
		t.Fatal(err)
	}
	png, err := documents.QRPNG(tok, 256)
	if err != nil {
		t.Fatal(err)
	}
	return png
}

// appointment is a row as the appointments processor keeps it: a-1 has an inspector, a-2 none.
func appointment(t *testing.T, id string, inspector *string) tables.Appointment {
	t.Helper()
	return tables.Appointment{AppointmentID: id, CustomerID: "u-1", CustomerEmail: "jane@example.com",
		CustomerPhone: "+33612345678", CustomerName: "Jane Doe", CenterID: "center-123", CenterAddress: "123 Main St",
		ServiceType: "premium", Date: "2026-03-05", Time: "10:00 AM", SlotStart: slotStart,
		Vehicle:     codecs.Vehicle{Registration: "AB-123-CD", Make: "Toyota", Model: "Camry", Year: 2020},
		InspectorID: inspector, Status: tables.ApptConfirmed, Amount: tables.Prices["premium"], Currency: tables.Currency,
		QRCode: base64.StdEncoding.EncodeToString(qrPNG(t, id)), QRToken: "token", Hold: 15 * time.Minute,
		HoldExpiresAt: t0.Add(15 * time.Minute), CreatedAt: t0, PaymentID: "p-1"}
}

func completedPayments(id string) tables.Payments {
	done := t0.Add(5 * time.Minute)
	p := &tables.Payment{PaymentID: "p-1", AppointmentID: id, CustomerID: "u-1", IdempotencyKey: "k1",
		Method: tables.PaymentMethodPayPal, Amount: tables.Prices["premium"], Currency: tables.Currency,
		Status: tables.PayCompleted, OrderID: "o-1", TransactionID: "tx-1", InvoiceNumber: "INV-2026-000001",
		CreatedAt: t0, CompletedAt: &done}
	return tables.Payments{AppointmentID: id, Attempts: map[string]*tables.Payment{"k1": p}, Completed: "p-1"}
}

func newStore(t *testing.T) *store {
	inspector := "i-1"
	return &store{
		users: map[string]tables.User{
			"u-1": {UserID: "u-1", Email: "jane@example.com", FirstName: "Jane", LastName: "Doe", Role: tables.RoleCustomer, Status: tables.StatusVerified},
			"i-1": {UserID: "i-1", Email: "inspector@example.com", FirstName: "Ivan", LastName: "Ins", Role: tables.RoleInspector, CenterID: "center-123"},
		},
		appointments: map[string]tables.Appointment{"a-1": appointment(t, "a-1", &inspector), "a-2": appointment(t, "a-2", nil)},
		payments:     map[string]tables.Payments{"a-1": completedPayments("a-1"), "a-2": completedPayments("a-2")},
	}
}

func env(t *testing.T, s *store) Env {
	return Env{BaseURL: "http://127.0.0.1:8080/", From: "noreply@smartautocheck.test", Signer: signed.New(secret), Records: s.records(t)}
}

// Catalog payloads about a-1 (or another appointment).
func created(t *testing.T, id, customer string) codecs.AppointmentCreated {
	a := appointment(t, id, nil)
	return codecs.AppointmentCreated{AppointmentID: id, CustomerID: customer, ServiceType: a.ServiceType, Date: a.Date,
		Time: a.Time, Vehicle: a.Vehicle, InspectorID: nil, Status: tables.ApptPendingPayment, QRCode: a.QRCode, Amount: a.Amount}
}

func confirmed(id string) codecs.AppointmentConfirmed {
	return codecs.AppointmentConfirmed{AppointmentID: id, PaymentID: "p-1", Status: tables.ApptConfirmed, ConfirmedAt: t0}
}

func cancelled(id string, refund bool) codecs.AppointmentCancelled {
	return codecs.AppointmentCancelled{AppointmentID: id, CancelledBy: "u-1", Reason: "plans changed", CancelledAt: t0, RefundEligible: refund}
}

func checkedIn(id string) codecs.AppointmentCheckedIn {
	return codecs.AppointmentCheckedIn{AppointmentID: id, CheckedInAt: slotStart.Add(-10 * time.Minute),
		Location: codecs.Location{CenterID: "center-123", Address: "123 Main St"}}
}

func paymentCompleted(id string) codecs.PaymentCompleted {
	return codecs.PaymentCompleted{PaymentID: "p-1", AppointmentID: id, Amount: tables.Prices["premium"], Currency: tables.Currency,
		TransactionID: "tx-1", Status: tables.PayCompleted, CompletedAt: t0.Add(5 * time.Minute), PaymentMethod: "paypal",
		InvoiceURL: "http://127.0.0.1:8080/v1/appointments/" + id + "/invoice.pdf"}
}

func paymentFailed(id string) codecs.PaymentFailed {
	return codecs.PaymentFailed{PaymentID: "p-1", AppointmentID: id, Amount: tables.Prices["premium"], Status: tables.PayFailed,
		FailureReason: "INSTRUMENT_DECLINED", FailedAt: t0}
}

func refunded() codecs.PaymentRefunded {
	return codecs.PaymentRefunded{PaymentID: "p-1", RefundID: tables.RefundID("p-1"), Amount: tables.Prices["premium"],
		Reason: "Customer cancelled >24h before", RefundedAt: t0}
}

func TestTargets(t *testing.T) {
	customer := func(tmpl string) Target { return Target{tmpl, "email", "jane@example.com"} }
	inspector := func(tmpl string) Target { return Target{tmpl, "email", "inspector@example.com"} }
	tests := []struct {
		name string
		d    codecs.Data
		key  string
		want []Target
	}{
		{"customer registered gets the welcome", registered(tables.RoleCustomer), "u-1",
			[]Target{{UserWelcome, "email", "Jane@Example.com"}}},
		{"inspector registered gets nothing", registered(tables.RoleInspector), "u-1", nil},
		{"admin registered gets nothing", registered(tables.RoleAdmin), "u-1", nil},
		{"verified user is told", codecs.UserVerified{UserID: "u-1", Email: "jane@example.com", VerifiedAt: t0}, "u-1",
			[]Target{{UserVerified, "email", "jane@example.com"}}},
		{"appointment created: the customer, by the users table", created(t, "a-1", "u-1"), "a-1",
			[]Target{customer(AppointmentBooked)}},
		{"appointment confirmed: customer and inspector", confirmed("a-1"), "a-1",
			[]Target{customer(AppointmentConfirmed), inspector(InspectorAssignment)}},
		{"appointment confirmed without inspector: the customer", confirmed("a-2"), "a-2",
			[]Target{customer(AppointmentConfirmed)}},
		{"appointment cancelled", cancelled("a-1", true), "a-1", []Target{customer(AppointmentCancelled)}},
		{"appointment expired", codecs.AppointmentCancelled{AppointmentID: "a-1", CancelledBy: "system",
			Reason: "payment_window_expired", CancelledAt: t0}, "a-1", []Target{customer(AppointmentCancelled)}},
		{"checked in: the inspector", checkedIn("a-1"), "a-1", []Target{inspector(VehicleArrived)}},
		{"checked in without inspector: nobody", checkedIn("a-2"), "a-2", nil},
		{"payment completed", paymentCompleted("a-1"), "a-1", []Target{customer(PaymentReceipt)}},
		{"payment failed", paymentFailed("a-1"), "a-1", []Target{customer(PaymentFailed)}},
		{"payment refunded, by the record's key", refunded(), "a-1", []Target{customer(PaymentRefunded)}},
		{"payment initiated causes nothing", codecs.PaymentInitiated{PaymentID: "p-1", AppointmentID: "a-1",
			Amount: tables.Prices["premium"], Currency: "USD", PayPalOrderID: "o-1", Status: "pending"}, "a-1", nil},
		{"other events cause nothing", codecs.CertificateVerified{CertificateID: "c", VerifiedBy: "ip:10.0.0.1", VerifiedAt: t0, Valid: true}, "c", nil},
	}
	recs := newStore(t).records(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev, _ := event(t, tc.d)
			got, err := recs.Targets(ev, tc.key)
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Targets = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

// A record the event needs that is not visible yet is ErrNotYet, so the feed waits for it.
func TestTargetsNotYet(t *testing.T) {
	s := newStore(t)
	noInspectorUser := newStore(t)
	delete(noInspectorUser.users, "i-1")
	tests := []struct {
		name string
		s    *store
		d    codecs.Data
		key  string
	}{
		{"created, customer unknown", s, created(t, "a-1", "u-404"), "a-1"},
		{"confirmed, appointment unknown", s, confirmed("a-404"), "a-404"},
		{"confirmed, inspector unknown", noInspectorUser, confirmed("a-1"), "a-1"},
		{"cancelled, appointment unknown", s, cancelled("a-404", false), "a-404"},
		{"checked in, appointment unknown", s, checkedIn("a-404"), "a-404"},
		{"checked in, inspector unknown", noInspectorUser, checkedIn("a-1"), "a-1"},
		{"payment completed, appointment unknown", s, paymentCompleted("a-404"), "a-404"},
		{"payment failed, appointment unknown", s, paymentFailed("a-404"), "a-404"},
		{"payment refunded, appointment unknown", s, refunded(), "a-404"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev, raw := event(t, tc.d)
			recs := tc.s.records(t)
			if got, err := recs.Targets(ev, tc.key); !errors.Is(err, ErrNotYet) {
				t.Errorf("Targets = %+v, %v; want ErrNotYet", got, err)
			}
			if got, err := recs.Requests(ev, tc.key, raw); !errors.Is(err, ErrNotYet) || len(got) != 0 {
				t.Errorf("Requests = %+v, %v; want ErrNotYet", got, err)
			}
		})
	}

	// A read that fails is that failure, not "not yet".
	broken := newStore(t)
	broken.err = errors.New("view closed")
	ev, _ := event(t, confirmed("a-1"))
	if _, err := broken.records(t).Targets(ev, "a-1"); err == nil || errors.Is(err, ErrNotYet) {
		t.Errorf("Targets with a failing read = %v, want the read's error", err)
	}
}

func TestRequests(t *testing.T) {
	recs := newStore(t).records(t)
	ev, raw := event(t, registered(tables.RoleCustomer))
	reqs, err := recs.Requests(ev, "u-1", raw)
	if err != nil || len(reqs) != 1 {
		t.Fatalf("Requests = %+v, %v; want one", reqs, err)
	}
	r := reqs[0]
	want := tables.NotificationRequest{
		NotificationID: tables.NotificationID(ev.EventID, UserWelcome, "Jane@Example.com"),
		Template:       UserWelcome, Channel: "email", Recipient: "Jane@Example.com",
		SourceEventID: ev.EventID, SourceEventType: codecs.TypeUserRegistered, SourceKey: "u-1", Source: raw,
	}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("request = %+v\nwant %+v", r, want)
	}
	// A redelivered event asks for the same notification.
	if again, _ := recs.Requests(ev, "u-1", raw); !reflect.DeepEqual(again, reqs) {
		t.Errorf("Requests not stable: %+v then %+v", reqs, again)
	}
	// Another event (same payload, new event id) asks for another one.
	ev2, raw2 := event(t, registered(tables.RoleCustomer))
	if other, _ := recs.Requests(ev2, "u-1", raw2); len(other) != 1 || other[0].NotificationID == r.NotificationID {
		t.Errorf("a new event reused the notification id: %+v", other)
	}
	ev3, raw3 := event(t, registered(tables.RoleInspector))
	if got, err := recs.Requests(ev3, "u-1", raw3); len(got) != 0 || err != nil {
		t.Errorf("Requests for an inspector = %+v, %v; want none", got, err)
	}

	// An event with two recipients: one request each, each with its own id and the key.
	ev4, raw4 := event(t, confirmed("a-1"))
	two, err := recs.Requests(ev4, "a-1", raw4)
	if err != nil || len(two) != 2 {
		t.Fatalf("Requests of appointment.confirmed = %+v, %v", two, err)
	}
	if two[0].NotificationID == two[1].NotificationID || two[0].SourceKey != "a-1" || two[1].SourceKey != "a-1" ||
		two[1].NotificationID != tables.NotificationID(ev4.EventID, InspectorAssignment, "inspector@example.com") {
		t.Errorf("requests = %+v", two)
	}
}

func request(t *testing.T, recs Records, d codecs.Data, key, tmpl string) tables.NotificationRequest {
	t.Helper()
	ev, raw := event(t, d)
	reqs, err := recs.Requests(ev, key, raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reqs {
		if r.Template == tmpl {
			return r
		}
	}
	t.Fatalf("%s causes no %s: %+v", ev.EventType, tmpl, reqs)
	return tables.NotificationRequest{}
}

func TestRenderWelcome(t *testing.T) {
	e := env(t, newStore(t))
	req := request(t, e.Records, registered(tables.RoleCustomer), "u-1", UserWelcome)
	m, err := e.Render(req)
	if err != nil {
		t.Fatal(err)
	}
	if m.ID != req.NotificationID || m.Channel != mail.Email || m.From != e.From || m.To != "Jane@Example.com" {
		t.Errorf("message header = %+v", m)
	}
	if !strings.Contains(m.Subject, "verify") || strings.Contains(m.Subject, "\n") {
		t.Errorf("Subject = %q", m.Subject)
	}
	if !strings.HasPrefix(m.Text, "Hello Jane,") {
		t.Errorf("Text does not greet the user by name:\n%s", m.Text)
	}

	var link string
	for _, line := range strings.Split(m.Text, "\n") {
		if strings.HasPrefix(line, "http://127.0.0.1:8080/") {
			link = line
		}
	}
	if link == "" {
		t.Fatalf("no verify link in:\n%s", m.Text)
	}
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	if u.Path != "/v1/auth/verify" {
		t.Errorf("link path = %q, want /v1/auth/verify (no doubled slash)", u.Path)
	}
	var p signed.VerifyEmail
	if err := e.Signer.Verify(u.Query().Get("token"), signed.PurposeVerifyEmail, &p); err != nil {
		t.Fatalf("token of %s does not verify: %v", link, err)
	}
	if p.UserID != "u-1" || p.Email != "Jane@Example.com" {
		t.Errorf("token names %+v, want u-1 / Jane@Example.com", p)
	}
	// Another secret refuses it.
	if err := signed.New([]byte("other")).Verify(u.Query().Get("token"), signed.PurposeVerifyEmail, &p); err == nil {
		t.Error("token verified with another secret")
	}

	// Rendering is pure: a retried send is the same send.
	again, err := e.Render(req)
	if err != nil || !reflect.DeepEqual(again, m) {
		t.Errorf("second Render = %+v, %v; want %+v", again, err, m)
	}
}

func TestRenderVerified(t *testing.T) {
	e := env(t, newStore(t))
	m, err := e.Render(request(t, e.Records, codecs.UserVerified{UserID: "u-1", Email: "jane@example.com", VerifiedAt: t0}, "u-1", UserVerified))
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "Your email address is verified" || !strings.Contains(m.Text, "jane@example.com") {
		t.Errorf("message = %+v", m)
	}
}

func TestRenderAlert(t *testing.T) {
	failed := tables.Notification{
		NotificationRequest: tables.NotificationRequest{NotificationID: "n-123", Template: UserWelcome, Channel: "email",
			Recipient: "jane@example.com", SourceEventID: "e-456", SourceEventType: codecs.TypeUserRegistered},
		Status: tables.NotificationFailed, Attempts: 4, LastError: "mailbox unavailable", FailedAt: &t0,
	}
	src, err := json.Marshal(failed)
	if err != nil {
		t.Fatal(err)
	}
	req := tables.NotificationRequest{NotificationID: "alert-1", Template: FailedAlert, Channel: "email",
		Recipient: "admin@example.com", SourceEventID: "n-123", SourceEventType: "notification.failed", Source: src}
	e := env(t, newStore(t))
	m, err := e.Render(req)
	if err != nil {
		t.Fatal(err)
	}
	if m.To != "admin@example.com" || m.ID != "alert-1" {
		t.Errorf("message header = %+v", m)
	}
	if !strings.Contains(m.Subject, UserWelcome) || !strings.Contains(m.Subject, "jane@example.com") {
		t.Errorf("Subject = %q", m.Subject)
	}
	for _, want := range []string{"n-123", UserWelcome, "jane@example.com", "after 4 attempt", "e-456",
		codecs.TypeUserRegistered, "mailbox unavailable", "email"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("alert text lacks %q:\n%s", want, m.Text)
		}
	}

	req.Source = []byte("not json")
	if _, err := e.Render(req); err == nil || errors.Is(err, ErrNotYet) {
		t.Errorf("alert with an unreadable source: %v, want a permanent error", err)
	}
}

func TestRenderRefuses(t *testing.T) {
	e := env(t, newStore(t))
	good := request(t, e.Records, registered(tables.RoleCustomer), "u-1", UserWelcome)

	unknown := good
	unknown.Template = "no-such-template"
	badSource := good
	badSource.Source = []byte(`{"eventType":"user.registered"}`)
	if m, err := e.Render(unknown); err == nil || !strings.Contains(err.Error(), "no-such-template") {
		t.Errorf("unknown template: Render = %+v, %v; want an error naming it", m, err)
	}
	if m, err := e.Render(badSource); err == nil || errors.Is(err, ErrNotYet) {
		t.Errorf("bad source: Render = %+v, %v; want a permanent error", m, err)
	}

	// A qrCode that is not base64 can never render.
	bad := created(t, "a-1", "u-1")
	bad.QRCode = "not base64!"
	ev, raw := event(t, bad)
	req := tables.NotificationRequest{NotificationID: "n-1", Template: AppointmentBooked, Channel: "email",
		Recipient: "jane@example.com", SourceEventID: ev.EventID, SourceEventType: ev.EventType, SourceKey: "a-1", Source: raw}
	if _, err := e.Render(req); err == nil || errors.Is(err, ErrNotYet) {
		t.Errorf("bad qrCode: %v, want a permanent error", err)
	}
}

func TestRenderBookedAttachesTheQRCode(t *testing.T) {
	e := env(t, newStore(t))
	d := created(t, "a-1", "u-1")
	m, err := e.Render(request(t, e.Records, d, "a-1", AppointmentBooked))
	if err != nil {
		t.Fatal(err)
	}
	if m.To != "jane@example.com" || !strings.Contains(m.Subject, "2026-03-05") || !strings.Contains(m.Subject, "10:00 AM") {
		t.Errorf("message = %q to %s", m.Subject, m.To)
	}
	for _, want := range []string{"Jane Doe", centers.DefaultName, "123 Main St", "AB-123-CD", "premium", "80.00", "a-1"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("text lacks %q:\n%s", want, m.Text)
		}
	}
	if len(m.Attachments) != 1 {
		t.Fatalf("attachments = %d, want the QR code", len(m.Attachments))
	}
	a := m.Attachments[0]
	want, _ := base64.StdEncoding.DecodeString(d.QRCode)
	if a.ContentType != "image/png" || a.Name == "" || !bytes.Equal(a.Data, want) || !bytes.HasPrefix(a.Data, pngMagic) {
		t.Errorf("attachment %s (%s), %d bytes; want the PNG of the qrCode", a.Name, a.ContentType, len(a.Data))
	}
}

func TestRenderConfirmationAndAssignment(t *testing.T) {
	e := env(t, newStore(t))
	ev, raw := event(t, confirmed("a-1"))
	reqs, err := e.Records.Requests(ev, "a-1", raw)
	if err != nil || len(reqs) != 2 {
		t.Fatalf("Requests = %+v, %v", reqs, err)
	}
	for _, r := range reqs {
		m, err := e.Render(r)
		if err != nil {
			t.Fatalf("%s: %v", r.Template, err)
		}
		switch r.Template {
		case AppointmentConfirmed:
			if m.To != "jane@example.com" || !strings.Contains(m.Subject, "confirmed") || !strings.Contains(m.Text, "Jane Doe") {
				t.Errorf("confirmation = %+v", m)
			}
		case InspectorAssignment:
			if m.To != "inspector@example.com" || !strings.Contains(m.Text, "AB-123-CD") || !strings.Contains(m.Text, "Toyota Camry") {
				t.Errorf("assignment = %+v", m)
			}
		default:
			t.Errorf("unexpected template %s", r.Template)
		}
		if len(m.Attachments) != 0 {
			t.Errorf("%s has attachments", r.Template)
		}
	}
}

func TestRenderReceipt(t *testing.T) {
	s := newStore(t)
	e := env(t, s)
	req := request(t, e.Records, paymentCompleted("a-1"), "a-1", PaymentReceipt)
	m, err := e.Render(req)
	if err != nil {
		t.Fatal(err)
	}
	if m.To != "jane@example.com" || !strings.Contains(m.Subject, "80.00 USD") || !strings.Contains(m.Text, "tx-1") {
		t.Errorf("receipt = %q:\n%s", m.Subject, m.Text)
	}
	if len(m.Attachments) != 1 {
		t.Fatalf("attachments = %d, want the invoice", len(m.Attachments))
	}
	a := m.Attachments[0]
	if a.Name != "invoice.pdf" || a.ContentType != "application/pdf" || !bytes.HasPrefix(a.Data, []byte("%PDF")) {
		t.Errorf("attachment %s (%s) starts %q", a.Name, a.ContentType, a.Data[:min(8, len(a.Data))])
	}
	// The invoice is the same document the API serves.
	ps := s.payments["a-1"]
	pdf, err := documents.InvoicePDF(documents.InvoiceFor(s.appointments["a-1"], *ps.ByID(ps.Completed), centers.DefaultName))
	if err != nil || !bytes.Equal(pdf, a.Data) {
		t.Errorf("attached invoice differs from the served one (%v)", err)
	}

	// Not completed yet in the payments view, or no row yet: not yet.
	pending := completedPayments("a-1")
	pending.Completed = ""
	pending.Attempts["k1"].Status = tables.PayCaptured
	s.payments["a-1"] = pending
	if _, err := e.Render(req); !errors.Is(err, ErrNotYet) {
		t.Errorf("Render before the payments row is completed = %v, want ErrNotYet", err)
	}
	delete(s.payments, "a-1")
	if _, err := e.Render(req); !errors.Is(err, ErrNotYet) {
		t.Errorf("Render without a payments row = %v, want ErrNotYet", err)
	}
	s.payments["a-1"] = completedPayments("a-1")
	if _, err := e.Render(req); err != nil {
		t.Errorf("Render once visible = %v", err)
	}
}

func TestRenderMissingAppointmentIsNotYet(t *testing.T) {
	s := newStore(t)
	e := env(t, s)
	reqs := map[string]tables.NotificationRequest{
		AppointmentBooked:    request(t, e.Records, created(t, "a-2", "u-1"), "a-2", AppointmentBooked),
		AppointmentConfirmed: request(t, e.Records, confirmed("a-2"), "a-2", AppointmentConfirmed),
		AppointmentCancelled: request(t, e.Records, cancelled("a-2", false), "a-2", AppointmentCancelled),
		PaymentReceipt:       request(t, e.Records, paymentCompleted("a-2"), "a-2", PaymentReceipt),
		PaymentFailed:        request(t, e.Records, paymentFailed("a-2"), "a-2", PaymentFailed),
		PaymentRefunded:      request(t, e.Records, refunded(), "a-2", PaymentRefunded),
	}
	delete(s.appointments, "a-2")
	for tmpl, r := range reqs {
		if _, err := e.Render(r); !errors.Is(err, ErrNotYet) {
			t.Errorf("%s without its appointment: %v, want ErrNotYet", tmpl, err)
		}
	}
	// A failing read is that failure.
	s.err = errors.New("view closed")
	if _, err := e.Render(reqs[AppointmentConfirmed]); err == nil || errors.Is(err, ErrNotYet) {
		t.Errorf("Render with a failing read = %v", err)
	}
}

func TestRenderCancelled(t *testing.T) {
	e := env(t, newStore(t))
	for _, tc := range []struct {
		name string
		d    codecs.AppointmentCancelled
		want string
	}{
		{"refunded", cancelled("a-1", true), "refunded in full"},
		{"paid, late", cancelled("a-1", false), "not refunded"},
		{"expired", codecs.AppointmentCancelled{AppointmentID: "a-1", CancelledBy: "system", Reason: "payment_window_expired",
			CancelledAt: t0}, "not paid in time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := e.Render(request(t, e.Records, tc.d, "a-1", AppointmentCancelled))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(m.Text, tc.want) || !strings.Contains(m.Subject, "cancelled") {
				t.Errorf("message %q lacks %q:\n%s", m.Subject, tc.want, m.Text)
			}
		})
	}
}

// Every template file renders with realistic data: a subject and a text, and no missing field.
func TestEveryTemplateRenders(t *testing.T) {
	s := newStore(t)
	e := env(t, s)
	reminderSrc, err := json.Marshal(s.appointments["a-1"])
	if err != nil {
		t.Fatal(err)
	}
	alertSrc, err := json.Marshal(tables.Notification{NotificationRequest: tables.NotificationRequest{NotificationID: "n-1",
		Template: PaymentReceipt, Channel: "email", Recipient: "jane@example.com", SourceEventID: "e-1",
		SourceEventType: codecs.TypePaymentCompleted}, Status: tables.NotificationFailed, Attempts: 4, LastError: "550"})
	if err != nil {
		t.Fatal(err)
	}
	reqs := map[string]tables.NotificationRequest{
		UserWelcome:          request(t, e.Records, registered(tables.RoleCustomer), "u-1", UserWelcome),
		UserVerified:         request(t, e.Records, codecs.UserVerified{UserID: "u-1", Email: "jane@example.com", VerifiedAt: t0}, "u-1", UserVerified),
		AppointmentBooked:    request(t, e.Records, created(t, "a-1", "u-1"), "a-1", AppointmentBooked),
		AppointmentConfirmed: request(t, e.Records, confirmed("a-1"), "a-1", AppointmentConfirmed),
		InspectorAssignment:  request(t, e.Records, confirmed("a-1"), "a-1", InspectorAssignment),
		PaymentReceipt:       request(t, e.Records, paymentCompleted("a-1"), "a-1", PaymentReceipt),
		PaymentFailed:        request(t, e.Records, paymentFailed("a-1"), "a-1", PaymentFailed),
		AppointmentCancelled: request(t, e.Records, cancelled("a-1", true), "a-1", AppointmentCancelled),
		PaymentRefunded:      request(t, e.Records, refunded(), "a-1", PaymentRefunded),
		VehicleArrived:       request(t, e.Records, checkedIn("a-1"), "a-1", VehicleArrived),
		AppointmentReminder: {NotificationID: "n-rem", Template: AppointmentReminder, Channel: "sms", Recipient: "+33612345678",
			SourceEventID: "a-1/reminder", SourceEventType: "appointment.reminder", SourceKey: "a-1", Source: reminderSrc},
		FailedAlert: {NotificationID: "n-alert", Template: FailedAlert, Channel: "email", Recipient: "admin@example.com",
			SourceEventID: "n-1", SourceEventType: "notification.failed", Source: alertSrc},
	}
	var names []string
	for name := range parsed {
		names = append(names, name)
	}
	sort.Strings(names)
	if len(names) != len(reqs) {
		t.Errorf("template files %v; the test covers %d", names, len(reqs))
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			r, ok := reqs[name]
			if !ok {
				t.Fatalf("no request for template file %s: add one", name)
			}
			m, err := e.Render(r)
			if err != nil {
				t.Fatal(err)
			}
			if strings.TrimSpace(m.Subject) == "" || strings.TrimSpace(m.Text) == "" || strings.Contains(m.Subject, "\n") {
				t.Errorf("subject %q, text %q", m.Subject, m.Text)
			}
			if strings.Contains(m.Subject+m.Text, "<no value>") || strings.Contains(m.Subject+m.Text, "%!") {
				t.Errorf("a field is missing:\n%s\n%s", m.Subject, m.Text)
			}
			if m.To != r.Recipient || m.Channel != mail.Channel(r.Channel) || m.ID != r.NotificationID {
				t.Errorf("header = %+v", m)
			}
			if again, err := e.Render(r); err != nil || !reflect.DeepEqual(again, m) {
				t.Errorf("rendering is not pure: %v", err)
			}
			t.Logf("%s\n%s", m.Subject, m.Text)
		})
	}
	// The reminder SMS names the slot and the center.
	if m, err := e.Render(reqs[AppointmentReminder]); err != nil || !strings.Contains(m.Text, "10:00 AM") ||
		!strings.Contains(m.Text, centers.DefaultName) || !strings.Contains(m.Text, "AB-123-CD") {
		t.Errorf("reminder = %+v, %v", m, err)
	}
}

// An appointment of a center the catalog does not know shows the center's id.
func TestRenderUnknownCenter(t *testing.T) {
	s := newStore(t)
	a := s.appointments["a-1"]
	a.CenterID = "center-999"
	s.appointments["a-1"] = a
	e := env(t, s)
	m, err := e.Render(request(t, e.Records, confirmed("a-1"), "a-1", AppointmentConfirmed))
	if err != nil || !strings.Contains(m.Text, "center-999") {
		t.Errorf("Render = %v:\n%s", err, m.Text)
	}
}

// The booked email reads the appointment from a view that may still show the row as it was
// before the grant (requested, no hold yet): it must wait for the pending row rather than tell
// the customer the place is held until 0001-01-01.
func TestRenderBookedWaitsForThePendingRow(t *testing.T) {
	s := newStore(t)
	a := s.appointments["a-1"]
	a.Status, a.HoldExpiresAt, a.InspectorID, a.PaymentID = tables.ApptRequested, time.Time{}, nil, ""
	s.appointments["a-1"] = a
	e := env(t, s)
	m, err := e.Render(request(t, e.Records, created(t, "a-1", "u-1"), "a-1", AppointmentBooked))
	if !errors.Is(err, ErrNotYet) {
		t.Errorf("Render = %v, want ErrNotYet:\n%s", err, m.Text)
	}
}
