package notifications_test

import (
	"encoding/json"
	"fmt"
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
	t                       *testing.T
	tt                      *tester.Tester
	intents, events, timers *tester.QueueTracker
	commands, letter        *tester.QueueTracker
}

func start(t *testing.T, admin string) *harness {
	t.Helper()
	return startWith(t, notifications.Options{AdminEmail: admin})
}

// startWith runs the processor with o, on the fixed clock and the fast dead-letter policy.
func startWith(t *testing.T, o notifications.Options) *harness {
	t.Helper()
	o.Now, o.Policy = gokatest.Fixed(now), gokatest.Policy()
	tt := gokatest.Start(t, notifications.Graph(o))
	return &harness{t: t, tt: tt,
		intents:  tt.NewQueueTracker(string(notifications.Intents)),
		events:   tt.NewQueueTracker(string(notifications.Events)),
		timers:   tt.NewQueueTracker(topics.TimerCommands),
		commands: tt.NewQueueTracker(string(notifications.Commands)),
		letter:   tt.NewQueueTracker(topics.DeadLetters),
	}
}

// retryTimer checks that the last command scheduled exactly one timer: the retry of r as attempt
// next, due at due, handing the intent back to the sender keyed by the notification.
func (h *harness) retryTimer(r tables.NotificationRequest, next int, due time.Time) {
	h.t.Helper()
	rec := gokatest.One[tables.TimerCommand](h.t, h.timers, "timer commands")
	if want := tables.TimerKey(due, fmt.Sprintf("%s/attempt-%d", r.NotificationID, next)); rec.Key != want {
		h.t.Errorf("attempt %d: timer key = %q, want %q", next, rec.Key, want)
	}
	tc := rec.Value
	if tc.Schedule == nil || tc.Fire != nil || tc.Forget != nil {
		h.t.Fatalf("attempt %d: timer command = %+v, want a schedule", next, tc)
	}
	tm := tc.Schedule
	if !tm.Due.Equal(due) || tm.Topic != topics.NotificationIntents ||
		tm.Key != r.NotificationID || tm.Fired || len(tm.Journal) != 0 {
		h.t.Errorf("attempt %d: timer = %+v, want due %v to %s/%s", next, tm, due, notifications.Intents, r.NotificationID)
	}
	want := r
	want.Attempt = next
	if got := gokatest.Decode[tables.NotificationRequest](h.t, tm.Value); !reflect.DeepEqual(got, want) {
		h.t.Errorf("attempt %d: timer value = %s, want %+v", next, tm.Value, want)
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
	if len(n.Journal) != 1 || !strings.HasPrefix(n.Journal[0].Input, string(notifications.Commands)+"/0/") ||
		len(n.Journal[0].Emits) != 1 || n.Journal[0].Emits[0].Topic != string(notifications.Intents) {
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
	gokatest.Quiet(h.t, step, map[string]*tester.QueueTracker{"intents": h.intents, "events": h.events, "timer commands": h.timers,
		"dead letters": h.letter})
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
		// Each attempt fails a while after the last; its retry is due counting from its failure.
		at := reportAt.Add(time.Duration(attempt) * 10 * time.Second)
		f := tables.SendFailed{NotificationID: r.NotificationID, Attempt: attempt, Error: "mailbox full", At: at}
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

		// Before the last attempt, the next one is a durable timer: due 1 s, 2 s, 4 s after the
		// failure (the default backoff, doubled each time).
		if attempt < notifications.MaxAttempts {
			h.retryTimer(r, attempt+1, at.Add(time.Second<<(attempt-1)))
		}

		// The same report again counts once, and schedules nothing.
		if _, emitted := h.send(r.NotificationID, tables.NotificationCommand{Failed: &f}); len(emitted) != 0 {
			t.Errorf("attempt %d: duplicate report emitted commands", attempt)
		}
		if n := gokatest.Count(h.timers); n != 0 {
			t.Errorf("attempt %d: duplicate report scheduled %d timers", attempt, n)
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
		if n.Status != tables.NotificationFailed || n.FailedAt == nil || !n.FailedAt.Equal(at) {
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
			if n := gokatest.Count(h.timers); n != 0 {
				t.Errorf("a permanent failure scheduled %d retries", n)
			}
			intents := gokatest.Drain[tables.NotificationRequest](t, h.intents)
			if len(intents) != wantAlerts {
				t.Errorf("intents %+v, want %d (the alert)", intents, wantAlerts)
			}
			h.quiet("after give-up")
		})
	}
}

// The retries' due times follow Options.RetryBackoff, doubled after each failure; the failed
// attempt's row journals the timer with the event, so a replay sets it again.
func TestRetryBackoffOption(t *testing.T) {
	h := startWith(t, notifications.Options{AdminEmail: adminMail, RetryBackoff: 3 * time.Second})
	r := request(t, "jane@example.com")
	h.requested(r)
	for _, step := range []struct {
		attempt int
		wait    time.Duration
	}{{1, 3 * time.Second}, {2, 6 * time.Second}, {3, 12 * time.Second}} {
		f := tables.SendFailed{NotificationID: r.NotificationID, Attempt: step.attempt, Error: "451 try later", At: reportAt}
		h.send(r.NotificationID, tables.NotificationCommand{Failed: &f})
		gokatest.One[[]byte](t, h.events, "events")
		h.retryTimer(r, step.attempt+1, reportAt.Add(step.wait))
		n, _ := h.row(r.NotificationID)
		e := gokatest.Latest(t, n.Journal)
		var topicsSent []string
		for _, em := range e.Emits {
			topicsSent = append(topicsSent, em.Topic)
		}
		if want := []string{string(notifications.Events), topics.TimerCommands}; !reflect.DeepEqual(topicsSent, want) {
			t.Errorf("attempt %d: journaled emits to %q, want %q", step.attempt, topicsSent, want)
		}
		h.quiet("failure")
	}
	// The 4th failure gives up: an alert, no timer.
	f := tables.SendFailed{NotificationID: r.NotificationID, Attempt: notifications.MaxAttempts, Error: "451 try later", At: reportAt}
	if keys, _ := h.send(r.NotificationID, tables.NotificationCommand{Failed: &f}); len(keys) != 1 {
		t.Errorf("alerts %q, want one", keys)
	}
	if n := gokatest.Count(h.timers); n != 0 {
		t.Errorf("the last failure scheduled %d timers", n)
	}
	gokatest.One[[]byte](t, h.events, "events")
	gokatest.One[[]byte](t, h.intents, "intents (the alert)")
	h.quiet("given up")
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
