// Package tables holds the state SmartAutoCheck keeps in Goka group tables, the commands that
// change it, and the pure rules that decide each change. Nothing here touches Kafka: processors
// apply these rules inside their callbacks and tests call them directly.
package tables

import (
	"strings"
	"time"
)

// Roles.
const (
	RoleCustomer  = "customer"
	RoleInspector = "inspector"
	RoleAdmin     = "admin"
)

// User statuses.
const (
	StatusPendingVerification = "pending_verification"
	StatusVerified            = "verified"
)

// User is a row of the users table, keyed by userId.
type User struct {
	UserID       string     `json:"userId"`
	Email        string     `json:"email"`
	FirstName    string     `json:"firstName"`
	LastName     string     `json:"lastName"`
	Phone        string     `json:"phone"`
	Role         string     `json:"role"`
	Status       string     `json:"status"`
	PasswordHash string     `json:"passwordHash"`
	CenterID     string     `json:"centerId,omitempty"`
	CreatedAt    time.Time  `json:"createdAt"`
	VerifiedAt   *time.Time `json:"verifiedAt,omitempty"`
	Journaled
}

// Verified tells whether the user may act as a verified account.
func (u User) Verified() bool { return u.Status == StatusVerified }

// NormalizeEmail is the form under which an address is unique: addresses differing only in case
// are one address.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// Registration is everything needed to create a user; it travels through the email-claim saga.
type Registration struct {
	UserID       string `json:"userId"`
	Email        string `json:"email"`
	FirstName    string `json:"firstName"`
	LastName     string `json:"lastName"`
	Phone        string `json:"phone"`
	Role         string `json:"role"`
	PasswordHash string `json:"passwordHash"`
	CenterID     string `json:"centerId,omitempty"`
	// Verified accounts (inspectors and admins made by an admin or at start) skip the email step.
	Verified bool `json:"verified,omitempty"`
}

// UserCommand is a command of the users processor, keyed by userId; exactly one field is set.
type UserCommand struct {
	Create *Registration `json:"create,omitempty"`
	Verify *VerifyUser   `json:"verify,omitempty"`
}

// VerifyUser marks the user's address as verified.
type VerifyUser struct {
	UserID string `json:"userId"`
}

// UserChange is what applying a command decided.
type UserChange struct {
	// User is the new row; nil when nothing changes.
	User *User
	// Registered and Verified say which catalog events the change emits.
	Registered, Verified bool
}

// CreateUser applies a registration. A user that exists already is left alone, so a redelivered
// command changes nothing and emits nothing.
func CreateUser(cur *User, r Registration, now time.Time) UserChange {
	if cur != nil {
		return UserChange{}
	}
	u := &User{UserID: r.UserID, Email: r.Email, FirstName: r.FirstName, LastName: r.LastName, Phone: r.Phone,
		Role: r.Role, Status: StatusPendingVerification, PasswordHash: r.PasswordHash, CenterID: r.CenterID,
		CreatedAt: now}
	if r.Verified {
		u.Status, u.VerifiedAt = StatusVerified, &now
	}
	return UserChange{User: u, Registered: true, Verified: r.Verified}
}

// Verify verifies a pending user; verifying again, or an unknown user, changes nothing.
func Verify(cur *User, now time.Time) UserChange {
	if cur == nil || cur.Verified() {
		return UserChange{}
	}
	u := *cur
	u.Status, u.VerifiedAt = StatusVerified, &now
	return UserChange{User: &u, Verified: true}
}

// EmailClaim is a row of the emails table, keyed by the normalized address: who owns it.
type EmailClaim struct {
	Email     string    `json:"email"`
	UserID    string    `json:"userId"`
	ClaimedAt time.Time `json:"claimedAt"`
	Journaled
}

// ClaimEmail asks the emails processor for an address on behalf of a registration.
type ClaimEmail struct {
	Registration Registration `json:"registration"`
}

// Claim decides a claim: the first registration to claim an address owns it; the owner's own
// claim, redelivered, is granted again (so the saga's next step is re-sent, idempotently);
// anyone else's is refused. The refusal needs no row of its own: the row names another owner,
// which is what a waiting request reads.
func Claim(cur *EmailClaim, c ClaimEmail, now time.Time) (row *EmailClaim, granted bool) {
	if cur == nil {
		return &EmailClaim{Email: NormalizeEmail(c.Registration.Email), UserID: c.Registration.UserID, ClaimedAt: now}, true
	}
	return nil, cur.UserID == c.Registration.UserID
}
