package mail

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	testUser     = "alice"
	testPassword = "s3cr3t-P@ss"
	testPassURL  = "s3cr3t-P%40ss" // as it appears inside a URL
)

// serverConfig describes the behaviour of the fake SMTP server.
type serverConfig struct {
	user, pass  string      // when set: advertise AUTH PLAIN and require it
	echoAuth    bool        // hostile: quote the received credentials in the 535 reply
	rcptReply   string      // reply to RCPT TO; empty means "250 OK"
	startTLS    *tls.Config // when set: advertise STARTTLS
	implicitTLS *tls.Config // when set: TLS from the first byte (smtps)
	silent      bool        // accept connections but never greet
}

// delivery is what the fake server received for one accepted message.
type delivery struct {
	from     string
	to       []string
	data     []byte
	authUser string
	tls      bool
}

// testServer speaks enough RFC 5321 (EHLO/HELO, STARTTLS, AUTH PLAIN, MAIL,
// RCPT, DATA, RSET, NOOP, QUIT) to exercise the real net/smtp client.
type testServer struct {
	cfg        serverConfig
	ln         net.Listener
	addr       string
	deliveries chan delivery
	accepted   chan struct{}
	authTries  chan string
	wg         sync.WaitGroup
}

func startServer(t *testing.T, cfg serverConfig) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &testServer{
		cfg:        cfg,
		ln:         ln,
		addr:       ln.Addr().String(),
		deliveries: make(chan delivery, 16),
		accepted:   make(chan struct{}, 16),
		authTries:  make(chan string, 16),
	}
	if cfg.implicitTLS != nil {
		s.ln = tls.NewListener(ln, cfg.implicitTLS)
	}
	s.wg.Go(func() {
		for {
			conn, err := s.ln.Accept()
			if err != nil {
				return
			}
			s.accepted <- struct{}{}
			s.wg.Go(func() { s.serve(conn) })
		}
	})
	t.Cleanup(func() {
		s.ln.Close()
		s.wg.Wait()
	})
	return s
}

func (s *testServer) port() string {
	_, port, _ := net.SplitHostPort(s.addr)
	return port
}

// lastDelivery returns the delivery recorded before the server replied 250
// to DATA, so no waiting is needed once Send has returned.
func (s *testServer) lastDelivery(t *testing.T) delivery {
	t.Helper()
	select {
	case d := <-s.deliveries:
		return d
	default:
		t.Fatal("server received no message")
		return delivery{}
	}
}

