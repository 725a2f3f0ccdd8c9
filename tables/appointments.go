package tables

import (
	"encoding/json"
	"time"

	"github.com/smartautocheck/smartautocheck/codecs"
)

// Appointment statuses. "requested" and "rejected" never leave the system: a booking is
// requested while its slot is being reserved, and rejected when the slot was full.
const (
	ApptRequested      = "requested"
	ApptRejected       = "rejected"
	ApptPendingPayment = "pending_payment"
	ApptConfirmed      = "confirmed"
	ApptInProgress     = "in_progress"
	ApptCompleted      = "completed"
	ApptCancelled      = "cancelled"
	ApptExpired        = "expired"
)

// Refusal codes recorded in rows, so a waiting request reads why its command was refused.
const (
	RefusedSlotUnavailable = "slot_unavailable"
	RefusedHoldExpired     = "hold_expired"
	RefusedAlreadyPaid     = "already_paid"
	RefusedInvalidState    = "invalid_state"
	RefusedNotCustomer     = "forbidden"
)

// CancelledBySystem marks a cancellation the system made (the payment window passed).
const CancelledBySystem = "system"

// ReasonPaymentWindowExpired is the reason of an expiry and of the refund of a late payment.
const ReasonPaymentWindowExpired = "payment_window_expired"

// Appointment is a row of the appointments table, keyed by appointmentId.
type Appointment struct {
	AppointmentID string         `json:"appointmentId"`
	CustomerID    string         `json:"customerId"`
	CustomerEmail string         `json:"customerEmail"`
	CustomerPhone string         `json:"customerPhone"`
	CustomerName  string         `json:"customerName"`
	CenterID      string         `json:"centerId"`
	CenterAddress string         `json:"centerAddress"`
	ServiceType   string         `json:"serviceType"`
	Date          string         `json:"date"`
	Time          string         `json:"time"`
	SlotStart     time.Time      `json:"slotStart"`
	Vehicle       codecs.Vehicle `json:"vehicle"`
	InspectorID   *string        `json:"inspectorId"`
	Status        string         `json:"status"`
	Rejection     string         `json:"rejection,omitempty"`
	Amount        codecs.Money   `json:"amount"`
	Currency      string         `json:"currency"`
	QRCode        string         `json:"qrCode"`
	QRToken       string         `json:"qrToken"`
	Hold          time.Duration  `json:"hold"`
	HoldExpiresAt time.Time      `json:"holdExpiresAt"`
	CreatedAt     time.Time      `json:"createdAt"`
	PaymentID     string         `json:"paymentId,omitempty"`
	ConfirmedAt   *time.Time     `json:"confirmedAt,omitempty"`
	CheckedInAt   *time.Time     `json:"checkedInAt,omitempty"`
	CancelledAt   *time.Time     `json:"cancelledAt,omitempty"`
	// RefundEligible is set by a cancellation.
	RefundEligible *bool       `json:"refundEligible,omitempty"`
	Refund         *RefundInfo `json:"refund,omitempty"`
	// History is every event about the appointment, in the order the processor saw them.
	History []json.RawMessage `json:"history,omitempty"`
	Journaled
}

// RefundInfo is the refund a cancellation asked for.
type RefundInfo struct {
	RefundID string       `json:"refundId"`
	Amount   codecs.Money `json:"amount"`
}

// SlotKey is the key of the center-day a slot belongs to.
func (a Appointment) SlotKey() string { return CenterDayKey(a.CenterID, a.Date) }

// Seen tells whether the history holds an event with this id (redelivered events are ignored).
func (a Appointment) Seen(eventID string) bool {
	for _, raw := range a.History {
		var head struct {
			EventID string `json:"eventId"`
		}
		if json.Unmarshal(raw, &head) == nil && head.EventID == eventID {
			return true
		}
	}
	return false
}

// AppointmentCommand is a command of the appointments processor; exactly one field is set.
type AppointmentCommand struct {
	Book    *BookAppointment `json:"book,omitempty"`
	Granted *SlotGranted     `json:"granted,omitempty"`
	Refused *SlotRefused     `json:"refused,omitempty"`
	Expire  *ExpireHold      `json:"expire,omitempty"`
	Cancel  *CancelAppt      `json:"cancel,omitempty"`
	CheckIn *CheckInAppt     `json:"checkIn,omitempty"`
	Remind  *RemindAppt      `json:"remind,omitempty"`
}

