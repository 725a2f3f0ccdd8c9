package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/crypto/bcrypt"

	"github.com/smartautocheck/smartautocheck/internal/app"
	imail "github.com/smartautocheck/smartautocheck/internal/mail"
)

// The pipeline suite runs the whole system in-process through HTTP and reads the topics as any
// Kafka client would. Without SAC_TEST_BROKERS it runs on the embedded broker; with it (make
// test-kafka) the same tests run against that cluster.

const (
	adminEmail    = "admin@example.com"
	adminPassword = "admin-password-123"
	// testHold is the payment window of the suite: long enough to pay at once, short enough to
	// watch a booking expire.
	testHold = 4 * time.Second
	// unreachableDomain is an address domain the test provider cannot deliver to, as a mail
	// server that is down would behave.
	unreachableDomain = "@unreachable.test"
)

// flaky is the real outbox provider, except that sends to unreachableDomain fail temporarily.
type flaky struct{ imail.Provider }

func (f flaky) Send(ctx context.Context, m imail.Message) (string, error) {
	if strings.HasSuffix(m.To, unreachableDomain) {
		return "", fmt.Errorf("connection refused by %s", m.To)
	}
	return f.Provider.Send(ctx, m)
}

type env struct {
	app     *app.App
	cfg     app.Config
	base    string
	brokers []string
}

var (
	sharedOnce sync.Once
	sharedEnv  *env
	sharedErr  error
)

func externalBrokers() []string {
	if b := os.Getenv("SAC_TEST_BROKERS"); b != "" {
		return strings.Split(b, ",")
	}
	return nil
}

// shared is one running instance for the whole package, as a user runs it.
func shared(t *testing.T) *env {
	t.Helper()
	sharedOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sac-pipeline-")
		if err != nil {
			sharedErr = err
			return
		}
		cfg := app.Config{DataDir: dir, HTTPAddr: "127.0.0.1:0", KafkaAddr: "127.0.0.1:0", Brokers: externalBrokers(),
			AdminEmail: adminEmail, AdminPassword: adminPassword, SendBackoff: 10 * time.Millisecond,
			PaymentHold: testHold, Centers: testCenters(),
			Provider: flaky{imail.NewOutbox(filepath.Join(dir, "outbox"))}, BcryptCost: bcrypt.MinCost}
		sharedEnv = &env{cfg: cfg}
		sharedErr = sharedEnv.start()
	})
	if sharedErr != nil {
		t.Fatalf("starting the service: %v", sharedErr)
	}
	return sharedEnv
}

func (e *env) start() error {
	a, err := app.Start(context.Background(), e.cfg)
	if err != nil {
		return err
	}
	e.app, e.base, e.brokers = a, "http://"+a.HTTPAddr, a.Brokers
	// The same port after a restart, so links already mailed keep working.
	e.cfg.HTTPAddr = a.HTTPAddr
	if a.Broker != nil {
		e.cfg.KafkaAddr = a.Broker.Addr()
	}
	deadline := time.Now().Add(90 * time.Second)
	for !a.Ready() {
		if time.Now().After(deadline) {
			return errors.New("not ready after 90 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

func TestMain(m *testing.M) {
	code := m.Run()
	if sharedEnv != nil && sharedEnv.app != nil {
		sharedEnv.app.Close()
		os.RemoveAll(sharedEnv.cfg.DataDir)
	}
	os.Exit(code)
}

// call makes an HTTP request and decodes the JSON answer.
func (e *env) call(t *testing.T, method, path string, body any, token string) (int, map[string]any) {
	t.Helper()
	return e.callWith(t, method, path, body, token, nil)
}

// callWith is call with more request headers.
func (e *env) callWith(t *testing.T, method, path string, body any, token string, headers map[string]string) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, _ := json.Marshal(b)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, e.base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := map[string]any{}
	if len(raw) > 0 && json.Unmarshal(raw, &out) != nil {
		t.Fatalf("%s %s: answer is not a JSON object: %q", method, path, raw)
	}
	return resp.StatusCode, out
}

func errorCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func newEmail(tag string) string { return fmt.Sprintf("%s-%s@example.com", tag, uuid.NewString()[:8]) }

// emailsTo reads the outbox emails addressed to addr.
func (e *env) emailsTo(t *testing.T, addr string) []*mail.Message {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(e.cfg.DataDir, "outbox", "email", "*.eml"))
	var out []*mail.Message
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("%s is not an RFC 5322 message: %v", f, err)
		}
		if strings.Contains(strings.ToLower(m.Header.Get("To")), strings.ToLower(addr)) {
			out = append(out, m)
		}
	}
	return out
}

