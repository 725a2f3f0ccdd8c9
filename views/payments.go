package views

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/smartautocheck/smartautocheck/codecs"
	"github.com/smartautocheck/smartautocheck/internal/documents"
	"github.com/smartautocheck/smartautocheck/tables"
)

// paymentView is the answer of the payment endpoints.
type paymentView struct {
	PaymentID     string       `json:"paymentId"`
	AppointmentID string       `json:"appointmentId"`
	Status        string       `json:"status"`
	Amount        codecs.Money `json:"amount"`
	Currency      string       `json:"currency"`
	PaypalOrderID string       `json:"paypalOrderId"`
	TransactionID string       `json:"transactionId,omitempty"`
	FailureReason string       `json:"failureReason,omitempty"`
	ApprovalURL   string       `json:"approvalUrl,omitempty"`
	InvoiceNumber string       `json:"invoiceNumber,omitempty"`
}

func payView(p tables.Payment) paymentView {
	return paymentView{PaymentID: p.PaymentID, AppointmentID: p.AppointmentID, Status: p.Status, Amount: p.Amount,
		Currency: p.Currency, PaypalOrderID: p.OrderID, TransactionID: p.TransactionID, FailureReason: p.FailureReason,
		ApprovalURL: p.ApprovalURL, InvoiceNumber: p.InvoiceNumber}
}

var refusals = map[string]string{
	tables.RefusedHoldExpired:  "the payment window of this booking has passed",
	tables.RefusedAlreadyPaid:  "this booking is already paid",
	tables.RefusedInvalidState: "this booking cannot be paid now",
}

// settled tells whether a payment has an answer for its request: an outcome, or an order that
// waits for the customer's approval.
func settled(p *tables.Payment) bool {
	return p != nil && (!p.InFlight() || (p.Status == tables.PayPending && p.ApprovalURL != ""))
}

func (s *Server) pay(w http.ResponseWriter, r *http.Request) error {
	a, err := s.visible(r, tables.RoleCustomer)
	if err != nil {
		return err
	}
	key := strings.TrimSpace(r.Header.Get("Idempotency-Key"))
	if key == "" || len(key) > 200 {
		return invalid(map[string]string{"Idempotency-Key": "header is required (at most 200 characters)"})
	}
	var q struct {
		Method         string `json:"method"`
		SandboxOutcome string `json:"sandboxOutcome"`
	}
	if err := decodeBody(r, &q); err != nil {
		return err
	}
	if q.Method != tables.PaymentMethodPayPal {
		return invalid(map[string]string{"method": `must be "paypal"`})
	}
	if q.SandboxOutcome != "" && q.SandboxOutcome != "approve" && q.SandboxOutcome != "decline" {
		return invalid(map[string]string{"sandboxOutcome": `must be "approve" or "decline"`})
	}
	hash := bodyHash(q.Method, q.SandboxOutcome)
	if ps, found, err := s.Payments.Get(a.AppointmentID); err != nil {
		return err
	} else if prior := ps.Attempts[key]; found && prior != nil {
		return s.answerPayment(w, r.Context(), a.AppointmentID, key, hash)
	}
	switch {
	case a.Status == tables.ApptExpired || (a.Status == tables.ApptPendingPayment && !s.Now().Before(a.HoldExpiresAt)):
		return conflict(tables.RefusedHoldExpired, refusals[tables.RefusedHoldExpired])
	case a.PaymentID != "":
		return conflict(tables.RefusedAlreadyPaid, refusals[tables.RefusedAlreadyPaid])
	case a.Status != tables.ApptPendingPayment:
		return conflict(tables.RefusedInvalidState, refusals[tables.RefusedInvalidState])
	}
	p := tables.Payment{PaymentID: uuid.NewString(), AppointmentID: a.AppointmentID, CustomerID: a.CustomerID,
		IdempotencyKey: key, BodyHash: hash, Method: q.Method, SandboxOutcome: q.SandboxOutcome, Amount: a.Amount,
		Currency: a.Currency}
	if err := s.PayCommands.EmitSync(a.AppointmentID, tables.PaymentCommand{Pay: &tables.PayRequest{Payment: p, HoldExpiresAt: a.HoldExpiresAt}}); err != nil {
		return err
	}
	return s.answerPayment(w, r.Context(), a.AppointmentID, key, hash)
}

// answerPayment waits for the attempt made with key and answers with it: the same answer for
// every request with that key, 409 idempotency_key_reused for one with another body.
func (s *Server) answerPayment(w http.ResponseWriter, ctx context.Context, appointmentID, key, hash string) error {
	p, err := s.awaitPayment(ctx, appointmentID, key, hash, settled)
	if err != nil {
		return err.answer(w)
	}
	writeJSON(w, http.StatusCreated, payView(p))
	return nil
}