// BookAppointment asks for a new appointment; the view has checked the customer, the center,
// the slot's window and the vehicle, and signed the QR token.
type BookAppointment struct {
	Appointment Appointment `json:"appointment"`
	Capacity    int         `json:"capacity"`
}

// SlotGranted is the slots processor's answer: the place is held.
type SlotGranted struct {
	InspectorID *string `json:"inspectorId"`
}

// SlotRefused is the slots processor's answer: the slot is full.
type SlotRefused struct{}

// ExpireHold is the payment window's timer firing.
type ExpireHold struct{}

// CancelAppt cancels on behalf of a customer or an admin.
type CancelAppt struct {
	By     string `json:"by"`
	Reason string `json:"reason"`
}

// CheckInAppt records the vehicle's arrival; the view has verified the QR token.
type CheckInAppt struct{}

// RemindAppt is the reminder timer firing, 24 hours before the slot.
type RemindAppt struct{}

// ApptEffects is what applying a command or an event decided besides the new row.
type ApptEffects struct {
	Row *Appointment
	// Events are catalog payloads to emit on appointments-topic, in order.
	Events []codecs.Data
	// Reserve / Release act on the slot; Refund asks the payments processor for a refund.
	Reserve, Release bool
	Refund           *RefundRequest
	// Timers to set.
	ExpireAt, RemindAt *time.Time
	// Remind sends the SMS reminder.
	Remind bool
}

// RefundRequest asks the payments processor to refund an appointment's payment.
type RefundRequest struct {
	Reason string `json:"reason"`
}

// Book records a requested appointment and asks for its slot; a known id changes nothing. The
// view checked that the customer is verified; here only an account known to be something other
// than a customer is rejected — this copy of the users table may lag the view's by a moment
// (a customer verified just now), and a verification is never undone.
func Book(cur *Appointment, b BookAppointment, customer *User) ApptEffects {
	if cur != nil {
		return ApptEffects{}
	}
	a := b.Appointment
	if customer != nil && customer.Role != RoleCustomer {
		a.Status, a.Rejection = ApptRejected, RefusedNotCustomer
		return ApptEffects{Row: &a}
	}
	a.Status = ApptRequested
	return ApptEffects{Row: &a, Reserve: true}
}

// Granted makes a requested appointment pending payment: the hold starts now.
func Granted(cur *Appointment, g SlotGranted, now time.Time) ApptEffects {
	if cur == nil || cur.Status != ApptRequested {
		return ApptEffects{}
	}
	a := *cur
	a.Status, a.InspectorID, a.HoldExpiresAt = ApptPendingPayment, g.InspectorID, now.Add(a.Hold)
	expire := a.HoldExpiresAt
	return ApptEffects{Row: &a, ExpireAt: &expire, Events: []codecs.Data{codecs.AppointmentCreated{
		AppointmentID: a.AppointmentID, CustomerID: a.CustomerID, ServiceType: a.ServiceType, Date: a.Date, Time: a.Time,
		Vehicle: a.Vehicle, InspectorID: a.InspectorID, Status: a.Status, QRCode: a.QRCode, Amount: a.Amount}}}
}

// Refused rejects a requested appointment whose slot was full.
func Refused(cur *Appointment) ApptEffects {
	if cur == nil || cur.Status != ApptRequested {
		return ApptEffects{}
	}
	a := *cur
	a.Status, a.Rejection = ApptRejected, RefusedSlotUnavailable
	return ApptEffects{Row: &a}
}

// Expire ends an unpaid appointment: its window's timer fired. The slot is released and the
// cancellation is the system's; for a paid (or cancelled) one it changes nothing. It does not
// compare the clock with the window's end: the timer was set for that end, and the instance
// whose ticker fired it may run a few milliseconds ahead of this one.
func Expire(cur *Appointment, now time.Time) ApptEffects {
	if cur == nil || cur.Status != ApptPendingPayment {
		return ApptEffects{}
	}
	a := *cur
	no := false
	a.Status, a.CancelledAt, a.RefundEligible = ApptExpired, &now, &no
	return ApptEffects{Row: &a, Release: true, Events: []codecs.Data{codecs.AppointmentCancelled{
		AppointmentID: a.AppointmentID, CancelledBy: CancelledBySystem, Reason: ReasonPaymentWindowExpired,
		CancelledAt: now, RefundEligible: false}}}
}

