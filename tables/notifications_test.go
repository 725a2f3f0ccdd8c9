package tables

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"
)

const (
	maxAttempts = 4           // the notifications processor's MaxAttempts
	backoff     = time.Second // its default RetryBackoff
)

func request() NotificationRequest {
	return NotificationRequest{NotificationID: "n-1", Template: "user-welcome", Channel: "email",
		Recipient: "jane@example.com", SourceEventID: "e-1", SourceEventType: "user.registered",
		Source: json.RawMessage(`{"eventType":"user.registered"}`)}
}

func pendingRow() *Notification {
	return &Notification{NotificationRequest: request(), Status: NotificationPending, RequestedAt: t0}
}

func TestRequest(t *testing.T) {
	ch := Request(nil, request(), t1)
	if !ch.Intent || ch.Sent || ch.Failed || ch.GaveUp {
		t.Errorf("new request flags = %+v, want Intent only", ch)
	}
	if ch.Row == nil {
		t.Fatal("new request: Row = nil")
	}
	want := Notification{NotificationRequest: request(), Status: NotificationPending, RequestedAt: t1}
	if !reflect.DeepEqual(*ch.Row, want) {
		t.Errorf("row = %+v, want %+v", *ch.Row, want)
	}

	for name, cur := range map[string]*Notification{
		"pending": pendingRow(),
		"sent":    {NotificationRequest: request(), Status: NotificationSent},
		"failed":  {NotificationRequest: request(), Status: NotificationFailed},
	} {
		if ch := Request(cur, request(), t1); !reflect.DeepEqual(ch, NotificationChange{}) {
			t.Errorf("request of a known (%s) notification = %+v, want no change", name, ch)
		}
	}
}

func TestDelivered(t *testing.T) {
	s := SendSucceeded{NotificationID: "n-1", Subject: "Welcome", Provider: "outbox", ProviderMessageID: "<n-1@x>", At: t1}

	cur := pendingRow()
	before := *cur
	ch := Delivered(cur, s)
	if !ch.Sent || ch.Intent || ch.Failed || ch.GaveUp || ch.Row == nil {
		t.Fatalf("delivery of a pending notification = %+v, want Sent with a row", ch)
	}
	if !reflect.DeepEqual(*cur, before) {
		t.Errorf("current row modified: %+v", *cur)
	}
	r := ch.Row
	if r.Status != NotificationSent || r.Subject != s.Subject || r.Provider != s.Provider ||
		r.ProviderMessageID != s.ProviderMessageID || r.SentAt == nil || !r.SentAt.Equal(t1) {
		t.Errorf("row = %+v, want sent with the report's fields", *r)
	}
	if !reflect.DeepEqual(r.NotificationRequest, request()) || !r.RequestedAt.Equal(t0) {
		t.Errorf("row lost its request: %+v", *r)
	}

	failed := pendingRow()
	failed.Status = NotificationFailed
	for name, cur := range map[string]*Notification{"unknown": nil, "already sent": ch.Row, "failed": failed} {
		if ch := Delivered(cur, s); !reflect.DeepEqual(ch, NotificationChange{}) {
			t.Errorf("delivery of %s notification = %+v, want no change", name, ch)
		}
	}
}

