// Package emails is the email-claims processor, the first step of the registration saga: keyed
// by the lower-cased address, it serialises every claim of one address on one partition, so the
// first registration wins even when many arrive at once on several instances, and hands the
// winner on to the users processor.
package emails

import (
	"errors"
	"time"

	"github.com/lovoo/goka"

	"github.com/smartautocheck/smartautocheck/codecs"
	"github.com/smartautocheck/smartautocheck/internal/deadletter"
	"github.com/smartautocheck/smartautocheck/internal/gokactx"
	"github.com/smartautocheck/smartautocheck/internal/topics"
	"github.com/smartautocheck/smartautocheck/processors/users"
	"github.com/smartautocheck/smartautocheck/tables"
)

// Names of the group, its table and its input.
const (
	Group  goka.Group  = "emails"
	Claims goka.Stream = topics.EmailClaims
)

// Table is the emails table: address → owning userId.
var Table = goka.GroupTable(Group)

// Options configure the processor.
type Options struct {
	Now    func() time.Time
	Policy deadletter.Policy
}

// Graph is the processor's topology: claims in; the emails table; user commands out.
func Graph(o Options) *goka.GroupGraph {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	return goka.DefineGroup(Group,
		goka.Input(Claims, new(codecs.Raw), o.Policy.Goka(func(ctx goka.Context, raw []byte) error {
			return handle(ctx, raw, now().UTC())
		})),
		goka.Persist(new(codecs.JSON[tables.EmailClaim])),
		goka.Output(users.Commands, new(codecs.Raw)),
		deadletter.Output(),
	)
}

var errWrongKey = errors.New("claim is not keyed by its normalized address")

func handle(ctx goka.Context, raw []byte, now time.Time) error {
	c, cur, applied, err := gokactx.Begin[tables.ClaimEmail, tables.EmailClaim](ctx, raw)
	if err != nil || applied {
		return err
	}
	if tables.NormalizeEmail(c.Registration.Email) != ctx.Key() {
		return deadletter.Permanent(errWrongKey)
	}
	row, granted := tables.Claim(cur, c, now)
	var out gokactx.Out
	if granted {
		reg := c.Registration
		if err := out.Emit(users.Commands, reg.UserID, tables.UserCommand{Create: &reg}); err != nil {
			return err
		}
	}
	if row != nil {
		row.Journal = out.Journal(ctx, row.Journal)
		ctx.SetValue(*row)
	}
	out.Send(ctx)
	return nil
}
