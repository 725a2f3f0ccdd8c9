// Package gateway talks to payment gateways: a built-in sandbox that never
// leaves the process, and PayPal through its Orders v2 REST API.
//
// Gateway calls are made by a worker outside the stream processors, and that
// worker may crash at any point and retry. Every call therefore carries a
// request id and is idempotent: calling twice with the same request id never
// charges (or refunds) twice and returns the same result. The sandbox gets
// this by deriving all ids from its inputs; the PayPal adapter by sending the
// request id as PayPal-Request-Id, which PayPal uses to replay the original
// response instead of repeating the operation.
//
// Money is passed as a string with exactly two decimals ("80.00") plus an
// ISO 4217 currency code ("USD"), never as a float, so amounts reach the
// gateway exactly as they were priced.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Order is a created payment order.
type Order struct {
	OrderID string
	// ApprovalURL is where the customer approves the payment; empty when no
	// approval is needed (sandbox).
	ApprovalURL string
}

// Capture is the outcome of capturing an order.
type Capture struct {
	Completed     bool
	TransactionID string // the capture id, when Completed
	FailureReason string // when declined, e.g. "Insufficient funds" / PayPal's issue description
}

// Refund is the outcome of refunding a capture.
type Refund struct{ RefundID string }

// Gateway is a payment gateway. Every method is idempotent per request id;
// see the package documentation.
type Gateway interface {
	Name() string // "sandbox" or "paypal"
	// NeedsApproval tells whether the customer must approve an order before
	// it can be captured.
	NeedsApproval() bool
	CreateOrder(ctx context.Context, requestID, amount, currency, description string) (Order, error)
	// Capture captures an order. outcome is honoured only by the sandbox:
	// "approve" (or "") completes, "decline" is declined with FailureReason
	// "Insufficient funds". A decline is not an error: it is
	// Capture{Completed:false}.
	Capture(ctx context.Context, requestID, orderID, outcome string) (Capture, error)
	Refund(ctx context.Context, requestID, transactionID, amount, currency, reason string) (Refund, error)
}

// ErrInvalidArgument is wrapped by errors about arguments that can never
// succeed (empty request id, malformed amount, ...). Such errors are
// permanent: retrying the same call cannot fix them.
var ErrInvalidArgument = errors.New("gateway: invalid argument")

// Error is a failed call to a remote gateway. It carries what is needed to
// decide about retrying (StatusCode) and to look the call up with the
// gateway's support (Name, DebugID). It never contains credentials.
type Error struct {
	Op         string // the operation, e.g. "capture"
	StatusCode int    // HTTP status; 0 when no usable response was received
	Name       string // the gateway's error name, e.g. "UNPROCESSABLE_ENTITY"
	Issue      string // the first detailed issue, e.g. "INSTRUMENT_DECLINED"
	Message    string // human-readable description
	DebugID    string // PayPal's debug_id, to quote to PayPal support

	permanent bool
	details   []detail // every detailed issue, for matching
}

// detail is one entry of PayPal's error details.
type detail struct {
	Field       string `json:"field"`
	Issue       string `json:"issue"`
	Description string `json:"description"`
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("gateway: ")
	b.WriteString(e.Op)
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.StatusCode)
	}
	if e.Name != "" {
		b.WriteString(" ")
		b.WriteString(e.Name)
	}
	if e.Issue != "" {
		b.WriteString(" ")
		b.WriteString(e.Issue)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.DebugID != "" {
		fmt.Fprintf(&b, " (debug_id %s)", e.DebugID)
	}
	return b.String()
}

// issue returns the error's detail with the given issue, or nil.
func (e *Error) issue(issue string) *detail {
	for i := range e.details {
		if e.details[i].Issue == issue {
			return &e.details[i]
		}
	}
	return nil
}

// Permanent tells errors no retry fixes (4xx other than 408/409/429, invalid
// arguments) from temporary ones (network, timeouts, 5xx, 429). Unknown errors
// count as temporary: because every call is idempotent, retrying is always
// safe, whereas giving up on a payment that might still go through is not.
func Permanent(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrInvalidArgument) {
		return true
	}
	var ge *Error
	if errors.As(err, &ge) {
		return ge.permanent
	}
	return false
}

// permanentStatus classifies an HTTP status. 408 (timeout), 409 (conflict,
// e.g. a concurrent request with the same PayPal-Request-Id still running)
// and 429 (rate limit) are client errors that do go away when retried.
func permanentStatus(status int) bool {
	switch status {
	case 408, 409, 429:
		return false
	}
	return status >= 400 && status < 500
}

// invalid returns an error wrapping ErrInvalidArgument.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidArgument, fmt.Sprintf(format, args...))
}

// validateRequestID rejects empty request ids: without one a retried call
// could not be recognised and might charge twice.
func validateRequestID(requestID string) error {
	if strings.TrimSpace(requestID) == "" {
		return invalid("empty request id")
	}
	return nil
}

// validateMoney checks the amount is a positive decimal with exactly two
// decimals and the currency an upper-case three-letter ISO 4217 code, so a
// malformed price fails fast and permanently instead of at the gateway.
func validateMoney(amount, currency string) error {
	whole, frac, ok := strings.Cut(amount, ".")
	if !ok || whole == "" || len(frac) != 2 || !digits(whole) || !digits(frac) {
		return invalid("amount %q is not a decimal with two decimals", amount)
	}
	if strings.Trim(whole, "0") == "" && strings.Trim(frac, "0") == "" {
		return invalid("amount %q is not positive", amount)
	}
	if len(currency) != 3 || strings.Trim(currency, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
		return invalid("currency %q is not an ISO 4217 code", currency)
	}
	return nil
}

func digits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// Reason is what a customer is told of a failed gateway call: the gateway's own description
// when it gave one, never the request details or ids of the raw error.
func Reason(err error) string {
	var ge *Error
	if errors.As(err, &ge) {
		for _, s := range []string{ge.Message, ge.Issue, ge.Name} {
			if s != "" {
				return s
			}
		}
	}
	if errors.Is(err, ErrInvalidArgument) {
		return "the payment request was not valid"
	}
	return "the payment could not be processed"
}

// NotApproved tells a capture refused because the buyer has not approved the order yet: the
// order stays good, and a capture after the approval succeeds.
func NotApproved(err error) bool {
	var ge *Error
	return errors.As(err, &ge) && ge.issue("ORDER_NOT_APPROVED") != nil
}
