package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"
)

func TestSandboxCreateOrderDeterministic(t *testing.T) {
	ctx := context.Background()
	g := NewSandbox()
	if g.Name() != "sandbox" {
		t.Errorf("Name() = %q, want sandbox", g.Name())
	}
	if g.NeedsApproval() {
		t.Error("sandbox NeedsApproval() = true, want false")
	}
	o1, err := g.CreateOrder(ctx, "req-1", "80.00", "USD", "Inspection")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("req-1"))
	if want := "SANDBOX-ORDER-" + hex.EncodeToString(sum[:])[:12]; o1.OrderID != want {
		t.Errorf("OrderID = %q, want %q", o1.OrderID, want)
	}
	if o1.ApprovalURL != "" {
		t.Errorf("ApprovalURL = %q, want empty", o1.ApprovalURL)
	}
	// A fresh gateway (the worker restarted) must give the same id.
	o2, err := NewSandbox().CreateOrder(ctx, "req-1", "80.00", "USD", "Inspection")
	if err != nil {
		t.Fatal(err)
	}
	if o2 != o1 {
		t.Errorf("retried CreateOrder = %+v, want %+v", o2, o1)
	}
	o3, err := g.CreateOrder(ctx, "req-2", "80.00", "USD", "Inspection")
	if err != nil {
		t.Fatal(err)
	}
	if o3.OrderID == o1.OrderID {
		t.Errorf("different request ids gave the same order id %q", o3.OrderID)
	}
}

func TestSandboxCapture(t *testing.T) {
	ctx := context.Background()
	g := NewSandbox()
	o, err := g.CreateOrder(ctx, "req-1", "80.00", "USD", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, outcome := range []string{"", "approve"} {
		c, err := g.Capture(ctx, "cap-1", o.OrderID, outcome)
		if err != nil {
			t.Fatal(err)
		}
		if !c.Completed || c.TransactionID == "" || c.FailureReason != "" {
			t.Errorf("Capture(%q) = %+v, want completed with a transaction id", outcome, c)
		}
		again, err := g.Capture(ctx, "cap-1", o.OrderID, outcome)
		if err != nil {
			t.Fatal(err)
		}
		if again != c {
			t.Errorf("retried Capture = %+v, want %+v", again, c)
		}
		// Capturing the same order again is still one transaction.
		other, err := g.Capture(ctx, "cap-2", o.OrderID, outcome)
		if err != nil {
			t.Fatal(err)
		}
		if other.TransactionID != c.TransactionID {
			t.Errorf("second capture of one order: transaction %q, want %q", other.TransactionID, c.TransactionID)
		}
	}

	for i := 0; i < 2; i++ {
		c, err := g.Capture(ctx, "cap-d", o.OrderID, "decline")
		if err != nil {
			t.Fatalf("decline must not be an error: %v", err)
		}
		if want := (Capture{FailureReason: "Insufficient funds"}); c != want {
			t.Errorf("declined Capture = %+v, want %+v", c, want)
		}
	}

	if _, err := g.Capture(ctx, "cap-x", o.OrderID, "aprove"); !errors.Is(err, ErrInvalidArgument) || !Permanent(err) {
		t.Errorf("unknown outcome: err = %v, want a permanent invalid argument", err)
	}
}

func TestSandboxRefundIdempotent(t *testing.T) {
	ctx := context.Background()
	g := NewSandbox()
	r1, err := g.Refund(ctx, "ref-1", "SANDBOX-CAPTURE-abc", "80.00", "USD", "cancelled")
	if err != nil {
		t.Fatal(err)
	}
	if r1.RefundID == "" {
		t.Fatal("empty refund id")
	}
	r2, err := NewSandbox().Refund(ctx, "ref-1", "SANDBOX-CAPTURE-abc", "80.00", "USD", "cancelled")
	if err != nil {
		t.Fatal(err)
	}
	if r2 != r1 {
		t.Errorf("retried Refund = %+v, want %+v", r2, r1)
	}
	r3, err := g.Refund(ctx, "ref-2", "SANDBOX-CAPTURE-abc", "10.00", "USD", "partial")
	if err != nil {
		t.Fatal(err)
	}
	if r3.RefundID == r1.RefundID {
		t.Error("a second refund under another request id got the same refund id")
	}
}

func TestSandboxInvalidArguments(t *testing.T) {
	ctx := context.Background()
	g := NewSandbox()
	cases := []struct {
		name string
		call func() error
	}{
		{"empty request id", func() error { _, err := g.CreateOrder(ctx, "", "80.00", "USD", ""); return err }},
		{"one decimal", func() error { _, err := g.CreateOrder(ctx, "r", "80.0", "USD", ""); return err }},
		{"no decimals", func() error { _, err := g.CreateOrder(ctx, "r", "80", "USD", ""); return err }},
		{"comma", func() error { _, err := g.CreateOrder(ctx, "r", "80,00", "USD", ""); return err }},
		{"negative", func() error { _, err := g.CreateOrder(ctx, "r", "-80.00", "USD", ""); return err }},
		{"zero", func() error { _, err := g.CreateOrder(ctx, "r", "0.00", "USD", ""); return err }},
		{"lower-case currency", func() error { _, err := g.CreateOrder(ctx, "r", "80.00", "usd", ""); return err }},
		{"empty currency", func() error { _, err := g.CreateOrder(ctx, "r", "80.00", "", ""); return err }},
		{"empty order id", func() error { _, err := g.Capture(ctx, "r", "", ""); return err }},
		{"empty transaction id", func() error { _, err := g.Refund(ctx, "r", "", "1.00", "USD", ""); return err }},
		{"refund amount", func() error { _, err := g.Refund(ctx, "r", "T", "1", "USD", ""); return err }},
	}
	for _, c := range cases {
		err := c.call()
		if !errors.Is(err, ErrInvalidArgument) || !Permanent(err) {
			t.Errorf("%s: err = %v, want a permanent invalid argument", c.name, err)
		}
	}
}

func TestSandboxHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := NewSandbox().CreateOrder(ctx, "r", "80.00", "USD", ""); !errors.Is(err, context.Canceled) || Permanent(err) {
		t.Errorf("cancelled context: err = %v, want a temporary context.Canceled", err)
	}
}

func TestPermanent(t *testing.T) {
	if Permanent(nil) {
		t.Error("Permanent(nil) = true")
	}
	if Permanent(errors.New("connection reset")) {
		t.Error("an unknown error must count as temporary")
	}
	for status, want := range map[int]bool{
		400: true, 401: true, 403: true, 404: true, 422: true,
		408: false, 409: false, 429: false, 500: false, 502: false, 503: false,
	} {
		if got := permanentStatus(status); got != want {
			t.Errorf("permanentStatus(%d) = %v, want %v", status, got, want)
		}
	}
	wrapped := errors.Join(errors.New("context"), &Error{Op: "x", StatusCode: 400, permanent: true})
	if !Permanent(wrapped) {
		t.Error("a wrapped permanent *Error must stay permanent")
	}
}
