package codecs

import "time"

// The payload types mirror the catalog examples field for field, so that a
// decoded event re-encodes to the same JSON. Fields without omitempty are
// required by the schemas: a zero value is still sent rather than dropped, and
// the schema (checked by New) refuses it where it is not a legal value.

// UserRegistered is published on users-topic when a user completes registration.
type UserRegistered struct {
	UserID    string `json:"userId"`
	Email     string `json:"email"`
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
	Phone     string `json:"phone"`
	Role      string `json:"role"`
}

// UserVerified is published on users-topic once the user has proven the email
// address; only verified customers may book.
type UserVerified struct {
	UserID     string    `json:"userId"`
	Email      string    `json:"email"`
	VerifiedAt time.Time `json:"verifiedAt"`
}

// Vehicle is the car an appointment is for.
type Vehicle struct {
	Registration string `json:"registration"`
	Make         string `json:"make"`
	Model        string `json:"model"`
	Year         int    `json:"year"`
}

// AppointmentCreated is published on appointments-topic when a customer books;
// the slot is only held until the payment window closes.
type AppointmentCreated struct {
	AppointmentID string  `json:"appointmentId"`
	CustomerID    string  `json:"customerId"`
	ServiceType   string  `json:"serviceType"`
	Date          string  `json:"date"` // YYYY-MM-DD in the center's calendar, not an instant
	Time          string  `json:"time"` // "10:00 AM", the center's local clock
	Vehicle       Vehicle `json:"vehicle"`
	// InspectorID is nil when the center has no inspector account yet; the
	// first inspector who starts the inspection then takes it.
	InspectorID *string `json:"inspectorId"`
	Status      string  `json:"status"`
	QRCode      string  `json:"qrCode"`
	Amount      Money   `json:"amount"`
}

// AppointmentConfirmed is published on appointments-topic by payment-service
// once the payment is captured; from then on the slot is booked for good.
type AppointmentConfirmed struct {
	AppointmentID string    `json:"appointmentId"`
	PaymentID     string    `json:"paymentId"`
	Status        string    `json:"status"`
	ConfirmedAt   time.Time `json:"confirmedAt"`
}

// Location is the inspection center where a customer checked in.
type Location struct {
	CenterID string `json:"centerId"`
	Address  string `json:"address"`
}

// AppointmentCheckedIn is published on appointments-topic when the customer's
// QR code is accepted at the center.
type AppointmentCheckedIn struct {
	AppointmentID string    `json:"appointmentId"`
	CheckedInAt   time.Time `json:"checkedInAt"`
	Location      Location  `json:"location"`
}

// AppointmentCancelled is published on appointments-topic for cancellations by
// a customer or admin, and by the system (CancelledBy "system") when the
// payment window expires.
type AppointmentCancelled struct {
	AppointmentID  string    `json:"appointmentId"`
	CancelledBy    string    `json:"cancelledBy"`
	Reason         string    `json:"reason"`
	CancelledAt    time.Time `json:"cancelledAt"`
	RefundEligible bool      `json:"refundEligible"`
}

// PaymentInitiated is published on payments-topic when the customer starts
// paying.
type PaymentInitiated struct {
	PaymentID     string `json:"paymentId"`
	AppointmentID string `json:"appointmentId"`
	Amount        Money  `json:"amount"`
	Currency      string `json:"currency"`
	PayPalOrderID string `json:"paypalOrderId"`
	Status        string `json:"status"`
}

// PaymentCompleted is published on payments-topic when the gateway captured
// the money; it drives the appointment's confirmation.
type PaymentCompleted struct {
	PaymentID     string    `json:"paymentId"`
	AppointmentID string    `json:"appointmentId"`
	Amount        Money     `json:"amount"`
	Currency      string    `json:"currency"`
	TransactionID string    `json:"transactionId"`
	Status        string    `json:"status"`
	CompletedAt   time.Time `json:"completedAt"`
	PaymentMethod string    `json:"paymentMethod"`
	InvoiceURL    string    `json:"invoiceUrl"`
}

// PaymentFailed is published on payments-topic when the gateway declined.
type PaymentFailed struct {
	PaymentID     string    `json:"paymentId"`
	AppointmentID string    `json:"appointmentId"`
	Amount        Money     `json:"amount"`
	Status        string    `json:"status"`
	FailureReason string    `json:"failureReason"`
	FailedAt      time.Time `json:"failedAt"`
}

// PaymentRefunded is published on payments-topic after a refund, whether an
// admin's, a cancellation's, or one for a payment that beat the window too late.
type PaymentRefunded struct {
	PaymentID  string    `json:"paymentId"`
	RefundID   string    `json:"refundId"`
	Amount     Money     `json:"amount"`
	Reason     string    `json:"reason"`
	RefundedAt time.Time `json:"refundedAt"`
}

// InspectionStarted is published on inspections-topic when an inspector begins.
type InspectionStarted struct {
	InspectionID  string    `json:"inspectionId"`
	AppointmentID string    `json:"appointmentId"`
	InspectorID   string    `json:"inspectorId"`
	StartedAt     time.Time `json:"startedAt"`
	Checkpoints   []string  `json:"checkpoints"`
}

