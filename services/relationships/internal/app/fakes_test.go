package app

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/partnerhub/onboarding/pkg/page"
	"github.com/partnerhub/onboarding/services/relationships/internal/domain"
)

// fakePartners is an in-memory partner projection.
type fakePartners struct {
	mu       sync.Mutex
	byID     map[string]domain.Partner
	location map[string]string // location ID → global ID
}

func newFakePartners() *fakePartners {
	return &fakePartners{byID: map[string]domain.Partner{}, location: map[string]string{}}
}

func clonePartner(p domain.Partner) domain.Partner {
	p.LocationIDs = slices.Clone(p.LocationIDs)
	p.Enrollments = maps.Clone(p.Enrollments)
	return p
}

func (f *fakePartners) Get(_ context.Context, id string) (domain.Partner, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if g, ok := f.location[id]; ok {
		id = g
	}
	p, ok := f.byID[id]
	if !ok {
		return domain.Partner{}, domain.ErrPartnerNotFound
	}
	return clonePartner(p), nil
}

// Holding runs fn: the fake's reads and writes are serialised by its mutex.
func (f *fakePartners) Holding(ctx context.Context, _ []string, fn func(ctx context.Context) error) error {
	return fn(ctx)
}

func (f *fakePartners) Upsert(_ context.Context, id string, fn func(*domain.Partner) error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.byID[id]
	if !ok {
		p = domain.Partner{ID: id}
	}
	p = clonePartner(p)
	if err := fn(&p); err != nil {
		return err
	}
	f.byID[id] = p
	for _, l := range p.LocationIDs {
		f.location[l] = id
	}
	return nil
}

// fakeRelationships is an in-memory repository that serialises every write
// (like the row lock of the Postgres adapter) and collects pulled events the
// way the adapter writes them to the outbox.
type fakeRelationships struct {
	mu     sync.Mutex
	rels   map[string]*domain.Relationship
	order  []string
	outbox []domain.Event
	// failUpdate, when set, is returned by Update before fn runs.
	failUpdate error
}

func newFakeRelationships() *fakeRelationships {
	return &fakeRelationships{rels: map[string]*domain.Relationship{}}
}

func cloneRel(r *domain.Relationship) *domain.Relationship {
	c := *r
	c.Requests = slices.Clone(r.Requests)
	if r.Grant != nil {
		g := *r.Grant
		g.Roles = slices.Clone(g.Roles)
		c.Grant = &g
	}
	return &c
}

func (f *fakeRelationships) openLocked(providerID, resellerID string) *domain.Relationship {
	for _, r := range f.rels {
		if r.ProviderID == providerID && r.ResellerID == resellerID && !r.State.Closed() {
			return r
		}
	}
	return nil
}

func (f *fakeRelationships) Add(_ context.Context, r *domain.Relationship) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if cur := f.openLocked(r.ProviderID, r.ResellerID); cur != nil {
		if cur.State == domain.StateActive {
			return domain.ErrRelationshipExists
		}
		return domain.ErrRequestPending
	}
	f.outbox = append(f.outbox, r.PullEvents()...)
	f.rels[r.ID] = cloneRel(r)
	f.order = append(f.order, r.ID)
	return nil
}

func (f *fakeRelationships) Get(_ context.Context, id string) (*domain.Relationship, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.rels[id]
	if !ok {
		return nil, domain.ErrRelationshipNotFound
	}
	return cloneRel(r), nil
}

func (f *fakeRelationships) Update(_ context.Context, id string, fn func(*domain.Relationship) error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failUpdate != nil {
		return f.failUpdate
	}
	r, ok := f.rels[id]
	if !ok {
		return domain.ErrRelationshipNotFound
	}
	c := cloneRel(r)
	if err := fn(c); err != nil {
		return err
	}
	f.outbox = append(f.outbox, c.PullEvents()...)
	f.rels[id] = c
	return nil
}

func (f *fakeRelationships) Open(_ context.Context, providerID, resellerID string) (*domain.Relationship, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r := f.openLocked(providerID, resellerID); r != nil {
		return cloneRel(r), nil
	}
	return nil, domain.ErrRelationshipNotFound
}

func (f *fakeRelationships) IDByTokenHash(_ context.Context, h domain.TokenHash) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for id, r := range f.rels {
		for _, q := range r.Requests {
			if q.TokenHash == h {
				return id, nil
			}
		}
	}
	return "", domain.ErrInvitationUnknown
}

func (f *fakeRelationships) list(match func(*domain.Relationship) bool) []*domain.Relationship {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*domain.Relationship
	for i := len(f.order) - 1; i >= 0; i-- {
		if r := f.rels[f.order[i]]; match(r) {
			out = append(out, cloneRel(r))
		}
	}
	return out
}

func (f *fakeRelationships) ListByProvider(_ context.Context, id string) ([]*domain.Relationship, error) {
	return f.list(func(r *domain.Relationship) bool { return r.ProviderID == id }), nil
}

func (f *fakeRelationships) ListByReseller(_ context.Context, id string) ([]*domain.Relationship, error) {
	return f.list(func(r *domain.Relationship) bool { return r.ResellerID == id }), nil
}

// ListPage pages by insertion order, newest first (a position's time
// is not looked at: the fake keeps no creation time of its own).
func (f *fakeRelationships) ListPage(_ context.Context, q RelationshipPage) ([]*domain.Relationship, *page.Position, error) {
	all := f.list(func(r *domain.Relationship) bool {
		mine := r.ProviderID == q.PartnerID
		if q.Side == domain.SideReseller {
			mine = r.ResellerID == q.PartnerID
		}
		return mine && (q.IncludeClosed || !r.State.Closed())
	})
	if q.After != nil {
		for i, r := range all {
			if r.ID == q.After.ID {
				all = all[i+1:]
				break
			}
		}
	}
	if len(all) > q.Limit {
		all = all[:q.Limit]
		return all, &page.Position{At: time.Unix(1, 0), ID: all[q.Limit-1].ID}, nil
	}
	return all, nil, nil
}

func (f *fakeRelationships) DueIDs(_ context.Context, now time.Time, limit int) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	type due struct {
		id string
		at time.Time
	}
	var ds []due
	for id, r := range f.rels {
		if at := r.NextDueAt(); !at.IsZero() && !at.After(now) {
			ds = append(ds, due{id, at})
		}
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i].at.Before(ds[j].at) })
	var out []string
	for i := 0; i < len(ds) && i < limit; i++ {
		out = append(out, ds[i].id)
	}
	return out, nil
}

// takeEvents returns the names of the events written since the last call.
func (f *fakeRelationships) takeEvents() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, len(f.outbox))
	for i, e := range f.outbox {
		out[i] = e.EventName()
	}
	f.outbox = nil
	return out
}

// takeRaw returns the events written since the last call.
func (f *fakeRelationships) takeRaw() []domain.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.outbox
	f.outbox = nil
	return out
}

// seqIDs issues predictable identifiers, safely from several goroutines.
type seqIDs struct {
	mu sync.Mutex
	n  int
}

func (s *seqIDs) next() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	return fmt.Sprintf("id-%d", s.n)
}
