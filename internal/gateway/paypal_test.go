package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smartautocheck/smartautocheck/internal/gateway/paypalfake"
)

// newFake starts the PayPal fake (see package paypalfake).
func newFake(t *testing.T) *paypalfake.Server { return paypalfake.New(t) }

// gatewayFor returns the adapter pointed at the fake.
func gatewayFor(t *testing.T, f *paypalfake.Server) *payPal {
	g, err := NewPayPal(PayPalConfig{
		BaseURL:   f.URL() + "/",
		ClientID:  paypalfake.ClientID,
		Secret:    paypalfake.Secret,
		HTTP:      f.Client(),
		ReturnURL: "https://smartautocheck.example/paid",
		CancelURL: "https://smartautocheck.example/cancelled",
	})
	if err != nil {
		t.Fatal(err)
	}
	return g.(*payPal)
}

// noSecret fails the test if err's text reveals a credential.
func noSecret(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range []string{paypalfake.Secret, paypalfake.TokenPrefix} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error reveals a credential: %v", err)
		}
	}
}

// createAndCapture creates an order, has the buyer approve it and captures
// it, failing on any error.
func createAndCapture(t *testing.T, f *paypalfake.Server, g Gateway, id string) (Order, Capture) {
	t.Helper()
	ctx := context.Background()
	o, err := g.CreateOrder(ctx, "create-"+id, "80.00", "USD", "Inspection "+id)
	if err != nil {
		t.Fatal(err)
	}
	f.Approve(o.OrderID)
	c, err := g.Capture(ctx, "capture-"+id, o.OrderID, "")
	if err != nil {
		t.Fatal(err)
	}
	return o, c
}

func TestPayPalBasics(t *testing.T) {
	g := gatewayFor(t, newFake(t))
	if g.Name() != "paypal" {
		t.Errorf("Name() = %q", g.Name())
	}
	if !g.NeedsApproval() {
		t.Error("paypal NeedsApproval() = false, want true")
	}
	for _, cfg := range []PayPalConfig{
		{BaseURL: "", ClientID: "a", Secret: "b"},
		{BaseURL: "api-m.paypal.com", ClientID: "a", Secret: "b"},
		{BaseURL: "https://api-m.paypal.com", ClientID: "a"},
		{BaseURL: "https://api-m.paypal.com", Secret: paypalfake.Secret},
	} {
		_, err := NewPayPal(cfg)
		if !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("NewPayPal(%q, %q): err = %v, want invalid argument", cfg.BaseURL, cfg.ClientID, err)
		}
		noSecret(t, err)
	}
}

func TestPayPalCreateOrder(t *testing.T) {
	f := newFake(t)
	g := gatewayFor(t, f)
	o, err := g.CreateOrder(context.Background(), "req-1", "80.00", "USD", "Inspection B-SA 1234")
	if err != nil {
		t.Fatal(err)
	}
	if o.OrderID != "ORDER-1" {
		t.Errorf("OrderID = %q", o.OrderID)
	}
	if want := "https://www.sandbox.paypal.com/checkoutnow?token=ORDER-1"; o.ApprovalURL != want {
		t.Errorf("ApprovalURL = %q, want %q", o.ApprovalURL, want)
	}
	body, _ := json.Marshal(f.LastCreate())
	for _, want := range []string{
		`"intent":"CAPTURE"`,
		`"amount":{"currency_code":"USD","value":"80.00"}`,
		`"description":"Inspection B-SA 1234"`,
		`"return_url":"https://smartautocheck.example/paid"`,
		`"cancel_url":"https://smartautocheck.example/cancelled"`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("create body %s lacks %s", body, want)
		}
	}

	// Retried with the same request id: same order, no second order.
	again, err := g.CreateOrder(context.Background(), "req-1", "80.00", "USD", "Inspection B-SA 1234")
	if err != nil {
		t.Fatal(err)
	}
	if again != o {
		t.Errorf("retried CreateOrder = %+v, want %+v", again, o)
	}
	if _, creates, _, _ := f.Counts(); creates != 1 {
		t.Errorf("fake created %d orders, want 1", creates)
	}
}

