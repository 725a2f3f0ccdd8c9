package centers

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func times(sl []Slot) []string {
	out := make([]string, len(sl))
	for i, s := range sl {
		out[i] = s.Time
	}
	return out
}

// alwaysOpen is the acceptance tests' configuration (sac.py always_open_centers).
func alwaysOpen(slotMinutes, lead int) string {
	day := `[["00:00","24:00"]]`
	return `{"centers":[{"centerId":"center-123","name":"Test Center","address":"1 Test St",
	"timezone":"Europe/Paris","lanes":3,"slotMinutes":` + itoa(slotMinutes) + `,"minLeadMinutes":` + itoa(lead) + `,
	"maxAdvanceDays":90,"openingHours":{"mon":` + day + `,"tue":` + day + `,"wed":` + day + `,
	"thu":` + day + `,"fri":` + day + `,"sat":` + day + `,"sun":` + day + `}}]}`
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func parseOne(t *testing.T, cfg string) Center {
	t.Helper()
	cs, err := Parse([]byte(cfg))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if len(cs) != 1 {
		t.Fatalf("Parse: %d centers", len(cs))
	}
	return cs[0]
}

func TestFormatTime(t *testing.T) {
	for _, tc := range []struct {
		h, m int
		want string
	}{
		{0, 0, "12:00 AM"}, {0, 15, "12:15 AM"}, {8, 0, "8:00 AM"}, {10, 0, "10:00 AM"},
		{11, 59, "11:59 AM"}, {12, 0, "12:00 PM"}, {14, 30, "2:30 PM"}, {23, 45, "11:45 PM"},
		{24, 0, "12:00 AM"},
	} {
		if got := FormatTime(tc.h, tc.m); got != tc.want {
			t.Errorf("FormatTime(%d, %d) = %q, want %q", tc.h, tc.m, got, tc.want)
		}
	}
}

func TestDefaultSlots(t *testing.T) {
	c := Default()
	weekday := []string{"8:00 AM", "9:00 AM", "10:00 AM", "11:00 AM", "12:00 PM",
		"1:00 PM", "2:00 PM", "3:00 PM", "4:00 PM", "5:00 PM"}
	for _, tc := range []struct {
		date string
		want []string
	}{
		{"2026-07-13", weekday}, // Monday
		{"2026-07-17", weekday}, // Friday
		{"2026-07-18", []string{"9:00 AM", "10:00 AM", "11:00 AM", "12:00 PM"}}, // Saturday
		{"2026-07-19", nil}, // Sunday
	} {
		sl, err := c.Slots(tc.date)
		if err != nil {
			t.Fatalf("%s: %v", tc.date, err)
		}
		if got := times(sl); strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%s: slots %q, want %q", tc.date, got, tc.want)
		}
		for _, s := range sl {
			if s.Date != tc.date || s.End.Sub(s.Start) != time.Hour {
				t.Errorf("%s: bad slot %+v", tc.date, s)
			}
		}
	}
	if c.Location().String() != "Europe/Paris" || c.Lanes != 3 || c.CenterID != "center-123" {
		t.Errorf("Default: %+v", c)
	}
}

func TestSlotInstants(t *testing.T) {
	c := Default()
	for _, tc := range []struct{ date, tm, start, end string }{
		{"2026-07-15", "10:00 AM", "2026-07-15T08:00:00Z", "2026-07-15T09:00:00Z"}, // CEST
		{"2026-12-15", "10:00 AM", "2026-12-15T09:00:00Z", "2026-12-15T10:00:00Z"}, // CET
		{"2026-12-15", "8:00 AM", "2026-12-15T07:00:00Z", "2026-12-15T08:00:00Z"},
		{"2026-12-15", "5:00 PM", "2026-12-15T16:00:00Z", "2026-12-15T17:00:00Z"},
	} {
		s, err := c.Slot(tc.date, tc.tm)
		if err != nil {
			t.Fatalf("%s %s: %v", tc.date, tc.tm, err)
		}
		if !s.Start.Equal(mustTime(t, tc.start)) || !s.End.Equal(mustTime(t, tc.end)) {
			t.Errorf("%s %s: %v–%v, want %s–%s", tc.date, tc.tm, s.Start, s.End, tc.start, tc.end)
		}
		if s.Start.Location() != time.UTC {
			t.Errorf("Start not in UTC: %v", s.Start.Location())
		}
	}
}

