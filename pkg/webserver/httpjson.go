package webserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/minimost/minimost/pkg/chat"
)

// maxJSONBody is the largest JSON request body accepted.
const maxJSONBody = 64 << 10

// statusOf maps a domain error code to its HTTP status: the one place this happens.
func statusOf(code string) int {
	switch code {
	case chat.EInvalid:
		return http.StatusBadRequest
	case chat.EUnauthorized:
		return http.StatusUnauthorized
	case chat.EForbidden:
		return http.StatusForbidden
	case chat.ENotFound:
		return http.StatusNotFound
	case chat.EConflict:
		return http.StatusConflict
	case chat.ETooLarge:
		return http.StatusRequestEntityTooLarge
	case chat.ETooMany:
		return http.StatusTooManyRequests
	case chat.EUnavailable:
		return http.StatusServiceUnavailable
	case chat.EMediaType:
		return http.StatusUnsupportedMediaType
	}
	return http.StatusInternalServerError
}

type errorBody struct {
	Code       string `json:"code"`
	Message    string `json:"message"`
	RetryAfter int    `json:"retry_after,omitempty"`
}

// diskFull reports whether err is a full disk (from SQLite or the file system): the server
// cannot take writes for now, which is a 503, not a bug.
func diskFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) ||
		strings.Contains(err.Error(), "database or disk is full") || strings.Contains(err.Error(), "SQLITE_FULL")
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if chat.ErrorCode(err) == chat.EInternal && diskFull(err) {
		s.Logger.Error("disk full", "method", r.Method, "path", r.URL.Path, "err", err)
		err = chat.Errorf(chat.EUnavailable, "the server's disk is full; nothing was saved, try again later")
	}
	code := chat.ErrorCode(err)
	var ce *chat.Error
	body := errorBody{Code: code, Message: chat.ErrorMessage(err)}
	if errors.As(err, &ce) && ce.RetryAfter > 0 {
		body.RetryAfter = ce.RetryAfter
		w.Header().Set("Retry-After", strconv.Itoa(ce.RetryAfter))
	}
	if code == chat.EInternal {
		s.Logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeJSON(w, statusOf(code), map[string]any{"error": body})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if v != nil {
		json.NewEncoder(w).Encode(v)
	}
}

// decodeJSON reads a JSON request body into v: application/json only, at most maxJSONBody,
// valid UTF-8, no unknown fields, nothing after the object.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/json" {
		return chat.Errorf(chat.EMediaType, "send the body as application/json")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJSONBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return chat.Errorf(chat.ETooLarge, "request body is larger than %d bytes", maxJSONBody)
		}
		return chat.Errorf(chat.EInvalid, "cannot read the request body")
	}
	if !utf8.Valid(body) {
		return chat.Errorf(chat.EInvalid, "request body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return chat.Errorf(chat.EInvalid, "malformed JSON: %s", jsonReason(err))
	}
	// Anything but white space after the value (even a stray '}') is refused.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return chat.Errorf(chat.EInvalid, "malformed JSON: unexpected data after the object")
	}
	return nil
}

func jsonReason(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return "field " + strconv.Quote(te.Field) + " has the wrong type"
	}
	if errors.Is(err, io.EOF) {
		return "empty body"
	}
	return err.Error()
}
