package codecs

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The catalog's examples say "uuid-v4" where a real id goes.
const exampleID = "3f2b8c1e-9a4d-4e7b-8c2d-1a2b3c4d5e6f"

func example(t *testing.T, eventType string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + eventType + ".json")
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Replace(b, []byte(`"uuid-v4"`), []byte(`"`+exampleID+`"`), 1)
}

// withEnvelope returns the example with one envelope field replaced.
func withEnvelope(t *testing.T, eventType, field string, value any) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(example(t, eventType), &m); err != nil {
		t.Fatal(err)
	}
	m[field] = value
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func withoutDataField(t *testing.T, eventType, field string) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(example(t, eventType), &m); err != nil {
		t.Fatal(err)
	}
	delete(m["data"].(map[string]any), field)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func ptr[T any](v T) *T { return &v }

func sameJSON(t *testing.T, got, want []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got invalid JSON %s: %v", got, err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("want invalid JSON %s: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("JSON differs\n got: %s\nwant: %s", got, want)
	}
}

var checkpoints = []string{"brakes", "lights", "tires", "engine", "suspension", "exhaust", "body", "interior", "documents"}

// examples holds, in catalog order, each event's topic and the payload its
// catalog example must decode to.
var examples = []struct {
	typ, topic string
	want       Data
}{
	{TypeUserRegistered, "users-topic", UserRegistered{
		UserID: "user-uuid-123", Email: "customer@example.com", FirstName: "John", LastName: "Doe",
		Phone: "+33612345678", Role: "customer",
	}},
	{TypeUserVerified, "users-topic", UserVerified{
		UserID: "user-uuid-123", Email: "customer@example.com", VerifiedAt: ts("2024-12-31T10:05:00Z"),
	}},
	{TypeAppointmentCreated, "appointments-topic", AppointmentCreated{
		AppointmentID: "appt-uuid-456", CustomerID: "user-uuid-123", ServiceType: "premium",
		Date: "2025-01-15", Time: "10:00 AM",
		Vehicle:     Vehicle{Registration: "ABC-123-XY", Make: "Toyota", Model: "Camry", Year: 2020},
		InspectorID: ptr("inspector-uuid-789"), Status: "pending_payment", QRCode: "base64-encoded-qr-image",
		Amount: MoneyFromCents(8000),
	}},
	{TypeAppointmentConfirmed, "appointments-topic", AppointmentConfirmed{
		AppointmentID: "appt-uuid-456", PaymentID: "pay-uuid-789", Status: "confirmed",
		ConfirmedAt: ts("2024-12-31T10:10:00Z"),
	}},
	{TypeAppointmentCheckedIn, "appointments-topic", AppointmentCheckedIn{
		AppointmentID: "appt-uuid-456", CheckedInAt: ts("2025-01-15T09:55:00Z"),
		Location: Location{CenterID: "center-123", Address: "123 Main St"},
	}},
	{TypeAppointmentCancelled, "appointments-topic", AppointmentCancelled{
		AppointmentID: "appt-uuid-456", CancelledBy: "user-uuid-123", Reason: "Scheduling conflict",
		CancelledAt: ts("2025-01-10T14:00:00Z"), RefundEligible: true,
	}},
	{TypePaymentInitiated, "payments-topic", PaymentInitiated{
		PaymentID: "pay-uuid-789", AppointmentID: "appt-uuid-456", Amount: MoneyFromCents(8000),
		Currency: "USD", PayPalOrderID: "5O190127TN364715T", Status: "pending",
	}},
	{TypePaymentCompleted, "payments-topic", PaymentCompleted{
		PaymentID: "pay-uuid-789", AppointmentID: "appt-uuid-456", Amount: MoneyFromCents(8000),
		Currency: "USD", TransactionID: "PAYPAL-CAPTURE-ID-123", Status: "completed",
		CompletedAt: ts("2024-12-31T10:10:00Z"), PaymentMethod: "paypal",
		InvoiceURL: "https://s3.../invoices/invoice-123.pdf",
	}},
	{TypePaymentFailed, "payments-topic", PaymentFailed{
		PaymentID: "pay-uuid-789", AppointmentID: "appt-uuid-456", Amount: MoneyFromCents(8000),
		Status: "failed", FailureReason: "Insufficient funds", FailedAt: ts("2024-12-31T10:10:00Z"),
	}},
	{TypePaymentRefunded, "payments-topic", PaymentRefunded{
		PaymentID: "pay-uuid-789", RefundID: "refund-uuid-999", Amount: MoneyFromCents(8000),
		Reason: "Customer cancelled >24h before", RefundedAt: ts("2025-01-10T14:05:00Z"),
	}},
	{TypeInspectionStarted, "inspections-topic", InspectionStarted{
		InspectionID: "insp-uuid-111", AppointmentID: "appt-uuid-456", InspectorID: "inspector-uuid-789",
		StartedAt: ts("2025-01-15T10:00:00Z"), Checkpoints: checkpoints,
	}},
	{TypeInspectionCheckpointCompleted, "inspections-topic", InspectionCheckpointCompleted{
		InspectionID: "insp-uuid-111", Checkpoint: "brakes", Status: "pass",
		Notes: "Brake pads at 70%, good condition", Photos: []string{"https://s3.../photos/brake-1.jpg"},
		CompletedAt: ts("2025-01-15T10:05:00Z"),
	}},
	{TypeInspectionCompleted, "inspections-topic", InspectionCompleted{
		InspectionID: "insp-uuid-111", AppointmentID: "appt-uuid-456", Result: "pass", Score: 95,
		Checkpoints: func() []CheckpointResult {
			var rs []CheckpointResult
			for _, c := range checkpoints {
				rs = append(rs, CheckpointResult{Name: c, Status: "pass"})
			}
			return rs
		}(),
		CompletedAt: ts("2025-01-15T10:45:00Z"), Duration: 45,
	}},
	{TypeCertificateGenerated, "certificates-topic", CertificateGenerated{
		CertificateID: "cert-uuid-222", InspectionID: "insp-uuid-111", AppointmentID: "appt-uuid-456",
		CertificateNumber: "SAC-2025-001234", QRCode: "base64-encoded-qr", ValidUntil: "2026-01-15",
		PDFURL: "https://s3.../certificates/cert-222.pdf", GeneratedAt: ts("2025-01-15T10:46:00Z"),
	}},
	{TypeCertificateVerified, "certificates-topic", CertificateVerified{
		CertificateID: "cert-uuid-222", VerifiedBy: "ip:192.168.1.1", VerifiedAt: ts("2025-02-01T14:00:00Z"),
		Valid: true,
	}},
	{TypeNotificationSent, "notifications-topic", NotificationSent{
		NotificationID: "notif-uuid-333", Type: "email", Recipient: "customer@example.com",
		Subject: "Appointment Confirmation", Template: "appointment-confirmation", Status: "sent",
		Provider: "sendgrid", ProviderMessageID: "msg-xyz-123", SentAt: ts("2024-12-31T10:11:00Z"),
	}},
	{TypeNotificationFailed, "notifications-topic", NotificationFailed{
		NotificationID: "notif-uuid-333", Type: "email", Recipient: "invalid@email.com",
		Error: "Email address not found", RetryCount: 2, FailedAt: ts("2024-12-31T10:11:00Z"),
	}},
}

