package views

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/smartautocheck/smartautocheck/codecs"
	"github.com/smartautocheck/smartautocheck/internal/centers"
	"github.com/smartautocheck/smartautocheck/internal/documents"
	"github.com/smartautocheck/smartautocheck/internal/signed"
	"github.com/smartautocheck/smartautocheck/tables"
)

// appointmentView is the appointment object of API.md.
type appointmentView struct {
	AppointmentID  string             `json:"appointmentId"`
	CustomerID     string             `json:"customerId"`
	CenterID       string             `json:"centerId"`
	ServiceType    string             `json:"serviceType"`
	Date           string             `json:"date"`
	Time           string             `json:"time"`
	Vehicle        codecs.Vehicle     `json:"vehicle"`
	InspectorID    *string            `json:"inspectorId"`
	Status         string             `json:"status"`
	Amount         codecs.Money       `json:"amount"`
	Currency       string             `json:"currency"`
	QRCode         string             `json:"qrCode"`
	QRToken        string             `json:"qrToken"`
	HoldExpiresAt  time.Time          `json:"holdExpiresAt"`
	CreatedAt      time.Time          `json:"createdAt"`
	PaymentID      string             `json:"paymentId,omitempty"`
	ConfirmedAt    *time.Time         `json:"confirmedAt,omitempty"`
	CheckedInAt    *time.Time         `json:"checkedInAt,omitempty"`
	CancelledAt    *time.Time         `json:"cancelledAt,omitempty"`
	RefundEligible *bool              `json:"refundEligible,omitempty"`
	Refund         *tables.RefundInfo `json:"refund,omitempty"`
}

func apptView(a tables.Appointment) appointmentView {
	return appointmentView{AppointmentID: a.AppointmentID, CustomerID: a.CustomerID, CenterID: a.CenterID,
		ServiceType: a.ServiceType, Date: a.Date, Time: a.Time, Vehicle: a.Vehicle, InspectorID: a.InspectorID,
		Status: a.Status, Amount: a.Amount, Currency: a.Currency, QRCode: a.QRCode, QRToken: a.QRToken,
		HoldExpiresAt: a.HoldExpiresAt.UTC(), CreatedAt: a.CreatedAt.UTC(), PaymentID: a.PaymentID,
		ConfirmedAt: a.ConfirmedAt, CheckedInAt: a.CheckedInAt, CancelledAt: a.CancelledAt,
		RefundEligible: a.RefundEligible, Refund: a.Refund}
}

