package tables

import (
	"testing"
	"time"
)

func TestPrices(t *testing.T) {
	want := map[string]string{"standard": "50.00", "premium": "80.00", "express": "100.00"}
	if len(Prices) != len(want) {
		t.Errorf("Prices = %v, want %v", Prices, want)
	}
	for s, amount := range want {
		if got, ok := Prices[s]; !ok || got.String() != amount {
			t.Errorf("Prices[%s] = %v, want %s", s, got, amount)
		}
	}
	if Currency != "USD" {
		t.Errorf("Currency = %q", Currency)
	}
}

func TestCheckInRefusal(t *testing.T) {
	slot := t0.Add(72 * time.Hour)
	at := func(status string) Appointment {
		a := *appt(status)
		a.SlotStart = slot
		return a
	}
	tests := []struct {
		name   string
		status string
		now    time.Time
		want   string
	}{
		{"confirmed, 31 min before", ApptConfirmed, slot.Add(-31 * time.Minute), "qr_too_early"},
		{"confirmed, 30 min and 1 ns before", ApptConfirmed, slot.Add(-30*time.Minute - time.Nanosecond), "qr_too_early"},
		{"confirmed, exactly 30 min before", ApptConfirmed, slot.Add(-30 * time.Minute), ""},
		{"confirmed, at the start", ApptConfirmed, slot, ""},
		{"confirmed, exactly 30 min after", ApptConfirmed, slot.Add(30 * time.Minute), ""},
		{"confirmed, 30 min and 1 ns after", ApptConfirmed, slot.Add(30*time.Minute + time.Nanosecond), "qr_expired"},
		{"confirmed, 31 min after", ApptConfirmed, slot.Add(31 * time.Minute), "qr_expired"},
		{"pending payment", ApptPendingPayment, slot, RefusedInvalidState},
		{"already checked in", ApptInProgress, slot, RefusedInvalidState},
		{"cancelled", ApptCancelled, slot, RefusedInvalidState},
		{"expired", ApptExpired, slot, RefusedInvalidState},
		{"not confirmed and too early", ApptPendingPayment, slot.Add(-time.Hour), RefusedInvalidState},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := at(tc.status).CheckInRefusal(tc.now); got != tc.want {
				t.Errorf("CheckInRefusal = %q, want %q", got, tc.want)
			}
		})
	}
}
