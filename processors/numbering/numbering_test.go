package numbering_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"github.com/lovoo/goka/tester"

	"github.com/smartautocheck/smartautocheck/internal/gokatest"
	"github.com/smartautocheck/smartautocheck/internal/topics"
	"github.com/smartautocheck/smartautocheck/processors/numbering"
	"github.com/smartautocheck/smartautocheck/tables"
)

type harness struct {
	t                       *testing.T
	tt                      *tester.Tester
	replies, dead, requests *tester.QueueTracker
}

func start(t *testing.T) *harness {
	t.Helper()
	tt := gokatest.Start(t, numbering.Graph(gokatest.Policy()))
	return &harness{t: t, tt: tt, replies: tt.NewQueueTracker(topics.PaymentCommands), dead: tt.NewQueueTracker(topics.DeadLetters),
		requests: tt.NewQueueTracker(string(numbering.Commands))}
}

// number asks for a number on behalf of a payment and returns the one answered to it.
func (h *harness) number(series, paymentID, replyKey string) string {
	h.t.Helper()
	b, err := json.Marshal(tables.NumberRequest{Series: series, RequestID: paymentID, ReplyKey: replyKey})
	if err != nil {
		h.t.Fatal(err)
	}
	h.tt.Consume(string(numbering.Commands), series, b)
	var got []string
	for _, r := range gokatest.Drain[tables.PaymentCommand](h.t, h.replies) {
		if cmd := r.Value; r.Key != replyKey || cmd.Numbered == nil || cmd.Numbered.PaymentID != paymentID {
			h.t.Fatalf("reply %q %+v, want numbered for %s keyed %s", r.Key, cmd, paymentID, replyKey)
		}
		got = append(got, r.Value.Numbered.Number)
	}
	if len(got) != 1 {
		h.t.Fatalf("%d replies, want 1: %v", len(got), got)
	}
	return got[0]
}

func (h *harness) series(name string) tables.Series {
	h.t.Helper()
	return gokatest.MustRow[tables.Series](h.t, h.tt, numbering.Table, name)
}

func TestSequential(t *testing.T) {
	h := start(t)
	for i, want := range []string{"INV-2026-000001", "INV-2026-000002", "INV-2026-000003"} {
		if got := h.number("INV-2026", fmt.Sprintf("p-%d", i+1), fmt.Sprintf("a-%d", i+1)); got != want {
			t.Errorf("number %d = %s, want %s", i+1, got, want)
		}
	}
	// The same request again gets the same number and the series does not advance.
	if got := h.number("INV-2026", "p-2", "a-2"); got != "INV-2026-000002" {
		t.Errorf("repeated request = %s, want INV-2026-000002", got)
	}
	want := []tables.Assignment{{RequestID: "p-1", Number: 1}, {RequestID: "p-2", Number: 2}, {RequestID: "p-3", Number: 3}}
	if s := h.series("INV-2026"); s.Last != 3 || !reflect.DeepEqual(s.Recent, want) {
		t.Errorf("series = %+v, want 3 numbers assigned: %+v", s, want)
	}
	if got := h.number("INV-2026", "p-4", "a-4"); got != "INV-2026-000004" {
		t.Errorf("next = %s", got)
	}
	// Another year is another series, from 1.
	if got := h.number("INV-2027", "p-5", "a-5"); got != "INV-2027-000001" {
		t.Errorf("new year = %s", got)
	}
	if _, v, ok := h.dead.Next(); ok {
		t.Errorf("dead letter %+v", v)
	}
}

// A series remembers its latest 1024 assignments: a request among them, however old, gets its
// number again without advancing; the row stays that small, and its journal 16 inputs long.
func TestRecentAssignmentsAreBounded(t *testing.T) {
	h := start(t)
	const recent, total = 1024, 1100
	for i := 1; i <= total; i++ {
		if got, want := h.number("INV-2026", fmt.Sprintf("p-%d", i), "a-1"), tables.FormatNumber("INV-2026", i); got != want {
			t.Fatalf("number %d = %s, want %s", i, got, want)
		}
	}
	s := h.series("INV-2026")
	if s.Last != total || len(s.Recent) != recent {
		t.Fatalf("series: last %d with %d recent assignments, want %d with %d", s.Last, len(s.Recent), total, recent)
	}
	if first, last := s.Recent[0], s.Recent[len(s.Recent)-1]; first != (tables.Assignment{RequestID: fmt.Sprintf("p-%d", total-recent+1), Number: total - recent + 1}) ||
		last != (tables.Assignment{RequestID: fmt.Sprintf("p-%d", total), Number: total}) {
		t.Errorf("recent assignments run from %+v to %+v", first, last)
	}
	if len(s.Journal) != 16 {
		t.Errorf("journal of %d inputs, want the latest 16", len(s.Journal))
	}
	// The oldest request still remembered, and the latest, get their numbers again.
	for _, i := range []int{total - recent + 1, total} {
		if got, want := h.number("INV-2026", fmt.Sprintf("p-%d", i), "a-1"), tables.FormatNumber("INV-2026", i); got != want {
			t.Errorf("request p-%d again = %s, want %s", i, got, want)
		}
	}
	if s := h.series("INV-2026"); s.Last != total || len(s.Recent) != recent {
		t.Errorf("series advanced on known requests: last %d, %d recent", s.Last, len(s.Recent))
	}
	if _, v, ok := h.dead.Next(); ok {
		t.Errorf("dead letter %+v", v)
	}
}

