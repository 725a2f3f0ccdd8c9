// Package templates decides which notifications a catalog event causes (template, channel,
// recipient) and renders a notification request into a message. Rendering is pure: the same
// request always gives the same message, so a retried send is the same send.
package templates

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"strings"
	"text/template"

	"github.com/smartautocheck/smartautocheck/codecs"
	"github.com/smartautocheck/smartautocheck/internal/mail"
	"github.com/smartautocheck/smartautocheck/internal/signed"
	"github.com/smartautocheck/smartautocheck/tables"
)

// Template names, as they appear in notification events.
const (
	UserWelcome   = "user-welcome"
	UserVerified  = "user-verified"
	FailedAlert   = "notification-failed-alert"
	channelEmail  = string(mail.Email)
	templateFiles = "files/*.tmpl"
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

// Target is one notification an event causes.
type Target struct {
	Template, Channel, Recipient string
}

// Targets lists the notifications an event causes; most events cause none yet.
func Targets(ev codecs.Event) []Target {
	switch d := ev.Payload.(type) {
	case codecs.UserRegistered:
		// Accounts an admin creates are verified at once: only customers get the link.
		if d.Role != tables.RoleCustomer {
			return nil
		}
		return []Target{{UserWelcome, channelEmail, d.Email}}
	case codecs.UserVerified:
		return []Target{{UserVerified, channelEmail, d.Email}}
	}
	return nil
}

// Requests turns an event into the notification requests it causes, each with its stable id.
func Requests(ev codecs.Event, raw []byte) []tables.NotificationRequest {
	var out []tables.NotificationRequest
	for _, t := range Targets(ev) {
		out = append(out, tables.NotificationRequest{
			NotificationID: tables.NotificationID(ev.EventID, t.Template, t.Recipient),
			Template:       t.Template, Channel: t.Channel, Recipient: t.Recipient,
			SourceEventID: ev.EventID, SourceEventType: ev.EventType, Source: json.RawMessage(raw),
		})
	}
	return out
}

// Env is what rendering needs besides the request.
type Env struct {
	// BaseURL is where links in messages point, e.g. http://127.0.0.1:8080.
	BaseURL string
	// From is the sender address of emails.
	From   string
	Signer signed.Signer
}

// Render makes the message of a request. An error means the request can never be rendered
// (unknown template, unreadable source), which no retry fixes.
func (e Env) Render(r tables.NotificationRequest) (mail.Message, error) {
	data, err := e.data(r)
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
		Subject: strings.TrimSpace(subject), Text: strings.TrimLeft(text, "\n")}, nil
}

// data is what a template sees: the source event's payload and the links made for it.
func (e Env) data(r tables.NotificationRequest) (map[string]any, error) {
	if r.Template == FailedAlert {
		var failed tables.Notification
		if err := json.Unmarshal(r.Source, &failed); err != nil {
			return nil, fmt.Errorf("alert source: %w", err)
		}
		return map[string]any{"Failed": failed}, nil
	}
	ev, err := codecs.Decode(r.Source)
	if err != nil {
		return nil, fmt.Errorf("source event of %s: %w", r.NotificationID, err)
	}
	d := map[string]any{"Event": ev.Payload, "Envelope": ev.Envelope}
	if u, ok := ev.Payload.(codecs.UserRegistered); ok {
		tok, err := e.Signer.VerifyEmailToken(u.UserID, u.Email)
		if err != nil {
			return nil, err
		}
		d["VerifyURL"] = strings.TrimRight(e.BaseURL, "/") + "/v1/auth/verify?token=" + url.QueryEscape(tok)
	}
	return d, nil
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