var (
	errSlotUnavailable = errorf(http.StatusConflict, "slot_unavailable", "the slot has no place left")
	errUserNotVerified = errorf(http.StatusForbidden, "user_not_verified", "verify your email address before booking")
	registrationRE     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 -]{0,18}[A-Za-z0-9]$`)
)

func conflict(code, message string) *apiError { return errorf(http.StatusConflict, code, message) }

func (s *Server) listCenters(w http.ResponseWriter, _ *http.Request) error {
	out := []map[string]any{}
	for _, c := range s.Centers.List() {
		out = append(out, map[string]any{"centerId": c.CenterID, "name": c.Name, "address": c.Address,
			"timezone": c.Timezone, "lanes": c.Lanes})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) center(id string) (centers.Center, error) {
	c, ok := s.Centers.Get(id)
	if !ok {
		return c, errNotFound
	}
	return c, nil
}

func (s *Server) listSlots(w http.ResponseWriter, r *http.Request) error {
	c, err := s.center(mux.Vars(r)["centerId"])
	if err != nil {
		return err
	}
	date := r.URL.Query().Get("date")
	slots, err := c.BookableSlots(date, s.Now())
	if err != nil {
		return invalid(map[string]string{"date": "must be a date YYYY-MM-DD"})
	}
	day, _, err := s.Slots.Get(tables.CenterDayKey(c.CenterID, date))
	if err != nil {
		return err
	}
	out := []map[string]any{}
	for _, sl := range slots {
		out = append(out, map[string]any{"time": sl.Time, "capacity": c.Lanes, "available": max(c.Lanes-day.Held(sl.Time), 0)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"centerId": c.CenterID, "date": date, "slots": out})
	return nil
}

type bookRequest struct {
	CenterID    string         `json:"centerId"`
	ServiceType string         `json:"serviceType"`
	Date        string         `json:"date"`
	Time        string         `json:"time"`
	Vehicle     codecs.Vehicle `json:"vehicle"`
}

// validate checks a booking and returns its center and slot.
func (s *Server) validateBooking(q bookRequest) (centers.Center, centers.Slot, error) {
	bad := map[string]string{}
	c, ok := s.Centers.Get(q.CenterID)
	if !ok {
		bad["centerId"] = "is not a known center"
	}
	if _, ok := tables.Prices[q.ServiceType]; !ok {
		bad["serviceType"] = "must be standard, premium or express"
	}
	v := q.Vehicle
	if !registrationRE.MatchString(strings.TrimSpace(v.Registration)) {
		bad["vehicle.registration"] = "must be 2 to 20 letters, digits, spaces or dashes"
	}
	if s := strings.TrimSpace(v.Make); s == "" || len(s) > 50 {
		bad["vehicle.make"] = "is required (at most 50 characters)"
	}
	if s := strings.TrimSpace(v.Model); s == "" || len(s) > 50 {
		bad["vehicle.model"] = "is required (at most 50 characters)"
	}
	if v.Year < 1900 || v.Year > s.Now().Year()+1 {
		bad["vehicle.year"] = "must be a year between 1900 and next year"
	}
	var sl centers.Slot
	if ok {
		var err error
		if sl, err = c.Bookable(q.Date, q.Time, s.Now()); err != nil {
			switch {
			case errors.Is(err, centers.ErrBadDate):
				bad["date"] = "must be a date YYYY-MM-DD"
			case errors.Is(err, centers.ErrBadTime):
				bad["time"] = `must be a time such as "10:00 AM" or "10:00"`
			case errors.Is(err, centers.ErrNoSlot):
				bad["time"] = "is not a slot of the center that day (closed, or not a slot start)"
			case errors.Is(err, centers.ErrTooSoon):
				bad["date"] = "the slot is past or too soon to book"
			case errors.Is(err, centers.ErrTooFar):
				bad["date"] = "the slot is too far ahead to book"
			default:
				bad["time"] = err.Error()
			}
		}
	}
	if len(bad) > 0 {
		return c, sl, invalid(bad)
	}
	return c, sl, nil
}

func (s *Server) book(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	if p.Role != tables.RoleCustomer {
		return errForbidden
	}
	u, found, err := s.Users.Get(p.UserID)
	if err != nil {
		return err
	}
	if !found {
		return errUnauthenticated
	}
	if !u.Verified() {
		return errUserNotVerified
	}
	var q bookRequest
	if err := decodeBody(r, &q); err != nil {
		return err
	}
	c, sl, err := s.validateBooking(q)
	if err != nil {
		return err
	}
	if day, _, err := s.Slots.Get(tables.CenterDayKey(c.CenterID, sl.Date)); err != nil {
		return err
	} else if day.Held(sl.Time) >= c.Lanes {
		return errSlotUnavailable
	}
	now := s.Now().UTC()
	id := uuid.NewString()
	token, err := s.Signer.QRToken(signed.QR{AppointmentID: id, CustomerID: u.UserID, CenterID: c.CenterID,
		Date: sl.Date, Time: sl.Time, IssuedAt: now.Unix()})
	if err != nil {
		return err
	}
	png, err := documents.QRPNG(token, 256)
	if err != nil {
		return err
	}
	v := q.Vehicle
	v.Registration = strings.ToUpper(strings.TrimSpace(v.Registration))
	a := tables.Appointment{AppointmentID: id, CustomerID: u.UserID, CustomerEmail: u.Email, CustomerPhone: u.Phone,
		CustomerName: strings.TrimSpace(u.FirstName + " " + u.LastName), CenterID: c.CenterID, CenterAddress: c.Address,
		ServiceType: q.ServiceType, Date: sl.Date, Time: sl.Time, SlotStart: sl.Start, Vehicle: v,
		Amount: tables.Prices[q.ServiceType], Currency: tables.Currency, QRCode: base64.StdEncoding.EncodeToString(png),
		QRToken: token, Hold: s.Hold, CreatedAt: now}
	if err := s.ApptCommands.EmitSync(id, tables.AppointmentCommand{Book: &tables.BookAppointment{Appointment: a, Capacity: c.Lanes}}); err != nil {
		return err
	}
	got, status, err := s.awaitAppointment(r.Context(), id, func(a tables.Appointment) bool { return a.Status != tables.ApptRequested })
	if err != nil || status == http.StatusAccepted {
		return orAccepted(w, err, "/v1/appointments/"+id)
	}
	if got.Status == tables.ApptRejected {
		if got.Rejection == tables.RefusedNotCustomer {
			return errForbidden
		}
		return errSlotUnavailable
	}
	writeJSON(w, http.StatusCreated, apptView(got))
	return nil
}

// awaitAppointment waits (within the request's wait) until done holds for the appointment.
func (s *Server) awaitAppointment(ctx context.Context, id string, done func(tables.Appointment) bool) (tables.Appointment, int, error) {
	ctx, cancel := context.WithTimeout(ctx, s.Wait)
	defer cancel()
	a, _, err := s.Appointments.WaitFor(ctx, id, func(a tables.Appointment, found bool) bool { return found && done(a) })
	if errors.Is(err, context.DeadlineExceeded) {
		return a, http.StatusAccepted, nil
	}
	return a, http.StatusOK, err
}

// orAccepted answers a wait that ended without the outcome: its error, or 202 with where to
// poll when the wait ran out.
func orAccepted(w http.ResponseWriter, err error, location string) error {
	if err != nil {
		return err
	}
	return accepted(w, location)
}

// visible finds an appointment the caller may see: its customer, its inspector, an admin.
// Anyone else gets 404, as if it did not exist.
func (s *Server) visible(r *http.Request, roles ...string) (tables.Appointment, error) {
	a, found, err := s.Appointments.Get(mux.Vars(r)["id"])
	if err != nil {
		return a, err
	}
	if !found || a.Status == tables.ApptRejected {
		return a, errNotFound
	}
	if !readableBy(principal(r), a, roles...) {
		return a, errNotFound
	}
	return a, nil
}

// readableBy tells whether the caller may see the appointment acting in one of roles: an admin,
// its customer, its inspector.
func readableBy(p Principal, a tables.Appointment, roles ...string) bool {
	for _, role := range roles {
		switch {
		case role == tables.RoleAdmin && p.Role == tables.RoleAdmin,
			role == tables.RoleCustomer && p.Role == tables.RoleCustomer && a.CustomerID == p.UserID,
			role == tables.RoleInspector && p.Role == tables.RoleInspector && a.InspectorID != nil && *a.InspectorID == p.UserID:
			return true
		}
	}
	return false
}

var anyParty = []string{tables.RoleCustomer, tables.RoleInspector, tables.RoleAdmin}

func (s *Server) getAppointment(w http.ResponseWriter, r *http.Request) error {
	// A booking answered 202 is polled here: still in flight, or refused as it would have been.
	if a, found, err := s.Appointments.Get(mux.Vars(r)["id"]); err != nil {
		return err
	} else if found && a.Status == tables.ApptRejected && a.CustomerID == principal(r).UserID {
		if a.Rejection == tables.RefusedNotCustomer {
			return errForbidden
		}
		return errSlotUnavailable
	}
	a, err := s.visible(r, anyParty...)
	if err != nil {
		return err
	}
	if a.Status == tables.ApptRequested {
		return accepted(w, "/v1/appointments/"+a.AppointmentID)
	}
	writeJSON(w, http.StatusOK, apptView(a))
	return nil
}

// listAppointments reads the whole table: fine for one center's volume; an index per customer
// and inspector is the step when it is not.
func (s *Server) listAppointments(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	date, status := r.URL.Query().Get("date"), r.URL.Query().Get("status")
	it, err := s.Appointments.View.Iterator()
	if err != nil {
		return err
	}
	defer it.Release()
	out := []appointmentView{}
	for it.Next() {
		v, err := it.Value()
		if err != nil {
			return err
		}
		a, ok := v.(tables.Appointment)
		if !ok || a.Status == tables.ApptRejected || a.Status == tables.ApptRequested {
			continue
		}
		if !readableBy(p, a, anyParty...) || (date != "" && a.Date != date) || (status != "" && a.Status != status) {
			continue
		}
		out = append(out, apptView(a))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) history(w http.ResponseWriter, r *http.Request) error {
	a, err := s.visible(r, tables.RoleCustomer, tables.RoleAdmin)
	if err != nil {
		return err
	}
	events := a.History
	if events == nil {
		events = []json.RawMessage{}
	}
	writeJSON(w, http.StatusOK, events)
	return nil
}

func (s *Server) cancel(w http.ResponseWriter, r *http.Request) error {
	a, err := s.visible(r, tables.RoleCustomer, tables.RoleAdmin)
	if err != nil {
		return err
	}
	var q struct {
		Reason string `json:"reason"`
	}
	if err := decodeBody(r, &q); err != nil {
		return err
	}
	if q.Reason = strings.TrimSpace(q.Reason); q.Reason == "" || len(q.Reason) > 500 {
		return invalid(map[string]string{"reason": "is required (at most 500 characters)"})
	}
	if !a.Cancellable() {
		return conflict("invalid_state", "an appointment "+a.Status+" cannot be cancelled")
	}
	if err := s.ApptCommands.EmitSync(a.AppointmentID, tables.AppointmentCommand{Cancel: &tables.CancelAppt{By: principal(r).UserID, Reason: q.Reason}}); err != nil {
		return err
	}
	got, status, err := s.awaitAppointment(r.Context(), a.AppointmentID, func(a tables.Appointment) bool { return !a.Cancellable() })
	if err != nil || status == http.StatusAccepted {
		return orAccepted(w, err, "/v1/appointments/"+a.AppointmentID)
	}
	if got.Status != tables.ApptCancelled {
		return conflict("invalid_state", "the appointment became "+got.Status+" first")
	}
	writeJSON(w, http.StatusOK, apptView(got))
	return nil
}

func (s *Server) checkIn(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	a, found, err := s.Appointments.Get(mux.Vars(r)["id"])
	if err != nil {
		return err
	}
	if !found || a.Status == tables.ApptRejected {
		return errNotFound
	}
	if p.Role == tables.RoleInspector {
		u, _, err := s.Users.Get(p.UserID)
		if err != nil {
			return err
		}
		if u.CenterID != a.CenterID {
			return errForbidden
		}
	}
	var q struct {
		QRToken string `json:"qrToken"`
	}
	if err := decodeBody(r, &q); err != nil {
		return err
	}
	if q.QRToken == "" {
		return invalid(map[string]string{"qrToken": "is required"})
	}
	qr, err := s.Signer.VerifyQR(q.QRToken)
	if err != nil {
		return errorf(http.StatusUnprocessableEntity, "qr_invalid_signature", "the QR code is not one this system signed")
	}
	if qr.AppointmentID != a.AppointmentID {
		return errorf(http.StatusUnprocessableEntity, "qr_mismatch", "the QR code is another appointment's")
	}
	switch code := a.CheckInRefusal(s.Now()); code {
	case "":
	case tables.RefusedInvalidState:
		return errorf(http.StatusUnprocessableEntity, code, "an appointment "+a.Status+" cannot be checked in")
	default:
		return errorf(http.StatusUnprocessableEntity, code, "check-in is open from 30 minutes before to 30 minutes after the slot's start")
	}
	if err := s.ApptCommands.EmitSync(a.AppointmentID, tables.AppointmentCommand{CheckIn: &tables.CheckInAppt{}}); err != nil {
		return err
	}
	got, status, err := s.awaitAppointment(r.Context(), a.AppointmentID, func(a tables.Appointment) bool { return a.Status != tables.ApptConfirmed })
	if err != nil || status == http.StatusAccepted {
		return orAccepted(w, err, "/v1/appointments/"+a.AppointmentID)
	}
	if got.Status != tables.ApptInProgress {
		return errorf(http.StatusUnprocessableEntity, tables.RefusedInvalidState, "the appointment became "+got.Status+" first")
	}
	writeJSON(w, http.StatusOK, apptView(got))
	return nil
}

// bodyHash identifies a payment request's body, to tell a replay from a reused key.
func bodyHash(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:])
}
