package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// SubmitRegistration validates and normalizes a registration and creates the
// partner with its global and location IDs (pending) and its enrollments
// (pending_verification); the repository writes RegistrationSubmitted with it.
//
// Callers: upstream systems (HTTP and intake events) and operators. Errors:
// registration.invalid_input with every field problem; registration.duplicate_entity
// (Conflict) with details "matched_on" (identity key kinds) and
// "duplicate_attempt_id", which the applicant quotes in FileDuplicateClaim.
func (a *App) SubmitRegistration(ctx context.Context, p auth.Principal, in domain.RegistrationInput) (RegistrationView, error) {
	if err := p.Require(auth.RoleUpstreamSystem, auth.RoleOperator); err != nil {
		return RegistrationView{}, err
	}
	now := a.now()
	market, _ := domain.ParseCountry(in.Market)
	reg, err := domain.NormalizeRegistration(in, a.Policies().For(market), now)
	if err != nil {
		return RegistrationView{}, translate(err, "submit registration")
	}
	// The company's accounts that let go of its identity are named for the
	// reviewers (a look-up before the insert: a closure committing meanwhile
	// is missed, which only leaves its account unnamed).
	if reg.EarlierAccounts, err = a.repo.EarlierAccounts(ctx, reg.Normalized.Market, reg.Normalized.IdentityKeys()); err != nil {
		return RegistrationView{}, translate(err, "find earlier accounts")
	}
	for range maxIDAttempts {
		partner := domain.NewPartner(reg, a.ids, p.Subject, now)
		err = a.repo.Create(ctx, partner)
		var dup *domain.DuplicateError
		switch {
		case err == nil:
			return registrationView(seenBy(p, partner.Snapshot())), nil
		case errors.Is(err, domain.ErrIDCollision):
			continue
		case errors.As(err, &dup):
			return RegistrationView{}, a.refuseDuplicate(ctx, dup, reg, p, now)
		default:
			return RegistrationView{}, translate(err, "create partner")
		}
	}
	return RegistrationView{}, fmt.Errorf("create partner: %w %d times in a row", err, maxIDAttempts)
}

// refuseDuplicate records the attempt, so that the applicant has a way
// forward (a claim), and builds the conflict. The existing partner's ID is
// never shown to the applicant.
func (a *App) refuseDuplicate(ctx context.Context, dup *domain.DuplicateError, reg domain.Registration, p auth.Principal, now time.Time) error {
	var attempt *domain.DuplicateAttempt
	var err error
	for range maxIDAttempts {
		attempt = domain.NewDuplicateAttempt(a.ids.NewDuplicateAttemptID(), dup, reg, p.Subject, now)
		if err = a.repo.RecordDuplicateAttempt(ctx, attempt); !errors.Is(err, domain.ErrIDCollision) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("record duplicate attempt: %w", err)
	}
	matched := make([]string, len(attempt.MatchedOn))
	for i, k := range attempt.MatchedOn {
		matched[i] = string(k)
	}
	return apperr.Conflict(CodeDuplicateEntity,
		"this company is already registered in this market; if you are that company, file a duplicate claim with the duplicate_attempt_id").
		With("matched_on", matched).
		With("duplicate_attempt_id", string(attempt.ID))
}
