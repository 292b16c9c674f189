package app

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/emailownership/internal/domain"
)

// ResendCommand names what to resend: exactly one of EnrollmentID (from the
// portal, authenticated) or Email (the public "I did not get the mail" form).
type ResendCommand struct {
	EnrollmentID string
	Email        string
}

// ResendResult is the same for known and unknown targets.
type ResendResult struct {
	RetryAfter    time.Duration // > 0 only when throttled
	NextAllowedAt time.Time
}

// Resend mails a fresh challenge, superseding every earlier one of the
// enrollment(s). The throttle (cooldown, daily quota) is keyed by what the
// caller typed — the enrollment id or a keyed hash of the address — and is
// consulted and recorded whether or not that target exists, so neither the
// answer nor its retry_after tells a caller whether an address or enrollment
// is known. Throttled calls fail with CodeResendThrottled (KindRateLimited,
// RetryAfterSeconds) and also return the result.
//
// By enrollment the caller must hold a partner or operator role; an
// enrollment the caller cannot see is silently skipped like an unknown one.
// By address no principal is needed.
func (a *App) Resend(ctx context.Context, p auth.Principal, cmd ResendCommand) (ResendResult, error) {
	byID, byMail := strings.TrimSpace(cmd.EnrollmentID) != "", strings.TrimSpace(cmd.Email) != ""
	if byID == byMail {
		return ResendResult{}, apperr.Invalid(CodeInvalidCommand, "give exactly one of enrollment id or e-mail")
	}
	var key, addr string
	if byID {
		if err := p.Require(auth.RolePartnerAdmin, auth.RolePartnerUser, auth.RoleOperator); err != nil {
			return ResendResult{}, err
		}
		key = enrollmentKey(cmd.EnrollmentID)
	} else {
		var err error
		if addr, err = domain.NormalizeAddress(cmd.Email); err != nil {
			return ResendResult{}, translate(err)
		}
		key = "address:" + a.d.Hasher.AddressKey(addr)
	}

	var dec domain.Decision
	err := a.d.Throttles.UpdateThrottle(ctx, key, func(t *domain.ResendThrottle) error {
		dec = t.Allow(a.d.Policy, a.d.Clock.Now())
		return nil
	})
	if err != nil {
		return ResendResult{}, fmt.Errorf("resend throttle: %w", err)
	}
	res := ResendResult{RetryAfter: dec.RetryAfter, NextAllowedAt: dec.NextAllowedAt}
	if !dec.Allowed {
		// retry_after in whole seconds, as the Retry-After header and the
		// platform's rate-limit problem have it.
		secs := int(math.Ceil(res.RetryAfter.Seconds()))
		e := apperr.New(apperr.KindRateLimited, CodeResendThrottled, "too many resends; retry later").
			With("retry_after", secs).With("next_allowed_at", res.NextAllowedAt)
		e.RetryAfterSeconds = secs
		return res, e
	}

	if byID {
		return res, a.resendOne(ctx, cmd.EnrollmentID, func(o *domain.Ownership) bool {
			return actsFor(p, o)
		})
	}
	ids, err := a.d.Repo.EnrollmentsByAddress(ctx, addr)
	if err != nil {
		return res, fmt.Errorf("find enrollments by address: %w", err)
	}
	for _, id := range ids {
		err := a.resendOne(ctx, id, func(o *domain.Ownership) bool { return o.Recipient().Address == addr })
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

// resendOne resends for one enrollment when eligible; "unknown", "not
// visible", "already confirmed", "never opened", "partner not in good
// standing", "address removed after a dispute", "profile change
// withdrawn" (the last two were answered 500) and "a report of the mail
// awaits a verifier" are all silent no-ops.
func (a *App) resendOne(ctx context.Context, enrollmentID string, eligible func(*domain.Ownership) bool) error {
	is, err := a.issue()
	if err != nil {
		return err
	}
	err = a.d.Repo.Update(ctx, enrollmentID, func(o *domain.Ownership) error {
		if !eligible(o) {
			return errSkip
		}
		return o.Resend(is, a.d.Policy, a.d.Clock.Now())
	})
	switch {
	case err == nil, errors.Is(err, errSkip), errors.Is(err, ErrNotFound),
		errors.Is(err, domain.ErrAlreadyConfirmed), errors.Is(err, domain.ErrNoChallenge), errors.Is(err, domain.ErrPartnerHeld),
		errors.Is(err, domain.ErrAddressRemoved), errors.Is(err, domain.ErrWithdrawn), errors.Is(err, domain.ErrDisputeOpen):
		return nil
	}
	return fmt.Errorf("resend enrollment %s: %w", enrollmentID, err)
}

var errSkip = errors.New("skip")

func enrollmentKey(id string) string { return "enrollment:" + id }
