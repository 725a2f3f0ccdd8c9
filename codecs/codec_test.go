package codecs

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// gokaCodec is goka.Codec's method set; the codecs must fit it without this
// package importing goka.
type gokaCodec interface {
	Encode(value any) ([]byte, error)
	Decode(data []byte) (any, error)
}

var (
	_ gokaCodec = JSON[Event]{}
	_ gokaCodec = Raw{}
)

func TestJSONCodec(t *testing.T) {
	c := JSON[CertificateVerified]{}
	v := CertificateVerified{CertificateID: "c", VerifiedBy: "ip:10.0.0.1", VerifiedAt: ts("2025-02-01T14:00:00Z"), Valid: true}
	for _, in := range []any{v, &v} {
		b, err := c.Encode(in)
		if err != nil {
			t.Fatalf("Encode(%T): %v", in, err)
		}
		got, err := c.Decode(b)
		if err != nil {
			t.Fatalf("Decode: %v", err)
		}
		if got != any(v) {
			t.Errorf("Decode(Encode(%T)) = %#v, want %#v", in, got, v)
		}
	}
	for _, in := range []any{nil, (*CertificateVerified)(nil), CertificateGenerated{}, "text"} {
		if _, err := c.Encode(in); err == nil {
			t.Errorf("Encode(%#v) succeeded, want an error", in)
		}
	}
	if _, err := c.Decode([]byte("{")); err == nil {
		t.Error("Decode of broken JSON succeeded")
	}
}

func TestJSONEventCodecChecksEnvelopes(t *testing.T) {
	c := JSON[Event]{}
	b, err := Marshal(CertificateVerified{CertificateID: "c", VerifiedBy: "ip:10.0.0.1", Valid: true}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	v, err := c.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	ev := v.(Event)
	if _, ok := ev.Payload.(CertificateVerified); !ok {
		t.Errorf("payload = %T", ev.Payload)
	}
	out, err := c.Encode(ev)
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, out, b)
	if _, err := c.Decode(withEnvelope(t, TypeUserVerified, "version", "2.0")); !errors.Is(err, ErrUnsupportedVersion) {
		t.Errorf("Decode error = %v, want ErrUnsupportedVersion", err)
	}
}

func TestRawCodec(t *testing.T) {
	var c Raw
	in := []byte("any bytes \x00\xff")
	b, err := c.Encode(in)
	if err != nil || !bytes.Equal(b, in) {
		t.Errorf("Encode = %q, %v", b, err)
	}
	if _, err := c.Encode("a string"); err == nil {
		t.Error("Encode(string) succeeded, want an error")
	}
	v, err := c.Decode(in)
	if err != nil {
		t.Fatal(err)
	}
	in[0] = 'X'
	if got := v.([]byte); string(got) != "any bytes \x00\xff" {
		t.Errorf("Decode result shares the input buffer: %q", got)
	}
	if v, _ := c.Decode(nil); v.([]byte) != nil {
		t.Errorf("Decode(nil) = %q, want nil (a deletion)", v)
	}
}
