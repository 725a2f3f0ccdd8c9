package centers_test

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
	"github.com/smartautocheck/smartautocheck/processors/centers"
	"github.com/smartautocheck/smartautocheck/tables"
)

func start(t *testing.T) *tester.Tester {
	t.Helper()
	tt := tester.New(t)
	proc, err := goka.NewProcessor(nil, centers.Graph(deadletter.Policy{Attempts: 3, Backoff: time.Millisecond}), goka.WithTester(tt))
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

func add(t *testing.T, tt *tester.Tester, center, user string) {
	t.Helper()
	b, err := json.Marshal(centers.AddInspector{UserID: user})
	if err != nil {
		t.Fatal(err)
	}
	tt.Consume(string(centers.Commands), center, b)
}

func staff(t *testing.T, tt *tester.Tester, center string) tables.CenterStaff {
	t.Helper()
	s, ok := tt.TableValue(centers.Table, center).(tables.CenterStaff)
	if !ok {
		t.Fatalf("no staff for %s", center)
	}
	return s
}

func TestAddInspector(t *testing.T) {
	tt := start(t)
	dead := tt.NewQueueTracker(topics.DeadLetters)
	add(t, tt, "center-123", "i-1")
	add(t, tt, "center-123", "i-2")
	add(t, tt, "center-123", "i-1") // redelivered: once
	add(t, tt, "center-456", "i-3")
	if s := staff(t, tt, "center-123"); s.CenterID != "center-123" || !reflect.DeepEqual(s.Inspectors, []string{"i-1", "i-2"}) {
		t.Errorf("staff = %+v", s)
	} else if s.Journal == nil || s.Journal.Input != string(centers.Commands)+"/0/1" {
		t.Errorf("journal = %+v, want the input that last changed the row", s.Journal)
	}
	if s := staff(t, tt, "center-456"); !reflect.DeepEqual(s.Inspectors, []string{"i-3"}) {
		t.Errorf("staff = %+v", s)
	}
	if _, v, ok := dead.Next(); ok {
		t.Errorf("dead letter %+v", v)
	}

	tt.Consume(string(centers.Commands), "center-123", []byte("not json"))
	if _, v, ok := dead.Next(); !ok || v.(deadletter.Letter).Topic != string(centers.Commands) {
		t.Errorf("dead letter = %+v, %v", v, ok)
	}
}
