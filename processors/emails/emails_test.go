package emails_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/tester"

	"github.com/smartautocheck/smartautocheck/internal/deadletter"
	"github.com/smartautocheck/smartautocheck/internal/topics"
	"github.com/smartautocheck/smartautocheck/processors/emails"
	"github.com/smartautocheck/smartautocheck/processors/users"
	"github.com/smartautocheck/smartautocheck/tables"
)

var now = time.Date(2025, 1, 15, 10, 0, 0, 0, time.UTC)

func start(t *testing.T) *tester.Tester {
	t.Helper()
	tt := tester.New(t)
	opts := emails.Options{Now: func() time.Time { return now }, Policy: deadletter.Policy{Attempts: 3, Backoff: time.Millisecond}}
	proc, err := goka.NewProcessor(nil, emails.Graph(opts), goka.WithTester(tt))
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

func drain(qt *tester.QueueTracker) (keys []string, values []any) {
	for {
		k, v, ok := qt.Next()
		if !ok {
			return keys, values
		}
		keys, values = append(keys, k), append(values, v)
	}
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
	c, ok := journaled(t, tt, key)
	c.Journal = nil
	return c, ok
}

// journaled reads the claim of key with its journal.
func journaled(t *testing.T, tt *tester.Tester, key string) (tables.EmailClaim, bool) {
	t.Helper()
	v := tt.TableValue(emails.Table, key)
	if v == nil {
		return tables.EmailClaim{}, false
	}
	c, ok := v.(tables.EmailClaim)
	if !ok {
		t.Fatalf("table value is %T", v)
	}
	return c, true
}

const key = "jane@example.com"

func TestClaims(t *testing.T) {
	tt := start(t)
	cmds := tt.NewQueueTracker(string(users.Commands))
	dead := tt.NewQueueTracker(topics.DeadLetters)

	expectCreate := func(step string, reg tables.Registration) {
		t.Helper()
		keys, values := drain(cmds)
		if len(values) != 1 {
			t.Fatalf("%s: %d user commands, want 1", step, len(values))
		}
		b, ok := values[0].([]byte)
		if !ok {
			t.Fatalf("%s: command is %T, want []byte", step, values[0])
		}
		var cmd tables.UserCommand
		if err := json.Unmarshal(b, &cmd); err != nil {
			t.Fatalf("%s: command %s: %v", step, b, err)
		}
		if keys[0] != reg.UserID || cmd.Verify != nil || cmd.Create == nil || !reflect.DeepEqual(*cmd.Create, reg) {
			t.Errorf("%s: command %q %+v, want create of %+v keyed by its userId", step, keys[0], cmd, reg)
		}
	}
	wantRow := tables.EmailClaim{Email: key, UserID: "u-1", ClaimedAt: now}

	// First claim wins.
	first := claim(t, registration("u-1"))
	tt.Consume(string(emails.Claims), key, first)
	if got, ok := row(t, tt, key); !ok || got != wantRow {
		t.Errorf("row = %+v (found %v), want %+v", got, ok, wantRow)
	}
	// The row journals its input and the create it sent.
	if got, _ := journaled(t, tt, key); got.Journal == nil || got.Journal.Input != string(emails.Claims)+"/0/0" ||
		len(got.Journal.Emits) != 1 || got.Journal.Emits[0].Topic != string(users.Commands) || got.Journal.Emits[0].Key != "u-1" {
		t.Errorf("journal = %+v, want input %s/0/0 and the create", got.Journal, emails.Claims)
	}
	expectCreate("first claim", registration("u-1"))

	// A competing claim is refused: no command, the row still names the first owner.
	tt.Consume(string(emails.Claims), key, claim(t, registration("u-2")))
	if _, values := drain(cmds); len(values) != 0 {
		t.Errorf("competing claim sent %+v", values)
	}
	if got, _ := row(t, tt, key); got != wantRow {
		t.Errorf("row after competing claim = %+v, want %+v", got, wantRow)
	}

	// The owner's claim, redelivered, sends the create again (the users processor dedups it).
	tt.Consume(string(emails.Claims), key, claim(t, registration("u-1")))
	expectCreate("redelivered claim", registration("u-1"))
	if got, _ := row(t, tt, key); got != wantRow {
		t.Errorf("row after redelivery = %+v, want %+v", got, wantRow)
	}

	if _, values := drain(dead); len(values) != 0 {
		t.Errorf("dead letters: %+v", values)
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
			if _, values := drain(cmds); len(values) != 0 {
				t.Errorf("bad claim sent %+v", values)
			}
			if _, ok := row(t, tt, tc.key); ok {
				t.Error("bad claim made a row")
			}
			keys, values := drain(dead)
			if len(values) != 1 {
				t.Fatalf("%d dead letters, want 1", len(values))
			}
			l, ok := values[0].(deadletter.Letter)
			if !ok {
				t.Fatalf("dead letter is %T", values[0])
			}
			if keys[0] != tc.key || l.Topic != string(emails.Claims) || l.Key != tc.key || l.Group != string(emails.Group) ||
				string(l.Value) != string(value) || l.Attempts != 1 || l.Error == "" || l.Time.IsZero() || l.Time.Location() != time.UTC {
				t.Errorf("letter %q = %+v", keys[0], l)
			}

			// The processor keeps going.
			tt.Consume(string(emails.Claims), key, claim(t, registration("u-1")))
			if _, values := drain(cmds); len(values) != 1 {
				t.Errorf("next claim sent %d commands, want 1", len(values))
			}
		})
	}
}
