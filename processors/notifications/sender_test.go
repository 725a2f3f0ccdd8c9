package notifications_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/textproto"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/smartautocheck/smartautocheck/codecs"
	"github.com/smartautocheck/smartautocheck/internal/deadletter"
	"github.com/smartautocheck/smartautocheck/internal/mail"
	"github.com/smartautocheck/smartautocheck/internal/templates"
	"github.com/smartautocheck/smartautocheck/internal/topics"
	"github.com/smartautocheck/smartautocheck/processors/notifications"
	"github.com/smartautocheck/smartautocheck/tables"
)

var sentAt = time.Date(2025, 1, 15, 10, 5, 0, 0, time.UTC)

// provider is a fake mail.Provider: it records the messages it is asked to send and answers
// each with the next of its errors (nil once they run out).
type provider struct {
	mu   sync.Mutex
	errs []error
	sent []mail.Message
}

func (p *provider) Name() string { return "fake" }

func (p *provider) Send(_ context.Context, m mail.Message) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sent = append(p.sent, m)
	if len(p.errs) > 0 {
		err := p.errs[0]
		p.errs = p.errs[1:]
		if err != nil {
			return "", err
		}
	}
	return "<" + m.ID + "@fake>", nil
}

// senderHarness is a Sender over the fake provider, an in-memory notifications table and a
// Produce that captures what it reports.
type senderHarness struct {
	t         *testing.T
	s         *notifications.Sender
	p         *provider
	rows      map[string]tables.Notification
	statusErr error // what Status fails with, if anything
	produced  []*kgo.Record
	produce   error
}

func newSender(t *testing.T, errs ...error) *senderHarness {
	h := &senderHarness{t: t, p: &provider{errs: errs}, rows: map[string]tables.Notification{}}
	h.s = &notifications.Sender{
		Env:      templates.Env{BaseURL: "http://127.0.0.1:8080", From: "SmartAutoCheck <no-reply@smartautocheck.local>"},
		Provider: h.p,
		Status: func(id string) (tables.Notification, bool, error) {
			if h.statusErr != nil {
				return tables.Notification{}, false, h.statusErr
			}
			n, ok := h.rows[id]
			return n, ok, nil
		},
		Produce: func(_ context.Context, recs ...*kgo.Record) error {
			if h.produce != nil {
				return h.produce
			}
			h.produced = append(h.produced, recs...)
			return nil
		},
		Now: func() time.Time { return sentAt },
	}
	return h
}

// verifiedRequest is a user-verified email (its rendering needs no records and no signer).
func verifiedRequest(t *testing.T, attempt int) tables.NotificationRequest {
	t.Helper()
	src, err := codecs.Marshal(codecs.UserVerified{UserID: "u-1", Email: "jane@example.com", VerifiedAt: now}, now)
	if err != nil {
		t.Fatal(err)
	}
	var env codecs.Envelope
	if err := json.Unmarshal(src, &env); err != nil {
		t.Fatal(err)
	}
	return tables.NotificationRequest{NotificationID: tables.NotificationID(env.EventID, templates.UserVerified, "jane@example.com"),
		Template: templates.UserVerified, Channel: "email", Recipient: "jane@example.com", SourceEventID: env.EventID,
		SourceEventType: env.EventType, SourceKey: "u-1", Source: src, Attempt: attempt}
}

func (h *senderHarness) handle(r tables.NotificationRequest) error {
	h.t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		h.t.Fatal(err)
	}
	return h.s.Handle(context.Background(), deadletter.Message{Origin: deadletter.Origin{Topic: topics.NotificationIntents,
		Key: r.NotificationID, Group: notifications.SenderGroup}, Value: b})
}

