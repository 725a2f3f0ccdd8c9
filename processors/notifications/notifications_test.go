package notifications_test

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
	tt := gokatest.Start(t, notifications.Graph(notifications.Options{Now: gokatest.Fixed(now), AdminEmail: admin,
		Policy: gokatest.Policy()}))
	return &harness{t: t, tt: tt,
		intents:  tt.NewQueueTracker(string(notifications.Intents)),
		events:   tt.NewQueueTracker(string(notifications.Events)),
		commands: tt.NewQueueTracker(string(notifications.Commands)),
		letter:   tt.NewQueueTracker(topics.DeadLetters),
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
	recs := gokatest.Drain[[]byte](h.t, h.commands)
	if len(recs) == 0 || recs[0].Key != key || string(recs[0].Value) != string(b) {
		h.t.Fatalf("commands topic does not start with the consumed command: %q", recs)
	}
	for _, r := range recs[1:] {
		keys, emitted = append(keys, r.Key), append(emitted, r.Value)
	}
	return keys, emitted
}

func (h *harness) row(id string) (tables.Notification, bool) {
	h.t.Helper()
	return gokatest.Row[tables.Notification](h.t, h.tt, notifications.Table, id)
}

// event checks that b is a valid catalog event of the type (outputs use the Raw codec), stamped
// with the processor's clock, and returns it decoded.
func event(t *testing.T, b []byte, eventType string) codecs.Event {
	t.Helper()
	return gokatest.Event(t, b, eventType, now)
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
	intents := gokatest.Drain[tables.NotificationRequest](h.t, h.intents)
	if len(intents) != 1 || intents[0].Key != r.NotificationID {
		h.t.Fatalf("intents %+v, want one keyed %s", intents, r.NotificationID)
	}
	if got := intents[0].Value; !reflect.DeepEqual(got, r) {
		h.t.Errorf("intent = %+v, want %+v", got, r)
	}
	if recs := gokatest.Drain[[]byte](h.t, h.events); len(recs) != 0 {
		h.t.Errorf("request emitted events %q", recs)
	}
}

func (h *harness) quiet(step string) {
	h.t.Helper()
	gokatest.Quiet(h.t, step, map[string]*tester.QueueTracker{"intents": h.intents, "events": h.events, "dead letters": h.letter})
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
	events := gokatest.Drain[[]byte](t, h.events)
	if len(events) != 1 || events[0].Key != r.NotificationID {
		t.Fatalf("sent report emitted %q, want one event keyed %s", events, r.NotificationID)
	}
	ev := event(t, events[0].Value, codecs.TypeNotificationSent)
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

		events := gokatest.Drain[[]byte](t, h.events)
		if len(events) != 1 || events[0].Key != r.NotificationID {
			t.Fatalf("attempt %d: events %q, want one keyed %s", attempt, events, r.NotificationID)
		}
		ev := event(t, events[0].Value, codecs.TypeNotificationFailed)
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
		intents := gokatest.Drain[tables.NotificationRequest](t, h.intents)
		if len(intents) != 1 || intents[0].Key != alertID || !reflect.DeepEqual(intents[0].Value, ar) {
			t.Errorf("intents after give-up %+v, want the alert", intents)
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
	if n := gokatest.Count(h.events); n != 1 {
		t.Errorf("failed alert emitted %d events, want 1", n)
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

			rec := gokatest.One[[]byte](t, h.events, "events")
			if p := event(t, rec.Value, codecs.TypeNotificationFailed).Payload.(codecs.NotificationFailed); p.RetryCount != 0 || p.Error != f.Error {
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
			intents := gokatest.Drain[tables.NotificationRequest](t, h.intents)
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
			gokatest.Count(h.commands)
			dl := gokatest.One[deadletter.Letter](t, h.letter, "dead letters")
			if l := dl.Value; dl.Key != "n-1" || l.Topic != string(notifications.Commands) || l.Key != "n-1" ||
				l.Group != string(notifications.Group) || string(l.Value) != string(value) || l.Attempts != 1 {
				t.Errorf("letter %q = %+v", dl.Key, l)
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
