package tables

import "encoding/json"

// Journal is kept in a row with the emits of the last input that changed it. Goka writes the
// row and the emits separately: a crash between the two leaves a row that says "done" and
// effects that never left. The input then comes again (its offset was not committed); the rule
// sees nothing to do, but the journal recognises the input and sends the same bytes again —
// same event ids, so consumers that deduplicate on them see one event.
type Journal struct {
	Input string `json:"input"`
	Emits []Emit `json:"emits"`
}

// Emit is one record a callback sent: topic, key and the encoded value.
type Emit struct {
	Topic string          `json:"topic"`
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
}
