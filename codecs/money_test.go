package codecs

import (
	"encoding/json"
	"testing"
)

func TestMoneyMarshal(t *testing.T) {
	tests := []struct {
		m    Money
		want string
	}{
		{MoneyFromCents(8000), "80.00"},
		{MoneyFromCents(8050), "80.50"},
		{MoneyFromCents(5), "0.05"},
		{MoneyFromCents(0), "0.00"},
		{MoneyFromCents(123456789), "1234567.89"},
		{MoneyFromCents(-5), "-0.05"},
		{MoneyFromCents(-12345), "-123.45"},
	}
	for _, tc := range tests {
		b, err := json.Marshal(tc.m)
		if err != nil || string(b) != tc.want {
			t.Errorf("Marshal(%d cents) = %s, %v; want %s", int64(tc.m), b, err, tc.want)
		}
	}
}

func TestMoneyUnmarshal(t *testing.T) {
	tests := []struct {
		in   string
		want Money
	}{
		{"80", 8000},
		{"80.00", 8000},
		{"80.5", 8050},
		{"0.30000000000000004", 30}, // 0.1 + 0.2 in binary floating point
		{"0.29999999999999998", 30},
		{"1.005", 101}, // rounds the decimal written, not 1.00499999999999989…
		{"-1.005", -101},
		{"0.004", 0},
		{"0.005", 1},
		{"1e2", 10000},
		{"8.0e1", 8000},
		{"1e-400", 0},
		{"-0", 0},
		{"90000000000000000", 9000000000000000000},
	}
	for _, tc := range tests {
		var m Money
		if err := json.Unmarshal([]byte(tc.in), &m); err != nil || m != tc.want {
			t.Errorf("Unmarshal(%s) = %d cents, %v; want %d", tc.in, int64(m), err, int64(tc.want))
		}
	}
}

func TestMoneyUnmarshalRefuses(t *testing.T) {
	for _, in := range []string{`"80.00"`, `true`, `{}`, `1e400`, `1e17`, `-1e17`} {
		var m Money
		if err := json.Unmarshal([]byte(in), &m); err == nil {
			t.Errorf("Unmarshal(%s) = %d cents, want an error", in, int64(m))
		}
	}
}

func TestMoneyNullLeavesValue(t *testing.T) {
	m := MoneyFromCents(42)
	if err := json.Unmarshal([]byte("null"), &m); err != nil || m != 42 {
		t.Errorf("Unmarshal(null) = %d, %v; want 42 unchanged", int64(m), err)
	}
}

func TestMoneyRoundTripsFloatSums(t *testing.T) {
	in, _ := json.Marshal(map[string]float64{"amount": 0.1 + 0.2})
	var v struct{ Amount Money }
	if err := json.Unmarshal(in, &v); err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(map[string]Money{"amount": v.Amount})
	if string(out) != `{"amount":0.30}` {
		t.Errorf("%s → %s, want {\"amount\":0.30}", in, out)
	}
	if f := MoneyFromCents(8050).Float(); f != 80.5 {
		t.Errorf("Float() = %v, want 80.5", f)
	}
}
