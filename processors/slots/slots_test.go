package slots_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/lovoo/goka/tester"

	"github.com/smartautocheck/smartautocheck/internal/deadletter"
	"github.com/smartautocheck/smartautocheck/internal/gokatest"
	"github.com/smartautocheck/smartautocheck/internal/topics"
	"github.com/smartautocheck/smartautocheck/processors/centers"
	"github.com/smartautocheck/smartautocheck/processors/slots"
	"github.com/smartautocheck/smartautocheck/tables"
)

const (
	center = "center-123"
	date   = "2026-03-05"
	key    = center + "|" + date
)

type harness struct {
	t                       *testing.T
	tt                      *tester.Tester
	answers, dead, commands *tester.QueueTracker
}

func start(t *testing.T) *harness {
	t.Helper()
	tt := gokatest.Start(t, slots.Graph(gokatest.Policy()))
	return &harness{t: t, tt: tt, answers: tt.NewQueueTracker(topics.AppointmentCommands),
		dead: tt.NewQueueTracker(topics.DeadLetters), commands: tt.NewQueueTracker(string(slots.Commands))}
}

func (h *harness) send(cmd tables.SlotCommand) int64 {
	h.t.Helper()
	b, err := json.Marshal(cmd)
	if err != nil {
		h.t.Fatal(err)
	}
	off := h.commands.Hwm()
	h.tt.Consume(string(slots.Commands), key, b)
	return off
}

func reserve(id, at string, capacity int) tables.SlotCommand {
	return tables.SlotCommand{Reserve: &tables.ReserveSlot{AppointmentID: id, CenterID: center, Date: date, Time: at, Capacity: capacity}}
}

func release(id, at string) tables.SlotCommand {
	return tables.SlotCommand{Release: &tables.ReleaseSlot{AppointmentID: id, Time: at}}
}

// answer reads the one answer the last command sent, keyed by the appointment.
func (h *harness) answer(id string) tables.AppointmentCommand {
	h.t.Helper()
	out := gokatest.Drain[tables.AppointmentCommand](h.t, h.answers)
	for _, r := range out {
		if r.Key != id {
			h.t.Errorf("answer keyed %q, want %s", r.Key, id)
		}
	}
	if len(out) != 1 {
		h.t.Fatalf("%d answers, want 1: %+v", len(out), out)
	}
	return out[0].Value
}

// granted checks that the answer grants the place, and returns the inspector ("" for none).
func (h *harness) granted(id string) string {
	h.t.Helper()
	a := h.answer(id)
	if a.Granted == nil || a.Refused != nil {
		h.t.Fatalf("answer to %s = %+v, want granted", id, a)
	}
	if a.Granted.InspectorID == nil {
		return ""
	}
	return *a.Granted.InspectorID
}

func (h *harness) refused(id string) {
	h.t.Helper()
	if a := h.answer(id); a.Refused == nil || a.Granted != nil {
		h.t.Fatalf("answer to %s = %+v, want refused", id, a)
	}
}

func (h *harness) row() tables.CenterDay {
	h.t.Helper()
	return gokatest.MustRow[tables.CenterDay](h.t, h.tt, slots.Table, key)
}

func (h *harness) noDeadLetters() {
	h.t.Helper()
	if _, v, ok := h.dead.Next(); ok {
		h.t.Errorf("dead letter %+v", v)
	}
}

