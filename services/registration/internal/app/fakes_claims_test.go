package app

import (
	"context"
	"sync"

	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

func (r *fakeRepo) DuplicateAttemptByClaim(_ context.Context, id domain.ClaimID) (*domain.DuplicateAttempt, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, a := range r.attempts {
		if a.Claim != nil && a.Claim.ID == id {
			return &a, nil
		}
	}
	return nil, domain.ErrDuplicateAttemptNotFound
}

// removals is the fake's contact removals, beside fakeRepo (whose struct
// this file leaves alone), under their own lock.
var (
	removalsMu sync.Mutex
	removals   = map[*fakeRepo]map[domain.EnrollmentID]ContactRemoval{}
)

func (r *fakeRepo) SaveContactRemoval(_ context.Context, c ContactRemoval) error {
	removalsMu.Lock()
	defer removalsMu.Unlock()
	if removals[r] == nil {
		removals[r] = map[domain.EnrollmentID]ContactRemoval{}
	}
	removals[r][c.EnrollmentID] = c
	return nil
}

func (r *fakeRepo) ContactRemoval(_ context.Context, id domain.EnrollmentID) (*ContactRemoval, error) {
	removalsMu.Lock()
	defer removalsMu.Unlock()
	if c, ok := removals[r][id]; ok {
		return &c, nil
	}
	return nil, nil
}
