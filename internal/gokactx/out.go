package gokactx

import (
	"encoding/json"
	"fmt"

	"github.com/lovoo/goka"

	"github.com/smartautocheck/smartautocheck/tables"
)

// Out collects a callback's emits so they are journaled in the row before they are sent (see
// tables.Journal). Every output it writes to uses the codecs.Raw codec.
type Out struct{ emits []tables.Emit }

// Emit adds a record; v is JSON-encoded unless it is already bytes.
func (o *Out) Emit(topic goka.Stream, key string, v any) error {
	b, ok := v.([]byte)
	if !ok {
		var err error
		if b, err = json.Marshal(v); err != nil {
			return fmt.Errorf("encoding a record for %s: %w", topic, err)
		}
	}
	o.emits = append(o.emits, tables.Emit{Topic: string(topic), Key: key, Value: b})
	return nil
}

// Journal is the row's journal prev with this input added, to store in the row the callback
// writes — also when it emits nothing, since the row's own write to the table topic can be what
// a crash lost.
func (o *Out) Journal(ctx goka.Context, prev tables.Journal) tables.Journal {
	return prev.With(tables.Entry{Input: input(ctx), Emits: o.emits})
}

// Send emits the collected records.
func (o *Out) Send(ctx goka.Context) { send(ctx, o.emits) }

func send(ctx goka.Context, emits []tables.Emit) {
	for _, e := range emits {
		ctx.Emit(goka.Stream(e.Topic), e.Key, []byte(e.Value))
	}
}

func input(ctx goka.Context) string {
	return fmt.Sprintf("%s/%d/%d", ctx.Topic(), ctx.Partition(), ctx.Offset())
}

// Replayed repeats a write when this input is one of the row's latest (it comes again after a
// crash, its offset uncommitted): it writes the row as it now stands and resends the bytes that
// input emitted, even if newer inputs have sent theirs since; then it tells the callback to stop. Goka writes a
// row to its local store before the table topic has it, so the row is written again too: the
// store may hold what the topic — and every view — never received.
func Replayed(ctx goka.Context, row any, j tables.Journal) bool {
	e, ok := j.Find(input(ctx))
	if !ok {
		return false
	}
	ctx.SetValue(row)
	send(ctx, e.Emits)
	return true
}
