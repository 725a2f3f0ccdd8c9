// Package deadletter is the one middleware every consumer runs its handler in: a message whose
// handling fails is retried with exponential backoff, and one that still fails (or can never
// succeed, such as bytes that do not decode) is parked on the dead-letters topic with where it
// came from, so the partition moves on instead of stopping.
package deadletter

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Origin says where a message was read.
type Origin struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
	Key       string `json:"key"`
	Group     string `json:"group"`
}

// Message is one record handed to a handler.
type Message struct {
	Origin
	Value []byte
}

// Letter is what the dead-letters topic holds: the original record, its origin and why it was
// parked. Value is the original bytes (base64 in JSON), so a replay sends them back unchanged.
type Letter struct {
	Origin
	Error    string    `json:"error"`
	Attempts int       `json:"attempts"`
	Time     time.Time `json:"time"`
	Value    []byte    `json:"value"`
}

// Handler handles one message.
type Handler func(ctx context.Context, m Message) error

// Park writes a letter to the dead-letters topic.
type Park func(ctx context.Context, l Letter) error

type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent marks an error that no retry can fix (a record that does not decode, an unsupported
// version): the message is parked at once.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// IsPermanent tells whether err was marked Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

// Policy is how often and how patiently a failing message is retried.
type Policy struct {
	// Attempts is how many times a handler runs before the message is parked (default 3).
	Attempts int
	// Backoff is the wait after the first failure; it doubles after each one (default 100 ms).
	Backoff time.Duration
	// Now is the clock stamped on letters (default time.Now).
	Now func() time.Time
}

// DefaultPolicy is 3 attempts, waiting 100 ms then 200 ms.
var DefaultPolicy = Policy{Attempts: 3, Backoff: 100 * time.Millisecond}

// Wrap returns h run under the policy: retried, then parked. The returned handler fails only
// when parking itself fails (the broker is unreachable), in which case the caller must not
// move past the message.
func (p Policy) Wrap(h Handler, park Park) Handler {
	if p.Attempts < 1 {
		p.Attempts = DefaultPolicy.Attempts
	}
	if p.Backoff <= 0 {
		p.Backoff = DefaultPolicy.Backoff
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	return func(ctx context.Context, m Message) error {
		var err error
		attempts := 0
		wait := p.Backoff
		for attempts < p.Attempts {
			attempts++
			if err = h(ctx, m); err == nil {
				return nil
			}
			if IsPermanent(err) || attempts == p.Attempts {
				break
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(wait):
			}
			wait *= 2
		}
		l := Letter{Origin: m.Origin, Error: err.Error(), Attempts: attempts, Time: p.Now().UTC(), Value: m.Value}
		if perr := park(ctx, l); perr != nil {
			return fmt.Errorf("parking %s/%d@%d after %v: %w", m.Topic, m.Partition, m.Offset, err, perr)
		}
		return nil
	}
}
