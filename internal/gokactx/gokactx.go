// Package gokactx holds the few steps every processor callback takes: decoding its command,
// reading its row, and stamping catalog events.
package gokactx

import (
	"encoding/json"
	"time"

	"github.com/lovoo/goka"

	"github.com/smartautocheck/smartautocheck/codecs"
	"github.com/smartautocheck/smartautocheck/internal/deadletter"
	"github.com/smartautocheck/smartautocheck/tables"
)

// Row is the callback's current table value, nil when the key has none.
func Row[T any](ctx goka.Context) *T {
	if v, ok := ctx.Value().(T); ok {
		return &v
	}
	return nil
}

// Command decodes a JSON command; bytes that do not decode are a permanent failure (parked).
func Command[T any](raw []byte) (T, error) {
	var c T
	if err := json.Unmarshal(raw, &c); err != nil {
		return c, deadletter.Permanent(err)
	}
	return c, nil
}

// Envelopes wraps payloads in catalog envelopes. A payload the schema refuses can never be
// emitted, so the failure is permanent.
func Envelopes(now time.Time, events ...codecs.Data) ([]codecs.Envelope, error) {
	out := make([]codecs.Envelope, 0, len(events))
	for _, d := range events {
		env, err := codecs.New(d, now)
		if err != nil {
			return nil, deadletter.Permanent(err)
		}
		out = append(out, env)
	}
	return out, nil
}

// journaled is a table row (every row embeds tables.Journaled).
type journaled interface{ Inputs() tables.Journal }

// Begin is the start of every command callback: it decodes the command and reads the row.
// applied reports that this very input already changed the row — it comes again after a crash —
// in which case Replayed has repeated that change and the callback stops there.
func Begin[C any, R journaled](ctx goka.Context, raw []byte) (cmd C, cur *R, applied bool, err error) {
	if cmd, err = Command[C](raw); err != nil {
		return cmd, nil, false, err
	}
	cur = Row[R](ctx)
	return cmd, cur, cur != nil && Replayed(ctx, *cur, (*cur).Inputs()), nil
}