func TestTypesFollowCatalog(t *testing.T) {
	var want []string
	for _, e := range examples {
		want = append(want, e.typ)
	}
	if got := Types(); !slices.Equal(got, want) {
		t.Errorf("Types() = %v, want %v", got, want)
	}
	for _, e := range examples {
		if got := TopicOf(e.typ); got != e.topic {
			t.Errorf("TopicOf(%q) = %q, want %q", e.typ, got, e.topic)
		}
		if got := e.want.EventType(); got != e.typ {
			t.Errorf("%T.EventType() = %q, want %q", e.want, got, e.typ)
		}
	}
	if got := TopicOf("user.deleted"); got != "" {
		t.Errorf("TopicOf(unknown) = %q, want empty", got)
	}
}

func TestCatalogExamplesRoundTrip(t *testing.T) {
	for _, tc := range examples {
		t.Run(tc.typ, func(t *testing.T) {
			in := example(t, tc.typ)
			if err := Validate(in); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			ev, err := Decode(in)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			var head struct{ Timestamp string }
			if err := json.Unmarshal(in, &head); err != nil {
				t.Fatal(err)
			}
			if ev.EventType != tc.typ || ev.EventID != exampleID || ev.Version != "1.0" ||
				!ev.Timestamp.Equal(ts(head.Timestamp)) || ev.Timestamp.Location() != time.UTC {
				t.Errorf("envelope = %+v", ev.Envelope)
			}
			if !reflect.DeepEqual(ev.Payload, tc.want) {
				t.Errorf("payload\n got: %#v\nwant: %#v", ev.Payload, tc.want)
			}

			// Re-encode from the typed payload, not the raw data, so that a
			// field the Go type lost or renamed shows up.
			data, err := json.Marshal(ev.Payload)
			if err != nil {
				t.Fatal(err)
			}
			env := ev.Envelope
			env.Data = data
			out, err := json.Marshal(env)
			if err != nil {
				t.Fatal(err)
			}
			sameJSON(t, out, in)

			// An Event marshals as the envelope it was decoded from.
			out, err = json.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			sameJSON(t, out, in)
		})
	}
}

