package mail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/mail"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
)

func smsMessage() Message {
	return Message{
		ID:      "sms-42",
		Channel: SMS,
		To:      "+491701234567",
		Text:    "Ihr Fahrzeug ist fertig.\nAbholung bis 18 Uhr.",
		Date:    testDate,
	}
}

// listFiles returns every file under dir relative to it, so tests notice
// stray temp files anywhere.
func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	var names []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, path)
			names = append(names, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	return names
}

func TestOutboxWritesEmail(t *testing.T) {
	dir := t.TempDir()
	ob := NewOutbox(dir)
	if ob.Name() != "outbox" {
		t.Errorf("Name() = %q", ob.Name())
	}
	m := testMessage()
	m.Attachments = []Attachment{{Name: "report.pdf", ContentType: "application/pdf", Data: binaryData(300)}}
	id, err := ob.Send(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	if id != "<notif-01J8Z3K9X2.abc_DEF@smartautocheck>" {
		t.Errorf("provider id = %q", id)
	}
	if got, want := listFiles(t, dir), []string{"email/notif-01J8Z3K9X2.abc_DEF.eml"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("files = %v, want %v", got, want)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "email", m.ID+".eml"))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := Compose(m)
	if !bytes.Equal(raw, want) {
		t.Errorf("file content differs from Compose output")
	}
	msg, d := parseComposed(t, raw)
	if msg.Header.Get("Message-ID") != id || d.text != testText || len(d.attachments) != 1 {
		t.Errorf("unexpected stored email: Message-ID %q, %d attachments", msg.Header.Get("Message-ID"), len(d.attachments))
	}
}

func TestOutboxWritesSMS(t *testing.T) {
	dir := t.TempDir()
	m := smsMessage()
	id, err := NewOutbox(dir).Send(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	if id != "<sms-42@smartautocheck>" {
		t.Errorf("provider id = %q", id)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "sms", "sms-42.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := "To: +491701234567\nDate: Fri, 14 Mar 2025 09:26:53 +0100\nMessage-ID: <sms-42@smartautocheck>\n\n" + m.Text
	if string(raw) != want {
		t.Errorf("SMS file =\n%q\nwant\n%q", raw, want)
	}
	// The header block is mail-like on purpose, so the same reader works.
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil || msg.Header.Get("To") != m.To {
		t.Errorf("SMS file not readable with net/mail: %v", err)
	}
	if got := listFiles(t, dir); fmt.Sprint(got) != "[sms/sms-42.txt]" {
		t.Errorf("files = %v", got)
	}
}

func TestOutboxIdempotent(t *testing.T) {
	for _, first := range []Message{testMessage(), smsMessage()} {
		t.Run(string(first.Channel), func(t *testing.T) {
			dir := t.TempDir()
			ob := NewOutbox(dir)
			id1, err := ob.Send(context.Background(), first)
			if err != nil {
				t.Fatal(err)
			}
			files := listFiles(t, dir)
			before, _ := os.ReadFile(filepath.Join(dir, files[0]))

			second := first
			second.Text = "a different text must not overwrite the first send"
			id2, err := ob.Send(context.Background(), second)
			if err != nil {
				t.Fatal(err)
			}
			if id1 != id2 {
				t.Errorf("second Send returned %q, first %q", id2, id1)
			}
			after, _ := os.ReadFile(filepath.Join(dir, files[0]))
			if !bytes.Equal(before, after) {
				t.Errorf("second Send rewrote the file")
			}
			if got := listFiles(t, dir); fmt.Sprint(got) != fmt.Sprint(files) {
				t.Errorf("files after second Send = %v, want %v", got, files)
			}
		})
	}
}

func TestOutboxConcurrentSameID(t *testing.T) {
	dir := t.TempDir()
	ob := NewOutbox(dir)
	const n = 32
	candidates := make(map[string]bool)
	msgs := make([]Message, n)
	for i := range msgs {
		m := testMessage()
		m.Text = fmt.Sprintf("variant %d\n%s", i, strings.Repeat("payload ", 2000))
		msgs[i] = m
		raw, err := Compose(m)
		if err != nil {
			t.Fatal(err)
		}
		candidates[string(raw)] = true
	}
	var wg sync.WaitGroup
	ids := make([]string, n)
	errs := make([]error, n)
	for i := range msgs {
		wg.Go(func() { ids[i], errs[i] = ob.Send(context.Background(), msgs[i]) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Send %d: %v", i, errs[i])
		}
		if ids[i] != ids[0] {
			t.Errorf("Send %d returned %q, Send 0 returned %q", i, ids[i], ids[0])
		}
	}
	files := listFiles(t, dir)
	if len(files) != 1 || files[0] != "email/"+msgs[0].ID+".eml" {
		t.Fatalf("files = %v, want exactly one .eml and no temp files", files)
	}
	raw, err := os.ReadFile(filepath.Join(dir, files[0]))
	if err != nil {
		t.Fatal(err)
	}
	if !candidates[string(raw)] {
		t.Errorf("stored file is not one complete composed message (%d bytes)", len(raw))
	}
}

func TestOutboxRejects(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*Message)
		wantErr error
	}{
		{"path traversal ID", func(m *Message) { m.ID = "../escape" }, ErrInvalidMessage},
		{"slash in ID", func(m *Message) { m.ID = "a/b" }, ErrInvalidMessage},
		{"backslash in ID", func(m *Message) { m.ID = `a\b` }, ErrInvalidMessage},
		{"hidden file ID", func(m *Message) { m.ID = ".hidden" }, ErrInvalidMessage},
		{"dot-dot ID", func(m *Message) { m.ID = ".." }, ErrInvalidMessage},
		{"space in ID", func(m *Message) { m.ID = "a b" }, ErrInvalidMessage},
		{"non-ASCII ID", func(m *Message) { m.ID = "prüfung" }, ErrInvalidMessage},
		{"NUL in ID", func(m *Message) { m.ID = "a\x00b" }, ErrInvalidMessage},
		{"very long ID", func(m *Message) { m.ID = strings.Repeat("a", 300) }, ErrInvalidMessage},
		{"SMS to email address", func(m *Message) { m.Channel, m.To = SMS, "kunde@example.org" }, ErrInvalidMessage},
		{"SMS to local number", func(m *Message) { m.Channel, m.To = SMS, "01701234567" }, ErrInvalidMessage},
		{"SMS with attachment", func(m *Message) {
			m.Channel, m.To = SMS, "+491701234567"
			m.Attachments = []Attachment{{Name: "x", Data: []byte("x")}}
		}, ErrInvalidMessage},
		{"email injection", func(m *Message) { m.Subject = "x\r\nBcc: victim@example.net" }, ErrInvalidMessage},
		{"unknown channel", func(m *Message) { m.Channel = "fax" }, ErrUnsupportedChannel},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			m := testMessage()
			tt.mutate(&m)
			_, err := NewOutbox(filepath.Join(dir, "outbox")).Send(context.Background(), m)
			if !errors.Is(err, tt.wantErr) || !Permanent(err) {
				t.Fatalf("Send error = %v, want permanent %v", err, tt.wantErr)
			}
			if files := listFiles(t, dir); len(files) != 0 {
				t.Errorf("rejected message left files: %v", files)
			}
		})
	}
}

func TestOutboxCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := t.TempDir()
	_, err := NewOutbox(dir).Send(ctx, testMessage())
	if !errors.Is(err, context.Canceled) || Permanent(err) {
		t.Fatalf("Send error = %v, want temporary context.Canceled", err)
	}
}
