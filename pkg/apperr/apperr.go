// Package apperr is the one application-error type shared by every service.
// Use cases return *Error (or wrap one); the edges map its Kind to an HTTP
// status (pkg/httpx) or to a dead-letter reason (pkg/bus). Domain packages keep
// their own sentinel errors; the app layer translates them into *Error.
package apperr

import (
	"errors"
	"fmt"
	"strconv"
)

// Kind classifies an error for the edges. It is deliberately small.
type Kind int

const (
	KindInternal        Kind = iota // a bug or an unexpected dependency failure: retryable on the bus
	KindInvalid                     // the input is wrong: never retry
	KindNotFound                    // the addressed thing does not exist (or the caller may not know it does)
	KindConflict                    // the request clashes with current state (duplicate, illegal transition)
	KindUnauthenticated             // no or bad credentials
	KindForbidden                   // a known caller without the right
	KindRateLimited                 // too many requests; see RetryAfter
	KindUnavailable                 // a dependency is down; retry later
)

func (k Kind) String() string {
	switch k {
	case KindInvalid:
		return "invalid"
	case KindNotFound:
		return "not_found"
	case KindConflict:
		return "conflict"
	case KindUnauthenticated:
		return "unauthenticated"
	case KindForbidden:
		return "forbidden"
	case KindRateLimited:
		return "rate_limited"
	case KindUnavailable:
		return "unavailable"
	default:
		return "internal"
	}
}

// FieldError names one problem with one input field, machine-readably.
type FieldError struct {
	Field   string `json:"field"`   // JSON pointer-ish path, e.g. "contact.email"
	Code    string `json:"code"`    // stable code, e.g. "email.free_mail_domain"
	Message string `json:"message"` // for humans, English
}

// Error is an application error with a stable code.
type Error struct {
	Kind    Kind
	Code    string // stable, dotted, e.g. "registration.duplicate_entity"
	Message string
	Fields  []FieldError
	// Details are extra members for the problem document / dead-letter entry.
	Details map[string]any
	// RetryAfterSeconds is set with KindRateLimited and KindUnavailable.
	RetryAfterSeconds int
	Err               error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// New builds an error of a kind.
func New(kind Kind, code, message string) *Error {
	return &Error{Kind: kind, Code: code, Message: message}
}

// Invalid builds a validation error carrying per-field problems.
func Invalid(code, message string, fields ...FieldError) *Error {
	return &Error{Kind: KindInvalid, Code: code, Message: message, Fields: fields}
}

// NotFound builds a not-found error.
func NotFound(code, message string) *Error { return New(KindNotFound, code, message) }

// Conflict builds a conflict error.
func Conflict(code, message string) *Error { return New(KindConflict, code, message) }

// Forbidden builds a forbidden error.
func Forbidden(code, message string) *Error { return New(KindForbidden, code, message) }

// With adds a detail member and returns e for chaining.
func (e *Error) With(key string, value any) *Error {
	if e.Details == nil {
		e.Details = map[string]any{}
	}
	e.Details[key] = value
	return e
}

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var ae *Error
	if errors.As(err, &ae) {
		return ae, true
	}
	return nil, false
}

// KindOf returns the kind of err: KindInternal unless an *Error is in its chain.
func KindOf(err error) Kind {
	if ae, ok := As(err); ok {
		return ae.Kind
	}
	return KindInternal
}

// Permanent reports whether retrying err can never succeed (bad input, a
// conflict, a refusal). Bus consumers dead-letter permanent errors at once.
func Permanent(err error) bool {
	switch KindOf(err) {
	case KindInvalid, KindNotFound, KindConflict, KindForbidden, KindUnauthenticated:
		return true
	}
	return false
}

// Codes of a query parameter a use case refuses; the HTTP layer refuses a
// malformed one with the same code (httpx), so that every service answers
// a bad query one way.
const (
	// CodeInvalidQueryParameter is the problem's code.
	CodeInvalidQueryParameter = "request.invalid_query_parameter"
	// CodeFieldRequired is the field code of a field or parameter that is
	// missing (registration's, the first published).
	CodeFieldRequired = "field.required"
	// CodeLimitOutOfRange is the field code of a page size (limit) that is
	// not an integer within its bounds.
	CodeLimitOutOfRange = "limit.out_of_range"
)

// ParseLimit reads a list's page size from its query parameter: def when
// raw is empty, else an integer from 1 to max; otherwise the field error
// every list answers with (LimitError).
func ParseLimit(raw string, def, max int) (int, *FieldError) {
	if raw == "" {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > max {
		fe := LimitError(raw, max)
		return 0, &fe
	}
	return n, nil
}

// LimitError is the field error of a page size raw that is not an integer
// from 1 to max (query.limit, limit.out_of_range).
func LimitError(raw string, max int) FieldError {
	return FieldError{Field: "query.limit", Code: CodeLimitOutOfRange,
		Message: fmt.Sprintf("must be an integer from 1 to %d, not %q", max, raw)}
}
