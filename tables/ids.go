package tables

import (
	"strings"

	"github.com/google/uuid"
)

// idNamespace scopes the name-based UUIDs of this system.
var idNamespace = uuid.MustParse("6f1d3c1e-4b7a-4c55-9d2e-8a0f5e7c2b91")

// NameID is a name-based UUID (v5) of its parts: ids that every instance and every redelivery
// must derive alike (notifications, refunds) are made with it.
func NameID(parts ...string) string {
	return uuid.NewSHA1(idNamespace, []byte(strings.Join(parts, "\x00"))).String()
}
