package views

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"
	"github.com/lovoo/goka"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/smartautocheck/smartautocheck/codecs"
	"github.com/smartautocheck/smartautocheck/internal/centers"
	"github.com/smartautocheck/smartautocheck/internal/signed"
	"github.com/smartautocheck/smartautocheck/tables"
)

// Server holds what the HTTP handlers read and write.
type Server struct {
	Users  *Table[tables.User]
	Emails *Table[tables.EmailClaim]

	Appointments *Table[tables.Appointment]
	Slots        *Table[tables.CenterDay]
	Payments     *Table[tables.Payments]

	UserCommands *goka.Emitter
	EmailClaims  *goka.Emitter
	ApptCommands *goka.Emitter
	PayCommands  *goka.Emitter

	Centers *centers.Catalog
	// Hold is the payment window of a new booking.
	Hold time.Duration
	Now  func() time.Time

	Signer signed.Signer
	Auth   *Auth
	// Wait bounds how long a command endpoint waits for its outcome before answering 202.
	Wait time.Duration
	// BcryptCost is bcrypt's work factor for new passwords.
	BcryptCost int
	// NotReady names the processors, consumers and views that have not recovered yet.
	NotReady func() []string
	Registry *prometheus.Registry
	Log      *slog.Logger
}

type handler func(w http.ResponseWriter, r *http.Request) error

// Handler is the HTTP API.
func (s *Server) Handler() http.Handler {
	m := newHTTPMetrics(s.Registry)
	r := mux.NewRouter()
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { writeError(w, r, errNotFound, s.Log.Error) })
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, errorf(http.StatusMethodNotAllowed, "method_not_allowed", "this path does not take "+r.Method), s.Log.Error)
	})
	route := func(method, path string, h handler, guards ...func(handler) handler) {
		for i := len(guards) - 1; i >= 0; i-- {
			h = guards[i](h)
		}
		r.Handle(path, m.wrap(path, s.serve(h))).Methods(method)
	}

	route(http.MethodGet, "/healthz", s.healthz)
	route(http.MethodGet, "/readyz", s.readyz)
	r.Handle("/metrics", promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{Registry: s.Registry})).Methods(http.MethodGet)
	route(http.MethodGet, "/v1/schemas/{eventType}", s.schema)

	route(http.MethodPost, "/v1/auth/register", s.register, s.ready)
	route(http.MethodGet, "/v1/auth/registrations/{id}", s.registration, s.ready)
	route(http.MethodPost, "/v1/auth/verify", s.verify, s.ready)
	route(http.MethodGet, "/v1/auth/verify", s.verify, s.ready)
	route(http.MethodPost, "/v1/auth/login", s.login, s.ready)
	route(http.MethodGet, "/v1/users/me", s.me, s.ready, s.signedIn)
	route(http.MethodPost, "/v1/admin/inspectors", s.createInspector, s.ready, s.signedIn, role(tables.RoleAdmin))

	route(http.MethodGet, "/v1/centers", s.listCenters)
	route(http.MethodGet, "/v1/centers/{centerId}/slots", s.listSlots, s.ready)
	route(http.MethodPost, "/v1/appointments", s.book, s.ready, s.signedIn)
	route(http.MethodGet, "/v1/appointments", s.listAppointments, s.ready, s.signedIn)
	route(http.MethodGet, "/v1/appointments/{id}", s.getAppointment, s.ready, s.signedIn)
	route(http.MethodGet, "/v1/appointments/{id}/history", s.history, s.ready, s.signedIn)
	route(http.MethodPost, "/v1/appointments/{id}/cancel", s.cancel, s.ready, s.signedIn)
	route(http.MethodPost, "/v1/appointments/{id}/checkin", s.checkIn, s.ready, s.signedIn, role(tables.RoleInspector, tables.RoleAdmin))
	route(http.MethodPost, "/v1/appointments/{id}/payments", s.pay, s.ready, s.signedIn)
	route(http.MethodPost, "/v1/payments/{paymentId}/capture", s.capture, s.ready, s.signedIn)
	route(http.MethodGet, "/v1/appointments/{id}/invoice.pdf", s.invoice, s.ready, s.signedIn)
	return r
}

func (s *Server) serve(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			writeError(w, r, err, s.Log.Error)
		}
	})
}

// ready refuses requests with 503 until the state they read has been recovered.
func (s *Server) ready(next handler) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		if len(s.NotReady()) > 0 {
			return errNotReady
		}
		return next(w, r)
	}
}

// signedIn requires a valid bearer token.
func (s *Server) signedIn(next handler) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, ok := s.Auth.bearer(r)
		if !ok {
			return errUnauthenticated
		}
		return next(w, withPrincipal(r, p))
	}
}

// role requires one of the roles (after signedIn).
func role(roles ...string) func(handler) handler {
	return func(next handler) handler {
		return func(w http.ResponseWriter, r *http.Request) error {
			p := principal(r)
			for _, want := range roles {
				if p.Role == want {
					return next(w, r)
				}
			}
			return errForbidden
		}
	}
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "alive"})
	return nil
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) error {
	if waiting := s.NotReady(); len(waiting) > 0 {
		e := errorf(errNotReady.Status, errNotReady.Code, errNotReady.Message)
		e.Details["waitingFor"] = waiting
		return e
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	return nil
}

// schema serves the JSON Schema of a catalog event.
func (s *Server) schema(w http.ResponseWriter, r *http.Request) error {
	doc, ok := codecs.Schema(mux.Vars(r)["eventType"])
	if !ok {
		return errNotFound
	}
	w.Header().Set("Content-Type", "application/schema+json")
	_, err := w.Write(doc)
	return err
}

// httpMetrics counts requests and their latency per route and status.
type httpMetrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newHTTPMetrics(reg *prometheus.Registry) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sac_http_requests_total",
			Help: "HTTP requests answered, by route and status code."}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "sac_http_request_duration_seconds",
			Help: "Time to answer an HTTP request, by route.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}, []string{"route"}),
	}
	reg.MustRegister(m.requests, m.latency)
	return m
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) { s.code = code; s.ResponseWriter.WriteHeader(code) }

func (m *httpMetrics) wrap(route string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(rec, r)
		m.requests.WithLabelValues(route, strconv.Itoa(rec.code)).Inc()
		m.latency.WithLabelValues(route).Observe(time.Since(start).Seconds())
	})
}
