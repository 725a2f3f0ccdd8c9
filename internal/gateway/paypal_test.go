package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	testClientID = "client-id-123"
	testSecret   = "s3cr3t-do-not-leak"
)

// fakePayPal is an in-memory stand-in for the PayPal endpoints the adapter
// uses. Like PayPal it checks credentials and replays the stored response
// for a repeated PayPal-Request-Id instead of repeating the operation.
type fakePayPal struct {
	t   *testing.T
	srv *httptest.Server

	mu         sync.Mutex
	tokenCalls int
	tokens     map[string]bool // issued tokens; false once revoked
	expiresIn  int
	orders     map[string]*fakeOrder
	captureOf  map[string]string // capture id -> order id
	replays    map[string]recorded
	creates    int
	captures   int
	refunds    int
	gets       int
	decline    bool     // decline captures with INSTRUMENT_DECLINED
	capStatus  string   // when set, captures get this status (PENDING, DECLINED)
	failNext   recorded // when status != 0, the next API call fails with it
	lastCreate map[string]any
	lastRefund map[string]any
}

type fakeOrder struct {
	id, status, captureID string
	captureStatus         string // COMPLETED, PENDING, DECLINED
	captureReason         string // status_details.reason
	currency, value       string
}

type recorded struct {
	status int
	body   string
}

func newFakePayPal(t *testing.T) *fakePayPal {
	f := &fakePayPal{
		t:         t,
		tokens:    map[string]bool{},
		expiresIn: 32400,
		orders:    map[string]*fakeOrder{},
		captureOf: map[string]string{},
		replays:   map[string]recorded{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/oauth2/token", f.token)
	mux.HandleFunc("POST /v2/checkout/orders", f.api(f.createOrder))
	mux.HandleFunc("POST /v2/checkout/orders/{id}/capture", f.api(f.capture))
	mux.HandleFunc("GET /v2/checkout/orders/{id}", f.api(f.getOrder))
	mux.HandleFunc("POST /v2/payments/captures/{id}/refund", f.api(f.refund))
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakePayPal) gateway(t *testing.T) *payPal {
	g, err := NewPayPal(PayPalConfig{
		BaseURL:   f.srv.URL + "/",
		ClientID:  testClientID,
		Secret:    testSecret,
		HTTP:      f.srv.Client(),
		ReturnURL: "https://smartautocheck.example/paid",
		CancelURL: "https://smartautocheck.example/cancelled",
	})
	if err != nil {
		t.Fatal(err)
	}
	return g.(*payPal)
}

// counts returns tokenCalls, creates, captures, refunds.
func (f *fakePayPal) counts() (tokens, creates, captures, refunds int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tokenCalls, f.creates, f.captures, f.refunds
}

func (f *fakePayPal) revokeTokens() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for tok := range f.tokens {
		f.tokens[tok] = false
	}
}

func (f *fakePayPal) failOnce(status int, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failNext = recorded{status, body}
}

func (f *fakePayPal) setDecline(d bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.decline = d
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprint(w, body)
}

func (f *fakePayPal) token(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	if !ok || id != testClientID || secret != testSecret {
		writeJSON(w, 401, `{"error":"invalid_client","error_description":"Client Authentication failed"}`)
		return
	}
	if r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		writeJSON(w, 400, `{"error":"unsupported_grant_type","error_description":"bad content type"}`)
		return
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
		writeJSON(w, 400, `{"error":"unsupported_grant_type","error_description":"Grant Type is NULL"}`)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokenCalls++
	tok := fmt.Sprintf("A21AA-token-%d", f.tokenCalls)
	f.tokens[tok] = true
	writeJSON(w, 200, fmt.Sprintf(`{"scope":"https://uri.paypal.com/services/payments","access_token":%q,"token_type":"Bearer","app_id":"APP-1","expires_in":%d,"nonce":"n"}`, tok, f.expiresIn))
}

// api wraps an API handler with PayPal's checks: bearer token, headers of a
// POST, one-off failures and the PayPal-Request-Id replay.
func (f *fakePayPal) api(h func(r *http.Request) recorded) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || !f.tokens[tok] {
			writeJSON(w, 401, `{"error":"invalid_token","error_description":"Token signature verification failed"}`)
			return
		}
		key := ""
		if r.Method == http.MethodPost {
			if ct := r.Header.Get("Content-Type"); ct != "application/json" {
				f.t.Errorf("%s %s: Content-Type %q", r.Method, r.URL.Path, ct)
			}
			if p := r.Header.Get("Prefer"); p != "return=representation" {
				f.t.Errorf("%s %s: Prefer %q", r.Method, r.URL.Path, p)
			}
			reqID := r.Header.Get("PayPal-Request-Id")
			if reqID == "" {
				f.t.Errorf("%s %s without PayPal-Request-Id", r.Method, r.URL.Path)
			}
			key = r.URL.Path + "\x00" + reqID
			if rec, ok := f.replays[key]; ok {
				writeJSON(w, rec.status, rec.body)
				return
			}
		}
		if f.failNext.status != 0 {
			rec := f.failNext
			f.failNext = recorded{}
			w.Header().Set("Paypal-Debug-Id", "hdr-debug-1")
			writeJSON(w, rec.status, rec.body)
			return
		}
		rec := h(r)
		if key != "" && rec.status < 500 {
			f.replays[key] = rec
		}
		writeJSON(w, rec.status, rec.body)
	}
}

