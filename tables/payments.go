package tables

import (
	"fmt"
	"time"

	"github.com/smartautocheck/smartautocheck/codecs"
)

// Payment statuses.
const (
	PayInitiating = "initiating" // order being created at the gateway
	PayPending    = "pending"    // order created; being captured or awaiting the customer's approval
	PayCaptured   = "captured"   // captured; its invoice number is being assigned
	PayCompleted  = "completed"
	PayFailed     = "failed"
	PayRefused    = "refused" // refused before reaching the gateway; Refusal says why
)

// PaymentMethodPayPal is the only method of the catalog.
const PaymentMethodPayPal = "paypal"

// Payments is a row of the payments table, keyed by appointmentId: every payment attempt of an
// appointment, by the Idempotency-Key that made it.
type Payments struct {
	AppointmentID string              `json:"appointmentId"`
	Attempts      map[string]*Payment `json:"attempts"`
	// Completed is the paymentId of the completed payment, if any.
	Completed string `json:"completed,omitempty"`
	// ApptStatus is what the processor knows of the appointment's status from appointments-topic.
	ApptStatus string `json:"apptStatus,omitempty"`
	Journaled
}

// Payment is one attempt.
type Payment struct {
	PaymentID      string       `json:"paymentId"`
	AppointmentID  string       `json:"appointmentId"`
	CustomerID     string       `json:"customerId"`
	IdempotencyKey string       `json:"idempotencyKey"`
	BodyHash       string       `json:"bodyHash"`
	Method         string       `json:"method"`
	SandboxOutcome string       `json:"sandboxOutcome,omitempty"`
	Amount         codecs.Money `json:"amount"`
	Currency       string       `json:"currency"`
	Status         string       `json:"status"`
	Refusal        string       `json:"refusal,omitempty"`
	OrderID        string       `json:"paypalOrderId,omitempty"`
	ApprovalURL    string       `json:"approvalUrl,omitempty"`
	TransactionID  string       `json:"transactionId,omitempty"`
	FailureReason  string       `json:"failureReason,omitempty"`
	InvoiceNumber  string       `json:"invoiceNumber,omitempty"`
	// CaptureTries counts the customer's capture requests of an order awaiting approval;
	// NotApproved is set when the latest found the order not approved yet.
	CaptureTries int    `json:"captureTries,omitempty"`
	NotApproved  string `json:"notApproved,omitempty"`
	// InvoiceSeries is the series the number was asked of (the year of the capture), so a
	// request asked again after New Year goes to the same series.
	InvoiceSeries string     `json:"invoiceSeries,omitempty"`
	CreatedAt     time.Time  `json:"createdAt"`
	CompletedAt   *time.Time `json:"completedAt,omitempty"`
	Refund        *Refund    `json:"refund,omitempty"`
}

// Refund is the refund of a completed payment.
type Refund struct {
	RefundID   string       `json:"refundId"`
	Amount     codecs.Money `json:"amount"`
	Reason     string       `json:"reason"`
	Done       bool         `json:"done"`
	RefundedAt *time.Time   `json:"refundedAt,omitempty"`
}

// InFlight tells whether the payment is between its request and its outcome.
func (p Payment) InFlight() bool {
	return p.Status == PayInitiating || p.Status == PayPending || p.Status == PayCaptured
}

// ByID finds an attempt by its paymentId.
func (ps Payments) ByID(paymentID string) *Payment {
	for _, p := range ps.Attempts {
		if p.PaymentID == paymentID {
			return p
		}
	}
	return nil
}

// PaymentCommand is a command of the payments processor; exactly one field is set.
type PaymentCommand struct {
	Pay          *PayRequest     `json:"pay,omitempty"`
	Capture      *CaptureRequest `json:"capture,omitempty"`
	NotApproved  *NotApproved    `json:"notApproved,omitempty"`
	OrderCreated *OrderCreated   `json:"orderCreated,omitempty"`
	Captured     *Captured       `json:"captured,omitempty"`
	Declined     *Declined       `json:"declined,omitempty"`
	Numbered     *Numbered       `json:"numbered,omitempty"`
	Refund       *RefundRequest  `json:"refund,omitempty"`
	Refunded     *Refunded       `json:"refunded,omitempty"`
}

