package tables

import "encoding/json"

// journalDepth is how many of a row's latest inputs its journal remembers. A row can be written
// by inputs of two topics whose offsets are committed apart, and goka commits a partition's
// offsets out of order, so an input that comes again after a crash need not be the row's last.
const journalDepth = 16

// Journal is kept in a row with the emits of the latest inputs that changed it. Goka writes the
// row and the emits separately: a crash between the two leaves a row that says "done" and
// effects that never left. The input then comes again (its offset was not committed); the rule
// sees nothing to do, but the journal recognises the input and sends the same bytes again —
// same event ids, so consumers that deduplicate on them see one event.
type Journal []Entry

// Journaled is embedded in every table row: the row's journal of its latest inputs.
type Journaled struct {
	Journal Journal `json:"journal,omitempty"`
}

// Inputs is the row's journal, for code that handles the rows of every table alike.
func (j Journaled) Inputs() Journal { return j.Journal }

// Entry is one input and what it emitted.
type Entry struct {
	Input string `json:"input"`
	Emits []Emit `json:"emits,omitempty"`
}

// Emit is one record a callback sent: topic, key and the encoded value.
type Emit struct {
	Topic string          `json:"topic"`
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
}

// Find returns the entry of an input.
func (j Journal) Find(input string) (Entry, bool) {
	for _, e := range j {
		if e.Input == input {
			return e, true
		}
	}
	return Entry{}, false
}

// With is the journal with e added, keeping the latest journalDepth entries. It never writes
// into j's array, which the row it came from still uses.
func (j Journal) With(e Entry) Journal {
	keep := j
	if len(keep) >= journalDepth {
		keep = keep[len(keep)-journalDepth+1:]
	}
	out := make(Journal, 0, len(keep)+1)
	return append(append(out, keep...), e)
}