func TestAlwaysOpen(t *testing.T) {
	c60 := parseOne(t, alwaysOpen(60, 120))
	c15 := parseOne(t, alwaysOpen(15, 0))
	for _, tc := range []struct {
		name  string
		c     Center
		date  string
		n     int
		first string
		last  string
	}{
		{"15-minute ordinary day", c15, "2026-07-15", 96, "12:00 AM", "11:45 PM"},
		{"60-minute ordinary day", c60, "2026-07-15", 24, "12:00 AM", "11:00 PM"},
		// Europe/Paris springs forward at 02:00 → 03:00: the 02:00 hour does not exist.
		{"spring forward 60", c60, "2026-03-29", 23, "12:00 AM", "11:00 PM"},
		{"spring forward 15", c15, "2026-03-29", 92, "12:00 AM", "11:45 PM"},
		// Falls back at 03:00 → 02:00: 02:00 happens twice, listed once.
		{"fall back 60", c60, "2026-10-25", 24, "12:00 AM", "11:00 PM"},
		{"fall back 15", c15, "2026-10-25", 96, "12:00 AM", "11:45 PM"},
	} {
		sl, err := tc.c.Slots(tc.date)
		if err != nil {
			t.Fatal(err)
		}
		if len(sl) != tc.n || sl[0].Time != tc.first || sl[len(sl)-1].Time != tc.last {
			t.Errorf("%s: %d slots %s…%s, want %d %s…%s", tc.name, len(sl), sl[0].Time, sl[len(sl)-1].Time, tc.n, tc.first, tc.last)
		}
		seen := map[string]bool{}
		for i, s := range sl {
			if seen[s.Time] {
				t.Errorf("%s: %s listed twice", tc.name, s.Time)
			}
			seen[s.Time] = true
			if i > 0 && !s.Start.After(sl[i-1].Start) {
				t.Errorf("%s: slots out of order at %s", tc.name, s.Time)
			}
		}
	}

	// Spring forward: 2:00 AM is not a slot, 1:00 AM is CET, 3:00 AM is CEST.
	if _, err := c60.Slot("2026-03-29", "2:00 AM"); !errors.Is(err, ErrNoSlot) {
		t.Errorf("2:00 AM on spring-forward day: %v, want ErrNoSlot", err)
	}
	for tm, want := range map[string]string{"1:00 AM": "2026-03-29T00:00:00Z", "3:00 AM": "2026-03-29T01:00:00Z"} {
		s, err := c60.Slot("2026-03-29", tm)
		if err != nil || !s.Start.Equal(mustTime(t, want)) {
			t.Errorf("spring forward %s: %v %v, want %s", tm, s.Start, err, want)
		}
	}
	// Fall back: 2:00 AM is the first occurrence (CEST, 00:00Z); 3:00 AM CET is 02:00Z.
	for tm, want := range map[string]string{"2:00 AM": "2026-10-25T00:00:00Z", "3:00 AM": "2026-10-25T02:00:00Z", "1:00 AM": "2026-10-24T23:00:00Z"} {
		s, err := c60.Slot("2026-10-25", tm)
		if err != nil || !s.Start.Equal(mustTime(t, want)) {
			t.Errorf("fall back %s: %v %v, want %s", tm, s.Start, err, want)
		}
	}
	// "24:00" closing: the last slot ends at the next local midnight.
	sl, _ := c60.Slots("2026-07-15")
	if last := sl[len(sl)-1]; !last.End.Equal(mustTime(t, "2026-07-15T22:00:00Z")) {
		t.Errorf("last slot ends %v, want 22:00Z (local midnight)", last.End)
	}
}

