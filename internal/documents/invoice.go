package documents

import (
	"errors"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Refund is what an invoice shows once its payment has been refunded.
type Refund struct {
	RefundID string
	Amount   string // already formatted money, e.g. "80.00"
	Reason   string
	At       time.Time
}

// Invoice is everything printed on an invoice. Money amounts arrive formatted because the
// payment service owns rounding and currency rules; this package only lays them out.
type Invoice struct {
	Number        string // INV-2026-000001
	IssuedAt      time.Time
	CustomerName  string
	CustomerEmail string
	AppointmentID string
	CenterName    string
	CenterAddress string
	ServiceType   string // standard|premium|express
	Date, Time    string // slot, e.g. "2026-12-01", "10:00 AM"
	Vehicle       string // e.g. "ABC-123-XY — Toyota Camry (2020)"
	Amount        string // "80.00"
	Currency      string // "USD"
	PaymentID     string
	TransactionID string
	PaymentMethod string  // "paypal"
	Refund        *Refund // nil unless refunded
}

// Errors InvoicePDF gives for an invoice it will not print.
var (
	ErrNoInvoiceNumber = errors.New("documents: invoice has no number")
	ErrNoIssueDate     = errors.New("documents: invoice has no issue date")
)

// InvoicePDF renders the invoice as a one-page A4 PDF. Deterministic for the same input (the
// creation date is fixed to IssuedAt and no document id is written), so a re-render is
// byte-identical and invoices can be regenerated instead of stored. With Refund set, the band
// says REFUNDED and a red "Refunded" box gives the refund id, amount, date and reason; all
// wording is real text so readers (and tests) can search it. Without Refund the word never
// appears, so searching for it finds exactly the refunded invoices.
//
// Number and IssuedAt are required: an invoice without them is not a legal document, and a
// zero IssuedAt would make the PDF carry the render time and so differ on every render.
func InvoicePDF(inv Invoice) ([]byte, error) {
	number := clean(inv.Number, 40)
	if number == "" {
		return nil, ErrNoInvoiceNumber
	}
	if inv.IssuedAt.IsZero() {
		return nil, ErrNoIssueDate
	}
	issued := inv.IssuedAt.UTC()
	c := func(s string) string { return clean(s, maxField) }
	const gap = 5.0 // space between sections
	total := money(inv.Amount, inv.Currency)

	d := newDoc("Invoice "+number, issued)
	status, statusCol := "PAID", colOKInk
	if inv.Refund != nil {
		status, statusCol = "REFUNDED", colAlertInk
	}
	y := d.band("INVOICE", status, statusCol)

	// Billed to (left) and invoice details (right).
	colW := (contentW - 10) / 2
	rx := margin + colW + 10
	ly := d.section(margin, y, colW, "Billed to")
	d.font("B", 11, colInk)
	ly = d.para(margin, ly, colW, lineH+0.6, 2, "L", orDash(c(inv.CustomerName)))
	d.font("", 10, colInk)
	if email := c(inv.CustomerEmail); email != "" {
		ly = d.para(margin, ly, colW, lineH, 1, "L", email)
	}
	ry := d.section(rx, y, colW, "Invoice details")
	statusText := "Paid"
	if inv.Refund != nil {
		statusText = "Refunded"
	}
	ry = d.fields(rx, ry, colW, 30, []field{
		{"Invoice no.", number, 1},
		{"Issued", issued.Format("2 January 2006"), 1},
		{"Status", statusText, 1},
	}, colInk, true)
	y = max(ly, ry) + gap

	if r := inv.Refund; r != nil {
		when := "—"
		if !r.At.IsZero() {
			when = r.At.UTC().Format("2 January 2006, 15:04 UTC")
		}
		y = d.notice(margin, y, contentW, "Refunded",
			"This invoice has been refunded. The amount below was returned to the customer.",
			[]field{
				{"Refund ID", orDash(c(r.RefundID)), 1},
				{"Amount refunded", orDash(money(r.Amount, inv.Currency)), 1},
				{"Refunded on", when, 1},
				{"Reason", orDash(clean(r.Reason, maxLong)), 3},
			}, colAlertInk, colAlertFill) + gap
	}

	service := serviceLabel(clean(inv.ServiceType, 30))
	y = d.section(margin, y, contentW, "Appointment")
	y = d.fields(margin, y, contentW, 38, []field{
		{"Appointment ID", orDash(c(inv.AppointmentID)), 1},
		{"Inspection center", orDash(c(inv.CenterName)), 1},
		{"Address", orDash(c(inv.CenterAddress)), 2},
		{"Date and time", orDash(strings.TrimSpace(c(inv.Date) + " " + c(inv.Time))), 1},
		{"Vehicle", orDash(c(inv.Vehicle)), 1},
		{"Service", service, 1},
	}, colInk, true) + gap

	y = d.section(margin, y, contentW, "Charges")
	amountW, qtyW := 40.0, 16.0
	y = d.table(margin, y, []column{
		{"Description", contentW - qtyW - 2*amountW, "L"},
		{"Qty", qtyW, "R"},
		{"Unit price", amountW, "R"},
		{"Amount", amountW, "R"},
	}, [][]string{{service, "1", orDash(total), orDash(total)}})
	y += 2
	totals := []field{{"Total", orDash(total), 1}, {"Amount paid", orDash(total), 1}}
	if inv.Refund != nil {
		totals = append(totals, field{"Amount refunded", orDash(money(inv.Refund.Amount, inv.Currency)), 1})
	}
	tx := margin + contentW - 2*amountW
	for i, t := range totals {
		style, col := "", colInk
		if i == 0 {
			style = "B"
		}
		if i == 2 {
			col = colAlertInk
		}
		d.font(style, 10, col)
		d.at(tx, y, amountW, lineH, "L", t.label)
		d.para(tx+amountW, y, amountW-tablePad, lineH, 1, "R", t.value)
		y += lineH + 0.6
	}
	d.mark(y)
	y += gap

	y = d.section(margin, y, contentW, "Payment")
	d.fields(margin, y, contentW, 38, []field{
		{"Method", orDash(methodLabel(c(inv.PaymentMethod))), 1},
		{"Payment ID", orDash(c(inv.PaymentID)), 1},
		{"Transaction ID", orDash(c(inv.TransactionID)), 1},
	}, colInk, true)

	d.footer(
		"SmartAutoCheck · Invoice "+number+" · Thank you for choosing us.",
		"This invoice was issued electronically and is valid without a signature. Please keep it for your records.",
	)
	return d.bytes()
}

// money joins a formatted amount and its currency code ("80.00 USD"); empty when there is no amount.
func money(amount, currency string) string {
	amount, currency = clean(amount, 40), clean(currency, 10)
	if amount == "" {
		return ""
	}
	return strings.TrimSpace(amount + " " + strings.ToUpper(currency))
}

// serviceLabel names the inspection package for the customer; an unknown type is shown as
// given (capitalised) rather than hidden, so a new package still prints sensibly.
func serviceLabel(t string) string {
	switch strings.ToLower(t) {
	case "standard":
		return "Standard vehicle inspection"
	case "premium":
		return "Premium vehicle inspection"
	case "express":
		return "Express vehicle inspection"
	case "":
		return "Vehicle inspection"
	}
	return capitalize(t) + " vehicle inspection"
}

// methodLabel spells payment methods the way their brands do.
func methodLabel(m string) string {
	switch strings.ToLower(m) {
	case "paypal":
		return "PayPal"
	case "card", "credit_card":
		return "Card"
	}
	return capitalize(strings.ReplaceAll(m, "_", " "))
}

func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}
