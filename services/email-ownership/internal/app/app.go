// Package app holds the use cases of the e-mail ownership service and the
// ports they need. Authorization happens here; storage, transport and crypto
// adapters plug in through the ports.
package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"
	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/sealedbox"
	"github.com/partnerhub/onboarding/services/emailownership/internal/domain"
)

// ErrNotFound is what repository adapters return for a missing row.
var ErrNotFound = errors.New("not found")

// Repository stores Ownership aggregates, one per enrollment.
//
// Contract for adapters: Update and Upsert load the aggregate under a row
// lock (SELECT ... FOR UPDATE in one transaction), run fn, and — only if fn
// returns nil — save the aggregate and write o.PullEvents() to the outbox in
// that same transaction. Because every confirmation, wrong-code count and
// resend of an enrollment goes through this lock, two concurrent
// confirmations serialize and exactly one wins; the other sees "already used".
type Repository interface {
	// Upsert runs fn on the enrollment's aggregate, or on nil when there is
	// none yet; fn returns the aggregate to save (nil: save nothing). An
	// adapter that loses an insert race must retry under the lock.
	Upsert(ctx context.Context, enrollmentID string, fn func(o *domain.Ownership) (*domain.Ownership, error)) error
	// Update runs fn on an existing aggregate; ErrNotFound when absent.
	Update(ctx context.Context, enrollmentID string, fn func(o *domain.Ownership) error) error
	// Get reads an aggregate without locking; ErrNotFound when absent.
	Get(ctx context.Context, enrollmentID string) (*domain.Ownership, error)
	// GetByTokenHash reads, without locking, the aggregate owning a
	// challenge with this token hash (any state); ErrNotFound when none.
	// One statement: the token is found by its indexed hash.
	GetByTokenHash(ctx context.Context, tokenHash []byte) (*domain.Ownership, error)
	// UpdateByTokenHash is Update on the aggregate owning a challenge with
	// this token hash, found and locked by one statement; ErrNotFound when
	// none.
	UpdateByTokenHash(ctx context.Context, tokenHash []byte, fn func(o *domain.Ownership) error) error
	// EnrollmentsByAddress lists enrollments whose latest challenge was sent
	// to the (normalized) address.
	EnrollmentsByAddress(ctx context.Context, address string) ([]string, error)
	// EnrollmentsByPartner lists the partner's enrollments that have an
	// aggregate, in id order.
	EnrollmentsByPartner(ctx context.Context, partnerID string) ([]string, error)
	// RecordContact keeps r as the partner's contact named by the
	// registration event of partner sequence seq (a contact change applied,
	// the change's number in r.NamedBy), unless an event of a later
	// sequence named one already.
	RecordContact(ctx context.Context, partnerID string, seq uint64, r domain.Recipient) error
	// LatestContact is the partner's contact RecordContact kept and the
	// sequence of its event; ok false when none was kept.
	LatestContact(ctx context.Context, partnerID string) (r domain.Recipient, seq uint64, ok bool, err error)
	// DueForExpiry lists up to limit enrollments whose pending challenge's
	// deadline (Ownership.NextDeadline) is at or before now. The adapter keeps
	// the deadline in an indexed column: this is the durable timer.
	DueForExpiry(ctx context.Context, now time.Time, limit int) ([]string, error)
}

// ThrottleRepository stores resend throttles by key, with the same locking
// contract as Repository.Update (a row per key, created on first use).
type ThrottleRepository interface {
	// UpdateThrottle runs fn on the key's throttle (a fresh one if absent)
	// under a row lock and saves it when fn returns nil.
	UpdateThrottle(ctx context.Context, key string, fn func(t *domain.ResendThrottle) error) error
	// GetThrottle reads a throttle; a fresh one (no sends) if absent.
	GetThrottle(ctx context.Context, key string) (*domain.ResendThrottle, error)
}

// Clock tells the time.
type Clock interface{ Now() time.Time }

// Sealer encrypts the secret for the notifier (pkg/sealedbox.Sealer).
type Sealer interface {
	Seal(plaintext []byte) ([]byte, error)
}

// Deps are the collaborators of the App.
type Deps struct {
	Repo      Repository
	Throttles ThrottleRepository
	Clock     Clock
	Random    io.Reader // a CSPRNG: crypto/rand.Reader in production
	Sealer    Sealer
	Hasher    domain.Hasher // keyed with the server-side pepper
	Policy    domain.Policy
}

// App exposes the use cases. Safe for concurrent use.
type App struct{ d Deps }

// New checks the dependencies and returns the App.
func New(d Deps) (*App, error) {
	var errs []error
	if d.Repo == nil || d.Throttles == nil || d.Clock == nil || d.Random == nil || d.Sealer == nil {
		errs = append(errs, errors.New("app: repo, throttles, clock, random and sealer are required"))
	}
	if !d.Hasher.Keyed() {
		errs = append(errs, errors.New("app: hasher is required"))
	}
	if err := d.Policy.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &App{d: d}, nil
}

