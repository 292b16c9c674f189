package app

import (
	"context"
	"time"
)

// MinRetention is the least the store keeps an event: the feed promises
// that a consumer down for up to 30 days catches up.
const MinRetention = 30 * 24 * time.Hour

// PruneBatch bounds the events one prune deletes (one transaction).
const PruneBatch = 5000

// Prune deletes what is older than the retention (events by arrival, dead
// letters by when they arrived). It returns now when it deleted a full
// batch (more is due), else zero: come back after the job's period.
func (a *App) Prune(ctx context.Context, now time.Time) (time.Time, error) {
	n, err := a.Store.Prune(ctx, now.Add(-a.Retention), PruneBatch)
	if err != nil {
		return time.Time{}, err
	}
	if n == PruneBatch {
		return now, nil
	}
	return time.Time{}, nil
}
