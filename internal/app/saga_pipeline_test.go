package app_test

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	"github.com/smartautocheck/smartautocheck/codecs"
	"github.com/smartautocheck/smartautocheck/internal/app"
	"github.com/smartautocheck/smartautocheck/internal/centers"
	"github.com/smartautocheck/smartautocheck/internal/kafkaconfig"
	"github.com/smartautocheck/smartautocheck/internal/topics"
)

const (
	defaultCenter = "center-123"
	// openCenter is open around the clock with 15-minute slots bookable at once, so tests can
	// book a slot at a chosen distance from now.
	openCenter = "center-247"
)

func testCenters() []centers.Center {
	day := [][2]string{{"00:00", "24:00"}}
	open := centers.Center{CenterID: openCenter, Name: "Always Open", Address: "1 Test St", Timezone: "Europe/Paris",
		Lanes: 3, SlotMinutes: 15, MinLeadMinutes: 0, MaxAdvanceDays: 90, OpeningHours: map[string][][2]string{}}
	for _, d := range centers.Days {
		open.OpeningHours[d] = day
	}
	return []centers.Center{centers.Default(), open}
}

type slot struct{ date, time string }

// slotWhere finds a bookable slot of a center whose start satisfies ok and that has at least
// want places.
func (e *env) slotWhere(t *testing.T, center string, want int, ok func(start time.Time) bool) slot {
	t.Helper()
	var c centers.Center
	for _, x := range testCenters() {
		if x.CenterID == center {
			c = x
		}
	}
	today := time.Now().In(c.Location())
	for d := -1; d < 30; d++ {
		date := today.AddDate(0, 0, d).Format("2006-01-02")
		st, body := e.call(t, "GET", "/v1/centers/"+center+"/slots?date="+date, nil, "")
		if st != http.StatusOK {
			t.Fatalf("slots of %s on %s: %d %v", center, date, st, body)
		}
		for _, raw := range body["slots"].([]any) {
			sl := raw.(map[string]any)
			start, err := c.Slot(date, sl["time"].(string))
			if err != nil {
				t.Fatal(err)
			}
			if int(sl["available"].(float64)) >= want && ok(start.Start) {
				return slot{date, sl["time"].(string)}
			}
		}
	}
	t.Fatalf("no slot of %s with %d places as wanted", center, want)
	return slot{}
}

// someDaysAhead picks slots more than 48 hours away.
func someDaysAhead(start time.Time) bool { return time.Until(start) > 48*time.Hour }

func (e *env) book(t *testing.T, token, center string, s slot) (int, map[string]any) {
	t.Helper()
	return e.call(t, "POST", "/v1/appointments", map[string]any{"centerId": center, "serviceType": "premium",
		"date": s.date, "time": s.time, "vehicle": map[string]any{"registration": "AB-123-CD", "make": "Toyota", "model": "Camry", "year": 2020}}, token)
}

// pay asks for a payment of an appointment; an empty outcome leaves sandboxOutcome out, as a
// client of a real gateway does.
func (e *env) pay(t *testing.T, token, id, key, outcome string) (int, map[string]any) {
	t.Helper()
	body := map[string]any{"method": "paypal"}
	if outcome != "" {
		body["sandboxOutcome"] = outcome
	}
	return e.callWith(t, "POST", "/v1/appointments/"+id+"/payments", body, token, map[string]string{"Idempotency-Key": key})
}

// paidBooking books and pays; the appointment is confirmed when it returns.
func (e *env) paidBooking(t *testing.T, token, center string, s slot) map[string]any {
	t.Helper()
	st, a := e.book(t, token, center, s)
	if st != http.StatusCreated {
		t.Fatalf("book %v: %d %v", s, st, a)
	}
	st, p := e.pay(t, token, a["appointmentId"].(string), uuid.NewString(), "approve")
	if st != http.StatusCreated || p["status"] != "completed" {
		t.Fatalf("pay: %d %v", st, p)
	}
	return a
}

func (e *env) appointment(t *testing.T, token, id string) map[string]any {
	t.Helper()
	st, a := e.call(t, "GET", "/v1/appointments/"+id, nil, token)
	if st != http.StatusOK {
		t.Fatalf("GET appointment %s: %d %v", id, st, a)
	}
	return a
}

