package deadletter

import (
	"context"

	"github.com/lovoo/goka"

	"github.com/smartautocheck/smartautocheck/codecs"
	"github.com/smartautocheck/smartautocheck/internal/topics"
)

// Output is the graph edge a Goka group needs to park letters.
func Output() goka.Edge { return goka.Output(topics.DeadLetters, new(codecs.JSON[Letter])) }

// Goka adapts a handler to a Goka callback for an input read with the codecs.Raw codec: the
// handler sees the raw bytes, so a record that does not decode is parked instead of stopping the
// processor, as Goka does when its codec fails. Parking is an emit of the same callback, so it is
// committed together with the input's offset.
func (p Policy) Goka(h func(ctx goka.Context, value []byte) error) goka.ProcessCallback {
	return func(ctx goka.Context, msg any) {
		value, _ := msg.([]byte)
		m := Message{Origin: Origin{Topic: string(ctx.Topic()), Partition: ctx.Partition(), Offset: ctx.Offset(),
			Key: ctx.Key(), Group: string(ctx.Group())}, Value: value}
		wrapped := p.Wrap(func(_ context.Context, m Message) error { return h(ctx, m.Value) },
			func(_ context.Context, l Letter) error {
				ctx.Emit(topics.DeadLetters, l.Key, l)
				return nil
			})
		if err := wrapped(ctx.Context(), m); err != nil {
			ctx.Fail(err)
		}
	}
}
