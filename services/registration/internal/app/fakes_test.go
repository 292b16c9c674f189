package app

import (
	"context"
	"fmt"
	"github.com/partnerhub/onboarding/pkg/ids"
	"slices"
	"sync"
	"time"

	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// fakeRepo is an in-memory Repository that enforces identity keys per market
// like the Postgres adapter will, and collects the events it would write to
// the outbox.
type fakeRepo struct {
	mu       sync.Mutex
	partners map[domain.PartnerID]domain.PartnerSnapshot
	usedIDs  map[string]bool
	keys     map[string]domain.PartnerID // market|kind|value
	attempts map[domain.DuplicateAttemptID]domain.DuplicateAttempt
	outbox   []domain.Event
	docs     map[domain.PartnerID]map[string]DocumentsDue
	failNext error // returned once by the next write
}

func newFakeRepo() *fakeRepo {
	return &fakeRepo{
		partners: map[domain.PartnerID]domain.PartnerSnapshot{},
		usedIDs:  map[string]bool{},
		keys:     map[string]domain.PartnerID{},
		attempts: map[domain.DuplicateAttemptID]domain.DuplicateAttempt{},
	}
}

func keyOf(market domain.Country, k domain.IdentityKey) string {
	return string(market) + "|" + string(k.Kind) + "|" + k.Value
}

func (r *fakeRepo) fail() error {
	err := r.failNext
	r.failNext = nil
	return err
}

func (r *fakeRepo) Create(_ context.Context, p *domain.Partner) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.fail(); err != nil {
		return err
	}
	s := p.Snapshot()
	ids := []string{string(s.ID)}
	for _, l := range s.Locations {
		ids = append(ids, string(l.ID))
	}
	for _, e := range s.Enrollments {
		ids = append(ids, string(e.ID))
	}
	for _, id := range ids {
		if r.usedIDs[id] {
			return fmt.Errorf("insert: %w", domain.ErrIDCollision)
		}
	}
	var dup *domain.DuplicateError
	for _, k := range p.IdentityKeys() {
		if existing, ok := r.keys[keyOf(s.Market, k)]; ok {
			if dup == nil {
				dup = &domain.DuplicateError{ExistingPartnerID: existing}
			}
			dup.MatchedOn = append(dup.MatchedOn, k.Kind)
		}
	}
	if dup != nil {
		return dup
	}
	for _, id := range ids {
		r.usedIDs[id] = true
	}
	for _, k := range p.IdentityKeys() {
		r.keys[keyOf(s.Market, k)] = s.ID
	}
	r.partners[s.ID] = s
	r.outbox = append(r.outbox, p.PullEvents()...)
	return nil
}

func (r *fakeRepo) Get(_ context.Context, id domain.PartnerID) (*domain.Partner, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.partners[id]
	if !ok {
		return nil, domain.ErrPartnerNotFound
	}
	return domain.RehydratePartner(s)
}

func (r *fakeRepo) Update(ctx context.Context, id domain.PartnerID, fn func(context.Context, *domain.Partner) error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.fail(); err != nil {
		return err
	}
	s, ok := r.partners[id]
	if !ok {
		return domain.ErrPartnerNotFound
	}
	p, err := domain.RehydratePartner(s)
	if err != nil {
		return err
	}
	if err := fn(ctx, p); err != nil {
		return err
	}
	old, _ := domain.RehydratePartner(s)
	for _, k := range old.IdentityKeys() {
		delete(r.keys, keyOf(p.Market(), k))
	}
	if p.HoldsIdentity() {
		for _, k := range p.IdentityKeys() {
			r.keys[keyOf(p.Market(), k)] = p.ID()
		}
	}
	r.partners[id] = p.Snapshot()
	r.outbox = append(r.outbox, p.PullEvents()...)
	return nil
}

func (r *fakeRepo) RecordDuplicateAttempt(_ context.Context, a *domain.DuplicateAttempt) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.fail(); err != nil {
		return err
	}
	if r.usedIDs[string(a.ID)] {
		return domain.ErrIDCollision
	}
	r.usedIDs[string(a.ID)] = true
	r.attempts[a.ID] = *a
	r.outbox = append(r.outbox, a.PullEvents()...)
	return nil
}

func (r *fakeRepo) UpdateDuplicateAttempt(_ context.Context, id domain.DuplicateAttemptID, fn func(*domain.DuplicateAttempt) error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.fail(); err != nil {
		return err
	}
	a, ok := r.attempts[id]
	if !ok {
		return domain.ErrDuplicateAttemptNotFound
	}
	hadClaim := a.Claim != nil
	if p, ok := r.partners[a.ExistingPartnerID]; ok {
		a.ExistingStatus = p.Status
	}
	if err := fn(&a); err != nil {
		return err
	}
	if a.Claim != nil && !hadClaim && r.usedIDs[string(a.Claim.ID)] {
		return domain.ErrIDCollision
	}
	if a.Claim != nil {
		r.usedIDs[string(a.Claim.ID)] = true
	}
	r.outbox = append(r.outbox, a.PullEvents()...)
	r.attempts[id] = a
	return nil
}

