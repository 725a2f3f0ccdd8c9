// Package centers is the centers processor: it keeps each center's inspectors (the centers
// table, keyed by centerId), which the slots processor looks up to assign inspectors.
package centers

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
	Group    goka.Group  = topics.GroupCenters
	Commands goka.Stream = topics.CenterCommands
)

// Table is the centers table.
var Table = goka.GroupTable(Group)

// AddInspector is the command (keyed by centerId) that adds an inspector to a center's staff.
type AddInspector struct {
	UserID string `json:"userId"`
}

// Graph is the processor's topology.
func Graph(policy deadletter.Policy) *goka.GroupGraph {
	return goka.DefineGroup(Group,
		goka.Input(Commands, new(codecs.Raw), policy.Goka(func(ctx goka.Context, raw []byte) error {
			cmd, cur, applied, err := gokactx.Begin[AddInspector, tables.CenterStaff](ctx, raw)
			if err != nil || applied {
				return err
			}
			if row := tables.AddInspector(cur, ctx.Key(), cmd.UserID); row != nil {
				row.Journal = new(gokactx.Out).Journal(ctx, row.Journal)
				ctx.SetValue(*row)
			}
			return nil
		})),
		goka.Persist(new(codecs.JSON[tables.CenterStaff])),
		deadletter.Output(),
	)
}
