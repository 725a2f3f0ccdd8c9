package mail

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
	"time"
)

var testDate = time.Date(2025, 3, 14, 9, 26, 53, 0, time.FixedZone("CET", 3600))

const testText = "Hallo Frau Müller,\n\nIhr Fahrzeug B-SA 1234 ist fertig. Kosten: 120 € (inkl. 19% MwSt = 19,16 €).\n" +
	".this line starts with a dot and must survive SMTP dot-stuffing\n" +
	"A very long line that is definitely longer than seventy-six characters so quoted-printable must soft-break it.\n" +
	"trailing spaces   \n" +
	"Grüße, Ihr SmartAutoCheck-Team"

func testMessage() Message {
	return Message{
		ID:      "notif-01J8Z3K9X2.abc_DEF",
		Channel: Email,
		From:    "SmartAutoCheck <noreply@example.com>",
		To:      "kunde@example.org",
		Subject: "Ihr Prüfbericht ist fertig",
		Text:    testText,
		Date:    testDate,
	}
}

func binaryData(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i * 7)
	}
	return b
}

type decodedAttachment struct {
	name, mediaType string
	data            []byte
}

type decoded struct {
	text, html  string
	attachments []decodedAttachment
	structure   []string // media types in document order
}

// decodeEntity walks a MIME entity the way a mail client would.
func decodeEntity(t *testing.T, d *decoded, contentType, encoding, disposition string, body io.Reader) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		t.Fatalf("Content-Type %q: %v", contentType, err)
	}
	d.structure = append(d.structure, mt)
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextPart() // decodes quoted-printable itself
			if err == io.EOF {
				return
			}
			if err != nil {
				t.Fatalf("multipart %s: %v", mt, err)
			}
			decodeEntity(t, d, p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p.Header.Get("Content-Disposition"), p)
		}
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	if disposition != "" {
		dt, dparams, err := mime.ParseMediaType(disposition)
		if err != nil || dt != "attachment" {
			t.Fatalf("Content-Disposition %q: %v", disposition, err)
		}
		if encoding != "base64" {
			t.Fatalf("attachment encoding %q, want base64", encoding)
		}
		data, err := base64.StdEncoding.DecodeString(strings.NewReplacer("\r", "", "\n", "").Replace(string(raw)))
		if err != nil {
			t.Fatalf("attachment base64: %v", err)
		}
		d.attachments = append(d.attachments, decodedAttachment{name: dparams["filename"], mediaType: mt, data: data})
		return
	}
	if params["charset"] != "utf-8" {
		t.Errorf("%s charset %q, want utf-8", mt, params["charset"])
	}
	if encoding == "quoted-printable" { // only set for the top-level entity
		raw, err = io.ReadAll(quotedprintable.NewReader(bytes.NewReader(raw)))
		if err != nil {
			t.Fatal(err)
		}
	}
	s := strings.TrimSuffix(strings.ReplaceAll(string(raw), "\r\n", "\n"), "\n")
	switch mt {
	case "text/plain":
		d.text = s
	case "text/html":
		d.html = s
	default:
		t.Fatalf("unexpected leaf %s", mt)
	}
}

func parseComposed(t *testing.T, raw []byte) (*mail.Message, decoded) {
	t.Helper()
	checkCRLF(t, raw)
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("net/mail cannot parse composed message: %v\n%s", err, raw)
	}
	if v := msg.Header.Get("MIME-Version"); v != "1.0" {
		t.Errorf("MIME-Version = %q", v)
	}
	var d decoded
	decodeEntity(t, &d, msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), "", msg.Body)
	return msg, d
}