func TestRangesAndGrid(t *testing.T) {
	// Two ranges (a lunch break), a 45-minute grid that does not divide the ranges, a range
	// listed out of order, and a range too short for one slot.
	cfg := `{"centers":[{"centerId":"c1","timezone":"UTC","slotMinutes":45,"openingHours":{
		"mon":[["13:30","16:00"],["08:00","12:00"]],"tue":[["10:00","10:30"]]}}]}`
	c := parseOne(t, cfg)
	sl, err := c.Slots("2026-07-13")
	if err != nil {
		t.Fatal(err)
	}
	want := "8:00 AM,8:45 AM,9:30 AM,10:15 AM,11:00 AM,1:30 PM,2:15 PM,3:00 PM"
	if got := strings.Join(times(sl), ","); got != want {
		t.Errorf("slots %s, want %s", got, want)
	}
	if sl, _ := c.Slots("2026-07-14"); len(sl) != 0 {
		t.Errorf("short range gave %v", sl)
	}
	if sl, _ := c.Slots("2026-07-15"); len(sl) != 0 { // wed missing = closed
		t.Errorf("missing day gave %v", sl)
	}
	if _, err := c.Slot("2026-07-13", "11:45"); !errors.Is(err, ErrNoSlot) { // would end 12:30
		t.Errorf("slot overrunning the range: %v", err)
	}
}

