// Package domain holds the rules of e-mail ownership: an enrollment's
// challenges (a link token and a 6-digit code, stored only as hashes), their
// life cycle, the resend throttle, and the domain events they record.
// It is pure Go: no database, broker or transport imports.
package domain

import (
	"errors"
	"fmt"
)

// Sentinel errors. The app layer maps them to coded application errors.
var (
	ErrInvalidEnrollment = errors.New("enrollment id, partner id and program are required")
	ErrInvalidAddress    = errors.New("e-mail address is not a bare addr-spec")
	ErrInvalidLanguage   = errors.New("language must be ja or en")
	ErrInvalidPolicy     = errors.New("invalid policy")
	ErrInvalidIssue      = errors.New("issued challenge lacks an id or hashes")
	ErrMalformedToken    = errors.New("token is malformed")
	ErrMalformedCode     = errors.New("code must be exactly 6 digits")
	ErrNoChallenge       = errors.New("no challenge matches")
	ErrExpired           = errors.New("challenge expired")
	ErrAlreadyUsed       = errors.New("challenge already used")
	ErrSuperseded        = errors.New("challenge superseded by a newer one")
	// ErrContactChanged: the challenge was superseded by one to another
	// address (the partner's contact changed): its recipient will get no
	// newer mail to use, and has nothing left to do. It is an ErrSuperseded.
	ErrContactChanged   = fmt.Errorf("%w: the partner's contact address changed", ErrSuperseded)
	ErrLocked           = errors.New("challenge locked after too many wrong codes")
	ErrWrongCode        = errors.New("wrong code")
	ErrAlreadyConfirmed = errors.New("ownership already confirmed")
	ErrWeakPepper       = errors.New("pepper must be at least 32 bytes")
	ErrCancelled        = errors.New("challenge cancelled: the partner is not in good standing")
	ErrPartnerHeld      = errors.New("the partner is not in good standing")
	ErrWithdrawn        = errors.New("challenge withdrawn: its profile change was replaced or rejected")
	// ErrDisputeOpen: the address's owner reported the mail ("this wasn't
	// me") and a verifier has not decided yet; it is not mailed again
	// meanwhile.
	ErrDisputeOpen = errors.New("a report of the mail awaits a verifier's decision")
)
