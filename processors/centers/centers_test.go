package centers_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/lovoo/goka/tester"

	"github.com/smartautocheck/smartautocheck/internal/deadletter"
	"github.com/smartautocheck/smartautocheck/internal/gokatest"
	"github.com/smartautocheck/smartautocheck/internal/topics"
	"github.com/smartautocheck/smartautocheck/processors/centers"
	"github.com/smartautocheck/smartautocheck/tables"
)

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
	return gokatest.MustRow[tables.CenterStaff](t, tt, centers.Table, center)
}

func TestAddInspector(t *testing.T) {
	tt := gokatest.Start(t, centers.Graph(gokatest.Policy()))
	dead := tt.NewQueueTracker(topics.DeadLetters)
	add(t, tt, "center-123", "i-1")
	add(t, tt, "center-123", "i-2")
	add(t, tt, "center-123", "i-1") // redelivered: once
	add(t, tt, "center-456", "i-3")
	if s := staff(t, tt, "center-123"); s.CenterID != "center-123" || !reflect.DeepEqual(s.Inspectors, []string{"i-1", "i-2"}) {
		t.Errorf("staff = %+v", s)
	} else if want := []string{gokatest.Input(centers.Commands, 0), gokatest.Input(centers.Commands, 1)}; !reflect.DeepEqual(gokatest.Inputs(s.Journal), want) {
		t.Errorf("journal = %+v, want the inputs that changed the row, %q", s.Journal, want)
	}
	if s := staff(t, tt, "center-456"); !reflect.DeepEqual(s.Inspectors, []string{"i-3"}) {
		t.Errorf("staff = %+v", s)
	}
	if _, v, ok := dead.Next(); ok {
		t.Errorf("dead letter %+v", v)
	}

	tt.Consume(string(centers.Commands), "center-123", []byte("not json"))
	if _, l, ok := gokatest.Next[deadletter.Letter](t, dead); !ok || l.Topic != string(centers.Commands) {
		t.Errorf("dead letter = %+v, %v", l, ok)
	}
}
