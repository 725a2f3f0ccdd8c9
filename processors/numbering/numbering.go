// Package numbering is the numbering processor: gap-free sequences (INV-2026-000001, …) kept
// per series in the numbering table. A series is one key, so its numbers are assigned one at a
// time on one partition, whatever instance or partition asks.
package numbering

import (
	"github.com/lovoo/goka"

	"github.com/smartautocheck/smartautocheck/codecs"
	"github.com/smartautocheck/smartautocheck/internal/deadletter"
	"github.com/smartautocheck/smartautocheck/internal/gokactx"
	"github.com/smartautocheck/smartautocheck/internal/topics"
	"github.com/smartautocheck/smartautocheck/tables"
)

// Names of the group, its table and input.
const (
	Group    goka.Group  = topics.GroupNumbering
	Commands goka.Stream = topics.NumberingCommands
)

// Table is the numbering table.
var Table = goka.GroupTable(Group)

// Graph is the processor's topology: requests in; numbers answered to the payments processor.
func Graph(policy deadletter.Policy) *goka.GroupGraph {
	return goka.DefineGroup(Group,
		goka.Input(Commands, new(codecs.Raw), policy.Goka(func(ctx goka.Context, raw []byte) error {
			req, cur, applied, err := gokactx.Begin[tables.NumberRequest, tables.Series](ctx, raw)
			if err != nil || applied {
				return err
			}
			row, number := tables.NextNumber(cur, req)
			var out gokactx.Out
			if err := out.Emit(topics.PaymentCommands, req.ReplyKey, tables.PaymentCommand{Numbered: &tables.Numbered{
				PaymentID: req.RequestID, Number: number}}); err != nil {
				return err
			}
			if row != nil {
				row.Journal = out.Journal(ctx, row.Journal)
				ctx.SetValue(*row)
			}
			out.Send(ctx)
			return nil
		})),
		goka.Persist(new(codecs.JSON[tables.Series])),
		goka.Output(topics.PaymentCommands, new(codecs.Raw)),
		deadletter.Output(),
	)
}
