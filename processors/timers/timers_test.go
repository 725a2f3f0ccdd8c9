package timers_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/tester"

	"github.com/smartautocheck/smartautocheck/internal/deadletter"
	"github.com/smartautocheck/smartautocheck/internal/gokatest"
	"github.com/smartautocheck/smartautocheck/internal/topics"
	"github.com/smartautocheck/smartautocheck/processors/timers"
	"github.com/smartautocheck/smartautocheck/tables"
)

var due = time.Date(2026, 3, 2, 9, 15, 0, 0, time.UTC)

type harness struct {
	t                       *testing.T
	tt                      *tester.Tester
	targets, commands, dead *tester.QueueTracker
}

func start(t *testing.T) *harness {
	t.Helper()
	tt := gokatest.Start(t, timers.Graph(gokatest.Policy()))
	return &harness{t: t, tt: tt, targets: tt.NewQueueTracker(topics.AppointmentCommands),
		commands: tt.NewQueueTracker(string(timers.Commands)), dead: tt.NewQueueTracker(topics.DeadLetters)}
}

// send consumes a timer command and returns the timer commands that followed it (the
// processor's own emits to its input).
func (h *harness) send(key string, cmd tables.TimerCommand) []tables.TimerCommand {
	h.t.Helper()
	b, err := json.Marshal(cmd)
	if err != nil {
		h.t.Fatal(err)
	}
	h.tt.Consume(string(timers.Commands), key, b)
	recs := gokatest.Drain[[]byte](h.t, h.commands)
	if len(recs) == 0 || recs[0].Key != key || string(recs[0].Value) != string(b) {
		h.t.Fatalf("timer commands do not start with the consumed one: %q", recs)
	}
	var out []tables.TimerCommand
	for _, r := range recs[1:] {
		if r.Key != key {
			h.t.Errorf("follow-up command keyed %q, want %q", r.Key, key)
		}
		out = append(out, gokatest.Decode[tables.TimerCommand](h.t, r.Value))
	}
	return out
}

func (h *harness) row(key string) (tables.Timer, bool) {
	h.t.Helper()
	return gokatest.Row[tables.Timer](h.t, h.tt, timers.Table, key)
}

func (h *harness) noDeadLetters() {
	h.t.Helper()
	if _, v, ok := h.dead.Next(); ok {
		h.t.Errorf("dead letter %+v", v)
	}
}

// expireTimer is the timer the appointments processor sets for a payment window.
func expireTimer(id string) (string, tables.Timer) {
	return tables.TimerKey(due, id+"/expire"), tables.Timer{Due: due, Topic: topics.AppointmentCommands, Key: id,
		Value: json.RawMessage(`{"expire":{}}`)}
}

func TestScheduleFireForget(t *testing.T) {
	h := start(t)
	key, tm := expireTimer("a-1")

	// Schedule: the row holds the command.
	off := h.commands.Hwm()
	if follow := h.send(key, tables.TimerCommand{Schedule: &tm}); len(follow) != 0 {
		t.Errorf("schedule sent %+v", follow)
	}
	row, ok := h.row(key)
	if !ok || !row.Due.Equal(due) || row.Topic != tm.Topic || row.Key != "a-1" || string(row.Value) != string(tm.Value) || row.Fired {
		t.Fatalf("row = %+v (found %v)", row, ok)
	}
	if want := gokatest.Input(timers.Commands, off); len(row.Journal) != 1 || row.Journal[0].Input != want || len(row.Journal[0].Emits) != 0 {
		t.Errorf("journal = %+v, want input %s", row.Journal, want)
	}
	if recs := gokatest.Drain[[]byte](t, h.targets); len(recs) != 0 {
		t.Errorf("schedule sent %q", recs)
	}

	// Scheduling the same timer again keeps the first.
	other := tm
	other.Value = json.RawMessage(`{"remind":{}}`)
	h.send(key, tables.TimerCommand{Schedule: &other})
	if row, _ := h.row(key); string(row.Value) != string(tm.Value) {
		t.Errorf("second schedule replaced the command: %s", row.Value)
	}

	// Fire: the stored command goes to its topic and key, byte for byte, and the timer asks to
	// be forgotten — which, in the tester, is consumed at once and deletes the fired row.
	follow := h.send(key, tables.TimerCommand{Fire: &struct{}{}})
	if len(follow) != 1 || follow[0].Forget == nil || follow[0].Fire != nil || follow[0].Schedule != nil {
		t.Errorf("fire sent %+v, want one forget", follow)
	}
	recs := gokatest.Drain[[]byte](t, h.targets)
	if len(recs) != 1 || recs[0].Key != "a-1" || string(recs[0].Value) != `{"expire":{}}` {
		t.Errorf("fire sent %q, want the stored command to a-1", recs)
	}
	if _, ok := h.row(key); ok {
		t.Error("the fired timer is still there after its forget")
	}

	// Fire again: nothing.
	if follow := h.send(key, tables.TimerCommand{Fire: &struct{}{}}); len(follow) != 0 {
		t.Errorf("second fire sent %+v", follow)
	}
	if recs := gokatest.Drain[[]byte](t, h.targets); len(recs) != 0 {
		t.Errorf("second fire sent %q", recs)
	}
	h.noDeadLetters()
}

