package app_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/smartautocheck/smartautocheck/codecs"
	"github.com/smartautocheck/smartautocheck/internal/deadletter"
	"github.com/smartautocheck/smartautocheck/internal/kafkaconfig"
	"github.com/smartautocheck/smartautocheck/internal/topics"
	"github.com/smartautocheck/smartautocheck/tables"
)

func TestPipelineRegisterVerifyLoginMe(t *testing.T) {
	e := shared(t)
	addr := newEmail("flow")
	userID, token := e.registerVerified(t, addr)

	st, me := e.call(t, "GET", "/v1/users/me", nil, token)
	if st != http.StatusOK || me["userId"] != userID || me["email"] != addr || me["status"] != "verified" || me["role"] != "customer" {
		t.Fatalf("/v1/users/me: %d %v", st, me)
	}
	if _, leaked := me["passwordHash"]; leaked {
		t.Fatal("/v1/users/me shows the password hash")
	}
	if st, body := e.call(t, "GET", "/v1/users/me", nil, ""); st != http.StatusUnauthorized || errorCode(body) != "unauthenticated" {
		t.Fatalf("me without a token: %d %v", st, body)
	}
	if st, body := e.call(t, "GET", "/v1/users/me", nil, token+"x"); st != http.StatusUnauthorized {
		t.Fatalf("me with a tampered token: %d %v", st, body)
	}

	reg := e.events(t, topics.Users, codecs.TypeUserRegistered, "userId", userID)
	ver := e.events(t, topics.Users, codecs.TypeUserVerified, "userId", userID)
	if len(reg) != 1 || len(ver) != 1 {
		t.Fatalf("user.registered x%d, user.verified x%d; want one each", len(reg), len(ver))
	}
	for _, ev := range append(reg, ver...) {
		if err := codecs.Validate(ev.raw); err != nil {
			t.Errorf("%s does not validate against its schema: %v", ev.EventType, err)
		}
		if _, err := codecs.Decode(ev.raw); err != nil {
			t.Errorf("%s does not decode: %v", ev.EventType, err)
		}
		if ev.key != userID {
			t.Errorf("%s keyed %q, want the userId", ev.EventType, ev.key)
		}
	}
	d := reg[0].Data
	if d["email"] != addr || d["firstName"] != "John" || d["lastName"] != "Doe" || d["phone"] != "+33612345678" || d["role"] != "customer" {
		t.Errorf("user.registered data: %v", d)
	}

	// Verifying again answers the same and emits nothing.
	tok := e.verificationToken(t, addr)
	if st, body := e.call(t, "GET", "/v1/auth/verify?token="+tok, nil, ""); st != http.StatusOK || body["userId"] != userID {
		t.Fatalf("verify again: %d %v", st, body)
	}
	if n := len(e.events(t, topics.Users, codecs.TypeUserVerified, "userId", userID)); n != 1 {
		t.Fatalf("user.verified x%d after verifying twice", n)
	}

	// Each of the two emails was sent once and reported by notification.sent.
	eventually(t, "two emails to "+addr, 10*time.Second, func() bool { return len(e.emailsTo(t, addr)) == 2 })
	eventually(t, "notification.sent for both emails", 10*time.Second, func() bool {
		return len(e.events(t, topics.Notifications, codecs.TypeNotificationSent, "recipient", addr)) == 2
	})
	for _, ev := range e.events(t, topics.Notifications, codecs.TypeNotificationSent, "recipient", addr) {
		if err := codecs.Validate(ev.raw); err != nil {
			t.Errorf("notification.sent does not validate: %v", err)
		}
	}
}

func TestPipelineLoginRefusals(t *testing.T) {
	e := shared(t)
	addr := newEmail("login")
	e.registerVerified(t, addr)
	for _, c := range []struct {
		name string
		body any
		code int
		want string
	}{
		{"wrong password", map[string]any{"email": addr, "password": "not-the-password"}, 401, "invalid_credentials"},
		{"unknown address", map[string]any{"email": newEmail("nobody"), "password": "secret-pass-123"}, 401, "invalid_credentials"},
		{"any case of the address", map[string]any{"email": strings.ToUpper(addr), "password": "secret-pass-123"}, 200, ""},
		{"not JSON", "{nope", 400, "invalid_json"},
		{"missing fields", map[string]any{}, 400, "validation_failed"},
	} {
		st, body := e.call(t, "POST", "/v1/auth/login", c.body, "")
		if st != c.code || errorCode(body) != c.want {
			t.Errorf("%s: %d %v, want %d %s", c.name, st, body, c.code, c.want)
		}
	}
}