func apiErr(status int, name, issue, description string) recorded {
	return recorded{status, fmt.Sprintf(`{"name":%q,"details":[{"issue":%q,"description":%q}],"message":"The requested action could not be performed.","debug_id":"dbg-%s","links":[]}`,
		name, issue, description, strings.ToLower(issue))}
}

func (f *fakePayPal) orderJSON(o *fakeOrder) string {
	unit := map[string]any{"reference_id": "default", "amount": map[string]string{"currency_code": o.currency, "value": o.value}}
	if o.captureID != "" {
		c := map[string]any{
			"id": o.captureID, "status": o.captureStatus, "final_capture": true,
			"amount": map[string]string{"currency_code": o.currency, "value": o.value},
		}
		if o.captureReason != "" {
			c["status_details"] = map[string]string{"reason": o.captureReason}
		}
		unit["payments"] = map[string]any{"captures": []map[string]any{c}}
	}
	b, _ := json.Marshal(map[string]any{
		"id":             o.id,
		"status":         o.status,
		"purchase_units": []any{unit},
		"links": []map[string]string{
			{"href": f.srv.URL + "/v2/checkout/orders/" + o.id, "rel": "self", "method": "GET"},
			{"href": "https://www.sandbox.paypal.com/checkoutnow?token=" + o.id, "rel": "approve", "method": "GET"},
			{"href": f.srv.URL + "/v2/checkout/orders/" + o.id + "/capture", "rel": "capture", "method": "POST"},
		},
	})
	return string(b)
}

func (f *fakePayPal) createOrder(r *http.Request) recorded {
	var body struct {
		Intent        string `json:"intent"`
		PurchaseUnits []struct {
			Amount struct {
				CurrencyCode string `json:"currency_code"`
				Value        string `json:"value"`
			} `json:"amount"`
		} `json:"purchase_units"`
	}
	var raw map[string]any
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(&raw); err != nil {
		return apiErr(400, "INVALID_REQUEST", "MALFORMED_REQUEST_JSON", err.Error())
	}
	b, _ := json.Marshal(raw)
	_ = json.Unmarshal(b, &body)
	if body.Intent != "CAPTURE" || len(body.PurchaseUnits) != 1 || body.PurchaseUnits[0].Amount.Value == "" {
		return apiErr(400, "INVALID_REQUEST", "MISSING_REQUIRED_PARAMETER", "intent or amount missing")
	}
	f.lastCreate = raw
	f.creates++
	o := &fakeOrder{
		id:       fmt.Sprintf("ORDER-%d", f.creates),
		status:   "CREATED",
		currency: body.PurchaseUnits[0].Amount.CurrencyCode,
		value:    body.PurchaseUnits[0].Amount.Value,
	}
	f.orders[o.id] = o
	return recorded{201, f.orderJSON(o)}
}

