// Package paypalfake is a stand-in for PayPal's Orders v2 and Payments REST
// endpoints, for tests. Like PayPal it checks credentials (client id and
// secret for a token, the bearer token for every API call) and replays the
// stored response for a repeated PayPal-Request-Id instead of repeating the
// operation. Like PayPal it refuses to capture an order the buyer has not
// approved (422 ORDER_NOT_APPROVED); Approve plays the buyer.
//
// Orders are numbered ORDER-1, ORDER-2, ..., captures CAPTURE-1, ... and
// refunds REFUND-1, ... in the order the fake makes them.
package paypalfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// The credentials the fake accepts.
const (
	ClientID = "client-id-123"
	Secret   = "s3cr3t-do-not-leak"
	// TokenPrefix starts every access token the fake issues, so tests can
	// check no token leaks into an error.
	TokenPrefix = "A21AA-token-"
	// TokenLifetime is the expires_in of the issued tokens.
	TokenLifetime = 9 * time.Hour
)

// Order statuses of the fake, as PayPal names them.
const (
	StatusCreated   = "CREATED"
	StatusApproved  = "APPROVED"
	StatusCompleted = "COMPLETED"
)

// Server is a running fake; New starts one.
type Server struct {
	t   testing.TB
	srv *httptest.Server

	mu         sync.Mutex
	tokenCalls int
	tokens     map[string]bool // issued tokens; false once revoked
	orders     map[string]*order
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

type order struct {
	id, status, captureID string
	captureStatus         string // COMPLETED, PENDING, DECLINED
	captureReason         string // status_details.reason
	currency, value       string
}

// Order is a snapshot of an order the fake holds.
type Order struct {
	ID            string
	Status        string // CREATED, APPROVED, COMPLETED
	CaptureID     string // empty until captured
	CaptureStatus string // COMPLETED, PENDING, DECLINED
	Currency      string
	Value         string
}

type recorded struct {
	status int
	body   string
}

// New starts a fake on a local httptest server, closed when the test ends.
func New(t testing.TB) *Server {
	s := &Server{
		t:         t,
		tokens:    map[string]bool{},
		orders:    map[string]*order{},
		captureOf: map[string]string{},
		replays:   map[string]recorded{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/oauth2/token", s.token)
	mux.HandleFunc("POST /v2/checkout/orders", s.api(s.createOrder))
	mux.HandleFunc("POST /v2/checkout/orders/{id}/capture", s.api(s.capture))
	mux.HandleFunc("GET /v2/checkout/orders/{id}", s.api(s.getOrder))
	mux.HandleFunc("POST /v2/payments/captures/{id}/refund", s.api(s.refund))
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	return s
}

// URL is the REST API root, to use as the adapter's base URL.
func (s *Server) URL() string { return s.srv.URL }

// Client is an HTTP client for the fake.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// Close stops the fake now (e.g. to simulate a network failure); it is
// closed at the end of the test anyway.
func (s *Server) Close() { s.srv.Close() }

// Counts returns how many tokens were issued and how many orders created,
// captured and refunded. Replayed requests and refused ones do not count.
func (s *Server) Counts() (tokens, creates, captures, refunds int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenCalls, s.creates, s.captures, s.refunds
}

// Gets returns how many times an order was looked up.
func (s *Server) Gets() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gets
}

// Order returns a snapshot of an order.
func (s *Server) Order(orderID string) (Order, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[orderID]
	if !ok {
		return Order{}, false
	}
	return Order{ID: o.id, Status: o.status, CaptureID: o.captureID, CaptureStatus: o.captureStatus,
		Currency: o.currency, Value: o.value}, true
}

// Approve plays the buyer approving the order on PayPal: a CREATED order
// becomes APPROVED and can be captured. Approving an unknown order, or one
// that is not CREATED, fails the test.
func (s *Server) Approve(orderID string) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[orderID]
	switch {
	case !ok:
		s.t.Errorf("paypalfake: approving unknown order %q", orderID)
	case o.status != StatusCreated:
		s.t.Errorf("paypalfake: approving order %s in status %s", orderID, o.status)
	default:
		o.status = StatusApproved
	}
}

// RevokeTokens invalidates every token issued so far: the next API call
// gets 401 invalid_token.
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for tok := range s.tokens {
		s.tokens[tok] = false
	}
}