func TestNewProducesDecodableEvents(t *testing.T) {
	at := time.Date(2025, 1, 15, 11, 0, 0, 123456789, time.FixedZone("CET", 3600))
	for _, tc := range examples {
		t.Run(tc.typ, func(t *testing.T) {
			env, err := New(tc.want, at)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			id, err := uuid.Parse(env.EventID)
			if err != nil || id.Version() != 4 || id.Variant() != uuid.RFC4122 || env.EventID != id.String() {
				t.Errorf("eventId %q is not a canonical UUID v4", env.EventID)
			}
			if env.EventType != tc.typ || env.Version != CurrentVersion {
				t.Errorf("envelope = %+v", env)
			}
			if env.Timestamp.Location() != time.UTC || !env.Timestamp.Equal(at.Truncate(time.Millisecond)) {
				t.Errorf("timestamp = %v, want %v in UTC", env.Timestamp, at.Truncate(time.Millisecond))
			}

			b, err := Marshal(tc.want, at)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			if !bytes.Contains(b, []byte(`"timestamp":"2025-01-15T10:00:00.123Z"`)) {
				t.Errorf("timestamp not written in UTC with milliseconds: %s", b)
			}
			ev, err := Decode(b)
			if err != nil {
				t.Fatalf("Decode(Marshal()): %v", err)
			}
			if !reflect.DeepEqual(ev.Payload, tc.want) {
				t.Errorf("payload\n got: %#v\nwant: %#v", ev.Payload, tc.want)
			}
		})
	}
}

