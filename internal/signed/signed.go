// Package signed makes and checks the HMAC-signed tokens SmartAutoCheck hands out (email
// verification links now, QR codes later): base64url(payload JSON) "." base64url(HMAC-SHA256(
// secret, payload bytes)). Every payload names its purpose, so a token made for one use is
// refused for another even though all share the secret.
package signed

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Errors a check can give.
var (
	ErrMalformed    = errors.New("token is malformed")
	ErrBadSignature = errors.New("token signature does not verify")
	ErrWrongPurpose = errors.New("token was made for another purpose")
)

var b64 = base64.RawURLEncoding

// Signer signs and checks tokens with one secret.
type Signer struct{ secret []byte }

// New returns a signer for the secret.
func New(secret []byte) Signer { return Signer{secret: secret} }

func (s Signer) mac(payload []byte) []byte {
	m := hmac.New(sha256.New, s.secret)
	m.Write(payload)
	return m.Sum(nil)
}

// Sign encodes payload (a struct whose JSON has a "purpose" field set to purpose) and signs it.
func (s Signer) Sign(payload any) (string, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return "", fmt.Errorf("encoding token payload: %w", err)
	}
	return b64.EncodeToString(b) + "." + b64.EncodeToString(s.mac(b)), nil
}

// Verify checks the token's signature in constant time, then decodes its payload into out and
// checks that it was made for purpose.
func (s Signer) Verify(token, purpose string, out any) error {
	p, sig, ok := strings.Cut(strings.TrimSpace(token), ".")
	if !ok {
		return ErrMalformed
	}
	payload, err := b64.DecodeString(p)
	if err != nil {
		return ErrMalformed
	}
	mac, err := b64.DecodeString(sig)
	if err != nil {
		return ErrMalformed
	}
	if !hmac.Equal(mac, s.mac(payload)) {
		return ErrBadSignature
	}
	var head struct {
		Purpose string `json:"purpose"`
	}
	if err := json.Unmarshal(payload, &head); err != nil {
		return ErrMalformed
	}
	if head.Purpose != purpose {
		return ErrWrongPurpose
	}
	if err := json.Unmarshal(payload, out); err != nil {
		return ErrMalformed
	}
	return nil
}

// PurposeVerifyEmail is the purpose of email verification tokens.
const PurposeVerifyEmail = "verify-email"

// VerifyEmail is the payload of an email verification token.
type VerifyEmail struct {
	Purpose string `json:"purpose"`
	UserID  string `json:"uid"`
	Email   string `json:"email"`
}

// VerifyEmailToken is the token of the link sent to a new user.
func (s Signer) VerifyEmailToken(userID, email string) (string, error) {
	return s.Sign(VerifyEmail{Purpose: PurposeVerifyEmail, UserID: userID, Email: email})
}
