package views

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/mux"
	"golang.org/x/crypto/bcrypt"

	"github.com/smartautocheck/smartautocheck/codecs"
	"github.com/smartautocheck/smartautocheck/internal/signed"
	"github.com/smartautocheck/smartautocheck/tables"
)

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// registerRequest is the body of POST /v1/auth/register and POST /v1/admin/inspectors.
type registerRequest struct {
	Email     string `json:"email"`
	Password  string `json:"password"`
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
	Phone     string `json:"phone"`
	CenterID  string `json:"centerId"`
}

func (q *registerRequest) validate(needCenter bool) error {
	bad := map[string]string{}
	q.Email = strings.TrimSpace(q.Email)
	if a, err := mail.ParseAddress(q.Email); err != nil || a.Address != q.Email || len(q.Email) > 254 {
		bad["email"] = "must be an email address"
	}
	// bcrypt reads at most 72 bytes: a longer password would be silently cut.
	if len(q.Password) < 8 || len(q.Password) > 72 {
		bad["password"] = "must be 8 to 72 bytes long"
	}
	for field, v := range map[string]string{"firstName": q.FirstName, "lastName": q.LastName} {
		if s := strings.TrimSpace(v); s == "" || len(s) > 100 {
			bad[field] = "is required (at most 100 characters)"
		}
	}
	if !e164.MatchString(q.Phone) {
		bad["phone"] = "must be an E.164 number such as +33612345678"
	}
	if needCenter && strings.TrimSpace(q.CenterID) == "" {
		bad["centerId"] = "is required"
	}
	if len(bad) > 0 {
		return invalid(bad)
	}
	// The registration must also make a user.registered the catalog's schema accepts (its email
	// format is stricter than net/mail), or the address would be claimed by a user never created.
	ev := codecs.UserRegistered{UserID: "validation", Email: q.Email, FirstName: q.FirstName, LastName: q.LastName,
		Phone: q.Phone, Role: tables.RoleCustomer}
	if _, err := codecs.New(ev, time.Now()); err != nil {
		for _, field := range []string{"email", "firstName", "lastName", "phone"} {
			if strings.Contains(err.Error(), "/data/"+field) {
				bad[field] = "is not accepted by the event catalog's schema"
			}
		}
		if len(bad) == 0 {
			bad["email"] = "is not accepted by the event catalog's schema"
		}
		return invalid(bad)
	}
	return nil
}

// userView is a user as the API shows it: never the password hash.
type userView struct {
	UserID    string `json:"userId"`
	Email     string `json:"email"`
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
	Phone     string `json:"phone"`
	Role      string `json:"role"`
	Status    string `json:"status"`
	CenterID  string `json:"centerId,omitempty"`
}

func viewOf(u tables.User) userView {
	return userView{UserID: u.UserID, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName, Phone: u.Phone,
		Role: u.Role, Status: u.Status, CenterID: u.CenterID}
}

func (s *Server) register(w http.ResponseWriter, r *http.Request) error {
	return s.createAccount(w, r, tables.RoleCustomer)
}

func (s *Server) createInspector(w http.ResponseWriter, r *http.Request) error {
	return s.createAccount(w, r, tables.RoleInspector)
}

// createAccount answers the two ways accounts are made: customers register themselves and
// verify their address; inspectors are made by an admin, for a center, verified at once.
func (s *Server) createAccount(w http.ResponseWriter, r *http.Request, role string) error {
	var q registerRequest
	if err := decodeBody(r, &q); err != nil {
		return err
	}
	inspector := role == tables.RoleInspector
	if err := q.validate(inspector); err != nil {
		return err
	}
	if inspector {
		if _, ok := s.Centers.Get(q.CenterID); !ok {
			return invalid(map[string]string{"centerId": "is not a known center"})
		}
	}
	u, status, err := s.createUser(r.Context(), q, role, inspector)
	if err != nil {
		return err
	}
	if status == http.StatusAccepted {
		return accepted(w, registrationLocation(u.UserID, q.Email))
	}
	writeJSON(w, http.StatusCreated, u)
	return nil
}

var errEmailTaken = errorf(http.StatusConflict, "email_taken", "an account with this email address exists")

// CreateUser runs the registration saga: claim the address (keyed by it, so concurrent claims
// are serialised and the first wins), then wait until the users processor has created the user.
// It answers 201 with the user, 409 email_taken, or 202 when the wait runs out first.
func (s *Server) createUser(ctx context.Context, q registerRequest, role string, verified bool) (userView, int, error) {
	email := tables.NormalizeEmail(q.Email)
	if _, taken, err := s.Emails.Get(email); err != nil {
		return userView{}, 0, err
	} else if taken {
		return userView{}, 0, errEmailTaken
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(q.Password), s.BcryptCost)
	if err != nil {
		return userView{}, 0, err
	}
	reg := tables.Registration{UserID: uuid.NewString(), Email: q.Email, FirstName: strings.TrimSpace(q.FirstName),
		LastName: strings.TrimSpace(q.LastName), Phone: q.Phone, Role: role, PasswordHash: string(hash),
		CenterID: strings.TrimSpace(q.CenterID), Verified: verified}
	if err := s.EmailClaims.EmitSync(email, tables.ClaimEmail{Registration: reg}); err != nil {
		return userView{}, 0, err
	}
	u, status, err := s.registrationOutcome(ctx, reg.UserID, email)
	if err != nil {
		return userView{}, 0, err
	}
	return u, status, nil
}

