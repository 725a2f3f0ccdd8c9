package mail

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
)

// Compose renders an email Message as RFC 5322 bytes with CRLF line endings.
//
// The Message-ID is derived from m.ID so that receivers can drop
// redeliveries of the same notification. MIME boundaries are derived from
// m.ID too, so with a fixed m.Date the output is byte-for-byte reproducible:
// a retried send transmits exactly the same message.
//
// Bodies are quoted-printable and attachments base64 so that the message is
// 7-bit clean and survives any relay. Header values containing CR or LF are
// rejected (not stripped) because they can only come from a bug or an
// injection attempt; such errors, like every other validation error, wrap
// ErrInvalidMessage.
func Compose(m Message) ([]byte, error) {
	if m.Channel != Email {
		return nil, fmt.Errorf("mail: cannot compose a %q message as email: %w", m.Channel, ErrUnsupportedChannel)
	}
	if err := validateID(m.ID); err != nil {
		return nil, err
	}
	from, err := parseAddress("From", m.From)
	if err != nil {
		return nil, err
	}
	to, err := parseAddress("To", m.To)
	if err != nil {
		return nil, err
	}
	if hasCRLF(m.Subject) {
		return nil, fmt.Errorf("%w: Subject contains CR or LF", ErrInvalidMessage)
	}
	body, err := bodyEntity(m)
	if err != nil {
		return nil, err
	}

	var b bytes.Buffer
	writeHeader(&b, "From", from.String())
	writeHeader(&b, "To", to.String())
	writeHeader(&b, "Subject", mime.QEncoding.Encode("utf-8", strings.ToValidUTF8(m.Subject, "\uFFFD")))
	writeHeader(&b, "Date", messageDate(m).Format(dateFormat))
	writeHeader(&b, "Message-ID", messageID(m.ID))
	// Tells vacation responders and similar robots not to answer (RFC 3834).
	writeHeader(&b, "Auto-Submitted", "auto-generated")
	writeHeader(&b, "MIME-Version", "1.0")
	for _, h := range body.headers() {
		writeHeader(&b, h[0], h[1])
	}
	b.WriteString("\r\n")
	if err := body.write(&b); err != nil {
		return nil, err
	}
	// The SMTP DATA terminator needs the message to end at a line boundary;
	// ending it ourselves keeps the bytes on the wire identical to ours.
	if !bytes.HasSuffix(b.Bytes(), []byte("\r\n")) {
		b.WriteString("\r\n")
	}
	return b.Bytes(), nil
}

// parseAddress validates an address header value. Parsing (rather than
// copying the string) also re-encodes non-ASCII display names correctly.
func parseAddress(field, s string) (*mail.Address, error) {
	if hasCRLF(s) {
		return nil, fmt.Errorf("%w: %s contains CR or LF", ErrInvalidMessage, field)
	}
	if s == "" {
		return nil, fmt.Errorf("%w: %s is empty", ErrInvalidMessage, field)
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %s %q: %v", ErrInvalidMessage, field, s, err)
	}
	return a, nil
}

func hasCRLF(s string) bool {
	return strings.ContainsAny(s, "\r\n")
}

// entity is a MIME entity: its content headers plus a writer for its
// already transfer-encoded body. It lets the same code produce a top-level
// body and a nested part.
type entity struct {
	contentType string
	encoding    string // Content-Transfer-Encoding; empty for multiparts
	disposition string
	write       func(w io.Writer) error
}

func (e entity) headers() [][2]string {
	h := [][2]string{{"Content-Type", e.contentType}}
	if e.encoding != "" {
		h = append(h, [2]string{"Content-Transfer-Encoding", e.encoding})
	}
	if e.disposition != "" {
		h = append(h, [2]string{"Content-Disposition", e.disposition})
	}
	return h
}

func (e entity) mimeHeader() textproto.MIMEHeader {
	h := textproto.MIMEHeader{}
	for _, kv := range e.headers() {
		h.Set(kv[0], kv[1])
	}
	return h
}

func bodyEntity(m Message) (entity, error) {
	body := textEntity("text/plain", m.Text)
	if m.HTML != "" {
		body = multipartEntity("alternative", boundary(m.ID, "alt"),
			[]entity{body, textEntity("text/html", m.HTML)})
	}
	if len(m.Attachments) == 0 {
		return body, nil
	}
	parts := []entity{body}
	for i, a := range m.Attachments {
		e, err := attachmentEntity(a)
		if err != nil {
			return entity{}, fmt.Errorf("attachment %d: %w", i, err)
		}
		parts = append(parts, e)
	}
	return multipartEntity("mixed", boundary(m.ID, "mix"), parts), nil
}