// PayRequest is POST /v1/appointments/{id}/payments. The view has checked the caller and the
// appointment; HoldExpiresAt is the window the view saw, so the processor refuses a late one.
type PayRequest struct {
	Payment       Payment   `json:"payment"`
	HoldExpiresAt time.Time `json:"holdExpiresAt"`
}

// CaptureRequest captures an approved order (gateways that need the customer's approval).
type CaptureRequest struct {
	PaymentID string `json:"paymentId"`
}

// NotApproved is the gateway worker's report of a capture refused because the buyer has not
// approved the order yet: the payment stays pending, to be captured after the approval.
type NotApproved struct {
	PaymentID string `json:"paymentId"`
	Try       int    `json:"try"`
	Reason    string `json:"reason"`
}

// OrderCreated is the gateway worker's report of a created order.
type OrderCreated struct {
	PaymentID   string `json:"paymentId"`
	OrderID     string `json:"orderId"`
	ApprovalURL string `json:"approvalUrl,omitempty"`
}

// Captured is the gateway worker's report of a capture.
type Captured struct {
	PaymentID     string `json:"paymentId"`
	TransactionID string `json:"transactionId"`
}

// Declined is the gateway worker's report of a refused payment (a decline, or an error no
// retry fixes).
type Declined struct {
	PaymentID string `json:"paymentId"`
	Reason    string `json:"reason"`
}

// Numbered is the numbering processor's answer: the invoice number of a payment.
type Numbered struct {
	PaymentID string `json:"paymentId"`
	Number    string `json:"number"`
}

// Refunded is the gateway worker's report of a refund.
type Refunded struct {
	PaymentID string `json:"paymentId"`
	RefundID  string `json:"refundId"`
}

// PaymentIntent is work for the gateway worker, keyed by appointmentId.
type PaymentIntent struct {
	Kind          string       `json:"kind"` // create, capture, refund
	PaymentID     string       `json:"paymentId"`
	AppointmentID string       `json:"appointmentId"`
	Amount        codecs.Money `json:"amount"`
	Currency      string       `json:"currency"`
	Outcome       string       `json:"outcome,omitempty"`
	OrderID       string       `json:"orderId,omitempty"`
	// Try numbers a customer's capture requests, so each has its own gateway request id.
	Try           int    `json:"try,omitempty"`
	TransactionID string `json:"transactionId,omitempty"`
	RefundID      string `json:"refundId,omitempty"`
	Reason        string `json:"reason,omitempty"`
}

// Intent kinds.
const (
	IntentCreate  = "create"
	IntentCapture = "capture"
	IntentRefund  = "refund"
)

// PayEffects is what applying a payments command decided.
type PayEffects struct {
	Row     *Payments
	Events  []codecs.Data
	Intents []PaymentIntent
	// Number asks the numbering processor for the invoice number of this payment, in Series.
	Number, Series string
}

func (ps *Payments) clone(appointmentID string) Payments {
	c := Payments{AppointmentID: appointmentID, Attempts: map[string]*Payment{}}
	if ps != nil {
		c.Completed, c.ApptStatus, c.Journal = ps.Completed, ps.ApptStatus, ps.Journal
		for k, p := range ps.Attempts {
			cp := *p
			if p.Refund != nil {
				r := *p.Refund
				cp.Refund = &r
			}
			c.Attempts[k] = &cp
		}
	}
	return c
}

