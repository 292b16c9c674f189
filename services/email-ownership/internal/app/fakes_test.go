package app_test

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/partnerhub/onboarding/services/emailownership/internal/app"
	"github.com/partnerhub/onboarding/services/emailownership/internal/domain"
)

// memRepo keeps snapshots under one mutex: it honours the Repository
// contract (fn runs under the lock, changes and events are kept only when fn
// succeeds) the way the Postgres adapter's row lock must.
type memRepo struct {
	mu       sync.Mutex
	rows     map[string]domain.OwnershipSnapshot
	events   []domain.Event
	contacts map[string]keptContact
}

func newMemRepo() *memRepo { return &memRepo{rows: map[string]domain.OwnershipSnapshot{}} }

func (r *memRepo) Upsert(_ context.Context, id string, fn func(*domain.Ownership) (*domain.Ownership, error)) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var cur *domain.Ownership
	if s, ok := r.rows[id]; ok {
		cur = domain.RestoreOwnership(s)
	}
	o, err := fn(cur)
	if err != nil || o == nil {
		return err
	}
	r.save(id, o)
	return nil
}

func (r *memRepo) Update(_ context.Context, id string, fn func(*domain.Ownership) error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.rows[id]
	if !ok {
		return app.ErrNotFound
	}
	o := domain.RestoreOwnership(s)
	if err := fn(o); err != nil {
		return err
	}
	r.save(id, o)
	return nil
}

func (r *memRepo) save(id string, o *domain.Ownership) {
	r.rows[id] = o.Snapshot()
	r.events = append(r.events, o.PullEvents()...)
}

func (r *memRepo) Get(_ context.Context, id string) (*domain.Ownership, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.rows[id]
	if !ok {
		return nil, app.ErrNotFound
	}
	return domain.RestoreOwnership(s), nil
}

func (r *memRepo) enrollmentByTokenHash(h []byte) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, s := range r.rows {
		for _, c := range s.Challenges {
			if string(c.TokenHash) == string(h) {
				return id, nil
			}
		}
	}
	return "", app.ErrNotFound
}

func (r *memRepo) GetByTokenHash(ctx context.Context, h []byte) (*domain.Ownership, error) {
	id, err := r.enrollmentByTokenHash(h)
	if err != nil {
		return nil, err
	}
	return r.Get(ctx, id)
}

func (r *memRepo) UpdateByTokenHash(ctx context.Context, h []byte, fn func(*domain.Ownership) error) error {
	id, err := r.enrollmentByTokenHash(h)
	if err != nil {
		return err
	}
	return r.Update(ctx, id, fn)
}

func (r *memRepo) EnrollmentsByAddress(_ context.Context, addr string) ([]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ids []string
	for id, s := range r.rows {
		if s.Recipient.Address == addr {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

func (r *memRepo) EnrollmentsByPartner(_ context.Context, partnerID string) ([]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ids []string
	for id, s := range r.rows {
		if s.Ref.PartnerID == partnerID {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

func (r *memRepo) RecordContact(_ context.Context, partnerID string, seq uint64, c domain.Recipient) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.contacts == nil {
		r.contacts = map[string]keptContact{}
	}
	if k, ok := r.contacts[partnerID]; !ok || k.seq < seq {
		r.contacts[partnerID] = keptContact{c, seq}
	}
	return nil
}

func (r *memRepo) LatestContact(_ context.Context, partnerID string) (domain.Recipient, uint64, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k, ok := r.contacts[partnerID]
	return k.r, k.seq, ok, nil
}

type keptContact struct {
	r   domain.Recipient
	seq uint64
}

func (r *memRepo) DueForExpiry(_ context.Context, now time.Time, limit int) ([]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ids []string
	for id, s := range r.rows {
		if d, ok := domain.RestoreOwnership(s).NextDeadline(); ok && !d.After(now) && len(ids) < limit {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

func (r *memRepo) published() []domain.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]domain.Event(nil), r.events...)
}

type memThrottles struct {
	mu   sync.Mutex
	rows map[string]domain.ResendThrottle
}

func (m *memThrottles) UpdateThrottle(_ context.Context, key string, fn func(*domain.ResendThrottle) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.rows[key]
	t.Key = key
	t.Sends = append([]time.Time(nil), t.Sends...)
	if err := fn(&t); err != nil {
		return err
	}
	m.rows[key] = t
	return nil
}

func (m *memThrottles) GetThrottle(_ context.Context, key string) (*domain.ResendThrottle, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.rows[key]
	t.Key = key
	return &t, nil
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