func TestSlotParsing(t *testing.T) {
	c := Default()
	const day = "2026-07-15" // Wednesday
	for _, tc := range []struct {
		in   string
		want string // slot Time, or "" with err
		err  error
	}{
		{"10:00 AM", "10:00 AM", nil},
		{"10:00 am", "10:00 AM", nil},
		{"10:00AM", "10:00 AM", nil},
		{" 2:00 pm ", "2:00 PM", nil},
		{"12:00 PM", "12:00 PM", nil},
		{"10:00", "10:00 AM", nil},
		{"08:00", "8:00 AM", nil},
		{"8:00", "8:00 AM", nil},
		{"17:00", "5:00 PM", nil},
		{"10:30", "", ErrNoSlot},   // off the 60-minute grid
		{"09:30", "", ErrNoSlot},   // off-grid too
		{"18:00", "", ErrNoSlot},   // closing time: no slot starts there
		{"7:00 AM", "", ErrNoSlot}, // before opening
		{"12:00 AM", "", ErrNoSlot},
		{"25:00", "", ErrBadTime},
		{"24:00", "", ErrBadTime},
		{"13:00 PM", "", ErrBadTime},
		{"0:00 AM", "", ErrBadTime},
		{"10:60", "", ErrBadTime},
		{"10", "", ErrBadTime},
		{"10:0", "", ErrBadTime},
		{"ten", "", ErrBadTime},
		{"", "", ErrBadTime},
		{"-1:00", "", ErrBadTime},
	} {
		s, err := c.Slot(day, tc.in)
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("Slot(%q) error %v, want %v", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || s.Time != tc.want || s.Date != day {
			t.Errorf("Slot(%q) = %+v, %v; want %s", tc.in, s, err, tc.want)
		}
	}
	for _, d := range []string{"2026-7-15", "2026-02-30", "15/07/2026", "", "2026-07-15T10:00:00Z"} {
		if _, err := c.Slot(d, "10:00 AM"); !errors.Is(err, ErrBadDate) {
			t.Errorf("Slot(%q) error %v, want ErrBadDate", d, err)
		}
		if _, err := c.Slots(d); !errors.Is(err, ErrBadDate) {
			t.Errorf("Slots(%q) error %v, want ErrBadDate", d, err)
		}
	}
	if _, err := c.Slot("2026-07-19", "10:00 AM"); !errors.Is(err, ErrNoSlot) { // Sunday
		t.Errorf("Sunday: %v, want ErrNoSlot", err)
	}
}

func TestBookable(t *testing.T) {
	c := Default() // lead 120 min, 90 days
	// 2026-07-15 08:00Z = 10:00 Paris (CEST).
	now := mustTime(t, "2026-07-15T08:00:00Z")
	for _, tc := range []struct {
		name, date, tm string
		now            time.Time
		err            error
	}{
		{"exactly at the lead", "2026-07-15", "12:00 PM", now, nil},
		{"one minute inside the lead", "2026-07-15", "12:00 PM", now.Add(time.Minute), ErrTooSoon},
		{"inside the lead", "2026-07-15", "11:00 AM", now, ErrTooSoon},
		{"now", "2026-07-15", "10:00 AM", now, ErrTooSoon},
		{"past", "2026-07-14", "3:00 PM", now, ErrTooSoon},
		{"tomorrow", "2026-07-16", "8:00 AM", now, nil},
		{"day maxAdvanceDays", "2026-10-13", "5:00 PM", now, nil},
		{"day maxAdvanceDays+1", "2026-10-14", "8:00 AM", now, ErrTooFar},
		// Late evening UTC is already tomorrow in Paris: the window counts local days.
		{"local today decides", "2026-10-14", "8:00 AM", mustTime(t, "2026-07-15T22:30:00Z"), nil},
		{"closed still ErrNoSlot", "2026-07-19", "10:00 AM", now, ErrNoSlot},
		{"bad time first", "2026-07-14", "25:00", now, ErrBadTime},
	} {
		s, err := c.Bookable(tc.date, tc.tm, tc.now)
		if tc.err == nil && err != nil {
			t.Errorf("%s: %v", tc.name, err)
		} else if tc.err != nil && !errors.Is(err, tc.err) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.err)
		} else if tc.err == nil && s.Time != tc.tm {
			t.Errorf("%s: got %+v", tc.name, s)
		}
	}

	// BookableSlots: today from 12:00 PM on; past and too-far dates empty; bad date an error.
	for _, tc := range []struct {
		date string
		want string
	}{
		{"2026-07-15", "12:00 PM,1:00 PM,2:00 PM,3:00 PM,4:00 PM,5:00 PM"},
		{"2026-07-14", ""},
		{"2026-10-13", "8:00 AM,9:00 AM,10:00 AM,11:00 AM,12:00 PM,1:00 PM,2:00 PM,3:00 PM,4:00 PM,5:00 PM"},
		{"2026-10-14", ""},
	} {
		sl, err := c.BookableSlots(tc.date, now)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(times(sl), ","); got != tc.want {
			t.Errorf("BookableSlots(%s) = %s, want %s", tc.date, got, tc.want)
		}
	}
	if _, err := c.BookableSlots("tomorrow", now); !errors.Is(err, ErrBadDate) {
		t.Errorf("BookableSlots bad date: %v", err)
	}

	// Lead 0 (acceptance config): a slot starting now is bookable, one a minute ago is not.
	c15 := parseOne(t, alwaysOpen(15, 0))
	if _, err := c15.Bookable("2026-07-15", "10:00", now); err != nil {
		t.Errorf("lead 0 at now: %v", err)
	}
	if _, err := c15.Bookable("2026-07-15", "10:00", now.Add(time.Minute)); !errors.Is(err, ErrTooSoon) {
		t.Errorf("lead 0 a minute late: %v", err)
	}
	if sl, _ := c15.BookableSlots("2026-07-15", now); len(sl) != 56 || sl[0].Time != "10:00 AM" {
		t.Errorf("lead 0: %d slots from %v", len(sl), times(sl))
	}
}