var tokenRE = regexp.MustCompile(`token=([A-Za-z0-9._~%-]+)`)

// eventually polls until f returns true, failing the test after the timeout.
func eventually(t *testing.T, what string, timeout time.Duration, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// verificationToken finds the token of the verification link mailed to addr.
func (e *env) verificationToken(t *testing.T, addr string) string {
	t.Helper()
	var token string
	eventually(t, "the verification email to "+addr, 20*time.Second, func() bool {
		for _, m := range e.emailsTo(t, addr) {
			body, _ := io.ReadAll(m.Body)
			text := strings.ReplaceAll(string(body), "=\r\n", "")
			if found := tokenRE.FindStringSubmatch(strings.ReplaceAll(text, "=3D", "=")); found != nil {
				token = found[1]
				return true
			}
		}
		return false
	})
	return token
}

// registerVerified registers, verifies through the emailed link and logs in.
func (e *env) registerVerified(t *testing.T, addr string) (userID, token string) {
	t.Helper()
	st, body := e.call(t, "POST", "/v1/auth/register", map[string]any{"email": addr, "password": "secret-pass-123",
		"firstName": "John", "lastName": "Doe", "phone": "+33612345678"}, "")
	if st != http.StatusCreated {
		t.Fatalf("register %s: %d %v", addr, st, body)
	}
	userID = body["userId"].(string)
	st, body = e.call(t, "POST", "/v1/auth/verify", map[string]any{"token": e.verificationToken(t, addr)}, "")
	if st != http.StatusOK || body["status"] != "verified" {
		t.Fatalf("verify: %d %v", st, body)
	}
	st, body = e.call(t, "POST", "/v1/auth/login", map[string]any{"email": addr, "password": "secret-pass-123"}, "")
	if st != http.StatusOK {
		t.Fatalf("login: %d %v", st, body)
	}
	return userID, body["token"].(string)
}

// records reads a topic from the beginning to its current end.
func (e *env) records(t *testing.T, topic string) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	remaining := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			remaining[o.Partition] = o.Offset
		}
	})
	var out []*kgo.Record
	for len(remaining) > 0 {
		f := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("reading %s: %v", topic, ctx.Err())
		}
		f.EachRecord(func(r *kgo.Record) {
			if end, ok := remaining[r.Partition]; ok && r.Offset < end {
				out = append(out, r)
				if r.Offset+1 >= end {
					delete(remaining, r.Partition)
				}
			}
		})
	}
	return out
}

// envelope is a catalog event as read from a topic.
type envelope struct {
	EventType string         `json:"eventType"`
	EventID   string         `json:"eventId"`
	Timestamp string         `json:"timestamp"`
	Version   string         `json:"version"`
	Data      map[string]any `json:"data"`
	raw       []byte
	key       string
}

// events returns the events of a type on a topic whose data field `field` equals value.
func (e *env) events(t *testing.T, topic, eventType, field, value string) []envelope {
	t.Helper()
	var out []envelope
	for _, r := range e.records(t, topic) {
		var ev envelope
		if json.Unmarshal(r.Value, &ev) != nil || ev.EventType != eventType || fmt.Sprint(ev.Data[field]) != value {
			continue
		}
		ev.raw, ev.key = r.Value, string(r.Key)
		out = append(out, ev)
	}
	return out
}

func produce(t *testing.T, brokers []string, topic, key string, value []byte) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Key: []byte(key), Value: value}).FirstErr(); err != nil {
		t.Fatal(err)
	}
}
