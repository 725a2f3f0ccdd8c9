package signed

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

func TestRoundTrip(t *testing.T) {
	s := New(secret)
	tok, err := s.VerifyEmailToken("u-1", "jane@example.com")
	if err != nil {
		t.Fatal(err)
	}
	var got VerifyEmail
	if err := s.Verify(tok, PurposeVerifyEmail, &got); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	want := VerifyEmail{Purpose: PurposeVerifyEmail, UserID: "u-1", Email: "jane@example.com"}
	if got != want {
		t.Errorf("payload = %+v, want %+v", got, want)
	}
	// Surrounding whitespace (a pasted link) is tolerated.
	got = VerifyEmail{}
	if err := s.Verify(" "+tok+"\n", PurposeVerifyEmail, &got); err != nil || got != want {
		t.Errorf("Verify with whitespace = %+v, %v", got, err)
	}
	// The token is URL-safe as is.
	if strings.ContainsAny(tok, "+/=") {
		t.Errorf("token %q is not base64url without padding", tok)
	}
}

// flip changes one character of s at i to another of the base64url alphabet.
func flip(s string, i int) string {
	c := byte('A')
	if s[i] == 'A' {
		c = 'B'
	}
	return s[:i] + string(c) + s[i+1:]
}

func TestVerifyRefuses(t *testing.T) {
	s := New(secret)
	tok, err := s.VerifyEmailToken("u-1", "jane@example.com")
	if err != nil {
		t.Fatal(err)
	}
	payload, sig, _ := strings.Cut(tok, ".")

	// A payload changed to name another user, correctly encoded.
	forged := base64.RawURLEncoding.EncodeToString([]byte(`{"purpose":"verify-email","uid":"u-2","email":"jane@example.com"}`))
	// A token signed with the same secret for another purpose.
	other, err := s.Sign(struct {
		Purpose string `json:"purpose"`
		UserID  string `json:"uid"`
	}{"reset-password", "u-1"})
	if err != nil {
		t.Fatal(err)
	}
	// A validly signed payload that is not JSON.
	notJSON := base64.RawURLEncoding.EncodeToString([]byte("not json"))
	notJSON += "." + base64.RawURLEncoding.EncodeToString(s.mac([]byte("not json")))

	tests := []struct {
		name  string
		token string
		by    Signer
		want  error
	}{
		{"tampered payload", flip(payload, 3) + "." + sig, s, ErrBadSignature},
		{"forged payload", forged + "." + sig, s, ErrBadSignature},
		{"tampered signature", payload + "." + flip(sig, 5), s, ErrBadSignature},
		{"truncated signature", payload + "." + sig[:len(sig)-4], s, ErrBadSignature},
		{"other secret", tok, New([]byte("another secret")), ErrBadSignature},
		{"wrong purpose", other, s, ErrWrongPurpose},
		{"garbage", "garbage", s, ErrMalformed},
		{"empty", "", s, ErrMalformed},
		{"bad base64 payload", "!!!." + sig, s, ErrMalformed},
		{"bad base64 signature", payload + ".***", s, ErrMalformed},
		{"signed non-JSON", notJSON, s, ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out VerifyEmail
			err := tc.by.Verify(tc.token, PurposeVerifyEmail, &out)
			if !errors.Is(err, tc.want) {
				t.Errorf("Verify = %v, want %v", err, tc.want)
			}
			if out != (VerifyEmail{}) {
				t.Errorf("refused token filled the payload: %+v", out)
			}
		})
	}
}

func TestSignRefusesUnencodable(t *testing.T) {
	if _, err := New(secret).Sign(map[string]any{"purpose": make(chan int)}); err == nil {
		t.Error("Sign of an unencodable payload succeeded")
	}
}
