package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// PayPalConfig configures the PayPal Orders v2 adapter.
type PayPalConfig struct {
	// BaseURL is the REST API root, e.g. https://api-m.sandbox.paypal.com
	// or https://api-m.paypal.com.
	BaseURL string
	// ClientID and Secret are the REST app credentials, exchanged for an
	// OAuth2 access token.
	ClientID, Secret string
	// HTTP is the client to use; nil means a client with a 30s timeout (not
	// http.DefaultClient, which has none and could hang a worker forever).
	HTTP *http.Client
	// ReturnURL and CancelURL are where PayPal sends the customer after
	// approving or cancelling the payment.
	ReturnURL, CancelURL string
}

const (
	// maxResponse bounds how much of a response is read, so a broken proxy
	// cannot exhaust memory.
	maxResponse = 1 << 20
	// maxRequestID is PayPal's limit on PayPal-Request-Id; longer request
	// ids are replaced by their (equally deterministic) sha256.
	maxRequestID = 108
	// maxDescription is PayPal's limit on purchase_units[].description.
	maxDescription = 127
	// maxNote is PayPal's limit on a refund's note_to_payer.
	maxNote = 255
	// tokenMargin is how long before its announced expiry a token is
	// replaced, so that it does not expire in flight.
	tokenMargin = 5 * time.Minute
)

// payPal is the PayPal Orders v2 adapter.
type payPal struct {
	base                 string
	clientID, secret     string
	hc                   *http.Client
	returnURL, cancelURL string
	now                  func() time.Time // replaceable in tests

	// tokenLock is a one-slot semaphore guarding token and expires. A
	// channel rather than a mutex so that callers queued behind a slow
	// token request still honour their context.
	tokenLock chan struct{}
	token     string
	expires   time.Time
	tokenURL  string
}

// NewPayPal returns the PayPal adapter. It does not contact PayPal: the
// access token is fetched on first use, so a PayPal outage cannot prevent
// the service from starting.
func NewPayPal(cfg PayPalConfig) (Gateway, error) {
	base := strings.TrimRight(cfg.BaseURL, "/")
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, invalid("paypal: base URL %q is not an absolute http(s) URL", cfg.BaseURL)
	}
	if cfg.ClientID == "" || cfg.Secret == "" {
		return nil, invalid("paypal: client id and secret are required")
	}
	hc := cfg.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &payPal{
		base:      base,
		clientID:  cfg.ClientID,
		secret:    cfg.Secret,
		hc:        hc,
		returnURL: cfg.ReturnURL,
		cancelURL: cfg.CancelURL,
		now:       time.Now,
		tokenLock: make(chan struct{}, 1),
	}, nil
}

// Name implements Gateway.
func (p *payPal) Name() string { return "paypal" }

// NeedsApproval implements Gateway: the customer approves every order on
// PayPal (ApprovalURL) before it can be captured.
func (p *payPal) NeedsApproval() bool { return true }

// money is PayPal's amount object.
type money struct {
	CurrencyCode string `json:"currency_code"`
	Value        string `json:"value"`
}

type link struct {
	Href string `json:"href"`
	Rel  string `json:"rel"`
}

// orderResponse is the part of a PayPal order the adapter looks at; create,
// capture and get all return this shape.
type orderResponse struct {
	ID            string `json:"id"`
	Status        string `json:"status"`
	Links         []link `json:"links"`
	PurchaseUnits []struct {
		Payments struct {
			Captures []capture `json:"captures"`
		} `json:"payments"`
	} `json:"purchase_units"`
}

// capture is a capture inside an order.
type capture struct {
	ID            string `json:"id"`
	Status        string `json:"status"`
	StatusDetails struct {
		Reason string `json:"reason"`
	} `json:"status_details"`
}

