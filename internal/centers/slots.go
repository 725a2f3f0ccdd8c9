package centers

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Errors of Slot and Bookable, to be tested with errors.Is; the returned errors wrap them with
// the offending value. The API maps all of them to 400 (API.md: "a past/closed/out-of-window
// slot").
var (
	ErrBadDate = errors.New("not a date (YYYY-MM-DD)")
	ErrBadTime = errors.New(`not a time ("10:00 AM" or 24-hour "10:00")`)
	ErrNoSlot  = errors.New("no slot starts at that time (closed or not on the slot grid)")
	ErrTooSoon = errors.New("slot starts too soon or is past")
	ErrTooFar  = errors.New("slot is too far ahead")
)

// Slot is one bookable unit of a center's calendar: Lanes vehicles can be inspected in it.
type Slot struct {
	Date  string    // YYYY-MM-DD, local date of the center
	Time  string    // catalog format "10:00 AM" / "2:30 PM"
	Start time.Time // the instant, UTC
	End   time.Time // Start + SlotMinutes of elapsed time, UTC
}

// FormatTime renders a local wall-clock hour (0–23) and minute in the event catalog's format
// ("10:00 AM"): 12-hour clock, no leading zero on the hour, "12:00 PM" for noon and
// "12:00 AM" for midnight. Hours outside 0–23 are taken modulo 24.
func FormatTime(hour, minute int) string {
	hour = ((hour % 24) + 24) % 24
	suffix := "AM"
	if hour >= 12 {
		suffix = "PM"
	}
	h := hour % 12
	if h == 0 {
		h = 12
	}
	return fmt.Sprintf("%d:%02d %s", h, minute, suffix)
}

// Slots lists every slot of a local date, in time order: from each opening range's start, one
// every SlotMinutes, as long as the slot ends by the range's end (so a 60-minute grid in
// 08:00–18:00 gives 08:00 … 17:00, and "24:00" lets the last slot end at midnight).
//
// The grid is one of wall-clock times, as customers read it. On a DST day a wall-clock start
// that does not exist (02:00 on Europe/Paris's spring-forward day) is skipped, and one that
// occurs twice (02:00 on the fall-back day) is listed once, at its first occurrence — the
// same choice as Python's zoneinfo with fold=0 — so that a (date, time) pair, which is all an
// appointment stores, always names exactly one slot. An always-open 60-minute center thus has
// 23 slots on the spring-forward day and 24 on the fall-back day.
//
// A closed day gives an empty list; only a malformed date is an error.
func (c Center) Slots(date string) ([]Slot, error) {
	c, err := c.ready()
	if err != nil {
		return nil, err
	}
	day, err := parseDate(date)
	if err != nil {
		return nil, err
	}
	var out []Slot
	for _, s := range c.hours[day.Weekday()] {
		for m := s.from; m+c.SlotMinutes <= s.to; m += c.SlotMinutes {
			if sl, ok := c.slotAt(day, m); ok {
				out = append(out, sl)
			}
		}
	}
	return out, nil
}

// BookableSlots is Slots filtered to the slots that can be booked at now (see Bookable): what
// GET /v1/centers/{centerId}/slots lists. A date outside the booking window gives an empty list,
// not an error.
func (c Center) BookableSlots(date string, now time.Time) ([]Slot, error) {
	c, err := c.ready()
	if err != nil {
		return nil, err
	}
	all, err := c.Slots(date)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, sl := range all {
		if c.window(sl, now) == nil {
			out = append(out, sl)
		}
	}
	return out, nil
}

// Slot finds the slot of a local date starting at t, given as in the catalog ("10:00 AM",
// case-insensitive, the space optional) or on the 24-hour clock ("10:00", "9:30"). Errors wrap
// ErrBadDate, ErrBadTime (unparseable) or ErrNoSlot (a well-formed time at which no slot of that
// day starts: the center is closed, the time is off the grid, or DST skips it).
func (c Center) Slot(date, t string) (Slot, error) {
	c, err := c.ready()
	if err != nil {
		return Slot{}, err
	}
	day, err := parseDate(date)
	if err != nil {
		return Slot{}, err
	}
	m, err := parseClock(t)
	if err != nil {
		return Slot{}, err
	}
	for _, s := range c.hours[day.Weekday()] {
		if m >= s.from && m+c.SlotMinutes <= s.to && (m-s.from)%c.SlotMinutes == 0 {
			if sl, ok := c.slotAt(day, m); ok {
				return sl, nil
			}
			return Slot{}, fmt.Errorf("%w: %s does not exist on %s (daylight saving time change)", ErrNoSlot, FormatTime(m/60, m%60), date)
		}
	}
	return Slot{}, fmt.Errorf("%w: %s on %s at center %s", ErrNoSlot, FormatTime(m/60, m%60), date, c.CenterID)
}

// Bookable is Slot plus the booking window at now: ErrTooSoon when the slot starts less than
// MinLeadMinutes after now (a slot starting exactly at now+MinLead is bookable; a past slot is
// always too soon), ErrTooFar when its local date is more than MaxAdvanceDays after the
// center's local today (the last day of the window is bookable in full, whatever the hour).
func (c Center) Bookable(date, t string, now time.Time) (Slot, error) {
	c, err := c.ready()
	if err != nil {
		return Slot{}, err
	}
	sl, err := c.Slot(date, t)
	if err != nil {
		return Slot{}, err
	}
	if err := c.window(sl, now); err != nil {
		return Slot{}, err
	}
	return sl, nil
}

