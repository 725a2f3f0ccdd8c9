// Package codecs is the wire contract of SmartAutoCheck's Kafka topics: the
// catalog's event envelope, one Go type and one JSON Schema per event, and
// the version rule that consumers accept every 1.x and refuse other majors.
//
// Producers build events with New or Marshal, which validate what they
// produce, so that an event that leaves a service is one every consumer can
// decode. Consumers call Decode; its errors wrap one of ErrMalformed,
// ErrUnknownEventType, ErrUnsupportedVersion or ErrSchema so that a
// dead-letter handler can tell why a message was refused.
package codecs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// CurrentVersion is what New writes. Readers accept any "1.x": a minor
// version may only add optional fields, which the schemas let through.
const CurrentVersion = "1.0"

// Decode's errors wrap exactly one of these, so callers can classify a
// refusal with errors.Is without parsing messages.
var (
	ErrMalformed          = errors.New("codecs: malformed event")
	ErrUnknownEventType   = errors.New("codecs: unknown event type")
	ErrUnsupportedVersion = errors.New("codecs: unsupported event version")
	ErrSchema             = errors.New("codecs: event does not match its schema")
)

// Envelope is the catalog's envelope, exactly. Data stays raw so that an
// envelope can be stored, forwarded or dead-lettered without knowing the
// payload type.
type Envelope struct {
	EventType string          `json:"eventType"`
	EventID   string          `json:"eventId"`
	Timestamp time.Time       `json:"timestamp"`
	Version   string          `json:"version"`
	Data      json.RawMessage `json:"data"`
}

type plainEnvelope Envelope

// MarshalJSON writes the timestamp in UTC whatever its zone, because the
// contract says RFC 3339 UTC and time.Time would otherwise keep its offset.
func (e Envelope) MarshalJSON() ([]byte, error) {
	e.Timestamp = e.Timestamp.UTC()
	return json.Marshal(plainEnvelope(e))
}

// Data is implemented by every event payload type; the payload names its own
// type so that an envelope can never claim a type its data is not.
type Data interface{ EventType() string }

// Event is a decoded envelope with its typed payload. It marshals as its
// envelope, that is with the data as received: to publish a changed payload,
// build a fresh event with New.
type Event struct {
	Envelope
	Payload Data
}

// UnmarshalJSON runs Decode, so that generic codecs such as JSON[Event] apply
// the same checks as consumers that call Decode themselves.
func (e *Event) UnmarshalJSON(b []byte) error {
	ev, err := Decode(b)
	if err != nil {
		return err
	}
	*e = ev
	return nil
}

// New wraps a payload in a fresh envelope: a new UUID v4 eventId, the time at
// in UTC truncated to milliseconds (the precision of Kafka record timestamps
// and JavaScript dates, so the value survives every hop), and CurrentVersion. Time fields of the payload are converted to UTC too. The
// result is validated against the event's schema, so an invalid payload fails
// here, at its producer, rather than in a consumer's dead-letter topic.
func New(d Data, at time.Time) (Envelope, error) {
	env, _, err := build(d, at)
	return env, err
}

// Marshal is New followed by json.Marshal.
func Marshal(d Data, at time.Time) ([]byte, error) {
	_, b, err := build(d, at)
	return b, err
}

