package codecs

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
)

// JSON is a Goka-compatible codec (Encode(any) ([]byte, error),
// Decode([]byte) (any, error)) for any JSON-serialisable value type T, so
// tables and group state need no hand-written codec. Encode takes T or *T;
// Decode returns T, never *T, so type assertions in processors have one form.
// JSON[Event] decodes with all of Decode's checks.
type JSON[T any] struct{}

// Encode refuses other types instead of encoding them, because a value of the
// wrong type in a table would only surface later, as a failed Decode.
func (JSON[T]) Encode(v any) ([]byte, error) {
	switch x := v.(type) {
	case T:
		return json.Marshal(x)
	case *T:
		if x == nil {
			return nil, fmt.Errorf("codecs: JSON[%v].Encode: nil pointer", reflect.TypeFor[T]())
		}
		return json.Marshal(*x)
	default:
		return nil, fmt.Errorf("codecs: JSON[%v].Encode: got %T", reflect.TypeFor[T](), v)
	}
}

// Decode returns the value as T.
func (JSON[T]) Decode(b []byte) (any, error) {
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("codecs: JSON[%v].Decode: %w", reflect.TypeFor[T](), err)
	}
	return v, nil
}

// Raw is a Goka-compatible codec that passes bytes through, for topics whose
// messages must be kept exactly as received, such as dead letters.
type Raw struct{}

// Encode takes []byte only.
func (Raw) Encode(v any) ([]byte, error) {
	b, ok := v.([]byte)
	if !ok {
		return nil, fmt.Errorf("codecs: Raw.Encode: got %T, want []byte", v)
	}
	return b, nil
}

// Decode returns a copy, because Kafka clients may reuse the buffer they hand
// to a codec once it returns.
func (Raw) Decode(b []byte) (any, error) {
	return slices.Clone(b), nil
}
