package app

import (
	"context"
	"fmt"
	"time"

	"github.com/partnerhub/onboarding/services/relationships/internal/domain"
)

// timerBatch bounds one DueIDs query.
const timerBatch = 100

// FireDueTimersResult counts what a run did.
type FireDueTimersResult struct {
	Relationships int // relationships ticked
}

// FireDueTimers fires every timer due at now: request reminders and expiry,
// grant expiring, expiry and auto-extension. A poller drives it; because due
// times are stored (NextDueAt) and Tick is idempotent, timers survive restarts
// and several pollers may run at once. It stops at the first storage error.
func (a *App) FireDueTimers(ctx context.Context, now time.Time) (FireDueTimersResult, error) {
	var res FireDueTimersResult
	seen := map[string]bool{}
	for {
		ids, err := a.rels.DueIDs(ctx, now, timerBatch)
		if err != nil {
			return res, fmt.Errorf("due relationships: %w", err)
		}
		progressed := false
		for _, id := range ids {
			if seen[id] { // ticked already in this run; another poller may hold it
				continue
			}
			seen[id] = true
			progressed = true
			err := a.rels.Update(ctx, id, func(r *domain.Relationship) error {
				r.Tick(now, a.policy)
				return nil
			})
			if err != nil {
				return res, fmt.Errorf("tick relationship %s: %w", id, err)
			}
			res.Relationships++
		}
		if len(ids) < timerBatch || !progressed {
			return res, nil
		}
	}
}
