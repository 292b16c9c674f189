package app

import (
	"context"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/relationships/internal/domain"
)

// EnrollmentStatusChanged is the fact "a partner's enrollment in a program
// changed status" (active once the program agreement is accepted). Facts
// about programs this service does not track are ignored.
type EnrollmentStatusChanged struct {
	PartnerID  string // global ID
	Program    string
	Status     string
	OccurredAt time.Time
}

// ApplyEnrollmentStatusChanged folds the fact into the partner projection.
// It may arrive before the partner's registration fact; replayed and stale
// facts are ignored. It reports whether the projection changed.
func (a *App) ApplyEnrollmentStatusChanged(ctx context.Context, p auth.Principal, ev EnrollmentStatusChanged) (bool, error) {
	if err := requireBus(p); err != nil {
		return false, err
	}
	program := domain.Program(ev.Program)
	if !program.Valid() {
		return false, nil // e.g. partner_network: not ours to track
	}
	if !domain.IsGlobalID(ev.PartnerID) {
		return false, mapErr(domain.ErrInvalidPartner)
	}
	var changed bool
	err := a.partners.Upsert(ctx, ev.PartnerID, func(pt *domain.Partner) error {
		if pt.ID == "" {
			pt.ID = ev.PartnerID
		}
		var err error
		changed, err = pt.ApplyEnrollmentStatus(program, domain.EnrollmentStatus(ev.Status), ev.OccurredAt)
		return err
	})
	return changed, mapErr(err)
}