func (f *fakePayPal) capture(r *http.Request) recorded {
	o, ok := f.orders[r.PathValue("id")]
	if !ok {
		return apiErr(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID", "Specified resource ID does not exist.")
	}
	if o.status == "COMPLETED" {
		return apiErr(422, "UNPROCESSABLE_ENTITY", "ORDER_ALREADY_CAPTURED", "Order already captured.If 'intent=CAPTURE' only one capture per order is allowed.")
	}
	if f.decline {
		return apiErr(422, "UNPROCESSABLE_ENTITY", "INSTRUMENT_DECLINED", "The instrument presented  was either declined by the processor or bank, or it can't be used for this payment.")
	}
	f.captures++
	o.status = "COMPLETED"
	o.captureID = fmt.Sprintf("CAPTURE-%d", f.captures)
	o.captureStatus = "COMPLETED"
	switch f.capStatus {
	case "PENDING":
		o.captureStatus, o.captureReason = "PENDING", "PENDING_REVIEW"
	case "DECLINED":
		o.captureStatus, o.captureReason = "DECLINED", "DECLINED_BY_RISK_FRAUD_FILTERS"
	}
	f.captureOf[o.captureID] = o.id
	return recorded{201, f.orderJSON(o)}
}

func (f *fakePayPal) getOrder(r *http.Request) recorded {
	f.gets++
	o, ok := f.orders[r.PathValue("id")]
	if !ok {
		return apiErr(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID", "Specified resource ID does not exist.")
	}
	return recorded{200, f.orderJSON(o)}
}

func (f *fakePayPal) refund(r *http.Request) recorded {
	if _, ok := f.captureOf[r.PathValue("id")]; !ok {
		return apiErr(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID", "Specified resource ID does not exist.")
	}
	var raw map[string]any
	if err := json.NewDecoder(r.Body).Decode(&raw); err != nil {
		return apiErr(400, "INVALID_REQUEST", "MALFORMED_REQUEST_JSON", err.Error())
	}
	f.lastRefund = raw
	f.refunds++
	return recorded{201, fmt.Sprintf(`{"id":"REFUND-%d","status":"COMPLETED","links":[]}`, f.refunds)}
}

// noSecret fails the test if err's text reveals a credential.
func noSecret(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range []string{testSecret, "A21AA-token"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error reveals a credential: %v", err)
		}
	}
}

// createAndCapture creates an order and captures it, failing on any error.
func createAndCapture(t *testing.T, g Gateway, id string) (Order, Capture) {
	t.Helper()
	ctx := context.Background()
	o, err := g.CreateOrder(ctx, "create-"+id, "80.00", "USD", "Inspection "+id)
	if err != nil {
		t.Fatal(err)
	}
	c, err := g.Capture(ctx, "capture-"+id, o.OrderID, "")
	if err != nil {
		t.Fatal(err)
	}
	return o, c
}

func TestPayPalBasics(t *testing.T) {
	g := newFakePayPal(t).gateway(t)
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
		{BaseURL: "https://api-m.paypal.com", Secret: testSecret},
	} {
		_, err := NewPayPal(cfg)
		if !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("NewPayPal(%q, %q): err = %v, want invalid argument", cfg.BaseURL, cfg.ClientID, err)
		}
		noSecret(t, err)
	}
}

func TestPayPalCreateOrder(t *testing.T) {
	f := newFakePayPal(t)
	g := f.gateway(t)
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
	f.mu.Lock()
	body, _ := json.Marshal(f.lastCreate)
	f.mu.Unlock()
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
	if _, creates, _, _ := f.counts(); creates != 1 {
		t.Errorf("fake created %d orders, want 1", creates)
	}
}

