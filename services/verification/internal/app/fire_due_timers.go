package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/partnerhub/onboarding/services/verification/internal/domain"
)

// DueCases finds cases whose TimerAt is at or before now, oldest first.
type DueCases interface {
	DueCaseIDs(ctx context.Context, now time.Time, limit int) ([]string, error)
}

// FireResult counts what one FireDueTimers call did.
type FireResult struct {
	Cases  int
	Events int
}

// FireDueTimers runs the durable timers due at now: lease expiry, overdue
// escalation, applicant reminders. A poller drives it; the timers live in
// the stored cases, so they survive restarts, and the aggregate marks each
// one fired, so each fires once. One failing case does not stop the others.
func (a *App) FireDueTimers(ctx context.Context, now time.Time) (FireResult, error) {
	ids, err := a.Due.DueCaseIDs(ctx, now, a.cfg.TimerBatch)
	if err != nil {
		return FireResult{}, fmt.Errorf("find due cases: %w", err)
	}
	var res FireResult
	var errs []error
	for _, id := range ids {
		err := a.Cases.Update(ctx, id, func(c *domain.Case) error {
			res.Events += c.FireTimers(now, a.rules(c.Market))
			return nil
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("fire timers of case %s: %w", id, err))
			continue
		}
		res.Cases++
	}
	return res, errors.Join(errs...)
}
