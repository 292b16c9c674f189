package app

import (
	"context"
	"github.com/partnerhub/onboarding/pkg/ids"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// LinkLocationCmd asks to link one of the partner's location IDs to its
// enrollment in Program (indirect_reseller; empty means indirect_reseller).
type LinkLocationCmd struct {
	PartnerID  string
	Program    string
	LocationID string
}

// LinkLocationToEnrollment links a location ID to the partner's indirect
// reseller enrollment; the location must be active and in the enrollment's
// country. Callers: the partner's own admin or an operator (others get
// registration.partner_not_found). Linking the linked location again is a no-op.
func (a *App) LinkLocationToEnrollment(ctx context.Context, p auth.Principal, cmd LinkLocationCmd) (LifecycleResult, error) {
	if err := p.Require(auth.RolePartnerAdmin, auth.RoleOperator); err != nil {
		return LifecycleResult{}, err
	}
	if cmd.Program == "" {
		cmd.Program = string(domain.ProgramIndirectReseller)
	}
	program, err := parseProgram(cmd.Program)
	if err != nil {
		return LifecycleResult{}, err
	}
	loc, err := parseID[domain.LocationID]("location_id", ids.Location, cmd.LocationID)
	if err != nil {
		return LifecycleResult{}, err
	}
	return a.change(ctx, p, cmd.PartnerID, "link location", func(_ context.Context, partner *domain.Partner, now time.Time) (bool, error) {
		return partner.LinkLocation(program, loc, now)
	})
}
