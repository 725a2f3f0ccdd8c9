package emails_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/lovoo/goka/tester"

	"github.com/smartautocheck/smartautocheck/internal/deadletter"
	"github.com/smartautocheck/smartautocheck/internal/gokatest"
	"github.com/smartautocheck/smartautocheck/internal/topics"
	"github.com/smartautocheck/smartautocheck/processors/emails"
	"github.com/smartautocheck/smartautocheck/processors/users"
	"github.com/smartautocheck/smartautocheck/tables"
)

var now = time.Date(2025, 1, 15, 10, 0, 0, 0, time.UTC)

func start(t *testing.T) *tester.Tester {
	t.Helper()
	return gokatest.Start(t, emails.Graph(emails.Options{Now: gokatest.Fixed(now), Policy: gokatest.Policy()}))
}

func registration(userID string) tables.Registration {
	return tables.Registration{UserID: userID, Email: "Jane@Example.com", FirstName: "Jane", LastName: "Doe",
		Phone: "+33612345678", Role: tables.RoleCustomer, PasswordHash: "hash-" + userID}
}

func claim(t *testing.T, reg tables.Registration) []byte {
	t.Helper()
	b, err := json.Marshal(tables.ClaimEmail{Registration: reg})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// row reads the claim of key without its journal, which rows compare without.
func row(t *testing.T, tt *tester.Tester, key string) (tables.EmailClaim, bool) {
	t.Helper()
	c, ok := gokatest.Row[tables.EmailClaim](t, tt, emails.Table, key)
	c.Journal = nil
	return c, ok
}

const key = "jane@example.com"

func TestClaims(t *testing.T) {
	tt := start(t)
	cmds := tt.NewQueueTracker(string(users.Commands))
	dead := tt.NewQueueTracker(topics.DeadLetters)

	expectCreate := func(step string, reg tables.Registration) {
		t.Helper()
		recs := gokatest.Drain[tables.UserCommand](t, cmds)
		if len(recs) != 1 {
			t.Fatalf("%s: %d user commands, want 1", step, len(recs))
		}
		if k, cmd := recs[0].Key, recs[0].Value; k != reg.UserID || cmd.Verify != nil || cmd.Create == nil || !reflect.DeepEqual(*cmd.Create, reg) {
			t.Errorf("%s: command %q %+v, want create of %+v keyed by its userId", step, k, cmd, reg)
		}
	}
	wantRow := tables.EmailClaim{Email: key, UserID: "u-1", ClaimedAt: now}

	// First claim wins.
	first := claim(t, registration("u-1"))
	tt.Consume(string(emails.Claims), key, first)
	if got, ok := row(t, tt, key); !ok || !reflect.DeepEqual(got, wantRow) {
		t.Errorf("row = %+v (found %v), want %+v", got, ok, wantRow)
	}
	// The row journals its input and the create it sent.
	if got, _ := gokatest.Row[tables.EmailClaim](t, tt, emails.Table, key); len(got.Journal) != 1 || got.Journal[0].Input != gokatest.Input(emails.Claims, 0) ||
		len(got.Journal[0].Emits) != 1 || got.Journal[0].Emits[0].Topic != string(users.Commands) || got.Journal[0].Emits[0].Key != "u-1" {
		t.Errorf("journal = %+v, want input %s/0/0 and the create", got.Journal, emails.Claims)
	}
	expectCreate("first claim", registration("u-1"))

	// A competing claim is refused: no command, the row still names the first owner.
	tt.Consume(string(emails.Claims), key, claim(t, registration("u-2")))
	if recs := gokatest.Drain[[]byte](t, cmds); len(recs) != 0 {
		t.Errorf("competing claim sent %q", recs)
	}
	if got, _ := row(t, tt, key); !reflect.DeepEqual(got, wantRow) {
		t.Errorf("row after competing claim = %+v, want %+v", got, wantRow)
	}

	// The owner's claim, redelivered, sends the create again (the users processor dedups it).
	tt.Consume(string(emails.Claims), key, claim(t, registration("u-1")))
	expectCreate("redelivered claim", registration("u-1"))
	if got, _ := row(t, tt, key); !reflect.DeepEqual(got, wantRow) {
		t.Errorf("row after redelivery = %+v, want %+v", got, wantRow)
	}

	if letters := gokatest.Drain[deadletter.Letter](t, dead); len(letters) != 0 {
		t.Errorf("dead letters: %+v", letters)
	}
}

func TestBadClaimsAreDeadLettered(t *testing.T) {
	tests := []struct {
		name, key string
		value     func(t *testing.T) []byte
	}{
		{"key not normalized", "Jane@Example.com", func(t *testing.T) []byte { return claim(t, registration("u-1")) }},
		{"key of another address", "john@example.com", func(t *testing.T) []byte { return claim(t, registration("u-1")) }},
		{"garbage", key, func(*testing.T) []byte { return []byte("{{{") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tt := start(t)
			cmds := tt.NewQueueTracker(string(users.Commands))
			dead := tt.NewQueueTracker(topics.DeadLetters)
			value := tc.value(t)

			tt.Consume(string(emails.Claims), tc.key, value)
			if recs := gokatest.Drain[[]byte](t, cmds); len(recs) != 0 {
				t.Errorf("bad claim sent %q", recs)
			}
			if _, ok := row(t, tt, tc.key); ok {
				t.Error("bad claim made a row")
			}
			dl := gokatest.One[deadletter.Letter](t, dead, "dead letters")
			if l := dl.Value; dl.Key != tc.key || l.Topic != string(emails.Claims) || l.Key != tc.key || l.Group != string(emails.Group) ||
				string(l.Value) != string(value) || l.Attempts != 1 || l.Error == "" || l.Time.IsZero() || l.Time.Location() != time.UTC {
				t.Errorf("letter %q = %+v", dl.Key, l)
			}

			// The processor keeps going.
			tt.Consume(string(emails.Claims), key, claim(t, registration("u-1")))
			if n := gokatest.Count(cmds); n != 1 {
				t.Errorf("next claim sent %d commands, want 1", n)
			}
		})
	}
}