func TestCapacityIsNeverExceeded(t *testing.T) {
	h := start(t)
	for _, id := range []string{"a-1", "a-2", "a-3"} {
		h.send(reserve(id, "10:00 AM", 3))
		h.granted(id)
	}
	h.send(reserve("a-4", "10:00 AM", 3))
	h.refused("a-4")
	if d := h.row(); d.Held("10:00 AM") != 3 || d.CenterID != center || d.Date != date {
		t.Errorf("row = %+v, want 3 places held", d)
	}
	if _, held := h.row().Holds["10:00 AM"]["a-4"]; held {
		t.Error("the refused appointment holds a place")
	}

	// Another slot of the day has its own places.
	h.send(reserve("a-5", "11:00 AM", 3))
	h.granted("a-5")

	// A release frees a place for the next booking.
	off := h.send(release("a-2", "10:00 AM"))
	if _, v, ok := h.answers.Next(); ok {
		t.Errorf("release answered %+v", v)
	}
	d := h.row()
	if d.Held("10:00 AM") != 2 {
		t.Errorf("held after release = %d, want 2", d.Held("10:00 AM"))
	}
	if want := gokatest.Input(slots.Commands, off); len(d.Journal) == 0 || gokatest.Latest(t, d.Journal).Input != want ||
		len(gokatest.Latest(t, d.Journal).Emits) != 0 {
		t.Errorf("journal after release = %+v, want input %s and no emits", d.Journal, want)
	}
	// The journal keeps the inputs that wrote the row before (the refusal of a-4 wrote nothing).
	var wantInputs []string
	for _, o := range []int64{0, 1, 2, 4, off} {
		wantInputs = append(wantInputs, gokatest.Input(slots.Commands, o))
	}
	if got := gokatest.Inputs(d.Journal); !reflect.DeepEqual(got, wantInputs) {
		t.Errorf("journal inputs = %q, want %q", got, wantInputs)
	}
	h.send(reserve("a-4", "10:00 AM", 3))
	h.granted("a-4")
	h.send(reserve("a-6", "10:00 AM", 3))
	h.refused("a-6")

	// Releasing a place not held changes nothing.
	before := h.row()
	h.send(release("a-2", "10:00 AM"))
	if after := h.row(); !reflect.DeepEqual(after.Holds, before.Holds) {
		t.Errorf("second release changed the row: %+v", after.Holds)
	}
	h.noDeadLetters()
}

func TestSameAppointmentTwice(t *testing.T) {
	h := start(t)
	h.tt.SetTableValue(centers.Table, center, tables.CenterStaff{CenterID: center, Inspectors: []string{"i-1", "i-2"}})
	off := h.send(reserve("a-1", "10:00 AM", 1))
	first := h.granted("a-1")
	if first != "i-1" {
		t.Errorf("inspector = %q, want i-1", first)
	}
	d := h.row()
	if want := gokatest.Input(slots.Commands, off); len(d.Journal) != 1 || d.Journal[0].Input != want ||
		len(d.Journal[0].Emits) != 1 || d.Journal[0].Emits[0].Topic != topics.AppointmentCommands || d.Journal[0].Emits[0].Key != "a-1" {
		t.Errorf("journal = %+v, want input %s and the answer", d.Journal, want)
	}

	// Redelivered: granted again, same inspector, one place.
	h.send(reserve("a-1", "10:00 AM", 1))
	if again := h.granted("a-1"); again != first {
		t.Errorf("inspector on redelivery = %q, want %q", again, first)
	}
	if d := h.row(); d.Held("10:00 AM") != 1 {
		t.Errorf("held = %d, want 1", d.Held("10:00 AM"))
	}
	h.noDeadLetters()
}

func TestInspectorAssignment(t *testing.T) {
	h := start(t)

	// No staff yet: granted without an inspector.
	h.send(reserve("a-0", "08:00 AM", 3))
	if insp := h.granted("a-0"); insp != "" {
		t.Errorf("inspector without staff = %q, want none", insp)
	}

	h.tt.SetTableValue(centers.Table, center, tables.CenterStaff{CenterID: center, Inspectors: []string{"i-1", "i-2", "i-3"}})
	steps := []struct {
		id, at, want string
	}{
		{"a-1", "09:00 AM", "i-1"}, // all at 0: by id
		{"a-2", "09:00 AM", "i-2"}, // i-1 busy at 09:00
		{"a-3", "10:00 AM", "i-3"}, // least loaded (i-3 has none)
		{"a-4", "10:00 AM", "i-1"}, // i-3 busy; i-1 and i-2 tie at 1
		{"a-5", "11:00 AM", "i-2"}, // loads i-1 2, i-2 1, i-3 1: i-2 by id
		{"a-6", "11:00 AM", "i-3"}, // i-2 busy: i-3 (1) before i-1 (2)
		{"a-7", "11:00 AM", "i-1"}, // the last free one
	}
	for _, s := range steps {
		h.send(reserve(s.id, s.at, 3))
		if got := h.granted(s.id); got != s.want {
			t.Errorf("%s at %s: inspector %q, want %q", s.id, s.at, got, s.want)
		}
	}
	// Every inspector is busy at 11:00 but a lane is free: no inspector.
	h.send(reserve("a-8", "11:00 AM", 4))
	if got := h.granted("a-8"); got != "" {
		t.Errorf("a-8: inspector %q, want none (everyone busy)", got)
	}
	// Nobody is booked twice in one slot.
	for at, holds := range h.row().Holds {
		seen := map[string]bool{}
		for id, insp := range holds {
			if insp != "" && seen[insp] {
				t.Errorf("%s booked twice at %s (%s)", insp, at, id)
			}
			seen[insp] = true
		}
	}
	h.noDeadLetters()
}

