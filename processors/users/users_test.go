package users_test

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lovoo/goka/tester"

	"github.com/smartautocheck/smartautocheck/codecs"
	"github.com/smartautocheck/smartautocheck/internal/deadletter"
	"github.com/smartautocheck/smartautocheck/internal/gokatest"
	"github.com/smartautocheck/smartautocheck/internal/topics"
	"github.com/smartautocheck/smartautocheck/processors/centers"
	"github.com/smartautocheck/smartautocheck/processors/users"
	"github.com/smartautocheck/smartautocheck/tables"
)

var now = time.Date(2025, 1, 15, 10, 0, 0, 0, time.UTC)

// start runs the users processor against a goka tester with a fixed clock.
func start(t *testing.T) *tester.Tester {
	t.Helper()
	return gokatest.Start(t, users.Graph(users.Options{Now: gokatest.Fixed(now), Policy: gokatest.Policy()}))
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

// event checks that the record is a valid catalog event of the type (outputs use the Raw codec),
// stamped with the processor's clock, and returns its payload.
func event(t *testing.T, b []byte, eventType string) codecs.Event {
	t.Helper()
	return gokatest.Event(t, b, eventType, now)
}

func user(t *testing.T, tt *tester.Tester, id string) (tables.User, bool) {
	t.Helper()
	return gokatest.Row[tables.User](t, tt, users.Table, id)
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
	recs := gokatest.Drain[[]byte](t, events)
	if len(recs) != 1 {
		t.Fatalf("create emitted %d events, want 1", len(recs))
	}
	if recs[0].Key != "u-1" {
		t.Errorf("event key = %q, want u-1", recs[0].Key)
	}
	ev := event(t, recs[0].Value, codecs.TypeUserRegistered)
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
	if n := gokatest.Count(events); n != 0 {
		t.Errorf("duplicate create emitted %d events", n)
	}
	if again, _ := user(t, tt, "u-1"); again.FirstName != "Jane" {
		t.Errorf("duplicate create changed the row: %+v", again)
	}

	// Verify once: one user.verified.
	tt.Consume(string(users.Commands), "u-1", command(t, tables.UserCommand{Verify: &tables.VerifyUser{UserID: "u-1"}}))
	recs = gokatest.Drain[[]byte](t, events)
	if len(recs) != 1 || recs[0].Key != "u-1" {
		t.Fatalf("verify emitted %q, want one event keyed u-1", recs)
	}
	ev = event(t, recs[0].Value, codecs.TypeUserVerified)
	if p := ev.Payload.(codecs.UserVerified); p.UserID != "u-1" || p.Email != "jane@example.com" || !p.VerifiedAt.Equal(now) {
		t.Errorf("payload = %+v", p)
	}
	if u, _ := user(t, tt, "u-1"); u.Status != tables.StatusVerified || u.VerifiedAt == nil || !u.VerifiedAt.Equal(now) {
		t.Errorf("row after verify = %+v", u)
	}

	// Verify again: nothing.
	tt.Consume(string(users.Commands), "u-1", command(t, tables.UserCommand{Verify: &tables.VerifyUser{UserID: "u-1"}}))
	if n := gokatest.Count(events); n != 0 {
		t.Errorf("second verify emitted %d events", n)
	}
	// Verify of an unknown user: nothing, and no row.
	tt.Consume(string(users.Commands), "u-404", command(t, tables.UserCommand{Verify: &tables.VerifyUser{UserID: "u-404"}}))
	if n := gokatest.Count(events); n != 0 {
		t.Errorf("verify of unknown user emitted %d events", n)
	}
	if _, ok := user(t, tt, "u-404"); ok {
		t.Error("verify of unknown user made a row")
	}
	if letters := gokatest.Drain[deadletter.Letter](t, dead); len(letters) != 0 {
		t.Errorf("dead letters: %+v", letters)
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
	recs := gokatest.Drain[[]byte](t, staff)
	if len(recs) != 1 || recs[0].Key != "center-123" {
		t.Fatalf("center commands %q, want one keyed center-123", recs)
	}
	var cmd centers.AddInspector
	if err := json.Unmarshal(recs[0].Value, &cmd); err != nil || cmd.UserID != "u-1" {
		t.Errorf("center command %s (%v), want u-1 added", recs[0].Value, err)
	}
	u, _ := user(t, tt, "u-1")
	if len(u.Journal) != 1 || u.Journal[0].Input != gokatest.Input(users.Commands, 0) || len(u.Journal[0].Emits) != 3 {
		t.Errorf("journal = %+v, want the input and its three emits", u.Journal)
	}

	// Customers, and inspectors of no center, join nothing.
	for i, r := range []tables.Registration{registration(false), {UserID: "u-3", Email: "i@example.com", FirstName: "I",
		LastName: "N", Phone: "+33612345679", Role: tables.RoleInspector, PasswordHash: "h", Verified: true}} {
		r.UserID = []string{"u-2", "u-3"}[i]
		tt.Consume(string(users.Commands), r.UserID, command(t, tables.UserCommand{Create: &r}))
	}
	if recs := gokatest.Drain[[]byte](t, staff); len(recs) != 0 {
		t.Errorf("center commands %q, want none", recs)
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
	first := gokatest.Drain[[]byte](t, events)
	if len(first) != 1 {
		t.Fatalf("create emitted %d events", len(first))
	}

	u, _ := user(t, tt, "u-1")
	next := string(users.Commands) + "/0/" + strconv.FormatInt(inputs.Hwm(), 10)
	u.Journal = gokatest.Rename(t, u.Journal, gokatest.Latest(t, u.Journal).Input, next)
	tt.SetTableValue(users.Table, "u-1", u)

	tt.Consume(string(users.Commands), "u-1", create)
	again := gokatest.Drain[[]byte](t, events)
	if len(again) != 1 || string(again[0].Value) != string(first[0].Value) {
		t.Errorf("replay emitted %q, want the same bytes %q", again, first)
	}
	if got, _ := user(t, tt, "u-1"); len(got.Journal) != 1 || got.Journal[0].Input != next || got.Status != u.Status {
		t.Errorf("row after replay = %+v", got)
	}

	tt.Consume(string(users.Commands), "u-1", create)
	if n := gokatest.Count(events); n != 0 {
		t.Errorf("duplicate after replay emitted %d events", n)
	}
}

// A create that comes again after the user was verified since — its input is no longer the
// row's latest — still finds its journal entry: the same user.registered goes again, and the row
// stays verified.
func TestJournalReplayOfAnOlderInput(t *testing.T) {
	tt := start(t)
	events := tt.NewQueueTracker(string(users.Events))
	inputs := tt.NewQueueTracker(string(users.Commands))
	reg := registration(false)
	create := command(t, tables.UserCommand{Create: &reg})
	created := inputs.Hwm()
	tt.Consume(string(users.Commands), "u-1", create)
	first := gokatest.One[[]byte](t, events, "create events")
	verified := inputs.Hwm()
	tt.Consume(string(users.Commands), "u-1", command(t, tables.UserCommand{Verify: &tables.VerifyUser{UserID: "u-1"}}))
	event(t, gokatest.One[[]byte](t, events, "verify events").Value, codecs.TypeUserVerified)

	u, _ := user(t, tt, "u-1")
	want := []string{gokatest.Input(users.Commands, created), gokatest.Input(users.Commands, verified)}
	if got := gokatest.Inputs(u.Journal); !reflect.DeepEqual(got, want) {
		t.Fatalf("journal inputs = %q, want %q", got, want)
	}
	u.Journal = gokatest.Rename(t, u.Journal, want[0], gokatest.Input(users.Commands, inputs.Hwm()))
	tt.SetTableValue(users.Table, "u-1", u)

	tt.Consume(string(users.Commands), "u-1", create)
	if again := gokatest.One[[]byte](t, events, "replayed events"); again.Key != first.Key || string(again.Value) != string(first.Value) {
		t.Errorf("replay emitted %q, want the same bytes %q", again, first)
	}
	if got, _ := user(t, tt, "u-1"); !reflect.DeepEqual(got, u) || got.Status != tables.StatusVerified {
		t.Errorf("row after replay = %+v, want %+v", got, u)
	}
	tt.Consume(string(users.Commands), "u-1", create)
	if n := gokatest.Count(events); n != 0 {
		t.Errorf("duplicate after replay emitted %d events", n)
	}
}

func TestCreateVerifiedEmitsBoth(t *testing.T) {
	tt := start(t)
	events := tt.NewQueueTracker(string(users.Events))
	reg := registration(true)
	reg.Role = tables.RoleInspector
	tt.Consume(string(users.Commands), "u-1", command(t, tables.UserCommand{Create: &reg}))
	recs := gokatest.Drain[[]byte](t, events)
	if len(recs) != 2 {
		t.Fatalf("verified create emitted %d events, want 2", len(recs))
	}
	event(t, recs[0].Value, codecs.TypeUserRegistered)
	event(t, recs[1].Value, codecs.TypeUserVerified)
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
			dl := gokatest.One[deadletter.Letter](t, dead, "dead letters")
			l := dl.Value
			if dl.Key != "u-1" || l.Topic != string(users.Commands) || l.Key != "u-1" || l.Group != string(users.Group) {
				t.Errorf("letter key %q, origin %+v", dl.Key, l.Origin)
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
			if n := gokatest.Count(events); n != 1 {
				t.Errorf("next command emitted %d events, want 1", n)
			}
			if letters := gokatest.Drain[deadletter.Letter](t, dead); len(letters) != 0 {
				t.Errorf("more dead letters: %+v", letters)
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
	if recs := gokatest.Drain[[]byte](t, events); len(recs) != 0 {
		t.Errorf("emitted %q", recs)
	}
	if l := gokatest.One[deadletter.Letter](t, dead, "dead letters").Value; !strings.Contains(l.Error, "schema") || l.Key != "u-1" {
		t.Errorf("letter = %+v", l)
	}
}
