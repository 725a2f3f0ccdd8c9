package views

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Auth issues and checks the bearer tokens of /v1/auth/login: HS256 JWTs whose key is derived
// from the service secret, so it differs from the key of the other signed tokens.
type Auth struct {
	key []byte
	ttl time.Duration
	now func() time.Time
}

// NewAuth derives the signing key from the secret.
func NewAuth(secret []byte, ttl time.Duration, now func() time.Time) *Auth {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("smartautocheck/jwt"))
	return &Auth{key: m.Sum(nil), ttl: ttl, now: now}
}

// Principal is who a request acts as.
type Principal struct {
	UserID string
	Role   string
}

type claims struct {
	Role string `json:"role"`
	jwt.RegisteredClaims
}

const issuer = "smartautocheck"

// Issue makes a token for a user.
func (a *Auth) Issue(p Principal) (string, time.Time, error) {
	now := a.now()
	exp := now.Add(a.ttl)
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims{Role: p.Role, RegisteredClaims: jwt.RegisteredClaims{
		Subject: p.UserID, Issuer: issuer, IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(exp)}})
	s, err := tok.SignedString(a.key)
	return s, exp.UTC(), err
}

// Check verifies a token (HS256 only, signature compared in constant time by the library,
// issuer and expiry checked).
func (a *Auth) Check(token string) (Principal, bool) {
	var c claims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return a.key, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), jwt.WithIssuer(issuer),
		jwt.WithExpirationRequired(), jwt.WithTimeFunc(a.now))
	if err != nil || c.Subject == "" {
		return Principal{}, false
	}
	return Principal{UserID: c.Subject, Role: c.Role}, true
}

type principalKey struct{}

// principal reads the caller of an authenticated request.
func principal(r *http.Request) Principal {
	p, _ := r.Context().Value(principalKey{}).(Principal)
	return p
}

// bearer extracts and checks the request's bearer token.
func (a *Auth) bearer(r *http.Request) (Principal, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return Principal{}, false
	}
	return a.Check(strings.TrimSpace(tok))
}

// withPrincipal stores the caller in the request's context.
func withPrincipal(r *http.Request, p Principal) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
}