func TestPayPalCaptureCompletesIdempotently(t *testing.T) {
	f := newFake(t)
	g := gatewayFor(t, f)
	o, c := createAndCapture(t, f, g, "1")
	if !c.Completed || c.TransactionID != "CAPTURE-1" || c.FailureReason != "" {
		t.Fatalf("Capture = %+v, want completed CAPTURE-1", c)
	}
	again, err := g.Capture(context.Background(), "capture-1", o.OrderID, "")
	if err != nil {
		t.Fatal(err)
	}
	if again != c {
		t.Errorf("retried Capture = %+v, want %+v", again, c)
	}
	if _, _, captures, _ := f.Counts(); captures != 1 {
		t.Errorf("fake saw %d captures, want 1", captures)
	}

	// Under another request id (e.g. PayPal forgot the first one) PayPal
	// answers ORDER_ALREADY_CAPTURED; the adapter returns the existing capture.
	other, err := g.Capture(context.Background(), "capture-1-later", o.OrderID, "")
	if err != nil {
		t.Fatal(err)
	}
	if other != c {
		t.Errorf("Capture of an already captured order = %+v, want %+v", other, c)
	}
	if _, _, captures, _ := f.Counts(); captures != 1 {
		t.Errorf("fake saw %d captures, want 1", captures)
	}
}

func TestPayPalCaptureDeclined(t *testing.T) {
	f := newFake(t)
	g := gatewayFor(t, f)
	ctx := context.Background()
	o, err := g.CreateOrder(ctx, "create-1", "80.00", "USD", "")
	if err != nil {
		t.Fatal(err)
	}
	f.Approve(o.OrderID)
	f.SetDecline(true)
	for i := 0; i < 2; i++ {
		c, err := g.Capture(ctx, "capture-1", o.OrderID, "approve")
		if err != nil {
			t.Fatalf("a decline must not be an error: %v", err)
		}
		if c.Completed || c.TransactionID != "" || !strings.Contains(c.FailureReason, "declined by the processor or bank") {
			t.Errorf("declined Capture = %+v", c)
		}
	}
	if _, _, captures, _ := f.Counts(); captures != 0 {
		t.Errorf("fake saw %d captures, want 0", captures)
	}
}

// TestPayPalCaptureNotApproved: PayPal refuses to capture an order the buyer
// has not approved. That is a permanent error (no retry of the same call can
// succeed), not a decline, and it captures nothing.
func TestPayPalCaptureNotApproved(t *testing.T) {
	f := newFake(t)
	g := gatewayFor(t, f)
	ctx := context.Background()
	o, err := g.CreateOrder(ctx, "create-1", "80.00", "USD", "")
	if err != nil {
		t.Fatal(err)
	}
	c, err := g.Capture(ctx, "capture-1", o.OrderID, "")
	var ge *Error
	if !Permanent(err) || !errors.As(err, &ge) || ge.StatusCode != 422 || ge.Issue != "ORDER_NOT_APPROVED" {
		t.Fatalf("capture of an unapproved order = %+v, %v; want a permanent 422 ORDER_NOT_APPROVED", c, err)
	}
	noSecret(t, err)
	if _, _, captures, _ := f.Counts(); captures != 0 {
		t.Errorf("fake saw %d captures, want 0", captures)
	}

	// Once approved, a capture under a new request id goes through.
	f.Approve(o.OrderID)
	c, err = g.Capture(ctx, "capture-2", o.OrderID, "")
	if err != nil || !c.Completed || c.TransactionID != "CAPTURE-1" {
		t.Fatalf("capture after approval = %+v, %v", c, err)
	}
	if got, _ := f.Order(o.OrderID); got.Status != paypalfake.StatusCompleted || got.CaptureID != "CAPTURE-1" {
		t.Errorf("order at the fake: %+v", got)
	}
}