// issue generates a challenge id and secret, seals the secret for the
// notifier and returns only what the aggregate may keep.
func (a *App) issue() (domain.Issued, error) {
	id, err := uuid.NewRandomFromReader(a.d.Random)
	if err != nil {
		return domain.Issued{}, fmt.Errorf("challenge id: %w", err)
	}
	s, err := domain.NewSecret(a.d.Random)
	if err != nil {
		return domain.Issued{}, err
	}
	plain, err := json.Marshal(sealedbox.Payload{V: sealedbox.PayloadVersion, ChallengeID: id.String(), Token: s.Token, Code: s.Code})
	if err != nil {
		return domain.Issued{}, err
	}
	sealed, err := a.d.Sealer.Seal(plain)
	clear(plain)
	if err != nil {
		return domain.Issued{}, fmt.Errorf("seal secret: %w", err)
	}
	return domain.Issued{
		ChallengeID:  id.String(),
		TokenHash:    domain.HashToken(s.Token),
		CodeMAC:      a.d.Hasher.CodeMAC(id.String(), s.Code),
		SealedSecret: sealed,
	}, nil
}

// Stable error codes of this service.
const (
	CodeInvalidCommand      = "emailownership.invalid_command"
	CodeTokenMalformed      = "emailownership.token_malformed"
	CodeCodeMalformed       = "emailownership.code_malformed"
	CodeCodeWrong           = "emailownership.code_wrong"
	CodeChallengeUnknown    = "emailownership.challenge_unknown"
	CodeChallengeExpired    = "emailownership.challenge_expired"
	CodeChallengeUsed       = "emailownership.challenge_used"
	CodeChallengeSuperseded = "emailownership.challenge_superseded"
	CodeContactChanged      = "emailownership.contact_changed"
	CodeChallengeLocked     = "emailownership.challenge_locked"
	CodeResendThrottled     = "emailownership.resend_throttled"
	CodeNotFound            = "emailownership.not_found"
	CodeChallengeCancelled  = "emailownership.challenge_cancelled"
	CodeChallengeWithdrawn  = "emailownership.challenge_withdrawn"
	CodeNotInGoodStanding   = "emailownership.partner_not_in_good_standing"
	CodeInvalidEnrollmentID = "emailownership.invalid_enrollment_id"
	// CodePartnerUnknown: an event about a partner none of whose
	// enrollments this service has heard of (yet).
	CodePartnerUnknown = "emailownership.partner_unknown"
)

// translate turns domain and port errors into coded application errors.
func translate(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := apperr.As(err); ok {
		return err
	}
	var e *apperr.Error
	switch {
	case errors.Is(err, domain.ErrMalformedToken):
		e = apperr.Invalid(CodeTokenMalformed, "the link is malformed", apperr.FieldError{Field: "token", Code: "token.malformed", Message: "not a token"})
	case errors.Is(err, domain.ErrMalformedCode):
		e = apperr.Invalid(CodeCodeMalformed, "the code must be 6 digits", apperr.FieldError{Field: "code", Code: "code.malformed", Message: "must be exactly 6 digits"})
	case errors.Is(err, domain.ErrWrongCode):
		e = apperr.Invalid(CodeCodeWrong, "the code is wrong", apperr.FieldError{Field: "code", Code: "code.wrong", Message: "wrong code"})
	case errors.Is(err, domain.ErrNoChallenge), errors.Is(err, ErrNotFound):
		e = apperr.NotFound(CodeChallengeUnknown, "no such challenge")
	case errors.Is(err, domain.ErrExpired):
		e = apperr.Conflict(CodeChallengeExpired, "the challenge has expired; request a new mail")
	case errors.Is(err, domain.ErrAlreadyUsed):
		e = apperr.Conflict(CodeChallengeUsed, "the challenge was already used")
	case errors.Is(err, domain.ErrContactChanged): // a kind of ErrSuperseded
		e = apperr.Conflict(CodeContactChanged, "the partner's contact address changed: this address is no longer asked to confirm")
	case errors.Is(err, domain.ErrSuperseded):
		e = apperr.Conflict(CodeChallengeSuperseded, "a newer mail replaced this one")
	case errors.Is(err, domain.ErrLocked):
		e = apperr.Conflict(CodeChallengeLocked, "too many wrong codes; request a new mail")
	case errors.Is(err, domain.ErrCancelled):
		e = apperr.Conflict(CodeChallengeCancelled, "the challenge was cancelled: the partner is not in good standing")
	case errors.Is(err, domain.ErrWithdrawn):
		e = apperr.Conflict(CodeChallengeWithdrawn, "the challenge was withdrawn: the profile change that gave this address was replaced by a newer one or rejected")
	case errors.Is(err, domain.ErrAddressRemoved):
		e = apperr.Conflict(CodeAddressRemoved, "the address was removed from the enrollment after a reviewed dispute; the enrollment needs another contact address")
	case errors.Is(err, domain.ErrPartnerHeld):
		e = apperr.Conflict(CodeNotInGoodStanding, "the partner is not in good standing; e-mail confirmation resumes when it is active again")
	case errors.Is(err, domain.ErrInvalidAddress):
		e = apperr.Invalid(CodeInvalidCommand, "invalid e-mail address", apperr.FieldError{Field: "email", Code: "email.invalid", Message: "not an e-mail address"})
	case errors.Is(err, domain.ErrInvalidLanguage):
		e = apperr.Invalid(CodeInvalidCommand, "invalid language", apperr.FieldError{Field: "language", Code: "language.unsupported", Message: "must be ja or en"})
	case errors.Is(err, domain.ErrInvalidEnrollment):
		e = apperr.Invalid(CodeInvalidCommand, err.Error())
	default:
		return err
	}
	e.Err = err
	return e
}

// actsFor: an upstream system reads the proofs of the partners it
// registered only (auth.Principal.ActsForRecord).
func actsFor(p auth.Principal, o *domain.Ownership) bool {
	return p.ActsForRecord(o.Ref().PartnerID, o.Ref().RegisteredBy)
}