// InspectionCheckpointCompleted is published on inspections-topic for every
// checkpoint recorded; a checkpoint may be recorded again and the latest wins.
type InspectionCheckpointCompleted struct {
	InspectionID string `json:"inspectionId"`
	Checkpoint   string `json:"checkpoint"`
	Status       string `json:"status"`
	// Notes and Photos are optional: a plain pass often has neither.
	Notes       string    `json:"notes,omitempty"`
	Photos      []string  `json:"photos,omitempty"`
	CompletedAt time.Time `json:"completedAt"`
}

// CheckpointResult is one checkpoint's final status in a completed inspection.
type CheckpointResult struct {
	Name   string `json:"name"`
	Status string `json:"status"`
}

// InspectionCompleted is published on inspections-topic when all checkpoints
// are recorded; a passed one leads to a certificate.
type InspectionCompleted struct {
	InspectionID  string             `json:"inspectionId"`
	AppointmentID string             `json:"appointmentId"`
	Result        string             `json:"result"`
	Score         int                `json:"score"`
	Checkpoints   []CheckpointResult `json:"checkpoints"`
	CompletedAt   time.Time          `json:"completedAt"`
	Duration      int                `json:"duration"` // whole minutes, as the catalog counts it
	// Recommendations is not in the catalog example; DOMAIN.md adds it for
	// failed inspections, so it is absent when there is nothing to recommend.
	Recommendations []string `json:"recommendations,omitempty"`
}

// CertificateGenerated is published on certificates-topic once per passed
// inspection.
type CertificateGenerated struct {
	CertificateID     string    `json:"certificateId"`
	InspectionID      string    `json:"inspectionId"`
	AppointmentID     string    `json:"appointmentId"`
	CertificateNumber string    `json:"certificateNumber"`
	QRCode            string    `json:"qrCode"`
	ValidUntil        string    `json:"validUntil"` // a calendar date, not an instant
	PDFURL            string    `json:"pdfUrl"`
	GeneratedAt       time.Time `json:"generatedAt"`
}

// CertificateVerified is published on certificates-topic for every public
// verification, valid or not, as an audit trail.
type CertificateVerified struct {
	CertificateID string    `json:"certificateId"`
	VerifiedBy    string    `json:"verifiedBy"`
	VerifiedAt    time.Time `json:"verifiedAt"`
	Valid         bool      `json:"valid"`
}

// NotificationSent is published on notifications-topic when a provider
// accepted an email or SMS.
type NotificationSent struct {
	NotificationID string `json:"notificationId"`
	Type           string `json:"type"`
	Recipient      string `json:"recipient"`
	// Subject is optional because an SMS has none.
	Subject  string `json:"subject,omitempty"`
	Template string `json:"template"`
	Status   string `json:"status"`
	Provider string `json:"provider"`
	// ProviderMessageID is optional because not every provider (the file
	// outbox, for one) hands back an id.
	ProviderMessageID string    `json:"providerMessageId,omitempty"`
	SentAt            time.Time `json:"sentAt"`
}

// NotificationFailed is published on notifications-topic for every failed
// attempt; RetryCount tells retries and the final failure apart.
type NotificationFailed struct {
	NotificationID string    `json:"notificationId"`
	Type           string    `json:"type"`
	Recipient      string    `json:"recipient"`
	Error          string    `json:"error"`
	RetryCount     int       `json:"retryCount"`
	FailedAt       time.Time `json:"failedAt"`
}

// EventType makes each payload name its own catalog type, so New needs no
// separate argument that could disagree with the payload.
func (UserRegistered) EventType() string { return TypeUserRegistered }

func (UserVerified) EventType() string                  { return TypeUserVerified }
func (AppointmentCreated) EventType() string            { return TypeAppointmentCreated }
func (AppointmentConfirmed) EventType() string          { return TypeAppointmentConfirmed }
func (AppointmentCheckedIn) EventType() string          { return TypeAppointmentCheckedIn }
func (AppointmentCancelled) EventType() string          { return TypeAppointmentCancelled }
func (PaymentInitiated) EventType() string              { return TypePaymentInitiated }
func (PaymentCompleted) EventType() string              { return TypePaymentCompleted }
func (PaymentFailed) EventType() string                 { return TypePaymentFailed }
func (PaymentRefunded) EventType() string               { return TypePaymentRefunded }
func (InspectionStarted) EventType() string             { return TypeInspectionStarted }
func (InspectionCheckpointCompleted) EventType() string { return TypeInspectionCheckpointCompleted }
func (InspectionCompleted) EventType() string           { return TypeInspectionCompleted }
func (CertificateGenerated) EventType() string          { return TypeCertificateGenerated }
func (CertificateVerified) EventType() string           { return TypeCertificateVerified }
func (NotificationSent) EventType() string              { return TypeNotificationSent }
func (NotificationFailed) EventType() string            { return TypeNotificationFailed }
