package chat

import (
	"errors"
	"fmt"
)

// Error codes. Each edge translates them once: HTTP status in webserver, gRPC code in admin.
const (
	EInvalid      = "invalid"                // bad input from the caller
	ENotFound     = "not_found"              // missing, or not visible to the caller
	EConflict     = "conflict"               // already exists, or state does not allow it
	EUnauthorized = "unauthorized"           // not logged in, or wrong credentials
	EForbidden    = "forbidden"              // logged in but not allowed
	ETooMany      = "too_many"               // rate limited
	ETooLarge     = "too_large"              // body or file over a limit
	EMediaType    = "unsupported_media_type" // the body is not of the content type required
	EUnavailable  = "unavailable"            // temporarily cannot serve (shutting down, disk full)
	EInternal     = "internal"               // a bug or an I/O failure
)

// Error is a domain error: a code from the list above and a message safe to show a user.
type Error struct {
	Code    string
	Message string
	// RetryAfter is set with ETooMany: seconds until the caller may try again.
	RetryAfter int
}

// Error implements the error interface.
func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EInternal for any other
// non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the message of the first *Error in err's chain, or a generic text for
// any other error (whose details belong in the log, not in front of a user).
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
