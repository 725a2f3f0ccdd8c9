package users_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/tester"

	"github.com/smartautocheck/smartautocheck/codecs"
	"github.com/smartautocheck/smartautocheck/internal/deadletter"
	"github.com/smartautocheck/smartautocheck/internal/topics"
	"github.com/smartautocheck/smartautocheck/processors/centers"
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

// event checks that v is the JSON of a valid catalog envelope of the type (outputs use the Raw
// codec) and returns its payload.
func event(t *testing.T, v any, eventType string) codecs.Event {
	t.Helper()
	b, ok := v.([]byte)
	if !ok {
		t.Fatalf("event is %T, want []byte", v)
	}
	var env codecs.Envelope
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatalf("event %s is not an envelope: %v", b, err)
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

// An inspector of a center joins its staff: the centers processor is told.
func TestInspectorJoinsItsCenter(t *testing.T) {
	tt := start(t)
	staff := tt.NewQueueTracker(topics.CenterCommands)
	reg := registration(true)
	reg.Role, reg.CenterID = tables.RoleInspector, "center-123"
	tt.Consume(string(users.Commands), "u-1", command(t, tables.UserCommand{Create: &reg}))
	keys, values := drain(staff)
	if len(values) != 1 || keys[0] != "center-123" {
		t.Fatalf("center commands %q, want one keyed center-123", keys)
	}
	var cmd centers.AddInspector
	if err := json.Unmarshal(values[0].([]byte), &cmd); err != nil || cmd.UserID != "u-1" {
		t.Errorf("center command %s (%v), want u-1 added", values[0], err)
	}
	u, _ := user(t, tt, "u-1")
	if u.Journal == nil || u.Journal.Input != string(users.Commands)+"/0/0" || len(u.Journal.Emits) != 3 {
		t.Errorf("journal = %+v, want the input and its three emits", u.Journal)
	}

	// Customers, and inspectors of no center, join nothing.
	for i, r := range []tables.Registration{registration(false), {UserID: "u-3", Email: "i@example.com", FirstName: "I",
		LastName: "N", Phone: "+33612345679", Role: tables.RoleInspector, PasswordHash: "h", Verified: true}} {
		r.UserID = []string{"u-2", "u-3"}[i]
		tt.Consume(string(users.Commands), r.UserID, command(t, tables.UserCommand{Create: &r}))
	}
	if keys, _ := drain(staff); len(keys) != 0 {
		t.Errorf("center commands %q, want none", keys)
	}
}

// A create that comes again after a crash (the row journals that very input) sends the same
// events again — same event ids — while a plain duplicate sends nothing.
func TestJournalReplay(t *testing.T) {
	tt := start(t)
	events := tt.NewQueueTracker(string(users.Events))
	inputs := tt.NewQueueTracker(string(users.Commands))
	reg := registration(false)
	create := command(t, tables.UserCommand{Create: &reg})
	tt.Consume(string(users.Commands), "u-1", create)
	_, first := drain(events)
	if len(first) != 1 {
		t.Fatalf("create emitted %d events", len(first))
	}

	u, _ := user(t, tt, "u-1")
	j := *u.Journal
	j.Input = string(users.Commands) + "/0/" + strconv.FormatInt(inputs.Hwm(), 10)
	u.Journal = &j
	tt.SetTableValue(users.Table, "u-1", u)

	tt.Consume(string(users.Commands), "u-1", create)
	_, again := drain(events)
	if len(again) != 1 || string(again[0].([]byte)) != string(first[0].([]byte)) {
		t.Errorf("replay emitted %s, want the same bytes %s", again, first)
	}
	if got, _ := user(t, tt, "u-1"); got.Journal == nil || got.Journal.Input != j.Input || got.Status != u.Status {
		t.Errorf("row after replay = %+v", got)
	}

	tt.Consume(string(users.Commands), "u-1", create)
	if _, values := drain(events); len(values) != 0 {
		t.Errorf("duplicate after replay emitted %d events", len(values))
	}
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
