// Package templates decides which notifications a catalog event causes (template, channel,
// recipient) and renders a notification request into a message. Rendering reads the source
// event and the rows it is about as they are when it runs (a receipt resent after a refund
// carries the refund note); the message keeps the notification's id, so a retried send is
// still one message to the outbox and to mail servers.
package templates

import (
	"bytes"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"strings"
	"text/template"
	"time"

	"github.com/smartautocheck/smartautocheck/codecs"
	"github.com/smartautocheck/smartautocheck/internal/centers"
	"github.com/smartautocheck/smartautocheck/internal/documents"
	"github.com/smartautocheck/smartautocheck/internal/mail"
	"github.com/smartautocheck/smartautocheck/internal/signed"
	"github.com/smartautocheck/smartautocheck/tables"
)

// Template names, as they appear in notification events.
const (
	UserWelcome          = "user-welcome"
	UserVerified         = "user-verified"
	FailedAlert          = "notification-failed-alert"
	AppointmentBooked    = "appointment-booked"
	AppointmentConfirmed = "appointment-confirmation"
	InspectorAssignment  = "inspector-assignment"
	AppointmentReminder  = "appointment-reminder"
	PaymentReceipt       = "payment-receipt"
	PaymentFailed        = "payment-failed"
	AppointmentCancelled = "appointment-cancelled"
	PaymentRefunded      = "payment-refunded"
	VehicleArrived       = "vehicle-arrived"
	channelEmail         = string(mail.Email)
	templateFiles        = "files/*.tmpl"
)

//go:embed files/*.tmpl
var files embed.FS

// parsed holds one template set per file: each file defines its own "subject" and "text".
var parsed = parseAll()

func parseAll() map[string]*template.Template {
	names, err := fs.Glob(files, templateFiles)
	if err != nil {
		panic(err)
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".tmpl")
		out[name] = template.Must(template.New(name).Option("missingkey=error").ParseFS(files, n))
	}
	return out
}

// ErrNotYet means a record a notification needs is not visible yet (a view a moment behind the
// event): a retry a little later succeeds, unlike a template that can never render.
var ErrNotYet = errors.New("a record the notification needs is not visible yet")

// Records are the reads notifications need besides their source event: who the customer is,
// the appointment an event is about, its payment.
type Records struct {
	Users        func(id string) (tables.User, bool, error)
	Appointments func(id string) (tables.Appointment, bool, error)
	Payments     func(id string) (tables.Payments, bool, error)
	Centers      *centers.Catalog
}

func (r Records) user(id string) (tables.User, error) {
	u, ok, err := r.Users(id)
	if err == nil && !ok {
		err = fmt.Errorf("user %s: %w", id, ErrNotYet)
	}
	return u, err
}

func (r Records) appointment(id string) (tables.Appointment, error) {
	a, ok, err := r.Appointments(id)
	if err == nil && !ok {
		err = fmt.Errorf("appointment %s: %w", id, ErrNotYet)
	}
	return a, err
}

// Target is one notification an event causes.
type Target struct {
	Template, Channel, Recipient string
}

// Targets lists the notifications an event causes (DOMAIN.md's table). key is the record's key,
// which names the appointment of events whose payload does not.
func (r Records) Targets(ev codecs.Event, key string) ([]Target, error) {
	customer := func(template, appointmentID string) ([]Target, error) {
		a, err := r.appointment(appointmentID)
		if err != nil {
			return nil, err
		}
		return []Target{{template, channelEmail, a.CustomerEmail}}, nil
	}
	inspector := func(template, appointmentID string) ([]Target, error) {
		a, err := r.appointment(appointmentID)
		if err != nil || a.InspectorID == nil {
			return nil, err
		}
		u, err := r.user(*a.InspectorID)
		if err != nil {
			return nil, err
		}
		return []Target{{template, channelEmail, u.Email}}, nil
	}
	switch d := ev.Payload.(type) {
	case codecs.UserRegistered:
		// Accounts an admin creates are verified at once: only customers get the link.
		if d.Role != tables.RoleCustomer {
			return nil, nil
		}
		return []Target{{UserWelcome, channelEmail, d.Email}}, nil
	case codecs.UserVerified:
		return []Target{{UserVerified, channelEmail, d.Email}}, nil
	case codecs.AppointmentCreated:
		u, err := r.user(d.CustomerID)
		if err != nil {
			return nil, err
		}
		return []Target{{AppointmentBooked, channelEmail, u.Email}}, nil
	case codecs.AppointmentConfirmed:
		out, err := customer(AppointmentConfirmed, d.AppointmentID)
		if err != nil {
			return nil, err
		}
		more, err := inspector(InspectorAssignment, d.AppointmentID)
		return append(out, more...), err
	case codecs.AppointmentCancelled:
		return customer(AppointmentCancelled, d.AppointmentID)
	case codecs.AppointmentCheckedIn:
		return inspector(VehicleArrived, d.AppointmentID)
	case codecs.PaymentCompleted:
		return customer(PaymentReceipt, d.AppointmentID)
	case codecs.PaymentFailed:
		return customer(PaymentFailed, d.AppointmentID)
	case codecs.PaymentRefunded:
		return customer(PaymentRefunded, key)
	}
	return nil, nil
}

// Requests turns an event into the notification requests it causes, each with its stable id.
func (r Records) Requests(ev codecs.Event, key string, raw []byte) ([]tables.NotificationRequest, error) {
	targets, err := r.Targets(ev, key)
	if err != nil {
		return nil, err
	}
	var out []tables.NotificationRequest
	for _, t := range targets {
		out = append(out, tables.NotificationRequest{
			NotificationID: tables.NotificationID(ev.EventID, t.Template, t.Recipient),
			Template:       t.Template, Channel: t.Channel, Recipient: t.Recipient,
			SourceEventID: ev.EventID, SourceEventType: ev.EventType, SourceKey: key, Source: json.RawMessage(raw),
		})
	}
	return out, nil
}