func (s *testServer) serve(conn net.Conn) {
	defer func() { conn.Close() }()
	_, isTLS := conn.(*tls.Conn)
	if s.cfg.silent {
		// Block until the client gives up and closes the connection.
		_, _ = conn.Read(make([]byte, 1))
		return
	}
	r := bufio.NewReader(conn)
	reply := func(lines ...string) bool {
		_, err := fmt.Fprint(conn, strings.Join(lines, "\r\n")+"\r\n")
		return err == nil
	}
	reply("220 test.invalid ESMTP fake")
	var d delivery
	authed := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			ext := []string{"test.invalid greets you", "8BITMIME"}
			if s.cfg.startTLS != nil && !isTLS {
				ext = append(ext, "STARTTLS")
			}
			if s.cfg.user != "" {
				ext = append(ext, "AUTH PLAIN")
			}
			for i := range ext {
				sep := "-"
				if i == len(ext)-1 {
					sep = " "
				}
				ext[i] = "250" + sep + ext[i]
			}
			reply(ext...)
		case "HELO":
			reply("250 test.invalid")
		case "STARTTLS":
			if s.cfg.startTLS == nil || isTLS {
				reply("502 5.5.1 not offered")
				continue
			}
			reply("220 2.0.0 go ahead")
			tc := tls.Server(conn, s.cfg.startTLS)
			if err := tc.Handshake(); err != nil {
				return
			}
			conn, r, isTLS = tc, bufio.NewReader(tc), true
			d, authed = delivery{}, false // RFC 3207: forget everything
		case "AUTH":
			mech, initial, _ := strings.Cut(arg, " ")
			s.authTries <- initial
			raw, err := base64.StdEncoding.DecodeString(initial)
			parts := strings.Split(string(raw), "\x00")
			switch {
			case s.cfg.user == "" || !strings.EqualFold(mech, "PLAIN"):
				reply("504 5.5.4 mechanism not supported")
			case err != nil || len(parts) != 3:
				reply("501 5.5.2 cannot decode")
			case parts[1] == s.cfg.user && parts[2] == s.cfg.pass:
				authed, d.authUser = true, parts[1]
				reply("235 2.7.0 authenticated")
			case s.cfg.echoAuth:
				reply(fmt.Sprintf("535 5.7.8 bad credentials %q (%s)", string(raw), initial))
			default:
				reply("535 5.7.8 bad credentials")
			}
		case "MAIL":
			if s.cfg.user != "" && !authed {
				reply("530 5.7.0 authentication required")
				continue
			}
			d.from = angleAddr(arg)
			reply("250 2.1.0 sender ok")
		case "RCPT":
			if s.cfg.rcptReply != "" {
				reply(s.cfg.rcptReply)
				continue
			}
			d.to = append(d.to, angleAddr(arg))
			reply("250 2.1.5 recipient ok")
		case "DATA":
			if d.from == "" || len(d.to) == 0 {
				reply("503 5.5.1 need MAIL and RCPT first")
				continue
			}
			reply("354 end with <CRLF>.<CRLF>")
			var data []byte
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				data = append(data, strings.TrimPrefix(l, ".")...) // undo dot-stuffing
			}
			d.data, d.tls = data, isTLS
			s.deliveries <- d
			reply("250 2.0.0 queued as FAKE1")
			d = delivery{authUser: d.authUser}
		case "RSET":
			d = delivery{authUser: d.authUser}
			reply("250 2.0.0 ok")
		case "NOOP":
			reply("250 2.0.0 ok")
		case "QUIT":
			reply("221 2.0.0 bye")
			return
		default:
			reply("502 5.5.2 command not recognized")
		}
	}
}

// angleAddr extracts the path from "FROM:<a@b> BODY=8BITMIME".
func angleAddr(arg string) string {
	_, rest, _ := strings.Cut(arg, "<")
	addr, _, _ := strings.Cut(rest, ">")
	return addr
}

// testTLS returns a server config with a fresh self-signed certificate for
// mail.test and a client root pool trusting it.
func testTLS(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "mail.test"},
		DNSNames:              []string{"mail.test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, pool
}

// newTestSMTP builds the provider and, for host names other than 127.0.0.1,
// routes the connection to the fake server and trusts its certificate.
func newTestSMTP(t *testing.T, rawURL string, s *testServer, roots *x509.CertPool) *smtpProvider {
	t.Helper()
	p, err := NewSMTP(rawURL)
	if err != nil {
		t.Fatalf("NewSMTP: %v", err)
	}
	sp := p.(*smtpProvider)
	if s != nil && sp.host != "127.0.0.1" {
		sp.dial = func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, s.addr)
		}
	}
	if roots != nil {
		sp.tlsConfig = &tls.Config{RootCAs: roots}
	}
	return sp
}

func assertNoPassword(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, secret := range []string{testPassword, testPassURL, "s3cr3t", base64.StdEncoding.EncodeToString([]byte("\x00" + testUser + "\x00" + testPassword))} {
		if strings.Contains(err.Error(), secret) || strings.Contains(fmt.Sprintf("%+v", err), secret) {
			t.Errorf("error leaks the password (%q): %v", secret, err)
		}
	}
}