// report is the one command the sender produced, to the processor's input keyed by id.
func (h *senderHarness) report(id string) tables.NotificationCommand {
	h.t.Helper()
	if len(h.produced) != 1 {
		h.t.Fatalf("%d reports, want 1", len(h.produced))
	}
	rec := h.produced[0]
	if rec.Topic != topics.NotificationCommands || string(rec.Key) != id {
		h.t.Errorf("report to %s keyed %q, want %s keyed %s", rec.Topic, rec.Key, topics.NotificationCommands, id)
	}
	var cmd tables.NotificationCommand
	if err := json.Unmarshal(rec.Value, &cmd); err != nil {
		h.t.Fatalf("report %s: %v", rec.Value, err)
	}
	return cmd
}

func pending(r tables.NotificationRequest, attempts int) tables.Notification {
	return tables.Notification{NotificationRequest: r, Status: tables.NotificationPending, Attempts: attempts, RequestedAt: now}
}

func TestSenderSendsOnceAndReports(t *testing.T) {
	for _, tc := range []struct {
		name     string
		attempt  int // of the intent
		row      *tables.Notification
		attempts int // made before, as the view shows
	}{
		{"first intent, row not in the view yet", 0, nil, 0},
		{"first intent", 0, &tables.Notification{}, 0},
		{"first intent numbered 1", 1, &tables.Notification{}, 0},
		{"retry", 3, &tables.Notification{}, 2},
		{"retry the view is behind on", 3, &tables.Notification{}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newSender(t)
			r := verifiedRequest(t, tc.attempt)
			if tc.row != nil {
				h.rows[r.NotificationID] = pending(r, tc.attempts)
			}
			if err := h.handle(r); err != nil {
				t.Fatalf("Handle = %v", err)
			}
			if len(h.p.sent) != 1 {
				t.Fatalf("%d sends, want 1", len(h.p.sent))
			}
			m := h.p.sent[0]
			if m.ID != r.NotificationID || m.To != "jane@example.com" || m.Channel != mail.Email || m.Subject == "" ||
				!m.Date.Equal(sentAt) || m.From == "" {
				t.Errorf("message = %+v", m)
			}
			cmd := h.report(r.NotificationID)
			want := tables.SendSucceeded{NotificationID: r.NotificationID, Subject: m.Subject, Provider: "fake",
				ProviderMessageID: "<" + r.NotificationID + "@fake>", At: sentAt}
			if cmd.Sent == nil || cmd.Failed != nil || cmd.Request != nil || !reflect.DeepEqual(*cmd.Sent, want) {
				t.Errorf("report = %+v, want sent %+v", cmd, want)
			}
		})
	}
}

// One attempt per intent: a failure is reported at once, numbered as the intent says, and not
// retried here — the processor's timer brings the next attempt.
func TestSenderMakesOneAttempt(t *testing.T) {
	for _, tc := range []struct {
		name        string
		attempt     int
		wantAttempt int
		err         error
		permanent   bool
	}{
		{"transient, first intent", 0, 1, errors.New("connection reset"), false},
		{"transient, retry", 2, 2, fmt.Errorf("dial: %w", errors.New("timeout")), false},
		{"4xx reply", 3, 3, &textproto.Error{Code: 451, Msg: "try again later"}, false},
		{"5xx reply", 1, 1, &textproto.Error{Code: 550, Msg: "no such user"}, true},
		{"5xx reply, wrapped", 2, 2, fmt.Errorf("smtp: %w", &textproto.Error{Code: 554, Msg: "rejected"}), true},
		{"unsupported channel", 0, 1, fmt.Errorf("sms: %w", mail.ErrUnsupportedChannel), true},
		{"invalid message", 4, 4, fmt.Errorf("bad address: %w", mail.ErrInvalidMessage), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newSender(t, tc.err, tc.err, tc.err)
			r := verifiedRequest(t, tc.attempt)
			h.rows[r.NotificationID] = pending(r, tc.wantAttempt-1)
			start := time.Now()
			if err := h.handle(r); err != nil {
				t.Fatalf("Handle = %v", err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("Handle took %v: it waits for a retry", d)
			}
			if len(h.p.sent) != 1 {
				t.Errorf("%d sends, want 1", len(h.p.sent))
			}
			cmd := h.report(r.NotificationID)
			want := tables.SendFailed{NotificationID: r.NotificationID, Attempt: tc.wantAttempt, Error: tc.err.Error(),
				Permanent: tc.permanent, At: sentAt}
			if cmd.Failed == nil || cmd.Sent != nil || !reflect.DeepEqual(*cmd.Failed, want) {
				t.Errorf("report = %+v, want failed %+v", cmd, want)
			}
			if got := mail.Permanent(tc.err); got != tc.permanent {
				t.Errorf("mail.Permanent(%v) = %v, want %v", tc.err, got, tc.permanent)
			}
		})
	}
}