// pullOutbox returns and forgets the events written so far.
func (r *fakeRepo) pullOutbox() []domain.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.outbox
	r.outbox = nil
	return out
}

// seqIDs issues deterministic valid IDs; repeat makes the next n IDs of a
// kind equal to the previous one (a collision).
type seqIDs struct {
	n      int
	repeat map[ids.Kind]int
	last   map[ids.Kind]string
}

func (s *seqIDs) next(kind ids.Kind) string {
	if s.last == nil {
		s.last = map[ids.Kind]string{}
	}
	if s.repeat[kind] > 0 && s.last[kind] != "" {
		s.repeat[kind]--
		return s.last[kind]
	}
	s.n++
	id, err := ids.Format(kind, fmt.Sprintf("%010d", s.n))
	if err != nil {
		panic(err)
	}
	s.last[kind] = id
	return id
}

func (s *seqIDs) NewPartnerID() domain.PartnerID {
	return domain.PartnerID(s.next(ids.Partner))
}
func (s *seqIDs) NewLocationID() domain.LocationID {
	return domain.LocationID(s.next(ids.Location))
}
func (s *seqIDs) NewEnrollmentID() domain.EnrollmentID {
	return domain.EnrollmentID(s.next(ids.Enrollment))
}
func (s *seqIDs) NewDuplicateAttemptID() domain.DuplicateAttemptID {
	return domain.DuplicateAttemptID(s.next(ids.DuplicateAttempt))
}
func (s *seqIDs) NewClaimID() domain.ClaimID {
	return domain.ClaimID(s.next(ids.DuplicateClaim))
}

// fakeClock is a settable clock.
type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time { return c.t }

func (r *fakeRepo) Touch(_ context.Context, id domain.PartnerID, at time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.partners[id]; ok && at.After(s.LastActivityAt) {
		s.LastActivityAt = at
		r.partners[id] = s
	}
	return nil
}

func (r *fakeRepo) InactivityCandidates(_ context.Context, cutoff time.Time, limit int) ([]domain.PartnerID, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []domain.PartnerID
	for id, s := range r.partners {
		if (s.Status == domain.PartnerStatusActive || s.Status == domain.PartnerStatusSuspended) && s.Standing.InactiveSince.IsZero() &&
			!s.LastActivityAt.After(cutoff) && len(out) < limit {
			out = append(out, id)
		}
	}
	return out, nil
}

func (r *fakeRepo) OldestActivity(context.Context) (time.Time, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var oldest time.Time
	for _, s := range r.partners {
		if (s.Status == domain.PartnerStatusActive || s.Status == domain.PartnerStatusSuspended) && s.Standing.InactiveSince.IsZero() &&
			(oldest.IsZero() || s.LastActivityAt.Before(oldest)) {
			oldest = s.LastActivityAt
		}
	}
	return oldest, nil
}

func (r *fakeRepo) SetDocumentsDue(_ context.Context, d DocumentsDue) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.docs == nil {
		r.docs = map[domain.PartnerID]map[string]DocumentsDue{}
	}
	if r.docs[d.PartnerID] == nil {
		r.docs[d.PartnerID] = map[string]DocumentsDue{}
	}
	r.docs[d.PartnerID][d.Check] = d
	return nil
}

func (r *fakeRepo) ClearDocumentsDue(_ context.Context, id domain.PartnerID, check string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if check == "" {
		delete(r.docs, id)
	} else {
		delete(r.docs[id], check)
	}
	return nil
}

func (r *fakeRepo) DocumentsDue(_ context.Context, id domain.PartnerID) ([]DocumentsDue, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []DocumentsDue
	for _, d := range r.docs[id] {
		out = append(out, d)
	}
	return out, nil
}

func (r *fakeRepo) IdentityConflicts(_ context.Context, market domain.Country, keys []domain.IdentityKey, except domain.PartnerID) (*domain.DuplicateError, error) {
	var dup *domain.DuplicateError
	for _, k := range keys {
		if owner, ok := r.keys[keyOf(market, k)]; ok && owner != except {
			if dup == nil {
				dup = &domain.DuplicateError{ExistingPartnerID: owner}
			}
			dup.MatchedOn = append(dup.MatchedOn, k.Kind)
		}
	}
	return dup, nil
}

func (r *fakeRepo) EarlierAccounts(_ context.Context, market domain.Country, keys []domain.IdentityKey) ([]domain.EarlierAccount, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []domain.EarlierAccount
	for _, s := range r.partners {
		p, err := domain.RehydratePartner(s)
		if err != nil {
			return nil, err
		}
		if p.HoldsIdentity() || p.Market() != market {
			continue
		}
		var matched []domain.IdentityKeyKind
		for _, k := range p.IdentityKeys() {
			if slices.Contains(keys, k) {
				matched = append(matched, k.Kind)
			}
		}
		if len(matched) > 0 {
			out = append(out, domain.EarlierAccount{PartnerID: p.ID(), Status: p.Status(), MatchedOn: matched, ReleasedAt: s.UpdatedAt})
		}
	}
	return out, nil
}
