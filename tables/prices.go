package tables

import (
	"time"

	"github.com/smartautocheck/smartautocheck/codecs"
)

// Currency of every price.
const Currency = "USD"

// Prices by service type (DOMAIN.md).
var Prices = map[string]codecs.Money{
	"standard": codecs.MoneyFromCents(5000),
	"premium":  codecs.MoneyFromCents(8000),
	"express":  codecs.MoneyFromCents(10000),
}

// CheckInRefusal applies the check-in rule to an appointment whose QR token verified and names
// it: the appointment must be confirmed and now within 30 minutes of the slot's start.
func (a Appointment) CheckInRefusal(now time.Time) string {
	switch {
	case a.Status != ApptConfirmed:
		return RefusedInvalidState
	case now.Before(a.SlotStart.Add(-30 * time.Minute)):
		return "qr_too_early"
	case now.After(a.SlotStart.Add(30 * time.Minute)):
		return "qr_expired"
	}
	return ""
}