// Pay records a payment request. The same key again changes nothing (the request reads the
// earlier outcome); a request is refused when the appointment is already paid, its window has
// passed, or another payment of it is in flight (two captures would charge twice).
func Pay(cur *Payments, r PayRequest, now time.Time) PayEffects {
	if cur != nil && cur.Attempts[r.Payment.IdempotencyKey] != nil {
		return PayEffects{}
	}
	ps := cur.clone(r.Payment.AppointmentID)
	p := r.Payment
	p.CreatedAt = now
	ps.Attempts[p.IdempotencyKey] = &p
	switch {
	case ps.Completed != "":
		p.Status, p.Refusal = PayRefused, RefusedAlreadyPaid
	case ps.ApptStatus == ApptExpired || !now.Before(r.HoldExpiresAt):
		p.Status, p.Refusal = PayRefused, RefusedHoldExpired
	case ps.ApptStatus != "" && ps.ApptStatus != ApptPendingPayment:
		p.Status, p.Refusal = PayRefused, RefusedInvalidState
	case ps.inFlight():
		p.Status, p.Refusal = PayRefused, RefusedInvalidState
	default:
		p.Status = PayInitiating
		return PayEffects{Row: &ps, Intents: []PaymentIntent{{Kind: IntentCreate, PaymentID: p.PaymentID,
			AppointmentID: p.AppointmentID, Amount: p.Amount, Currency: p.Currency, Outcome: p.SandboxOutcome}}}
	}
	return PayEffects{Row: &ps}
}

func (ps Payments) inFlight() bool {
	for _, p := range ps.Attempts {
		if p.InFlight() {
			return true
		}
	}
	return false
}

// OrderWasCreated records the order and emits payment.initiated; a gateway that needs no
// approval is captured at once.
func OrderWasCreated(cur *Payments, o OrderCreated) PayEffects {
	if cur == nil || cur.ByID(o.PaymentID) == nil || cur.ByID(o.PaymentID).Status != PayInitiating {
		return PayEffects{}
	}
	ps := cur.clone(cur.AppointmentID)
	p := ps.ByID(o.PaymentID)
	p.Status, p.OrderID, p.ApprovalURL = PayPending, o.OrderID, o.ApprovalURL
	eff := PayEffects{Row: &ps, Events: []codecs.Data{codecs.PaymentInitiated{PaymentID: p.PaymentID,
		AppointmentID: p.AppointmentID, Amount: p.Amount, Currency: p.Currency, PayPalOrderID: p.OrderID, Status: PayPending}}}
	if o.ApprovalURL == "" {
		eff.Intents = []PaymentIntent{p.captureIntent()}
	}
	return eff
}

func (p Payment) captureIntent() PaymentIntent {
	return PaymentIntent{Kind: IntentCapture, PaymentID: p.PaymentID, AppointmentID: p.AppointmentID, Amount: p.Amount,
		Currency: p.Currency, Outcome: p.SandboxOutcome, OrderID: p.OrderID}
}

// CaptureApproved captures an order the customer says they approved; each request is a new try.
func CaptureApproved(cur *Payments, c CaptureRequest) PayEffects {
	if cur == nil || cur.ByID(c.PaymentID) == nil {
		return PayEffects{}
	}
	if p := cur.ByID(c.PaymentID); p.Status != PayPending || p.ApprovalURL == "" {
		return PayEffects{}
	}
	ps := cur.clone(cur.AppointmentID)
	p := ps.ByID(c.PaymentID)
	p.CaptureTries++
	p.NotApproved = ""
	in := p.captureIntent()
	in.Try = p.CaptureTries
	return PayEffects{Row: &ps, Intents: []PaymentIntent{in}}
}

// CaptureNotApproved records that the latest try found the order not approved yet; the payment
// stays pending. A report of an older try changes nothing.
func CaptureNotApproved(cur *Payments, n NotApproved) PayEffects {
	if cur == nil || cur.ByID(n.PaymentID) == nil {
		return PayEffects{}
	}
	if p := cur.ByID(n.PaymentID); p.Status != PayPending || p.CaptureTries != n.Try {
		return PayEffects{}
	}
	ps := cur.clone(cur.AppointmentID)
	ps.ByID(n.PaymentID).NotApproved = n.Reason
	return PayEffects{Row: &ps}
}

