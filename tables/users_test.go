package tables

import (
	"reflect"
	"testing"
	"time"
)

var (
	t0 = time.Date(2025, 1, 15, 10, 0, 0, 0, time.UTC)
	t1 = t0.Add(time.Hour)
)

func registration(verified bool) Registration {
	return Registration{UserID: "u-1", Email: "Jane@Example.com", FirstName: "Jane", LastName: "Doe",
		Phone: "+33612345678", Role: RoleCustomer, PasswordHash: "hash", CenterID: "c-1", Verified: verified}
}

func TestCreateUser(t *testing.T) {
	existing := &User{UserID: "u-1", Email: "old@example.com", Status: StatusPendingVerification, CreatedAt: t0}
	tests := []struct {
		name           string
		cur            *User
		reg            Registration
		wantRow        bool
		wantStatus     string
		wantRegistered bool
		wantVerified   bool
	}{
		{"new pending", nil, registration(false), true, StatusPendingVerification, true, false},
		{"new verified", nil, registration(true), true, StatusVerified, true, true},
		{"existing left alone", existing, registration(false), false, "", false, false},
		{"existing left alone even if verified registration", existing, registration(true), false, "", false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var before User
			if tc.cur != nil {
				before = *tc.cur
			}
			ch := CreateUser(tc.cur, tc.reg, t1)
			if ch.Registered != tc.wantRegistered || ch.Verified != tc.wantVerified {
				t.Errorf("Registered, Verified = %v, %v; want %v, %v", ch.Registered, ch.Verified, tc.wantRegistered, tc.wantVerified)
			}
			if tc.cur != nil && !reflect.DeepEqual(*tc.cur, before) {
				t.Errorf("current row modified: %+v", *tc.cur)
			}
			if !tc.wantRow {
				if ch.User != nil {
					t.Errorf("User = %+v, want nil (no change)", ch.User)
				}
				return
			}
			if ch.User == nil {
				t.Fatal("User = nil, want a new row")
			}
			u := *ch.User
			r := tc.reg
			if u.UserID != r.UserID || u.Email != r.Email || u.FirstName != r.FirstName || u.LastName != r.LastName ||
				u.Phone != r.Phone || u.Role != r.Role || u.PasswordHash != r.PasswordHash || u.CenterID != r.CenterID {
				t.Errorf("row %+v does not carry registration %+v", u, r)
			}
			if u.Status != tc.wantStatus {
				t.Errorf("Status = %q, want %q", u.Status, tc.wantStatus)
			}
			if u.Verified() != (tc.wantStatus == StatusVerified) {
				t.Errorf("Verified() = %v", u.Verified())
			}
			if !u.CreatedAt.Equal(t1) {
				t.Errorf("CreatedAt = %v, want %v", u.CreatedAt, t1)
			}
			switch {
			case tc.wantVerified && (u.VerifiedAt == nil || !u.VerifiedAt.Equal(t1)):
				t.Errorf("VerifiedAt = %v, want %v", u.VerifiedAt, t1)
			case !tc.wantVerified && u.VerifiedAt != nil:
				t.Errorf("VerifiedAt = %v, want nil", u.VerifiedAt)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	verifiedAt := t0
	pending := &User{UserID: "u-1", Email: "a@example.com", Role: RoleCustomer, Status: StatusPendingVerification, CreatedAt: t0}
	verified := &User{UserID: "u-1", Email: "a@example.com", Role: RoleCustomer, Status: StatusVerified, CreatedAt: t0, VerifiedAt: &verifiedAt}
	tests := []struct {
		name string
		cur  *User
		want bool
	}{
		{"pending becomes verified", pending, true},
		{"verified again changes nothing", verified, false},
		{"unknown user changes nothing", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var before User
			if tc.cur != nil {
				before = *tc.cur
			}
			ch := Verify(tc.cur, t1)
			if ch.Registered {
				t.Error("Registered = true")
			}
			if tc.cur != nil && !reflect.DeepEqual(*tc.cur, before) {
				t.Errorf("current row modified: %+v", *tc.cur)
			}
			if !tc.want {
				if ch.User != nil || ch.Verified {
					t.Errorf("change = %+v, want none", ch)
				}
				return
			}
			if ch.User == nil || !ch.Verified {
				t.Fatalf("change = %+v, want a verified row", ch)
			}
			want := *tc.cur
			want.Status = StatusVerified
			at := t1
			want.VerifiedAt = &at
			if !reflect.DeepEqual(*ch.User, want) {
				t.Errorf("row = %+v, want %+v", *ch.User, want)
			}
		})
	}
}

func TestClaim(t *testing.T) {
	claim := func(userID, email string) ClaimEmail {
		return ClaimEmail{Registration: Registration{UserID: userID, Email: email}}
	}

	// First claim wins and stores the normalized address.
	row, granted := Claim(nil, claim("u-1", "  Jane@Example.COM "), t0)
	if !granted || row == nil {
		t.Fatalf("first claim: row=%v granted=%v, want a row and granted", row, granted)
	}
	want := EmailClaim{Email: "jane@example.com", UserID: "u-1", ClaimedAt: t0}
	if !reflect.DeepEqual(*row, want) {
		t.Errorf("first claim row = %+v, want %+v", *row, want)
	}
	owned := *row

	tests := []struct {
		name        string
		c           ClaimEmail
		wantGranted bool
	}{
		{"owner's redelivered claim granted again", claim("u-1", "jane@example.com"), true},
		{"owner's claim in other case granted again", claim("u-1", "JANE@example.com"), true},
		{"other user refused", claim("u-2", "jane@example.com"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cur := owned
			row, granted := Claim(&cur, tc.c, t1)
			if granted != tc.wantGranted {
				t.Errorf("granted = %v, want %v", granted, tc.wantGranted)
			}
			if row != nil {
				t.Errorf("row = %+v, want nil (the row does not change)", *row)
			}
			if !reflect.DeepEqual(cur, owned) {
				t.Errorf("current row modified: %+v", cur)
			}
		})
	}
}

func TestNormalizeEmail(t *testing.T) {
	tests := []struct{ in, want string }{
		{"jane@example.com", "jane@example.com"},
		{"Jane@Example.COM", "jane@example.com"},
		{"  jane@example.com\t\n", "jane@example.com"},
		{" JANE@EXAMPLE.COM ", "jane@example.com"},
		{"", ""},
	}
	for _, tc := range tests {
		if got := NormalizeEmail(tc.in); got != tc.want {
			t.Errorf("NormalizeEmail(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := NormalizeEmail(NormalizeEmail(tc.in)); got != tc.want {
			t.Errorf("NormalizeEmail is not idempotent on %q: %q", tc.in, got)
		}
	}
}