// window checks a slot of a prepared center against the booking window at now.
func (c Center) window(sl Slot, now time.Time) error {
	earliest := now.Add(time.Duration(c.MinLeadMinutes) * time.Minute)
	if sl.Start.Before(earliest) {
		return fmt.Errorf("%w: %s %s starts before %s (bookable from %d minutes ahead)",
			ErrTooSoon, sl.Date, sl.Time, earliest.In(c.loc).Format("2006-01-02 15:04 MST"), c.MinLeadMinutes)
	}
	// Civil-date arithmetic in UTC, where every day has 24 hours; YYYY-MM-DD strings compare
	// in date order.
	y, m, d := now.In(c.loc).Date()
	last := time.Date(y, m, d+c.MaxAdvanceDays, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
	if sl.Date > last {
		return fmt.Errorf("%w: %s is after %s (bookable up to %d days ahead)", ErrTooFar, sl.Date, last, c.MaxAdvanceDays)
	}
	return nil
}

// slotAt builds the slot of a prepared center starting at minute m of the local date day
// (a midnight in UTC carrying the civil date), or false if that wall-clock time does not exist.
func (c Center) slotAt(day time.Time, m int) (Slot, bool) {
	start, ok := resolve(c.loc, day.Add(time.Duration(m)*time.Minute))
	if !ok {
		return Slot{}, false
	}
	return Slot{
		Date:  day.Format(time.DateOnly),
		Time:  FormatTime(m/60, m%60),
		Start: start.UTC(),
		End:   start.Add(time.Duration(c.SlotMinutes) * time.Minute).UTC(),
	}, true
}

// resolve maps a wall-clock time of loc (given as the same clock reading in UTC) to its
// earliest instant, or false if the clock never shows it (skipped by a DST jump).
//
// time.Date is not used because, for a skipped or repeated wall-clock time, it documents no
// particular choice. Instead every UTC offset loc uses within a day either side is tried:
// an offset o gives the instant wall−o, which is right iff loc really uses o at that instant.
func resolve(loc *time.Location, wall time.Time) (time.Time, bool) {
	var best time.Time
	found := false
	for _, off := range offsetsAround(loc, wall) {
		t := wall.Add(-time.Duration(off) * time.Second)
		if _, o := t.In(loc).Zone(); o != off {
			continue
		}
		if !found || t.Before(best) {
			best, found = t, true
		}
	}
	return best.In(loc), found
}

// offsetsAround lists the distinct UTC offsets (seconds) loc uses from a day before to a day
// after wall (wider than any real offset, ±14h), walking the zone periods with ZoneBounds.
func offsetsAround(loc *time.Location, wall time.Time) []int {
	var offs []int
	add := func(o int) {
		for _, x := range offs {
			if x == o {
				return
			}
		}
		offs = append(offs, o)
	}
	cur := wall.Add(-26 * time.Hour).In(loc)
	limit := wall.Add(26 * time.Hour)
	for i := 0; i < 16; i++ { // a handful of periods at most; bound the walk regardless
		_, o := cur.Zone()
		add(o)
		_, end := cur.ZoneBounds()
		if end.IsZero() || !end.Before(limit) || !end.After(cur) {
			break
		}
		cur = end.In(loc)
	}
	return offs
}

// parseDate reads a strict YYYY-MM-DD date as midnight UTC of that civil date.
func parseDate(s string) (time.Time, error) {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil || d.Format(time.DateOnly) != s {
		return time.Time{}, fmt.Errorf("%w: %q", ErrBadDate, s)
	}
	return d, nil
}

// parseClock reads a slot time as minutes after midnight. Accepted: the catalog's 12-hour form
// "10:00 AM" (AM/PM in any case, with or without the space, hour 1–12) and the 24-hour form
// "10:00" / "9:30" (hour 0–23). Minutes are always two digits. "24:00" is refused: it ends a
// day, no slot starts at it.
func parseClock(s string) (int, error) {
	bad := fmt.Errorf("%w: %q", ErrBadTime, s)
	t := strings.ToUpper(strings.TrimSpace(s))
	twelve, pm := false, false
	if rest, ok := strings.CutSuffix(t, "AM"); ok {
		t, twelve = rest, true
	} else if rest, ok := strings.CutSuffix(t, "PM"); ok {
		t, twelve, pm = rest, true, true
	}
	t = strings.TrimSpace(t)
	hs, ms, ok := strings.Cut(t, ":")
	if !ok || len(hs) < 1 || len(hs) > 2 || len(ms) != 2 || !digits(hs) || !digits(ms) {
		return 0, bad
	}
	h, _ := strconv.Atoi(hs)
	m, _ := strconv.Atoi(ms)
	if m > 59 {
		return 0, bad
	}
	if twelve {
		if h < 1 || h > 12 {
			return 0, bad
		}
		h %= 12
		if pm {
			h += 12
		}
	} else if h > 23 {
		return 0, bad
	}
	return h*60 + m, nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