// Env is what rendering needs besides the request.
type Env struct {
	// BaseURL is where links in messages point, e.g. http://127.0.0.1:8080.
	BaseURL string
	// From is the sender address of emails.
	From    string
	Signer  signed.Signer
	Records Records
}

// Render makes the message of a request. An error wrapping ErrNotYet may pass with a retry;
// any other means the request can never be rendered (unknown template, unreadable source).
func (e Env) Render(r tables.NotificationRequest) (mail.Message, error) {
	data, attach, err := e.data(r)
	if err != nil {
		return mail.Message{}, err
	}
	subject, err := execute(r.Template, "subject", data)
	if err != nil {
		return mail.Message{}, err
	}
	text, err := execute(r.Template, "text", data)
	if err != nil {
		return mail.Message{}, err
	}
	return mail.Message{ID: r.NotificationID, Channel: mail.Channel(r.Channel), From: e.From, To: r.Recipient,
		Subject: strings.TrimSpace(subject), Text: strings.TrimLeft(text, "\n"), Attachments: attach}, nil
}

// data is what a template sees — the source event's payload, the appointment it is about, the
// links made for it — and the files attached to the message.
func (e Env) data(r tables.NotificationRequest) (map[string]any, []mail.Attachment, error) {
	switch r.Template {
	case FailedAlert:
		var failed tables.Notification
		if err := json.Unmarshal(r.Source, &failed); err != nil {
			return nil, nil, fmt.Errorf("alert source: %w", err)
		}
		return map[string]any{"Failed": failed}, nil, nil
	case AppointmentReminder:
		var a tables.Appointment
		if err := json.Unmarshal(r.Source, &a); err != nil {
			return nil, nil, fmt.Errorf("reminder source: %w", err)
		}
		return map[string]any{"Appointment": a, "Center": e.Records.Centers.NameOf(a.CenterID)}, nil, nil
	}
	ev, err := codecs.Decode(r.Source)
	if err != nil {
		return nil, nil, fmt.Errorf("source event of %s: %w", r.NotificationID, err)
	}
	d := map[string]any{"Event": ev.Payload, "Envelope": ev.Envelope}
	var attach []mail.Attachment
	switch p := ev.Payload.(type) {
	case codecs.UserRegistered:
		tok, err := e.Signer.VerifyEmailToken(p.UserID, p.Email)
		if err != nil {
			return nil, nil, err
		}
		d["VerifyURL"] = strings.TrimRight(e.BaseURL, "/") + "/v1/auth/verify?token=" + url.QueryEscape(tok)
		return d, nil, nil
	case codecs.UserVerified:
		return d, nil, nil
	case codecs.AppointmentCreated:
		png, err := base64.StdEncoding.DecodeString(p.QRCode)
		if err != nil {
			return nil, nil, fmt.Errorf("qrCode of %s: %w", p.AppointmentID, err)
		}
		attach = append(attach, mail.Attachment{Name: "appointment-qr.png", ContentType: "image/png", Data: png})
	case codecs.PaymentCompleted:
		pdf, err := e.invoice(p.AppointmentID)
		if err != nil {
			return nil, nil, err
		}
		attach = append(attach, mail.Attachment{Name: "invoice.pdf", ContentType: "application/pdf", Data: pdf})
	}
	a, err := e.Records.appointment(r.SourceKey)
	if err != nil {
		return nil, nil, err
	}
	if a.Status == tables.ApptRequested || a.HoldExpiresAt.IsZero() {
		return nil, nil, fmt.Errorf("appointment %s still being booked: %w", a.AppointmentID, ErrNotYet)
	}
	d["Appointment"], d["Center"] = a, e.Records.Centers.NameOf(a.CenterID)
	d["Hold"] = holdText(a.Hold)
	return d, attach, nil
}

// invoice renders the invoice of an appointment's completed payment.
func (e Env) invoice(appointmentID string) ([]byte, error) {
	a, err := e.Records.appointment(appointmentID)
	if err != nil {
		return nil, err
	}
	ps, _, err := e.Records.Payments(appointmentID)
	if err != nil {
		return nil, err
	}
	if ps.Completed == "" {
		return nil, fmt.Errorf("payment of %s: %w", appointmentID, ErrNotYet)
	}
	return documents.InvoicePDF(documents.InvoiceFor(a, *ps.ByID(ps.Completed), e.Records.Centers.NameOf(a.CenterID)))
}

func execute(tmpl, block string, data any) (string, error) {
	t, ok := parsed[tmpl]
	if !ok {
		return "", fmt.Errorf("unknown template %q", tmpl)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, block, data); err != nil {
		return "", fmt.Errorf("template %s/%s: %w", tmpl, block, err)
	}
	return buf.String(), nil
}

// holdText says a payment window the way people do: "15 minutes", "1 hour 30 minutes".
func holdText(d time.Duration) string {
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	var parts []string
	for _, p := range []struct {
		n    int
		unit string
	}{{h, "hour"}, {m, "minute"}, {s, "second"}} {
		switch {
		case p.n == 1:
			parts = append(parts, "1 "+p.unit)
		case p.n > 1:
			parts = append(parts, fmt.Sprintf("%d %ss", p.n, p.unit))
		}
	}
	return strings.Join(parts, " ")
}
