package tables

import (
	"reflect"
	"testing"
)

func reserve(id, time string, capacity int) ReserveSlot {
	return ReserveSlot{AppointmentID: id, CenterID: "center-123", Date: "2025-01-18", Time: time, Capacity: capacity}
}

func inspectorOf(r Reservation) string {
	if r.InspectorID == nil {
		return ""
	}
	return *r.InspectorID
}

func TestCenterDayKey(t *testing.T) {
	if got := CenterDayKey("center-123", "2025-01-18"); got != "center-123|2025-01-18" {
		t.Errorf("CenterDayKey = %q", got)
	}
}

// The capacity of a slot is never exceeded, whatever the order of the requests.
func TestReserveCapacity(t *testing.T) {
	var day *CenterDay
	granted := 0
	for _, id := range []string{"a-1", "a-2", "a-3", "a-4"} {
		res := Reserve(day, reserve(id, "10:00 AM", 3), nil)
		if res.Granted {
			granted++
			if res.Row == nil {
				t.Fatalf("%s granted without a row", id)
			}
			day = res.Row
		} else if res.Row != nil || res.InspectorID != nil {
			t.Errorf("%s refused with %+v", id, res)
		}
		if want := id != "a-4"; res.Granted != want {
			t.Errorf("%s: Granted = %v, want %v", id, res.Granted, want)
		}
	}
	if granted != 3 || day.Held("10:00 AM") != 3 {
		t.Errorf("granted %d, held %d; want 3 of 3 lanes", granted, day.Held("10:00 AM"))
	}
	if day.CenterID != "center-123" || day.Date != "2025-01-18" {
		t.Errorf("row = %+v", day)
	}
	// Another slot of the day has its own places.
	if res := Reserve(day, reserve("a-5", "11:00 AM", 3), nil); !res.Granted || res.Row.Held("11:00 AM") != 1 || res.Row.Held("10:00 AM") != 3 {
		t.Errorf("reserve of another slot = %+v", res)
	}
	// A capacity of zero grants nothing.
	if res := Reserve(nil, reserve("a-1", "10:00 AM", 0), nil); res.Granted {
		t.Errorf("reserve with no capacity = %+v", res)
	}
}

// A redelivered reserve is granted again with the same inspector and changes nothing.
func TestReserveTwice(t *testing.T) {
	first := Reserve(nil, reserve("a-1", "10:00 AM", 1), []string{"i-1", "i-2"})
	if !first.Granted || inspectorOf(first) != "i-1" {
		t.Fatalf("first = %+v", first)
	}
	before := first.Row.clone()
	again := Reserve(first.Row, reserve("a-1", "10:00 AM", 1), []string{"i-1", "i-2"})
	if !again.Granted || again.Row != nil || inspectorOf(again) != "i-1" {
		t.Errorf("again = %+v, want granted, no new row, inspector i-1", again)
	}
	if !reflect.DeepEqual(*first.Row, before) {
		t.Errorf("row modified: %+v", *first.Row)
	}
	// Even when the slot is full now.
	if again := Reserve(first.Row, reserve("a-1", "10:00 AM", 1), nil); !again.Granted || inspectorOf(again) != "i-1" {
		t.Errorf("again on a full slot = %+v", again)
	}
}

func TestReserveInspector(t *testing.T) {
	day := &CenterDay{CenterID: "center-123", Date: "2025-01-18", Holds: map[string]map[string]string{
		"09:00 AM": {"x-1": "i-1", "x-2": "i-2"},
		"10:00 AM": {"x-3": "i-1"},
		"11:00 AM": {"x-4": ""},
	}}
	tests := []struct {
		name       string
		time       string
		inspectors []string
		want       string
	}{
		// Loads: i-1 2, i-2 1, i-3 0.
		{"least loaded", "02:00 PM", []string{"i-1", "i-2", "i-3"}, "i-3"},
		{"least loaded of those known", "02:00 PM", []string{"i-1", "i-2"}, "i-2"},
		{"busy in the slot is skipped", "09:00 AM", []string{"i-1", "i-2", "i-3"}, "i-3"},
		{"busy in the slot, the other is loaded more", "10:00 AM", []string{"i-1", "i-2"}, "i-2"},
		{"ties go by id", "02:00 PM", []string{"i-5", "i-4"}, "i-4"},
		{"everyone busy: none", "09:00 AM", []string{"i-1", "i-2"}, ""},
		{"no inspectors: none", "02:00 PM", nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := day.clone()
			res := Reserve(day, reserve("a-1", tc.time, 3), tc.inspectors)
			if !res.Granted || inspectorOf(res) != tc.want {
				t.Fatalf("Reserve = %+v (inspector %q), want %q", res, inspectorOf(res), tc.want)
			}
			if got := res.Row.Holds[tc.time]["a-1"]; got != tc.want {
				t.Errorf("held with %q, want %q", got, tc.want)
			}
			if !reflect.DeepEqual(*day, before) {
				t.Errorf("current row modified: %+v", *day)
			}
		})
	}
}

