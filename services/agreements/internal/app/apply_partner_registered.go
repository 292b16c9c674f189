package app

import (
	"context"
	"strings"

	"github.com/partnerhub/onboarding/services/agreements/internal/domain"
)

// ApplyPartnerRegisteredCommand is the registration event's content.
type ApplyPartnerRegisteredCommand struct {
	Registration domain.Registration
}

// ApplyPartnerRegisteredResult says what the event changed.
type ApplyPartnerRegisteredResult struct {
	ProjectionChanged bool
	// Network is the partner-network acceptance recorded from the event's
	// affirmation (or the existing one on a replay); nil without affirmation.
	Network *AcceptanceResult
}

// ApplyPartnerRegistered updates the partner projection from a registration
// event and records the network-agreement affirmation it carries. Both steps
// are idempotent, so a redelivery after a failure between them converges.
type ApplyPartnerRegistered struct {
	d       Deps
	network RecordNetworkAffirmation
}

// Handle applies cmd.
func (uc ApplyPartnerRegistered) Handle(ctx context.Context, cmd ApplyPartnerRegisteredCommand) (ApplyPartnerRegisteredResult, error) {
	r := cmd.Registration
	id := strings.TrimSpace(r.PartnerID)
	if id == "" {
		return ApplyPartnerRegisteredResult{}, translate(&domain.ValidationError{Problems: []domain.Problem{{Field: "partner_id", Err: domain.ErrInvalidPartnerID}}}, "")
	}
	var res ApplyPartnerRegisteredResult
	err := uc.d.Partners.Upsert(ctx, id, func(p *domain.Partner) error {
		changed, err := p.Register(r)
		res.ProjectionChanged = changed
		return err
	})
	if err != nil {
		return res, translate(wrapf(err, "register partner %s", id), "store partner")
	}
	if r.Affirmation == nil {
		return res, nil
	}
	n, err := uc.network.Handle(ctx, RecordNetworkAffirmationCommand{PartnerID: id})
	if err != nil {
		return res, err
	}
	res.Network = &n
	return res, nil
}