func TestPipelineRegistrationValidation(t *testing.T) {
	e := shared(t)
	good := func() map[string]any {
		return map[string]any{"email": newEmail("v"), "password": "secret-pass-123", "firstName": "A", "lastName": "B", "phone": "+33612345678"}
	}
	for _, c := range []struct {
		name, field string
		value       any
	}{
		{"bad email", "email", "not-an-address"},
		{"email the catalog refuses", "email", "jöhn@example.com"},
		{"short password", "password", "short"},
		{"phone not E.164", "phone", "0612345678"},
		{"empty first name", "firstName", ""},
		{"wrong type", "lastName", 42},
	} {
		b := good()
		b[c.field] = c.value
		st, body := e.call(t, "POST", "/v1/auth/register", b, "")
		details, _ := body["error"].(map[string]any)["details"].(map[string]any)
		if st != http.StatusBadRequest || errorCode(body) != "validation_failed" || details[c.field] == nil {
			t.Errorf("%s: %d %v, want 400 validation_failed naming %s", c.name, st, body, c.field)
		}
	}
	if st, body := e.call(t, "POST", "/v1/auth/register", "[1,2", ""); st != 400 || errorCode(body) != "invalid_json" {
		t.Errorf("broken JSON: %d %v", st, body)
	}
	if st, body := e.call(t, "POST", "/v1/auth/verify", map[string]any{"token": "abc.def"}, ""); st != 400 {
		t.Errorf("bad verification token: %d %v", st, body)
	}
	if st, body := e.call(t, "DELETE", "/v1/auth/register", nil, ""); st != http.StatusMethodNotAllowed {
		t.Errorf("DELETE register: %d %v", st, body)
	}
	if st, body := e.call(t, "GET", "/v1/nothing-here", nil, ""); st != http.StatusNotFound || errorCode(body) != "not_found" {
		t.Errorf("unknown path: %d %v", st, body)
	}
}

func TestPipelineConcurrentRegistrationsOfOneAddress(t *testing.T) {
	e := shared(t)
	base := newEmail("race")
	codes := make([]int, 20)
	var wg sync.WaitGroup
	for i := range codes {
		variant := base
		switch i % 3 {
		case 0:
			variant = strings.ToUpper(base)
		case 1:
			variant = strings.ToUpper(base[:1]) + base[1:]
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], _ = e.call(t, "POST", "/v1/auth/register", map[string]any{"email": variant, "password": "secret-pass-123",
				"firstName": "Jane", "lastName": "Roe", "phone": "+33612345679"}, "")
		}()
	}
	wg.Wait()
	created, taken := 0, 0
	for _, c := range codes {
		switch c {
		case http.StatusCreated:
			created++
		case http.StatusConflict:
			taken++
		}
	}
	if created != 1 || taken != 19 {
		t.Fatalf("20 concurrent registrations of one address: %v; want one 201 and nineteen 409", codes)
	}
	var regs int
	for _, r := range e.records(t, topics.Users) {
		var ev envelope
		if json.Unmarshal(r.Value, &ev) == nil && ev.EventType == codecs.TypeUserRegistered &&
			strings.EqualFold(ev.Data["email"].(string), base) {
			regs++
		}
	}
	if regs != 1 {
		t.Fatalf("user.registered x%d for the raced address, want 1", regs)
	}
}