// The sender skips an intent whose notification is done, or whose attempt was made and
// reported already (a redelivered intent, or the original after a retry's timer).
func TestSenderSkips(t *testing.T) {
	for _, tc := range []struct {
		name     string
		attempt  int
		status   string
		attempts int
	}{
		{"sent", 0, tables.NotificationSent, 0},
		{"sent, retry intent", 2, tables.NotificationSent, 1},
		{"failed for good", 0, tables.NotificationFailed, 1},
		{"failed for good, retry intent", 3, tables.NotificationFailed, 2},
		{"first attempt already reported", 0, tables.NotificationPending, 1},
		{"attempt 1 already reported", 1, tables.NotificationPending, 1},
		{"retry already reported", 2, tables.NotificationPending, 2},
		{"older retry redelivered", 2, tables.NotificationPending, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newSender(t)
			r := verifiedRequest(t, tc.attempt)
			n := pending(r, tc.attempts)
			n.Status = tc.status
			h.rows[r.NotificationID] = n
			if err := h.handle(r); err != nil {
				t.Fatalf("Handle = %v", err)
			}
			if len(h.p.sent) != 0 || len(h.produced) != 0 {
				t.Errorf("sends %+v, reports %d; want none", h.p.sent, len(h.produced))
			}
		})
	}
}

func TestSenderErrors(t *testing.T) {
	t.Run("an intent that does not decode is a dead letter", func(t *testing.T) {
		h := newSender(t)
		err := h.s.Handle(context.Background(), deadletter.Message{Value: []byte("not json")})
		if err == nil || !deadletter.IsPermanent(err) {
			t.Errorf("Handle = %v, want a permanent error", err)
		}
		if len(h.p.sent) != 0 || len(h.produced) != 0 {
			t.Error("a bad intent was sent or reported")
		}
	})
	t.Run("a message that cannot be rendered fails for good", func(t *testing.T) {
		h := newSender(t)
		r := verifiedRequest(t, 2)
		r.Template = "no-such-template"
		h.rows[r.NotificationID] = pending(r, 1)
		if err := h.handle(r); err != nil {
			t.Fatalf("Handle = %v", err)
		}
		if len(h.p.sent) != 0 {
			t.Errorf("an unrenderable message was sent: %+v", h.p.sent)
		}
		if cmd := h.report(r.NotificationID); cmd.Failed == nil || !cmd.Failed.Permanent || cmd.Failed.Attempt != 2 ||
			cmd.Failed.Error == "" || !cmd.Failed.At.Equal(sentAt) {
			t.Errorf("report = %+v, want a permanent failure of attempt 2", cmd)
		}
	})
	t.Run("the table cannot be read", func(t *testing.T) {
		h := newSender(t)
		h.statusErr = errors.New("view not ready")
		if err := h.handle(verifiedRequest(t, 0)); err == nil || deadletter.IsPermanent(err) {
			t.Errorf("Handle = %v, want an error to retry", err)
		}
		if len(h.p.sent) != 0 || len(h.produced) != 0 {
			t.Error("sent or reported without the table")
		}
	})
	t.Run("the report cannot be produced", func(t *testing.T) {
		h := newSender(t)
		h.produce = errors.New("broker down")
		if err := h.handle(verifiedRequest(t, 0)); err == nil || err.Error() != "broker down" {
			t.Errorf("Handle = %v, want the produce error", err)
		}
	})
}
