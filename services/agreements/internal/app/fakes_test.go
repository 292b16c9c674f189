package app

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/partnerhub/onboarding/services/agreements/internal/domain"
)

// memStore is an in-memory stand-in for the Postgres schema. It stores
// states, not pointers, so a use case that forgets to save loses its change,
// and it collects pulled events the way the outbox would.
type memStore struct {
	mu           sync.Mutex
	versions     map[string]domain.VersionState
	partners     map[string]domain.PartnerState
	acceptances  []domain.AcceptanceState
	requirements []domain.RequirementState
	outbox       []domain.Event
	pending      []domain.PendingAcceptanceState
	// beforeAppend, when set, runs (unlocked) before each Append: tests use
	// it to let a competing request win a race.
	beforeAppend func()
	// beforePendingAdd, when set, runs (unlocked) before each pending Add:
	// tests use it to let a decision arrive after the request read the
	// partner.
	beforePendingAdd func()
}

func newMemStore() *memStore {
	return &memStore{versions: map[string]domain.VersionState{}, partners: map[string]domain.PartnerState{}}
}

func (s *memStore) deps(clock Clock) Deps {
	return Deps{
		Versions: memVersions{s}, Partners: memPartners{s}, Acceptances: memAcceptances{s},
		Requirements: memRequirements{s}, Keys: memKeys{s}, Pending: memPending{s}, Clock: clock, IDs: &seqIDs{},
	}
}

// events returns the outbox events of type T.
func eventsOf[T domain.Event](s *memStore) []T {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []T
	for _, e := range s.outbox {
		if t, ok := e.(T); ok {
			out = append(out, t)
		}
	}
	return out
}

func (s *memStore) acceptanceCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.acceptances)
}

type memVersions struct{ s *memStore }

func (r memVersions) Add(_ context.Context, v *domain.Version) error {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	if _, ok := r.s.versions[v.ID()]; ok {
		return domain.ErrVersionExists
	}
	r.s.versions[v.ID()] = v.State()
	r.s.outbox = append(r.s.outbox, v.PullEvents()...)
	return nil
}

func (r memVersions) Get(_ context.Context, id string) (*domain.Version, error) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	st, ok := r.s.versions[id]
	if !ok {
		return nil, domain.ErrVersionNotFound
	}
	return domain.RestoreVersion(st), nil
}

func (r memVersions) ListByProgram(_ context.Context, p domain.Program) ([]*domain.Version, error) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	var out []*domain.Version
	for _, st := range r.s.versions {
		if st.Program == p {
			out = append(out, domain.RestoreVersion(st))
		}
	}
	return out, nil
}

func (r memVersions) ListAll(context.Context) ([]*domain.Version, error) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	var out []*domain.Version
	for _, st := range r.s.versions {
		out = append(out, domain.RestoreVersion(st))
	}
	return out, nil
}

func (r memVersions) ListFanOutPending(context.Context) ([]*domain.Version, error) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	var out []*domain.Version
	for _, st := range r.s.versions {
		if st.FanOutPending {
			out = append(out, domain.RestoreVersion(st))
		}
	}
	return out, nil
}

func (r memVersions) Update(_ context.Context, id string, fn func(*domain.Version) error) error {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	st, ok := r.s.versions[id]
	if !ok {
		return domain.ErrVersionNotFound
	}
	v := domain.RestoreVersion(st)
	if err := fn(v); err != nil {
		return err
	}
	r.s.versions[id] = v.State()
	r.s.outbox = append(r.s.outbox, v.PullEvents()...)
	return nil
}

type memPartners struct{ s *memStore }

func (r memPartners) Get(_ context.Context, id string) (*domain.Partner, error) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	st, ok := r.s.partners[id]
	if !ok {
		return nil, domain.ErrPartnerNotFound
	}
	return domain.RestorePartner(st), nil
}

func (r memPartners) GetByLocation(_ context.Context, loc string) (*domain.Partner, error) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	for _, st := range r.s.partners {
		if st.Registered && st.LocationID == loc {
			return domain.RestorePartner(st), nil
		}
	}
	return nil, domain.ErrPartnerNotFound
}