// An inspector is never booked twice in one slot.
func TestReserveNeverDoubleBooksAnInspector(t *testing.T) {
	var day *CenterDay
	seen := map[string]bool{}
	for _, id := range []string{"a-1", "a-2", "a-3"} {
		res := Reserve(day, reserve(id, "10:00 AM", 3), []string{"i-1", "i-2"})
		if !res.Granted {
			t.Fatalf("%s refused", id)
		}
		day = res.Row
		insp := inspectorOf(res)
		if insp != "" && seen[insp] {
			t.Errorf("%s booked %s twice in the slot", id, insp)
		}
		seen[insp] = true
	}
	if !seen["i-1"] || !seen["i-2"] || !seen[""] {
		t.Errorf("assignments = %v, want i-1, i-2 and one without inspector", seen)
	}
}

func TestRelease(t *testing.T) {
	full := Reserve(nil, reserve("a-1", "10:00 AM", 1), nil).Row
	if res := Reserve(full, reserve("a-2", "10:00 AM", 1), nil); res.Granted {
		t.Fatal("slot not full")
	}
	before := full.clone()
	freed := Release(full, ReleaseSlot{AppointmentID: "a-1", Time: "10:00 AM"})
	if freed == nil || freed.Held("10:00 AM") != 0 {
		t.Fatalf("Release = %+v", freed)
	}
	if _, ok := freed.Holds["10:00 AM"]; ok {
		t.Error("an empty slot stays in the row")
	}
	if !reflect.DeepEqual(*full, before) {
		t.Errorf("current row modified: %+v", *full)
	}
	if res := Reserve(freed, reserve("a-2", "10:00 AM", 1), nil); !res.Granted {
		t.Error("a released place is not free")
	}

	for name, tc := range map[string]struct {
		cur *CenterDay
		r   ReleaseSlot
	}{
		"unknown day":          {nil, ReleaseSlot{AppointmentID: "a-1", Time: "10:00 AM"}},
		"not held":             {full, ReleaseSlot{AppointmentID: "a-9", Time: "10:00 AM"}},
		"held at another time": {full, ReleaseSlot{AppointmentID: "a-1", Time: "11:00 AM"}},
		"released twice":       {freed, ReleaseSlot{AppointmentID: "a-1", Time: "10:00 AM"}},
	} {
		if got := Release(tc.cur, tc.r); got != nil {
			t.Errorf("%s: Release = %+v, want no change", name, got)
		}
	}
}

func TestAddInspector(t *testing.T) {
	s := AddInspector(nil, "center-123", "i-1")
	if s == nil || !reflect.DeepEqual(*s, CenterStaff{CenterID: "center-123", Inspectors: []string{"i-1"}}) {
		t.Fatalf("AddInspector = %+v", s)
	}
	s2 := AddInspector(s, "center-123", "i-2")
	if s2 == nil || !reflect.DeepEqual(s2.Inspectors, []string{"i-1", "i-2"}) {
		t.Errorf("second = %+v", s2)
	}
	if !reflect.DeepEqual(s.Inspectors, []string{"i-1"}) {
		t.Errorf("current row modified: %+v", s)
	}
	if again := AddInspector(s2, "center-123", "i-1"); again != nil {
		t.Errorf("adding a known inspector = %+v, want no change", again)
	}
}
