package app

import (
	"context"
	"time"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// ChangeMarketCmd asks to move a partner to another market.
type ChangeMarketCmd struct {
	PartnerID string
	Market    string
}

// ChangeMarket exists so that every edge refuses a market change the
// same way: the market is fixed at registration, so any other market is
// registration.market_immutable (Conflict) and the same market is a no-op.
// Callers: upstream systems, operators, the partner's own admin.
func (a *App) ChangeMarket(ctx context.Context, p auth.Principal, cmd ChangeMarketCmd) (LifecycleResult, error) {
	if err := p.Require(auth.RoleUpstreamSystem, auth.RoleOperator, auth.RolePartnerAdmin); err != nil {
		return LifecycleResult{}, err
	}
	market, ok := domain.ParseCountry(cmd.Market)
	if !ok {
		return LifecycleResult{}, apperr.Invalid(CodeInvalidInput, "invalid market", apperr.FieldError{Field: "market",
			Code: domain.CodeCountryInvalid, Message: "must be an ISO 3166-1 alpha-2 country code"})
	}
	return a.change(ctx, p, cmd.PartnerID, "change market", func(_ context.Context, partner *domain.Partner, _ time.Time) (bool, error) {
		return false, partner.ChangeMarket(market)
	})
}
