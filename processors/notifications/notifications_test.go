package notifications_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/tester"

	"github.com/smartautocheck/smartautocheck/codecs"
	"github.com/smartautocheck/smartautocheck/internal/deadletter"
	"github.com/smartautocheck/smartautocheck/internal/topics"
	"github.com/smartautocheck/smartautocheck/processors/notifications"
	"github.com/smartautocheck/smartautocheck/tables"
)

var (
	now       = time.Date(2025, 1, 15, 10, 0, 0, 0, time.UTC)
	reportAt  = now.Add(-time.Minute)
	adminMail = "admin@example.com"
)

type harness struct {
	t                *testing.T
	tt               *tester.Tester
	intents, events  *tester.QueueTracker
	commands, letter *tester.QueueTracker
}

func start(t *testing.T, admin string) *harness {
	t.Helper()
	tt := tester.New(t)
	opts := notifications.Options{Now: func() time.Time { return now }, AdminEmail: admin,
		Policy: deadletter.Policy{Attempts: 3, Backoff: time.Millisecond}}
	proc, err := goka.NewProcessor(nil, notifications.Graph(opts), goka.WithTester(tt))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- proc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("processor stopped with %v", err)
		}
	})
	return &harness{t: t, tt: tt,
		intents:  tt.NewQueueTracker(string(notifications.Intents)),
		events:   tt.NewQueueTracker(string(notifications.Events)),
		commands: tt.NewQueueTracker(string(notifications.Commands)),
		letter:   tt.NewQueueTracker(topics.DeadLetters),
	}
}

func drain(qt *tester.QueueTracker) (keys []string, values []any) {
	for {
		k, v, ok := qt.Next()
		if !ok {
			return keys, values
		}
		keys, values = append(keys, k), append(values, v)
	}
}

// send consumes a command and returns the commands the processor emitted to its own input
// while handling it (the tracker also sees the consumed command itself, which is left out).
func (h *harness) send(key string, cmd tables.NotificationCommand) (keys []string, emitted [][]byte) {
	h.t.Helper()
	b, err := json.Marshal(cmd)
	if err != nil {
		h.t.Fatal(err)
	}
	h.tt.Consume(string(notifications.Commands), key, b)
	ks, vs := drain(h.commands)
	if len(vs) == 0 || ks[0] != key || string(vs[0].([]byte)) != string(b) {
		h.t.Fatalf("commands topic does not start with the consumed command: %q", ks)
	}
	for i := 1; i < len(vs); i++ {
		keys, emitted = append(keys, ks[i]), append(emitted, vs[i].([]byte))
	}
	return keys, emitted
}

func (h *harness) row(id string) (tables.Notification, bool) {
	h.t.Helper()
	v := h.tt.TableValue(notifications.Table, id)
	if v == nil {
		return tables.Notification{}, false
	}
	n, ok := v.(tables.Notification)
	if !ok {
		h.t.Fatalf("table value is %T", v)
	}
	return n, true
}

// event checks that v is the JSON of a valid catalog envelope of the type (outputs use the Raw
// codec) and returns it decoded.
func event(t *testing.T, v any, eventType string) codecs.Event {
	t.Helper()
	b, ok := v.([]byte)
	if !ok {
		t.Fatalf("event is %T, want []byte", v)
	}
	var env codecs.Envelope
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatalf("event %s is not an envelope: %v", b, err)
	}
	if err := codecs.Validate(b); err != nil {
		t.Fatalf("emitted %s does not validate: %v", b, err)
	}
	ev, err := codecs.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if ev.EventType != eventType {
		t.Fatalf("event type = %q, want %q", ev.EventType, eventType)
	}
	if !ev.Timestamp.Equal(now) {
		t.Errorf("timestamp = %v, want %v", ev.Timestamp, now)
	}
	return ev
}

// intent decodes an intent, the JSON of a notification request.
func intent(t *testing.T, v any) tables.NotificationRequest {
	t.Helper()
	b, ok := v.([]byte)
	if !ok {
		t.Fatalf("intent is %T, want []byte", v)
	}
	var r tables.NotificationRequest
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("intent %s: %v", b, err)
	}
	return r
}