// registrationOutcome waits (within the request's wait) for the saga's outcome.
func (s *Server) registrationOutcome(ctx context.Context, userID, email string) (userView, int, error) {
	ctx, cancel := context.WithTimeout(ctx, s.Wait)
	defer cancel()
	claim, _, err := s.Emails.WaitFor(ctx, email, func(c tables.EmailClaim, found bool) bool { return found })
	if errors.Is(err, context.DeadlineExceeded) {
		return userView{UserID: userID}, http.StatusAccepted, nil
	} else if err != nil {
		return userView{}, 0, err
	}
	if claim.UserID != userID {
		return userView{}, 0, errEmailTaken
	}
	u, _, err := s.Users.WaitFor(ctx, userID, func(_ tables.User, found bool) bool { return found })
	if errors.Is(err, context.DeadlineExceeded) {
		return userView{UserID: userID}, http.StatusAccepted, nil
	} else if err != nil {
		return userView{}, 0, err
	}
	return viewOf(u), http.StatusCreated, nil
}

func registrationLocation(userID, email string) string {
	return "/v1/auth/registrations/" + url.PathEscape(userID) + "?email=" + url.QueryEscape(email)
}

// registration is where a 202 registration is polled: 200 once created, 409 if another
// registration won the address, 202 while still in flight.
func (s *Server) registration(w http.ResponseWriter, r *http.Request) error {
	userID := mux.Vars(r)["id"]
	email := tables.NormalizeEmail(r.URL.Query().Get("email"))
	claim, found, err := s.Emails.Get(email)
	if err != nil {
		return err
	}
	if !found {
		// Only the address's own claim tells this registration's fate; without it, nothing
		// about the user is shown (this endpoint needs no token).
		return accepted(w, registrationLocation(userID, email))
	}
	if claim.UserID != userID {
		return errEmailTaken
	}
	u, ok, err := s.Users.Get(userID)
	if err != nil {
		return err
	}
	if !ok {
		return accepted(w, registrationLocation(userID, email))
	}
	writeJSON(w, http.StatusOK, viewOf(u))
	return nil
}

func accepted(w http.ResponseWriter, location string) error {
	w.Header().Set("Location", location)
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "pending", "location": location})
	return nil
}

var errBadToken = errorf(http.StatusBadRequest, "invalid_token", "the verification token is not valid")

func (s *Server) verify(w http.ResponseWriter, r *http.Request) error {
	token := r.URL.Query().Get("token")
	if r.Method == http.MethodPost {
		var q struct {
			Token string `json:"token"`
		}
		if err := decodeBody(r, &q); err != nil {
			return err
		}
		token = q.Token
	}
	if token == "" {
		return invalid(map[string]string{"token": "is required"})
	}
	var p signed.VerifyEmail
	if err := s.Signer.Verify(token, signed.PurposeVerifyEmail, &p); err != nil {
		return errBadToken
	}
	u, found, err := s.Users.Get(p.UserID)
	if err != nil {
		return err
	}
	if !found {
		return errBadToken
	}
	if !u.Verified() {
		if err := s.UserCommands.EmitSync(p.UserID, tables.UserCommand{Verify: &tables.VerifyUser{UserID: p.UserID}}); err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(r.Context(), s.Wait)
		defer cancel()
		if _, _, err := s.Users.WaitFor(ctx, p.UserID, func(u tables.User, _ bool) bool { return u.Verified() }); err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				return accepted(w, "/v1/auth/verify?token="+url.QueryEscape(token))
			}
			return err
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"userId": p.UserID, "status": tables.StatusVerified})
	return nil
}

var errInvalidCredentials = errorf(http.StatusUnauthorized, "invalid_credentials", "wrong email or password")

// dummyHash is compared against when the account does not exist, so a login takes as long for an
// unknown address as for a wrong password and does not reveal which addresses are registered.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("no account has this password"), bcrypt.DefaultCost)

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	var q struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if err := decodeBody(r, &q); err != nil {
		return err
	}
	if q.Email == "" || q.Password == "" {
		return invalid(map[string]string{"email": "is required", "password": "is required"})
	}
	u, found, err := s.userByEmail(q.Email)
	if err != nil {
		return err
	}
	hash := dummyHash
	if found {
		hash = []byte(u.PasswordHash)
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(q.Password)) != nil || !found {
		return errInvalidCredentials
	}
	tok, exp, err := s.Auth.Issue(Principal{UserID: u.UserID, Role: u.Role})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"token": tok, "expiresAt": exp.Format(time.RFC3339), "userId": u.UserID, "role": u.Role})
	return nil
}

func (s *Server) userByEmail(email string) (tables.User, bool, error) {
	claim, found, err := s.Emails.Get(tables.NormalizeEmail(email))
	if err != nil || !found {
		return tables.User{}, false, err
	}
	return s.Users.Get(claim.UserID)
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) error {
	u, found, err := s.Users.Get(principal(r).UserID)
	if err != nil {
		return err
	}
	if !found {
		return errUnauthenticated
	}
	writeJSON(w, http.StatusOK, viewOf(u))
	return nil
}

// ErrBadAdmin means --admin-email or --admin-password is not acceptable: no retry helps.
var ErrBadAdmin = errors.New("admin account settings are invalid")

// CreateAdmin creates the admin account of --admin-email at start; an address already taken
// (an earlier start made it) is left as it is.
func (s *Server) CreateAdmin(ctx context.Context, email, password string) error {
	q := registerRequest{Email: email, Password: password, FirstName: "Admin", LastName: "SmartAutoCheck", Phone: "+10000000000"}
	if err := q.validate(false); err != nil {
		return fmt.Errorf("%w: %v", ErrBadAdmin, err)
	}
	_, status, err := s.createUser(ctx, q, tables.RoleAdmin, true)
	if errors.Is(err, errEmailTaken) {
		return nil
	}
	if err == nil && status == http.StatusAccepted {
		return errors.New("admin account: still being created")
	}
	return err
}