func TestSMTPDelivers(t *testing.T) {
	serverTLS, roots := testTLS(t)
	tests := []struct {
		name     string
		cfg      serverConfig
		url      string // PORT is replaced by the server port
		wantAuth string
		wantTLS  bool
	}{
		{name: "plain without auth", url: "smtp://127.0.0.1:PORT?from=noreply@example.com"},
		{
			name: "AUTH PLAIN to localhost without TLS",
			cfg:  serverConfig{user: testUser, pass: testPassword},
			url:  "smtp://" + testUser + ":" + testPassURL + "@127.0.0.1:PORT?from=noreply@example.com", wantAuth: testUser,
		},
		{
			name:    "opportunistic STARTTLS without auth",
			cfg:     serverConfig{startTLS: serverTLS},
			url:     "smtp://mail.test:PORT?from=noreply@example.com",
			wantTLS: true,
		},
		{
			name: "STARTTLS then AUTH PLAIN to a remote name",
			cfg:  serverConfig{startTLS: serverTLS, user: testUser, pass: testPassword},
			url:  "smtp://" + testUser + ":" + testPassURL + "@mail.test:PORT?from=noreply@example.com", wantAuth: testUser, wantTLS: true,
		},
		{
			name: "implicit TLS (smtps) with AUTH PLAIN",
			cfg:  serverConfig{implicitTLS: serverTLS, user: testUser, pass: testPassword},
			url:  "smtps://" + testUser + ":" + testPassURL + "@mail.test:PORT?from=noreply@example.com", wantAuth: testUser, wantTLS: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startServer(t, tt.cfg)
			p := newTestSMTP(t, strings.ReplaceAll(tt.url, "PORT", srv.port()), srv, roots)
			if p.Name() != "smtp" {
				t.Errorf("Name() = %q", p.Name())
			}
			m := testMessage()
			m.From = "" // taken from the URL
			m.To = "Frau Müller <kunde@example.org>"
			m.HTML = "<p>Ihr Fahrzeug ist <b>fertig</b>.</p>"
			m.Attachments = []Attachment{{Name: "bericht.pdf", ContentType: "application/pdf", Data: binaryData(4000)}}

			id, err := p.Send(context.Background(), m)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if id != messageID(m.ID) {
				t.Errorf("provider id = %q, want %q", id, messageID(m.ID))
			}
			d := srv.lastDelivery(t)
			if d.from != "noreply@example.com" {
				t.Errorf("MAIL FROM = %q", d.from)
			}
			if len(d.to) != 1 || d.to[0] != "kunde@example.org" {
				t.Errorf("RCPT TO = %q, want [kunde@example.org]", d.to)
			}
			m.From = "noreply@example.com"
			want, err := Compose(m)
			if err != nil {
				t.Fatal(err)
			}
			if string(d.data) != string(want) {
				t.Errorf("server received other bytes than Compose produced:\n got %q\nwant %q", d.data, want)
			}
			if d.authUser != tt.wantAuth {
				t.Errorf("authenticated as %q, want %q", d.authUser, tt.wantAuth)
			}
			if d.tls != tt.wantTLS {
				t.Errorf("message sent over TLS = %v, want %v", d.tls, tt.wantTLS)
			}
		})
	}
}

func TestSMTPReplyClassification(t *testing.T) {
	tests := []struct {
		reply         string
		wantCode      int
		wantPermanent bool
	}{
		{"550 5.1.1 <kunde@example.org>: no such user", 550, true},
		{"553 5.1.3 bad recipient address syntax", 553, true},
		{"451 4.3.0 temporary local problem, try again later", 451, false},
		{"452 4.2.2 mailbox full", 452, false},
	}
	for _, tt := range tests {
		t.Run(tt.reply[:3], func(t *testing.T) {
			srv := startServer(t, serverConfig{rcptReply: tt.reply, user: testUser, pass: testPassword})
			p := newTestSMTP(t, "smtp://"+testUser+":"+testPassURL+"@127.0.0.1:"+srv.port()+"?from=noreply@example.com", srv, nil)
			_, err := p.Send(context.Background(), testMessage())
			if err == nil {
				t.Fatal("Send succeeded despite the RCPT rejection")
			}
			var tp *textproto.Error
			if !errors.As(err, &tp) || tp.Code != tt.wantCode {
				t.Errorf("error %v does not carry SMTP code %d", err, tt.wantCode)
			}
			if got := Permanent(err); got != tt.wantPermanent {
				t.Errorf("Permanent(%v) = %v, want %v", err, got, tt.wantPermanent)
			}
			if !strings.Contains(err.Error(), "RCPT TO") {
				t.Errorf("error does not name the failing stage: %v", err)
			}
			assertNoPassword(t, err)
			select {
			case <-srv.deliveries:
				t.Error("message delivered despite the rejection")
			default:
			}
		})
	}
}