func textEntity(mediaType, s string) entity {
	return entity{
		contentType: mime.FormatMediaType(mediaType, map[string]string{"charset": "utf-8"}),
		encoding:    "quoted-printable",
		write: func(w io.Writer) error {
			qw := quotedprintable.NewWriter(w)
			if _, err := io.WriteString(qw, strings.ToValidUTF8(s, "\uFFFD")); err != nil {
				return err
			}
			return qw.Close()
		},
	}
}

// maxAttachmentName bounds the Content-Type/Content-Disposition lines, which
// are not folded.
const maxAttachmentName = 255

func attachmentEntity(a Attachment) (entity, error) {
	if a.Name == "" {
		return entity{}, fmt.Errorf("%w: attachment without a name", ErrInvalidMessage)
	}
	if len(a.Name) > maxAttachmentName {
		return entity{}, fmt.Errorf("%w: attachment name longer than %d bytes", ErrInvalidMessage, maxAttachmentName)
	}
	for _, r := range a.Name {
		if r < ' ' || r == 0x7f {
			return entity{}, fmt.Errorf("%w: attachment name %q contains control characters", ErrInvalidMessage, a.Name)
		}
	}
	ct := a.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	if hasCRLF(ct) {
		return entity{}, fmt.Errorf("%w: attachment content type contains CR or LF", ErrInvalidMessage)
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return entity{}, fmt.Errorf("%w: attachment content type %q: %v", ErrInvalidMessage, ct, err)
	}
	// "name" is obsolete but still what some clients show.
	params["name"] = a.Name
	contentType := mime.FormatMediaType(mt, params)
	disposition := mime.FormatMediaType("attachment", map[string]string{"filename": a.Name})
	if contentType == "" || disposition == "" {
		return entity{}, fmt.Errorf("%w: attachment %q cannot be encoded as %q", ErrInvalidMessage, a.Name, ct)
	}
	data := a.Data
	return entity{
		contentType: contentType,
		encoding:    "base64",
		disposition: disposition,
		write:       func(w io.Writer) error { return writeBase64(w, data) },
	}, nil
}

func multipartEntity(subtype, bnd string, parts []entity) entity {
	return entity{
		contentType: mime.FormatMediaType("multipart/"+subtype, map[string]string{"boundary": bnd}),
		write: func(w io.Writer) error {
			mw := multipart.NewWriter(w)
			if err := mw.SetBoundary(bnd); err != nil {
				return err
			}
			for _, p := range parts {
				pw, err := mw.CreatePart(p.mimeHeader())
				if err != nil {
					return err
				}
				if err := p.write(pw); err != nil {
					return err
				}
			}
			return mw.Close()
		},
	}
}

// boundary derives a MIME boundary from the message ID so Compose is
// deterministic. It starts with "=_", which can never occur in
// quoted-printable or base64 output, so it cannot collide with any content.
func boundary(id, kind string) string {
	sum := sha256.Sum256([]byte(id))
	return "=_" + kind + "_" + hex.EncodeToString(sum[:12])
}

// writeBase64 writes data in 76-character lines as RFC 2045 requires.
func writeBase64(w io.Writer, data []byte) error {
	const lineLen = 76
	enc := base64.StdEncoding.EncodeToString(data)
	var b strings.Builder
	for len(enc) > lineLen {
		b.WriteString(enc[:lineLen])
		b.WriteString("\r\n")
		enc = enc[lineLen:]
	}
	b.WriteString(enc)
	_, err := io.WriteString(w, b.String())
	return err
}

// writeHeader writes one header field, folded at spaces so lines stay near
// the recommended 78 characters and always under the hard 998 limit (long
// subjects become many encoded-words separated by spaces).
func writeHeader(b *bytes.Buffer, name, value string) {
	b.WriteString(fold(name + ": " + value))
	b.WriteString("\r\n")
}

func fold(line string) string {
	const limit = 78
	var b strings.Builder
	// The space after the colon is a valid fold point too: an encoded-word
	// may be 75 characters long and would not fit after a field name.
	minIdx := strings.Index(line, ": ") + 1
	for len(line) > limit {
		i := strings.LastIndexByte(line[:limit+1], ' ')
		if i < minIdx {
			j := strings.IndexByte(line[limit+1:], ' ')
			if j < 0 {
				break
			}
			i = limit + 1 + j
		}
		// A continuation line must not consist of white space only.
		if strings.TrimLeft(line[i:], " ") == "" {
			break
		}
		b.WriteString(line[:i])
		b.WriteString("\r\n")
		line = line[i:] // keeps the space: it becomes the folding white space
		minIdx = 1
	}
	b.WriteString(line)
	return b.String()
}
