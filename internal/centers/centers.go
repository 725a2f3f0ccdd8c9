// Package centers holds the inspection centers of a deployment: their configuration (the
// --centers file of API.md, or the built-in default of DOMAIN.md), its validation, and the slot
// calendar of each center.
//
// Everything here is pure: no clock is read, the current instant is always passed in, so the
// booking rules can be tested at any date (DST days included) and every instance of the
// service computes the same calendar.
//
// All opening hours and slot times are wall-clock times of the center's own time zone; the
// instants (Slot.Start, Slot.End) are UTC.
package centers

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	// The centers' IANA zones must resolve even on a host (or a scratch container) without
	// /usr/share/zoneinfo; the embedded database is only consulted when the system one is
	// missing.
	_ "time/tzdata"
)

// Defaults of the optional fields of a configured center (API.md, "Center configuration
// file"), which are also the values of the built-in center (DOMAIN.md, "Centers and slots").
const (
	DefaultName           = "SmartAutoCheck Center"
	DefaultAddress        = "123 Main St"
	DefaultLanes          = 3
	DefaultSlotMinutes    = 60
	DefaultMinLeadMinutes = 120
	DefaultMaxAdvanceDays = 90
)

// Bounds of slotMinutes: a slot shorter than 5 minutes cannot hold an inspection and would only
// blow up the calendar; one longer than a day could never fit an opening range. Nothing else is
// required (the length need not divide an hour or a range: a range simply ends with the last
// slot that still fits).
const (
	MinSlotMinutes = 5
	MaxSlotMinutes = 24 * 60
)

// Days are the keys of OpeningHours, Monday first as in the configuration file.
var Days = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}

// dayWeekday maps an OpeningHours key to its time.Weekday.
var dayWeekday = map[string]time.Weekday{
	"mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday, "thu": time.Thursday,
	"fri": time.Friday, "sat": time.Saturday, "sun": time.Sunday,
}

// Center is one inspection center. The exported fields are its configuration exactly as in the
// --centers file; the unexported ones are what validation derives from them (the loaded time
// zone and the parsed opening ranges), so that the calendar does not re-parse on every call.
//
// A Center obtained from Default, Parse, Load or a Catalog is prepared. A Center built by hand
// still works: its methods validate and prepare a private copy on each call.
type Center struct {
	CenterID       string                 `json:"centerId"`
	Name           string                 `json:"name"`
	Address        string                 `json:"address"`
	Timezone       string                 `json:"timezone"`
	Lanes          int                    `json:"lanes"`
	SlotMinutes    int                    `json:"slotMinutes"`
	MinLeadMinutes int                    `json:"minLeadMinutes"`
	MaxAdvanceDays int                    `json:"maxAdvanceDays"`
	OpeningHours   map[string][][2]string `json:"openingHours"` // keys mon..sun, each a list of ["HH:MM","HH:MM"] ranges; "24:00" closes at midnight

	loc   *time.Location
	hours *[7][]span // indexed by time.Weekday, each day's ranges sorted by start
}

// span is one opening range in minutes after local midnight, [from, to) with to <= 1440.
type span struct{ from, to int }

// Default is the built-in center of DOMAIN.md, used when no --centers file is given:
// center-123, "SmartAutoCheck Center", "123 Main St", Europe/Paris, 3 lanes, 60-minute slots,
// bookable from 120 minutes to 90 days ahead, open Mon–Fri 08:00–18:00 and Sat 09:00–13:00,
// closed on Sunday.
func Default() Center {
	week := [][2]string{{"08:00", "18:00"}}
	c := Center{
		CenterID:       "center-123",
		Name:           DefaultName,
		Address:        DefaultAddress,
		Timezone:       "Europe/Paris",
		Lanes:          DefaultLanes,
		SlotMinutes:    DefaultSlotMinutes,
		MinLeadMinutes: DefaultMinLeadMinutes,
		MaxAdvanceDays: DefaultMaxAdvanceDays,
		OpeningHours: map[string][][2]string{
			"mon": week, "tue": week, "wed": week, "thu": week, "fri": week,
			"sat": {{"09:00", "13:00"}},
			"sun": {},
		},
	}
	p, err := prepare(c, "center")
	if err != nil {
		panic("centers: built-in default center is invalid: " + err.Error())
	}
	return p
}

// Location is the center's time zone. For a hand-built center whose timezone does not load it
// is UTC, so that callers that only format times never fail; Slots and friends report the
// error instead.
func (c Center) Location() *time.Location {
	if c.loc != nil {
		return c.loc
	}
	if loc, err := loadZone(c.Timezone); err == nil {
		return loc
	}
	return time.UTC
}

// ready returns c prepared (itself if it already is).
func (c Center) ready() (Center, error) {
	if c.loc != nil && c.hours != nil {
		return c, nil
	}
	return prepare(c, "center")
}

// Catalog is the set of centers of a deployment, validated once at start-up. It is read-only
// after NewCatalog and therefore safe for concurrent use.
type Catalog struct {
	list []Center
	byID map[string]int
}

// NewCatalog validates cs with the same checks as Parse (but applies no defaults: a zero Lanes
// is an error here, since a Go caller has no "absent" field) and prepares every center. Errors
// name the field as centers[i].field.
func NewCatalog(cs []Center) (*Catalog, error) {
	if len(cs) == 0 {
		return nil, errors.New("centers: at least one center is required")
	}
	cat := &Catalog{list: make([]Center, 0, len(cs)), byID: make(map[string]int, len(cs))}
	for i, c := range cs {
		at := fmt.Sprintf("centers[%d]", i)
		p, err := prepare(c, at)
		if err != nil {
			return nil, err
		}
		if _, dup := cat.byID[p.CenterID]; dup {
			return nil, fmt.Errorf("%s.centerId: duplicate %q", at, p.CenterID)
		}
		cat.byID[p.CenterID] = len(cat.list)
		cat.list = append(cat.list, p)
	}
	return cat, nil
}