func (e *env) adminToken(t *testing.T) string {
	t.Helper()
	st, body := e.call(t, "POST", "/v1/auth/login", map[string]any{"email": adminEmail, "password": adminPassword}, "")
	if st != http.StatusOK {
		t.Fatalf("admin login: %d %v", st, body)
	}
	return body["token"].(string)
}

func TestPipelineBookPayConfirm(t *testing.T) {
	e := shared(t)
	_, token := e.registerVerified(t, newEmail("book"))
	s := e.slotWhere(t, defaultCenter, 1, someDaysAhead)
	st, a := e.book(t, token, defaultCenter, s)
	if st != http.StatusCreated || a["status"] != "pending_payment" || a["amount"] != 80.0 || a["currency"] != "USD" {
		t.Fatalf("book: %d %v", st, a)
	}
	for _, f := range []string{"qrCode", "qrToken", "holdExpiresAt", "createdAt"} {
		if a[f] == nil || a[f] == "" {
			t.Errorf("appointment lacks %s", f)
		}
	}
	png, err := base64.StdEncoding.DecodeString(a["qrCode"].(string))
	if err != nil || !strings.HasPrefix(string(png), "\x89PNG") {
		t.Errorf("qrCode is not a base64 PNG")
	}
	id := a["appointmentId"].(string)
	st, p := e.pay(t, token, id, uuid.NewString(), "approve")
	if st != http.StatusCreated || p["status"] != "completed" || p["transactionId"] == "" || p["paypalOrderId"] == "" {
		t.Fatalf("pay: %d %v", st, p)
	}
	if got := e.appointment(t, token, id); got["status"] != "confirmed" || got["paymentId"] != p["paymentId"] {
		t.Fatalf("after payment: %v", got)
	}
	want := map[string][]string{
		topics.Appointments + " " + codecs.TypeAppointmentCreated:   {"appointmentId", "customerId", "serviceType", "date", "time", "vehicle", "inspectorId", "status", "qrCode", "amount"},
		topics.Appointments + " " + codecs.TypeAppointmentConfirmed: {"appointmentId", "paymentId", "status", "confirmedAt"},
		topics.Payments + " " + codecs.TypePaymentInitiated:         {"paymentId", "appointmentId", "amount", "currency", "paypalOrderId", "status"},
		topics.Payments + " " + codecs.TypePaymentCompleted:         {"paymentId", "appointmentId", "amount", "currency", "transactionId", "status", "completedAt", "paymentMethod", "invoiceUrl"},
	}
	for what, fields := range want {
		topic, typ, _ := strings.Cut(what, " ")
		var evs []envelope
		eventually(t, typ, 10*time.Second, func() bool {
			evs = e.events(t, topic, typ, "appointmentId", id)
			return len(evs) > 0
		})
		if len(evs) != 1 {
			t.Errorf("%s x%d", typ, len(evs))
			continue
		}
		if err := codecs.Validate(evs[0].raw); err != nil {
			t.Errorf("%s: %v", typ, err)
		}
		for _, f := range fields {
			if _, ok := evs[0].Data[f]; !ok {
				t.Errorf("%s lacks %s", typ, f)
			}
		}
		if evs[0].key != id {
			t.Errorf("%s keyed %q", typ, evs[0].key)
		}
	}
	req, _ := http.NewRequest("GET", e.base+"/v1/appointments/"+id+"/invoice.pdf", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	pdf, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(string(pdf), "%PDF") || !strings.Contains(pdfText(pdf), "INV-") {
		t.Fatalf("invoice: %d, not a PDF with its number", resp.StatusCode)
	}
	// The history lists the events about the appointment in order.
	req, _ = http.NewRequest("GET", e.base+"/v1/appointments/"+id+"/history", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var history []envelope
	_ = json.NewDecoder(resp.Body).Decode(&history)
	resp.Body.Close()
	var types []string
	for _, h := range history {
		types = append(types, h.EventType)
	}
	if strings.Join(types, ",") != "appointment.created,payment.initiated,payment.completed,appointment.confirmed" {
		t.Errorf("history: %v", types)
	}
	// The booking and the receipt were mailed with their attachments.
	eventually(t, "the QR image and the invoice in the outbox", 10*time.Second, func() bool {
		var png, pdf bool
		files, _ := os.ReadDir(e.cfg.DataDir + "/outbox/email")
		for _, f := range files {
			b, _ := os.ReadFile(e.cfg.DataDir + "/outbox/email/" + f.Name())
			if strings.Contains(string(b), id) || strings.Contains(string(b), "appointment-qr.png") {
				png = png || strings.Contains(string(b), "image/png")
				pdf = pdf || strings.Contains(string(b), "application/pdf")
			}
		}
		return png && pdf
	})
	// Others may not see it.
	_, other := e.registerVerified(t, newEmail("other"))
	if st, _ := e.call(t, "GET", "/v1/appointments/"+id, nil, other); st != http.StatusNotFound {
		t.Errorf("another customer reading the appointment: %d", st)
	}
}

func TestPipelineBookingRefusals(t *testing.T) {
	e := shared(t)
	addr := newEmail("unverified")
	st, _ := e.call(t, "POST", "/v1/auth/register", map[string]any{"email": addr, "password": "secret-pass-123",
		"firstName": "U", "lastName": "V", "phone": "+33612345678"}, "")
	if st != http.StatusCreated {
		t.Fatal(st)
	}
	_, lb := e.call(t, "POST", "/v1/auth/login", map[string]any{"email": addr, "password": "secret-pass-123"}, "")
	s := e.slotWhere(t, defaultCenter, 1, someDaysAhead)
	if st, body := e.book(t, lb["token"].(string), defaultCenter, s); st != http.StatusForbidden || errorCode(body) != "user_not_verified" {
		t.Errorf("unverified booking: %d %v", st, body)
	}
	_, token := e.registerVerified(t, newEmail("refusals"))
	for _, c := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"unknown service", map[string]any{"serviceType": "deluxe"}, "serviceType"},
		{"past date", map[string]any{"date": "2020-01-01"}, "date"},
		{"Sunday closed", map[string]any{"date": nextWeekday(time.Sunday), "time": "10:00"}, "time"},
		{"off the grid", map[string]any{"time": "10:30"}, "time"},
		{"unknown center", map[string]any{"centerId": "nowhere"}, "centerId"},
		{"bad vehicle year", map[string]any{"vehicle": map[string]any{"registration": "AB-123-CD", "make": "T", "model": "C", "year": 1800}}, "vehicle.year"},
	} {
		b := map[string]any{"centerId": defaultCenter, "serviceType": "standard", "date": s.date, "time": s.time,
			"vehicle": map[string]any{"registration": "AB-123-CD", "make": "Toyota", "model": "Camry", "year": 2020}}
		for k, v := range c.body {
			b[k] = v
		}
		st, body := e.call(t, "POST", "/v1/appointments", b, token)
		details, _ := body["error"].(map[string]any)["details"].(map[string]any)
		if st != http.StatusBadRequest || details[c.field] == nil {
			t.Errorf("%s: %d %v, want 400 naming %s", c.name, st, body, c.field)
		}
	}
	if st, _ := e.call(t, "POST", "/v1/appointments", map[string]any{}, ""); st != http.StatusUnauthorized {
		t.Errorf("anonymous booking: %d", st)
	}
}