func (r memPartners) Upsert(_ context.Context, id string, fn func(*domain.Partner) error) error {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	p := domain.NewPartner(id)
	if st, ok := r.s.partners[id]; ok {
		p = domain.RestorePartner(st)
	}
	if err := fn(p); err != nil {
		return err
	}
	r.s.partners[id] = p.State()
	r.s.outbox = append(r.s.outbox, p.PullEvents()...)
	return nil
}

// memAcceptances has no update or delete, like the real table.
type memAcceptances struct{ s *memStore }

func keyOf(st domain.AcceptanceState) domain.AcceptanceKey {
	return domain.AcceptanceKey{LocationID: st.LocationID, Program: st.Program, Market: st.Market}
}

// head returns the key's current record; callers hold the lock.
func (r memAcceptances) head(key domain.AcceptanceKey) (domain.AcceptanceState, bool) {
	var all []*domain.Acceptance
	for _, st := range r.s.acceptances {
		if keyOf(st) == key {
			all = append(all, domain.RestoreAcceptance(st))
		}
	}
	cur := domain.CurrentOf(all)
	if len(cur) == 0 {
		return domain.AcceptanceState{}, false
	}
	return cur[0].State(), true
}

func (r memAcceptances) Append(ctx context.Context, a *domain.Acceptance, then func(context.Context) error) error {
	if r.s.beforeAppend != nil {
		r.s.beforeAppend()
	}
	r.s.mu.Lock()
	st := a.State()
	head, ok := r.head(keyOf(st))
	if (ok && head.ID != st.SupersedesID) || (!ok && st.SupersedesID != "") {
		r.s.mu.Unlock()
		return domain.ErrAcceptanceRace
	}
	r.s.acceptances = append(r.s.acceptances, st)
	r.s.outbox = append(r.s.outbox, a.PullEvents()...)
	r.s.mu.Unlock()
	if then != nil {
		return then(ctx) // no rollback in memory: the Postgres adapter's tests cover it
	}
	return nil
}

func (r memAcceptances) Current(_ context.Context, key domain.AcceptanceKey) (*domain.Acceptance, error) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	st, ok := r.head(key)
	if !ok {
		return nil, domain.ErrAcceptanceNotFound
	}
	return domain.RestoreAcceptance(st), nil
}

func (r memAcceptances) ListByPartner(_ context.Context, id string) ([]*domain.Acceptance, error) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	var out []*domain.Acceptance
	for _, st := range r.s.acceptances {
		if st.PartnerID == id {
			out = append(out, domain.RestoreAcceptance(st))
		}
	}
	return out, nil
}

func (r memAcceptances) ListCurrentByProgram(_ context.Context, p domain.Program) ([]*domain.Acceptance, error) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	var all []*domain.Acceptance
	for _, st := range r.s.acceptances {
		if st.Program == p {
			all = append(all, domain.RestoreAcceptance(st))
		}
	}
	return domain.CurrentOf(all), nil
}

type memRequirements struct{ s *memStore }

func (r memRequirements) Add(_ context.Context, q *domain.Requirement) (bool, error) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	st := q.State()
	for _, o := range r.s.requirements {
		if o.LocationID == st.LocationID && o.Program == st.Program && o.Market == st.Market && o.VersionID == st.VersionID {
			return false, nil
		}
	}
	r.s.requirements = append(r.s.requirements, st)
	r.s.outbox = append(r.s.outbox, q.PullEvents()...)
	return true, nil
}

func (r memRequirements) list(keep func(domain.RequirementState) bool) []*domain.Requirement {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	var out []*domain.Requirement
	for _, st := range r.s.requirements {
		if st.Status == domain.RequirementOpen && keep(st) {
			out = append(out, domain.RestoreRequirement(st))
		}
	}
	return out
}

func (r memRequirements) ListOpen(_ context.Context, key domain.AcceptanceKey) ([]*domain.Requirement, error) {
	return r.list(func(st domain.RequirementState) bool {
		return st.LocationID == key.LocationID && st.Program == key.Program && st.Market == key.Market
	}), nil
}

func (r memRequirements) ListOpenByVersion(_ context.Context, id string) ([]*domain.Requirement, error) {
	return r.list(func(st domain.RequirementState) bool { return st.VersionID == id }), nil
}

