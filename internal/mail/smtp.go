package mail

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// defaultSendTimeout bounds a Send whose context has no deadline, so a
// stalled server cannot block the worker forever. It is generous because
// attachments may be large and links slow.
const defaultSendTimeout = 5 * time.Minute

// NewSMTP parses a URL like smtp://user:pass@host:587?from=noreply@example.com
// and returns a provider that sends emails over SMTP.
//
// Scheme smtp (default port 25) talks plain SMTP and upgrades with STARTTLS
// whenever the server offers it; scheme smtps (default port 465) uses
// implicit TLS. Certificates are always verified: an offered STARTTLS that
// fails verification makes Send fail rather than quietly continue in clear
// text with credentials. User and password are optional; when set they are
// sent with AUTH PLAIN, which net/smtp only allows over TLS or to localhost,
// so a password never crosses the network unencrypted. The from parameter is
// the envelope and header sender used when Message.From is empty.
//
// SMS cannot travel over SMTP: Send returns an error wrapping
// ErrUnsupportedChannel for them (use Router to combine with the outbox).
// The password never appears in any error, which may end up in logs.
func NewSMTP(rawURL string) (Provider, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Parse errors quote the input, password included.
		return nil, errors.New("mail: invalid SMTP URL (expected smtp[s]://[user:pass@]host[:port][?from=addr]; percent-encode special characters in user and password)")
	}
	p := &smtpProvider{}
	switch u.Scheme {
	case "smtp":
		p.port = "25"
	case "smtps":
		p.implicitTLS = true
		p.port = "465"
	default:
		return nil, fmt.Errorf("mail: invalid SMTP URL: scheme must be smtp or smtps, not %q", u.Scheme)
	}
	// The checks below deliberately do not echo the URL: a password with an
	// unescaped '/', '?' or '#' ends up in the path, query or fragment.
	if u.Opaque != "" || (u.Path != "" && u.Path != "/") || u.Fragment != "" || u.RawFragment != "" {
		return nil, errors.New("mail: invalid SMTP URL: it must not have a path or fragment (percent-encode special characters in user and password)")
	}
	p.host = u.Hostname()
	if p.host == "" {
		return nil, errors.New("mail: invalid SMTP URL: missing host")
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return nil, errors.New("mail: invalid SMTP URL: port out of range")
		}
		p.port = port
	}
	if u.User != nil {
		p.user = u.User.Username()
		p.pass, _ = u.User.Password()
		if p.user == "" {
			return nil, errors.New("mail: invalid SMTP URL: password given without user")
		}
	}
	for key, vals := range u.Query() {
		if key != "from" {
			return nil, fmt.Errorf("mail: invalid SMTP URL: unknown query parameter %q (only from is supported)", key)
		}
		if len(vals) != 1 {
			return nil, errors.New("mail: invalid SMTP URL: from given more than once")
		}
		if _, err := parseAddress("from", vals[0]); err != nil {
			return nil, fmt.Errorf("mail: invalid SMTP URL: %w", err)
		}
		p.from = vals[0]
	}
	p.display = u.Redacted()
	return p, nil
}

type smtpProvider struct {
	host, port  string
	implicitTLS bool
	user, pass  string
	from        string // default sender
	display     string // URL with the password redacted, for errors

	// Test hooks: dial replaces the network dialer and tlsConfig provides
	// e.g. a private root CA. Nil means the defaults.
	dial      func(ctx context.Context, network, addr string) (net.Conn, error)
	tlsConfig *tls.Config
}

func (p *smtpProvider) Name() string { return "smtp" }

// smtpError carries the stage and server of a failed send, keeping the
// underlying error reachable for Permanent (SMTP reply codes) and
// errors.Is (context, net errors).
type smtpError struct {
	stage   string
	server  string
	secrets []string
	err     error
}

func (e *smtpError) Error() string {
	s := fmt.Sprintf("mail: smtp %s via %s: %v", e.stage, e.server, e.err)
	// Belt and braces: a server could echo what it received in its reply.
	for _, secret := range e.secrets {
		s = strings.ReplaceAll(s, secret, "xxxxx")
	}
	return s
}

// secretForms lists the ways the password could show up in a server reply:
// as is, quoted, URL-escaped, or inside the base64 AUTH PLAIN blob.
func secretForms(user, pass string) []string {
	if pass == "" {
		return nil
	}
	quoted := strconv.Quote(pass)
	forms := []string{
		base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass)),
		pass,
		quoted[1 : len(quoted)-1],
		url.PathEscape(pass),
		url.QueryEscape(pass),
	}
	// Longest first, so a shorter form cannot break up a longer one.
	sort.Slice(forms, func(i, j int) bool { return len(forms[i]) > len(forms[j]) })
	return forms
}

