package documents

import (
	"bytes"
	"compress/zlib"
	"errors"
	"image/png"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"
)

var streamRE = regexp.MustCompile(`(?s)stream\r?\n(.*?)\r?\nendstream`)

// pdfText returns the text of every stream in a PDF, inflated where it is FlateDecode'd and
// decoded as Latin-1, joined by newlines: what a reader's text search (or
// `re.findall(rb'stream\r?\n(.*?)\r?\nendstream', b, re.S)` + zlib + latin-1 in Python) sees.
// Strings drawn with the core fonts are cp1252, so "é" appears as "é" and "—" as U+0097.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	var parts []string
	for _, m := range streamRE.FindAllSubmatch(pdf, -1) {
		raw := m[1]
		if zr, err := zlib.NewReader(bytes.NewReader(raw)); err == nil {
			if b, err := io.ReadAll(zr); err == nil {
				raw = b
			}
		}
		r := make([]rune, len(raw))
		for i, c := range raw {
			r[i] = rune(c)
		}
		parts = append(parts, string(r))
	}
	if len(parts) == 0 {
		t.Fatal("no streams in PDF")
	}
	return strings.Join(parts, "\n")
}

func sampleInvoice() Invoice {
	return Invoice{
		Number:        "INV-2026-000001",
		IssuedAt:      time.Date(2026, 11, 20, 14, 30, 0, 0, time.UTC),
		CustomerName:  "Zoé Martin",
		CustomerEmail: "zoe@example.com",
		AppointmentID: "apt-7f3c2a",
		CenterName:    "SmartAutoCheck Downtown",
		CenterAddress: "12 Main Street, Springfield",
		ServiceType:   "premium",
		Date:          "2026-12-01",
		Time:          "10:00 AM",
		Vehicle:       "ABC-123-XY — Toyota Camry (2020)",
		Amount:        "80.00",
		Currency:      "USD",
		PaymentID:     "pay-91b2c3",
		TransactionID: "TXN-5KD77123AB",
		PaymentMethod: "paypal",
	}
}

func render(t *testing.T, inv Invoice) []byte {
	t.Helper()
	b, err := InvoicePDF(inv)
	if err != nil {
		t.Fatalf("InvoicePDF: %v", err)
	}
	if !bytes.HasPrefix(b, []byte("%PDF")) {
		t.Fatalf("output does not start with %%PDF: %q", b[:min(len(b), 16)])
	}
	return b
}

func assertContains(t *testing.T, text string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("PDF text lacks %q", w)
		}
	}
}

func TestInvoicePDF(t *testing.T) {
	b := render(t, sampleInvoice())
	text := pdfText(t, b)
	assertContains(t, text,
		"INV-2026-000001", "80.00", "USD", "pay-91b2c3", "TXN-5KD77123AB", "apt-7f3c2a",
		"SmartAutoCheck Downtown", "12 Main Street, Springfield", "2026-12-01", "10:00 AM",
		"Premium vehicle inspection", "PayPal", "zoe@example.com",
		"Zoé Martin", // é translated to cp1252 0xE9, same as Latin-1
		"ABC-123-XY \u0097 Toyota Camry \\(2020\\)", // — is cp1252 0x97; ( ) are escaped in PDF strings
		"PAID",
	)
	if strings.Contains(strings.ToLower(text), "refund") {
		t.Error("invoice without a refund mentions a refund")
	}
	if n := bytes.Count(b, []byte("/Type /Page\n")); n != 1 {
		t.Errorf("pages = %d, want 1", n)
	}
}

func TestInvoicePDFRefunded(t *testing.T) {
	inv := sampleInvoice()
	inv.Refund = &Refund{
		RefundID: "REF-0042",
		Amount:   "80.00",
		Reason:   "Appointment cancelled by the center",
		At:       time.Date(2026, 11, 25, 9, 15, 0, 0, time.UTC),
	}
	text := pdfText(t, render(t, inv))
	assertContains(t, text,
		"INV-2026-000001", "80.00", "pay-91b2c3", "TXN-5KD77123AB",
		"Refund", "refunded", "Refunded", "REFUNDED", "REF-0042",
		"Appointment cancelled by the center", "25 November 2026",
	)
	if strings.Contains(text, "PAID") {
		t.Error("refunded invoice still shows the PAID badge")
	}
}

