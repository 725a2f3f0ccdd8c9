// Package timers is the durable timers processor: a timer is a row of the timers table (keyed
// by due time and id) holding a command to send; firing sends it and marks the row fired, and
// a forget that follows deletes it. The ticker of every instance reads the due keys — a range
// scan, so a tick costs what is due, not what is waiting — and asks the processor to fire them.
// Timers live in Kafka, so they survive restarts, kill -9 and rebalances; firing twice is
// harmless because a fired row sends nothing again and the commands timers send are checked
// against the state they act on.
package timers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/lovoo/goka"

	"github.com/smartautocheck/smartautocheck/codecs"
	"github.com/smartautocheck/smartautocheck/internal/deadletter"
	"github.com/smartautocheck/smartautocheck/internal/gokactx"
	"github.com/smartautocheck/smartautocheck/internal/topics"
	"github.com/smartautocheck/smartautocheck/tables"
)

// Names of the group, its table and input.
const (
	Group    goka.Group  = topics.GroupTimers
	Commands goka.Stream = topics.TimerCommands
)

// Table is the timers table.
var Table = goka.GroupTable(Group)

// Targets are the topics timers may send to.
var Targets = []goka.Stream{topics.AppointmentCommands, topics.NotificationIntents}

var (
	errEmptyCommand  = errors.New("timer command names no action")
	errUnknownTarget = errors.New("timer sends to a topic timers may not write")
)

// Graph is the processor's topology.
func Graph(policy deadletter.Policy) *goka.GroupGraph {
	edges := []goka.Edge{
		goka.Input(Commands, new(codecs.Raw), policy.Goka(handle)),
		goka.Persist(new(codecs.JSON[tables.Timer])),
		// Firing asks this processor to forget the timer once the fire is committed.
		goka.Output(Commands, new(codecs.Raw)),
		deadletter.Output(),
	}
	for _, t := range Targets {
		edges = append(edges, goka.Output(t, new(codecs.Raw)))
	}
	return goka.DefineGroup(Group, edges...)
}

// handle sets, fires and forgets timers. Firing keeps the row (marked fired, with the sent
// command journaled) rather than deleting it at once: a crash between the row's write and the
// command's send then resends the command when the fire comes again.
func handle(ctx goka.Context, raw []byte) error {
	cmd, cur, applied, err := gokactx.Begin[tables.TimerCommand, tables.Timer](ctx, raw)
	if err != nil || applied {
		return err
	}
	switch {
	case cmd.Schedule != nil:
		if !slices.Contains(Targets, goka.Stream(cmd.Schedule.Topic)) {
			return deadletter.Permanent(fmt.Errorf("%w: %q", errUnknownTarget, cmd.Schedule.Topic))
		}
		if cur == nil {
			row := *cmd.Schedule
			row.Journal = new(gokactx.Out).Journal(ctx, row.Journal)
			ctx.SetValue(row)
		}
	case cmd.Fire != nil:
		if cur == nil || cur.Fired {
			return nil
		}
		var out gokactx.Out
		if err := out.Emit(goka.Stream(cur.Topic), cur.Key, []byte(cur.Value)); err != nil {
			return err
		}
		if err := out.Emit(Commands, ctx.Key(), tables.TimerCommand{Forget: &struct{}{}}); err != nil {
			return err
		}
		row := *cur
		row.Fired, row.Journal = true, out.Journal(ctx, row.Journal)
		ctx.SetValue(row)
		out.Send(ctx)
	case cmd.Forget != nil:
		// A delete lost in a crash leaves the fired row, which the ticker asks to forget again.
		if cur != nil && cur.Fired {
			ctx.Delete()
		}
	default:
		return deadletter.Permanent(errEmptyCommand)
	}
	return nil
}

// Due lists the timers due at now, from a view of the timers table.
func Due(view *goka.View, now time.Time) (map[string]tables.Timer, error) {
	it, err := view.IteratorWithRange("", tables.TimerKeyBound(now))
	if err != nil {
		return nil, err
	}
	defer it.Release()
	due := map[string]tables.Timer{}
	for it.Next() {
		v, err := it.Value()
		if err != nil {
			return nil, err
		}
		if t, ok := v.(tables.Timer); ok {
			due[it.Key()] = t
		}
	}
	return due, it.Err()
}

// Ticker asks for due timers to fire, every Interval, and for fired ones still present (their
// forget was lost) to be forgotten. A key already asked for is not asked again for a while,
// since the view shows the change only a moment later.
type Ticker struct {
	View     *goka.View
	Emitter  *goka.Emitter
	Interval time.Duration
	Now      func() time.Time
}

// Run ticks until ctx ends.
func (t *Ticker) Run(ctx context.Context) error {
	asked := map[string]time.Time{}
	tick := time.NewTicker(t.Interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		if !t.View.Recovered() {
			continue
		}
		now := t.Now()
		due, err := Due(t.View, now)
		if err != nil {
			continue
		}
		for k, at := range asked {
			if now.Sub(at) > 10*time.Second {
				delete(asked, k)
			}
		}
		for k, timer := range due {
			if _, done := asked[k]; done {
				continue
			}
			cmd := tables.TimerCommand{Fire: &struct{}{}}
			if timer.Fired {
				cmd = tables.TimerCommand{Forget: &struct{}{}}
			}
			if _, err := t.Emitter.Emit(k, cmd); err != nil {
				break
			}
			asked[k] = now
		}
	}
}
