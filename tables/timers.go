package tables

import (
	"encoding/json"
	"time"
)

// Timer is a row of the timers table: a command to send at a time. The table's keys start with
// the due time in a fixed-width form that sorts like time, so the due timers are the keys
// before "now" and a tick reads exactly them, however many timers wait further on.
type Timer struct {
	Due   time.Time       `json:"due"`
	Topic string          `json:"topic"`
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
	// Fired marks a timer whose command was sent; the row goes once that is safely done.
	Fired bool `json:"fired,omitempty"`
	Journaled
}

// TimerCommand is a command of the timers processor; exactly one field is set.
type TimerCommand struct {
	Schedule *Timer    `json:"schedule,omitempty"`
	Fire     *struct{} `json:"fire,omitempty"`
	Forget   *struct{} `json:"forget,omitempty"`
}

const timerKeyTime = "2006-01-02T15:04:05.000000000Z"

// TimerKey is the key of a timer: its due time, then the id that makes it unique (the same
// id and time is the same timer, so scheduling it twice sets it once).
func TimerKey(due time.Time, id string) string { return due.UTC().Format(timerKeyTime) + "|" + id }

// TimerKeyBound is the first key of timers due after t: the keys before it are due.
func TimerKeyBound(t time.Time) string { return t.UTC().Format(timerKeyTime) + "|\xff" }
