package app

import (
	"context"
	"strings"
	"time"

	"github.com/partnerhub/onboarding/services/agreements/internal/domain"
)

// ApplyStandingChangedCommand is registration's standing change.
type ApplyStandingChangedCommand struct {
	PartnerID string
	Status    string // active, suspended, inactive, closed
	Reasons   []string
	ChangedAt time.Time
	EventID   string
}

// ApplyStandingChanged updates the standing that gates acceptance: a
// partner that leaves good standing has its current gated acceptances
// suspended (the records stay; AcceptanceSuspended, outcome = the new
// status) and may accept nothing (agreements.partner_not_in_good_standing);
// back to active, they are reinstated; closed, its open re-acceptance
// requirements are cancelled. Replays and older changes are ignored.
type ApplyStandingChanged struct{ d Deps }

// Handle applies cmd; the caller holds the partner's row lock.
func (uc ApplyStandingChanged) Handle(ctx context.Context, cmd ApplyStandingChangedCommand) (bool, error) {
	id := strings.TrimSpace(cmd.PartnerID)
	if id == "" {
		return false, translate(&domain.ValidationError{Problems: []domain.Problem{{Field: "partner_id", Err: domain.ErrInvalidPartnerID}}}, "")
	}
	all, err := uc.d.Acceptances.ListByPartner(ctx, id)
	if err != nil {
		return false, translate(wrapf(err, "list acceptances of %s", id), "list acceptances")
	}
	current := domain.CurrentOf(all)
	var applied bool
	err = uc.d.Partners.Upsert(ctx, id, func(p *domain.Partner) error {
		var err error
		applied, err = p.ApplyStanding(domain.Standing{Status: cmd.Status, Reasons: cmd.Reasons, ChangedAt: cmd.ChangedAt,
			EventID: cmd.EventID}, current)
		return err
	})
	if err != nil {
		return false, translate(wrapf(err, "apply standing of %s", id), "store partner")
	}
	if applied && cmd.Status == domain.StandingClosed {
		if err := cancelOpen(ctx, uc.d, id, cmd.ChangedAt); err != nil {
			return false, err
		}
	}
	return applied, nil
}

// cancelOpen cancels the closed partner's open re-acceptance requirements
// (since round 45; before, a closed partner was still asked to accept a
// version, mailed when it was overdue, and its enrollment moved).
func cancelOpen(ctx context.Context, d Deps, partnerID string, at time.Time) error {
	open, err := d.Requirements.ListOpenByPartner(ctx, partnerID)
	if err != nil {
		return translate(wrapf(err, "list requirements of %s", partnerID), "list requirements")
	}
	_, err = cancelAll(ctx, d, open, domain.CancelPartnerClosed, at)
	return err
}

// cancelAll cancels each requirement still open (reason: why), each with
// its ReacceptanceCancelled event, and counts those it cancelled.
func cancelAll(ctx context.Context, d Deps, open []*domain.Requirement, reason string, at time.Time) (int, error) {
	n := 0
	for _, r := range open {
		err := d.Requirements.Update(ctx, r.ID(), func(r *domain.Requirement) error {
			if r.Cancel(reason, at) {
				n++
			}
			return nil
		})
		if err != nil {
			return n, translate(wrapf(err, "cancel requirement %s", r.ID()), "cancel requirement")
		}
	}
	return n, nil
}
