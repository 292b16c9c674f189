package app

import (
	"context"
	"github.com/partnerhub/onboarding/pkg/ids"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// ApplyDocumentsSatisfied forgets verification's documents request on a
// check: a document was accepted for review, the domain was proven, or a
// verifier decided without one. Callers: the verification consumer or an
// operator.
func (a *App) ApplyDocumentsSatisfied(ctx context.Context, p auth.Principal, partnerID, check string) error {
	if err := p.Require(auth.RoleVerifier, auth.RoleOperator); err != nil {
		return err
	}
	id, err := parseID[domain.PartnerID]("partner_id", ids.Partner, partnerID)
	if err != nil {
		return err
	}
	return a.repo.ClearDocumentsDue(ctx, id, check)
}
