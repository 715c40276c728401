package hromadabot

import (
	"errors"
	"fmt"
)

// Error codes shared by every layer. Only the edges (chat replies, CLI, HTTP)
// turn a code into something a person reads.
const (
	EINTERNAL  = "internal"
	EINVALID   = "invalid"
	ENOTFOUND  = "not_found"
	ECONFLICT  = "conflict"
	EFORBIDDEN = "forbidden"
)

// Error is a domain error. Reason is a stable machine key (for example
// "value_out_of_range") that the locales turn into a message in the user's
// language; Message is the English one-line text used by the CLI and logs.
type Error struct {
	Code    string
	Reason  string
	Message string
	// Field names the input at fault, when there is one ("value", "indicator").
	Field string
}

// Error implements the error interface.
func (e *Error) Error() string {
	return e.Message
}

// Errorf returns an *Error with the given code and reason and a formatted message.
func Errorf(code, reason, format string, args ...any) *Error {
	return &Error{Code: code, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// FieldErrorf is Errorf for an EINVALID error about one named input field.
func FieldErrorf(field, reason, format string, args ...any) *Error {
	e := Errorf(EINVALID, reason, format, args...)
	e.Field = field
	return e
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorReason returns the reason key of the first *Error in err's chain, or "".
func ErrorReason(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

// ErrorMessage returns the message of the first *Error in err's chain; any
// other error is reported as "internal error" so that details of the
// infrastructure never reach a user.
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
