// Package mail delivers SmartAutoCheck notifications (emails and SMS).
//
// The default provider is a file outbox so that a fresh installation can
// notify without any external account: another process (or a human) picks
// the files up. When an SMTP URL is configured, emails go out over SMTP
// instead. Sending runs in a worker that is retried after crashes, so every
// provider treats Message.ID as an idempotency key: delivering the same ID
// twice must not produce two different notifications.
package mail

import (
	"context"
	"errors"
	"fmt"
	"net/textproto"
	"regexp"
	"strings"
	"time"
)

// Channel selects how a notification reaches its recipient.
type Channel string

// Supported channels.
const (
	Email Channel = "email"
	SMS   Channel = "sms"
)

// Attachment is a file sent along with an email.
type Attachment struct {
	Name        string // file name shown to the recipient; required
	ContentType string // MIME type; empty means application/octet-stream
	Data        []byte
}

// Message is one notification ready to send.
type Message struct {
	ID          string  // stable notification id; the same ID is the same message (idempotency)
	Channel     Channel // Email or SMS; other values are rejected with ErrUnsupportedChannel
	From        string  // email sender address (ignored for SMS)
	To          string  // email address or E.164 phone number
	Subject     string  // emails only
	Text        string  // plain-text body (emails and SMS)
	HTML        string  // optional HTML alternative (emails)
	Attachments []Attachment
	Date        time.Time // zero means "now"; set it to make Compose reproducible
}

// Provider delivers messages.
//
// Send returns the provider's message id. Both built-in providers return the
// RFC 5322 Message-ID derived from Message.ID ("<ID@smartautocheck>"), so the
// value is the same on every retry and can be stored before the send is
// confirmed. Errors can be classified with Permanent.
type Provider interface {
	Name() string // "outbox" or "smtp"; for logs and metrics
	Send(ctx context.Context, m Message) (providerMessageID string, err error)
}

// ErrUnsupportedChannel is wrapped by errors for messages a provider cannot
// carry at all (for example an SMS handed to SMTP). Retrying never helps, so
// Permanent reports true for it.
var ErrUnsupportedChannel = errors.New("mail: unsupported channel")

// ErrInvalidMessage is wrapped by errors for messages that can never be sent
// as they are (bad ID, malformed address, header injection attempt, ...).
// Permanent reports true for it.
var ErrInvalidMessage = errors.New("mail: invalid message")

// Permanent reports whether retrying err is pointless, so the worker can give
// up on a notification instead of retrying it forever. It is true for invalid
// messages, unsupported channels and SMTP 5xx replies (e.g. "550 no such
// user"), and false for everything else: network failures, timeouts,
// cancellations and SMTP 4xx replies may succeed later.
//
// Every SMTP 5xx reply counts as permanent, including those about the
// configuration rather than the message (such as "535 authentication
// failed"), because the server has said it will not accept the message as
// things stand.
func Permanent(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrUnsupportedChannel) || errors.Is(err, ErrInvalidMessage) {
		return true
	}
	var tp *textproto.Error
	if errors.As(err, &tp) {
		return tp.Code >= 500 && tp.Code <= 599
	}
	return false
}

// Router sends emails through one provider and SMS through another (e.g. SMTP
// for emails, the outbox for SMS), so callers need a single Provider whatever
// the configuration. A nil provider makes its channel unsupported.
func Router(email, sms Provider) Provider {
	return &router{email: email, sms: sms}
}

type router struct {
	email, sms Provider
}

// Name reports the email provider because that is the one configuration
// choice that varies (SMS always land in the outbox).
func (r *router) Name() string {
	switch {
	case r.email != nil:
		return r.email.Name()
	case r.sms != nil:
		return r.sms.Name()
	}
	return "none"
}

func (r *router) Send(ctx context.Context, m Message) (string, error) {
	var p Provider
	switch m.Channel {
	case Email:
		p = r.email
	case SMS:
		p = r.sms
	}
	if p == nil {
		return "", fmt.Errorf("mail: no provider for channel %q: %w", m.Channel, ErrUnsupportedChannel)
	}
	return p.Send(ctx, m)
}

// idDomain is the right-hand side of generated Message-IDs. It is fixed (not
// the host name) so that the Message-ID depends on nothing but Message.ID and
// a redelivery from another machine is still recognised as a duplicate.
const idDomain = "smartautocheck"

// maxIDLen keeps file names and the Message-ID header line well inside
// file-system and RFC 5322 line limits.
const maxIDLen = 200

// validateID rejects IDs instead of mapping them to safe characters: a
// mapping could turn two different IDs into the same file name or
// Message-ID, and the second notification would then be silently dropped as
// a "duplicate".
func validateID(id string) error {
	if id == "" {
		return fmt.Errorf("%w: empty ID", ErrInvalidMessage)
	}
	if len(id) > maxIDLen {
		return fmt.Errorf("%w: ID longer than %d bytes", ErrInvalidMessage, maxIDLen)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("%w: ID %q may only contain A-Z a-z 0-9 . _ -", ErrInvalidMessage, id)
		}
	}
	// Leading dots would make hidden files (and clash with our temp files);
	// leading/trailing/double dots are not a valid Message-ID dot-atom.
	if id[0] == '.' || id[len(id)-1] == '.' || strings.Contains(id, "..") {
		return fmt.Errorf("%w: ID %q must not start or end with a dot or contain \"..\"", ErrInvalidMessage, id)
	}
	return nil
}

// messageID is the RFC 5322 Message-ID for a (validated) notification ID.
func messageID(id string) string {
	return "<" + id + "@" + idDomain + ">"
}

// e164 matches an E.164 number: "+", country code not starting with 0, at
// most 15 digits in total.
var e164 = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)

func validatePhone(to string) error {
	if !e164.MatchString(to) {
		return fmt.Errorf("%w: SMS recipient %q is not an E.164 number like +491701234567", ErrInvalidMessage, to)
	}
	return nil
}

func messageDate(m Message) time.Time {
	if m.Date.IsZero() {
		return time.Now()
	}
	return m.Date
}

// dateFormat is the RFC 5322 date-time layout.
const dateFormat = time.RFC1123Z