func TestSMTPConnectionRefusedIsTemporary(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there any more
	p := newTestSMTP(t, "smtp://"+testUser+":"+testPassURL+"@"+addr+"?from=noreply@example.com", nil, nil)
	_, err = p.Send(context.Background(), testMessage())
	if err == nil {
		t.Fatal("Send to a closed port succeeded")
	}
	if Permanent(err) {
		t.Errorf("Permanent(%v) = true, want false", err)
	}
	var opErr *net.OpError
	if !errors.As(err, &opErr) {
		t.Errorf("error %v does not wrap the *net.OpError", err)
	}
	assertNoPassword(t, err)
}

func TestSMTPPasswordNeverInErrors(t *testing.T) {
	t.Run("server echoes the credentials", func(t *testing.T) {
		srv := startServer(t, serverConfig{user: testUser, pass: "other", echoAuth: true})
		p := newTestSMTP(t, "smtp://"+testUser+":"+testPassURL+"@127.0.0.1:"+srv.port()+"?from=noreply@example.com", srv, nil)
		_, err := p.Send(context.Background(), testMessage())
		if err == nil {
			t.Fatal("Send succeeded with wrong credentials")
		}
		if !Permanent(err) {
			t.Errorf("535 reply should be permanent: %v", err)
		}
		assertNoPassword(t, err)
	})

	t.Run("no STARTTLS on a remote server", func(t *testing.T) {
		srv := startServer(t, serverConfig{user: testUser, pass: testPassword})
		p := newTestSMTP(t, "smtp://"+testUser+":"+testPassURL+"@mail.test:"+srv.port()+"?from=noreply@example.com", srv, nil)
		_, err := p.Send(context.Background(), testMessage())
		if err == nil || !strings.Contains(err.Error(), "unencrypted") {
			t.Fatalf("Send error = %v, want refusal to authenticate in clear text", err)
		}
		assertNoPassword(t, err)
		select {
		case got := <-srv.authTries:
			t.Errorf("credentials were sent in clear text: AUTH %q", got)
		default:
		}
	})

	t.Run("untrusted STARTTLS certificate", func(t *testing.T) {
		serverTLS, _ := testTLS(t)
		srv := startServer(t, serverConfig{user: testUser, pass: testPassword, startTLS: serverTLS})
		p := newTestSMTP(t, "smtp://"+testUser+":"+testPassURL+"@mail.test:"+srv.port()+"?from=noreply@example.com", srv, nil)
		_, err := p.Send(context.Background(), testMessage())
		if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
			t.Fatalf("Send error = %v, want a STARTTLS certificate failure", err)
		}
		if Permanent(err) {
			t.Errorf("TLS failure should be temporary: %v", err)
		}
		assertNoPassword(t, err)
	})

	t.Run("invalid URLs", func(t *testing.T) {
		for _, raw := range []string{
			"smtp://" + testUser + ":" + testPassURL + "@host:99999",
			"smtp://" + testUser + ":" + testPassURL + "@host:abc",
			"http://" + testUser + ":" + testPassURL + "@host",
			"smtp://" + testUser + ":" + testPassURL + "@host/path",
			"smtp://" + testUser + ":" + testPassURL + "@host?fro=x@example.com",
			"smtp://" + testUser + ":" + testPassURL + "@host?from=not-an-address",
			"smtp://" + testUser + ":s3cr3t/P@ss@host",          // unescaped '/' in the password
			"smtp://" + testUser + ":s3cr3t%zz@host",            // bad escape
			"smtp://" + testUser + ":s3cr3t-P@ss\x7f@host",      // control character
			"smtp://" + testUser + ":s3cr3t-P@ss@host:25#frag",  // fragment
			"smtp://" + testUser + ":" + testPassURL + "@:25",   // no host
			"smtp://:" + testPassURL + "@host",                  // password without user
			"smtp://" + testUser + ":s3cr3t?x=P@ss@host",        // unescaped '?'
			"smtp:" + testUser + ":" + testPassURL + "@host:25", // opaque
		} {
			p, err := NewSMTP(raw)
			if err == nil {
				t.Errorf("NewSMTP(%q) = %+v, want error", raw, p)
				continue
			}
			assertNoPassword(t, err)
		}
	})
}