func TestParseDefaults(t *testing.T) {
	c := parseOne(t, `{"centers":[{"centerId":"c1","timezone":"America/New_York","openingHours":{"sun":[]}}]}`)
	want := Center{CenterID: "c1", Name: "SmartAutoCheck Center", Address: "123 Main St",
		Timezone: "America/New_York", Lanes: 3, SlotMinutes: 60, MinLeadMinutes: 120, MaxAdvanceDays: 90}
	if c.CenterID != want.CenterID || c.Name != want.Name || c.Address != want.Address ||
		c.Timezone != want.Timezone || c.Lanes != want.Lanes || c.SlotMinutes != want.SlotMinutes ||
		c.MinLeadMinutes != want.MinLeadMinutes || c.MaxAdvanceDays != want.MaxAdvanceDays {
		t.Errorf("defaults: %+v", c)
	}
	if c.Location().String() != "America/New_York" {
		t.Errorf("location %v", c.Location())
	}

	// Explicit zeros are kept, not defaulted.
	c = parseOne(t, `{"centers":[{"centerId":"c1","timezone":"UTC","minLeadMinutes":0,"maxAdvanceDays":0,"openingHours":{}}]}`)
	if c.MinLeadMinutes != 0 || c.MaxAdvanceDays != 0 {
		t.Errorf("explicit zeros: %+v", c)
	}

	// The acceptance file parses entirely.
	c = parseOne(t, alwaysOpen(15, 0))
	if c.Name != "Test Center" || c.Address != "1 Test St" || c.SlotMinutes != 15 || len(c.OpeningHours) != 7 {
		t.Errorf("acceptance config: %+v", c)
	}

	// The API.md example equals the built-in default.
	example := `{"centers": [{
  "centerId": "center-123", "name": "SmartAutoCheck Center", "address": "123 Main St",
  "timezone": "Europe/Paris", "lanes": 3, "slotMinutes": 60,
  "minLeadMinutes": 120, "maxAdvanceDays": 90,
  "openingHours": {"mon": [["08:00", "18:00"]], "tue": [["08:00", "18:00"]],
                   "wed": [["08:00", "18:00"]], "thu": [["08:00", "18:00"]],
                   "fri": [["08:00", "18:00"]], "sat": [["09:00", "13:00"]], "sun": []}
}]}`
	ex := parseOne(t, example)
	a, _ := json.Marshal(ex)
	b, _ := json.Marshal(Default())
	if string(a) != string(b) {
		t.Errorf("API.md example %s != Default %s", a, b)
	}
}