func TestPipelineAdminCreatesInspector(t *testing.T) {
	e := shared(t)
	st, body := e.call(t, "POST", "/v1/auth/login", map[string]any{"email": adminEmail, "password": adminPassword}, "")
	if st != http.StatusOK || body["role"] != "admin" {
		t.Fatalf("admin login: %d %v", st, body)
	}
	adminToken := body["token"].(string)
	addr := newEmail("inspector")
	req := map[string]any{"email": addr, "password": "inspector-pass-1", "firstName": "Ina", "lastName": "Spector",
		"phone": "+33611111111", "centerId": "center-123"}

	_, customer := e.registerVerified(t, newEmail("notadmin"))
	if st, body := e.call(t, "POST", "/v1/admin/inspectors", req, customer); st != http.StatusForbidden || errorCode(body) != "forbidden" {
		t.Fatalf("a customer creating an inspector: %d %v", st, body)
	}
	if st, _ := e.call(t, "POST", "/v1/admin/inspectors", req, ""); st != http.StatusUnauthorized {
		t.Fatalf("anonymous inspector creation: %d", st)
	}
	st, body = e.call(t, "POST", "/v1/admin/inspectors", req, adminToken)
	if st != http.StatusCreated || body["role"] != "inspector" || body["status"] != "verified" || body["centerId"] != "center-123" {
		t.Fatalf("create inspector: %d %v", st, body)
	}
	id := body["userId"].(string)
	if n, m := len(e.events(t, topics.Users, codecs.TypeUserRegistered, "userId", id)), len(e.events(t, topics.Users, codecs.TypeUserVerified, "userId", id)); n != 1 || m != 1 {
		t.Fatalf("inspector events: registered x%d verified x%d", n, m)
	}
	st, body = e.call(t, "POST", "/v1/auth/login", map[string]any{"email": addr, "password": "inspector-pass-1"}, "")
	if st != http.StatusOK || body["role"] != "inspector" {
		t.Fatalf("inspector login: %d %v", st, body)
	}
}

func TestPipelineDeadLetters(t *testing.T) {
	e := shared(t)
	garbage := "garbage-" + uuid.NewString()[:8]
	future := "future-" + uuid.NewString()[:8]
	produce(t, e.brokers, topics.Users, garbage, []byte("{not json "+garbage))
	v9, _ := json.Marshal(map[string]any{"eventType": codecs.TypeUserRegistered, "eventId": uuid.NewString(),
		"timestamp": "2024-12-31T10:00:00Z", "version": "9.0", "data": map[string]any{}})
	produce(t, e.brokers, topics.Users, future, v9)
	badCommand := "cmd-" + uuid.NewString()
	produce(t, e.brokers, topics.UserCommands, badCommand, []byte("\x00\x01 not a command"))

	// The partition moves on: a later registration is processed and mailed.
	e.registerVerified(t, newEmail("after-garbage"))

	letters := func() map[string]deadletter.Letter {
		out := map[string]deadletter.Letter{}
		for _, r := range e.records(t, topics.DeadLetters) {
			var l deadletter.Letter
			if json.Unmarshal(r.Value, &l) == nil {
				out[l.Key] = l
			}
		}
		return out
	}
	eventually(t, "three dead letters", 20*time.Second, func() bool {
		l := letters()
		_, a := l[garbage]
		_, b := l[future]
		_, c := l[badCommand]
		return a && b && c
	})
	l := letters()
	if g := l[garbage]; g.Topic != topics.Users || g.Group != "notifications-consumer" || g.Error == "" || string(g.Value) != "{not json "+garbage || g.Time.IsZero() {
		t.Errorf("letter of the malformed record: %+v", g)
	}
	if f := l[future]; !strings.Contains(f.Error, "version") {
		t.Errorf("letter of the unknown major version: %+v", f)
	}
	if c := l[badCommand]; c.Topic != topics.UserCommands || c.Group != "users" || c.Attempts != 1 {
		t.Errorf("letter of the bad command: %+v", c)
	}
}

func TestPipelineFailedNotificationsRetryThenAlert(t *testing.T) {
	e := shared(t)
	addr := "nobody-" + uuid.NewString()[:8] + unreachableDomain
	st, body := e.call(t, "POST", "/v1/auth/register", map[string]any{"email": addr, "password": "secret-pass-123",
		"firstName": "No", "lastName": "Body", "phone": "+33612345678"}, "")
	if st != http.StatusCreated {
		t.Fatalf("register: %d %v", st, body)
	}
	var failed []envelope
	eventually(t, "four notification.failed", 20*time.Second, func() bool {
		failed = e.events(t, topics.Notifications, codecs.TypeNotificationFailed, "recipient", addr)
		return len(failed) >= 4
	})
	for i, ev := range failed {
		if got := ev.Data["retryCount"]; got != float64(i) {
			t.Errorf("failure %d has retryCount %v", i, got)
		}
		if err := codecs.Validate(ev.raw); err != nil {
			t.Errorf("notification.failed does not validate: %v", err)
		}
	}
	eventually(t, "the admin's alert", 20*time.Second, func() bool {
		for _, m := range e.emailsTo(t, adminEmail) {
			if strings.Contains(m.Header.Get("Subject"), addr) {
				return true
			}
		}
		return false
	})
	if got := len(e.events(t, topics.Notifications, codecs.TypeNotificationFailed, "recipient", addr)); got != 4 {
		t.Fatalf("notification.failed x%d, want 4 (one send and three retries)", got)
	}
}

