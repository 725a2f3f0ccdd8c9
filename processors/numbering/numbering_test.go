package numbering_test

import (
	"encoding/json"
	"fmt"
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
	if s := h.series("INV-2026"); s.Last != 3 || len(s.Assigned) != 3 {
		t.Errorf("series = %+v, want 3 numbers assigned", s)
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

func TestJournal(t *testing.T) {
	h := start(t)
	off := h.requests.Hwm()
	first := h.number("INV-2026", "p-1", "a-1")
	s := h.series("INV-2026")
	if want := fmt.Sprintf("%s/0/%d", numbering.Commands, off); s.Journal == nil || s.Journal.Input != want || len(s.Journal.Emits) != 1 {
		t.Fatalf("journal = %+v, want input %s and the reply", s.Journal, want)
	}
	// A replay (the row journals the offset the next request is read at) answers the journaled
	// reply and assigns nothing.
	j := *s.Journal
	j.Input = fmt.Sprintf("%s/0/%d", numbering.Commands, h.requests.Hwm())
	s.Journal = &j
	h.tt.SetTableValue(numbering.Table, "INV-2026", s)
	if got := h.number("INV-2026", "p-1", "a-1"); got != first {
		t.Errorf("replayed number = %s, want %s", got, first)
	}
	if s := h.series("INV-2026"); s.Last != 1 {
		t.Errorf("series advanced on replay: %+v", s)
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
