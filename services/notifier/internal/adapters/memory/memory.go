// Package memory is an in-memory delivery repository for tests and local
// runs. It keeps the app.Repository contract with one mutex standing in for
// the Postgres row lock; pulled events are kept in order for inspection.
package memory

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/partnerhub/onboarding/services/notifier/internal/app"
	"github.com/partnerhub/onboarding/services/notifier/internal/domain"
)

// Repository implements app.Repository.
type Repository struct {
	mu     sync.Mutex
	rows   map[string]domain.DeliverySnapshot
	events []domain.Event
}

// New returns an empty repository.
func New() *Repository { return &Repository{rows: map[string]domain.DeliverySnapshot{}} }

// Create implements app.Repository.
func (r *Repository) Create(_ context.Context, d *domain.Delivery) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.rows[d.ID()]; ok {
		return app.ErrDuplicate
	}
	r.save(d)
	return nil
}

// Update implements app.Repository.
func (r *Repository) Update(_ context.Context, id string, fn func(*domain.Delivery) error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.rows[id]
	if !ok {
		return app.ErrNotFound
	}
	d := domain.RestoreDelivery(s)
	if err := fn(d); err != nil {
		return err
	}
	r.save(d)
	return nil
}

func (r *Repository) save(d *domain.Delivery) {
	r.rows[d.ID()] = d.Snapshot()
	r.events = append(r.events, d.PullEvents()...)
}

// Due implements app.Repository, oldest due first.
func (r *Repository) Due(_ context.Context, now time.Time, limit int) ([]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ids []string
	for id, s := range r.rows {
		if domain.RestoreDelivery(s).Due(now) {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return r.rows[ids[i]].NextAttemptAt.Before(r.rows[ids[j]].NextAttemptAt) })
	if len(ids) > limit {
		ids = ids[:limit]
	}
	return ids, nil
}

// NextAttemptAt implements app.Repository.
func (r *Repository) NextAttemptAt(_ context.Context) (time.Time, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var next time.Time
	for _, s := range r.rows {
		if (s.Status == domain.StatusPending || s.Status == domain.StatusSending) && (next.IsZero() || s.NextAttemptAt.Before(next)) {
			next = s.NextAttemptAt
		}
	}
	return next, nil
}

// Exists implements app.Repository.
func (r *Repository) Exists(_ context.Context, id string) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.rows[id]
	return ok, nil
}

// Get returns a copy of a delivery.
func (r *Repository) Get(id string) (*domain.Delivery, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.rows[id]
	if !ok {
		return nil, false
	}
	return domain.RestoreDelivery(s), true
}

// Events returns every event saved so far.
func (r *Repository) Events() []domain.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]domain.Event(nil), r.events...)
}
