package app

import (
	"context"
	"errors"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// registrationItself is the actor of the changes the service makes on its
// own schedule (audit log, events' authid).
var registrationItself = auth.Principal{Kind: auth.KindService, Subject: "registration", Roles: []auth.Role{auth.RoleOperator}}

// MarkInactivePartners makes inactive every approved partner without
// activity for Standing.InactivityPeriod (up to Standing.Batch per run) and
// returns when the next one may become due (zero: none is approved and
// active). The inactivity job runs it.
func (a *App) MarkInactivePartners(ctx context.Context, now time.Time) (next time.Time, err error) {
	period := a.Standing.InactivityPeriod
	cutoff := now.AddDate(0, -period.Months, 0).Add(-period.Duration)
	ids, err := a.repo.InactivityCandidates(ctx, cutoff, max(a.Standing.Batch, 1))
	if err != nil {
		return time.Time{}, err
	}
	ctx = auth.WithPrincipal(ctx, registrationItself)
	for _, id := range ids {
		err := a.repo.Update(ctx, id, func(_ context.Context, p *domain.Partner) error {
			_, err := p.MarkInactive(period, a.now())
			return err
		})
		if err != nil && !errors.Is(err, domain.ErrPartnerNotFound) {
			return time.Time{}, err
		}
	}
	if len(ids) == max(a.Standing.Batch, 1) {
		return now, nil // more may be due
	}
	oldest, err := a.repo.OldestActivity(ctx)
	if err != nil || oldest.IsZero() {
		return time.Time{}, err
	}
	return period.After(oldest), nil
}