func (r memRequirements) ListOpenByPartner(_ context.Context, id string) ([]*domain.Requirement, error) {
	return r.list(func(st domain.RequirementState) bool { return st.PartnerID == id }), nil
}

func (r memRequirements) ListOpenOfRetired(_ context.Context) ([]*domain.Requirement, error) {
	r.s.mu.Lock()
	retired := map[string]bool{}
	for _, v := range r.s.versions {
		retired[v.ID] = v.RetiredAt != nil
	}
	r.s.mu.Unlock()
	return r.list(func(st domain.RequirementState) bool { return retired[st.VersionID] }), nil
}

func (r memRequirements) ListOpenDue(_ context.Context, now time.Time) ([]*domain.Requirement, error) {
	return r.list(func(st domain.RequirementState) bool { return !st.DueBy.After(now) && st.OverdueAt == nil }), nil
}

func (r memRequirements) Update(_ context.Context, id string, fn func(*domain.Requirement) error) error {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	i := slices.IndexFunc(r.s.requirements, func(st domain.RequirementState) bool { return st.ID == id })
	if i < 0 {
		return domain.ErrRequirementNotFound
	}
	q := domain.RestoreRequirement(r.s.requirements[i])
	if err := fn(q); err != nil {
		return err
	}
	r.s.requirements[i] = q.State()
	r.s.outbox = append(r.s.outbox, q.PullEvents()...)
	return nil
}

// memKeys reads a key through the other fakes, as the Postgres adapter
// reads it in one round trip.
type memKeys struct{ s *memStore }

func (r memKeys) ReadKey(ctx context.Context, key domain.AcceptanceKey) (KeyState, error) {
	var st KeyState
	cur, err := memAcceptances(r).Current(ctx, key)
	if err == nil {
		st.Current = cur
	}
	st.Open, _ = memRequirements(r).ListOpen(ctx, key)
	st.Versions, _ = memVersions(r).ListByProgram(ctx, key.Program)
	return st, nil
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

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type seqIDs struct {
	mu sync.Mutex
	n  int
}

func (g *seqIDs) NewID() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n++
	return fmt.Sprintf("id-%d", g.n)
}

type memPending struct{ s *memStore }

func (r memPending) Add(ctx context.Context, pa *domain.PendingAcceptance, stillPending func(*domain.Partner) bool,
	decided func(ctx context.Context, p *domain.Partner) error) error {
	if r.s.beforePendingAdd != nil {
		r.s.beforePendingAdd()
	}
	r.s.mu.Lock()
	st := pa.State()
	var p *domain.Partner
	if ps, ok := r.s.partners[st.PartnerID]; ok {
		p = domain.RestorePartner(ps)
	}
	if !stillPending(p) {
		r.s.mu.Unlock()
		return decided(ctx, p)
	}
	r.s.pending = append(r.s.pending, st)
	r.s.mu.Unlock()
	return nil
}

func (r memPending) list(partnerID string, open bool) []*domain.PendingAcceptance {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	var out []*domain.PendingAcceptance
	for _, st := range r.s.pending {
		if st.PartnerID == partnerID && (!open || st.Status == domain.PendingOpen) {
			out = append(out, domain.RestorePendingAcceptance(st))
		}
	}
	return out
}

func (r memPending) ListOpen(_ context.Context, partnerID string) ([]*domain.PendingAcceptance, error) {
	return r.list(partnerID, true), nil
}

func (r memPending) ListByPartner(_ context.Context, partnerID string) ([]*domain.PendingAcceptance, error) {
	return r.list(partnerID, false), nil
}

func (r memPending) Update(_ context.Context, id string, fn func(*domain.PendingAcceptance) error) error {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	for i, st := range r.s.pending {
		if st.ID != id {
			continue
		}
		p := domain.RestorePendingAcceptance(st)
		if err := fn(p); err != nil {
			return err
		}
		r.s.pending[i] = p.State()
		r.s.outbox = append(r.s.outbox, p.PullEvents()...)
		return nil
	}
	return domain.ErrAcceptanceNotFound
}
