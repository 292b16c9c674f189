package app

import (
	"context"
	"errors"
	"time"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/emailownership/internal/domain"
)

// StatusResult is the state of an enrollment's current challenge. Zero
// times mean "did not happen".
type StatusResult struct {
	EnrollmentID   string
	PartnerID      string
	Program        string
	State          domain.State
	Address        string
	OpenedAt       time.Time
	ExpiresAt      time.Time
	ConfirmedAt    time.Time
	DisputedAt     time.Time
	LockedAt       time.Time
	ExpiredAt      time.Time
	WrongCodesLeft int
	DisputeOpen    bool
	NextResendAt   time.Time // earliest accepted resend by enrollment
	// MailFailure is why the current challenge's mail will not arrive
	// (RecordMailFailure); nil when the notifier has not given it up.
	MailFailure *domain.MailFailure
	// ProfileChange is the number of the profile change whose new
	// address the current challenge proves (0: another challenge).
	ProfileChange int
	// Standing is the earlier confirmation that stays the enrollment's
	// while the current challenge has not confirmed (nil: none).
	Standing *domain.Challenge
}

// Status reads the state of an enrollment's challenge. Partner users see
// their own partner's enrollments; staff roles see all; anything else is
// not found.
func (a *App) Status(ctx context.Context, p auth.Principal, enrollmentID string) (StatusResult, error) {
	if err := p.Require(auth.RolePartnerAdmin, auth.RolePartnerUser, auth.RoleOperator, auth.RoleVerifier, auth.RoleUpstreamSystem); err != nil {
		return StatusResult{}, err
	}
	o, err := a.d.Repo.Get(ctx, enrollmentID)
	if errors.Is(err, ErrNotFound) || (err == nil && !actsFor(p, o)) {
		return StatusResult{}, apperr.NotFound(CodeNotFound, "no such enrollment")
	}
	if err != nil {
		return StatusResult{}, err
	}
	c, ok := o.Current()
	if !ok {
		return StatusResult{}, apperr.NotFound(CodeNotFound, "no such enrollment")
	}
	th, err := a.d.Throttles.GetThrottle(ctx, enrollmentKey(enrollmentID))
	if err != nil {
		return StatusResult{}, err
	}
	_, disputed := o.DisputeOpen()
	ref := o.Ref()
	var standing *domain.Challenge
	if s, ok := o.StandingConfirmation(); ok {
		standing = &s
	}
	return StatusResult{
		EnrollmentID: ref.EnrollmentID, PartnerID: ref.PartnerID, Program: ref.Program,
		State: c.State, Address: c.Address, OpenedAt: c.OpenedAt, ExpiresAt: c.ExpiresAt,
		ConfirmedAt: c.ConfirmedAt, DisputedAt: c.DisputedAt, LockedAt: c.LockedAt, ExpiredAt: c.ExpiredAt,
		WrongCodesLeft: o.WrongCodesLeft(a.d.Policy), DisputeOpen: disputed,
		NextResendAt: th.NextAllowed(a.d.Policy, a.d.Clock.Now()), MailFailure: mailFailure(c),
		ProfileChange: c.ProfileChange, Standing: standing,
	}, nil
}

// mailFailure is the failure of c's mail while it matters: not once the
// address is confirmed (with the code of a copy that did arrive).
func mailFailure(c domain.Challenge) *domain.MailFailure {
	if c.State == domain.StateConfirmed {
		return nil
	}
	return c.MailFailure
}
