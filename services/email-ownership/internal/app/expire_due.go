package app

import (
	"context"
	"fmt"
	"time"

	"github.com/partnerhub/onboarding/services/emailownership/internal/domain"
)

// expireBatch bounds one DueForExpiry query.
const expireBatch = 100

// ExpireDue expires every pending challenge whose deadline is at or before
// now and returns how many it expired. A poller drives it; because deadlines
// live in storage, expiry survives restarts. Internal trigger: no principal.
func (a *App) ExpireDue(ctx context.Context, now time.Time) (int, error) {
	n := 0
	for {
		ids, err := a.d.Repo.DueForExpiry(ctx, now, expireBatch)
		if err != nil {
			return n, fmt.Errorf("list due challenges: %w", err)
		}
		changed := 0
		for _, id := range ids {
			err := a.d.Repo.Update(ctx, id, func(o *domain.Ownership) error {
				if o.ExpireDue(now) {
					changed++
				}
				return nil
			})
			if err != nil {
				return n + changed, fmt.Errorf("expire enrollment %s: %w", id, err)
			}
		}
		n += changed
		// A full batch that changed nothing would loop forever on a broken
		// index; stop and let the next tick retry.
		if len(ids) < expireBatch || changed == 0 {
			return n, nil
		}
	}
}
