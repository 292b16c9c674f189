package domain

import (
	"errors"
	"strings"

	"github.com/partnerhub/onboarding/pkg/apperr"
)

// Category classifies a domain error so that the app layer can map it to an
// application error kind without a table of every sentinel.
type Category int

const (
	CategoryInvalid  Category = iota + 1 // the input is wrong
	CategoryNotFound                     // the addressed thing does not exist
	CategoryConflict                     // the request clashes with current state
)

// Error is a domain sentinel with the stable code that the edges expose.
type Error struct {
	Category Category
	Code     string
	Message  string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func invalid(code, msg string) *Error  { return &Error{CategoryInvalid, code, msg} }
func notFound(code, msg string) *Error { return &Error{CategoryNotFound, code, msg} }
func conflict(code, msg string) *Error { return &Error{CategoryConflict, code, msg} }

// Input validation sentinels.
var (
	// ErrRequired is a member that is missing or blank: the code every
	// service gives a missing field, at that field.
	ErrRequired               = invalid(apperr.CodeFieldRequired, "is required")
	ErrInvalidVersionID       = invalid("agreements.invalid_version_id", "a version id is 3-100 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit")
	ErrInvalidProgram         = invalid("agreements.invalid_program", "a program is a lower-case identifier such as indirect_reseller")
	ErrInvalidMarket          = invalid("agreements.invalid_market", "a market is an ISO 3166-1 alpha-2 country code")
	ErrInvalidTextHash        = invalid("agreements.invalid_text_hash", "the text hash is the SHA-256 of the exact text as 64 hexadecimal digits")
	ErrInvalidTextURL         = invalid("agreements.invalid_text_url", "the text URL must be an absolute http(s) URL without credentials or control, invisible or bidirectional-control characters, its host a DNS name (an internationalised one in its xn-- form) or an IP address, its port 1-65535")
	ErrInvalidLanguage        = invalid("agreements.invalid_language", "languages are BCP 47 tags such as en or ja-JP")
	ErrInvalidName            = invalid("agreements.invalid_name", "the agreement name is at most 200 characters, on one line, without control, invisible or bidirectional-control characters")
	ErrInvalidPolicy          = invalid("agreements.invalid_policy", "the version policy is auto_effective or requires_reacceptance")
	ErrInvalidWindow          = invalid("agreements.invalid_reacceptance_window", "requires_reacceptance needs a positive re-acceptance window of at most 10 years; auto_effective takes none")
	ErrInvalidPartnerID       = invalid("agreements.invalid_partner_id", "the partner id is required")
	ErrInvalidLocationID      = invalid("agreements.invalid_location_id", "the location id is required")
	ErrInvalidAcceptor        = invalid("agreements.invalid_acceptor", "the acceptor's user id is required")
	ErrInvalidDecision        = invalid("agreements.invalid_decision", "a verification decision needs an id, an outcome (approved, rejected, revoked) and a time")
	ErrInvalidStanding        = invalid("agreements.invalid_standing", "a standing change needs a status, a time and an event id")
	ErrAcceptedAtInFuture     = invalid("agreements.accepted_at_in_future", "the acceptance time cannot be in the future")
	ErrVersionProgramMismatch = invalid("agreements.version_program_mismatch", "the version belongs to another program")
)

// State sentinels.
var (
	ErrVersionNotFound         = notFound("agreements.unknown_version", "no such agreement version")
	ErrPartnerNotFound         = notFound("agreements.unknown_partner", "no such partner")
	ErrAcceptanceNotFound      = notFound("agreements.not_signed", "the agreement is not signed")
	ErrRequirementNotFound     = notFound("agreements.unknown_requirement", "no such re-acceptance requirement")
	ErrNoVersionInEffect       = conflict("agreements.no_version_in_effect", "no published version of this agreement is in effect for the market at that time")
	ErrVersionExists           = conflict("agreements.version_immutable", "a different version with this id is already published; a published version is never edited: publish another")
	ErrVersionRetired          = conflict("agreements.version_retired", "the version is retired")
	ErrVersionNotForMarket     = conflict("agreements.version_not_for_market", "the version does not apply to the partner's market")
	ErrMarketMismatch          = conflict("agreements.market_mismatch", "the market is not the partner's market")
	ErrMarketChanged           = conflict("agreements.market_immutable", "a partner's market can never change")
	ErrLocationChanged         = conflict("agreements.location_immutable", "the partner is registered with another location id")
	ErrLocationTaken           = conflict("agreements.location_taken", "another partner is registered with this location id")
	ErrNoResellerEnrollment    = conflict("agreements.no_reseller_enrollment", "the partner has no indirect reseller enrollment")
	ErrNotEnrolled             = conflict("agreements.no_enrollment", "the partner is not enrolled in the agreement's program")
	ErrVerificationNotApproved = conflict("agreements.verification_not_approved", "the partner's verification is not approved")
	ErrVerificationRevoked     = conflict("agreements.verification_revoked", "the partner's verification was revoked; the acceptance is suspended")
	ErrReacceptanceOverdue     = conflict("agreements.reacceptance_overdue", "a required re-acceptance is overdue; the acceptance is no longer effective")
	ErrNotInGoodStanding       = conflict("agreements.partner_not_in_good_standing", "the partner is not in good standing (suspended, inactive or closed); its agreements are suspended and it can accept none")
	// ErrAcceptanceRace is returned by an acceptance repository when another
	// acceptance for the same key was appended after the caller read the
	// current one; the caller re-reads and decides again.
	ErrAcceptanceRace = conflict("agreements.concurrent_acceptance", "another acceptance for the same agreement was recorded concurrently")
)

// Problem is one invalid input field.
type Problem struct {
	Field string
	Err   *Error
}

// ValidationError lists every invalid field of one input, so that a caller
// can fix them all at once. errors.Is matches each problem's sentinel.
type ValidationError struct {
	Problems []Problem
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.Field + ": " + p.Err.Code
	}
	return "invalid input: " + strings.Join(parts, ", ")
}

// Unwrap exposes the sentinels to errors.Is.
func (e *ValidationError) Unwrap() []error {
	errs := make([]error, len(e.Problems))
	for i, p := range e.Problems {
		errs[i] = p.Err
	}
	return errs
}

// problems collects field problems while a constructor validates.
type problems []Problem

func (ps *problems) add(field string, err error) {
	if err == nil {
		return
	}
	var de *Error
	if !errors.As(err, &de) {
		de = invalid("agreements.invalid_input", err.Error())
	}
	*ps = append(*ps, Problem{Field: field, Err: de})
}

func (ps problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	return &ValidationError{Problems: ps}
}
