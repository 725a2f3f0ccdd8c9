package tables

import (
	"encoding/json"
	"time"
)

// Notification statuses.
const (
	NotificationPending = "pending"
	NotificationSent    = "sent"
	NotificationFailed  = "failed"
)

// NotificationRequest asks for one message: a template, for one recipient, because of one
// source event. Its id is derived from those three, so the same request made twice (a redelivered
// event) is recognised as one.
type NotificationRequest struct {
	NotificationID  string `json:"notificationId"`
	Template        string `json:"template"`
	Channel         string `json:"channel"`
	Recipient       string `json:"recipient"`
	SourceEventID   string `json:"sourceEventId"`
	SourceEventType string `json:"sourceEventType"`
	// SourceKey is the source record's key (the appointment, for appointment and payment events).
	SourceKey string          `json:"sourceKey,omitempty"`
	Source    json.RawMessage `json:"source"`
	// Attempt is the attempt an intent is for (a retry's is 2 and up; zero means the first).
	Attempt int `json:"attempt,omitempty"`
}

// Notification is a row of the notifications table, keyed by notificationId.
type Notification struct {
	NotificationRequest
	Status            string     `json:"status"`
	Attempts          int        `json:"attempts"`
	Subject           string     `json:"subject,omitempty"`
	Provider          string     `json:"provider,omitempty"`
	ProviderMessageID string     `json:"providerMessageId,omitempty"`
	LastError         string     `json:"lastError,omitempty"`
	RequestedAt       time.Time  `json:"requestedAt"`
	SentAt            *time.Time `json:"sentAt,omitempty"`
	FailedAt          *time.Time `json:"failedAt,omitempty"`
	Journaled
}

// NotificationCommand is a command of the notifications processor; exactly one field is set.
type NotificationCommand struct {
	Request *NotificationRequest `json:"request,omitempty"`
	Sent    *SendSucceeded       `json:"sent,omitempty"`
	Failed  *SendFailed          `json:"failed,omitempty"`
}

// SendSucceeded is the sender's report of a delivered message.
type SendSucceeded struct {
	NotificationID    string    `json:"notificationId"`
	Subject           string    `json:"subject"`
	Provider          string    `json:"provider"`
	ProviderMessageID string    `json:"providerMessageId"`
	At                time.Time `json:"at"`
}

// SendFailed is the sender's report of one failed attempt.
type SendFailed struct {
	NotificationID string    `json:"notificationId"`
	Attempt        int       `json:"attempt"`
	Error          string    `json:"error"`
	Permanent      bool      `json:"permanent"`
	At             time.Time `json:"at"`
}

// NotificationChange is what applying a command decided.
type NotificationChange struct {
	Row *Notification
	// Intent: hand the request to the sender. Sent / Failed: emit the catalog event.
	Intent, Sent, Failed bool
	// GaveUp: the notification failed for good; the admin is told.
	GaveUp bool
	// Retry: the next attempt is due at RetryAt.
	Retry   bool
	RetryAt time.Time
}

// Request records a new notification; one already known (same id) changes nothing, which is
// what makes redelivered source events send nothing twice.
func Request(cur *Notification, r NotificationRequest, now time.Time) NotificationChange {
	if cur != nil {
		return NotificationChange{}
	}
	return NotificationChange{Row: &Notification{NotificationRequest: r, Status: NotificationPending, RequestedAt: now}, Intent: true}
}

// Delivered records a delivery of a pending notification.
func Delivered(cur *Notification, s SendSucceeded) NotificationChange {
	if cur == nil || cur.Status != NotificationPending {
		return NotificationChange{}
	}
	n := *cur
	at := s.At
	n.Status, n.Subject, n.Provider, n.ProviderMessageID, n.SentAt = NotificationSent, s.Subject, s.Provider, s.ProviderMessageID, &at
	return NotificationChange{Row: &n, Sent: true}
}

// FailedAttempt records a failed attempt. Reports are numbered, so one reported twice counts
// once. After maxAttempts attempts, or a failure no retry can fix, the notification has failed
// for good; before that the next attempt comes after backoff, doubled after each failure
// (1 s, 2 s, 4 s with a 1 s backoff).
func FailedAttempt(cur *Notification, f SendFailed, maxAttempts int, backoff time.Duration) NotificationChange {
	if cur == nil || cur.Status != NotificationPending || f.Attempt <= cur.Attempts {
		return NotificationChange{}
	}
	n := *cur
	n.Attempts, n.LastError = f.Attempt, f.Error
	ch := NotificationChange{Row: &n, Failed: true}
	if f.Permanent || f.Attempt >= maxAttempts {
		at := f.At
		n.Status, n.FailedAt = NotificationFailed, &at
		ch.GaveUp = true
		return ch
	}
	ch.Retry, ch.RetryAt = true, f.At.Add(backoff<<(f.Attempt-1))
	return ch
}

// NotificationID is the id of the one notification a source event, a template and a recipient
// make, so every instance and every redelivery derives the same one.
func NotificationID(sourceEventID, template, recipient string) string {
	return NameID(sourceEventID, template, NormalizeEmail(recipient))
}