func request(t *testing.T, recipient string) tables.NotificationRequest {
	t.Helper()
	src, err := codecs.Marshal(codecs.UserRegistered{UserID: "u-1", Email: recipient, FirstName: "Jane",
		LastName: "Doe", Phone: "+33612345678", Role: tables.RoleCustomer}, now)
	if err != nil {
		t.Fatal(err)
	}
	var env codecs.Envelope
	if err := json.Unmarshal(src, &env); err != nil {
		t.Fatal(err)
	}
	return tables.NotificationRequest{
		NotificationID: tables.NotificationID(env.EventID, "user-welcome", recipient),
		Template:       "user-welcome", Channel: "email", Recipient: recipient,
		SourceEventID: env.EventID, SourceEventType: env.EventType, Source: src,
	}
}

// requested sends a request and checks that it is recorded and handed to the sender once.
func (h *harness) requested(r tables.NotificationRequest) {
	h.t.Helper()
	if _, emitted := h.send(r.NotificationID, tables.NotificationCommand{Request: &r}); len(emitted) != 0 {
		h.t.Errorf("request emitted commands %q", emitted)
	}
	n, ok := h.row(r.NotificationID)
	if !ok || n.Status != tables.NotificationPending || n.Attempts != 0 || !n.RequestedAt.Equal(now) ||
		!reflect.DeepEqual(n.NotificationRequest, r) {
		h.t.Errorf("row = %+v (found %v)", n, ok)
	}
	// The row journals the request it was written for and the intent it sent.
	if n.Journal == nil || !strings.HasPrefix(n.Journal.Input, string(notifications.Commands)+"/0/") ||
		len(n.Journal.Emits) != 1 || n.Journal.Emits[0].Topic != string(notifications.Intents) {
		h.t.Errorf("journal = %+v", n.Journal)
	}
	keys, values := drain(h.intents)
	if len(values) != 1 || keys[0] != r.NotificationID {
		h.t.Fatalf("intents %q, want one keyed %s", keys, r.NotificationID)
	}
	if got := intent(h.t, values[0]); !reflect.DeepEqual(got, r) {
		h.t.Errorf("intent = %+v, want %+v", got, r)
	}
	if _, values := drain(h.events); len(values) != 0 {
		h.t.Errorf("request emitted events %+v", values)
	}
}

func (h *harness) quiet(step string) {
	h.t.Helper()
	for name, qt := range map[string]*tester.QueueTracker{"intents": h.intents, "events": h.events, "dead letters": h.letter} {
		if _, values := drain(qt); len(values) != 0 {
			h.t.Errorf("%s: unexpected %s %+v", step, name, values)
		}
	}
}

func TestRequestAndSent(t *testing.T) {
	h := start(t, adminMail)
	r := request(t, "jane@example.com")
	h.requested(r)

	// The same request again (a redelivered source event) does nothing.
	if _, emitted := h.send(r.NotificationID, tables.NotificationCommand{Request: &r}); len(emitted) != 0 {
		t.Errorf("duplicate request emitted commands")
	}
	h.quiet("duplicate request")

	sent := tables.SendSucceeded{NotificationID: r.NotificationID, Subject: "Welcome", Provider: "outbox",
		ProviderMessageID: "<" + r.NotificationID + "@smartautocheck>", At: reportAt}
	h.send(r.NotificationID, tables.NotificationCommand{Sent: &sent})
	keys, values := drain(h.events)
	if len(values) != 1 || keys[0] != r.NotificationID {
		t.Fatalf("sent report emitted %q, want one event keyed %s", keys, r.NotificationID)
	}
	ev := event(t, values[0], codecs.TypeNotificationSent)
	want := codecs.NotificationSent{NotificationID: r.NotificationID, Type: "email", Recipient: "jane@example.com",
		Subject: "Welcome", Template: "user-welcome", Status: "sent", Provider: "outbox",
		ProviderMessageID: sent.ProviderMessageID, SentAt: reportAt}
	if !reflect.DeepEqual(ev.Payload, want) {
		t.Errorf("payload = %+v\nwant %+v", ev.Payload, want)
	}
	if n, _ := h.row(r.NotificationID); n.Status != tables.NotificationSent || n.SentAt == nil || !n.SentAt.Equal(reportAt) {
		t.Errorf("row = %+v", n)
	}
	h.quiet("sent report")

	// A redelivered report, or a late failure report, changes nothing.
	h.send(r.NotificationID, tables.NotificationCommand{Sent: &sent})
	h.send(r.NotificationID, tables.NotificationCommand{Failed: &tables.SendFailed{NotificationID: r.NotificationID, Attempt: 1, Error: "x", At: reportAt}})
	h.quiet("reports after sent")
	if n, _ := h.row(r.NotificationID); n.Status != tables.NotificationSent {
		t.Errorf("row = %+v", n)
	}
}

