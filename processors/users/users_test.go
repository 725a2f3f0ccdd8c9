package users_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/tester"

	"github.com/smartautocheck/smartautocheck/codecs"
	"github.com/smartautocheck/smartautocheck/internal/deadletter"
	"github.com/smartautocheck/smartautocheck/internal/topics"
	"github.com/smartautocheck/smartautocheck/processors/users"
	"github.com/smartautocheck/smartautocheck/tables"
)

var now = time.Date(2025, 1, 15, 10, 0, 0, 0, time.UTC)

// start runs the users processor against a goka tester with a fixed clock.
func start(t *testing.T) *tester.Tester {
	t.Helper()
	tt := tester.New(t)
	opts := users.Options{Now: func() time.Time { return now }, Policy: deadletter.Policy{Attempts: 3, Backoff: time.Millisecond}}
	proc, err := goka.NewProcessor(nil, users.Graph(opts), goka.WithTester(tt))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- proc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("processor stopped with %v", err)
		}
	})
	return tt
}

func command(t *testing.T, c tables.UserCommand) []byte {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func registration(verified bool) tables.Registration {
	return tables.Registration{UserID: "u-1", Email: "jane@example.com", FirstName: "Jane", LastName: "Doe",
		Phone: "+33612345678", Role: tables.RoleCustomer, PasswordHash: "$2a$hash", Verified: verified}
}

// drain returns every message the tracker has not returned yet.
func drain(qt *tester.QueueTracker) (keys []string, values []any) {
	for {
		k, v, ok := qt.Next()
		if !ok {
			return keys, values
		}
		keys, values = append(keys, k), append(values, v)
	}
}

// event checks that v is a valid catalog envelope of the type and returns its payload.
func event(t *testing.T, v any, eventType string) codecs.Event {
	t.Helper()
	env, ok := v.(codecs.Envelope)
	if !ok {
		t.Fatalf("event is %T, want codecs.Envelope", v)
	}
	b, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	if err := codecs.Validate(b); err != nil {
		t.Fatalf("emitted %s does not validate: %v", b, err)
	}
	ev, err := codecs.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if ev.EventType != eventType {
		t.Fatalf("event type = %q, want %q", ev.EventType, eventType)
	}
	if !ev.Timestamp.Equal(now) {
		t.Errorf("timestamp = %v, want the processor's clock %v", ev.Timestamp, now)
	}
	return ev
}

func user(t *testing.T, tt *tester.Tester, id string) (tables.User, bool) {
	t.Helper()
	v := tt.TableValue(users.Table, id)
	if v == nil {
		return tables.User{}, false
	}
	u, ok := v.(tables.User)
	if !ok {
		t.Fatalf("table value is %T", v)
	}
	return u, true
}

func TestCreateAndVerify(t *testing.T) {
	tt := start(t)
	events := tt.NewQueueTracker(string(users.Events))
	dead := tt.NewQueueTracker(topics.DeadLetters)

	reg := registration(false)
	tt.Consume(string(users.Commands), "u-1", command(t, tables.UserCommand{Create: &reg}))

	u, ok := user(t, tt, "u-1")
	if !ok {
		t.Fatal("no row after create")
	}
	if u.Status != tables.StatusPendingVerification || u.Email != reg.Email || u.PasswordHash != reg.PasswordHash ||
		!u.CreatedAt.Equal(now) || u.VerifiedAt != nil {
		t.Errorf("row = %+v", u)
	}
	keys, values := drain(events)
	if len(values) != 1 {
		t.Fatalf("create emitted %d events, want 1", len(values))
	}
	if keys[0] != "u-1" {
		t.Errorf("event key = %q, want u-1", keys[0])
	}
	ev := event(t, values[0], codecs.TypeUserRegistered)
	want := codecs.UserRegistered{UserID: "u-1", Email: "jane@example.com", FirstName: "Jane", LastName: "Doe",
		Phone: "+33612345678", Role: tables.RoleCustomer}
	if ev.Payload != want {
		t.Errorf("payload = %+v, want %+v", ev.Payload, want)
	}
	if containsHash(ev.Data) {
		t.Errorf("user.registered leaks the password hash: %s", ev.Data)
	}

	// A redelivered create changes nothing and emits nothing.
	other := reg
	other.FirstName = "Janet"
	tt.Consume(string(users.Commands), "u-1", command(t, tables.UserCommand{Create: &other}))
	if _, values := drain(events); len(values) != 0 {
		t.Errorf("duplicate create emitted %d events", len(values))
	}
	if again, _ := user(t, tt, "u-1"); again.FirstName != "Jane" {
		t.Errorf("duplicate create changed the row: %+v", again)
	}

	// Verify once: one user.verified.
	tt.Consume(string(users.Commands), "u-1", command(t, tables.UserCommand{Verify: &tables.VerifyUser{UserID: "u-1"}}))
	keys, values = drain(events)
	if len(values) != 1 || keys[0] != "u-1" {
		t.Fatalf("verify emitted %v, want one event keyed u-1", keys)
	}
	ev = event(t, values[0], codecs.TypeUserVerified)
	if p := ev.Payload.(codecs.UserVerified); p.UserID != "u-1" || p.Email != "jane@example.com" || !p.VerifiedAt.Equal(now) {
		t.Errorf("payload = %+v", p)
	}
	if u, _ := user(t, tt, "u-1"); u.Status != tables.StatusVerified || u.VerifiedAt == nil || !u.VerifiedAt.Equal(now) {
		t.Errorf("row after verify = %+v", u)
	}

	// Verify again: nothing.
	tt.Consume(string(users.Commands), "u-1", command(t, tables.UserCommand{Verify: &tables.VerifyUser{UserID: "u-1"}}))
	if _, values := drain(events); len(values) != 0 {
		t.Errorf("second verify emitted %d events", len(values))
	}
	// Verify of an unknown user: nothing, and no row.
	tt.Consume(string(users.Commands), "u-404", command(t, tables.UserCommand{Verify: &tables.VerifyUser{UserID: "u-404"}}))
	if _, values := drain(events); len(values) != 0 {
		t.Errorf("verify of unknown user emitted %d events", len(values))
	}
	if _, ok := user(t, tt, "u-404"); ok {
		t.Error("verify of unknown user made a row")
	}
	if _, values := drain(dead); len(values) != 0 {
		t.Errorf("dead letters: %+v", values)
	}
}

// containsHash tells whether any field of the JSON object b is the registration's hash.
func containsHash(b []byte) bool {
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return false
	}
	for _, v := range m {
		if s, ok := v.(string); ok && s == "$2a$hash" {
			return true
		}
	}
	return false
}

