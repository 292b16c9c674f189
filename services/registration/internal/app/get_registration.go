package app

import (
	"context"
	"github.com/partnerhub/onboarding/pkg/ids"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// GetRegistration returns a partner with its registration as submitted and
// normalized. Callers who may not see the partner get registration.partner_not_found.
func (a *App) GetRegistration(ctx context.Context, p auth.Principal, partnerID string) (RegistrationView, error) {
	s, err := a.load(ctx, p, partnerID)
	if err != nil {
		return RegistrationView{}, err
	}
	return registrationView(s), nil
}

// GetPartner returns a partner's IDs and statuses (no submitted facts).
func (a *App) GetPartner(ctx context.Context, p auth.Principal, partnerID string) (PartnerView, error) {
	s, err := a.load(ctx, p, partnerID)
	if err != nil {
		return PartnerView{}, err
	}
	return partnerView(s), nil
}

func (a *App) load(ctx context.Context, p auth.Principal, partnerID string) (domain.PartnerSnapshot, error) {
	if p.IsZero() {
		return domain.PartnerSnapshot{}, p.Require(auth.KnownRoles...)
	}
	id, err := parseID[domain.PartnerID]("partner_id", ids.Partner, partnerID)
	if err != nil {
		return domain.PartnerSnapshot{}, err
	}
	partner, err := a.repo.Get(ctx, id)
	if err != nil {
		return domain.PartnerSnapshot{}, translate(err, "get partner "+string(id))
	}
	if !actsFor(p, partner) {
		return domain.PartnerSnapshot{}, notFoundPartner()
	}
	return seenBy(p, partner.Snapshot()), nil
}
