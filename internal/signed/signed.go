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

// open checks the token's signature in constant time and returns its payload bytes.
func (s Signer) open(token string) ([]byte, error) {
	p, sig, ok := strings.Cut(strings.TrimSpace(token), ".")
	if !ok {
		return nil, ErrMalformed
	}
	payload, err := b64.DecodeString(p)
	if err != nil {
		return nil, ErrMalformed
	}
	mac, err := b64.DecodeString(sig)
	if err != nil {
		return nil, ErrMalformed
	}
	if !hmac.Equal(mac, s.mac(payload)) {
		return nil, ErrBadSignature
	}
	return payload, nil
}

// Verify checks the token's signature, then decodes its payload into out and checks that it
// was made for purpose.
func (s Signer) Verify(token, purpose string, out any) error {
	payload, err := s.open(token)
	if err != nil {
		return err
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

// QR is the payload of an appointment's QR token, as DOMAIN.md fixes it. It names no purpose:
// other tokens fail here because they name no appointment and no version 1.
type QR struct {
	AppointmentID string `json:"appointmentId"`
	CustomerID    string `json:"customerId"`
	CenterID      string `json:"centerId"`
	Date          string `json:"date"`
	Time          string `json:"time"`
	IssuedAt      int64  `json:"iat"`
	V             int    `json:"v"`
}

// QRToken signs an appointment's QR payload (V is set to 1).
func (s Signer) QRToken(q QR) (string, error) {
	q.V = 1
	return s.Sign(q)
}

// VerifyQR checks a QR token's signature and returns its payload.
func (s Signer) VerifyQR(token string) (QR, error) {
	payload, err := s.open(token)
	if err != nil {
		return QR{}, err
	}
	var q QR
	if err := json.Unmarshal(payload, &q); err != nil || q.V != 1 || q.AppointmentID == "" {
		return QR{}, ErrMalformed
	}
	return q, nil
}
