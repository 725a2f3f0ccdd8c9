package tables

import (
	"sort"
	"strings"
	"testing"
	"time"
)

func TestTimerKeySortsLikeTime(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	dues := []time.Time{
		t0.Add(-365 * 24 * time.Hour),
		t0.Add(-time.Nanosecond),
		t0,
		t0.Add(time.Nanosecond),
		t0.Add(time.Millisecond),
		t0.Add(time.Second),
		t0.Add(9 * time.Second),
		t0.Add(10 * time.Second),
		t0.Add(24 * time.Hour).In(paris),
		time.Date(2031, 12, 31, 23, 59, 59, 999999999, time.UTC),
	}
	var keys []string
	for i, d := range dues {
		keys = append(keys, TimerKey(d, []string{"z", "a-1/expire", "m"}[i%3]))
	}
	if !sort.StringsAreSorted(keys) {
		t.Errorf("keys of increasing times are not sorted:\n%s", strings.Join(keys, "\n"))
	}
	// The zone does not matter: the same instant is the same key.
	if TimerKey(t0.In(paris), "a") != TimerKey(t0, "a") {
		t.Errorf("TimerKey depends on the zone: %q vs %q", TimerKey(t0.In(paris), "a"), TimerKey(t0, "a"))
	}
	// The same time and id is the same timer; another id another one.
	if TimerKey(t0, "a-1/expire") != TimerKey(t0, "a-1/expire") || TimerKey(t0, "a-1/expire") == TimerKey(t0, "a-1/remind") {
		t.Error("TimerKey is not a function of time and id")
	}
}

func TestTimerKeyBound(t *testing.T) {
	ids := []string{"", "a", "a-1/expire", "zzzzzzzz", "~~~", "0|x"}
	for _, id := range ids {
		for _, d := range []time.Duration{-24 * time.Hour, -time.Second, -time.Nanosecond, 0} {
			if k := TimerKey(t0.Add(d), id); k >= TimerKeyBound(t0) {
				t.Errorf("key %q due %v before the bound is not below it", k, d)
			}
		}
		for _, d := range []time.Duration{time.Nanosecond, time.Second, 24 * time.Hour} {
			if k := TimerKey(t0.Add(d), id); k <= TimerKeyBound(t0) {
				t.Errorf("key %q due %v after the bound is not above it", k, d)
			}
		}
	}
}