func TestPayPalCaptureStatusDeclined(t *testing.T) {
	f := newFake(t)
	g := gatewayFor(t, f)
	f.SetCaptureStatus("DECLINED")
	_, c := createAndCapture(t, f, g, "1")
	if want := (Capture{FailureReason: "DECLINED_BY_RISK_FRAUD_FILTERS"}); c != want {
		t.Errorf("Capture = %+v, want %+v", c, want)
	}
}

func TestPayPalCapturePendingThenCompleted(t *testing.T) {
	f := newFake(t)
	g := gatewayFor(t, f)
	ctx := context.Background()
	f.SetCaptureStatus("PENDING")
	o, err := g.CreateOrder(ctx, "create-1", "80.00", "USD", "")
	if err != nil {
		t.Fatal(err)
	}
	f.Approve(o.OrderID)
	_, err = g.Capture(ctx, "capture-1", o.OrderID, "")
	var ge *Error
	if err == nil || Permanent(err) || !errors.As(err, &ge) || ge.Name != "CAPTURE_NOT_FINAL" {
		t.Fatalf("pending capture: err = %v, want a temporary CAPTURE_NOT_FINAL", err)
	}
	if !strings.Contains(err.Error(), "PENDING_REVIEW") {
		t.Errorf("error %q lacks the pending reason", err)
	}
	// PayPal completes the capture; the retry (replayed PENDING response)
	// looks the order up and reports the completion.
	f.CompleteCapture(o.OrderID)
	c, err := g.Capture(ctx, "capture-1", o.OrderID, "")
	if err != nil {
		t.Fatal(err)
	}
	if !c.Completed || c.TransactionID != "CAPTURE-1" {
		t.Errorf("Capture = %+v, want completed CAPTURE-1", c)
	}
	if _, _, captures, _ := f.Counts(); captures != 1 {
		t.Errorf("fake saw %d captures, want 1", captures)
	}
}

func TestPayPalMalformedResponseIsTemporary(t *testing.T) {
	f := newFake(t)
	g := gatewayFor(t, f)
	f.FailOnce(201, `{"status":"CREATED"}`)
	_, err := g.CreateOrder(context.Background(), "req-1", "80.00", "USD", "")
	if err == nil || Permanent(err) {
		t.Errorf("response without order id: err = %v, want temporary", err)
	}
}

func TestPayPalTemporaryFailure(t *testing.T) {
	f := newFake(t)
	g := gatewayFor(t, f)
	ctx := context.Background()
	f.FailOnce(503, `{"name":"SERVICE_UNAVAILABLE","message":"Service Unavailable.","debug_id":"dbg-503"}`)
	_, err := g.CreateOrder(ctx, "req-1", "80.00", "USD", "")
	if err == nil {
		t.Fatal("want an error on 503")
	}
	noSecret(t, err)
	if Permanent(err) {
		t.Errorf("503 must be temporary: %v", err)
	}
	var ge *Error
	if !errors.As(err, &ge) || ge.StatusCode != 503 || ge.Name != "SERVICE_UNAVAILABLE" || ge.DebugID != "dbg-503" {
		t.Errorf("err = %#v, want *Error with status, name and debug id", err)
	}
	if !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "dbg-503") {
		t.Errorf("error text %q lacks status or debug id", err)
	}
	// The retry succeeds and creates exactly one order.
	if _, err := g.CreateOrder(ctx, "req-1", "80.00", "USD", ""); err != nil {
		t.Fatal(err)
	}
	if _, creates, _, _ := f.Counts(); creates != 1 {
		t.Errorf("fake created %d orders, want 1", creates)
	}

	// 429 is temporary too, and a debug id from the header is kept.
	f.FailOnce(429, `{"name":"RATE_LIMIT_REACHED","message":"Too many requests."}`)
	_, err = g.CreateOrder(ctx, "req-2", "80.00", "USD", "")
	if Permanent(err) || !errors.As(err, &ge) || ge.DebugID != "hdr-debug-1" {
		t.Errorf("429: err = %v, want temporary with the header's debug id", err)
	}
}

