package templates

import (
	"encoding/json"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/smartautocheck/smartautocheck/codecs"
	"github.com/smartautocheck/smartautocheck/internal/mail"
	"github.com/smartautocheck/smartautocheck/internal/signed"
	"github.com/smartautocheck/smartautocheck/tables"
)

func event(t *testing.T, d codecs.Data) (codecs.Event, []byte) {
	t.Helper()
	raw, err := codecs.Marshal(d, time.Now())
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

func TestTargets(t *testing.T) {
	tests := []struct {
		name string
		d    codecs.Data
		want []Target
	}{
		{"customer registered gets the welcome", registered(tables.RoleCustomer),
			[]Target{{UserWelcome, "email", "Jane@Example.com"}}},
		{"inspector registered gets nothing", registered(tables.RoleInspector), nil},
		{"admin registered gets nothing", registered(tables.RoleAdmin), nil},
		{"verified user is told", codecs.UserVerified{UserID: "u-1", Email: "jane@example.com", VerifiedAt: time.Now()},
			[]Target{{UserVerified, "email", "jane@example.com"}}},
		{"other events cause nothing", codecs.CertificateVerified{CertificateID: "c", VerifiedBy: "ip:10.0.0.1", VerifiedAt: time.Now(), Valid: true}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev, _ := event(t, tc.d)
			if got := Targets(ev); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Targets = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestRequests(t *testing.T) {
	ev, raw := event(t, registered(tables.RoleCustomer))
	reqs := Requests(ev, raw)
	if len(reqs) != 1 {
		t.Fatalf("Requests = %+v, want one", reqs)
	}
	r := reqs[0]
	want := tables.NotificationRequest{
		NotificationID: tables.NotificationID(ev.EventID, UserWelcome, "Jane@Example.com"),
		Template:       UserWelcome, Channel: "email", Recipient: "Jane@Example.com",
		SourceEventID: ev.EventID, SourceEventType: codecs.TypeUserRegistered, Source: raw,
	}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("request = %+v\nwant %+v", r, want)
	}
	// A redelivered event asks for the same notification.
	if again := Requests(ev, raw); !reflect.DeepEqual(again, reqs) {
		t.Errorf("Requests not stable: %+v then %+v", reqs, again)
	}
	// Another event (same payload, new event id) asks for another one.
	ev2, raw2 := event(t, registered(tables.RoleCustomer))
	if other := Requests(ev2, raw2); len(other) != 1 || other[0].NotificationID == r.NotificationID {
		t.Errorf("a new event reused the notification id: %+v", other)
	}
	ev3, raw3 := event(t, registered(tables.RoleInspector))
	if got := Requests(ev3, raw3); len(got) != 0 {
		t.Errorf("Requests for an inspector = %+v, want none", got)
	}
}

func env() Env {
	return Env{BaseURL: "http://127.0.0.1:8080/", From: "noreply@smartautocheck.test", Signer: signed.New([]byte("test secret"))}
}

func TestRenderWelcome(t *testing.T) {
	e := env()
	ev, raw := event(t, registered(tables.RoleCustomer))
	req := Requests(ev, raw)[0]
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
	ev, raw := event(t, codecs.UserVerified{UserID: "u-1", Email: "jane@example.com", VerifiedAt: time.Now()})
	m, err := env().Render(Requests(ev, raw)[0])
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "Your email address is verified" || !strings.Contains(m.Text, "jane@example.com") {
		t.Errorf("message = %+v", m)
	}
}

func TestRenderAlert(t *testing.T) {
	at := time.Date(2025, 1, 15, 10, 0, 0, 0, time.UTC)
	failed := tables.Notification{
		NotificationRequest: tables.NotificationRequest{NotificationID: "n-123", Template: UserWelcome, Channel: "email",
			Recipient: "jane@example.com", SourceEventID: "e-456", SourceEventType: codecs.TypeUserRegistered},
		Status: tables.NotificationFailed, Attempts: 4, LastError: "mailbox unavailable", FailedAt: &at,
	}
	src, err := json.Marshal(failed)
	if err != nil {
		t.Fatal(err)
	}
	req := tables.NotificationRequest{NotificationID: "alert-1", Template: FailedAlert, Channel: "email",
		Recipient: "admin@example.com", SourceEventID: "n-123", SourceEventType: "notification.failed", Source: src}
	m, err := env().Render(req)
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
	if _, err := env().Render(req); err == nil {
		t.Error("alert with an unreadable source rendered")
	}
}

func TestRenderRefuses(t *testing.T) {
	ev, raw := event(t, registered(tables.RoleCustomer))
	good := Requests(ev, raw)[0]

	unknown := good
	unknown.Template = "no-such-template"
	badSource := good
	badSource.Source = []byte(`{"eventType":"user.registered"}`)
	if m, err := env().Render(unknown); err == nil || !strings.Contains(err.Error(), "no-such-template") {
		t.Errorf("unknown template: Render = %+v, %v; want an error naming it", m, err)
	}
	if m, err := env().Render(badSource); err == nil {
		t.Errorf("bad source: Render = %+v, want an error", m)
	}
}
