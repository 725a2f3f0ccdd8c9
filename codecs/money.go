package codecs

import (
	"fmt"
	"math/big"
	"strconv"
)

// Money is an amount in cents. Integer cents keep sums and comparisons exact,
// and the JSON form is always a number with two decimals (80.00), as the
// catalog and API conventions write it.
type Money int64

// MoneyFromCents exists so that call sites read as money, not as a bare cast.
func MoneyFromCents(cents int64) Money { return Money(cents) }

// Float is for display and for APIs that want a float; never compute with it.
func (m Money) Float() float64 { return float64(m) / 100 }

// MarshalJSON writes exactly two decimals: encoding/json would print 80 or
// 80.5, which readers of the catalog do not expect.
func (m Money) MarshalJSON() ([]byte, error) { return []byte(m.String()), nil }

// String is the amount with exactly two decimals, as gateways and documents want it: "80.00".
func (m Money) String() string {
	sign, u := "", uint64(m)
	if m < 0 {
		sign, u = "-", -u
	}
	return fmt.Sprintf("%s%d.%02d", sign, u/100, u%100)
}

// UnmarshalJSON accepts any JSON number and rounds it to the nearest cent,
// halves away from zero, because producers in other languages send floats
// such as 0.30000000000000004.
func (m *Money) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		return nil
	}
	if s == "" || s[0] != '-' && (s[0] < '0' || s[0] > '9') {
		return fmt.Errorf("codecs: money must be a JSON number, got %s", s)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("codecs: money %s out of range", s)
	}
	// Round the decimal the float stands for, not its binary value, so that
	// 1.005 becomes 1.01. The shortest representation is also bounded in
	// length (ParseFloat refused infinities), unlike s, whose exponent could
	// make big.Rat allocate without end.
	r, _ := new(big.Rat).SetString(strconv.FormatFloat(f, 'f', -1, 64))
	r.Mul(r, big.NewRat(100, 1))
	q, rem := new(big.Int).QuoRem(r.Num(), r.Denom(), new(big.Int))
	if rem.Abs(rem).Lsh(rem, 1).Cmp(r.Denom()) >= 0 {
		q.Add(q, big.NewInt(int64(r.Sign())))
	}
	if !q.IsInt64() {
		return fmt.Errorf("codecs: money %s out of range", s)
	}
	*m = Money(q.Int64())
	return nil
}