func TestPayPalPermanentFailure(t *testing.T) {
	f := newFake(t)
	g := gatewayFor(t, f)
	ctx := context.Background()
	f.FailOnce(400, `{"name":"INVALID_REQUEST","message":"Request is not well-formed, syntactically incorrect, or violates schema.","debug_id":"dbg-400","details":[{"field":"/purchase_units/0/amount/value","issue":"DECIMAL_PRECISION","description":"If the currency supports decimals, only two decimal place precision is supported."}]}`)
	_, err := g.CreateOrder(ctx, "req-1", "80.00", "USD", "")
	if !Permanent(err) {
		t.Fatalf("400 must be permanent: %v", err)
	}
	noSecret(t, err)
	var ge *Error
	if !errors.As(err, &ge) || ge.StatusCode != 400 || ge.Name != "INVALID_REQUEST" || ge.Issue != "DECIMAL_PRECISION" || ge.DebugID != "dbg-400" {
		t.Errorf("err = %#v", err)
	}

	// An unknown order is a permanent 404.
	_, err = g.Capture(ctx, "cap-x", "NO-SUCH-ORDER", "")
	if !Permanent(err) || !errors.As(err, &ge) || ge.StatusCode != 404 {
		t.Errorf("capture of unknown order: err = %v, want permanent 404", err)
	}

	// Invalid arguments fail before any request.
	tokens, _, _, _ := f.Counts()
	for _, call := range []func() error{
		func() error { _, err := g.CreateOrder(ctx, "", "80.00", "USD", ""); return err },
		func() error { _, err := g.CreateOrder(ctx, "r", "80", "USD", ""); return err },
		func() error { _, err := g.Capture(ctx, "r", "", ""); return err },
		func() error { _, err := g.Refund(ctx, "r", "CAPTURE-1", "1.5", "USD", ""); return err },
	} {
		if err := call(); !errors.Is(err, ErrInvalidArgument) || !Permanent(err) {
			t.Errorf("err = %v, want a permanent invalid argument", err)
		}
	}
	if after, _, _, _ := f.Counts(); after != tokens {
		t.Error("invalid arguments caused a request")
	}
}

func TestPayPalRefundIdempotent(t *testing.T) {
	f := newFake(t)
	g := gatewayFor(t, f)
	ctx := context.Background()
	_, c := createAndCapture(t, f, g, "1")
	r1, err := g.Refund(ctx, "refund-1", c.TransactionID, "80.00", "USD", "Inspection cancelled")
	if err != nil {
		t.Fatal(err)
	}
	if r1.RefundID != "REFUND-1" {
		t.Errorf("RefundID = %q", r1.RefundID)
	}
	r2, err := g.Refund(ctx, "refund-1", c.TransactionID, "80.00", "USD", "Inspection cancelled")
	if err != nil {
		t.Fatal(err)
	}
	if r2 != r1 {
		t.Errorf("retried Refund = %+v, want %+v", r2, r1)
	}
	if _, _, _, refunds := f.Counts(); refunds != 1 {
		t.Errorf("fake saw %d refunds, want 1", refunds)
	}
	body, _ := json.Marshal(f.LastRefund())
	if want := `{"amount":{"currency_code":"USD","value":"80.00"},"note_to_payer":"Inspection cancelled"}`; string(body) != want {
		t.Errorf("refund body = %s, want %s", body, want)
	}
}

