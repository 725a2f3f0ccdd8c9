// Package gokatest runs a processor's Goka graph against goka's tester and reads back what it
// emitted and stored. It exists so that the processor tests share one copy of that harness —
// starting the processor and stopping it when the test ends, decoding the JSON of Raw-codec
// edges, reading typed table rows, checking catalog events, a fast dead-letter policy and test
// clocks — instead of each test file carrying its own. Only tests import it.
package gokatest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/tester"

	"github.com/smartautocheck/smartautocheck/codecs"
	"github.com/smartautocheck/smartautocheck/internal/deadletter"
	"github.com/smartautocheck/smartautocheck/tables"
)

// Policy is a dead-letter policy that parks a failing message fast: three attempts a
// millisecond apart.
func Policy() deadletter.Policy {
	return deadletter.Policy{Attempts: 3, Backoff: time.Millisecond}
}

// Fixed is a clock that always reads at.
func Fixed(at time.Time) func() time.Time {
	return func() time.Time { return at }
}

// Clock is a clock the test moves while the processor reads it from its own goroutine.
type Clock struct{ ns atomic.Int64 }

// NewClock is a clock reading at.
func NewClock(at time.Time) *Clock {
	c := &Clock{}
	c.Set(at)
	return c
}

// Set moves the clock to at.
func (c *Clock) Set(at time.Time) { c.ns.Store(at.UnixNano()) }

// Now reads the clock in the machine's zone, as time.Now does: it is the clock to give the
// processor, which normalises what it stamps.
func (c *Clock) Now() time.Time { return time.Unix(0, c.ns.Load()) }

// UTC reads the clock in UTC, to compare with what the processor stamped.
func (c *Clock) UTC() time.Time { return c.Now().UTC() }

// Start runs the processor of graph against a new tester and returns the tester. The processor
// stops when the test ends; the test fails if it stopped with an error.
func Start(t testing.TB, graph *goka.GroupGraph) *tester.Tester {
	t.Helper()
	tt := tester.New(t)
	proc, err := goka.NewProcessor(nil, graph, goka.WithTester(tt))
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

// Record is one record of an edge: its key and its value.
type Record[T any] struct {
	Key   string
	Value T
}

// String shows the key and the value, bytes as text, for failure messages.
func (r Record[T]) String() string {
	if b, ok := any(r.Value).([]byte); ok {
		return fmt.Sprintf("%s %s", r.Key, b)
	}
	return fmt.Sprintf("%s %+v", r.Key, r.Value)
}

// Next reads the next record the tracker has not returned yet; ok is false when there is none.
// On a Raw-codec edge the value is the JSON in the record's bytes decoded into a T (with T
// []byte, the bytes themselves); on an edge with a typed codec, such as dead letters, it is the
// value the codec decoded, which must be a T.
func Next[T any](t testing.TB, qt *tester.QueueTracker) (key string, value T, ok bool) {
	t.Helper()
	k, v, ok := qt.Next()
	if !ok {
		return "", value, false
	}
	if typed, isT := v.(T); isT {
		return k, typed, true
	}
	b, isBytes := v.([]byte)
	if !isBytes {
		t.Fatalf("record %q is %T, want []byte or %T", k, v, value)
	}
	return k, Decode[T](t, b), true
}

// Drain reads every record the tracker has not returned yet, as Next does.
func Drain[T any](t testing.TB, qt *tester.QueueTracker) []Record[T] {
	t.Helper()
	var out []Record[T]
	for {
		k, v, ok := Next[T](t, qt)
		if !ok {
			return out
		}
		out = append(out, Record[T]{k, v})
	}
}

// One drains the tracker and checks that it held exactly one record; what names the records in
// the failure.
func One[T any](t testing.TB, qt *tester.QueueTracker, what string) Record[T] {
	t.Helper()
	recs := Drain[T](t, qt)
	if len(recs) != 1 {
		t.Fatalf("%d %s, want 1: %q", len(recs), what, recs)
	}
	return recs[0]
}

// Count skips every record the tracker has not returned yet and tells how many there were.
func Count(qt *tester.QueueTracker) int {
	n := 0
	for {
		if _, _, ok := qt.NextRaw(); !ok {
			return n
		}
		n++
	}
}

// Quiet fails the test, naming the step, for every tracker (by its name) that holds records not
// returned yet; it reads them all.
func Quiet(t testing.TB, step string, trackers map[string]*tester.QueueTracker) {
	t.Helper()
	for name, qt := range trackers {
		var recs []Record[string]
		for {
			k, v, ok := qt.NextRaw()
			if !ok {
				break
			}
			recs = append(recs, Record[string]{k, string(v)})
		}
		if len(recs) != 0 {
			t.Errorf("%s: unexpected %s %q", step, name, recs)
		}
	}
}

// Decode decodes the JSON b into a T.
func Decode[T any](t testing.TB, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return v
}

// Row reads the value of key in the table as a T; ok is false when the table has none.
func Row[T any](t testing.TB, tt *tester.Tester, table goka.Table, key string) (T, bool) {
	t.Helper()
	var row T
	v := tt.TableValue(table, key)
	if v == nil {
		return row, false
	}
	row, ok := v.(T)
	if !ok {
		t.Fatalf("table value is %T, want %T", v, row)
	}
	return row, true
}

// MustRow reads the value of key in the table as a T, failing the test when there is none.
func MustRow[T any](t testing.TB, tt *tester.Tester, table goka.Table, key string) T {
	t.Helper()
	row, ok := Row[T](t, tt, table, key)
	if !ok {
		t.Fatalf("no row for %s in %s", key, table)
	}
	return row
}

// Event checks that b is the JSON of a valid catalog envelope of the type, stamped at, and
// returns the event decoded.
func Event(t testing.TB, b []byte, eventType string, at time.Time) codecs.Event {
	t.Helper()
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
	if !ev.Timestamp.Equal(at) {
		t.Errorf("timestamp = %v, want the processor's clock %v", ev.Timestamp, at)
	}
	return ev
}

// Input is how a row's journal names the record read at offset of partition 0 of topic (the
// tester has one partition).
func Input[S ~string](topic S, offset int64) string {
	return fmt.Sprintf("%s/0/%d", topic, offset)
}

// Inputs lists the inputs a journal remembers, oldest first.
func Inputs(j tables.Journal) []string {
	var in []string
	for _, e := range j {
		in = append(in, e.Input)
	}
	return in
}

// Latest is the latest entry of a journal; the test fails when the journal is empty.
func Latest(t testing.TB, j tables.Journal) tables.Entry {
	t.Helper()
	if len(j) == 0 {
		t.Fatal("the row has no journal")
	}
	return j[len(j)-1]
}

// Rename is a copy of j whose entry for the input from names the input to instead. The tester
// cannot deliver an offset twice: a test makes a row's journal name the offset a redelivery will
// be read at, as if that input had been processed there and then a crash had lost its commit.
// The test fails when j has no entry for from.
func Rename(t testing.TB, j tables.Journal, from, to string) tables.Journal {
	t.Helper()
	out := append(tables.Journal(nil), j...)
	for i := range out {
		if out[i].Input == from {
			out[i].Input = to
			return out
		}
	}
	t.Fatalf("the journal has no input %s: %q", from, Inputs(j))
	return nil
}