func TestParseErrors(t *testing.T) {
	ok := `"centerId":"c1","timezone":"Europe/Paris","openingHours":{"mon":[["08:00","18:00"]]}`
	center := func(extra string) string { return `{"centers":[{` + ok + extra + `}]}` }
	hours := func(h string) string {
		return `{"centers":[{"centerId":"c1","timezone":"Europe/Paris","openingHours":` + h + `}]}`
	}
	for _, tc := range []struct{ name, cfg, want string }{
		{"bad time", hours(`{"mon":[["08:00","12:00"],["13:00","25:00"]]}`),
			`centers[0].openingHours.mon[1]: "25:00" is not a time (HH:MM, 00:00–24:00)`},
		{"24:30", hours(`{"mon":[["08:00","24:30"]]}`), `centers[0].openingHours.mon[0]: "24:30" is not a time`},
		{"one-digit hour", hours(`{"tue":[["8:00","12:00"]]}`), `centers[0].openingHours.tue[0]: "8:00" is not a time`},
		{"minutes 60", hours(`{"tue":[["08:60","12:00"]]}`), `centers[0].openingHours.tue[0]: "08:60" is not a time`},
		{"start after end", hours(`{"wed":[["18:00","08:00"]]}`), `centers[0].openingHours.wed[0]: start "18:00" is not before end "08:00"`},
		{"empty range", hours(`{"wed":[["08:00","08:00"]]}`), `centers[0].openingHours.wed[0]: start "08:00" is not before end "08:00"`},
		{"overlap", hours(`{"fri":[["08:00","12:00"],["11:00","13:00"]]}`),
			`centers[0].openingHours.fri[1]: ["11:00", "13:00"] overlaps centers[0].openingHours.fri[0] ["08:00", "12:00"]`},
		{"overlap contained", hours(`{"fri":[["10:00","11:00"],["08:00","18:00"]]}`), `centers[0].openingHours.fri[1]: ["08:00", "18:00"] overlaps`},
		{"unknown day", hours(`{"monday":[["08:00","18:00"]]}`), `centers[0].openingHours.monday: unknown day (want one of mon, tue, wed, thu, fri, sat, sun)`},
		{"range of three", hours(`{"sat":[["08:00","12:00","13:00"]]}`), `centers[0].openingHours.sat[0]: want a range ["HH:MM", "HH:MM"], got 3 values`},
		{"range of one", hours(`{"sat":[["08:00"]]}`), `centers[0].openingHours.sat[0]: want a range ["HH:MM", "HH:MM"], got 1 values`},
		{"range not strings", hours(`{"sat":[[8,12]]}`), `centers[0].openingHours.sat[0]: want a range ["HH:MM", "HH:MM"], got a JSON number`},
		{"day not list", hours(`{"sat":"09:00-13:00"}`), `centers[0].openingHours.sat: want a list of ["HH:MM", "HH:MM"] ranges, got a JSON string`},
		{"hours not object", hours(`[]`), `centers[0].openingHours: want an object with keys mon, tue, wed, thu, fri, sat, sun, got a JSON array`},
		{"hours missing", `{"centers":[{"centerId":"c1","timezone":"UTC"}]}`, `centers[0].openingHours: required`},
		{"hours null", `{"centers":[{"centerId":"c1","timezone":"UTC","openingHours":null}]}`, `centers[0].openingHours: required`},
		{"timezone unknown", `{"centers":[{` + ok + `},{"centerId":"c2","timezone":"Mars/Base","openingHours":{}}]}`,
			`centers[1].timezone: unknown time zone "Mars/Base"`},
		{"timezone Local", `{"centers":[{"centerId":"c2","timezone":"Local","openingHours":{}}]}`, `centers[0].timezone: unknown time zone "Local"`},
		{"timezone missing", `{"centers":[{"centerId":"c2","openingHours":{}}]}`, `centers[0].timezone: required`},
		{"timezone number", `{"centers":[{"centerId":"c2","timezone":1,"openingHours":{}}]}`, `centers[0].timezone: want a string, got a JSON number`},
		{"duplicate id", `{"centers":[{` + ok + `},{` + ok + `}]}`, `centers[1].centerId: duplicate "c1"`},
		{"id missing", `{"centers":[{"timezone":"UTC","openingHours":{}}]}`, `centers[0].centerId: required`},
		{"id empty", `{"centers":[{"centerId":"","timezone":"UTC","openingHours":{}}]}`, `centers[0].centerId: required`},
		{"id with slash", `{"centers":[{"centerId":"a/b","timezone":"UTC","openingHours":{}}]}`, `centers[0].centerId: "a/b" contains '/'`},
		{"lanes 0", center(`,"lanes":0`), `centers[0].lanes: 0 is not a number of lanes (at least 1)`},
		{"lanes string", center(`,"lanes":"3"`), `centers[0].lanes: want an integer, got a JSON string`},
		{"lanes fraction", center(`,"lanes":2.5`), `centers[0].lanes: want an integer, got a JSON number`},
		{"slotMinutes 4", center(`,"slotMinutes":4`), `centers[0].slotMinutes: 4 is out of range (5–1440)`},
		{"slotMinutes 1441", center(`,"slotMinutes":1441`), `centers[0].slotMinutes: 1441 is out of range (5–1440)`},
		{"slotMinutes 0", center(`,"slotMinutes":0`), `centers[0].slotMinutes: 0 is out of range`},
		{"lead negative", center(`,"minLeadMinutes":-1`), `centers[0].minLeadMinutes: -1 is negative`},
		{"advance negative", center(`,"maxAdvanceDays":-1`), `centers[0].maxAdvanceDays: -1 is negative`},
		{"unknown center field", center(`,"lanse":4`), `centers[0].lanse: unknown field`},
		{"unknown top field", `{"centres":[]}`, `centres: unknown field`},
		{"no centers", `{"centers":[]}`, `centers: at least one center is required`},
		{"centers missing", `{}`, `centers: at least one center is required`},
		{"centers not list", `{"centers":{}}`, `centers: want a list, got a JSON object`},
		{"center not object", `{"centers":[1]}`, `centers[0]: want an object, got a JSON number`},
		{"top not object", `[]`, `centers file: want an object {"centers": [...]}, got a JSON array`},
		{"empty file", ``, `centers file: empty`},
		{"syntax", "{\"centers\":[\n{\"centerId\" \"c1\"}]}", `invalid JSON at line 2, column`},
		{"trailing", `{"centers":[{` + ok + `}]} {}`, `unexpected data after the JSON value`},
	} {
		_, err := Parse([]byte(tc.cfg))
		if err == nil {
			t.Errorf("%s: no error, want %q", tc.name, tc.want)
			continue
		}
		if !strings.HasPrefix(err.Error(), tc.want) && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s:\n got  %s\n want %s", tc.name, err, tc.want)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(good, []byte(alwaysOpen(15, 0)), 0o600)
	os.WriteFile(bad, []byte(`{"centers":[{"centerId":"c1","timezone":"Mars/Base","openingHours":{}}]}`), 0o600)
	if cs, err := Load(good); err != nil || len(cs) != 1 {
		t.Errorf("Load good: %v %v", cs, err)
	}
	_, err := Load(bad)
	if err == nil || err.Error() != bad+`: centers[0].timezone: unknown time zone "Mars/Base"` {
		t.Errorf("Load bad: %v", err)
	}
	missing := filepath.Join(dir, "missing.json")
	_, err = Load(missing)
	if err == nil || !strings.HasPrefix(err.Error(), missing+": ") || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load missing: %v", err)
	}
}