// WasCaptured records a capture and asks for the invoice number of the capture's year; the
// payment completes with it.
func WasCaptured(cur *Payments, c Captured, now time.Time) PayEffects {
	if cur == nil || cur.ByID(c.PaymentID) == nil {
		return PayEffects{}
	}
	switch p := cur.ByID(c.PaymentID); p.Status {
	case PayCaptured:
		// Still waiting for its number: ask again (numbering answers a request id it knows with
		// the same number), so a request lost in a crash cannot leave the payment stuck.
		return PayEffects{Number: c.PaymentID, Series: p.InvoiceSeries}
	case PayPending:
	default:
		return PayEffects{}
	}
	ps := cur.clone(cur.AppointmentID)
	p := ps.ByID(c.PaymentID)
	p.Status, p.TransactionID, p.InvoiceSeries = PayCaptured, c.TransactionID, InvoiceSeries(now)
	return PayEffects{Row: &ps, Number: p.PaymentID, Series: p.InvoiceSeries}
}

// InvoiceURL is where an appointment's invoice is served.
func InvoiceURL(publicURL, appointmentID string) string {
	return publicURL + "/v1/appointments/" + appointmentID + "/invoice.pdf"
}

// WasNumbered completes a captured payment: payment.completed with its invoice.
func WasNumbered(cur *Payments, n Numbered, publicURL string, now time.Time) PayEffects {
	if cur == nil || cur.ByID(n.PaymentID) == nil || cur.ByID(n.PaymentID).Status != PayCaptured {
		return PayEffects{}
	}
	ps := cur.clone(cur.AppointmentID)
	p := ps.ByID(n.PaymentID)
	p.Status, p.InvoiceNumber, p.CompletedAt = PayCompleted, n.Number, &now
	ps.Completed = p.PaymentID
	return PayEffects{Row: &ps, Events: []codecs.Data{codecs.PaymentCompleted{PaymentID: p.PaymentID,
		AppointmentID: p.AppointmentID, Amount: p.Amount, Currency: p.Currency, TransactionID: p.TransactionID,
		Status: PayCompleted, CompletedAt: now, PaymentMethod: p.Method, InvoiceURL: InvoiceURL(publicURL, p.AppointmentID)}}}
}

// WasDeclined fails a payment.
func WasDeclined(cur *Payments, d Declined, now time.Time) PayEffects {
	if cur == nil || cur.ByID(d.PaymentID) == nil {
		return PayEffects{}
	}
	if st := cur.ByID(d.PaymentID).Status; st != PayInitiating && st != PayPending {
		return PayEffects{}
	}
	ps := cur.clone(cur.AppointmentID)
	p := ps.ByID(d.PaymentID)
	p.Status, p.FailureReason = PayFailed, d.Reason
	return PayEffects{Row: &ps, Events: []codecs.Data{codecs.PaymentFailed{PaymentID: p.PaymentID,
		AppointmentID: p.AppointmentID, Amount: p.Amount, Status: PayFailed, FailureReason: d.Reason, FailedAt: now}}}
}

// RefundPayment refunds the completed payment once, whatever asks how often.
func RefundPayment(cur *Payments, r RefundRequest) PayEffects {
	if cur == nil || cur.Completed == "" {
		return PayEffects{}
	}
	if p := cur.ByID(cur.Completed); p == nil || p.Refund != nil {
		return PayEffects{}
	}
	ps := cur.clone(cur.AppointmentID)
	p := ps.ByID(ps.Completed)
	p.Refund = &Refund{RefundID: RefundID(p.PaymentID), Amount: p.Amount, Reason: r.Reason}
	return PayEffects{Row: &ps, Intents: []PaymentIntent{{Kind: IntentRefund, PaymentID: p.PaymentID,
		AppointmentID: p.AppointmentID, Amount: p.Amount, Currency: p.Currency, TransactionID: p.TransactionID,
		RefundID: p.Refund.RefundID, Reason: r.Reason}}}
}