// A row marked fired (its forget was lost) is not fired again, and a forget deletes it.
func TestFiredRow(t *testing.T) {
	h := start(t)
	key, tm := expireTimer("a-1")
	tm.Fired = true
	h.tt.SetTableValue(timers.Table, key, tm)

	if follow := h.send(key, tables.TimerCommand{Fire: &struct{}{}}); len(follow) != 0 {
		t.Errorf("fire of a fired timer sent %+v", follow)
	}
	if recs := gokatest.Drain[[]byte](t, h.targets); len(recs) != 0 {
		t.Errorf("fire of a fired timer sent %q", recs)
	}
	if _, ok := h.row(key); !ok {
		t.Fatal("fire deleted the fired row")
	}
	h.send(key, tables.TimerCommand{Forget: &struct{}{}})
	if _, ok := h.row(key); ok {
		t.Error("forget left the fired row")
	}
	// Forget of a gone timer: nothing.
	h.send(key, tables.TimerCommand{Forget: &struct{}{}})
	h.noDeadLetters()
}

// A forget before the fire (never sent by the processor, but harmless) keeps the timer.
func TestForgetOfAnUnfiredTimerKeepsIt(t *testing.T) {
	h := start(t)
	key, tm := expireTimer("a-1")
	h.send(key, tables.TimerCommand{Schedule: &tm})
	h.send(key, tables.TimerCommand{Forget: &struct{}{}})
	if _, ok := h.row(key); !ok {
		t.Error("forget deleted a timer that has not fired")
	}
}

// A fire that comes again after a crash (the row says fired, journaling that very input) sends
// the command again.
func TestJournalReplay(t *testing.T) {
	h := start(t)
	key, tm := expireTimer("a-1")
	forget, err := json.Marshal(tables.TimerCommand{Forget: &struct{}{}})
	if err != nil {
		t.Fatal(err)
	}
	h.send(key, tables.TimerCommand{Schedule: &tm})
	scheduled, _ := h.row(key)
	tm.Fired = true
	tm.Journal = scheduled.Journal.With(tables.Entry{Input: gokatest.Input(timers.Commands, h.commands.Hwm()), Emits: []tables.Emit{
		{Topic: topics.AppointmentCommands, Key: "a-1", Value: tm.Value},
		{Topic: string(timers.Commands), Key: key, Value: forget},
	}})
	h.tt.SetTableValue(timers.Table, key, tm)

	follow := h.send(key, tables.TimerCommand{Fire: &struct{}{}})
	if len(follow) != 1 || follow[0].Forget == nil {
		t.Errorf("replayed fire sent %+v, want the forget", follow)
	}
	if recs := gokatest.Drain[[]byte](t, h.targets); len(recs) != 1 || recs[0].Key != "a-1" || string(recs[0].Value) != string(tm.Value) {
		t.Errorf("replayed fire sent %q", recs)
	}
	if _, ok := h.row(key); ok {
		t.Error("the replayed forget did not delete the row")
	}
}