func TestCreateVerifiedEmitsBoth(t *testing.T) {
	tt := start(t)
	events := tt.NewQueueTracker(string(users.Events))
	reg := registration(true)
	reg.Role = tables.RoleInspector
	tt.Consume(string(users.Commands), "u-1", command(t, tables.UserCommand{Create: &reg}))
	_, values := drain(events)
	if len(values) != 2 {
		t.Fatalf("verified create emitted %d events, want 2", len(values))
	}
	event(t, values[0], codecs.TypeUserRegistered)
	event(t, values[1], codecs.TypeUserVerified)
	if u, _ := user(t, tt, "u-1"); u.Status != tables.StatusVerified {
		t.Errorf("row = %+v", u)
	}
}

func TestBadCommandsAreDeadLettered(t *testing.T) {
	tests := []struct {
		name  string
		value []byte
	}{
		{"garbage", []byte("\x00not json")},
		{"empty command", []byte(`{}`)},
		{"wrong shape", []byte(`{"create":"yes"}`)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tt := start(t)
			events := tt.NewQueueTracker(string(users.Events))
			dead := tt.NewQueueTracker(topics.DeadLetters)

			tt.Consume(string(users.Commands), "u-1", tc.value)
			keys, values := drain(dead)
			if len(values) != 1 {
				t.Fatalf("%d dead letters, want 1", len(values))
			}
			l, ok := values[0].(deadletter.Letter)
			if !ok {
				t.Fatalf("dead letter is %T", values[0])
			}
			if keys[0] != "u-1" || l.Topic != string(users.Commands) || l.Key != "u-1" || l.Group != string(users.Group) {
				t.Errorf("letter key %q, origin %+v", keys[0], l.Origin)
			}
			if string(l.Value) != string(tc.value) || l.Attempts != 1 || l.Error == "" {
				t.Errorf("letter = %+v, want the original bytes parked after 1 attempt", l)
			}
			if _, ok := user(t, tt, "u-1"); ok {
				t.Error("bad command made a row")
			}

			// The processor keeps going.
			reg := registration(false)
			tt.Consume(string(users.Commands), "u-1", command(t, tables.UserCommand{Create: &reg}))
			if _, ok := user(t, tt, "u-1"); !ok {
				t.Error("next command not processed")
			}
			if _, values := drain(events); len(values) != 1 {
				t.Errorf("next command emitted %d events, want 1", len(values))
			}
			if _, values := drain(dead); len(values) != 0 {
				t.Errorf("more dead letters: %+v", values)
			}
		})
	}
}

// A registration whose event the catalog's schema refuses (an internationalised domain, which
// net/mail accepts) creates no user and emits nothing: the command is parked.
func TestCreateRefusedBySchemaIsParked(t *testing.T) {
	tt := start(t)
	events := tt.NewQueueTracker(string(users.Events))
	dead := tt.NewQueueTracker(topics.DeadLetters)
	reg := registration(false)
	reg.Email = "jane@münchen.de"
	tt.Consume(string(users.Commands), "u-1", command(t, tables.UserCommand{Create: &reg}))
	if _, ok := user(t, tt, "u-1"); ok {
		t.Error("a user whose event is invalid was stored")
	}
	if _, values := drain(events); len(values) != 0 {
		t.Errorf("emitted %+v", values)
	}
	_, values := drain(dead)
	if len(values) != 1 {
		t.Fatalf("%d dead letters, want 1", len(values))
	}
	if l := values[0].(deadletter.Letter); !strings.Contains(l.Error, "schema") || l.Key != "u-1" {
		t.Errorf("letter = %+v", l)
	}
}