func TestFailedAttempt(t *testing.T) {
	fail := func(attempt int, permanent bool) SendFailed {
		return SendFailed{NotificationID: "n-1", Attempt: attempt, Error: "boom", Permanent: permanent, At: t1}
	}
	type step struct {
		report     SendFailed
		wantChange bool
		wantGaveUp bool
		wantStatus string // of the current row after the step
		wantTries  int
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"retries then gives up after max attempts", []step{
			{fail(1, false), true, false, NotificationPending, 1},
			{fail(2, false), true, false, NotificationPending, 2},
			{fail(3, false), true, false, NotificationPending, 3},
			{fail(4, false), true, true, NotificationFailed, 4},
			{fail(5, false), false, false, NotificationFailed, 4},
		}},
		{"duplicate report counted once", []step{
			{fail(1, false), true, false, NotificationPending, 1},
			{fail(1, false), false, false, NotificationPending, 1},
			{fail(2, false), true, false, NotificationPending, 2},
			{fail(1, false), false, false, NotificationPending, 2},
			{fail(2, false), false, false, NotificationPending, 2},
		}},
		{"permanent failure gives up at once", []step{
			{fail(1, true), true, true, NotificationFailed, 1},
			{fail(2, false), false, false, NotificationFailed, 1},
		}},
		{"permanent failure on a later attempt", []step{
			{fail(1, false), true, false, NotificationPending, 1},
			{fail(2, true), true, true, NotificationFailed, 2},
		}},
		{"report beyond max attempts gives up", []step{
			{fail(7, false), true, true, NotificationFailed, 7},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cur := pendingRow()
			for i, s := range tc.steps {
				ch := FailedAttempt(cur, s.report, maxAttempts, backoff)
				if !s.wantChange {
					if !reflect.DeepEqual(ch, NotificationChange{}) {
						t.Fatalf("step %d (attempt %d): change = %+v, want none", i, s.report.Attempt, ch)
					}
				} else {
					if ch.Row == nil || !ch.Failed || ch.Intent || ch.Sent {
						t.Fatalf("step %d (attempt %d): change = %+v, want Failed with a row", i, s.report.Attempt, ch)
					}
					if ch.GaveUp != s.wantGaveUp {
						t.Errorf("step %d (attempt %d): GaveUp = %v, want %v", i, s.report.Attempt, ch.GaveUp, s.wantGaveUp)
					}
					if ch.Row.LastError != s.report.Error {
						t.Errorf("step %d: LastError = %q", i, ch.Row.LastError)
					}
					if s.wantGaveUp != (ch.Row.FailedAt != nil) {
						t.Errorf("step %d: FailedAt = %v", i, ch.Row.FailedAt)
					}
					if ch.Row.FailedAt != nil && !ch.Row.FailedAt.Equal(s.report.At) {
						t.Errorf("step %d: FailedAt = %v, want %v", i, ch.Row.FailedAt, s.report.At)
					}
					// Until it gives up, the next attempt is due after the backoff, doubled after
					// each failure.
					if s.wantGaveUp {
						if ch.Retry || !ch.RetryAt.IsZero() {
							t.Errorf("step %d: Retry, RetryAt = %v, %v after giving up", i, ch.Retry, ch.RetryAt)
						}
					} else if wantAt := s.report.At.Add(backoff << (s.report.Attempt - 1)); !ch.Retry || !ch.RetryAt.Equal(wantAt) {
						t.Errorf("step %d (attempt %d): Retry, RetryAt = %v, %v; want true, %v",
							i, s.report.Attempt, ch.Retry, ch.RetryAt, wantAt)
					}
					cur = ch.Row
				}
				if cur.Status != s.wantStatus || cur.Attempts != s.wantTries {
					t.Errorf("step %d (attempt %d): status, attempts = %q, %d; want %q, %d",
						i, s.report.Attempt, cur.Status, cur.Attempts, s.wantStatus, s.wantTries)
				}
			}
		})
	}

	if ch := FailedAttempt(nil, fail(1, false), maxAttempts, backoff); !reflect.DeepEqual(ch, NotificationChange{}) {
		t.Errorf("failure of an unknown notification = %+v, want no change", ch)
	}
	sent := pendingRow()
	sent.Status = NotificationSent
	if ch := FailedAttempt(sent, fail(1, false), maxAttempts, backoff); !reflect.DeepEqual(ch, NotificationChange{}) {
		t.Errorf("failure of a sent notification = %+v, want no change", ch)
	}
	cur := pendingRow()
	before := *cur
	FailedAttempt(cur, fail(1, false), maxAttempts, backoff)
	if !reflect.DeepEqual(*cur, before) {
		t.Errorf("current row modified: %+v", *cur)
	}
}