// A notification's retry is a timer that hands its intent back to the sender: notification-intents
// is a target, and the stored request goes there byte for byte, keyed by the notification.
func TestNotificationRetryTimer(t *testing.T) {
	h := start(t)
	intents := h.tt.NewQueueTracker(topics.NotificationIntents)
	value := json.RawMessage(`{"notificationId":"n-1","template":"user-welcome","channel":"email","recipient":"jane@example.com","attempt":2}`)
	key := tables.TimerKey(due, "n-1/attempt-2")
	tm := tables.Timer{Due: due, Topic: topics.NotificationIntents, Key: "n-1", Value: value}
	if follow := h.send(key, tables.TimerCommand{Schedule: &tm}); len(follow) != 0 {
		t.Errorf("schedule sent %+v", follow)
	}
	if row, ok := h.row(key); !ok || row.Topic != topics.NotificationIntents || row.Key != "n-1" || string(row.Value) != string(value) {
		t.Fatalf("row = %+v (found %v)", row, ok)
	}
	follow := h.send(key, tables.TimerCommand{Fire: &struct{}{}})
	if len(follow) != 1 || follow[0].Forget == nil {
		t.Errorf("fire sent %+v, want one forget", follow)
	}
	if recs := gokatest.Drain[[]byte](t, intents); len(recs) != 1 || recs[0].Key != "n-1" || string(recs[0].Value) != string(value) {
		t.Errorf("fire sent %q, want the stored intent keyed n-1", recs)
	}
	if recs := gokatest.Drain[[]byte](t, h.targets); len(recs) != 0 {
		t.Errorf("fire sent %q to appointment commands", recs)
	}
	if _, ok := h.row(key); ok {
		t.Error("the fired timer is still there after its forget")
	}
	h.noDeadLetters()
}

// A schedule naming a topic timers may not write to is a dead letter at once (no retry can fix
// it), and makes no row.
func TestScheduleToAnotherTopicIsDeadLettered(t *testing.T) {
	for _, topic := range []string{topics.PaymentCommands, topics.SlotCommands, string(timers.Commands), topics.DeadLetters, "", "no-such-topic"} {
		t.Run(topic, func(t *testing.T) {
			h := start(t)
			key := tables.TimerKey(due, "x/1")
			tm := tables.Timer{Due: due, Topic: topic, Key: "x", Value: json.RawMessage(`{}`)}
			b, err := json.Marshal(tables.TimerCommand{Schedule: &tm})
			if err != nil {
				t.Fatal(err)
			}
			h.tt.Consume(string(timers.Commands), key, b)
			k, l, ok := gokatest.Next[deadletter.Letter](t, h.dead)
			if !ok {
				t.Fatal("no dead letter")
			}
			if k != key || l.Topic != string(timers.Commands) || string(l.Value) != string(b) || l.Attempts != 1 || l.Error == "" {
				t.Errorf("letter %q = %+v, want the schedule parked at its first attempt", k, l)
			}
			if _, ok := h.row(key); ok {
				t.Error("a schedule to another topic made a row")
			}
			if recs := gokatest.Drain[[]byte](t, h.targets); len(recs) != 0 {
				t.Errorf("sent %q", recs)
			}
		})
	}
}

func TestBadCommandsAreDeadLettered(t *testing.T) {
	for _, value := range []string{"not json", `{}`} {
		t.Run(value, func(t *testing.T) {
			h := start(t)
			h.tt.Consume(string(timers.Commands), "k", []byte(value))
			k, l, ok := gokatest.Next[deadletter.Letter](t, h.dead)
			if !ok {
				t.Fatal("no dead letter")
			}
			if k != "k" || l.Topic != string(timers.Commands) || string(l.Value) != value {
				t.Errorf("letter %q = %+v", k, l)
			}
		})
	}
}

func TestTargetsAreOutputs(t *testing.T) {
	edges := timers.Graph(deadletter.Policy{}).OutputStreams()
	for _, want := range []string{topics.AppointmentCommands, topics.NotificationIntents} {
		if !slices.Contains(timers.Targets, goka.Stream(want)) {
			t.Errorf("%s is not a target: %q", want, timers.Targets)
		}
	}
	for _, target := range timers.Targets {
		found := false
		for _, e := range edges {
			found = found || e.Topic() == string(target)
		}
		if !found {
			t.Errorf("target %s is not an output of the graph", target)
		}
	}
}