func TestNewIssuesFreshIDs(t *testing.T) {
	a, err := New(examples[0].want, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(examples[0].want, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if a.EventID == b.EventID {
		t.Errorf("two events share eventId %s", a.EventID)
	}
}

func TestNewWritesPayloadTimesInUTC(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skip(err)
	}
	local := time.Date(2024, 12, 31, 11, 5, 0, 0, paris)
	byRef := &UserVerified{UserID: "u", Email: "a@example.com", VerifiedAt: local}
	for _, d := range []Data{
		UserVerified{UserID: "u", Email: "a@example.com", VerifiedAt: local},
		byRef,
	} {
		b, err := Marshal(d, local)
		if err != nil {
			t.Fatalf("Marshal(%T): %v", d, err)
		}
		if !bytes.Contains(b, []byte(`"verifiedAt":"2024-12-31T10:05:00Z"`)) {
			t.Errorf("Marshal(%T) = %s, want verifiedAt in UTC", d, b)
		}
	}
	if byRef.VerifiedAt.Location() != paris {
		t.Error("Marshal changed the caller's payload")
	}
}

func TestNewRefusesInvalidPayloads(t *testing.T) {
	tests := []struct {
		name string
		d    Data
		want error
	}{
		{"nil", nil, ErrUnknownEventType},
		{"nil pointer", (*UserVerified)(nil), ErrUnknownEventType},
		{"enum", UserRegistered{UserID: "u", Email: "a@example.com", Role: "owner"}, ErrSchema},
		{"empty id", UserVerified{Email: "a@example.com"}, ErrSchema},
		{"negative amount", PaymentRefunded{PaymentID: "p", RefundID: "r", Amount: -1}, ErrSchema},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.d, time.Now()); !errors.Is(err, tc.want) {
				t.Errorf("New() error = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestDecodeVersions(t *testing.T) {
	tests := []struct {
		version any
		want    error
	}{
		{"1.0", nil},
		{"1.3", nil},
		{"1.42", nil},
		{"2.0", ErrUnsupportedVersion},
		{"9.0", ErrUnsupportedVersion},
		{"10.0", ErrUnsupportedVersion},
		{"0.9", ErrUnsupportedVersion},
		{1.0, ErrSchema},
	}
	for _, tc := range tests {
		for _, typ := range []string{TypeUserRegistered, TypePaymentCompleted} {
			_, err := Decode(withEnvelope(t, typ, "version", tc.version))
			if !errors.Is(err, tc.want) {
				t.Errorf("%s version %v: Decode error = %v, want %v", typ, tc.version, err, tc.want)
			}
		}
	}
	// Validate only checks the shape, so tools can read other majors too.
	if err := Validate(withEnvelope(t, TypeUserRegistered, "version", "2.0")); err != nil {
		t.Errorf("Validate(version 2.0) = %v", err)
	}
}

func TestDecodeAcceptsMinorAdditions(t *testing.T) {
	var m map[string]any
	if err := json.Unmarshal(withEnvelope(t, TypeInspectionCompleted, "version", "1.3"), &m); err != nil {
		t.Fatal(err)
	}
	data := m["data"].(map[string]any)
	data["recommendations"] = []string{"brakes: pads worn"}
	data["reportUrl"] = "https://example.com/report.pdf"
	m["traceId"] = "abc"
	b, _ := json.Marshal(m)
	ev, err := Decode(b)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	got := ev.Payload.(InspectionCompleted).Recommendations
	if !slices.Equal(got, []string{"brakes: pads worn"}) {
		t.Errorf("recommendations = %v", got)
	}
}

func TestDecodeNullInspector(t *testing.T) {
	b := bytes.Replace(example(t, TypeAppointmentCreated), []byte(`"inspector-uuid-789"`), []byte(`null`), 1)
	ev, err := Decode(b)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	p := ev.Payload.(AppointmentCreated)
	if p.InspectorID != nil {
		t.Errorf("inspectorId = %q, want nil", *p.InspectorID)
	}
	out, _ := json.Marshal(p)
	if !bytes.Contains(out, []byte(`"inspectorId":null`)) {
		t.Errorf("null inspectorId not kept: %s", out)
	}
}

func TestDecodeOptionalFields(t *testing.T) {
	tests := []struct{ typ, field string }{
		{TypeInspectionCheckpointCompleted, "notes"},
		{TypeInspectionCheckpointCompleted, "photos"},
		{TypeNotificationSent, "subject"},
		{TypeNotificationSent, "providerMessageId"},
	}
	for _, tc := range tests {
		in := withoutDataField(t, tc.typ, tc.field)
		ev, err := Decode(in)
		if err != nil {
			t.Errorf("%s without %s: %v", tc.typ, tc.field, err)
			continue
		}
		data, _ := json.Marshal(ev.Payload)
		env := ev.Envelope
		env.Data = data
		out, _ := json.Marshal(env)
		sameJSON(t, out, in)
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want error
		// validOK marks input that is well-formed per the schema and only
		// Decode refuses.
		validOK bool
	}{
		{"garbage", []byte("\x00\xffnot json"), ErrMalformed, false},
		{"empty", nil, ErrMalformed, false},
		{"truncated", example(t, TypeUserRegistered)[:40], ErrMalformed, false},
		{"trailing data", append(example(t, TypeUserRegistered), "{}"...), ErrMalformed, false},
		{"array", []byte(`[1,2]`), ErrMalformed, false},
		{"no eventType", []byte(`{"eventId":"` + exampleID + `"}`), ErrMalformed, false},
		{"unknown type", withEnvelope(t, TypeUserRegistered, "eventType", "user.deleted"), ErrUnknownEventType, false},
		{"catalog id as eventId", bytes.Replace(example(t, TypeUserRegistered), []byte(exampleID), []byte("uuid-v4"), 1), ErrSchema, false},
		{"non-UTC timestamp", withEnvelope(t, TypeUserRegistered, "timestamp", "2024-12-31T11:00:00+01:00"), ErrSchema, false},
		{"bad timestamp", withEnvelope(t, TypeUserRegistered, "timestamp", "yesterday"), ErrSchema, false},
		{"no version", withEnvelope(t, TypeUserRegistered, "version", nil), ErrSchema, false},
		{"missing email", withoutDataField(t, TypeUserRegistered, "email"), ErrSchema, false},
		{"missing amount", withoutDataField(t, TypePaymentCompleted, "amount"), ErrSchema, false},
		{"missing inspectorId", withoutDataField(t, TypeAppointmentCreated, "inspectorId"), ErrSchema, false},
		{"data null", withEnvelope(t, TypeUserVerified, "data", nil), ErrSchema, false},
		{"bad role", bytes.Replace(example(t, TypeUserRegistered), []byte(`"customer"`), []byte(`"root"`), 1), ErrSchema, false},
		{"amount as string", bytes.Replace(example(t, TypePaymentFailed), []byte(`80.00`), []byte(`"80.00"`), 1), ErrSchema, false},
		{"bad date", bytes.Replace(example(t, TypeCertificateGenerated), []byte(`2026-01-15`), []byte(`2026-02-30`), 1), ErrSchema, false},
		{"bad slot time", bytes.Replace(example(t, TypeAppointmentCreated), []byte(`10:00 AM`), []byte(`25:00`), 1), ErrSchema, false},
		{"year beyond int", bytes.Replace(example(t, TypeAppointmentCreated), []byte(`2020`), []byte(`1e40`), 1), ErrSchema, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(tc.in)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Decode error = %v, want %v", err, tc.want)
			}
			for _, other := range []error{ErrMalformed, ErrUnknownEventType, ErrUnsupportedVersion, ErrSchema} {
				if other != tc.want && errors.Is(err, other) {
					t.Errorf("error %v also matches %v", err, other)
				}
			}
			verr := Validate(tc.in)
			if tc.validOK && verr != nil || !tc.validOK && !errors.Is(verr, tc.want) {
				t.Errorf("Validate error = %v", verr)
			}
		})
	}
}

func TestSchemaErrorCarriesValidatorMessage(t *testing.T) {
	_, err := Decode(withoutDataField(t, TypeUserRegistered, "email"))
	var verr *jsonschema.ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("error %v does not expose *jsonschema.ValidationError", err)
	}
	if !strings.Contains(err.Error(), "email") || !strings.Contains(err.Error(), "/data") {
		t.Errorf("message does not name the field: %v", err)
	}
}

func TestEventUnmarshalJSONDecodes(t *testing.T) {
	var ev Event
	if err := json.Unmarshal(example(t, TypeCertificateVerified), &ev); err != nil {
		t.Fatal(err)
	}
	if _, ok := ev.Payload.(CertificateVerified); !ok {
		t.Errorf("payload = %T", ev.Payload)
	}
	err := json.Unmarshal(withEnvelope(t, TypeCertificateVerified, "version", "2.0"), &ev)
	if !errors.Is(err, ErrUnsupportedVersion) {
		t.Errorf("error = %v, want ErrUnsupportedVersion", err)
	}
}

func TestEnvelopeMarshalsUTC(t *testing.T) {
	env := Envelope{
		EventType: TypeUserVerified, EventID: exampleID, Version: "1.0", Data: json.RawMessage(`{}`),
		Timestamp: time.Date(2024, 12, 31, 11, 0, 0, 0, time.FixedZone("CET", 3600)),
	}
	b, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`"timestamp":"2024-12-31T10:00:00Z"`)) {
		t.Errorf("got %s", b)
	}
}