// WasRefunded records the gateway's refund and emits payment.refunded.
func WasRefunded(cur *Payments, r Refunded, now time.Time) PayEffects {
	if cur == nil || cur.ByID(r.PaymentID) == nil {
		return PayEffects{}
	}
	if f := cur.ByID(r.PaymentID).Refund; f == nil || f.Done {
		return PayEffects{}
	}
	ps := cur.clone(cur.AppointmentID)
	p := ps.ByID(r.PaymentID)
	p.Refund.Done, p.Refund.RefundedAt = true, &now
	return PayEffects{Row: &ps, Events: []codecs.Data{codecs.PaymentRefunded{PaymentID: p.PaymentID,
		RefundID: p.Refund.RefundID, Amount: p.Refund.Amount, Reason: p.Refund.Reason, RefundedAt: now}}}
}

// AppointmentEvent keeps the processor's copy of the appointment's status.
func AppointmentEvent(cur *Payments, appointmentID string, ev codecs.Data) *Payments {
	status := ""
	switch d := ev.(type) {
	case codecs.AppointmentCreated:
		status = ApptPendingPayment
	case codecs.AppointmentConfirmed:
		status = ApptConfirmed
	case codecs.AppointmentCheckedIn:
		status = ApptInProgress
	case codecs.AppointmentCancelled:
		status = ApptCancelled
		if d.CancelledBy == CancelledBySystem && d.Reason == ReasonPaymentWindowExpired {
			status = ApptExpired
		}
	}
	if status == "" || (cur != nil && cur.ApptStatus == status) {
		return nil
	}
	ps := cur.clone(appointmentID)
	ps.ApptStatus = status
	return &ps
}

// Series is a gap-free numbering sequence, a row of the numbering table keyed by its prefix
// and year (INV-2026): the one key puts every assignment of a year on one partition.
type Series struct {
	Series string `json:"series"`
	Last   int    `json:"last"`
	// Recent remembers the latest assignments, so a request that comes again gets its number
	// again. Requests come again only while their sender's offset is uncommitted — moments —
	// so the row stays small however many numbers a year has.
	Recent []Assignment `json:"recent"`
	Journaled
}

// Assignment is a number given to a request.
type Assignment struct {
	RequestID string `json:"requestId"`
	Number    int    `json:"number"`
}

// recentAssignments is how many assignments a series remembers.
const recentAssignments = 1024

// NumberRequest asks for the next number of a series on behalf of a payment (or certificate).
type NumberRequest struct {
	Series    string `json:"series"`
	RequestID string `json:"requestId"`
	ReplyKey  string `json:"replyKey"`
}

// NextNumber assigns the next number; a request seen recently gets its number again.
func NextNumber(cur *Series, r NumberRequest) (row *Series, number string) {
	s := Series{Series: r.Series}
	if cur != nil {
		for _, a := range cur.Recent {
			if a.RequestID == r.RequestID {
				return nil, FormatNumber(r.Series, a.Number)
			}
		}
		s.Last, s.Journal = cur.Last, cur.Journal
		s.Recent = cur.Recent
		if len(s.Recent) >= recentAssignments {
			s.Recent = s.Recent[len(s.Recent)-recentAssignments+1:]
		}
	}
	s.Last++
	s.Recent = append(append([]Assignment(nil), s.Recent...), Assignment{RequestID: r.RequestID, Number: s.Last})
	return &s, FormatNumber(r.Series, s.Last)
}

// FormatNumber renders a number of a series: INV-2026 and 12 give INV-2026-000012.
func FormatNumber(series string, n int) string { return fmt.Sprintf("%s-%06d", series, n) }

// InvoiceSeries is the invoice series of a year.
func InvoiceSeries(at time.Time) string { return fmt.Sprintf("INV-%d", at.Year()) }