func TestJournal(t *testing.T) {
	h := start(t)
	off := h.requests.Hwm()
	first := h.number("INV-2026", "p-1", "a-1")
	s := h.series("INV-2026")
	if want := gokatest.Input(numbering.Commands, off); len(s.Journal) != 1 || s.Journal[0].Input != want || len(s.Journal[0].Emits) != 1 {
		t.Fatalf("journal = %+v, want input %s and the reply", s.Journal, want)
	}
	// A replay (the row journals the offset the next request is read at) answers the journaled
	// reply and assigns nothing.
	s.Journal = gokatest.Rename(t, s.Journal, gokatest.Input(numbering.Commands, off), gokatest.Input(numbering.Commands, h.requests.Hwm()))
	h.tt.SetTableValue(numbering.Table, "INV-2026", s)
	if got := h.number("INV-2026", "p-1", "a-1"); got != first {
		t.Errorf("replayed number = %s, want %s", got, first)
	}
	if s := h.series("INV-2026"); s.Last != 1 {
		t.Errorf("series advanced on replay: %+v", s)
	}
}

// An input that is not the row's latest comes again (the series moved on since): its journaled
// reply goes again, whatever the request says, and the series does not advance.
func TestJournalReplayOfAnOlderInput(t *testing.T) {
	h := start(t)
	off := h.requests.Hwm()
	h.number("INV-2026", "p-1", "a-1")
	h.number("INV-2026", "p-2", "a-2")
	h.number("INV-2026", "p-3", "a-3")
	s := h.series("INV-2026")
	old := gokatest.Input(numbering.Commands, off)
	if got := gokatest.Inputs(s.Journal); len(got) != 3 || got[0] != old {
		t.Fatalf("journal inputs = %q, want the three requests from %s", got, old)
	}
	s.Journal = gokatest.Rename(t, s.Journal, old, gokatest.Input(numbering.Commands, h.requests.Hwm()))
	h.tt.SetTableValue(numbering.Table, "INV-2026", s)

	b, err := json.Marshal(tables.NumberRequest{Series: "INV-2026", RequestID: "p-9", ReplyKey: "a-9"})
	if err != nil {
		t.Fatal(err)
	}
	h.tt.Consume(string(numbering.Commands), "INV-2026", b)
	r := gokatest.One[tables.PaymentCommand](t, h.replies, "replies")
	if r.Key != "a-1" || r.Value.Numbered == nil || *r.Value.Numbered != (tables.Numbered{PaymentID: "p-1", Number: "INV-2026-000001"}) {
		t.Errorf("replayed reply %q %+v, want p-1's number keyed a-1", r.Key, r.Value)
	}
	if got := h.series("INV-2026"); got.Last != 3 || !reflect.DeepEqual(got.Recent, s.Recent) || !reflect.DeepEqual(got.Journal, s.Journal) {
		t.Errorf("series after replay = %+v, want %+v", got, s)
	}
	// The next request is decided again.
	if got := h.number("INV-2026", "p-9", "a-9"); got != "INV-2026-000004" {
		t.Errorf("next = %s", got)
	}
}

func TestBadRequestIsDeadLettered(t *testing.T) {
	h := start(t)
	h.tt.Consume(string(numbering.Commands), "INV-2026", []byte("not json"))
	if k, v, ok := h.dead.Next(); !ok || k != "INV-2026" {
		t.Errorf("dead letter %q %+v (%v)", k, v, ok)
	}
	if _, _, ok := h.replies.Next(); ok {
		t.Error("a bad request was answered")
	}
	if got := h.number("INV-2026", "p-1", "a-1"); got != "INV-2026-000001" {
		t.Errorf("number after a bad request = %s", got)
	}
}