func (e *smtpError) Unwrap() error { return e.err }

func (p *smtpProvider) Send(ctx context.Context, m Message) (string, error) {
	if m.Channel != Email {
		return "", fmt.Errorf("mail: smtp cannot send %q messages: %w", m.Channel, ErrUnsupportedChannel)
	}
	if m.From == "" {
		m.From = p.from
	}
	data, err := Compose(m)
	if err != nil {
		return "", err
	}
	// Compose validated both addresses; the envelope needs the bare address.
	from, _ := parseAddress("From", m.From)
	to, _ := parseAddress("To", m.To)

	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultSendTimeout)
		defer cancel()
	}
	stage := "connect"
	fail := func(err error) error {
		if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
			// The deadline set below surfaces as an i/o timeout; say why.
			err = fmt.Errorf("%w: %w", cerr, err)
		}
		return &smtpError{stage: stage, server: p.display, secrets: secretForms(p.user, p.pass), err: err}
	}

	conn, err := p.dialContext(ctx)
	if err != nil {
		return "", fail(err)
	}
	defer conn.Close()
	// net/smtp has no context support: enforce the deadline on the
	// connection and unblock it as soon as ctx is cancelled.
	deadline, _ := ctx.Deadline()
	if err := conn.SetDeadline(deadline); err != nil {
		return "", fail(err)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	if p.implicitTLS {
		stage = "TLS handshake"
		tc := tls.Client(conn, p.tlsClientConfig())
		if err := tc.HandshakeContext(ctx); err != nil {
			return "", fail(err)
		}
		conn = tc
	}
	stage = "greeting"
	c, err := smtp.NewClient(conn, p.host)
	if err != nil {
		return "", fail(err)
	}
	defer c.Close()

	stage = "EHLO"
	if err := c.Hello("localhost"); err != nil {
		return "", fail(err)
	}
	if !p.implicitTLS {
		if ok, _ := c.Extension("STARTTLS"); ok {
			stage = "STARTTLS"
			if err := c.StartTLS(p.tlsClientConfig()); err != nil {
				return "", fail(err)
			}
		}
	}
	if p.user != "" {
		stage = "AUTH"
		if ok, _ := c.Extension("AUTH"); !ok {
			return "", fail(errors.New("server does not offer AUTH but the URL has credentials"))
		}
		// net/smtp refuses this too, but with a cryptic "unencrypted connection".
		if _, isTLS := c.TLSConnectionState(); !isTLS && !isLocalhost(p.host) {
			return "", fail(errors.New("refusing to send the password over an unencrypted connection (the server offers no STARTTLS; use smtps:// or a TLS-capable server)"))
		}
		if err := c.Auth(smtp.PlainAuth("", p.user, p.pass, p.host)); err != nil {
			return "", fail(err)
		}
	}
	stage = "MAIL FROM"
	if err := c.Mail(from.Address); err != nil {
		return "", fail(err)
	}
	stage = "RCPT TO"
	if err := c.Rcpt(to.Address); err != nil {
		return "", fail(err)
	}
	stage = "DATA"
	w, err := c.Data()
	if err != nil {
		return "", fail(err)
	}
	if _, err := w.Write(data); err != nil {
		return "", fail(err)
	}
	if err := w.Close(); err != nil {
		return "", fail(err)
	}
	// The server has accepted the message. A failing QUIT must not turn that
	// into an error, or the worker would retry and deliver it twice.
	_ = c.Quit()
	return messageID(m.ID), nil
}

func (p *smtpProvider) dialContext(ctx context.Context) (net.Conn, error) {
	addr := net.JoinHostPort(p.host, p.port)
	if p.dial != nil {
		return p.dial(ctx, "tcp", addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", addr)
}

func (p *smtpProvider) tlsClientConfig() *tls.Config {
	var cfg *tls.Config
	if p.tlsConfig != nil {
		cfg = p.tlsConfig.Clone()
	} else {
		cfg = &tls.Config{}
	}
	cfg.ServerName = p.host
	if cfg.MinVersion == 0 {
		cfg.MinVersion = tls.VersionTLS12
	}
	return cfg
}

// isLocalhost mirrors net/smtp's rule for where PLAIN auth may go unencrypted.
func isLocalhost(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}
