package documents

import (
	"fmt"

	"github.com/smartautocheck/smartautocheck/tables"
)

// InvoiceFor is the invoice of an appointment's completed payment: the HTTP view and the
// receipt email render the same document from the same rows.
func InvoiceFor(a tables.Appointment, p tables.Payment, centerName string) Invoice {
	issued := p.CreatedAt
	if p.CompletedAt != nil {
		issued = *p.CompletedAt
	}
	inv := Invoice{Number: p.InvoiceNumber, IssuedAt: issued, CustomerName: a.CustomerName, CustomerEmail: a.CustomerEmail,
		AppointmentID: a.AppointmentID, CenterName: centerName, CenterAddress: a.CenterAddress, ServiceType: a.ServiceType,
		Date: a.Date, Time: a.Time,
		Vehicle: fmt.Sprintf("%s — %s %s (%d)", a.Vehicle.Registration, a.Vehicle.Make, a.Vehicle.Model, a.Vehicle.Year),
		Amount:  p.Amount.String(), Currency: p.Currency, PaymentID: p.PaymentID, TransactionID: p.TransactionID,
		PaymentMethod: p.Method}
	if r := p.Refund; r != nil && r.Done {
		inv.Refund = &Refund{RefundID: r.RefundID, Amount: r.Amount.String(), Reason: r.Reason, At: *r.RefundedAt}
	}
	return inv
}
