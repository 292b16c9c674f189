package app

import (
	"context"
	"github.com/partnerhub/onboarding/pkg/ids"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/normalize"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// EmailConfirmed is the e-mail ownership service's confirmation of one
// enrollment's address.
type EmailConfirmed struct {
	PartnerID    string
	EnrollmentID string
	Address      string
	ConfirmedAt  time.Time // zero: now
}

// ApplyEmailConfirmed records the confirmation on the enrollment: one that
// waited for it (pending_email_confirmation) is qualified, or active when
// its agreement is already accepted. Callers: the e-mail consumer or an
// operator. A repeat changes nothing.
func (a *App) ApplyEmailConfirmed(ctx context.Context, p auth.Principal, cmd EmailConfirmed) (LifecycleResult, error) {
	if err := p.Require(auth.RoleOperator); err != nil {
		return LifecycleResult{}, err
	}
	enrollment, err := parseID[domain.EnrollmentID]("enrollment_id", ids.Enrollment, cmd.EnrollmentID)
	if err != nil {
		return LifecycleResult{}, err
	}
	return a.change(ctx, p, cmd.PartnerID, "confirm e-mail", func(_ context.Context, partner *domain.Partner, now time.Time) (bool, error) {
		at := cmd.ConfirmedAt.UTC().Truncate(time.Microsecond)
		if at.IsZero() {
			at = now
		}
		partner.SawActivity(now)
		address := normalize.Text(cmd.Address)
		// A pending profile change's new contact address confirms itself on
		// the membership enrollment, which confirmed the old one before.
		profile := partner.ConfirmProfileEmail(enrollment, address, at, now)
		changed, err := partner.ConfirmEnrollmentEmail(enrollment, address, at, now)
		return changed || profile, err
	})
}