// The retry of a failed attempt is due after the backoff from the failure, doubled after each:
// 1 s, 2 s, 4 s with a 1 s backoff; the 4th failure gives up and schedules nothing.
func TestFailedAttemptRetryAt(t *testing.T) {
	for _, tc := range []struct {
		backoff time.Duration
		waits   []time.Duration
	}{
		{time.Second, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}},
		{250 * time.Millisecond, []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second}},
	} {
		cur := pendingRow()
		at := t1
		for i, wait := range tc.waits {
			attempt := i + 1
			ch := FailedAttempt(cur, SendFailed{NotificationID: "n-1", Attempt: attempt, Error: "boom", At: at}, maxAttempts, tc.backoff)
			if ch.Row == nil || !ch.Retry || !ch.RetryAt.Equal(at.Add(wait)) || ch.GaveUp {
				t.Fatalf("backoff %v, attempt %d failed at %v: change = %+v, want a retry at %v",
					tc.backoff, attempt, at, ch, at.Add(wait))
			}
			cur = ch.Row
			at = ch.RetryAt.Add(time.Duration(attempt) * time.Millisecond) // the retry fails a little later
		}
		ch := FailedAttempt(cur, SendFailed{NotificationID: "n-1", Attempt: maxAttempts, Error: "boom", At: at}, maxAttempts, tc.backoff)
		if !ch.GaveUp || ch.Retry || !ch.RetryAt.IsZero() {
			t.Errorf("backoff %v, last attempt: change = %+v, want given up without a retry", tc.backoff, ch)
		}
	}
	// A permanent failure is not retried.
	ch := FailedAttempt(pendingRow(), SendFailed{NotificationID: "n-1", Attempt: 1, Error: "550", Permanent: true, At: t1}, maxAttempts, backoff)
	if !ch.GaveUp || ch.Retry || !ch.RetryAt.IsZero() {
		t.Errorf("permanent failure: change = %+v, want given up without a retry", ch)
	}
	// A duplicate report schedules nothing again.
	first := FailedAttempt(pendingRow(), SendFailed{NotificationID: "n-1", Attempt: 1, Error: "boom", At: t1}, maxAttempts, backoff)
	if ch := FailedAttempt(first.Row, SendFailed{NotificationID: "n-1", Attempt: 1, Error: "boom", At: t1}, maxAttempts, backoff); ch.Retry {
		t.Errorf("duplicate report: change = %+v, want no retry", ch)
	}
}

func TestNotificationID(t *testing.T) {
	base := NotificationID("e-1", "user-welcome", "jane@example.com")
	u, err := uuid.Parse(base)
	if err != nil {
		t.Fatalf("NotificationID = %q, not a UUID: %v", base, err)
	}
	if u.Version() != 5 {
		t.Errorf("NotificationID version = %d, want 5 (name-based)", u.Version())
	}
	if again := NotificationID("e-1", "user-welcome", "jane@example.com"); again != base {
		t.Errorf("NotificationID not stable: %q then %q", base, again)
	}
	same := []string{"Jane@Example.com", "JANE@EXAMPLE.COM", " jane@example.com "}
	for _, r := range same {
		if got := NotificationID("e-1", "user-welcome", r); got != base {
			t.Errorf("NotificationID with recipient %q = %q, want %q", r, got, base)
		}
	}
	differ := []struct{ source, template, recipient string }{
		{"e-1", "user-verified", "jane@example.com"},
		{"e-2", "user-welcome", "jane@example.com"},
		{"e-1", "user-welcome", "john@example.com"},
		// The separator keeps parts from running into each other.
		{"e-1user-welcome", "", "jane@example.com"},
	}
	seen := map[string]bool{base: true}
	for _, d := range differ {
		got := NotificationID(d.source, d.template, d.recipient)
		if seen[got] {
			t.Errorf("NotificationID(%q, %q, %q) = %q collides", d.source, d.template, d.recipient, got)
		}
		seen[got] = true
	}
}