func TestSMTPRejectsSMS(t *testing.T) {
	p, err := NewSMTP("smtp://127.0.0.1:1?from=noreply@example.com")
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Send(context.Background(), smsMessage())
	if !errors.Is(err, ErrUnsupportedChannel) || !Permanent(err) {
		t.Fatalf("Send(SMS) error = %v, want permanent ErrUnsupportedChannel", err)
	}
}

func TestSMTPInvalidMessageIsPermanent(t *testing.T) {
	srv := startServer(t, serverConfig{})
	p := newTestSMTP(t, "smtp://127.0.0.1:"+srv.port(), srv, nil) // no default sender
	_, err := p.Send(context.Background(), testMessage())
	if err != nil {
		t.Fatalf("Send with From set: %v", err)
	}
	m := testMessage()
	m.From = ""
	_, err = p.Send(context.Background(), m)
	if !errors.Is(err, ErrInvalidMessage) || !Permanent(err) {
		t.Fatalf("Send without any sender: error = %v, want permanent ErrInvalidMessage", err)
	}
}

func TestSMTPHonoursContextCancellation(t *testing.T) {
	srv := startServer(t, serverConfig{silent: true})
	p := newTestSMTP(t, "smtp://127.0.0.1:"+srv.port()+"?from=noreply@example.com", srv, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-srv.accepted // the client is now waiting for a greeting that never comes
		cancel()
	}()
	_, err := p.Send(ctx, testMessage())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Send error = %v, want context.Canceled", err)
	}
	if Permanent(err) {
		t.Errorf("cancellation must be temporary: %v", err)
	}
}

func TestNewSMTP(t *testing.T) {
	tests := []struct {
		raw                  string
		host, port, user     string
		pass, from           string
		implicitTLS          bool
		displayHidesPassword bool
	}{
		{raw: "smtp://mail.example.com", host: "mail.example.com", port: "25"},
		{raw: "smtps://mail.example.com", host: "mail.example.com", port: "465", implicitTLS: true},
		{raw: "smtp://mail.example.com:587/", host: "mail.example.com", port: "587"},
		{raw: "SMTP://[::1]:2525", host: "::1", port: "2525"},
		{
			raw:  "smtp://" + testUser + ":" + testPassURL + "@mail.example.com:587?from=SmartAutoCheck%20%3Cnoreply@example.com%3E",
			host: "mail.example.com", port: "587", user: testUser, pass: testPassword,
			from: "SmartAutoCheck <noreply@example.com>", displayHidesPassword: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			p, err := NewSMTP(tt.raw)
			if err != nil {
				t.Fatal(err)
			}
			sp := p.(*smtpProvider)
			if sp.host != tt.host || sp.port != tt.port || sp.user != tt.user || sp.pass != tt.pass || sp.from != tt.from || sp.implicitTLS != tt.implicitTLS {
				t.Errorf("parsed %+v", *sp)
			}
			if tt.pass != "" && strings.Contains(sp.display, tt.pass) || strings.Contains(sp.display, testPassURL) {
				t.Errorf("display form %q shows the password", sp.display)
			}
		})
	}
}