func build(d Data, at time.Time) (Envelope, []byte, error) {
	p := inUTC(d)
	if p == nil {
		return Envelope{}, nil, fmt.Errorf("%w: nil payload", ErrUnknownEventType)
	}
	k, ok := kinds[p.EventType()]
	if !ok {
		return Envelope{}, nil, fmt.Errorf("%w: %q", ErrUnknownEventType, p.EventType())
	}
	id, err := uuid.NewRandom()
	if err != nil {
		return Envelope{}, nil, fmt.Errorf("codecs: event id: %w", err)
	}
	data, err := json.Marshal(p)
	if err != nil {
		return Envelope{}, nil, fmt.Errorf("codecs: %s payload: %w", p.EventType(), err)
	}
	env := Envelope{
		EventType: p.EventType(),
		EventID:   id.String(),
		Timestamp: at.UTC().Truncate(time.Millisecond),
		Version:   CurrentVersion,
		Data:      data,
	}
	b, err := json.Marshal(env)
	if err != nil {
		return Envelope{}, nil, fmt.Errorf("codecs: %s envelope: %w", p.EventType(), err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return Envelope{}, nil, fmt.Errorf("codecs: %s envelope: %w", p.EventType(), err)
	}
	if err := k.validate(doc); err != nil {
		return Envelope{}, nil, err
	}
	return env, b, nil
}

var timeType = reflect.TypeFor[time.Time]()

// inUTC returns a copy of d whose top-level time.Time fields are in UTC:
// callers naturally pass time.Now(), which carries the host's zone, and the
// schemas only accept "Z". It returns nil for a nil payload.
func inUTC(d Data) Data {
	v := reflect.ValueOf(d)
	if !v.IsValid() || v.Kind() == reflect.Pointer && v.IsNil() {
		return nil
	}
	isPtr := v.Kind() == reflect.Pointer
	v = reflect.Indirect(v)
	if v.Kind() != reflect.Struct {
		return d
	}
	c := reflect.New(v.Type()).Elem()
	c.Set(v)
	for i := range c.NumField() {
		if f := c.Field(i); f.Type() == timeType && f.CanSet() {
			f.Set(reflect.ValueOf(f.Interface().(time.Time).UTC()))
		}
	}
	if isPtr {
		return c.Addr().Interface().(Data)
	}
	return c.Interface().(Data)
}

// Decode parses and checks an envelope and returns it with its typed payload.
// The checks run from coarse to fine: JSON (ErrMalformed), eventType
// (ErrUnknownEventType), version major (ErrUnsupportedVersion, checked before
// the schema because another major may legitimately have another shape), then
// the schema of the whole envelope (ErrSchema, with the validator's message;
// errors.As can extract the *jsonschema.ValidationError).
func Decode(b []byte) (Event, error) {
	k, doc, err := parse(b)
	if err != nil {
		return Event{}, err
	}
	// A missing or non-string version is left to the schema to report.
	if v, ok := doc["version"].(string); ok {
		if major, _, _ := strings.Cut(v, "."); major != "1" {
			return Event{}, fmt.Errorf("%w: %q (this reader understands 1.x)", ErrUnsupportedVersion, v)
		}
	}
	if err := k.validate(doc); err != nil {
		return Event{}, err
	}
	// The schema has vetted the shapes; what can still fail is a value Go
	// cannot hold, such as an integer beyond int.
	var env Envelope
	if err := json.Unmarshal(b, &env); err != nil {
		return Event{}, fmt.Errorf("%w: %v", ErrSchema, err)
	}
	p, err := k.decode(env.Data)
	if err != nil {
		return Event{}, fmt.Errorf("%w: %s data: %v", ErrSchema, env.EventType, err)
	}
	return Event{Envelope: env, Payload: p}, nil
}

// Validate checks raw envelope JSON against its event type's schema. Unlike
// Decode it does not judge the version, so it also serves tools that inspect
// events of other majors.
func Validate(b []byte) error {
	k, doc, err := parse(b)
	if err != nil {
		return err
	}
	return k.validate(doc)
}

// parse keeps numbers as json.Number, so that the schema sees amounts and
// integers exactly as written.
func parse(b []byte) (*kind, map[string]any, error) {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	doc, ok := v.(map[string]any)
	if !ok {
		return nil, nil, fmt.Errorf("%w: not a JSON object", ErrMalformed)
	}
	t, ok := doc["eventType"].(string)
	if !ok {
		return nil, nil, fmt.Errorf("%w: eventType missing or not a string", ErrMalformed)
	}
	k, ok := kinds[t]
	if !ok {
		return nil, nil, fmt.Errorf("%w: %q", ErrUnknownEventType, t)
	}
	return k, doc, nil
}

func (k *kind) validate(doc any) error {
	if err := k.schema.Validate(doc); err != nil {
		return fmt.Errorf("%w: %w", ErrSchema, err)
	}
	return nil
}