func TestCatalog(t *testing.T) {
	a := Default()
	b := Center{CenterID: "center-456", Name: "North", Address: "9 North Rd", Timezone: "America/New_York",
		Lanes: 1, SlotMinutes: 30, MinLeadMinutes: 0, MaxAdvanceDays: 7,
		OpeningHours: map[string][][2]string{"mon": {{"09:00", "10:00"}}}}
	cat, err := NewCatalog([]Center{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if l := cat.List(); len(l) != 2 || l[0].CenterID != "center-123" || l[1].CenterID != "center-456" {
		t.Errorf("List order: %v", l)
	}
	got, ok := cat.Get("center-456")
	if !ok || got.Name != "North" {
		t.Fatalf("Get: %v %v", got, ok)
	}
	// 2026-07-13 is a Monday; 09:00 New York (EDT) = 13:00Z.
	sl, err := got.Slots("2026-07-13")
	if err != nil || strings.Join(times(sl), ",") != "9:00 AM,9:30 AM" || !sl[0].Start.Equal(mustTime(t, "2026-07-13T13:00:00Z")) {
		t.Errorf("catalog center slots: %v %v", sl, err)
	}
	if _, ok := cat.Get("nope"); ok {
		t.Error("Get unknown id found something")
	}
	l := cat.List()
	l[0] = Center{}
	if again := cat.List(); again[0].CenterID != "center-123" {
		t.Error("List exposes the catalog's slice")
	}

	for _, tc := range []struct {
		name string
		cs   []Center
		want string
	}{
		{"empty", nil, "centers: at least one center is required"},
		{"duplicate", []Center{a, a}, `centers[1].centerId: duplicate "center-123"`},
		{"zero lanes", []Center{a, func() Center { c := b; c.Lanes = 0; return c }()}, "centers[1].lanes: 0 is not a number of lanes"},
		{"bad hours", []Center{func() Center {
			c := b
			c.OpeningHours = map[string][][2]string{"sun": {{"10:00", "9:00"}}}
			return c
		}()}, `centers[0].openingHours.sun[0]: "9:00" is not a time`},
	} {
		_, err := NewCatalog(tc.cs)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.want)
		}
	}
}

