package tables

import "sort"

// CenterDayKey keys the slots table: one row per center and local date, so every booking of a
// center's day is decided on one partition — capacity and the inspectors' load alike.
func CenterDayKey(centerID, date string) string { return centerID + "|" + date }

// CenterDay is a row of the slots table.
type CenterDay struct {
	CenterID string `json:"centerId"`
	Date     string `json:"date"`
	// Holds maps a slot time to the appointments holding a place in it, each with its inspector
	// ("" when none could be assigned).
	Holds map[string]map[string]string `json:"holds"`
	Journaled
}

// Held is how many places of a slot are taken.
func (d CenterDay) Held(time string) int { return len(d.Holds[time]) }

// SlotCommand is a command of the slots processor; exactly one field is set.
type SlotCommand struct {
	Reserve *ReserveSlot `json:"reserve,omitempty"`
	Release *ReleaseSlot `json:"release,omitempty"`
}

// ReserveSlot asks for a place in a slot for an appointment.
type ReserveSlot struct {
	AppointmentID string `json:"appointmentId"`
	CenterID      string `json:"centerId"`
	Date          string `json:"date"`
	Time          string `json:"time"`
	Capacity      int    `json:"capacity"`
}

// ReleaseSlot gives an appointment's place back.
type ReleaseSlot struct {
	AppointmentID string `json:"appointmentId"`
	Time          string `json:"time"`
}

// Reservation is what a reserve decided.
type Reservation struct {
	Row         *CenterDay
	Granted     bool
	InspectorID *string
}

// Reserve holds a place if the slot has one, assigning the center's inspector with the fewest
// appointments that day among those free in that slot. An appointment that already holds a
// place (a redelivered command) is granted again with the same inspector.
func Reserve(cur *CenterDay, r ReserveSlot, inspectors []string) Reservation {
	d := CenterDay{CenterID: r.CenterID, Date: r.Date, Holds: map[string]map[string]string{}}
	if cur != nil {
		d = cur.clone()
	}
	if insp, ok := d.Holds[r.Time][r.AppointmentID]; ok {
		return Reservation{Granted: true, InspectorID: optional(insp)}
	}
	if d.Held(r.Time) >= r.Capacity {
		return Reservation{}
	}
	insp := d.pickInspector(r.Time, inspectors)
	if d.Holds[r.Time] == nil {
		d.Holds[r.Time] = map[string]string{}
	}
	d.Holds[r.Time][r.AppointmentID] = insp
	return Reservation{Row: &d, Granted: true, InspectorID: optional(insp)}
}

// Release frees an appointment's place; releasing one not held changes nothing.
func Release(cur *CenterDay, r ReleaseSlot) *CenterDay {
	if cur == nil {
		return nil
	}
	if _, ok := cur.Holds[r.Time][r.AppointmentID]; !ok {
		return nil
	}
	d := cur.clone()
	delete(d.Holds[r.Time], r.AppointmentID)
	if len(d.Holds[r.Time]) == 0 {
		delete(d.Holds, r.Time)
	}
	return &d
}

func (d CenterDay) pickInspector(time string, inspectors []string) string {
	busy := map[string]bool{}
	for _, insp := range d.Holds[time] {
		busy[insp] = true
	}
	load := map[string]int{}
	for _, holds := range d.Holds {
		for _, insp := range holds {
			load[insp]++
		}
	}
	free := make([]string, 0, len(inspectors))
	for _, i := range inspectors {
		if !busy[i] {
			free = append(free, i)
		}
	}
	sort.SliceStable(free, func(a, b int) bool {
		if load[free[a]] != load[free[b]] {
			return load[free[a]] < load[free[b]]
		}
		return free[a] < free[b]
	})
	if len(free) == 0 {
		return ""
	}
	return free[0]
}

func (d CenterDay) clone() CenterDay {
	c := CenterDay{CenterID: d.CenterID, Date: d.Date, Holds: make(map[string]map[string]string, len(d.Holds)), Journaled: d.Journaled}
	for t, holds := range d.Holds {
		m := make(map[string]string, len(holds))
		for k, v := range holds {
			m[k] = v
		}
		c.Holds[t] = m
	}
	return c
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// CenterStaff is a row of the centers table, keyed by centerId: the inspectors of a center.
type CenterStaff struct {
	CenterID   string   `json:"centerId"`
	Inspectors []string `json:"inspectors"`
	Journaled
}

// AddInspector adds an inspector to a center's staff; adding one twice changes nothing.
func AddInspector(cur *CenterStaff, centerID, userID string) *CenterStaff {
	s := CenterStaff{CenterID: centerID}
	if cur != nil {
		s.Journal = cur.Journal
		for _, i := range cur.Inspectors {
			if i == userID {
				return nil
			}
		}
		s.Inspectors = append(s.Inspectors, cur.Inspectors...)
	}
	s.Inspectors = append(s.Inspectors, userID)
	return &s
}
