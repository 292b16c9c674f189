package app

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/partnerhub/onboarding/services/verification/internal/domain"
)

// memRepo stores cases as JSON, as the Postgres adapter will (so a test
// catches state that does not survive persistence), and keeps the outbox.
type memRepo struct {
	mu     sync.Mutex
	cases  map[string][]byte
	outbox []domain.Event
}

func newMemRepo() *memRepo { return &memRepo{cases: map[string][]byte{}} }

func (r *memRepo) load(id string) (*domain.Case, error) {
	b, ok := r.cases[id]
	if !ok {
		return nil, domain.ErrCaseNotFound
	}
	var c domain.Case
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

func (r *memRepo) store(c *domain.Case) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	r.cases[c.ID] = b
	r.outbox = append(r.outbox, c.PullEvents()...)
	return nil
}

func (r *memRepo) all() []*domain.Case {
	var out []*domain.Case
	for id := range r.cases {
		c, _ := r.load(id)
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (r *memRepo) Add(_ context.Context, c *domain.Case) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, other := range r.all() {
		if other.PartnerID == c.PartnerID {
			return domain.ErrCaseExists
		}
	}
	return r.store(c)
}

func (r *memRepo) Get(_ context.Context, id string) (*domain.Case, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.load(id)
}

func (r *memRepo) GetByPartner(_ context.Context, partnerID string) (*domain.Case, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.all() {
		if c.PartnerID == partnerID {
			return c, nil
		}
	}
	return nil, domain.ErrCaseNotFound
}

func (r *memRepo) Update(_ context.Context, id string, fn func(*domain.Case) error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, err := r.load(id)
	if err != nil {
		return err
	}
	if err := fn(c); err != nil {
		return err // nothing stored, events dropped: the transaction rolled back
	}
	return r.store(c)
}

func (r *memRepo) UpdateByPartner(ctx context.Context, partnerID string, fn func(*domain.Case) error) error {
	c, err := r.GetByPartner(ctx, partnerID)
	if err != nil {
		return err
	}
	return r.Update(ctx, c.ID, fn)
}

func (r *memRepo) UpdateByTask(ctx context.Context, taskID string, fn func(*domain.Case) error) error {
	r.mu.Lock()
	id := ""
	for _, c := range r.all() {
		if c.Task(taskID) != nil {
			id = c.ID
		}
	}
	r.mu.Unlock()
	if id == "" {
		return domain.ErrTaskNotFound
	}
	return r.Update(ctx, id, fn)
}

func (r *memRepo) ListTasks(_ context.Context, f TaskFilter, now time.Time) ([]TaskSummary, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []TaskSummary
	for _, c := range r.all() {
		if c.PartnerID == f.ExcludePartnerID || (f.Market != "" && c.Market != f.Market) {
			continue
		}
		for _, t := range c.Tasks {
			_, held := t.ClaimedAt(now)
			switch {
			case f.Status == "" && !t.Active(), f.Status != "" && t.Status != f.Status,
				f.Check != "" && t.Check != f.Check, f.Unclaimed && held:
				continue
			}
			out = append(out, TaskSummary{CaseID: c.ID, PartnerID: c.PartnerID, Market: c.Market, Task: *t})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Task.DueAt.Before(out[j].Task.DueAt) })
	return out[:min(len(out), f.Limit)], nil
}

func (r *memRepo) DueCaseIDs(_ context.Context, now time.Time, limit int) ([]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ids []string
	for _, c := range r.all() {
		if !c.TimerAt.IsZero() && !c.TimerAt.After(now) {
			ids = append(ids, c.ID)
		}
	}
	return ids[:min(len(ids), limit)], nil
}

func (r *memRepo) drain() []domain.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	ev := r.outbox
	r.outbox = nil
	return ev
}

type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }

type seqIDs struct{ n int }

func (s *seqIDs) NewID() string {
	s.n++
	return "vc-" + string(rune('0'+s.n))
}

type fakeRegistry struct {
	match domain.RegistryMatch
	err   error
	calls int
}

func (f *fakeRegistry) Lookup(context.Context, domain.RegistryQuery) (domain.RegistryMatch, error) {
	f.calls++
	return f.match, f.err
}

var errRegistryDown = errors.New("registry down")

func eventNames(evs []domain.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.EventName()
	}
	return out
}

func countEvents(evs []domain.Event, name string) int {
	return len(slices.DeleteFunc(eventNames(evs), func(n string) bool { return n != name }))
}

// fakeProofs answers domain proof lookups from a map (name or URL → texts).
type fakeProofs struct {
	found map[string][]string
	err   error
}

func (f *fakeProofs) LookupTXT(_ context.Context, name string) ([]string, error) {
	return f.found[name], f.err
}

func (f *fakeProofs) FetchWellKnown(_ context.Context, url string) ([]string, error) {
	return f.found[url], f.err
}