// checkCRLF asserts that every line ends in CRLF and respects RFC 5322's
// line length limits (78 recommended for headers we fold, 998 hard).
func checkCRLF(t *testing.T, raw []byte) {
	t.Helper()
	if !bytes.HasSuffix(raw, []byte("\r\n")) {
		t.Errorf("message does not end with CRLF")
	}
	inHeader := true
	for i, line := range bytes.Split(raw, []byte("\n")) {
		if i == bytes.Count(raw, []byte("\n")) {
			break // after the final newline
		}
		if !bytes.HasSuffix(line, []byte("\r")) {
			t.Fatalf("line %d has a bare LF: %q", i+1, line)
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if bytes.ContainsRune(line, '\r') {
			t.Fatalf("line %d has a bare CR: %q", i+1, line)
		}
		if len(line) > 998 {
			t.Fatalf("line %d is %d bytes long", i+1, len(line))
		}
		if len(line) == 0 {
			inHeader = false
		}
		if inHeader && len(line) > 78 {
			t.Errorf("header line %d not folded (%d bytes): %q", i+1, len(line), line)
		}
	}
}

func TestComposeRoundTrip(t *testing.T) {
	pdf := binaryData(5000)
	tests := []struct {
		name        string
		html        string
		attachments []Attachment
		structure   []string
	}{
		{name: "text only", structure: []string{"text/plain"}},
		{
			name:      "with HTML",
			html:      "<p>Hallo Frau <b>Müller</b>,</p>\n<p>Ihr Fahrzeug ist fertig.</p>",
			structure: []string{"multipart/alternative", "text/plain", "text/html"},
		},
		{
			name: "with attachments",
			attachments: []Attachment{
				{Name: "Prüfbericht März.pdf", ContentType: "application/pdf", Data: pdf},
				{Name: "empty.bin", Data: nil},
			},
			structure: []string{"multipart/mixed", "text/plain", "application/pdf", "application/octet-stream"},
		},
		{
			name:        "with HTML and attachment",
			html:        "<p>see attachment</p>",
			attachments: []Attachment{{Name: "photo.jpg", ContentType: "image/jpeg", Data: binaryData(77)}},
			structure:   []string{"multipart/mixed", "multipart/alternative", "text/plain", "text/html", "image/jpeg"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := testMessage()
			m.HTML = tt.html
			m.Attachments = tt.attachments
			raw, err := Compose(m)
			if err != nil {
				t.Fatal(err)
			}
			msg, d := parseComposed(t, raw)

			from, err := msg.Header.AddressList("From")
			if err != nil || len(from) != 1 || from[0].Address != "noreply@example.com" || from[0].Name != "SmartAutoCheck" {
				t.Errorf("From = %v, %v", from, err)
			}
			to, err := msg.Header.AddressList("To")
			if err != nil || len(to) != 1 || to[0].Address != "kunde@example.org" {
				t.Errorf("To = %v, %v", to, err)
			}
			if got := msg.Header.Get("Message-ID"); got != "<notif-01J8Z3K9X2.abc_DEF@smartautocheck>" {
				t.Errorf("Message-ID = %q", got)
			}
			if date, err := msg.Header.Date(); err != nil || !date.Equal(testDate) {
				t.Errorf("Date = %v, %v; want %v", date, err, testDate)
			}
			subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
			if err != nil || subject != m.Subject {
				t.Errorf("Subject = %q, %v; want %q", subject, err, m.Subject)
			}

			if strings.Join(d.structure, " ") != strings.Join(tt.structure, " ") {
				t.Errorf("structure = %v, want %v", d.structure, tt.structure)
			}
			if d.text != testText {
				t.Errorf("text body = %q\nwant %q", d.text, testText)
			}
			if d.html != tt.html {
				t.Errorf("HTML body = %q, want %q", d.html, tt.html)
			}
			if len(d.attachments) != len(tt.attachments) {
				t.Fatalf("got %d attachments, want %d", len(d.attachments), len(tt.attachments))
			}
			for i, a := range tt.attachments {
				got := d.attachments[i]
				if got.name != a.Name {
					t.Errorf("attachment %d name = %q, want %q", i, got.name, a.Name)
				}
				if !bytes.Equal(got.data, a.Data) {
					t.Errorf("attachment %d data differs after base64 decoding (%d vs %d bytes)", i, len(got.data), len(a.Data))
				}
			}

			again, err := Compose(m)
			if err != nil || !bytes.Equal(again, raw) {
				t.Errorf("Compose is not deterministic for a fixed Date")
			}
		})
	}
}

func TestComposeSubjects(t *testing.T) {
	tests := []struct{ name, subject string }{
		{"ascii", "Your report is ready"},
		{"empty", ""},
		{"umlauts", "Ihr Prüfbericht für B-SA 1234 ist fertig – Grüße"},
		{"cjk and emoji", "車検の結果 🚗✅"},
		{"long ascii", strings.TrimSpace(strings.Repeat("Inspection report ready ", 30))},
		{"long non-ascii", strings.TrimSpace(strings.Repeat("Prüfbericht für Ihr Fahrzeug ", 20))},
		{"control characters", "tab\there bell\a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := testMessage()
			m.Subject = tt.subject
			raw, err := Compose(m)
			if err != nil {
				t.Fatal(err)
			}
			msg, _ := parseComposed(t, raw)
			got, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.subject {
				t.Errorf("Subject round trip = %q, want %q", got, tt.subject)
			}
		})
	}
}