// Get returns the center with the given id.
func (c *Catalog) Get(id string) (Center, bool) {
	i, ok := c.byID[id]
	if !ok {
		return Center{}, false
	}
	return c.list[i], true
}

// NameOf is a center's name for documents and messages; an unknown id (a center removed from
// the configuration since) is shown as itself.
func (c *Catalog) NameOf(id string) string {
	if cc, ok := c.Get(id); ok {
		return cc.Name
	}
	return id
}

// List returns the centers in configuration order (the order of GET /v1/centers). The slice is
// a copy; the centers share their read-only OpeningHours maps with the catalog.
func (c *Catalog) List() []Center {
	return append([]Center(nil), c.list...)
}

// prepare validates c and returns a copy with its time zone and opening ranges parsed. at is the
// field path of the center in error messages ("centers[0]").
func prepare(c Center, at string) (Center, error) {
	if err := checkID(c.CenterID); err != nil {
		return Center{}, fmt.Errorf("%s.centerId: %v", at, err)
	}
	if c.Timezone == "" {
		return Center{}, fmt.Errorf("%s.timezone: required (an IANA time zone such as \"Europe/Paris\")", at)
	}
	loc, err := loadZone(c.Timezone)
	if err != nil {
		return Center{}, fmt.Errorf("%s.timezone: %v", at, err)
	}
	if c.Lanes < 1 {
		return Center{}, fmt.Errorf("%s.lanes: %d is not a number of lanes (at least 1)", at, c.Lanes)
	}
	if c.SlotMinutes < MinSlotMinutes || c.SlotMinutes > MaxSlotMinutes {
		return Center{}, fmt.Errorf("%s.slotMinutes: %d is out of range (%d–%d)", at, c.SlotMinutes, MinSlotMinutes, MaxSlotMinutes)
	}
	if c.MinLeadMinutes < 0 {
		return Center{}, fmt.Errorf("%s.minLeadMinutes: %d is negative", at, c.MinLeadMinutes)
	}
	if c.MaxAdvanceDays < 0 {
		return Center{}, fmt.Errorf("%s.maxAdvanceDays: %d is negative", at, c.MaxAdvanceDays)
	}
	if c.OpeningHours == nil {
		return Center{}, fmt.Errorf("%s.openingHours: required (an object with keys %s)", at, strings.Join(Days, ", "))
	}
	var hours [7][]span
	for day, ranges := range c.OpeningHours {
		wd, ok := dayWeekday[day]
		if !ok {
			return Center{}, fmt.Errorf("%s.openingHours.%s: unknown day (want one of %s)", at, day, strings.Join(Days, ", "))
		}
		spans, err := parseRanges(ranges, fmt.Sprintf("%s.openingHours.%s", at, day))
		if err != nil {
			return Center{}, err
		}
		hours[wd] = spans
	}
	c.loc = loc
	c.hours = &hours
	return c, nil
}

// checkID refuses ids that would break the URL path segment of /v1/centers/{centerId}/slots
// or be invisible in logs.
func checkID(id string) error {
	if id == "" {
		return errors.New("required")
	}
	for _, r := range id {
		if r <= ' ' || r == 0x7f || strings.ContainsRune("/?#%", r) {
			return fmt.Errorf("%q contains %q (no spaces, control characters, '/', '?', '#' or '%%')", id, r)
		}
	}
	return nil
}

// loadZone loads an IANA zone. "" and "Local" are refused: LoadLocation would quietly turn them
// into UTC or the host's zone, and a center's calendar must not depend on the host.
func loadZone(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return nil, fmt.Errorf("unknown time zone %q", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q", name)
	}
	return loc, nil
}

// parseRanges checks one day's ranges (each start before its end, none overlapping another;
// touching ranges such as 08:00–12:00 and 12:00–18:00 are fine) and returns them sorted.
func parseRanges(ranges [][2]string, at string) ([]span, error) {
	spans := make([]span, 0, len(ranges))
	idx := make([]int, 0, len(ranges))
	for i, r := range ranges {
		from, ok := parseHHMM(r[0])
		if !ok {
			return nil, fmt.Errorf("%s[%d]: %q is not a time (HH:MM, 00:00–24:00)", at, i, r[0])
		}
		to, ok := parseHHMM(r[1])
		if !ok {
			return nil, fmt.Errorf("%s[%d]: %q is not a time (HH:MM, 00:00–24:00)", at, i, r[1])
		}
		if from >= to {
			return nil, fmt.Errorf("%s[%d]: start %q is not before end %q", at, i, r[0], r[1])
		}
		for k, s := range spans {
			if from < s.to && s.from < to {
				j := idx[k]
				return nil, fmt.Errorf("%s[%d]: [%q, %q] overlaps %s[%d] [%q, %q]", at, i, r[0], r[1], at, j, ranges[j][0], ranges[j][1])
			}
		}
		spans = append(spans, span{from, to})
		idx = append(idx, i)
	}
	sort.Slice(spans, func(a, b int) bool { return spans[a].from < spans[b].from })
	return spans, nil
}

// parseHHMM reads a configuration time, strictly two-digit "HH:MM" from "00:00" to "24:00"
// (24:00 being the end of the day), as minutes after midnight.
func parseHHMM(s string) (int, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	for _, i := range []int{0, 1, 3, 4} {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	h := int(s[0]-'0')*10 + int(s[1]-'0')
	m := int(s[3]-'0')*10 + int(s[4]-'0')
	if m > 59 || h > 24 || (h == 24 && m != 0) {
		return 0, false
	}
	return h*60 + m, true
}