// waitOutcome is an error or the end of the wait (answered 202 with where to poll).
type waitOutcome struct {
	err      error
	location string
}

func (o *waitOutcome) answer(w http.ResponseWriter) error {
	if o.err != nil {
		return o.err
	}
	return accepted(w, o.location)
}

// awaitPayment waits until done holds for the attempt made with key. A completed payment is
// answered once the appointment shows it too (read-your-writes).
func (s *Server) awaitPayment(ctx context.Context, appointmentID, key, hash string, done func(*tables.Payment) bool) (tables.Payment, *waitOutcome) {
	ctx, cancel := context.WithTimeout(ctx, s.Wait)
	defer cancel()
	waited := &waitOutcome{location: "/v1/appointments/" + appointmentID}
	ps, _, err := s.Payments.WaitFor(ctx, appointmentID, func(ps tables.Payments, _ bool) bool {
		return ps.Attempts[key] != nil && done(ps.Attempts[key])
	})
	if errors.Is(err, context.DeadlineExceeded) {
		return tables.Payment{}, waited
	} else if err != nil {
		return tables.Payment{}, &waitOutcome{err: err}
	}
	p := ps.Attempts[key]
	if p.BodyHash != hash {
		return *p, &waitOutcome{err: conflict("idempotency_key_reused", "this Idempotency-Key was used with another request body")}
	}
	if p.Status == tables.PayRefused {
		return *p, &waitOutcome{err: conflict(p.Refusal, refusals[p.Refusal])}
	}
	if p.Status == tables.PayCompleted {
		_, _, err := s.Appointments.WaitFor(ctx, appointmentID, func(a tables.Appointment, _ bool) bool { return a.PaymentID != "" })
		if errors.Is(err, context.DeadlineExceeded) {
			return *p, waited
		} else if err != nil {
			return *p, &waitOutcome{err: err}
		}
	}
	return *p, nil
}

// capture completes a payment the customer approved at the gateway. Finding the payment reads
// the whole payments table; the approval flow is rare next to the sandbox's.
func (s *Server) capture(w http.ResponseWriter, r *http.Request) error {
	id := mux.Vars(r)["paymentId"]
	it, err := s.Payments.View.Iterator()
	if err != nil {
		return err
	}
	var found *tables.Payment
	for found == nil && it.Next() {
		v, err := it.Value()
		if err != nil {
			it.Release()
			return err
		}
		if ps, ok := v.(tables.Payments); ok {
			found = ps.ByID(id)
		}
	}
	it.Release()
	if found == nil || found.CustomerID != principal(r).UserID {
		return errNotFound
	}
	// The outcome is the capture's, or the gateway's word that the buyer has not approved yet.
	try := found.CaptureTries + 1
	outcome := func(p *tables.Payment) bool {
		return !p.InFlight() || (p.CaptureTries >= try && p.NotApproved != "")
	}
	if found.Status == tables.PayPending && found.ApprovalURL != "" {
		if err := s.PayCommands.EmitSync(found.AppointmentID, tables.PaymentCommand{Capture: &tables.CaptureRequest{PaymentID: id}}); err != nil {
			return err
		}
	}
	p, werr := s.awaitPayment(r.Context(), found.AppointmentID, found.IdempotencyKey, found.BodyHash, outcome)
	if werr != nil {
		return werr.answer(w)
	}
	if p.Status == tables.PayPending && p.NotApproved != "" {
		e := conflict("payment_not_approved", "the payment is not approved at the gateway yet: approve it, then capture again")
		e.Details["approvalUrl"], e.Details["gateway"] = p.ApprovalURL, p.NotApproved
		return e
	}
	writeJSON(w, http.StatusOK, payView(p))
	return nil
}

// invoice renders the invoice of the appointment's completed payment, with the refund note once
// refunded. Rendering is deterministic, so nothing needs storing.
func (s *Server) invoice(w http.ResponseWriter, r *http.Request) error {
	a, err := s.visible(r, tables.RoleCustomer, tables.RoleAdmin)
	if err != nil {
		return err
	}
	ps, _, err := s.Payments.Get(a.AppointmentID)
	if err != nil {
		return err
	}
	if ps.Completed == "" {
		return errNotFound
	}
	pdf, err := documents.InvoicePDF(documents.InvoiceFor(a, *ps.ByID(ps.Completed), s.Centers.NameOf(a.CenterID)))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", `inline; filename="`+ps.ByID(ps.Completed).InvoiceNumber+`.pdf"`)
	_, err = w.Write(pdf)
	return err
}
