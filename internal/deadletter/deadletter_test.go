package deadletter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

var (
	errTransient = errors.New("transient")
	fixedNow     = time.Date(2025, 1, 15, 10, 0, 0, 0, time.FixedZone("CET", 3600))
)

func message() Message {
	return Message{Origin: Origin{Topic: "user-commands", Partition: 1, Offset: 42, Key: "u-1", Group: "users"},
		Value: []byte(`{"create":{}}`)}
}

// failing returns a handler that fails the first n calls with err, and counts calls.
func failing(n int, err error, calls *int) Handler {
	return func(ctx context.Context, m Message) error {
		*calls++
		if *calls <= n {
			return err
		}
		return nil
	}
}

func TestWrap(t *testing.T) {
	tests := []struct {
		name         string
		failures     int
		err          error
		wantCalls    int
		wantParked   bool
		wantAttempts int
	}{
		{"success first time", 0, nil, 1, false, 0},
		{"transient failure then success", 2, errTransient, 3, false, 0},
		{"always failing is parked after Attempts", 1 << 30, errTransient, 3, true, 3},
		{"permanent error parked at once", 1 << 30, Permanent(errTransient), 1, true, 1},
		{"permanent error wrapped further is still permanent", 1 << 30, fmt.Errorf("decoding: %w", Permanent(errTransient)), 1, true, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var calls int
			var parked []Letter
			p := Policy{Attempts: 3, Backoff: time.Millisecond, Now: func() time.Time { return fixedNow }}
			h := p.Wrap(failing(tc.failures, tc.err, &calls), func(_ context.Context, l Letter) error {
				parked = append(parked, l)
				return nil
			})
			if err := h(context.Background(), message()); err != nil {
				t.Fatalf("handler returned %v, want nil", err)
			}
			if calls != tc.wantCalls {
				t.Errorf("handler ran %d times, want %d", calls, tc.wantCalls)
			}
			if !tc.wantParked {
				if len(parked) != 0 {
					t.Errorf("parked %+v, want nothing", parked)
				}
				return
			}
			if len(parked) != 1 {
				t.Fatalf("parked %d letters, want 1", len(parked))
			}
			l := parked[0]
			m := message()
			if l.Origin != m.Origin {
				t.Errorf("Origin = %+v, want %+v", l.Origin, m.Origin)
			}
			if !bytes.Equal(l.Value, m.Value) {
				t.Errorf("Value = %q, want %q", l.Value, m.Value)
			}
			if l.Attempts != tc.wantAttempts {
				t.Errorf("Attempts = %d, want %d", l.Attempts, tc.wantAttempts)
			}
			if l.Error != tc.err.Error() || !strings.Contains(l.Error, "transient") {
				t.Errorf("Error = %q, want %q", l.Error, tc.err.Error())
			}
			if !l.Time.Equal(fixedNow) || l.Time.Location() != time.UTC {
				t.Errorf("Time = %v, want %v in UTC", l.Time, fixedNow)
			}
		})
	}
}

func TestWrapDefaults(t *testing.T) {
	var calls int
	var parked []Letter
	before := time.Now()
	// Zero attempts means the default 3; a permanent error needs no backoff wait.
	h := Policy{}.Wrap(failing(1<<30, Permanent(errTransient), &calls), func(_ context.Context, l Letter) error {
		parked = append(parked, l)
		return nil
	})
	if err := h(context.Background(), message()); err != nil {
		t.Fatal(err)
	}
	if calls != 1 || len(parked) != 1 {
		t.Fatalf("calls = %d, parked = %d; want 1, 1", calls, len(parked))
	}
	if parked[0].Time.Before(before.Add(-time.Second)) || parked[0].Time.Location() != time.UTC {
		t.Errorf("default clock stamped %v", parked[0].Time)
	}
}

func TestWrapParkFailure(t *testing.T) {
	errBroker := errors.New("broker unreachable")
	var calls int
	h := Policy{Attempts: 2, Backoff: time.Millisecond}.Wrap(failing(1<<30, errTransient, &calls),
		func(context.Context, Letter) error { return errBroker })
	err := h(context.Background(), message())
	if !errors.Is(err, errBroker) {
		t.Fatalf("err = %v, want it to wrap the park error", err)
	}
	if !strings.Contains(err.Error(), "user-commands/1@42") || !strings.Contains(err.Error(), "transient") {
		t.Errorf("err = %q, want it to name the origin and the handler's error", err)
	}
	if calls != 2 {
		t.Errorf("handler ran %d times, want 2", calls)
	}
}

func TestWrapContextCancelledDuringBackoff(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var calls int
	parked := false
	// The backoff is long; the handler cancels the context on its first failure, so Wrap must
	// return without waiting it out and without parking.
	h := Policy{Attempts: 3, Backoff: time.Hour}.Wrap(func(context.Context, Message) error {
		calls++
		cancel()
		return errTransient
	}, func(context.Context, Letter) error { parked = true; return nil })
	err := h(ctx, message())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if calls != 1 || parked {
		t.Errorf("calls = %d, parked = %v; want 1, false", calls, parked)
	}
}

func TestPermanent(t *testing.T) {
	if Permanent(nil) != nil {
		t.Error("Permanent(nil) != nil")
	}
	p := Permanent(errTransient)
	if !IsPermanent(p) || !errors.Is(p, errTransient) || p.Error() != errTransient.Error() {
		t.Errorf("Permanent(err) = %v: IsPermanent=%v, Is=%v", p, IsPermanent(p), errors.Is(p, errTransient))
	}
	if IsPermanent(errTransient) || IsPermanent(nil) {
		t.Error("plain error reported permanent")
	}
}
