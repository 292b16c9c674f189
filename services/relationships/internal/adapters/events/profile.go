package events

import (
	"context"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/ce"
	registrationv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	"github.com/partnerhub/onboarding/services/relationships/internal/app"
	"github.com/partnerhub/onboarding/services/relationships/internal/domain"
)

// HandlerProfileChangeApplied is the inbox name of the profile change handler.
const HandlerProfileChangeApplied = "on_profile_change_applied"

// OnProfileChangeApplied projects a partner's verified legal name and
// address after a registration profile change: the consent view shows the
// provider as it is verified now. An older fact never overwrites a newer one
// (domain.Partner.ApplyRegistration).
func (h Handlers) OnProfileChangeApplied(ctx context.Context, ev ce.Event) error {
	var p registrationv1.ProfileChangeApplied
	if err := ev.DecodeData(&p, false); err != nil {
		return err
	}
	ctx = auth.WithPrincipal(ctx, registrationService)
	a := p.Address.Normalized
	_, err := h.App.ApplyPartnerRegistered(ctx, registrationService, app.PartnerRegistered{
		PartnerID: p.PartnerID, Market: p.Market, LegalName: p.LegalName.Normalized,
		Address: domain.Address{Line1: a.Line1, Line2: a.Line2, City: a.City, Region: a.Region,
			PostalCode: a.PostalCode, Country: p.Market},
		OccurredAt: p.AppliedAt,
	})
	return err
}