func TestComposeRejects(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*Message)
		wantErr error
	}{
		{"CRLF in From", func(m *Message) { m.From = "a@example.com\r\nBcc: victim@example.net" }, ErrInvalidMessage},
		{"LF in To", func(m *Message) { m.To = "a@example.com\nBcc: victim@example.net" }, ErrInvalidMessage},
		{"CR in Subject", func(m *Message) { m.Subject = "hi\rBcc: victim@example.net" }, ErrInvalidMessage},
		{"LF in Subject", func(m *Message) { m.Subject = "hi\n\n<html>spoofed body" }, ErrInvalidMessage},
		{"CRLF in attachment name", func(m *Message) {
			m.Attachments = []Attachment{{Name: "a.txt\r\nContent-Type: text/html", Data: []byte("x")}}
		}, ErrInvalidMessage},
		{"CRLF in attachment type", func(m *Message) {
			m.Attachments = []Attachment{{Name: "a.txt", ContentType: "text/plain\r\nX-Evil: 1", Data: []byte("x")}}
		}, ErrInvalidMessage},
		{"bad attachment type", func(m *Message) { m.Attachments = []Attachment{{Name: "a", ContentType: "not a type"}} }, ErrInvalidMessage},
		{"unnamed attachment", func(m *Message) { m.Attachments = []Attachment{{Data: []byte("x")}} }, ErrInvalidMessage},
		{"empty From", func(m *Message) { m.From = "" }, ErrInvalidMessage},
		{"bad To", func(m *Message) { m.To = "not an address" }, ErrInvalidMessage},
		{"two recipients", func(m *Message) { m.To = "a@example.com, b@example.com" }, ErrInvalidMessage},
		{"empty ID", func(m *Message) { m.ID = "" }, ErrInvalidMessage},
		{"ID with @", func(m *Message) { m.ID = "x@evil>" }, ErrInvalidMessage},
		{"ID with CRLF", func(m *Message) { m.ID = "x\r\nBcc: a@b.c" }, ErrInvalidMessage},
		{"SMS channel", func(m *Message) { m.Channel = SMS }, ErrUnsupportedChannel},
		{"empty channel", func(m *Message) { m.Channel = "" }, ErrUnsupportedChannel},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := testMessage()
			tt.mutate(&m)
			raw, err := Compose(m)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Compose error = %v, want %v (output %q)", err, tt.wantErr, raw)
			}
			if !Permanent(err) {
				t.Errorf("Permanent(%v) = false, want true", err)
			}
		})
	}
}

func TestFold(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Subject: short", "Subject: short"},
		{"Subject: " + strings.Repeat("x", 100), "Subject:\r\n " + strings.Repeat("x", 100)}, // too long anyway
		{"Subject: =?utf-8?q?" + strings.Repeat("=C3=BC", 9) + "?= =?utf-8?q?x?=", "Subject: =?utf-8?q?" + strings.Repeat("=C3=BC", 9) + "?=\r\n =?utf-8?q?x?="},
		{"Subject: =?utf-8?q?" + strings.Repeat("=C3=BC", 10) + "?=", "Subject:\r\n =?utf-8?q?" + strings.Repeat("=C3=BC", 10) + "?="},
		{"Subject: " + strings.Repeat("abcd ", 20), "Subject: abcd abcd abcd abcd abcd abcd abcd abcd abcd abcd abcd abcd abcd abcd\r\n abcd abcd abcd abcd abcd abcd "},
		{"Subject: " + strings.Repeat("y", 90) + " tail", "Subject:\r\n " + strings.Repeat("y", 90) + "\r\n tail"},
	}
	for _, tt := range tests {
		if got := fold(tt.in); got != tt.want {
			t.Errorf("fold(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}