func TestPayPalCaptureCompletesIdempotently(t *testing.T) {
	f := newFakePayPal(t)
	g := f.gateway(t)
	o, c := createAndCapture(t, g, "1")
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
	if _, _, captures, _ := f.counts(); captures != 1 {
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
	if _, _, captures, _ := f.counts(); captures != 1 {
		t.Errorf("fake saw %d captures, want 1", captures)
	}
}

func TestPayPalCaptureDeclined(t *testing.T) {
	f := newFakePayPal(t)
	g := f.gateway(t)
	ctx := context.Background()
	o, err := g.CreateOrder(ctx, "create-1", "80.00", "USD", "")
	if err != nil {
		t.Fatal(err)
	}
	f.setDecline(true)
	for i := 0; i < 2; i++ {
		c, err := g.Capture(ctx, "capture-1", o.OrderID, "approve")
		if err != nil {
			t.Fatalf("a decline must not be an error: %v", err)
		}
		if c.Completed || c.TransactionID != "" || !strings.Contains(c.FailureReason, "declined by the processor or bank") {
			t.Errorf("declined Capture = %+v", c)
		}
	}
	if _, _, captures, _ := f.counts(); captures != 0 {
		t.Errorf("fake saw %d captures, want 0", captures)
	}
}

func TestPayPalCaptureStatusDeclined(t *testing.T) {
	f := newFakePayPal(t)
	g := f.gateway(t)
	f.capStatus = "DECLINED"
	_, c := createAndCapture(t, g, "1")
	if want := (Capture{FailureReason: "DECLINED_BY_RISK_FRAUD_FILTERS"}); c != want {
		t.Errorf("Capture = %+v, want %+v", c, want)
	}
}

func TestPayPalCapturePendingThenCompleted(t *testing.T) {
	f := newFakePayPal(t)
	g := f.gateway(t)
	ctx := context.Background()
	f.capStatus = "PENDING"
	o, err := g.CreateOrder(ctx, "create-1", "80.00", "USD", "")
	if err != nil {
		t.Fatal(err)
	}
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
	f.mu.Lock()
	f.orders[o.OrderID].captureStatus, f.orders[o.OrderID].captureReason = "COMPLETED", ""
	f.mu.Unlock()
	c, err := g.Capture(ctx, "capture-1", o.OrderID, "")
	if err != nil {
		t.Fatal(err)
	}
	if !c.Completed || c.TransactionID != "CAPTURE-1" {
		t.Errorf("Capture = %+v, want completed CAPTURE-1", c)
	}
	if _, _, captures, _ := f.counts(); captures != 1 {
		t.Errorf("fake saw %d captures, want 1", captures)
	}
}

func TestPayPalMalformedResponseIsTemporary(t *testing.T) {
	f := newFakePayPal(t)
	g := f.gateway(t)
	f.failOnce(201, `{"status":"CREATED"}`)
	_, err := g.CreateOrder(context.Background(), "req-1", "80.00", "USD", "")
	if err == nil || Permanent(err) {
		t.Errorf("response without order id: err = %v, want temporary", err)
	}
}

func TestPayPalTemporaryFailure(t *testing.T) {
	f := newFakePayPal(t)
	g := f.gateway(t)
	ctx := context.Background()
	f.failOnce(503, `{"name":"SERVICE_UNAVAILABLE","message":"Service Unavailable.","debug_id":"dbg-503"}`)
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
	if _, creates, _, _ := f.counts(); creates != 1 {
		t.Errorf("fake created %d orders, want 1", creates)
	}

	// 429 is temporary too, and a debug id from the header is kept.
	f.failOnce(429, `{"name":"RATE_LIMIT_REACHED","message":"Too many requests."}`)
	_, err = g.CreateOrder(ctx, "req-2", "80.00", "USD", "")
	if Permanent(err) || !errors.As(err, &ge) || ge.DebugID != "hdr-debug-1" {
		t.Errorf("429: err = %v, want temporary with the header's debug id", err)
	}
}

func TestPayPalPermanentFailure(t *testing.T) {
	f := newFakePayPal(t)
	g := f.gateway(t)
	ctx := context.Background()
	f.failOnce(400, `{"name":"INVALID_REQUEST","message":"Request is not well-formed, syntactically incorrect, or violates schema.","debug_id":"dbg-400","details":[{"field":"/purchase_units/0/amount/value","issue":"DECIMAL_PRECISION","description":"If the currency supports decimals, only two decimal place precision is supported."}]}`)
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
	tokens, _, _, _ := f.counts()
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
	if after, _, _, _ := f.counts(); after != tokens {
		t.Error("invalid arguments caused a request")
	}
}

func TestPayPalRefundIdempotent(t *testing.T) {
	f := newFakePayPal(t)
	g := f.gateway(t)
	ctx := context.Background()
	_, c := createAndCapture(t, g, "1")
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
	if _, _, _, refunds := f.counts(); refunds != 1 {
		t.Errorf("fake saw %d refunds, want 1", refunds)
	}
	f.mu.Lock()
	body, _ := json.Marshal(f.lastRefund)
	f.mu.Unlock()
	if want := `{"amount":{"currency_code":"USD","value":"80.00"},"note_to_payer":"Inspection cancelled"}`; string(body) != want {
		t.Errorf("refund body = %s, want %s", body, want)
	}
}

func TestPayPalTokenCachedAndRefreshed(t *testing.T) {
	f := newFakePayPal(t)
	g := f.gateway(t)
	now := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	g.now = func() time.Time { return now }

	_, c := createAndCapture(t, g, "1")
	if _, err := g.Refund(context.Background(), "refund-1", c.TransactionID, "10.00", "USD", ""); err != nil {
		t.Fatal(err)
	}
	if tokens, _, _, _ := f.counts(); tokens != 1 {
		t.Errorf("%d token calls for three operations, want 1", tokens)
	}

	// PayPal revokes the token: the adapter fetches a new one and the call
	// succeeds.
	f.revokeTokens()
	createAndCapture(t, g, "2")
	if tokens, _, _, _ := f.counts(); tokens != 2 {
		t.Errorf("%d token calls after a 401, want 2", tokens)
	}

	// Shortly before expiry the token is replaced.
	now = now.Add(time.Duration(f.expiresIn)*time.Second - time.Minute)
	createAndCapture(t, g, "3")
	if tokens, _, _, _ := f.counts(); tokens != 3 {
		t.Errorf("%d token calls after expiry, want 3", tokens)
	}
}

func TestPayPalTokenConcurrent(t *testing.T) {
	f := newFakePayPal(t)
	g := f.gateway(t)
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
	if tokens, creates, _, _ := f.counts(); tokens != 1 || creates != 8 {
		t.Errorf("tokens=%d creates=%d, want 1 and 8", tokens, creates)
	}
}

func TestPayPalSecretNeverInErrors(t *testing.T) {
	f := newFakePayPal(t)
	ctx := context.Background()

	// Wrong credentials: a permanent error that names neither secret.
	bad, err := NewPayPal(PayPalConfig{BaseURL: f.srv.URL, ClientID: testClientID, Secret: testSecret + "-wrong", HTTP: f.srv.Client()})
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
	g := f.gateway(t)
	if _, err := g.CreateOrder(ctx, "req-0", "80.00", "USD", ""); err != nil { // obtain a token
		t.Fatal(err)
	}
	f.failOnce(502, `<html>bad gateway; secret=`+testSecret+` auth=Bearer A21AA-token-1</html>`)
	_, err = g.CreateOrder(ctx, "req-1", "80.00", "USD", "")
	if err == nil || Permanent(err) {
		t.Fatalf("502: err = %v, want temporary", err)
	}
	noSecret(t, err)
	if !strings.Contains(err.Error(), "[REDACTED]") {
		t.Errorf("error %q: want the echoed credentials redacted", err)
	}

	// Network failure: temporary, and no credentials either.
	f.srv.Close()
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
