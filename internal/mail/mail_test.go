package mail

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"os"
	"syscall"
	"testing"
)

func TestPermanent(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"unsupported channel", fmt.Errorf("wrapped: %w", ErrUnsupportedChannel), true},
		{"invalid message", fmt.Errorf("%w: bad ID", ErrInvalidMessage), true},
		{"SMTP 550", &smtpError{stage: "RCPT TO", err: &textproto.Error{Code: 550, Msg: "no such user"}}, true},
		{"SMTP 554", &textproto.Error{Code: 554, Msg: "transaction failed"}, true},
		{"SMTP 421", &textproto.Error{Code: 421, Msg: "shutting down"}, false},
		{"SMTP 451", &smtpError{stage: "RCPT TO", err: &textproto.Error{Code: 451, Msg: "try later"}}, false},
		{"connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, false},
		{"unexpected EOF", io.ErrUnexpectedEOF, false},
		{"deadline", context.DeadlineExceeded, false},
		{"cancelled", context.Canceled, false},
		{"unknown", errors.New("something"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Permanent(tt.err); got != tt.want {
				t.Errorf("Permanent(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

// fakeProvider records what it was asked to send.
type fakeProvider struct {
	name string
	sent []Message
}

func (f *fakeProvider) Name() string { return f.name }

func (f *fakeProvider) Send(_ context.Context, m Message) (string, error) {
	f.sent = append(f.sent, m)
	return f.name + ":" + m.ID, nil
}

func TestRouter(t *testing.T) {
	email, sms := &fakeProvider{name: "smtp"}, &fakeProvider{name: "outbox"}
	r := Router(email, sms)
	if r.Name() != "smtp" {
		t.Errorf("Name() = %q, want the email provider's name", r.Name())
	}
	tests := []struct {
		channel Channel
		wantID  string
		wantErr error
	}{
		{Email, "smtp:x1", nil},
		{SMS, "outbox:x1", nil},
		{"fax", "", ErrUnsupportedChannel},
		{"", "", ErrUnsupportedChannel},
	}
	for _, tt := range tests {
		id, err := r.Send(context.Background(), Message{ID: "x1", Channel: tt.channel})
		if id != tt.wantID || !errors.Is(err, tt.wantErr) {
			t.Errorf("Send(%q) = %q, %v; want %q, %v", tt.channel, id, err, tt.wantID, tt.wantErr)
		}
	}
	if len(email.sent) != 1 || email.sent[0].Channel != Email || len(sms.sent) != 1 || sms.sent[0].Channel != SMS {
		t.Errorf("routing went wrong: email got %v, sms got %v", email.sent, sms.sent)
	}

	_, err := Router(email, nil).Send(context.Background(), Message{ID: "x2", Channel: SMS})
	if !errors.Is(err, ErrUnsupportedChannel) || !Permanent(err) {
		t.Errorf("SMS without an SMS provider: error = %v, want permanent ErrUnsupportedChannel", err)
	}
}

func TestRouterSMTPAndOutbox(t *testing.T) {
	srv := startServer(t, serverConfig{})
	dir := t.TempDir()
	r := Router(newTestSMTP(t, "smtp://127.0.0.1:"+srv.port()+"?from=noreply@example.com", srv, nil), NewOutbox(dir))
	if _, err := r.Send(context.Background(), testMessage()); err != nil {
		t.Fatal(err)
	}
	if d := srv.lastDelivery(t); len(d.to) != 1 || d.to[0] != "kunde@example.org" {
		t.Errorf("email not delivered over SMTP: %+v", d)
	}
	if _, err := r.Send(context.Background(), smsMessage()); err != nil {
		t.Fatal(err)
	}
	if files := listFiles(t, dir); len(files) != 1 || files[0] != "sms/sms-42.txt" {
		t.Errorf("outbox files = %v, want only the SMS", files)
	}
}