func TestInvoicePDFDeterministic(t *testing.T) {
	inv := sampleInvoice()
	a, b := render(t, inv), render(t, inv)
	if !bytes.Equal(a, b) {
		t.Error("two renders of the same invoice differ")
	}
	// The same instant in another zone is the same invoice.
	inv.IssuedAt = inv.IssuedAt.In(time.FixedZone("UTC+9", 9*3600))
	if c := render(t, inv); !bytes.Equal(a, c) {
		t.Error("render depends on IssuedAt's time zone")
	}
	inv.Refund = &Refund{RefundID: "REF-1", Amount: "80.00", Reason: "x", At: inv.IssuedAt.Add(time.Hour)}
	if !bytes.Equal(render(t, inv), render(t, inv)) {
		t.Error("two renders of the same refunded invoice differ")
	}
	if !bytes.Contains(a, []byte("/CreationDate (D:20261120143000)")) {
		t.Error("CreationDate is not IssuedAt")
	}
}

// Oversized input must still give one page: fields are capped and wrapped, never spilled.
func TestInvoicePDFLongFieldsStayOnOnePage(t *testing.T) {
	long := strings.Repeat("Very long words and text ", 40)
	unbroken := strings.Repeat("X", 500)
	inv := Invoice{
		Number: "INV-2026-999999", IssuedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		CustomerName: long, CustomerEmail: unbroken, AppointmentID: unbroken,
		CenterName: long, CenterAddress: long + "\n\tline two", ServiceType: long,
		Date: long, Time: long, Vehicle: long, Amount: unbroken, Currency: long,
		PaymentID: unbroken, TransactionID: unbroken, PaymentMethod: long,
		Refund: &Refund{RefundID: unbroken, Amount: unbroken, Reason: long + long, At: time.Unix(1, 0)},
	}
	b := render(t, inv)
	if n := bytes.Count(b, []byte("/Type /Page\n")); n != 1 {
		t.Errorf("pages = %d, want 1", n)
	}
	assertContains(t, pdfText(t, b), "INV-2026-999999", "Refund")
}

func TestInvoicePDFRequiredFields(t *testing.T) {
	inv := sampleInvoice()
	inv.Number = "  "
	if _, err := InvoicePDF(inv); !errors.Is(err, ErrNoInvoiceNumber) {
		t.Errorf("blank number: err = %v", err)
	}
	inv = sampleInvoice()
	inv.IssuedAt = time.Time{}
	if _, err := InvoicePDF(inv); !errors.Is(err, ErrNoIssueDate) {
		t.Errorf("zero IssuedAt: err = %v", err)
	}
	// Everything else may be missing.
	render(t, Invoice{Number: "INV-2026-000002", IssuedAt: time.Unix(1e9, 0)})
}

func TestQRPNG(t *testing.T) {
	const token = "eyJwdXJwb3NlIjoiYXBwb2ludG1lbnQiLCJpZCI6ImFwdC03ZjNjMmEifQ.c2lnbmF0dXJlLWJ5dGVzLWhlcmUtMzItYnl0ZXMtbG9uZw"
	for _, size := range []int{256, 300, 512} {
		b, err := QRPNG(token, size)
		if err != nil {
			t.Fatalf("QRPNG(%d): %v", size, err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("decode PNG: %v", err)
		}
		if r := img.Bounds(); r.Dx() != size || r.Dy() != size {
			t.Errorf("size %d: image is %dx%d", size, r.Dx(), r.Dy())
		}
		// Quiet zone: the corner is white; the finder pattern inside it is black.
		if r, _, _, _ := img.At(0, 0).RGBA(); r != 0xffff {
			t.Errorf("size %d: corner pixel is not white", size)
		}
		again, err := QRPNG(token, size)
		if err != nil || !bytes.Equal(b, again) {
			t.Errorf("size %d: second render differs (err %v)", size, err)
		}
	}
	a, _ := QRPNG(token, 256)
	b, _ := QRPNG(token+"x", 256)
	if bytes.Equal(a, b) {
		t.Error("different content gave the same PNG")
	}
}

func TestQRPNGErrors(t *testing.T) {
	if _, err := QRPNG("", 256); !errors.Is(err, ErrEmptyQRContent) {
		t.Errorf("empty content: err = %v", err)
	}
	for _, size := range []int{0, -5, MaxQRSize + 1, 10} { // 10 px cannot hold even a version-1 symbol
		if _, err := QRPNG("token", size); err == nil {
			t.Errorf("size %d: no error", size)
		}
	}
	if _, err := QRPNG(strings.Repeat("a", 5000), 1000); err == nil {
		t.Error("content beyond QR capacity: no error")
	}
}