// An input that comes again after a crash finds its journal: the same answer goes again.
func TestJournalReplay(t *testing.T) {
	h := start(t)
	h.tt.SetTableValue(centers.Table, center, tables.CenterStaff{CenterID: center, Inspectors: []string{"i-1"}})
	h.send(reserve("a-1", "10:00 AM", 1))
	if got := h.granted("a-1"); got != "i-1" {
		t.Fatalf("inspector = %q", got)
	}
	row := h.row()
	next := gokatest.Input(slots.Commands, h.commands.Hwm())
	row.Journal = gokatest.Rename(t, row.Journal, gokatest.Latest(t, row.Journal).Input, next)
	h.tt.SetTableValue(slots.Table, key, row)

	// Whatever the command says, the journaled answer is what goes out.
	h.send(reserve("a-2", "10:00 AM", 1))
	if got := h.granted("a-1"); got != "i-1" {
		t.Errorf("replayed answer names %q, want i-1", got)
	}
	if d := h.row(); d.Held("10:00 AM") != 1 || !reflect.DeepEqual(d.Journal, row.Journal) || gokatest.Latest(t, d.Journal).Input != next {
		t.Errorf("row after replay = %+v", d)
	}
	// The next input is decided again: the slot is full.
	h.send(reserve("a-2", "10:00 AM", 1))
	h.refused("a-2")
}

// An input that is not the row's latest comes again (a release and another booking wrote the
// row since): its journaled answer goes again and the row is written as it stands.
func TestJournalReplayOfAnOlderInput(t *testing.T) {
	h := start(t)
	h.tt.SetTableValue(centers.Table, center, tables.CenterStaff{CenterID: center, Inspectors: []string{"i-1", "i-2"}})
	first := h.send(reserve("a-1", "10:00 AM", 2))
	if got := h.granted("a-1"); got != "i-1" {
		t.Fatalf("inspector = %q", got)
	}
	h.send(reserve("a-2", "10:00 AM", 2))
	h.granted("a-2")
	h.send(release("a-2", "10:00 AM"))
	row := h.row()
	if n := len(row.Journal); n != 3 {
		t.Fatalf("journal of %d inputs, want 3: %+v", n, row.Journal)
	}
	row.Journal = gokatest.Rename(t, row.Journal, gokatest.Input(slots.Commands, first), gokatest.Input(slots.Commands, h.commands.Hwm()))
	h.tt.SetTableValue(slots.Table, key, row)

	h.send(reserve("a-3", "10:00 AM", 2))
	if got := h.granted("a-1"); got != "i-1" {
		t.Errorf("replayed answer names %q, want i-1", got)
	}
	if d := h.row(); !reflect.DeepEqual(d, row) {
		t.Errorf("row after replay = %+v\nwant %+v", d, row)
	}
	// The next input is decided again.
	h.send(reserve("a-3", "10:00 AM", 2))
	if got := h.granted("a-3"); got != "i-2" {
		t.Errorf("a-3: inspector %q, want i-2", got)
	}
	h.noDeadLetters()
}

func TestBadCommandsAreDeadLettered(t *testing.T) {
	for _, value := range []string{"not json", `{}`} {
		t.Run(value, func(t *testing.T) {
			h := start(t)
			h.tt.Consume(string(slots.Commands), key, []byte(value))
			k, l, ok := gokatest.Next[deadletter.Letter](t, h.dead)
			if !ok {
				t.Fatal("no dead letter")
			}
			if k != key || l.Topic != string(slots.Commands) || string(l.Value) != value {
				t.Errorf("letter %q = %+v", k, l)
			}
			if _, _, ok := h.answers.Next(); ok {
				t.Error("a bad command was answered")
			}
		})
	}
}