func nextWeekday(d time.Weekday) string {
	t := time.Now().AddDate(0, 0, 3)
	for t.Weekday() != d {
		t = t.AddDate(0, 0, 1)
	}
	return t.Format("2006-01-02")
}

// TestPipelineSlotCapacityAcrossInstances books one 3-lane slot 30 times at once through two
// instances sharing the cluster: exactly 3 bookings win.
func TestPipelineSlotCapacityAcrossInstances(t *testing.T) {
	e := shared(t)
	var tokens []string
	for i := 0; i < 5; i++ {
		_, tok := e.registerVerified(t, newEmail("cap"))
		tokens = append(tokens, tok)
	}
	dir := t.TempDir()
	second, err := app.Start(context.Background(), app.Config{DataDir: dir, HTTPAddr: "127.0.0.1:0", Brokers: e.brokers,
		Secret: mustRead(t, e.cfg.DataDir+"/secret"), PaymentHold: testHold, Centers: testCenters(), BcryptCost: bcrypt.MinCost})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		// The partitions move back to the shared instance, which then recovers them.
		second.Close()
		e.settle(t)
	}()
	other := &env{app: second, base: "http://" + second.HTTPAddr, brokers: e.brokers, cfg: app.Config{DataDir: dir}}
	// The second member's join rebalances the first: both must be ready, and stay so.
	other.settle(t)
	e.settle(t)
	s := e.slotWhere(t, defaultCenter, 3, someDaysAhead)
	codes := make([]int, 30)
	errs := make([]string, 30)
	var wg sync.WaitGroup
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			via := e
			if i%2 == 1 {
				via = other
			}
			var body map[string]any
			codes[i], body = via.book(t, tokens[i%len(tokens)], defaultCenter, s)
			errs[i] = errorCode(body)
		}()
	}
	wg.Wait()
	created, full := 0, 0
	for i, c := range codes {
		switch {
		case c == http.StatusCreated:
			created++
		case c == http.StatusConflict && errs[i] == "slot_unavailable":
			full++
		}
	}
	if created != 3 || full != 27 {
		t.Fatalf("30 bookings of a 3-lane slot over 2 instances: %v %v", codes, errs)
	}
	_, body := e.call(t, "GET", "/v1/centers/"+defaultCenter+"/slots?date="+s.date, nil, "")
	for _, raw := range body["slots"].([]any) {
		if sl := raw.(map[string]any); sl["time"] == s.time && sl["available"] != 0.0 {
			t.Fatalf("slot still shows %v places", sl["available"])
		}
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func TestPipelineHoldExpiry(t *testing.T) {
	e := shared(t)
	_, token := e.registerVerified(t, newEmail("expiry"))
	s := e.slotWhere(t, defaultCenter, 1, someDaysAhead)
	before := e.available(t, defaultCenter, s)
	st, a := e.book(t, token, defaultCenter, s)
	if st != http.StatusCreated {
		t.Fatal(st, a)
	}
	id := a["appointmentId"].(string)
	eventually(t, "the booking to expire", testHold+10*time.Second, func() bool { return e.appointment(t, token, id)["status"] == "expired" })
	if st, body := e.pay(t, token, id, uuid.NewString(), "approve"); st != http.StatusConflict || errorCode(body) != "hold_expired" {
		t.Fatalf("late payment: %d %v", st, body)
	}
	eventually(t, "the place released", 10*time.Second, func() bool { return e.available(t, defaultCenter, s) == before })
	evs := e.events(t, topics.Appointments, codecs.TypeAppointmentCancelled, "appointmentId", id)
	if len(evs) != 1 || evs[0].Data["cancelledBy"] != "system" || evs[0].Data["reason"] != "payment_window_expired" || evs[0].Data["refundEligible"] != false {
		t.Fatalf("expiry events: %v", evs)
	}
}

func (e *env) available(t *testing.T, center string, s slot) float64 {
	t.Helper()
	_, body := e.call(t, "GET", "/v1/centers/"+center+"/slots?date="+s.date, nil, "")
	for _, raw := range body["slots"].([]any) {
		if sl := raw.(map[string]any); sl["time"] == s.time {
			return sl["available"].(float64)
		}
	}
	return -1
}

func TestPipelineCancellationRefundRule(t *testing.T) {
	e := shared(t)
	_, token := e.registerVerified(t, newEmail("cancel"))
	far := e.paidBooking(t, token, defaultCenter, e.slotWhere(t, defaultCenter, 1, someDaysAhead))
	farID := far["appointmentId"].(string)
	st, c := e.call(t, "POST", "/v1/appointments/"+farID+"/cancel", map[string]any{"reason": "Scheduling conflict"}, token)
	if st != http.StatusOK || c["status"] != "cancelled" || c["refundEligible"] != true || c["refund"] == nil {
		t.Fatalf("cancel > 24 h ahead: %d %v", st, c)
	}
	eventually(t, "payment.refunded", 10*time.Second, func() bool {
		for _, r := range e.records(t, topics.Payments) {
			var ev envelope
			if json.Unmarshal(r.Value, &ev) == nil && ev.EventType == codecs.TypePaymentRefunded && string(r.Key) == farID {
				return true
			}
		}
		return false
	})
	eventually(t, "a refund note on the invoice", 10*time.Second, func() bool {
		req, _ := http.NewRequest("GET", e.base+"/v1/appointments/"+farID+"/invoice.pdf", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode == 200 && strings.Contains(string(b), "%PDF") && e.invoiceMentionsRefund(b)
	})
	if st, body := e.call(t, "POST", "/v1/appointments/"+farID+"/cancel", map[string]any{"reason": "again"}, token); st != http.StatusConflict || errorCode(body) != "invalid_state" {
		t.Errorf("cancelling twice: %d %v", st, body)
	}

	near := e.paidBooking(t, token, openCenter, e.slotWhere(t, openCenter, 1, func(s time.Time) bool {
		return time.Until(s) > 3*time.Hour && time.Until(s) < 20*time.Hour
	}))
	nearID := near["appointmentId"].(string)
	st, c = e.call(t, "POST", "/v1/appointments/"+nearID+"/cancel", map[string]any{"reason": "late"}, token)
	if st != http.StatusOK || c["refundEligible"] != false || c["refund"] != nil {
		t.Fatalf("cancel < 24 h ahead: %d %v", st, c)
	}
	time.Sleep(time.Second)
	for _, r := range e.records(t, topics.Payments) {
		var ev envelope
		if json.Unmarshal(r.Value, &ev) == nil && ev.EventType == codecs.TypePaymentRefunded && string(r.Key) == nearID {
			t.Fatal("a cancellation within 24 h was refunded")
		}
	}
}

// pdfText is the text-bearing content of a PDF's streams, inflated where compressed.
func pdfText(pdf []byte) string {
	var out strings.Builder
	for _, m := range streamRE.FindAllSubmatch(pdf, -1) {
		raw := m[1]
		if r, err := zlib.NewReader(bytes.NewReader(raw)); err == nil {
			if b, err := io.ReadAll(r); err == nil {
				raw = b
			}
		}
		out.Write(raw)
	}
	return out.String()
}

var streamRE = regexp.MustCompile(`(?s)stream\r?\n(.*?)\r?\nendstream`)

// invoiceMentionsRefund looks for the refund note in the PDF's (deflated) text.
func (e *env) invoiceMentionsRefund(pdf []byte) bool {
	return strings.Contains(strings.ToLower(pdfText(pdf)), "refund")
}

func TestPipelineCheckIn(t *testing.T) {
	e := shared(t)
	_, token := e.registerVerified(t, newEmail("checkin"))
	admin := e.adminToken(t)
	soon := func(s time.Time) bool { return time.Until(s) > 30*time.Second && time.Until(s) < 29*time.Minute }
	a1 := e.paidBooking(t, token, openCenter, e.slotWhere(t, openCenter, 2, soon))
	a2 := e.paidBooking(t, token, openCenter, e.slotWhere(t, openCenter, 1, soon))
	a3 := e.paidBooking(t, token, openCenter, e.slotWhere(t, openCenter, 1, func(s time.Time) bool { return time.Until(s) > 3*time.Hour }))
	tampered := strings.Replace(a1["qrToken"].(string), ".", ".A", 1)
	for _, c := range []struct {
		appt  map[string]any
		token string
		code  string
	}{
		{a1, tampered, "qr_invalid_signature"},
		{a1, a2["qrToken"].(string), "qr_mismatch"},
		{a3, a3["qrToken"].(string), "qr_too_early"},
	} {
		st, body := e.call(t, "POST", "/v1/appointments/"+c.appt["appointmentId"].(string)+"/checkin", map[string]any{"qrToken": c.token}, admin)
		if st != http.StatusUnprocessableEntity || errorCode(body) != c.code {
			t.Errorf("check-in with %s: %d %v", c.code, st, body)
		}
	}
	if st, _ := e.call(t, "POST", "/v1/appointments/"+a1["appointmentId"].(string)+"/checkin", map[string]any{"qrToken": a1["qrToken"]}, token); st != http.StatusForbidden {
		t.Errorf("a customer checking in: %d", st)
	}
	st, got := e.call(t, "POST", "/v1/appointments/"+a1["appointmentId"].(string)+"/checkin", map[string]any{"qrToken": a1["qrToken"]}, admin)
	if st != http.StatusOK || got["status"] != "in_progress" || got["checkedInAt"] == nil {
		t.Fatalf("check-in: %d %v", st, got)
	}
	if n := len(e.events(t, topics.Appointments, codecs.TypeAppointmentCheckedIn, "appointmentId", a1["appointmentId"].(string))); n != 1 {
		t.Fatalf("appointment.checkedin x%d", n)
	}
	if st, body := e.call(t, "POST", "/v1/appointments/"+a1["appointmentId"].(string)+"/cancel", map[string]any{"reason": "too late"}, token); st != http.StatusConflict || errorCode(body) != "invalid_state" {
		t.Fatalf("cancel after check-in: %d %v", st, body)
	}
}

func TestPipelinePaymentIdempotency(t *testing.T) {
	e := shared(t)
	addr := newEmail("idem")
	_, token := e.registerVerified(t, addr)
	st, a := e.book(t, token, defaultCenter, e.slotWhere(t, defaultCenter, 1, someDaysAhead))
	if st != http.StatusCreated {
		t.Fatal(st, a)
	}
	id := a["appointmentId"].(string)
	declined := uuid.NewString()
	if st, p := e.pay(t, token, id, declined, "decline"); st != http.StatusCreated || p["status"] != "failed" || p["failureReason"] == "" {
		t.Fatalf("declined: %d %v", st, p)
	}
	if st, p := e.pay(t, token, id, declined, "approve"); st != http.StatusConflict || errorCode(p) != "idempotency_key_reused" {
		t.Fatalf("reused key, other body: %d %v", st, p)
	}
	key := uuid.NewString()
	st1, p1 := e.pay(t, token, id, key, "approve")
	st2, p2 := e.pay(t, token, id, key, "approve")
	if st1 != http.StatusCreated || p1["status"] != "completed" || st2 != st1 || p2["paymentId"] != p1["paymentId"] {
		t.Fatalf("replayed key: %d %v then %d %v", st1, p1, st2, p2)
	}
	if st, p := e.pay(t, token, id, uuid.NewString(), "approve"); st != http.StatusConflict || errorCode(p) != "already_paid" {
		t.Fatalf("paying a paid booking: %d %v", st, p)
	}
	var done []envelope
	eventually(t, "payment.completed", 10*time.Second, func() bool {
		done = e.events(t, topics.Payments, codecs.TypePaymentCompleted, "appointmentId", id)
		return len(done) == 1
	})
	// The very same event again changes nothing and sends nothing.
	mails := e.stableEmails(t, addr)
	produce(t, e.brokers, topics.Payments, id, done[0].raw)
	time.Sleep(2 * time.Second)
	if n := len(e.events(t, topics.Appointments, codecs.TypeAppointmentConfirmed, "appointmentId", id)); n != 1 {
		t.Fatalf("appointment.confirmed x%d after a duplicated payment.completed", n)
	}
	if m := len(e.emailsTo(t, addr)); m != mails {
		t.Fatalf("emails %d -> %d after a duplicated payment.completed", mails, m)
	}
	if len(e.events(t, topics.Payments, codecs.TypePaymentFailed, "appointmentId", id)) != 1 {
		t.Fatal("the declined attempt has no payment.failed")
	}
}

// TestPipelinePaymentKeyedByAppointment checks that payment and appointment events land on the
// murmur2 partition of their appointmentId.
func TestPipelinePaymentKeyedByAppointment(t *testing.T) {
	e := shared(t)
	for _, topic := range []string{topics.Appointments, topics.Payments} {
		for _, r := range e.records(t, topic) {
			if want := kafkaconfig.Partition(r.Key, 2); r.Partition != want {
				t.Fatalf("%s record keyed %s on partition %d, murmur2 says %d", topic, r.Key, r.Partition, want)
			}
		}
	}
}

// stableEmails is the number of emails to addr once none has arrived for a second.
func (e *env) stableEmails(t *testing.T, addr string) int {
	t.Helper()
	n, since := -1, time.Now()
	for time.Since(since) < time.Second {
		if m := len(e.emailsTo(t, addr)); m != n {
			n, since = m, time.Now()
		}
		time.Sleep(100 * time.Millisecond)
	}
	return n
}

// settle waits until the instance has been ready for three seconds in a row: a rebalance first
// takes readiness away, then gives it back.
func (e *env) settle(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	var since time.Time
	for time.Now().Before(deadline) {
		if e.app.Ready() {
			if since.IsZero() {
				since = time.Now()
			}
			if time.Since(since) >= 3*time.Second {
				return
			}
		} else {
			since = time.Time{}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the instance did not settle: waiting for %v", e.app.NotReady())
}