// FailOnce makes the next API call (not a replay, not a token request)
// answer status with body, without performing it.
func (s *Server) FailOnce(status int, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = recorded{status, body}
}

// SetDecline makes captures of approved orders fail with 422
// INSTRUMENT_DECLINED (true) or succeed again (false).
func (s *Server) SetDecline(d bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.decline = d
}

// SetCaptureStatus sets the status of the captures made from now on:
// "PENDING" (reason PENDING_REVIEW), "DECLINED" (reason
// DECLINED_BY_RISK_FRAUD_FILTERS), or "" for COMPLETED.
func (s *Server) SetCaptureStatus(status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.capStatus = status
}

// CompleteCapture completes the (pending) capture of an order, as PayPal
// does once its review is over.
func (s *Server) CompleteCapture(orderID string) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[orderID]
	if !ok || o.captureID == "" {
		s.t.Errorf("paypalfake: order %q has no capture to complete", orderID)
		return
	}
	o.captureStatus, o.captureReason = "COMPLETED", ""
}

// LastCreate is the JSON body of the last order created, decoded.
func (s *Server) LastCreate() map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastCreate
}

// LastRefund is the JSON body of the last refund made, decoded.
func (s *Server) LastRefund() map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastRefund
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprint(w, body)
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	if !ok || id != ClientID || secret != Secret {
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
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenCalls++
	tok := fmt.Sprintf("%s%d", TokenPrefix, s.tokenCalls)
	s.tokens[tok] = true
	writeJSON(w, 200, fmt.Sprintf(`{"scope":"https://uri.paypal.com/services/payments","access_token":%q,"token_type":"Bearer","app_id":"APP-1","expires_in":%d,"nonce":"n"}`,
		tok, int(TokenLifetime/time.Second)))
}

// api wraps an API handler with PayPal's checks: bearer token, headers of a
// POST, one-off failures and the PayPal-Request-Id replay.
func (s *Server) api(h func(r *http.Request) recorded) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || !s.tokens[tok] {
			writeJSON(w, 401, `{"error":"invalid_token","error_description":"Token signature verification failed"}`)
			return
		}
		key := ""
		if r.Method == http.MethodPost {
			if ct := r.Header.Get("Content-Type"); ct != "application/json" {
				s.t.Errorf("%s %s: Content-Type %q", r.Method, r.URL.Path, ct)
			}
			if p := r.Header.Get("Prefer"); p != "return=representation" {
				s.t.Errorf("%s %s: Prefer %q", r.Method, r.URL.Path, p)
			}
			reqID := r.Header.Get("PayPal-Request-Id")
			if reqID == "" {
				s.t.Errorf("%s %s without PayPal-Request-Id", r.Method, r.URL.Path)
			}
			key = r.URL.Path + "\x00" + reqID
			if rec, ok := s.replays[key]; ok {
				writeJSON(w, rec.status, rec.body)
				return
			}
		}
		if s.failNext.status != 0 {
			rec := s.failNext
			s.failNext = recorded{}
			w.Header().Set("Paypal-Debug-Id", "hdr-debug-1")
			writeJSON(w, rec.status, rec.body)
			return
		}
		rec := h(r)
		if key != "" && rec.status < 500 {
			s.replays[key] = rec
		}
		writeJSON(w, rec.status, rec.body)
	}
}

func apiErr(status int, name, issue, description string) recorded {
	return recorded{status, fmt.Sprintf(`{"name":%q,"details":[{"issue":%q,"description":%q}],"message":"The requested action could not be performed.","debug_id":"dbg-%s","links":[]}`,
		name, issue, description, strings.ToLower(issue))}
}

