// Package views is SmartAutoCheck's HTTP side: reads served from Goka views of the group tables,
// commands emitted to the processors' input topics, authentication, and operations endpoints.
package views

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
)

// maxBody bounds a request body; no command of the API comes near it.
const maxBody = 1 << 20

// apiError is the API's error body: {"error": {"code", "message", "details"}}.
type apiError struct {
	Status  int            `json:"-"`
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details"`
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func errorf(status int, code, message string) *apiError {
	return &apiError{Status: status, Code: code, Message: message, Details: map[string]any{}}
}

// invalid is a 400 validation_failed naming each bad field.
func invalid(fields map[string]string) *apiError {
	e := errorf(http.StatusBadRequest, "validation_failed", "some fields are missing or invalid")
	for k, v := range fields {
		e.Details[k] = v
	}
	return e
}

var (
	errUnauthenticated = errorf(http.StatusUnauthorized, "unauthenticated", "a valid bearer token is required")
	errForbidden       = errorf(http.StatusForbidden, "forbidden", "your role may not do this")
	errNotFound        = errorf(http.StatusNotFound, "not_found", "no such resource")
	errNotReady        = errorf(http.StatusServiceUnavailable, "not_ready", "the service is still recovering its state")
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers with an API error; anything that is not one is an internal failure, whose
// cause goes to the log and never to the client.
func writeError(w http.ResponseWriter, r *http.Request, err error, log func(string, ...any)) {
	var ae *apiError
	if !errors.As(err, &ae) {
		log("request failed", "method", r.Method, "path", r.URL.Path, "error", err)
		ae = errorf(http.StatusInternalServerError, "internal", "the request could not be completed")
	}
	writeJSON(w, ae.Status, map[string]any{"error": ae})
}

// decodeBody reads a JSON object into v: a body that is not JSON is 400 invalid_json.
func decodeBody(r *http.Request, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return errorf(http.StatusBadRequest, "invalid_json", "the body could not be read")
	}
	if len(b) > maxBody {
		return errorf(http.StatusRequestEntityTooLarge, "body_too_large", "the body is larger than 1 MiB")
	}
	if err := json.Unmarshal(b, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return invalid(map[string]string{te.Field: "must be a " + te.Type.String()})
		}
		return errorf(http.StatusBadRequest, "invalid_json", "the body is not a valid JSON object")
	}
	return nil
}
