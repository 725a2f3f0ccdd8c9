package codecs

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Event types as they appear in the envelope's eventType.
const (
	TypeUserRegistered                = "user.registered"
	TypeUserVerified                  = "user.verified"
	TypeAppointmentCreated            = "appointment.created"
	TypeAppointmentConfirmed          = "appointment.confirmed"
	TypeAppointmentCheckedIn          = "appointment.checkedin"
	TypeAppointmentCancelled          = "appointment.cancelled"
	TypePaymentInitiated              = "payment.initiated"
	TypePaymentCompleted              = "payment.completed"
	TypePaymentFailed                 = "payment.failed"
	TypePaymentRefunded               = "payment.refunded"
	TypeInspectionStarted             = "inspection.started"
	TypeInspectionCheckpointCompleted = "inspection.checkpoint.completed"
	TypeInspectionCompleted           = "inspection.completed"
	TypeCertificateGenerated          = "certificate.generated"
	TypeCertificateVerified           = "certificate.verified"
	TypeNotificationSent              = "notification.sent"
	TypeNotificationFailed            = "notification.failed"
)

// Catalog topics, one per aggregate; TopicOf maps each event type to its topic.
const (
	TopicUsers         = "users-topic"
	TopicAppointments  = "appointments-topic"
	TopicPayments      = "payments-topic"
	TopicInspections   = "inspections-topic"
	TopicCertificates  = "certificates-topic"
	TopicNotifications = "notifications-topic"
)

// catalog is in the event catalog's order, which Types preserves so that
// listings (schema index, docs) read like the catalog.
var catalog = []struct {
	typ    string
	topic  string
	decode func([]byte) (Data, error)
}{
	{TypeUserRegistered, TopicUsers, decodeAs[UserRegistered]},
	{TypeUserVerified, TopicUsers, decodeAs[UserVerified]},
	{TypeAppointmentCreated, TopicAppointments, decodeAs[AppointmentCreated]},
	{TypeAppointmentConfirmed, TopicAppointments, decodeAs[AppointmentConfirmed]},
	{TypeAppointmentCheckedIn, TopicAppointments, decodeAs[AppointmentCheckedIn]},
	{TypeAppointmentCancelled, TopicAppointments, decodeAs[AppointmentCancelled]},
	{TypePaymentInitiated, TopicPayments, decodeAs[PaymentInitiated]},
	{TypePaymentCompleted, TopicPayments, decodeAs[PaymentCompleted]},
	{TypePaymentFailed, TopicPayments, decodeAs[PaymentFailed]},
	{TypePaymentRefunded, TopicPayments, decodeAs[PaymentRefunded]},
	{TypeInspectionStarted, TopicInspections, decodeAs[InspectionStarted]},
	{TypeInspectionCheckpointCompleted, TopicInspections, decodeAs[InspectionCheckpointCompleted]},
	{TypeInspectionCompleted, TopicInspections, decodeAs[InspectionCompleted]},
	{TypeCertificateGenerated, TopicCertificates, decodeAs[CertificateGenerated]},
	{TypeCertificateVerified, TopicCertificates, decodeAs[CertificateVerified]},
	{TypeNotificationSent, TopicNotifications, decodeAs[NotificationSent]},
	{TypeNotificationFailed, TopicNotifications, decodeAs[NotificationFailed]},
}

// Payloads are returned as values, not pointers, so that consumers can
// type-switch on codecs.UserRegistered and cannot mutate a shared event.
func decodeAs[T Data](b []byte) (Data, error) {
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	return v, nil
}

type kind struct {
	topic  string
	decode func([]byte) (Data, error)
	doc    []byte
	schema *jsonschema.Schema
}

//go:embed schemas/*.json
var schemaFiles embed.FS

// kinds is built when the package loads: the schemas are part of the binary,
// so a schema that does not compile is a build defect and panics at start
// rather than turning every later event into a dead letter.
var kinds = loadKinds()

func loadKinds() map[string]*kind {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	// Formats are only annotations in 2020-12; the contract relies on
	// date-time, date and email being checked.
	c.AssertFormat()
	m := make(map[string]*kind, len(catalog))
	for _, e := range catalog {
		doc, err := schemaFiles.ReadFile("schemas/" + e.typ + ".json")
		if err != nil {
			panic(fmt.Sprintf("codecs: no schema for %s: %v", e.typ, err))
		}
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
		if err != nil {
			panic(fmt.Sprintf("codecs: schema for %s: %v", e.typ, err))
		}
		url := "embed:///schemas/" + e.typ + ".json"
		if err := c.AddResource(url, v); err != nil {
			panic(fmt.Sprintf("codecs: schema for %s: %v", e.typ, err))
		}
		sch, err := c.Compile(url)
		if err != nil {
			panic(fmt.Sprintf("codecs: schema for %s: %v", e.typ, err))
		}
		m[e.typ] = &kind{topic: e.topic, decode: e.decode, doc: doc, schema: sch}
	}
	return m
}

// Types lists the 17 event types in catalog order. The slice is the caller's.
func Types() []string {
	ts := make([]string, len(catalog))
	for i, e := range catalog {
		ts[i] = e.typ
	}
	return ts
}

// TopicOf gives an event type's catalog topic, or "" for an unknown type, so
// producers never spell topic names themselves.
func TopicOf(eventType string) string {
	if k, ok := kinds[eventType]; ok {
		return k.topic
	}
	return ""
}

// Schema returns the JSON Schema (draft 2020-12) of one event type's whole
// envelope, self-contained so it can be served over HTTP as is. The slice is a
// copy: callers may not change what Decode validates against.
func Schema(eventType string) ([]byte, bool) {
	k, ok := kinds[eventType]
	if !ok {
		return nil, false
	}
	return slices.Clone(k.doc), true
}