// CreateOrder implements Gateway with POST /v2/checkout/orders, intent
// CAPTURE. The customer must then visit ApprovalURL before Capture.
func (p *payPal) CreateOrder(ctx context.Context, requestID, amount, currency, description string) (Order, error) {
	if err := validateRequestID(requestID); err != nil {
		return Order{}, err
	}
	if err := validateMoney(amount, currency); err != nil {
		return Order{}, err
	}
	type purchaseUnit struct {
		Amount      money  `json:"amount"`
		Description string `json:"description,omitempty"`
	}
	type appContext struct {
		ReturnURL string `json:"return_url,omitempty"`
		CancelURL string `json:"cancel_url,omitempty"`
		// NO_SHIPPING: an inspection is a service, asking the customer
		// for a shipping address would only confuse.
		ShippingPreference string `json:"shipping_preference"`
		// PAY_NOW: the price is final, the customer's approval is the
		// payment (we capture right after).
		UserAction string `json:"user_action"`
	}
	body := struct {
		Intent             string         `json:"intent"`
		PurchaseUnits      []purchaseUnit `json:"purchase_units"`
		ApplicationContext appContext     `json:"application_context"`
	}{
		Intent: "CAPTURE",
		PurchaseUnits: []purchaseUnit{{
			Amount:      money{CurrencyCode: currency, Value: amount},
			Description: truncate(description, maxDescription),
		}},
		ApplicationContext: appContext{
			ReturnURL:          p.returnURL,
			CancelURL:          p.cancelURL,
			ShippingPreference: "NO_SHIPPING",
			UserAction:         "PAY_NOW",
		},
	}
	var o orderResponse
	if err := p.call(ctx, "paypal create order", http.MethodPost, "/v2/checkout/orders", requestID, body, &o); err != nil {
		return Order{}, err
	}
	if o.ID == "" {
		return Order{}, malformed("paypal create order", "no order id in response")
	}
	order := Order{OrderID: o.ID}
	for _, l := range o.Links {
		// "approve" for classic orders, "payer-action" when the order was
		// created with a payment_source experience context.
		if l.Rel == "approve" || l.Rel == "payer-action" {
			order.ApprovalURL = l.Href
			break
		}
	}
	if order.ApprovalURL == "" {
		return Order{}, malformed("paypal create order", "no approval link in response")
	}
	return order, nil
}

// Capture implements Gateway with POST /v2/checkout/orders/{id}/capture.
// outcome is ignored: the customer decided on PayPal.
//
// A declined instrument (422 INSTRUMENT_DECLINED, or a capture with status
// DECLINED) is reported as Capture{Completed:false}, not as an error. If the
// order was already captured (422 ORDER_ALREADY_CAPTURED, e.g. a retry after
// PayPal forgot the request id) the existing capture is fetched and
// returned, so completion is idempotent. A capture still pending at PayPal is
// a temporary error: retrying later yields the final outcome.
func (p *payPal) Capture(ctx context.Context, requestID, orderID, outcome string) (Capture, error) {
	const op = "paypal capture"
	if err := validateRequestID(requestID); err != nil {
		return Capture{}, err
	}
	if orderID == "" {
		return Capture{}, invalid("empty order id")
	}
	path := "/v2/checkout/orders/" + url.PathEscape(orderID)
	var o orderResponse
	err := p.call(ctx, op, http.MethodPost, path+"/capture", requestID, struct{}{}, &o)
	var ge *Error
	switch {
	case err == nil:
		if c, ok := captureOf(o); ok {
			return c, nil
		}
		// Pending or incomplete: look at the order's current state.
	case errors.As(err, &ge) && ge.StatusCode == http.StatusUnprocessableEntity && ge.issue("INSTRUMENT_DECLINED") != nil:
		reason := ge.issue("INSTRUMENT_DECLINED").Description
		if reason == "" {
			reason = ge.Message
		}
		if reason == "" {
			reason = "Instrument declined"
		}
		return Capture{FailureReason: reason}, nil
	case errors.As(err, &ge) && ge.StatusCode == http.StatusUnprocessableEntity && ge.issue("ORDER_ALREADY_CAPTURED") != nil:
		// Fall through to fetching the order.
	default:
		return Capture{}, err
	}
	o = orderResponse{}
	if err := p.call(ctx, "paypal get order", http.MethodGet, path, "", nil, &o); err != nil {
		return Capture{}, err
	}
	if c, ok := captureOf(o); ok {
		return c, nil
	}
	status := "no capture"
	if caps := firstCaptures(o); len(caps) > 0 {
		status = "capture " + caps[0].Status
		if r := caps[0].StatusDetails.Reason; r != "" {
			status += " (" + r + ")"
		}
	}
	return Capture{}, &Error{Op: op, Name: "CAPTURE_NOT_FINAL", Message: "order " + o.Status + ", " + status + "; retry later"}
}

