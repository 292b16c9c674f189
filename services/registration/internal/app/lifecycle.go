package app

import (
	"context"
	"github.com/partnerhub/onboarding/pkg/ids"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// LifecycleResult is what a lifecycle use case returns: the partner after the
// change and whether anything changed (false for a repeated fact, so that a
// redelivered event is harmless and emits nothing).
type LifecycleResult struct {
	Changed bool        `json:"changed"`
	Partner PartnerView `json:"partner"`
}

// change parses the partner ID, checks that p may see it, and applies fn
// inside the repository's transaction.
func (a *App) change(ctx context.Context, p auth.Principal, partnerID, op string,
	fn func(ctx context.Context, partner *domain.Partner, now time.Time) (bool, error)) (LifecycleResult, error) {
	id, err := parseID[domain.PartnerID]("partner_id", ids.Partner, partnerID)
	if err != nil {
		return LifecycleResult{}, err
	}
	var res LifecycleResult
	err = a.repo.Update(ctx, id, func(ctx context.Context, partner *domain.Partner) error {
		if !actsFor(p, partner) {
			return notFoundPartner()
		}
		changed, err := fn(ctx, partner, a.now())
		if err != nil {
			return err
		}
		res = LifecycleResult{Changed: changed, Partner: partnerView(seenBy(p, partner.Snapshot()))}
		return nil
	})
	if err != nil {
		return LifecycleResult{}, translate(err, op+" "+string(id))
	}
	return res, nil
}