// A Center built by hand (not through Parse/NewCatalog) still computes its calendar, and an
// invalid one reports the error instead of panicking.
func TestUnpreparedCenter(t *testing.T) {
	c := Center{CenterID: "x", Timezone: "Europe/Paris", Lanes: 1, SlotMinutes: 60,
		OpeningHours: map[string][][2]string{"wed": {{"10:00", "12:00"}}}}
	sl, err := c.Slots("2026-07-15")
	if err != nil || len(sl) != 2 || !sl[0].Start.Equal(mustTime(t, "2026-07-15T08:00:00Z")) {
		t.Errorf("unprepared: %v %v", sl, err)
	}
	if c.Location().String() != "Europe/Paris" {
		t.Errorf("Location: %v", c.Location())
	}
	bad := Center{CenterID: "x", Timezone: "Mars/Base", Lanes: 1, SlotMinutes: 60}
	if _, err := bad.Slots("2026-07-15"); err == nil {
		t.Error("invalid center: no error")
	}
	if _, err := bad.Bookable("2026-07-15", "10:00", time.Now()); err == nil {
		t.Error("invalid center Bookable: no error")
	}
	if bad.Location() != time.UTC {
		t.Errorf("invalid Location: %v", bad.Location())
	}
}

// Other zones with DST at other hours and a southern-hemisphere zone behave the same way.
func TestOtherZones(t *testing.T) {
	for _, tc := range []struct {
		tz, date string
		n        int
	}{
		{"America/New_York", "2026-03-08", 23},    // spring forward 02:00 → 03:00
		{"America/New_York", "2026-11-01", 24},    // fall back 02:00 → 01:00
		{"Australia/Sydney", "2026-04-05", 24},    // fall back 03:00 → 02:00
		{"Australia/Sydney", "2026-10-04", 23},    // spring forward 02:00 → 03:00
		{"Australia/Lord_Howe", "2026-10-04", 23}, // 30-minute jump 02:00 → 02:30: 02:00 does not exist
		{"Asia/Kolkata", "2026-07-15", 24},
		{"UTC", "2026-03-29", 24},
	} {
		day := `[["00:00","24:00"]]`
		cfg := `{"centers":[{"centerId":"c","timezone":"` + tc.tz + `","openingHours":{"mon":` + day + `,"tue":` + day +
			`,"wed":` + day + `,"thu":` + day + `,"fri":` + day + `,"sat":` + day + `,"sun":` + day + `}}]}`
		c := parseOne(t, cfg)
		sl, err := c.Slots(tc.date)
		if err != nil {
			t.Fatal(err)
		}
		if len(sl) != tc.n {
			t.Errorf("%s %s: %d slots, want %d", tc.tz, tc.date, len(sl), tc.n)
		}
		for _, s := range sl {
			loc := c.Location()
			if got := s.Start.In(loc).Format("2006-01-02 3:04 PM"); got != s.Date+" "+s.Time {
				t.Errorf("%s: slot %s %s starts at local %s", tc.tz, s.Date, s.Time, got)
			}
		}
	}
	// New York fall back: 1:00 AM happens twice; the first is EDT (05:00Z).
	c := parseOne(t, `{"centers":[{"centerId":"c","timezone":"America/New_York","openingHours":{"sun":[["00:00","24:00"]]}}]}`)
	s, err := c.Slot("2026-11-01", "1:00 AM")
	if err != nil || !s.Start.Equal(mustTime(t, "2026-11-01T05:00:00Z")) {
		t.Errorf("NY fall back 1:00 AM: %v %v", s.Start, err)
	}
}