// captureOf decides a capture from an order; ok is false when the outcome is
// not final yet (pending, or no capture at all).
func captureOf(o orderResponse) (c Capture, ok bool) {
	caps := firstCaptures(o)
	if len(caps) == 0 {
		return Capture{}, false
	}
	switch first := caps[0]; first.Status {
	case "COMPLETED":
		if o.Status == "COMPLETED" && first.ID != "" {
			return Capture{Completed: true, TransactionID: first.ID}, true
		}
	case "DECLINED", "FAILED":
		reason := first.StatusDetails.Reason
		if reason == "" {
			reason = "Capture " + strings.ToLower(first.Status)
		}
		return Capture{FailureReason: reason}, true
	}
	return Capture{}, false
}

// firstCaptures returns the captures of the (only) purchase unit.
func firstCaptures(o orderResponse) []capture {
	if len(o.PurchaseUnits) == 0 {
		return nil
	}
	return o.PurchaseUnits[0].Payments.Captures
}

// Refund implements Gateway with POST /v2/payments/captures/{id}/refund.
// A refund PayPal reports as FAILED or CANCELLED is a permanent error; a
// PENDING one is accepted (PayPal completes it later).
func (p *payPal) Refund(ctx context.Context, requestID, transactionID, amount, currency, reason string) (Refund, error) {
	const op = "paypal refund"
	if err := validateRequestID(requestID); err != nil {
		return Refund{}, err
	}
	if transactionID == "" {
		return Refund{}, invalid("empty transaction id")
	}
	if err := validateMoney(amount, currency); err != nil {
		return Refund{}, err
	}
	body := struct {
		Amount      money  `json:"amount"`
		NoteToPayer string `json:"note_to_payer,omitempty"`
	}{money{CurrencyCode: currency, Value: amount}, truncate(reason, maxNote)}
	var r struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	path := "/v2/payments/captures/" + url.PathEscape(transactionID) + "/refund"
	if err := p.call(ctx, op, http.MethodPost, path, requestID, body, &r); err != nil {
		return Refund{}, err
	}
	if r.ID == "" {
		return Refund{}, malformed(op, "no refund id in response")
	}
	if r.Status == "FAILED" || r.Status == "CANCELLED" {
		return Refund{}, &Error{Op: op, Name: "REFUND_" + r.Status, Message: "refund " + r.ID + " " + strings.ToLower(r.Status), permanent: true}
	}
	return Refund{RefundID: r.ID}, nil
}

// call performs one API request with a bearer token and decodes a 2xx JSON
// response into out. A POST carries requestID as PayPal-Request-Id, which
// makes PayPal replay the first response instead of repeating the operation.
// On 401 the token is refreshed and the request repeated once; repeating is
// safe precisely because of PayPal-Request-Id.
func (p *payPal) call(ctx context.Context, op, method, path, requestID string, in, out any) error {
	var payload []byte
	if in != nil {
		var err error
		if payload, err = json.Marshal(in); err != nil {
			return fmt.Errorf("gateway: %s: encode request: %w", op, err)
		}
	}
	stale := ""
	for attempt := 0; ; attempt++ {
		token, err := p.accessToken(ctx, stale)
		if err != nil {
			return err
		}
		var body io.Reader
		if payload != nil {
			body = bytes.NewReader(payload)
		}
		req, err := http.NewRequestWithContext(ctx, method, p.base+path, body)
		if err != nil {
			return fmt.Errorf("gateway: %s: %w", op, err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Accept", "application/json")
		if method == http.MethodPost {
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Prefer", "return=representation")
			req.Header.Set("PayPal-Request-Id", paypalRequestID(requestID))
		}
		resp, err := p.do(req)
		if err != nil {
			return p.transportError(op, err)
		}
		if resp.status == http.StatusUnauthorized && attempt == 0 {
			stale = token
			continue
		}
		if resp.status < 200 || resp.status > 299 {
			return p.apiError(op, resp, token)
		}
		if out != nil {
			if err := json.Unmarshal(resp.body, out); err != nil {
				return malformed(op, "undecodable response: "+err.Error())
			}
		}
		return nil
	}
}

// accessToken returns a cached token, or fetches one with client
// credentials. stale is a token the API just rejected: it is not returned
// again, but if a concurrent caller already replaced it, that replacement is.
func (p *payPal) accessToken(ctx context.Context, stale string) (string, error) {
	select {
	case p.tokenLock <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-p.tokenLock }()
	if p.token != "" && p.token != stale && p.now().Before(p.expires) {
		return p.token, nil
	}
	p.token = ""

	const op = "paypal token"
	// No PayPal-Request-Id here: a token request has no side effect to
	// protect, and a replayed response could hand back an expired token.
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.base+"/v1/oauth2/token",
		strings.NewReader("grant_type=client_credentials"))
	if err != nil {
		return "", fmt.Errorf("gateway: %s: %w", op, err)
	}
	req.SetBasicAuth(p.clientID, p.secret)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	issued := p.now()
	resp, err := p.do(req)
	if err != nil {
		return "", p.transportError(op, err)
	}
	if resp.status != http.StatusOK {
		return "", p.apiError(op, resp, "")
	}
	var t struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if err := json.Unmarshal(resp.body, &t); err != nil || t.AccessToken == "" {
		return "", malformed(op, "no access token in response")
	}
	lifetime := time.Duration(t.ExpiresIn) * time.Second
	margin := tokenMargin
	if margin > lifetime/2 {
		margin = lifetime / 2
	}
	p.token, p.expires = t.AccessToken, issued.Add(lifetime-margin)
	return p.token, nil
}

// response is what the adapter keeps of an HTTP response.
type response struct {
	status  int
	body    []byte
	debugID string // the Paypal-Debug-Id header, for bodies without debug_id
}

// do sends req and reads the (bounded) response body.
func (p *payPal) do(req *http.Request) (response, error) {
	resp, err := p.hc.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return response{}, err
	}
	return response{status: resp.StatusCode, body: body, debugID: resp.Header.Get("Paypal-Debug-Id")}, nil
}