func (s *Server) orderJSON(o *order) string {
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
			{"href": s.srv.URL + "/v2/checkout/orders/" + o.id, "rel": "self", "method": "GET"},
			{"href": "https://www.sandbox.paypal.com/checkoutnow?token=" + o.id, "rel": "approve", "method": "GET"},
			{"href": s.srv.URL + "/v2/checkout/orders/" + o.id + "/capture", "rel": "capture", "method": "POST"},
		},
	})
	return string(b)
}

func (s *Server) createOrder(r *http.Request) recorded {
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
	if err := json.NewDecoder(r.Body).Decode(&raw); err != nil {
		return apiErr(400, "INVALID_REQUEST", "MALFORMED_REQUEST_JSON", err.Error())
	}
	b, _ := json.Marshal(raw)
	_ = json.Unmarshal(b, &body)
	if body.Intent != "CAPTURE" || len(body.PurchaseUnits) != 1 || body.PurchaseUnits[0].Amount.Value == "" {
		return apiErr(400, "INVALID_REQUEST", "MISSING_REQUIRED_PARAMETER", "intent or amount missing")
	}
	s.lastCreate = raw
	s.creates++
	o := &order{
		id:       fmt.Sprintf("ORDER-%d", s.creates),
		status:   StatusCreated,
		currency: body.PurchaseUnits[0].Amount.CurrencyCode,
		value:    body.PurchaseUnits[0].Amount.Value,
	}
	s.orders[o.id] = o
	return recorded{201, s.orderJSON(o)}
}

func (s *Server) capture(r *http.Request) recorded {
	o, ok := s.orders[r.PathValue("id")]
	if !ok {
		return apiErr(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID", "Specified resource ID does not exist.")
	}
	switch o.status {
	case StatusCompleted:
		return apiErr(422, "UNPROCESSABLE_ENTITY", "ORDER_ALREADY_CAPTURED", "Order already captured.If 'intent=CAPTURE' only one capture per order is allowed.")
	case StatusCreated:
		return apiErr(422, "UNPROCESSABLE_ENTITY", "ORDER_NOT_APPROVED", "Payer has not yet approved the Order for payment. Please redirect the payer to the 'rel':'approve' url returned as part of the HATEOAS links within the Create Order call or provide a valid payment_source in the request.")
	}
	if s.decline {
		return apiErr(422, "UNPROCESSABLE_ENTITY", "INSTRUMENT_DECLINED", "The instrument presented  was either declined by the processor or bank, or it can't be used for this payment.")
	}
	s.captures++
	o.status = StatusCompleted
	o.captureID = fmt.Sprintf("CAPTURE-%d", s.captures)
	o.captureStatus = "COMPLETED"
	switch s.capStatus {
	case "PENDING":
		o.captureStatus, o.captureReason = "PENDING", "PENDING_REVIEW"
	case "DECLINED":
		o.captureStatus, o.captureReason = "DECLINED", "DECLINED_BY_RISK_FRAUD_FILTERS"
	}
	s.captureOf[o.captureID] = o.id
	return recorded{201, s.orderJSON(o)}
}

func (s *Server) getOrder(r *http.Request) recorded {
	s.gets++
	o, ok := s.orders[r.PathValue("id")]
	if !ok {
		return apiErr(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID", "Specified resource ID does not exist.")
	}
	return recorded{200, s.orderJSON(o)}
}

func (s *Server) refund(r *http.Request) recorded {
	if _, ok := s.captureOf[r.PathValue("id")]; !ok {
		return apiErr(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID", "Specified resource ID does not exist.")
	}
	var raw map[string]any
	if err := json.NewDecoder(r.Body).Decode(&raw); err != nil {
		return apiErr(400, "INVALID_REQUEST", "MALFORMED_REQUEST_JSON", err.Error())
	}
	s.lastRefund = raw
	s.refunds++
	return recorded{201, fmt.Sprintf(`{"id":"REFUND-%d","status":"COMPLETED","links":[]}`, s.refunds)}
}