// Cancellable tells whether an appointment may still be cancelled (until check-in).
func (a Appointment) Cancellable() bool {
	return a.Status == ApptPendingPayment || a.Status == ApptConfirmed
}

// RefundEligibleAt is DOMAIN.md's rule: a completed payment exists and the cancellation happens
// strictly more than 24 hours before the slot's start.
func (a Appointment) RefundEligibleAt(now time.Time) bool {
	return a.PaymentID != "" && a.SlotStart.Sub(now) > 24*time.Hour
}

// RefundID is the id of the refund of a payment: derived, so the appointment can name it before
// the gateway has answered and a retried refund is the same refund.
func RefundID(paymentID string) string { return NameID("refund", paymentID) }

// Cancel cancels an appointment that has not been checked in yet.
func Cancel(cur *Appointment, c CancelAppt, now time.Time) ApptEffects {
	if cur == nil || !cur.Cancellable() {
		return ApptEffects{}
	}
	a := *cur
	eligible := a.RefundEligibleAt(now)
	a.Status, a.CancelledAt, a.RefundEligible = ApptCancelled, &now, &eligible
	eff := ApptEffects{Row: &a, Release: true, Events: []codecs.Data{codecs.AppointmentCancelled{
		AppointmentID: a.AppointmentID, CancelledBy: c.By, Reason: c.Reason, CancelledAt: now, RefundEligible: eligible}}}
	if eligible {
		a.Refund = &RefundInfo{RefundID: RefundID(a.PaymentID), Amount: a.Amount}
		eff.Refund = &RefundRequest{Reason: "Customer cancelled >24h before"}
	}
	return eff
}

// CheckIn starts the visit of a confirmed appointment.
func CheckIn(cur *Appointment, now time.Time) ApptEffects {
	if cur == nil || cur.Status != ApptConfirmed {
		return ApptEffects{}
	}
	a := *cur
	a.Status, a.CheckedInAt = ApptInProgress, &now
	return ApptEffects{Row: &a, Events: []codecs.Data{codecs.AppointmentCheckedIn{AppointmentID: a.AppointmentID,
		CheckedInAt: now, Location: codecs.Location{CenterID: a.CenterID, Address: a.CenterAddress}}}}
}

// Remind sends the reminder of a still-confirmed appointment.
func Remind(cur *Appointment) ApptEffects {
	if cur == nil || cur.Status != ApptConfirmed {
		return ApptEffects{}
	}
	return ApptEffects{Remind: true}
}

// PaymentCompleted applies a payment.completed: a pending appointment is confirmed (and its
// reminder set, unless the slot is less than 24 hours away); one that has expired or been
// cancelled meanwhile keeps its status and the payment is refunded.
func PaymentCompleted(cur *Appointment, p codecs.PaymentCompleted, now time.Time) ApptEffects {
	if cur == nil {
		return ApptEffects{}
	}
	a := *cur
	switch a.Status {
	case ApptPendingPayment:
		a.Status, a.PaymentID, a.ConfirmedAt = ApptConfirmed, p.PaymentID, &now
		eff := ApptEffects{Row: &a, Events: []codecs.Data{codecs.AppointmentConfirmed{AppointmentID: a.AppointmentID,
			PaymentID: p.PaymentID, Status: ApptConfirmed, ConfirmedAt: now}}}
		if remind := a.SlotStart.Add(-24 * time.Hour); remind.After(now) {
			eff.RemindAt = &remind
		}
		return eff
	case ApptExpired, ApptCancelled:
		if a.PaymentID != "" && a.PaymentID != p.PaymentID {
			return ApptEffects{Row: &a}
		}
		reason := ReasonPaymentWindowExpired
		if a.Status == ApptCancelled {
			reason = "appointment_cancelled"
		}
		a.PaymentID = p.PaymentID
		a.Refund = &RefundInfo{RefundID: RefundID(p.PaymentID), Amount: p.Amount}
		return ApptEffects{Row: &a, Refund: &RefundRequest{Reason: reason}}
	}
	return ApptEffects{Row: &a}
}
