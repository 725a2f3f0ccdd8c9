// Package users is the users processor: it owns the users table (keyed by userId), applies
// create and verify commands and emits the catalog's user events on users-topic.
package users

import (
	"errors"
	"time"

	"github.com/lovoo/goka"

	"github.com/smartautocheck/smartautocheck/codecs"
	"github.com/smartautocheck/smartautocheck/internal/deadletter"
	"github.com/smartautocheck/smartautocheck/internal/gokactx"
	"github.com/smartautocheck/smartautocheck/internal/topics"
	"github.com/smartautocheck/smartautocheck/processors/centers"
	"github.com/smartautocheck/smartautocheck/tables"
)

// Names of the group, its table and its input.
const (
	Group    goka.Group  = "users"
	Commands goka.Stream = topics.UserCommands
	Events   goka.Stream = topics.Users
)

// Table is the users table.
var Table = goka.GroupTable(Group)

// Options configure the processor.
type Options struct {
	Now    func() time.Time
	Policy deadletter.Policy
}

// Graph is the processor's topology: commands in; the users table; user events and dead letters out.
func Graph(o Options) *goka.GroupGraph {
	p := &proc{now: o.Now}
	if p.now == nil {
		p.now = time.Now
	}
	return goka.DefineGroup(Group,
		goka.Input(Commands, new(codecs.Raw), o.Policy.Goka(p.handle)),
		goka.Persist(new(codecs.JSON[tables.User])),
		goka.Output(Events, new(codecs.Raw)),
		goka.Output(topics.CenterCommands, new(codecs.Raw)),
		deadletter.Output(),
	)
}

var errEmptyCommand = errors.New("user command names no action")

type proc struct{ now func() time.Time }

func (p *proc) handle(ctx goka.Context, raw []byte) error {
	cmd, cur, applied, err := gokactx.Begin[tables.UserCommand, tables.User](ctx, raw)
	if err != nil || applied {
		return err
	}
	now := p.now().UTC()
	var ch tables.UserChange
	switch {
	case cmd.Create != nil:
		ch = tables.CreateUser(cur, *cmd.Create, now)
	case cmd.Verify != nil:
		ch = tables.Verify(cur, now)
	default:
		return deadletter.Permanent(errEmptyCommand)
	}
	return apply(ctx, ch, now)
}

func apply(ctx goka.Context, ch tables.UserChange, now time.Time) error {
	if ch.User == nil {
		return nil
	}
	u := *ch.User
	var events []codecs.Data
	if ch.Registered {
		events = append(events, codecs.UserRegistered{UserID: u.UserID, Email: u.Email, FirstName: u.FirstName,
			LastName: u.LastName, Phone: u.Phone, Role: u.Role})
	}
	if ch.Verified {
		events = append(events, codecs.UserVerified{UserID: u.UserID, Email: u.Email, VerifiedAt: *u.VerifiedAt})
	}
	envs, err := gokactx.Envelopes(now, events...)
	if err != nil {
		return err
	}
	var out gokactx.Out
	for _, env := range envs {
		if err := out.Emit(Events, u.UserID, env); err != nil {
			return err
		}
	}
	// An inspector joins the staff of its center, where the slots processor assigns them.
	if ch.Registered && u.Role == tables.RoleInspector && u.CenterID != "" {
		if err := out.Emit(topics.CenterCommands, u.CenterID, centers.AddInspector{UserID: u.UserID}); err != nil {
			return err
		}
	}
	u.Journal = out.Journal(ctx, u.Journal)
	ctx.SetValue(u)
	out.Send(ctx)
	return nil
}