func TestFailuresThenAlert(t *testing.T) {
	h := start(t, adminMail)
	r := request(t, "jane@example.com")
	h.requested(r)
	alertID := tables.NotificationID(r.NotificationID, notifications.AlertTemplate, adminMail)

	for attempt := 1; attempt <= notifications.MaxAttempts; attempt++ {
		f := tables.SendFailed{NotificationID: r.NotificationID, Attempt: attempt, Error: "mailbox full", At: reportAt}
		alertKeys, alerts := h.send(r.NotificationID, tables.NotificationCommand{Failed: &f})

		keys, values := drain(h.events)
		if len(values) != 1 || keys[0] != r.NotificationID {
			t.Fatalf("attempt %d: events %q, want one keyed %s", attempt, keys, r.NotificationID)
		}
		ev := event(t, values[0], codecs.TypeNotificationFailed)
		want := codecs.NotificationFailed{NotificationID: r.NotificationID, Type: "email", Recipient: "jane@example.com",
			Error: "mailbox full", RetryCount: attempt - 1, FailedAt: now}
		if !reflect.DeepEqual(ev.Payload, want) {
			t.Errorf("attempt %d: payload = %+v\nwant %+v", attempt, ev.Payload, want)
		}

		// The same report again counts once.
		if _, emitted := h.send(r.NotificationID, tables.NotificationCommand{Failed: &f}); len(emitted) != 0 {
			t.Errorf("attempt %d: duplicate report emitted commands", attempt)
		}

		n, _ := h.row(r.NotificationID)
		if n.Attempts != attempt || n.LastError != "mailbox full" {
			t.Errorf("attempt %d: row = %+v", attempt, n)
		}
		if attempt < notifications.MaxAttempts {
			if len(alerts) != 0 || n.Status != tables.NotificationPending {
				t.Errorf("attempt %d: alerts %q, status %s; want none, pending", attempt, alertKeys, n.Status)
			}
			h.quiet("failure")
			continue
		}

		// Given up: the row is failed and one alert is requested from the admin's address.
		if n.Status != tables.NotificationFailed || n.FailedAt == nil || !n.FailedAt.Equal(reportAt) {
			t.Errorf("row after last attempt = %+v", n)
		}
		if len(alerts) != 1 || alertKeys[0] != alertID {
			t.Fatalf("alerts %q, want one keyed %s", alertKeys, alertID)
		}
		var cmd tables.NotificationCommand
		if err := json.Unmarshal(alerts[0], &cmd); err != nil || cmd.Request == nil || cmd.Sent != nil || cmd.Failed != nil {
			t.Fatalf("alert command %s (%v)", alerts[0], err)
		}
		ar := *cmd.Request
		if ar.NotificationID != alertID || ar.Template != notifications.AlertTemplate || ar.Recipient != adminMail ||
			ar.Channel != "email" || ar.SourceEventID != r.NotificationID || ar.SourceEventType != codecs.TypeNotificationFailed {
			t.Errorf("alert request = %+v", ar)
		}
		var src tables.Notification
		if err := json.Unmarshal(ar.Source, &src); err != nil || src.NotificationID != r.NotificationID ||
			src.Status != tables.NotificationFailed || src.Attempts != notifications.MaxAttempts {
			t.Errorf("alert source = %+v (%v)", src, err)
		}

		// The alert went round through the processor's own input: it is a pending
		// notification handed to the sender like any other.
		keys, values = drain(h.intents)
		if len(values) != 1 || keys[0] != alertID || !reflect.DeepEqual(intent(t, values[0]), ar) {
			t.Errorf("intents after give-up %q %+v, want the alert", keys, values)
		}
		if a, ok := h.row(alertID); !ok || a.Status != tables.NotificationPending {
			t.Errorf("alert row = %+v (found %v)", a, ok)
		}
	}
	h.quiet("after give-up")

	// A further report is ignored.
	f := tables.SendFailed{NotificationID: r.NotificationID, Attempt: notifications.MaxAttempts + 1, Error: "again", At: reportAt}
	if _, emitted := h.send(r.NotificationID, tables.NotificationCommand{Failed: &f}); len(emitted) != 0 {
		t.Error("report after give-up emitted commands")
	}
	h.quiet("report after give-up")

	// The alert failing for good asks for no alert of its own.
	pf := tables.SendFailed{NotificationID: alertID, Attempt: 1, Error: "no route", Permanent: true, At: reportAt}
	if keys, _ := h.send(alertID, tables.NotificationCommand{Failed: &pf}); len(keys) != 0 {
		t.Errorf("failed alert asked for alerts %q", keys)
	}
	if _, values := drain(h.events); len(values) != 1 {
		t.Errorf("failed alert emitted %d events, want 1", len(values))
	}
	if a, _ := h.row(alertID); a.Status != tables.NotificationFailed {
		t.Errorf("alert row = %+v", a)
	}
}

