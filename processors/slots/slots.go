// Package slots is the slots processor: keyed by center and date, it holds every place of a
// center's day, so a slot's capacity is never exceeded however many instances take bookings,
// and it assigns the inspector with the fewest appointments that day.
package slots

import (
	"errors"

	"github.com/lovoo/goka"

	"github.com/smartautocheck/smartautocheck/codecs"
	"github.com/smartautocheck/smartautocheck/internal/deadletter"
	"github.com/smartautocheck/smartautocheck/internal/gokactx"
	"github.com/smartautocheck/smartautocheck/internal/topics"
	"github.com/smartautocheck/smartautocheck/processors/centers"
	"github.com/smartautocheck/smartautocheck/tables"
)

// Names of the group, its table and input.
const (
	Group    goka.Group  = topics.GroupSlots
	Commands goka.Stream = topics.SlotCommands
)

// Table is the slots table.
var Table = goka.GroupTable(Group)

var errEmptyCommand = errors.New("slot command names no action")

// Graph is the processor's topology.
func Graph(policy deadletter.Policy) *goka.GroupGraph {
	return goka.DefineGroup(Group,
		goka.Input(Commands, new(codecs.Raw), policy.Goka(handle)),
		goka.Lookup(centers.Table, new(codecs.JSON[tables.CenterStaff])),
		goka.Persist(new(codecs.JSON[tables.CenterDay])),
		goka.Output(topics.AppointmentCommands, new(codecs.Raw)),
		deadletter.Output(),
	)
}

func handle(ctx goka.Context, raw []byte) error {
	cmd, cur, applied, err := gokactx.Begin[tables.SlotCommand, tables.CenterDay](ctx, raw)
	if err != nil || applied {
		return err
	}
	switch {
	case cmd.Reserve != nil:
		var inspectors []string
		if staff, ok := ctx.Lookup(centers.Table, cmd.Reserve.CenterID).(tables.CenterStaff); ok {
			inspectors = staff.Inspectors
		}
		res := tables.Reserve(cur, *cmd.Reserve, inspectors)
		answer := tables.AppointmentCommand{Refused: &tables.SlotRefused{}}
		if res.Granted {
			answer = tables.AppointmentCommand{Granted: &tables.SlotGranted{InspectorID: res.InspectorID}}
		}
		var out gokactx.Out
		if err := out.Emit(topics.AppointmentCommands, cmd.Reserve.AppointmentID, answer); err != nil {
			return err
		}
		if res.Row != nil {
			res.Row.Journal = out.Journal(ctx, res.Row.Journal)
			ctx.SetValue(*res.Row)
		}
		out.Send(ctx)
	case cmd.Release != nil:
		if row := tables.Release(cur, *cmd.Release); row != nil {
			row.Journal = new(gokactx.Out).Journal(ctx, row.Journal)
			ctx.SetValue(*row)
		}
	default:
		return deadletter.Permanent(errEmptyCommand)
	}
	return nil
}