func TestPayPalTokenCachedAndRefreshed(t *testing.T) {
	f := newFake(t)
	g := gatewayFor(t, f)
	now := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	g.now = func() time.Time { return now }

	_, c := createAndCapture(t, f, g, "1")
	if _, err := g.Refund(context.Background(), "refund-1", c.TransactionID, "10.00", "USD", ""); err != nil {
		t.Fatal(err)
	}
	if tokens, _, _, _ := f.Counts(); tokens != 1 {
		t.Errorf("%d token calls for three operations, want 1", tokens)
	}

	// PayPal revokes the token: the adapter fetches a new one and the call
	// succeeds.
	f.RevokeTokens()
	createAndCapture(t, f, g, "2")
	if tokens, _, _, _ := f.Counts(); tokens != 2 {
		t.Errorf("%d token calls after a 401, want 2", tokens)
	}

	// Shortly before expiry the token is replaced.
	now = now.Add(paypalfake.TokenLifetime - time.Minute)
	createAndCapture(t, f, g, "3")
	if tokens, _, _, _ := f.Counts(); tokens != 3 {
		t.Errorf("%d token calls after expiry, want 3", tokens)
	}
}

func TestPayPalTokenConcurrent(t *testing.T) {
	f := newFake(t)
	g := gatewayFor(t, f)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := g.CreateOrder(context.Background(), fmt.Sprintf("req-%d", i), "80.00", "USD", ""); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if tokens, creates, _, _ := f.Counts(); tokens != 1 || creates != 8 {
		t.Errorf("tokens=%d creates=%d, want 1 and 8", tokens, creates)
	}
}

func TestPayPalSecretNeverInErrors(t *testing.T) {
	f := newFake(t)
	ctx := context.Background()

	// Wrong credentials: a permanent error that names neither secret.
	bad, err := NewPayPal(PayPalConfig{BaseURL: f.URL(), ClientID: paypalfake.ClientID, Secret: paypalfake.Secret + "-wrong", HTTP: f.Client()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.CreateOrder(ctx, "req-1", "80.00", "USD", "")
	if err == nil || !Permanent(err) {
		t.Fatalf("wrong credentials: err = %v, want permanent", err)
	}
	noSecret(t, err)
	var ge *Error
	if !errors.As(err, &ge) || ge.StatusCode != 401 || ge.Name != "invalid_client" {
		t.Errorf("err = %#v", err)
	}

	// A misbehaving proxy echoing credentials back: they are redacted.
	g := gatewayFor(t, f)
	if _, err := g.CreateOrder(ctx, "req-0", "80.00", "USD", ""); err != nil { // obtain a token
		t.Fatal(err)
	}
	f.FailOnce(502, `<html>bad gateway; secret=`+paypalfake.Secret+` auth=Bearer A21AA-token-1</html>`)
	_, err = g.CreateOrder(ctx, "req-1", "80.00", "USD", "")
	if err == nil || Permanent(err) {
		t.Fatalf("502: err = %v, want temporary", err)
	}
	noSecret(t, err)
	if !strings.Contains(err.Error(), "[REDACTED]") {
		t.Errorf("error %q: want the echoed credentials redacted", err)
	}

	// Network failure: temporary, and no credentials either.
	f.Close()
	_, err = g.CreateOrder(ctx, "req-2", "80.00", "USD", "")
	if err == nil || Permanent(err) {
		t.Fatalf("network failure: err = %v, want temporary", err)
	}
	noSecret(t, err)
}

func TestPayPalLongRequestID(t *testing.T) {
	long := strings.Repeat("x", 200)
	id := paypalRequestID(long)
	if len(id) > maxRequestID || id != paypalRequestID(long) || id == paypalRequestID(long+"y") {
		t.Errorf("paypalRequestID(long) = %q", id)
	}
	if paypalRequestID("short") != "short" {
		t.Error("short request ids must pass unchanged")
	}
	if got := truncate("äöü", 2); got != "äö" {
		t.Errorf("truncate = %q", got)
	}
}
