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
// back to active, they are reinstated. Replays and older changes are ignored.
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
	return applied, nil
}
