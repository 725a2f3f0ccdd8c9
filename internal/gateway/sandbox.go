package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
)

// sandbox is the built-in gateway for development and tests. It keeps no
// state at all: every id is a hash of the call's inputs and the outcome is
// chosen by the caller. Statelessness is what makes it idempotent across
// crashes and restarts of the worker, exactly like a real gateway keyed by
// request id.
type sandbox struct{}

// NewSandbox is the built-in gateway: no network; ids derived
// deterministically from the request ids (e.g. "SANDBOX-ORDER-" + first 12
// hex of sha256(requestID)), so a retried call returns the same ids; decline
// is deterministic too.
func NewSandbox() Gateway { return sandbox{} }

// Name implements Gateway.
func (sandbox) Name() string { return "sandbox" }

// NeedsApproval implements Gateway: there is no customer-facing approval
// step, an order can be captured right away.
func (sandbox) NeedsApproval() bool { return false }

// CreateOrder implements Gateway. The order id is derived from requestID, so
// a retried call yields the same order. The arguments are validated like the
// real gateway would, so that bugs show up in development already.
func (sandbox) CreateOrder(ctx context.Context, requestID, amount, currency, description string) (Order, error) {
	if err := ctx.Err(); err != nil {
		return Order{}, err
	}
	if err := validateRequestID(requestID); err != nil {
		return Order{}, err
	}
	if err := validateMoney(amount, currency); err != nil {
		return Order{}, err
	}
	return Order{OrderID: "SANDBOX-ORDER-" + shortHash(requestID)}, nil
}

// Capture implements Gateway. "approve" (or "") completes and "decline" is
// declined with FailureReason "Insufficient funds"; any other outcome is an
// invalid argument, so a typo does not silently approve.
//
// The transaction id is derived from the order id rather than the request
// id: like PayPal, which answers a second capture of the same order with the
// existing capture, capturing one order twice, even under different request
// ids, yields one transaction.
func (sandbox) Capture(ctx context.Context, requestID, orderID, outcome string) (Capture, error) {
	if err := ctx.Err(); err != nil {
		return Capture{}, err
	}
	if err := validateRequestID(requestID); err != nil {
		return Capture{}, err
	}
	if orderID == "" {
		return Capture{}, invalid("empty order id")
	}
	switch outcome {
	case "", "approve":
		return Capture{Completed: true, TransactionID: "SANDBOX-CAPTURE-" + shortHash(orderID)}, nil
	case "decline":
		return Capture{FailureReason: "Insufficient funds"}, nil
	default:
		return Capture{}, invalid("unknown sandbox outcome %q (want \"approve\" or \"decline\")", outcome)
	}
}

// Refund implements Gateway. The refund id is derived from requestID: one
// capture may be partially refunded several times, each refund under its
// own request id, while a retry of the same refund yields the same id.
func (sandbox) Refund(ctx context.Context, requestID, transactionID, amount, currency, reason string) (Refund, error) {
	if err := ctx.Err(); err != nil {
		return Refund{}, err
	}
	if err := validateRequestID(requestID); err != nil {
		return Refund{}, err
	}
	if transactionID == "" {
		return Refund{}, invalid("empty transaction id")
	}
	if err := validateMoney(amount, currency); err != nil {
		return Refund{}, err
	}
	return Refund{RefundID: "SANDBOX-REFUND-" + shortHash(requestID)}, nil
}

// shortHash returns the first 12 hex digits of sha256(s): short enough to
// read in logs, long enough (48 bits) not to collide in practice.
func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:6])
}