// apiError turns a non-2xx response into an *Error. It understands both
// PayPal's REST error shape (name, message, debug_id, details[]) and the
// OAuth2 one (error, error_description). token is the bearer token the
// request used, redacted like the secret.
func (p *payPal) apiError(op string, resp response, token string) error {
	var r struct {
		Name             string   `json:"name"`
		Message          string   `json:"message"`
		DebugID          string   `json:"debug_id"`
		Details          []detail `json:"details"`
		Error            string   `json:"error"`
		ErrorDescription string   `json:"error_description"`
	}
	e := &Error{Op: op, StatusCode: resp.status, DebugID: resp.debugID, permanent: permanentStatus(resp.status)}
	if json.Unmarshal(resp.body, &r) == nil {
		e.Name, e.Message = r.Name, r.Message
		if r.DebugID != "" {
			e.DebugID = r.DebugID
		}
		if e.Name == "" {
			e.Name, e.Message = r.Error, r.ErrorDescription
		}
		for i, d := range r.Details {
			d.Issue, d.Description = p.redact(d.Issue, token), p.redact(d.Description, token)
			e.details = append(e.details, d)
			if i == 0 {
				e.Issue = d.Issue
				if d.Description != "" {
					e.Message = strings.TrimSpace(e.Message + " " + d.Description)
				}
			}
		}
	} else if text := strings.TrimSpace(string(resp.body)); text != "" {
		e.Message = truncate(text, 200)
	}
	e.Name, e.Message, e.DebugID = p.redact(e.Name, token), p.redact(e.Message, token), p.redact(e.DebugID, token)
	return e
}

// transportError wraps an error without a usable response (network,
// timeout, cancelled context). It is temporary. The wrapped error keeps
// errors.Is(err, context.Canceled) working.
func (p *payPal) transportError(op string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("gateway: %s: %w", op, err)
	}
	return fmt.Errorf("gateway: %s: %s", op, p.redact(err.Error(), ""))
}

// redact removes the credentials from text that came from outside, in case
// a proxy or error page echoes them back. Secrets must never reach logs,
// and errors end up in logs.
func (p *payPal) redact(text, token string) string {
	basic := base64.StdEncoding.EncodeToString([]byte(p.clientID + ":" + p.secret))
	for _, s := range []string{p.secret, basic, token} {
		if s != "" {
			text = strings.ReplaceAll(text, s, "[REDACTED]")
		}
	}
	return text
}

// malformed reports a 2xx response the adapter cannot use. It is temporary:
// the operation may have happened, and only a retry under the same request
// id can tell.
func malformed(op, msg string) error {
	return &Error{Op: op, Name: "MALFORMED_RESPONSE", Message: msg}
}

// paypalRequestID maps a request id to a valid PayPal-Request-Id,
// deterministically so that retries still match.
func paypalRequestID(requestID string) string {
	if len(requestID) <= maxRequestID {
		return requestID
	}
	sum := sha256.Sum256([]byte(requestID))
	return hex.EncodeToString(sum[:])
}

// truncate cuts s to at most n runes; PayPal rejects longer free-text
// fields, and a too-long description must not make a payment impossible.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n])
}