func TestPermanentFailureGivesUpAtOnce(t *testing.T) {
	for _, admin := range []string{adminMail, ""} {
		t.Run("admin="+admin, func(t *testing.T) {
			h := start(t, admin)
			r := request(t, "jane@example.com")
			h.requested(r)
			f := tables.SendFailed{NotificationID: r.NotificationID, Attempt: 1, Error: "550 no such user", Permanent: true, At: reportAt}
			keys, _ := h.send(r.NotificationID, tables.NotificationCommand{Failed: &f})

			_, values := drain(h.events)
			if len(values) != 1 {
				t.Fatalf("%d events, want 1", len(values))
			}
			if p := event(t, values[0], codecs.TypeNotificationFailed).Payload.(codecs.NotificationFailed); p.RetryCount != 0 || p.Error != f.Error {
				t.Errorf("payload = %+v", p)
			}
			if n, _ := h.row(r.NotificationID); n.Status != tables.NotificationFailed || n.Attempts != 1 {
				t.Errorf("row = %+v", n)
			}
			wantAlerts := 0
			if admin != "" {
				wantAlerts = 1
			}
			if len(keys) != wantAlerts {
				t.Errorf("alerts %q, want %d", keys, wantAlerts)
			}
			_, intents := drain(h.intents)
			if len(intents) != wantAlerts {
				t.Errorf("intents %+v, want %d (the alert)", intents, wantAlerts)
			}
			h.quiet("after give-up")
		})
	}
}

func TestUnknownNotificationReportsIgnored(t *testing.T) {
	h := start(t, adminMail)
	h.send("n-404", tables.NotificationCommand{Sent: &tables.SendSucceeded{NotificationID: "n-404", At: reportAt}})
	h.send("n-404", tables.NotificationCommand{Failed: &tables.SendFailed{NotificationID: "n-404", Attempt: 1, Permanent: true, At: reportAt}})
	h.quiet("reports of an unknown notification")
	if _, ok := h.row("n-404"); ok {
		t.Error("report of an unknown notification made a row")
	}
}

func TestBadCommandsAreDeadLettered(t *testing.T) {
	for _, value := range [][]byte{[]byte("not json"), []byte(`{}`), []byte(`{"sent":[1]}`)} {
		t.Run(string(value), func(t *testing.T) {
			h := start(t, adminMail)
			h.tt.Consume(string(notifications.Commands), "n-1", value)
			drain(h.commands)
			keys, values := drain(h.letter)
			if len(values) != 1 {
				t.Fatalf("%d dead letters, want 1", len(values))
			}
			l, ok := values[0].(deadletter.Letter)
			if !ok {
				t.Fatalf("dead letter is %T", values[0])
			}
			if keys[0] != "n-1" || l.Topic != string(notifications.Commands) || l.Key != "n-1" ||
				l.Group != string(notifications.Group) || string(l.Value) != string(value) || l.Attempts != 1 {
				t.Errorf("letter %q = %+v", keys[0], l)
			}
			if _, ok := h.row("n-1"); ok {
				t.Error("bad command made a row")
			}
			// The processor keeps going.
			h.requested(request(t, "jane@example.com"))
			h.quiet("after a bad command")
		})
	}
}