// TestPipelinePartitionerAgreement: a command keyed K by franz-go's default partitioner (the Java
// client's murmur2) reaches the partition whose processor owns K's state, so the view finds it.
func TestPipelinePartitionerAgreement(t *testing.T) {
	e := shared(t)
	var ids []string
	for i := 0; i < 40; i++ {
		id := uuid.NewString()
		ids = append(ids, id)
		reg := tables.Registration{UserID: id, Email: newEmail("part"), FirstName: "P", LastName: "Q",
			Phone: "+33612345678", Role: tables.RoleCustomer, PasswordHash: "x"}
		b, _ := json.Marshal(tables.UserCommand{Create: &reg})
		produce(t, e.brokers, topics.UserCommands, id, b)
	}
	parts := map[int32]bool{}
	for _, id := range ids {
		parts[kafkaconfig.Partition([]byte(id), 2)] = true
	}
	if len(parts) != 2 {
		t.Fatal("the keys do not cover both partitions")
	}
	eventually(t, "every user created and found by its key", 20*time.Second, func() bool {
		for _, id := range ids {
			if n := len(e.events(t, topics.Users, codecs.TypeUserRegistered, "userId", id)); n != 1 {
				return false
			}
		}
		return true
	})
	for _, id := range ids {
		var regs []envelope = e.events(t, topics.Users, codecs.TypeUserRegistered, "userId", id)
		if len(regs) != 1 {
			t.Fatalf("user %s registered x%d", id, len(regs))
		}
	}
	// A second create of the same ids is refused by state the processor found under the key:
	// had the partitioners disagreed, the rows would sit on another partition and be created again.
	for _, id := range ids[:5] {
		reg := tables.Registration{UserID: id, Email: newEmail("part"), FirstName: "P", LastName: "Q",
			Phone: "+33612345678", Role: tables.RoleCustomer, PasswordHash: "x"}
		b, _ := json.Marshal(tables.UserCommand{Create: &reg})
		produce(t, e.brokers, topics.UserCommands, id, b)
	}
	marker := newEmail("marker")
	e.registerVerified(t, marker)
	for _, id := range ids[:5] {
		if n := len(e.events(t, topics.Users, codecs.TypeUserRegistered, "userId", id)); n != 1 {
			t.Fatalf("user %s registered x%d after a duplicate create", id, n)
		}
	}
}

// TestPipelineRestartKeepsEverything stops the service and starts it on the same data dir: the
// users are still there and nothing is emitted or sent again.
func TestPipelineRestartKeepsEverything(t *testing.T) {
	e := shared(t)
	var users [][2]string
	for i := 0; i < 3; i++ {
		id, tok := e.registerVerified(t, newEmail("restart"))
		users = append(users, [2]string{id, tok})
	}
	time.Sleep(time.Second) // let the last notifications land before counting
	before, mails := len(e.records(t, topics.Users)), len(e.emailsTo(t, "@"))
	e.app.Close()
	if err := e.start(); err != nil {
		t.Fatalf("restart: %v", err)
	}
	for _, u := range users {
		st, me := e.call(t, "GET", "/v1/users/me", nil, u[1])
		if st != http.StatusOK || me["userId"] != u[0] {
			t.Fatalf("after restart, /v1/users/me: %d %v", st, me)
		}
	}
	time.Sleep(2 * time.Second) // anything replayed by mistake would show by now
	if after, m := len(e.records(t, topics.Users)), len(e.emailsTo(t, "@")); after != before || m != mails {
		t.Fatalf("after restart: users-topic %d -> %d records, outbox %d -> %d emails", before, after, mails, m)
	}
	e.registerVerified(t, newEmail("after-restart"))
}
