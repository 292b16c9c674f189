package app

import (
	"context"
	"fmt"
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
	Reason     string // registration's reason of the change (e.g. agreement_reacceptance_overdue)
	OccurredAt time.Time
}

// ApplyEnrollmentStatusChanged folds the fact into the partner projection.
// It may arrive before the partner's registration fact; replayed and stale
// facts are ignored. It reports whether the projection changed.
//
// An enrollment that leaves active (since round 44: a new version of its
// program agreement not accepted in time) holds the grants of the
// relationships where the partner is on that program's side, as a standing
// hold does (AccessSuspended with the change's reason); active again, each
// is reinstated once both parties may hold access.
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
	var changed, wasActive, everActive bool
	var self domain.Partner
	err := a.partners.Upsert(ctx, ev.PartnerID, func(pt *domain.Partner) error {
		if pt.ID == "" {
			pt.ID = ev.PartnerID
		}
		prev, known := pt.Enrollments[program]
		wasActive, everActive = known && prev.Status == domain.EnrollmentActive, known && (prev.WasActive || prev.Status == domain.EnrollmentActive)
		var err error
		changed, err = pt.ApplyEnrollmentStatus(program, domain.EnrollmentStatus(ev.Status), ev.OccurredAt)
		self = *pt
		return err
	})
	if err != nil || !changed {
		return changed, mapErr(err)
	}
	// Only an enrollment that had been active can hold grants, or have had
	// them held: its first activation (an onboarding) reads nothing more.
	if nowActive := self.Enrollments[program].Status == domain.EnrollmentActive; nowActive != wasActive && everActive && self.Registered {
		if err := a.followEnrollment(ctx, self, program, nowActive, ev.Reason); err != nil {
			return true, err
		}
	}
	return true, nil
}

// followEnrollment suspends (the enrollment left active) or reinstates (it
// is active again) the grants of self's open relationships on program's
// side.
func (a *App) followEnrollment(ctx context.Context, self domain.Partner, program domain.Program, active bool, reason string) error {
	side, list := domain.SideReseller, a.rels.ListByReseller
	if program == domain.ProgramIndirectProvider {
		side, list = domain.SideProvider, a.rels.ListByProvider
	}
	rels, err := list(ctx, self.ID)
	if err != nil {
		return err
	}
	if reason == "" {
		reason = "enrollment_not_active"
	}
	now := a.clock()
	for _, r := range rels {
		if r.State != domain.StateActive || r.Grant == nil {
			continue
		}
		bothMay := false
		if active {
			if bothMay, err = a.bothMayHoldAccess(ctx, self, side, r); err != nil {
				return err
			}
			if !bothMay {
				continue
			}
		}
		err := a.rels.Update(ctx, r.ID, func(r *domain.Relationship) error {
			if active {
				r.ReinstateAccess(now, a.policy)
			} else {
				r.SuspendAccess(side, []string{reason}, now)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("apply the %s enrollment of %s to relationship %s: %w", program, self.ID, r.ID, err)
		}
	}
	return nil
}
