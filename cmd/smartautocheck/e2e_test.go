package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/mail"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The binary end to end, as a user runs it: `run` on the embedded broker, the tool
// subcommands against it, and a kill -9 in the middle.

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

type instance struct {
	bin, dataDir, httpAddr, kafkaAddr string
	cmd                               *exec.Cmd
	log                               bytes.Buffer
}

func (in *instance) start(t *testing.T) {
	t.Helper()
	// A short payment window, so a booking's expiry can be watched across a kill -9.
	in.cmd = exec.Command(in.bin, "run", "--data-dir", in.dataDir, "--http-addr", in.httpAddr, "--kafka-addr", in.kafkaAddr,
		"--payment-hold", "3s")
	in.cmd.Stdout, in.cmd.Stderr = &in.log, &in.log
	in.cmd.Env = append(os.Environ(), "SAC_ADMIN_EMAIL=admin@example.com", "SAC_ADMIN_PASSWORD=admin-password-123")
	if err := in.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + in.httpAddr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready within 60 s:\n%s", in.log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (in *instance) kill9(t *testing.T) {
	t.Helper()
	_ = in.cmd.Process.Signal(syscall.SIGKILL)
	_ = in.cmd.Wait()
}

// tool runs a subcommand against the instance's broker.
func (in *instance) tool(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(in.bin, append(args, "--brokers", in.kafkaAddr)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (in *instance) post(t *testing.T, path string, body any) (int, map[string]any) {
	t.Helper()
	raw, _ := json.Marshal(body)
	resp, err := http.Post("http://"+in.httpAddr+path, "application/json", bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]any{}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestBinaryEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "smartautocheck")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	in := &instance{bin: bin, dataDir: filepath.Join(dir, "data"), httpAddr: freeAddr(t), kafkaAddr: freeAddr(t)}
	in.start(t)
	defer func() {
		if in.cmd.ProcessState == nil {
			_ = in.cmd.Process.Signal(syscall.SIGTERM)
			_ = in.cmd.Wait()
		}
	}()

	st, body := in.post(t, "/v1/auth/register", map[string]any{"email": "e2e@example.com", "password": "secret-pass-123",
		"firstName": "E", "lastName": "Two", "phone": "+33612345678"})
	if st != http.StatusCreated {
		t.Fatalf("register: %d %v", st, body)
	}
	userID := body["userId"].(string)
	token := in.verifiedLogin(t, "e2e@example.com")
	apptID := in.bookSomething(t, token)

	out, err := in.tool(t, "topics", "list")
	if err != nil {
		t.Fatalf("topics list: %v\n%s", err, out)
	}
	for _, topic := range []string{"appointments-topic", "payments-topic", "inspections-topic", "certificates-topic", "notifications-topic", "users-topic", "dead-letters"} {
		if !regexp.MustCompile(`(?m)^` + topic + `\s.*\sok$`).MatchString(out) {
			t.Errorf("topics list does not show %s as ok:\n%s", topic, out)
		}
	}

	// A garbage record is parked, listed, and can be replayed (it is parked again, being garbage).
	cl, err := kgo.NewClient(kgo.SeedBrokers(in.kafkaAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := context.Background()
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "users-topic", Key: []byte("e2e-garbage"), Value: []byte("not json")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	var letters string
	waitFor(t, "the garbage record in dlq list", func() bool {
		letters, _ = in.tool(t, "dlq", "list")
		return strings.Contains(letters, "e2e-garbage")
	})
	offset := regexp.MustCompile(`(?m)^(\d+)\s.*e2e-garbage`).FindStringSubmatch(letters)
	if offset == nil {
		t.Fatalf("dlq list:\n%s", letters)
	}
	if out, err := in.tool(t, "dlq", "replay", offset[1]); err != nil || !strings.Contains(out, "replayed") {
		t.Fatalf("dlq replay: %v\n%s", err, out)
	}
	waitFor(t, "the replayed record parked again", func() bool {
		l, _ := in.tool(t, "dlq", "list")
		return strings.Count(l, "e2e-garbage") == 2
	})

	out, err = in.tool(t, "groups", "describe", "notifications-consumer")
	if err != nil || !strings.Contains(out, "users-topic") || !strings.Contains(out, "appointments-topic") {
		t.Fatalf("groups describe notifications-consumer: %v\n%s", err, out)
	}

	// kill -9, restart: the user is there and the event log did not grow.
	before := countLines(t, in, "users-topic")
	in.kill9(t)
	time.Sleep(4 * time.Second) // the booking's window closes while the process is down
	in.start(t)
	waitFor(t, "the booking to expire after the restart", func() bool {
		return in.get(t, "/v1/appointments/"+apptID, token)["status"] == "expired"
	})
	st, body = in.post(t, "/v1/auth/login", map[string]any{"email": "E2E@example.com", "password": "secret-pass-123"})
	if st != http.StatusOK || body["userId"] != userID {
		t.Fatalf("login after kill -9: %d %v", st, body)
	}
	time.Sleep(2 * time.Second)
	if after := countLines(t, in, "users-topic"); after != before {
		out, _ := in.tool(t, "consume", "--topic", "users-topic", "--from-beginning", "--until-end")
		t.Fatalf("users-topic had %d records before kill -9, %d after restart:\n%s\n%s", before, after, out, in.log.String())
	}

	// A topic whose partition count differs from the catalog is reported, never used.
	if _, err := kadm.NewClient(cl).CreatePartitions(ctx, 1, "users-topic"); err != nil {
		t.Fatal(err)
	}
	out, err = in.tool(t, "topics", "ensure")
	if err == nil || !strings.Contains(out, "users-topic has 2 partitions, the catalog says 1") {
		t.Fatalf("topics ensure with a grown users-topic: err=%v\n%s", err, out)
	}
}

func countLines(t *testing.T, in *instance, topic string) int {
	t.Helper()
	out, err := in.tool(t, "consume", "--topic", topic, "--from-beginning", "--until-end")
	if err != nil {
		t.Fatalf("consume %s: %v\n%s", topic, err, out)
	}
	n := 0
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "{") {
			n++
		}
	}
	return n
}

func waitFor(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 20 s for %s", what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// verifiedLogin verifies an address with the link from its outbox email and logs in.
func (in *instance) verifiedLogin(t *testing.T, email string) string {
	t.Helper()
	var token string
	waitFor(t, "the verification email", func() bool {
		files, _ := filepath.Glob(filepath.Join(in.dataDir, "outbox", "email", "*.eml"))
		for _, f := range files {
			raw, _ := os.ReadFile(f)
			m, err := mail.ReadMessage(bytes.NewReader(raw))
			if err != nil || !strings.Contains(m.Header.Get("To"), email) {
				continue
			}
			body, _ := io.ReadAll(quotedprintable.NewReader(m.Body))
			if found := regexp.MustCompile(`token=([A-Za-z0-9._~%-]+)`).FindSubmatch(body); found != nil {
				token, _ = url.QueryUnescape(string(found[1]))
				return true
			}
		}
		return false
	})
	if st, body := in.post(t, "/v1/auth/verify", map[string]any{"token": token}); st != http.StatusOK {
		t.Fatalf("verify: %d %v", st, body)
	}
	st, body := in.post(t, "/v1/auth/login", map[string]any{"email": email, "password": "secret-pass-123"})
	if st != http.StatusOK {
		t.Fatalf("login: %d %v", st, body)
	}
	return body["token"].(string)
}

// bookSomething books the first bookable slot of the built-in center.
func (in *instance) bookSomething(t *testing.T, token string) string {
	t.Helper()
	for d := 1; d < 10; d++ {
		date := time.Now().AddDate(0, 0, d).Format("2006-01-02")
		slots, _ := in.get(t, "/v1/centers/center-123/slots?date="+date, "")["slots"].([]any)
		if len(slots) == 0 {
			continue
		}
		raw, _ := json.Marshal(map[string]any{"centerId": "center-123", "serviceType": "standard", "date": date,
			"time": slots[0].(map[string]any)["time"], "vehicle": map[string]any{"registration": "E2E-1", "make": "Renault", "model": "Clio", "year": 2019}})
		req, _ := http.NewRequest("POST", "http://"+in.httpAddr+"/v1/appointments", bytes.NewReader(raw))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var a map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&a)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("book: %d %v", resp.StatusCode, a)
		}
		return a["appointmentId"].(string)
	}
	t.Fatal("no bookable slot in the next days")
	return ""
}

func (in *instance) get(t *testing.T, path, token string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+in.httpAddr+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]any{}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return out
}
